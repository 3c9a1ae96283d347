"""Faults under load, then backup, restore and compare (step 5 and 6 of .ci/prod_check.py).

Learners (bench/load/locustfile.py) work through nginx for ``LOAD_SECONDS``. Meanwhile:

- t = 8 s: one gunicorn worker gets SIGKILL (gunicorn's master starts another);
- t = 14 s: a lecture conversion is queued; once the long-queue worker runs it, the worker
  and its ffmpeg get SIGKILL, and it is started again 2 s later as ``Restart=always`` does;
- t = 26 s and 32 s: PostgreSQL ends every connection of the database (pg_terminate_backend);
- t = 40 s: ``flask ops backup`` while the learners go on.

A prober signs in and asks for a lesson page and the dashboard every 0.2 s; every answer that
is not a success is kept with its body. Afterwards it must hold that:

- every answer, watch report, lesson view and submission the server acknowledged is in the
  database (bench.load.check_database);
- the conversion finished, taken up again by the restarted worker;
- error answers were pages in Vietnamese (nginx's for a lost worker, the app's for a lost
  database connection), never a traceback; with every web process stopped nginx says so;
- the backup restores into a fresh database and media folder and compares equal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from prod_check import (
    DB_NAME,
    RESTORE_DB,
    ROOT,
    VENV_BIN,
    Browser,
    Failed,
    Stack,
    check,
    fresh_database,
    psql,
    say,
)

LOAD_SECONDS = 60
#: Words that must never reach a browser.
LEAKS = ("Traceback", "sqlalchemy.", "psycopg", 'File "/')
#: The Vietnamese sentences of nginx's page for a lost upstream and of the app's error pages.
KNOWN_ERROR_PAGES = (
    "Hệ thống tạm thời chưa trả lời",  # nginx: no web process answered (502)
    "Kết nối tới cơ sở dữ liệu vừa bị gián đoạn",  # the app: the connection was dropped (503)
)


def children(pid: int) -> list[int]:
    """The direct children of a process."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


class Prober(threading.Thread):
    """A learner who keeps clicking during the faults; keeps every answer that is not a success."""

    def __init__(self, stack: Stack, username: str, password: str, paths: list[str]):
        super().__init__(daemon=True)
        self.browser = Browser(stack)
        self.browser.sign_in(username, password)
        self.paths = paths
        self.stop = threading.Event()
        self.answers = 0
        self.errors: list[tuple[int, str, str]] = []

    def run(self) -> None:
        """Ask until stopped."""
        while not self.stop.is_set():
            for path in self.paths:
                try:
                    status, headers, body = self.browser.request(path)
                except OSError as exc:  # a connection refused is not a page; note it
                    self.errors.append((0, path, str(exc)))
                    continue
                self.answers += 1
                if status >= 400 or status in (301,):
                    self.errors.append((status, path, body.decode("utf-8", "replace")))
            self.stop.wait(0.2)


