"""Load-test realistic learner sessions against a real gunicorn, then check the database.

Set-up (``prepare``, through the app's services, on an emptied schema): one unit, N
learners (fast pbkdf2 hashes: sign-in cost is not what is measured), one published course
with three page lessons, a video lesson (a ready 10-minute lecture with captions: the rows
only, no transcoding, the page renders as for a real video) and a quiz of 10 imported GIFT
questions, 5 per page; every learner enrolled. Then gunicorn serves that database as
``make run`` starts it (gthread, 8 threads per worker, access log): 1 worker on SQLite,
2 on PostgreSQL (``--workers`` changes it); or ``--host`` names a server already running
(nginx in front of several workers, say) and none is started; that server must use the
database of ``--db``, emptied and rebuilt first.

Locust (``bench/load/locustfile.py``, run as a subprocess) then drives ``--users``
learners for ``--duration`` seconds, spawning ``--spawn-rate`` a second (default: all
within 10 s). Each signs in and loops over weighted tasks with a think time between steps
(``--think`` MIN-MAX seconds, uniform): the dashboard (2), a page lesson (6), the video
lesson with 3-9 watch reports 10 s apart (3), the whole quiz with an autosave per
question, submit and review (1). Afterwards every write the server acknowledged (the
journal the learners kept) is looked up in the database (``check_database``).

Reported: requests/s, p50/p95/p99 per kind of request and overall (Locust's histogram:
exact below 100 ms, 10 ms steps to 1 s), errors by kind, CPU of the load generator, of
gunicorn and of PostgreSQL as a share of wall time (100 % = one core of the two), the
warnings and tracebacks in gunicorn's log, and the database check. Usage::

    .venv/bin/python bench/load.py --users 50 --duration 60               # SQLite, temp folder
    PG=postgresql+psycopg://postgres@127.0.0.1/elearn_bench_load
    .venv/bin/python bench/load.py --db $PG --users 200 --duration 300 --think 3-8
    .venv/bin/python bench/load.py --db URL --host http://127.0.0.1:8080   # a running server
    .venv/bin/python bench/load.py --moodle --duration 30   # 8 connections, no think time
    .venv/bin/python bench/load.py --page-weight            # bytes of a lesson page

The load generator runs on the same machine as the server and the database, so they
share its cores; its own CPU is reported so the reader can see what it took.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import http.cookiejar
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urljoin

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.harness import (  # noqa: E402
    analyze,
    cpu_of,
    learners_and_course,
    open_app,
    process_cpu,
    start_server,
)
from bench.quiz import GIFT, answer_options  # noqa: E402
from elearn.accounts.models import User  # noqa: E402
from elearn.courses import services as courses  # noqa: E402
from elearn.courses.models import Activity, Enrolment  # noqa: E402
from elearn.extensions import db  # noqa: E402
from elearn.media import services as media  # noqa: E402
from elearn.progress import watch  # noqa: E402
from elearn.progress.models import ActivityProgress  # noqa: E402
from elearn.quiz import attempts, authoring  # noqa: E402
from elearn.quiz import services as bank  # noqa: E402
from elearn.quiz.models import Attempt, AttemptAnswer  # noqa: E402

LOCUSTFILE = ROOT / "bench/load/locustfile.py"
SLUG = "thu-tai-hoc-vien"
PASSWORD = "Bench-load-2026"  # noqa: S105 - the bench accounts' password
PER_PAGE = 5
VIDEO_SECONDS = 600.0
THREADS = 8
#: Seconds the comparison mode's readers have to sign in before they all start reading.
WARMUP = 5
#: Moodle 5.1 on 2 cores at 8 connections (pages/s), for the comparison mode's report.
MOODLE = {"course page": 8, "page lesson": 15, "attempt page": 14}
LESSON = """\
## Mục tiêu

Sau bài học này, học viên nắm được **khái niệm chuyển đổi số** trong cơ quan nhà nước,
các cấp độ của chuyển đổi số và vai trò của dữ liệu.

