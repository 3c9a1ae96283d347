"""What every benchmark here shares: an app on a fresh database, a median timer, gunicorn.

``start_server`` runs gunicorn as ``make run`` does (gthread workers, access log) on a free
port; ``process_cpu`` and ``cpu_of`` read CPU seconds from /proc, so a load benchmark can
say how much of the machine the server, the database and the load generator each took.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from elearn import create_app  # noqa: E402
from elearn.extensions import db  # noqa: E402


def open_app(url: str, instance_dir: Path):
    """Return an app on an existing database ``url`` (nothing is created or emptied)."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": instance_dir,
            # Benchmarks measure the production setting, not the tests' one.
            "SQLITE_BEGIN_OUTSIDE_REQUESTS": "BEGIN IMMEDIATE",
            "LOG_LEVEL": "WARNING",
        }
    )


def bench_app(url: str | None):
    """Return an app on ``url`` (default: a SQLite file in a temp folder), schema emptied."""
    tmp = Path(tempfile.mkdtemp())
    app = open_app(url or f"sqlite:///{tmp / 'bench.db'}", tmp)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def analyze() -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (autovacuum would, later)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def learners_and_course(learners: int, password: str, slug: str, title: str):
    """One unit, a staff account, ``learners`` learners and an empty course with one module.

    Returns (staff, learners, course, module); the learners' usernames are hv0001, hv0002...
    """
    from elearn.accounts import services as accounts
    from elearn.courses import services as courses

    unit = accounts.create_unit("THU-TAI", "Đơn vị thử tải", "ministry", None, None)
    staff = accounts.create_user("Giảng Viên Thử", "giangvien", unit)
    people = [
        accounts.create_user(f"Học Viên {n}", f"hv{n:04d}", unit, password=password)
        for n in range(1, learners + 1)
    ]
    course = courses.create_course(None, slug=slug, title=title, topic="chuyen-doi-so")
    return staff, people, course, courses.add_module(course, "Phần 1")


def timed(fn, runs: int = 20, commit: bool = False) -> float:
    """Return the median milliseconds of ``fn``; each run is rolled back unless ``commit``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        if commit:
            db.session.commit()
        samples.append((time.perf_counter() - start) * 1000)
        if not commit:
            db.session.rollback()
    return statistics.median(samples)


# --- gunicorn and CPU accounting -----------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    url: str, workers: int, tmp: Path, threads: int = 8, options: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, int]:
    """Start gunicorn on database ``url`` as ``make run`` does; return it once it answers.

    Its output goes to ``tmp/server.log``, the access log to ``tmp/access.log``; the
    instance folder is ``tmp/instance``. ``options`` are extra gunicorn arguments.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELEARN_")}
    env.update(
        ELEARN_ENV="development",
        ELEARN_DATABASE_URL=url,
        ELEARN_INSTANCE_DIR=str(tmp / "instance"),
        ELEARN_SECRET_KEY=secrets.token_hex(32),
        ELEARN_BASE_URL=f"http://127.0.0.1:{port}",
    )
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            f"--workers={workers}",
            f"--threads={threads}",
            f"--bind=127.0.0.1:{port}",
            "--graceful-timeout=5",
            f"--access-logfile={tmp / 'access.log'}",
            "--forwarded-allow-ips=127.0.0.1",
            *options,
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}; see {tmp / 'server.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return server, port
        except OSError:
            pass
        time.sleep(0.2)
    server.terminate()
    sys.exit(f"gunicorn did not answer within 60 s; see {tmp / 'server.log'}")


def _stat(pid: int) -> tuple[str, float]:
    """Name and CPU seconds (user + system) of one process, from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    name = stat[stat.index("(") + 1 : stat.rindex(")")]
    return name, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its living children, from /proc."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            total += _stat(current)[1]
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pids.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def cpu_of(names: set[str]) -> float:
    """CPU seconds of every living process whose name (``comm``) is in ``names``."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, seconds = _stat(int(entry.name))
            except (OSError, ValueError):
                continue
            if name in names:
                total += seconds
    return total
