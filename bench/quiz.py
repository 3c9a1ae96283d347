"""Load-test quiz autosaves and submissions: many learners at once against a real gunicorn.

Set-up (through the app's services, on a fresh schema): one unit, N learners (fast
pbkdf2 hashes: sign-in is not what is measured), one published course whose quiz holds
10 imported GIFT questions (multichoice, true/false, short answer, numerical, matching;
5 per page), every learner enrolled. Then gunicorn serves the same database on a free
port, and N learner threads (stdlib ``http.client``, one connection per request) all
begin within the first second. Each does what a browser does: login page, sign in,
the quiz's lesson page, start, the attempt page (CSRF token from its hidden input, sent
back as ``X-CSRFToken``), then for each question a think time (``--think`` seconds
± 50 %, uniform) and one JSON autosave, then submit and the review page. Latency is
per request, from sending to the last byte read. Afterwards the database must hold every
attempt finished with its 10 saved answers. Usage:

    .venv/bin/python bench/quiz.py                          # SQLite file in a temp folder
    .venv/bin/python bench/quiz.py postgresql+psycopg://postgres@127.0.0.1/elearn_bench_quiz
    .venv/bin/python bench/quiz.py --learners 50 --think 1  # a quicker, lighter run

gunicorn runs as ``make run`` starts it: gthread workers with 8 threads, an access log
(to a file here); 1 worker on SQLite (``make run``'s default), 2 on PostgreSQL
(``--workers`` changes it). The load generator runs on the same machine as the server
and the database, so they share its cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.harness import (  # noqa: E402
    analyze,
    bench_app,
    learners_and_course,
    process_cpu,
    start_server,
)
from elearn.courses import services as courses  # noqa: E402
from elearn.extensions import db  # noqa: E402
from elearn.quiz import attempts, authoring  # noqa: E402
from elearn.quiz import services as bank  # noqa: E402
from elearn.quiz.models import Attempt, AttemptAnswer  # noqa: E402

SLUG = "thu-tai-trac-nghiem"
PASSWORD = "Bench-quiz-2026"  # noqa: S105 - the bench accounts' password
QUESTIONS = 10
THREADS = 8
TIMEOUT = 120.0  # seconds a request may take before it counts as an error
GIFT = """\
$CATEGORY: thu-tai

::MC1:: Cấp độ cao nhất của chuyển đổi số là? {
=Chuyển đổi số ~Số hóa thông tin ~Số hóa quy trình ~Tin học hóa
}

::TF1:: Dữ liệu là nền tảng của Chính phủ số. {T}

::SA1:: Viết tắt của công nghệ thông tin là gì? {=CNTT =công nghệ thông tin}