## Nội dung

Chuyển đổi số là quá trình thay đổi tổng thể và toàn diện cách sống, cách làm việc và
phương thức sản xuất dựa trên các công nghệ số. Trong cơ quan hành chính, chuyển đổi số
bắt đầu từ số hóa hồ sơ, tiếp đến số hóa quy trình và cuối cùng là chuyển đổi mô hình
phục vụ người dân và doanh nghiệp.

1. Số hóa thông tin: chuyển văn bản giấy thành dữ liệu số.
2. Số hóa quy trình: giải quyết thủ tục trên môi trường mạng.
3. Chuyển đổi số: ra quyết định dựa trên dữ liệu.

> Dữ liệu là tài nguyên mới; khai thác dữ liệu là nhiệm vụ của mọi cán bộ, công chức.

| Cấp độ | Ví dụ |
| --- | --- |
| Số hóa | Quét hồ sơ lưu trữ |
| Quy trình | Dịch vụ công trực tuyến toàn trình |
| Chuyển đổi | Chính sách dựa trên dữ liệu dân cư |
"""
CAPTIONS = "WEBVTT\n\n00:01.000 --> 00:04.000\nXin chào các học viên.\n"


# --- set-up ------------------------------------------------------------------------------


def prepare(database_url: str, learners: int, instance_dir: Path, empty: bool = True) -> dict:
    """Empty the schema of ``database_url`` and build the course and its learners.

    Returns what the load users need (also written to ``instance_dir/info.json``): the
    course slug, lesson ids, usernames, password and the answers each question takes.
    ``empty=False`` adds them to a database that already has its schema and other data
    (``make prod-check`` migrates and loads the starter courses first).
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    app = open_app(database_url, instance_dir)
    with app.app_context():
        if empty:
            db.drop_all()
            db.create_all()
        staff, people, course, module = learners_and_course(
            learners, PASSWORD, SLUG, "Thử tải: chuyển đổi số"
        )
        pages = [courses.add_page(module, f"Bài {n}", LESSON) for n in range(1, 4)]
        video = media.add_video(module, "Bài giảng", LESSON, threshold=0.9)
        lecture = media.video_of(video)
        lecture.version = lecture.ready_version = 1
        lecture.state, lecture.kind, lecture.duration = "ready", "video", VIDEO_SECONDS
        lecture.original_name, lecture.rungs = "bai-giang.mp4", "240p,360p,480p,720p"
        media.add_caption(video, staff, "vi", CAPTIONS.encode(), "bai-giang.vtt")
        quiz = authoring.add_quiz(
            module,
            "Bài kiểm tra",
            "Làm bài.",
            completion="passed",
            pass_mark=0.5,
            per_page=PER_PAGE,
            attempts=0,
        )
        bank.import_questions(course, GIFT.encode(), "gift", staff)
        settings = attempts.quiz_of(quiz)
        authoring.add_questions(settings, bank.questions_of(course))
        courses.set_status(course, staff, True)
        for person in people:
            courses.enrol(person, course)
        db.session.commit()
        options = [
            answer_options(n, bank.as_data(bank.question_in(course, s.question_id)))
            for n, s in enumerate(authoring.slots_of(settings))
        ]
        info = {
            "slug": SLUG,
            "pages": [p.id for p in pages],
            "video": video.id,
            "video_duration": VIDEO_SECONDS,
            "quiz": quiz.id,
            "per_page": PER_PAGE,
            "options": options,
            "usernames": [p.username for p in people],
            "password": PASSWORD,
            "info_path": str(instance_dir / "info.json"),
            "page_path": f"/courses/{SLUG}/lessons/{pages[0].id}",
        }
        analyze()
        db.session.remove()
        db.engine.dispose()
    (instance_dir / "info.json").write_text(json.dumps(info, ensure_ascii=False))
    return info