def start_load(stack: Stack, info: dict, journal: Path, users: int) -> subprocess.Popen:
    """Locust's learners through nginx, for LOAD_SECONDS."""
    log = open(stack.logs / "locust.log", "ab")  # noqa: SIM115 - closed by the process's end
    return subprocess.Popen(
        [
            str(VENV_BIN / "locust"),
            "-f",
            str(ROOT / "bench/load/locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(users // 5, 1)),
            "-t",
            f"{LOAD_SECONDS}s",
            "--host",
            stack.https,
            "--info",
            info["info_path"],
            "--think",
            "1-3",
            "--journal",
            str(journal),
            "--only-summary",
            "--exit-code-on-error",  # requests fail during the faults, by design
            "0",
            "--stop-timeout",
            "10",
            "Learner",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def kill_web_worker(stack: Stack) -> None:
    """SIGKILL one gunicorn worker; the master must start another."""
    master = stack.procs["elearn-web"].pid
    before = children(master)
    check(len(before) >= 2, f"gunicorn has {len(before)} workers, expected 2")
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = children(master)
        if len(now) == len(before) and before[0] not in now:
            say(
                f"fault: gunicorn worker {before[0]} killed; "
                f"the master started {set(now) - set(before)}"
            )
            return
        time.sleep(0.2)
    raise Failed("gunicorn did not replace its killed worker within 15 s")


def kill_job_worker_mid_conversion(stack: Stack) -> int:
    """Queue a conversion, SIGKILL the long worker while it runs, restart it; return the job id."""
    activity = psql(
        "SELECT activity_id FROM videos WHERE state = 'ready' ORDER BY activity_id LIMIT 1",
        stack.database,
    )
    psql(
        f"UPDATE videos SET state = 'failed', error = 'prod-check' WHERE activity_id = {activity}",
        stack.database,
    )
    stack.flask("media", "retry")
    job_id = int(psql(f"SELECT job_id FROM videos WHERE activity_id = {activity}", stack.database))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = psql(f"SELECT state FROM jobs WHERE id = {job_id}", stack.database)
        if state == "running":
            break
        check(state == "queued", f"the conversion job went {state} before the worker was killed")
        time.sleep(0.05)
    else:
        raise Failed("the long-queue worker did not start the conversion within 60 s")
    time.sleep(0.5)  # ffmpeg is running now
    stack.stop("elearn-worker@long", signal.SIGKILL, wait=5)
    say(f"fault: long-queue worker killed with SIGKILL while running job {job_id}")
    time.sleep(2)  # RestartSec=2
    stack.start_unit("elearn-worker@.service", "long")
    say("fault: long-queue worker started again (Restart=always)")
    return job_id


def drop_database_connections(stack: Stack) -> int:
    """End every connection the app holds to its database."""
    ended = psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{stack.database}' AND pid <> pg_backend_pid()"
    )
    say(f"fault: PostgreSQL ended {ended} connection(s) of the app")
    return int(ended or 0)


def backup(stack: Stack) -> tuple[Path, float]:
    """``flask ops backup`` into the instance's backup folder; return the folder and seconds."""
    started = time.monotonic()
    out = stack.flask("ops", "backup", str(stack.srv / "backups"))
    seconds = time.monotonic() - started
    made = sorted(
        p for p in (stack.srv / "backups").iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    check(made, f"ops backup made no folder:\n{out}")
    return made[-1], seconds


def restore_and_compare(stack: Stack, folder: Path) -> tuple[float, str]:
    """Restore ``folder`` into a fresh database and media folder; compare them with it."""
    target = Stack(stack.base / "restored", RESTORE_DB, 6)
    fresh_database(RESTORE_DB)
    target.write_env()
    started = time.monotonic()
    target.flask("ops", "restore", str(folder))
    seconds = time.monotonic() - started
    out = target.flask("ops", "compare", str(folder))
    return seconds, out.strip().splitlines()[-1] if out.strip() else ""


def web_down_page(stack: Stack) -> None:
    """Every web process gone: nginx answers with the Vietnamese page; back when they are."""
    stack.stop("elearn-web")
    status, _, body = Browser(stack).request("/courses")
    text = body.decode("utf-8", "replace")
    check(status == 502 and KNOWN_ERROR_PAGES[0] in text, f"web down: {status} {text[:200]}")
    stack.start_unit("elearn-web.service")
    deadline = time.monotonic() + 30
    while Browser(stack).request("/readyz")[0] != 200:
        check(time.monotonic() < deadline, "the web processes did not come back within 30 s")
        time.sleep(0.3)
    say("web processes stopped: nginx showed the Vietnamese page; started again: ready")


def wait_job(stack: Stack, job_id: int, timeout: float = 180) -> None:
    """The conversion job ends done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = psql(f"SELECT state FROM jobs WHERE id = {job_id}", stack.database)
        if state == "done":
            say(f"job {job_id} finished after the worker was killed (taken up again)")
            return
        check(state != "failed", f"job {job_id} failed after the kill")
        time.sleep(1)
    raise Failed(f"job {job_id} not finished {timeout:.0f} s after the worker was restarted")


def run(stack: Stack, info: dict) -> None:
    """The whole fault scenario; raises Failed on the first broken promise."""
    sys.path.insert(0, str(ROOT))
    from bench.load import check_database, read_journal

    journal = stack.base / "journal"
    users = min(len(info["usernames"]) - 1, 50)
    lesson = info["page_path"]
    prober = Prober(stack, info["usernames"][-1], info["password"], [lesson, "/"])
    load = start_load(stack, info, journal, users)
    started = time.monotonic()
    prober.start()
    say(f"load: {users} learners through nginx for {LOAD_SECONDS} s; a prober clicks every 0.2 s")

    def at(second: float) -> None:
        time.sleep(max(0.0, started + second - time.monotonic()))

    at(8)
    kill_web_worker(stack)
    at(14)
    job_id = kill_job_worker_mid_conversion(stack)
    at(26)
    dropped = drop_database_connections(stack)
    at(32)
    dropped += drop_database_connections(stack)
    at(40)
    folder, backup_seconds = backup(stack)
    say(f"backup under load: {folder.name} in {backup_seconds:.1f} s")
    check(
        load.wait(timeout=LOAD_SECONDS + 60) == 0,
        f"locust ended badly:\n{stack.log('locust')[-3000:]}",
    )
    prober.stop.set()
    prober.join(timeout=30)
    wait_job(stack, job_id)

    problems = check_database(stack.database_url, journal)
    lines = read_journal(journal)
    shown = [(line["status"], line["name"], line["body"]) for line in lines if line["k"] == "error"]
    acked = len(lines) - len(shown)
    check(acked > 100, f"only {acked} acknowledged writes: the load did not run")
    check(
        not problems, "acknowledged writes missing from the database:\n" + "\n".join(problems[:20])
    )
    say(f"database check: all {acked} acknowledged writes are in the database")

    seen = prober.errors + shown
    leaked = [(s, p, b[:300]) for s, p, b in seen if any(w in b for w in LEAKS)]
    check(not leaked, f"an error answer showed internals: {leaked[:3]}")
    unclear = [
        (s, p, b[:300])
        for s, p, b in seen
        if s >= 500 and not any(w in b for w in KNOWN_ERROR_PAGES)
    ]
    check(
        not unclear,
        "an error answer that is neither the lost-web-process nor the lost-database page "
        f"(a 500 is a bug): {unclear[:3]}",
    )
    kinds: dict[int, int] = {}
    for status, _, _ in seen:
        kinds[status] = kinds.get(status, 0) + 1
    say(
        f"errors people saw during the faults (prober: {prober.answers} answers, and the "
        f"learners): by status {kinds or 'none'}; each a Vietnamese page, no traceback"
    )
    web_down_page(stack)
    summary = stack.log("locust")[-2500:]
    print(summary, flush=True)

    restore_seconds, compared = restore_and_compare(stack, folder)
    say(
        f"restore into a fresh database and media folder: {restore_seconds:.1f} s; "
        f"compare: {compared}"
    )
    results = {
        "learners": users,
        "load_seconds": LOAD_SECONDS,
        "acknowledged_writes": acked,
        "lost": len(problems),
        "prober_answers": prober.answers,
        "prober_errors": kinds,
        "connections_dropped": dropped,
        "backup_seconds": round(backup_seconds, 1),
        "restore_seconds": round(restore_seconds, 1),
        "database": DB_NAME,
    }
    (stack.base / "faults.json").write_text(json.dumps(results, indent=2))
    say("faults: " + json.dumps(results))