::NUM1:: Nghị quyết 17/NQ-CP được ban hành năm nào? {#2019:0}

::MATCH1:: Ghép cơ quan với lĩnh vực quản lý. {
=Bộ Nội vụ -> công chức
=Bộ Y tế -> y tế
=Bộ Tài chính -> ngân sách
}

::MC2:: Cổng Dịch vụ công quốc gia do cơ quan nào vận hành? {
~Bộ Công an =Văn phòng Chính phủ ~Bộ Nội vụ ~Bộ Tư pháp
}

::TF2:: Chữ ký số có giá trị pháp lý như chữ ký tay. {TRUE}

::SA2:: Hệ thống quản lý văn bản điện tử thường gọi tắt là gì? {=QLVB =eOffice}

::NUM2:: Việt Nam có bao nhiêu tỉnh, thành phố trực thuộc trung ương (trước 2025)? {#63:0}

::MC3:: Mức độ cao nhất của dịch vụ công trực tuyến trước đây là mức? {
~1 ~2 ~3 =4
}
"""
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# --- set-up ------------------------------------------------------------------------------


def answer_options(slot: int, question) -> list[list[list[str]]]:
    """The answers a learner may give to one question: each a list of [field, value]."""
    name = f"q{slot}"
    kind = question.type
    if kind == "multichoice":
        return [[[name, str(i)]] for i in range(len(question.answers))]
    if kind == "truefalse":
        return [[[name, "true"]], [[name, "false"]]]
    if kind == "shortanswer":
        return [[[name, a.text]] for a in question.answers] + [[[name, "không nhớ"]]]
    if kind == "numerical":
        return [[[name, f"{n.value:g}"]] for n in question.numerical if not n.is_range] + [
            [[name, "2000"]]
        ]
    if kind == "matching":
        rights = sorted({right for _left, right in question.pairs})
        return [
            [[f"{name}-{i}", r] for i, r in enumerate(random.Random(k).sample(rights, len(rights)))]
            for k in range(4)
        ]
    raise ValueError(kind)


def build(learners: int) -> tuple[int, list[list[list[list[str]]]]]:
    """Create the unit, learners, course, quiz and enrolments; return the quiz id and answers."""
    staff, people, course, module = learners_and_course(
        learners, PASSWORD, SLUG, "Thử tải bài kiểm tra"
    )
    activity = authoring.add_quiz(
        module, "Bài kiểm tra cuối khóa", "Làm bài.", completion="passed", pass_mark=0.5, per_page=5
    )
    bank.import_questions(course, GIFT.encode(), "gift", staff)
    quiz = attempts.quiz_of(activity)
    authoring.add_questions(quiz, bank.questions_of(course))
    courses.set_status(course, staff, True)
    for person in people:
        courses.enrol(person, course)
    db.session.commit()
    slots = authoring.slots_of(quiz)
    assert len(slots) == QUESTIONS, len(slots)
    options = [
        answer_options(n, bank.as_data(bank.question_in(course, s.question_id)))
        for n, s in enumerate(slots)
    ]
    return activity.id, options


# --- the server ----------------------------------------------------------------------------


def machine_cpu() -> tuple[int, int]:
    """Busy and total jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_between(trace: list[tuple[float, int, int]], start: float, end: float) -> float:
    """Percent of all cores busy between two moments, from samples of ``machine_cpu``."""
    inside = [t for t in trace if start <= t[0] <= end]
    if len(inside) < 2:
        return float("nan")
    first, last = inside[0], inside[-1]
    return 100 * (last[1] - first[1]) / max(1, last[2] - first[2])


# --- the learners ------------------------------------------------------------------------


@dataclass
class Sample:
    """One request: what it was, when it ran (monotonic seconds), how it ended."""

    kind: str
    start: float
    end: float
    status: int  # 0: no response (connection error, timeout)
    note: str = ""


@dataclass
class Learner:
    """One simulated learner: a browser's requests, with its own cookies and answers."""

    port: int
    username: str
    activity_id: int
    options: list
    think: float
    offset: float
    rng: random.Random
    samples: list[Sample] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    attempt_id: int | None = None
    sent: dict[int, int] = field(default_factory=dict)  # slot -> seq the server kept
    failed: str = ""

    def request(self, kind: str, method: str, path: str, body=None, headers=None):
        """Send one request on a new connection; return (status, headers, body) or None."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
        except (OSError, http.client.HTTPException) as exc:
            self.samples.append(Sample(kind, start, time.monotonic(), 0, type(exc).__name__))
            return None
        end = time.monotonic()
        ok = 200 <= response.status < 400
        self.samples.append(Sample(kind, start, end, response.status, "" if ok else data[:200]))
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def form(self, kind: str, path: str, fields: dict):
        """Post a form, as a browser does."""
        return self.request(
            kind,
            "POST",
            path,
            urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def token(self, reply) -> str | None:
        """The CSRF token of a page's hidden input (what quiz.js reads too)."""
        found = CSRF_RE.search(reply[2].decode()) if reply else None
        return found.group(1) if found else None

    def stop(self, why: str) -> None:
        """Give up: the learner cannot go on (counted as a failure)."""
        self.failed = why

    def run(self, go: float) -> None:
        """Take the quiz, starting ``offset`` seconds after ``go``."""
        time.sleep(max(0.0, go + self.offset - time.monotonic()))
        try:
            self.take()
        except Exception as exc:  # noqa: BLE001 - an odd answer must show in the report
            self.stop(f"{type(exc).__name__}: {exc}")

    def take(self) -> None:
        """Sign in, start, answer every question with an autosave, submit."""
        token = self.token(self.request("login page", "GET", "/login"))
        if not token:
            return self.stop("no token on the login page")
        reply = self.form(
            "sign in",
            "/login",
            {"username": self.username, "password": PASSWORD, "csrf_token": token},
        )
        if not reply or reply[0] != 302:
            return self.stop(f"sign-in answered {reply and reply[0]}")
        lesson = f"/courses/{SLUG}/lessons/{self.activity_id}"
        token = self.token(self.request("lesson page", "GET", lesson))
        if not token:
            return self.stop("no token on the lesson page")
        path = f"/courses/{SLUG}/quizzes/{self.activity_id}/start"
        reply = self.form("start", path, {"csrf_token": token})
        found = re.search(r"/attempts/(\d+)", reply[1].get("Location", "")) if reply else None
        if not reply or reply[0] != 302 or not found:
            return self.stop(f"start answered {reply and reply[0]}")
        self.attempt_id = int(found.group(1))
        base = f"/courses/{SLUG}/attempts/{self.attempt_id}"
        token = self.token(self.request("attempt page", "GET", base + "?page=0"))
        if not token:
            return self.stop("no token on the attempt page")
        for slot in range(QUESTIONS):
            time.sleep(self.think * self.rng.uniform(0.5, 1.5))
            seq = slot + 1
            payload = {
                "answers": {str(slot): {"seq": seq, "fields": self.rng.choice(self.options[slot])}},
                "page": slot // 5,
            }
            reply = self.request(
                "autosave",
                "POST",
                base + "/save",
                json.dumps(payload),
                {
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "X-CSRFToken": token,
                },
            )
            if reply and reply[0] == 200 and json.loads(reply[2])["saved"].get(str(slot)):
                self.sent[slot] = seq
        reply = self.form("submit", base + "/submit", {"csrf_token": token})
        if not reply or reply[0] != 302:
            return self.stop(f"submit answered {reply and reply[0]}")
        self.request("review page", "GET", urlsplit(reply[1]["Location"]).path)


# --- report --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    rank = max(1, min(len(values), round(p / 100 * len(values) + 0.5)))
    return values[rank - 1]


KINDS = (
    "autosave",
    "submit",
    "login page",
    "sign in",
    "lesson page",
    "start",
    "attempt page",
    "review page",
)


def report(samples: list[Sample]) -> None:
    print(
        "| request | count | errors | req/s (busy window) | p50 ms | p95 ms | p99 ms | max ms |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    # Autosaves sent once every learner is in their attempt: no start-up burst behind them.
    settled = max(s.end for s in samples if s.kind in ("start", "attempt page"))
    groups = [(kind, [s for s in samples if s.kind == kind]) for kind in KINDS]
    groups.insert(
        1,
        (
            "autosave, after the last attempt page",
            [s for s in samples if s.kind == "autosave" and s.start > settled],
        ),
    )
    for kind, rows in groups:
        if not rows:
            continue
        errors = sum(not 200 <= s.status < 400 for s in rows)
        window = max(s.end for s in rows) - min(s.start for s in rows)
        ms = sorted((s.end - s.start) * 1000 for s in rows)
        print(
            f"| {kind} | {len(rows)} | {errors} | {len(rows) / window:.1f} | "
            f"{percentile(ms, 50):.0f} | {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | "
            f"{ms[-1]:.0f} |"
        )
    bad = [s for s in samples if not 200 <= s.status < 400]
    for s in bad[:10]:
        print(f"  error: {s.kind} status {s.status} {s.note!r}")


def verify(app, learners: list[Learner]) -> bool:
    """Every attempt finished, holding the 10 answers its learner's autosaves sent."""
    ok = True
    with app.app_context():
        found = {a.id: a for a in db.session.scalars(select(Attempt))}
        answers: dict[int, list[AttemptAnswer]] = {}
        for row in db.session.scalars(select(AttemptAnswer).order_by(AttemptAnswer.slot)):
            answers.setdefault(row.attempt_id, []).append(row)
        problems = []
        for learner in learners:
            attempt = found.get(learner.attempt_id)
            if learner.failed or attempt is None:
                problems.append(f"{learner.username}: {learner.failed or 'no attempt'}")
                continue
            rows = answers.get(attempt.id, [])
            saved = [r for r in rows if r.response not in (None, "null", '""', "{}") and r.seq]
            if attempt.state != "finished" or attempt.grade is None:
                problems.append(f"{learner.username}: attempt {attempt.id} is {attempt.state}")
            if len(saved) != QUESTIONS or any(learner.sent.get(r.slot) != r.seq for r in rows):
                problems.append(
                    f"{learner.username}: attempt {attempt.id} holds {len(saved)} of "
                    f"{QUESTIONS} answers ({len(learner.sent)} acknowledged)"
                )
        if len(found) != len(learners):
            problems.append(f"{len(found)} attempts for {len(learners)} learners")
        grades = [a.grade for a in found.values() if a.grade is not None]
    if problems:
        ok = False
        print(f"FAIL: {len(problems)} problems in the database, first ones:")
        for line in problems[:10]:
            print("  " + line)
    else:
        print(
            f"verified: {len(found)} attempts finished, each with its {QUESTIONS} saved answers "
            f"(mean grade {sum(grades) / len(grades):.2f})"
        )
    return ok


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="database URL (default: SQLite in a temp folder)")
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds per question")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default 1 SQLite, 2 PG)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-quiz-"))
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    postgres = url.startswith("postgresql")
    workers = args.workers or (2 if postgres else 1)

    app = bench_app(url)
    started = time.perf_counter()
    with app.app_context():
        activity_id, options = build(args.learners)
        analyze()
        db.session.remove()
        db.engine.dispose()
    build_s = time.perf_counter() - started
    print(
        f"database: {'PostgreSQL' if postgres else 'SQLite (file, WAL)'}; {args.learners} "
        f"learners, quiz of {QUESTIONS} questions; built in {build_s:.1f} s"
    )
    print(
        f"server: gunicorn, {workers} worker(s) × {THREADS} threads (gthread), access log on; "
        f"think time {args.think:g} s ± 50 %; {os.cpu_count()} cores shared with the load "
        f"generator"
    )

    server, port = start_server(url, workers, tmp, THREADS)
    load_before = os.getloadavg()[0]
    rng = random.Random(7)
    learners = [
        Learner(
            port,
            f"hv{n:04d}",
            activity_id,
            options,
            args.think,
            rng.uniform(0, 1),
            random.Random(n),
        )
        for n in range(1, args.learners + 1)
    ]
    cpu_server_before = process_cpu(server.pid)
    cpu_self_before = resource.getrusage(resource.RUSAGE_SELF)
    machine_before = machine_cpu()
    go = time.monotonic() + 0.5  # every thread exists before the first one starts
    threads = [threading.Thread(target=ln.run, args=(go,), daemon=True) for ln in learners]
    cpu_trace: list[tuple[float, int, int]] = []
    done = threading.Event()

    def trace() -> None:
        while not done.wait(0.25):
            cpu_trace.append((time.monotonic(), *machine_cpu()))

    tracer = threading.Thread(target=trace, daemon=True)
    tracer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    tracer.join()
    wall = time.monotonic() - go
    cpu_server = process_cpu(server.pid) - cpu_server_before
    busy, total = (a - b for a, b in zip(machine_cpu(), machine_before, strict=True))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_self = (usage.ru_utime + usage.ru_stime) - (
        cpu_self_before.ru_utime + cpu_self_before.ru_stime
    )
    load1 = os.getloadavg()[0]
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()

    samples = [s for ln in learners for s in ln.samples]
    log_lines = (tmp / "server.log").read_text(errors="replace").splitlines()
    problems = [line for line in log_lines if " WARNING " in line or " ERROR " in line]
    problems += [line for line in log_lines if "Traceback" in line or "locked" in line]
    settled = max(s.end for s in samples if s.kind in ("start", "attempt page"))
    print(
        f"start-up burst (first {settled - go:.1f} s, until the last attempt page): all cores "
        f"{busy_between(cpu_trace, go, settled):.0f} % busy; afterwards "
        f"{busy_between(cpu_trace, settled, go + wall):.0f} %"
    )
    print(
        f"wall time {wall:.1f} s for {len(samples)} requests; CPU: gunicorn {cpu_server:.1f} s, "
        f"load generator {cpu_self:.1f} s; all cores {100 * busy / total:.0f} % busy; "
        f"1-minute load average {load_before:.1f} before, {load1:.1f} at the end\n"
    )
    report(samples)
    print(f"server log: {len(problems)} warnings, errors or tracebacks")
    for line in problems[:5]:
        print("  " + line[:200])
    print()
    failed = [ln for ln in learners if ln.failed]
    if failed:
        print(f"FAIL: {len(failed)} learners stopped early, e.g. {failed[0].failed}")
    ok = verify(app, learners) and not failed
    print(f"server log and access log: {tmp}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