# --- the database check ------------------------------------------------------------------


def read_journal(journal_dir: Path) -> list[dict]:
    """Every acknowledged write the load users noted (all ``journal-*.jsonl`` files)."""
    lines = []
    for path in sorted(Path(journal_dir).glob("journal-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue  # the last line of a killed load process may be cut short
    return lines


def _uncovered(stored: list[watch.Interval], start: float, end: float) -> float:
    """Seconds of ``start``-``end`` that the stored intervals do not cover."""
    covered = sum(max(0.0, min(end, b) - max(start, a)) for a, b in stored)
    return (end - start) - covered


def check_database(database_url: str, journal_dir: Path) -> list[str]:
    """Compare the journal of acknowledged writes with the database; return the problems.

    Every acknowledged answer must be in its attempt (the same or a newer save), every
    submitted attempt finished, every opened lesson have a progress row, and every
    acknowledged stretch of video be inside the stored watched intervals, with a watched
    share at least what the server last answered. No problem: an empty list.
    """
    journal = read_journal(journal_dir)
    problems: list[str] = []
    scratch = tempfile.TemporaryDirectory(prefix="bench-load-check-")
    app = open_app(database_url, Path(scratch.name))
    with scratch, app.app_context():
        users = {u.username: u.id for u in db.session.scalars(select(User))}
        runs = {(r.user_id, r.course_id): r.id for r in db.session.scalars(select(Enrolment))}
        course_of: dict[int, int] = {}
        states = {
            (p.enrolment_id, p.activity_id): p for p in db.session.scalars(select(ActivityProgress))
        }
        found = {a.id: a for a in db.session.scalars(select(Attempt))}
        rows = {(r.attempt_id, r.slot): r for r in db.session.scalars(select(AttemptAnswer))}

        def state_of(line: dict) -> ActivityProgress | None:
            activity = line["activity"]
            if activity not in course_of:
                course_of[activity] = db.session.get(Activity, activity).course_id
            run = runs.get((users.get(line["user"]), course_of[activity]))
            return states.get((run, activity))

        answers: dict[tuple[int, int], dict] = {}
        watched: dict[tuple[str, int], list[dict]] = defaultdict(list)
        for line in journal:
            kind = line["k"]
            if kind == "viewed" and state_of(line) is None:
                problems.append(f"{line['user']}: lesson {line['activity']} opened, no progress")
            elif kind == "answer":
                key = (line["attempt"], line["slot"])
                if key not in answers or answers[key]["seq"] < line["seq"]:
                    answers[key] = line
            elif kind == "submit":
                attempt = found.get(line["attempt"])
                if attempt is None or attempt.state != "finished":
                    state = attempt.state if attempt else "missing"
                    problems.append(f"{line['user']}: attempt {line['attempt']} submitted, {state}")
            elif kind == "watch":
                watched[(line["user"], line["activity"])].append(line)
        for (attempt_id, slot), line in answers.items():
            row = rows.get((attempt_id, slot))
            attempt = found.get(attempt_id)
            where = f"{line['user']}: attempt {attempt_id} question {slot + 1}"
            if row is None or attempt is None or attempt.user_id != users.get(line["user"]):
                problems.append(f"{where}: acknowledged answer has no row")
            elif row.seq < line["seq"]:
                problems.append(f"{where}: holds save {row.seq}, save {line['seq']} acknowledged")
            elif row.seq == line["seq"]:
                expected = attempts.response_from_fields(
                    attempts.question_of(row), f"q{slot}", line["fields"]
                )
                if json.loads(row.response) != json.loads(json.dumps(expected)):
                    problems.append(f"{where}: holds {row.response}, not the acknowledged answer")
        for (user, activity), lines in watched.items():
            state = state_of(lines[0])
            if state is None:
                problems.append(f"{user}: video {activity} reports acknowledged, no progress")
                continue
            stored = watch.loads(state.watched)
            lost = sum(max(0.0, _uncovered(stored, ln["from"], ln["to"])) for ln in lines)
            if lost > 0.02 * len(lines):
                problems.append(f"{user}: video {activity} lost {lost:.1f} s of acknowledged views")
            best = max(ln["percent"] for ln in lines)
            if state.status != "completed" and state.percent < best - 1e-9:
                problems.append(
                    f"{user}: video {activity} at {state.percent:.3f}, acked {best:.3f}"
                )
        db.session.remove()
        db.engine.dispose()
    return problems


def journal_summary(journal_dir: Path) -> str:
    """How many acknowledged writes of each kind the journal holds."""
    counts: dict[str, int] = defaultdict(int)
    for line in read_journal(journal_dir):
        counts[line["k"]] += 1
    names = {
        "viewed": "lesson views",
        "answer": "answers",
        "watch": "watch reports",
        "submit": "submits",
    }
    return ", ".join(f"{counts[k]} {name}" for k, name in names.items())


# --- running Locust ----------------------------------------------------------------------


def run_locust(
    host: str,
    info_path: Path,
    out: Path,
    users: int,
    spawn_rate: float,
    duration: int,
    think: str,
    user_class: str = "Learner",
    extra: tuple[str, ...] = (),
) -> dict:
    """Run Locust headless as a subprocess; return its wall and CPU seconds and the command.

    Statistics land in ``out/<user_class>_stats.csv`` and ``_failures.csv``, the journal
    in ``out/journal``, Locust's output in ``out/locust.log``.
    """
    command = [
        str(ROOT / ".venv/bin/locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        f"{duration}s",
        "--host",
        host,
        "--info",
        str(info_path),
        "--think",
        think,
        "--journal",
        str(out / "journal"),
        "--csv",
        str(out / user_class),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *extra,
        user_class,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(out / "locust.log", "ab") as log:
        code = subprocess.call(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall": wall, "cpu": cpu, "code": code, "command": command}


def read_stats(prefix: Path) -> tuple[list[dict], list[dict]]:
    """Locust's per-request-kind rows (the last is "Aggregated") and its failures.

    Exceptions raised inside the users' tasks (a page without the expected form, say)
    count among the failures, under the name "task".
    """
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = list(csv.DictReader(f))
    with open(f"{prefix}_failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    with open(f"{prefix}_exceptions.csv", newline="") as f:
        for row in csv.DictReader(f):
            failures.append(
                {"Name": "task", "Method": "exception", "Occurrences": row["Count"],
                 "Error": row["Message"]}
            )  # fmt: skip
    return stats, failures


def print_stats(stats: list[dict], failures: list[dict], duration: float) -> None:
    """Print a Markdown table of the request kinds, then the errors by kind."""
    print(
        "| request | count | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    for row in sorted(stats, key=lambda r: (r["Name"] == "Aggregated", -int(r["Request Count"]))):
        if not int(row["Request Count"]):
            continue
        name = "all requests" if row["Name"] == "Aggregated" else row["Name"]
        print(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | "
            f"{int(row['Request Count']) / duration:.1f} | {row['50%']} | {row['95%']} | "
            f"{row['99%']} | {float(row['Max Response Time']):.0f} |"
        )
    for row in failures:
        print(f"  error: {row['Name']} ({row['Method']}) × {row['Occurrences']}: {row['Error']}")


def server_problems(log: Path) -> list[str]:
    """Warnings, errors and tracebacks in gunicorn's output."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [
        line
        for line in lines
        if " WARNING " in line or " ERROR " in line or "Traceback" in line or "[CRITICAL]" in line
    ]


# --- page weight ---------------------------------------------------------------------------


def _opener(host: str, username: str):
    """A urllib opener with its own cookies, signed in as ``username``."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    page = opener.open(host + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    body = urlencode({"csrf_token": token, "username": username, "password": PASSWORD})
    opener.open(host + "/login", body.encode()).read()
    return opener


def page_weight(host: str, info: dict) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """Bytes of a page lesson and of the video lesson: HTML and the CSS and JS they load.

    For each page: ``(file, bytes, bytes gzip'd as nginx sends them)``; gzip at level 5
    (docs/deploy/nginx-elearn.conf), files under 1,024 bytes sent as they are. The video
    lesson counts hls.js, which player.js loads where the browser has no native HLS
    (Chromium, Firefox); no playlist, segment or poster.
    """
    opener = _opener(host, info["usernames"][-1])

    def fetch(url: str) -> bytes:
        return opener.open(url).read()

    def sizes(url: str, data: bytes) -> tuple[str, int, int]:
        zipped = len(gzip.compress(data, 5)) if len(data) >= 1024 else len(data)
        return url.removeprefix(host), len(data), zipped

    result = []
    lessons = (("page lesson", info["pages"][0]), ("video lesson", info["video"]))
    for label, activity in lessons:
        url = f"{host}/courses/{info['slug']}/lessons/{activity}"
        html = fetch(url)
        text = html.decode()
        assets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
        assets += re.findall(r'<script src="([^"]+)"', text)
        assets += re.findall(r'data-hls-script="([^"]+)"', text)
        files = [sizes(url, html)]
        for asset in dict.fromkeys(assets):
            data = fetch(urljoin(url, asset))
            files.append(sizes(urljoin(url, asset), data))
            if asset.split("?")[0].endswith(".css"):
                for ref in re.findall(r"url\(['\"]?([^'\")]+)", data.decode()):
                    if not ref.startswith("data:"):
                        target = urljoin(urljoin(url, asset), ref)
                        files.append(sizes(target, fetch(target)))
        result.append((label, files))
    return result


def print_page_weight(host: str, info: dict) -> None:
    """Print the page weight as Markdown tables."""
    for label, files in page_weight(host, info):
        print(f"\n{label}:\n\n| file | bytes | gzip'd (nginx) |\n| --- | ---: | ---: |")
        for name, raw, zipped in files:
            print(f"| {name.split('?')[0]} | {raw:,} | {zipped:,} |")
        raw = sum(f[1] for f in files)
        zipped = sum(f[2] for f in files)
        print(f"| **first view, total** | {raw:,} | {zipped:,} |")
        print(
            f"| **later views (HTML only; static files cached)** | {files[0][1]:,} | "
            f"{files[0][2]:,} |"
        )


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temp folder)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--duration", type=int, default=60, help="seconds (per page kind with --moodle)"
    )
    parser.add_argument("--think", default="3-8", help="seconds between steps, MIN-MAX")
    parser.add_argument(
        "--spawn-rate", type=float, help="users started a second (default: all within 10 s)"
    )
    parser.add_argument("--host", help="URL of a running server (none is started)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default 1 SQLite, 2 PG)")
    parser.add_argument(
        "--moodle",
        action="store_true",
        help="8 connections, no think time: "
        "course pages, page lessons, attempt pages, each kind in turn",
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="--moodle: signed-in readers (default 8)"
    )
    parser.add_argument("--page-weight", action="store_true", help="only measure page weight")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    postgres = url.startswith("postgresql")
    workers = args.workers or (2 if postgres else 1)
    users = args.connections if args.moodle else args.users

    started = time.perf_counter()
    info = prepare(url, max(users, 8), tmp / "instance")
    print(
        f"database: {'PostgreSQL' if postgres else 'SQLite (file, WAL)'}; {len(info['usernames'])}"
        f" learners enrolled in one course (3 pages, a 10-min video, a 10-question quiz); "
        f"built in {time.perf_counter() - started:.1f} s"
    )
    server = None
    if args.host:
        host = args.host.rstrip("/")
        print(f"server: {host} (already running; CPU counted over all gunicorn processes)")
    else:
        # A gthread worker holds at most --worker-connections (default 1,000) connections
        # open; each simulated user may hold one, so past 900 users the limit is raised.
        options = (f"--worker-connections={users + 200}",) if users > 900 else ()
        server, port = start_server(url, workers, tmp, THREADS, options)
        host = f"http://127.0.0.1:{port}"
        print(
            f"server: gunicorn, {workers} worker(s) × {THREADS} threads (gthread), access log "
            f"on{''.join(', ' + o for o in options)}; {os.cpu_count()} cores shared with the "
            f"load generator and the database"
        )
    ok = True
    try:
        if args.page_weight:
            print_page_weight(host, info)
            return
        runs = (
            [("Reader", kind, "0", ("--reader-kind", kind)) for kind in MOODLE_NAMES]
            if args.moodle
            else [("Learner", "learners", args.think, ())]
        )
        for user_class, label, think, extra in runs:
            out = tmp / f"{user_class}-{label}"
            out.mkdir()
            spawn = args.spawn_rate or max(1.0, users / 10)
            length = args.duration
            if args.moodle:
                spawn, length = users, args.duration + WARMUP
                extra = (*extra, "--warmup", str(WARMUP))
                print(
                    f"\n## {label} pages: {users} signed-in learners, no think time, "
                    f"{args.duration} s"
                )
            else:
                print(
                    f"\n## {users} learners, {args.duration} s (spawning {spawn:g}/s), think "
                    f"time {think} s uniform between steps, watch reports every 10 s"
                )
            server_before = process_cpu(server.pid) if server else cpu_of({"gunicorn"})
            db_before = cpu_of({"postgres"}) if postgres else 0.0
            result = run_locust(
                host,
                tmp / "instance/info.json",
                out,
                users,
                spawn,
                length,
                think,
                user_class,
                extra,
            )
            server_cpu = (process_cpu(server.pid) if server else cpu_of({"gunicorn"})) - (
                server_before
            )
            db_cpu = (cpu_of({"postgres"}) - db_before) if postgres else 0.0
            wall = result["wall"]
            command = " ".join(result["command"]).replace(str(ROOT) + "/", "")
            print(f"locust: exit {result['code']}; {command}\n")
            stats, failures = read_stats(out / user_class)
            print_stats(stats, failures, args.duration)
            if args.moodle:
                row = next(r for r in stats if r["Name"] == MOODLE_NAMES[label])
                rate = int(row["Request Count"]) / args.duration
                print(
                    f"\n{MOODLE_NAMES[label]}: {rate:.1f} pages/s, p95 {row['95%']} ms "
                    f"(Moodle 5.1: {MOODLE[MOODLE_NAMES[label]]}/s, p95 0.8-1.4 s; "
                    f"{rate / MOODLE[MOODLE_NAMES[label]]:.1f}× Moodle)"
                )
            print(
                f"\nCPU over {wall:.1f} s wall (100 % = one core of {os.cpu_count()}): "
                f"load generator {100 * result['cpu'] / wall:.0f} %, gunicorn "
                f"{100 * server_cpu / wall:.0f} %"
                + (f", PostgreSQL {100 * db_cpu / wall:.0f} %" if postgres else "")
            )
            problems = check_database(url, out / "journal")
            print(f"database check: journal holds {journal_summary(out / 'journal')}")
            if problems:
                ok = False
                print(f"FAIL: {len(problems)} acknowledged writes lost, first ones:")
                for line in problems[:10]:
                    print("  " + line)
            else:
                print("database check: no acknowledged answer, submit or progress lost")
        if server:
            logged = server_problems(tmp / "server.log")
            print(f"\nserver log: {len(logged)} warnings, errors or tracebacks")
            for line in logged[:10]:
                print("  " + line[:240])
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        print(f"\nlogs, statistics and journals: {tmp}")
    sys.exit(0 if ok else 1)


MOODLE_NAMES = {"course": "course page", "page": "page lesson", "attempt": "attempt page"}

if __name__ == "__main__":
    main()
