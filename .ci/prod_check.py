"""The production stack on 127.0.0.1, started as the systemd units start it, proven through nginx.

What it does, in order (each step prints its result; any failure stops with exit 1):

1. Renders docs/deploy/*.service, *.timer and nginx-elearn.conf for a scratch folder: the only
   changes are paths (/srv/elearn -> the scratch folder, /srv/elearn/app -> this checkout),
   ports (443/80/8000 -> free ports on 127.0.0.1) and the log folder. The rendered units pass
   ``systemd-analyze verify``; the nginx file passes ``nginx -t``.
2. A fresh PostgreSQL database and Redis database; the schema by ``flask db upgrade``; an
   administrator, the starter courses and their narrated lecture, and load-test learners.
3. Starts the ExecStart commands of elearn-web.service (gunicorn, 2 workers) and
   elearn-worker@short / elearn-worker@long, with the unit's EnvironmentFile, and nginx with
   TLS (a self-signed certificate).
4. Smoke test through nginx (``smoke``): redirects, /healthz and /readyz, headers, versioned
   static files with a year's cache and gzip, sign-in, a course, the lecture's media sent by
   nginx through X-Accel-Redirect, the internal location closed, the upload limit.
5. Faults under load (``faults``): learners working through nginx while a gunicorn worker is
   killed, the job worker is killed in the middle of a conversion, and PostgreSQL drops every
   connection. Afterwards: every answer and heartbeat the server acknowledged is in the
   database, the conversion finished, error answers were the Vietnamese pages and never a
   traceback.
6. Backup while learners work, restore into a fresh database and media folder, compare.

Usage: ``make prod-check`` (or ``bash .ci/prod-check.sh [--keep] [--skip-faults]``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

# faults.py imports this file as ``prod_check``: let it be this very module (one ``Failed``).
sys.modules.setdefault("prod_check", sys.modules[__name__])

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "docs" / "deploy"
VENV_BIN = ROOT / ".venv" / "bin"
PG_ADMIN = os.environ.get(
    "ELEARN_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x"
)
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
REDIS_BASE = os.environ.get("ELEARN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]
PASSWORD = "kiem-tra-van-hanh-2026"
DB_NAME = "elearn_prodcheck"
RESTORE_DB = "elearn_prodcheck_restore"


def say(message: str) -> None:
    """Print one progress line at once (CI shows it live)."""
    print(f"[prod-check {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Failed(Exception):
    """A check did not hold."""


def check(condition: bool, message: str) -> None:
    """Raise ``Failed`` with ``message`` unless ``condition``."""
    if not condition:
        raise Failed(message)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str, database: str = "postgres") -> str:
    """Run one statement as the PostgreSQL superuser the CI services set up."""
    url = urllib.parse.urlsplit(PG_BASE.replace("+psycopg", ""))
    env = dict(os.environ, PGPASSWORD=url.password or os.environ.get("PGPASSWORD", ""))
    out = subprocess.run(
        [
            "psql",
            "-h",
            url.hostname,
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-d",
            database,
            "-Atqc",
            sql,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return out.stdout.strip()


class Stack:
    """The scratch folder, the rendered files and the processes of one production instance."""

    def __init__(self, base: Path, database: str, redis_db: int):
        self.base = base
        self.srv = base / "srv"
        self.logs = base / "log"
        self.units = base / "units"
        self.database = database
        self.database_url = f"{PG_BASE}/{database}"
        self.redis_url = f"{REDIS_BASE}/{redis_db}"
        self.app_port, self.http_port, self.https_port = free_port(), free_port(), free_port()
        self.env_file = base / "elearn.env"
        self.procs: dict[str, subprocess.Popen] = {}
        for folder in (
            self.srv / "media",
            self.srv / "instance",
            self.srv / "backups",
            self.logs,
            self.units,
            base / "ssl",
            base / "nginx",
        ):
            folder.mkdir(parents=True, exist_ok=True)
        # nginx's workers run as www-data (or nobody) and must read media and logs here.
        for folder in (base, self.srv, self.srv / "media"):
            folder.chmod(0o755)

    @property
    def https(self) -> str:
        """The site as people reach it."""
        return f"https://127.0.0.1:{self.https_port}"

    def render(self, text: str) -> str:
        """The deploy file with this instance's paths and ports (nothing else changes)."""
        replacements = [
            ("/srv/elearn/app", str(ROOT)),
            ("/etc/elearn/elearn.env", str(self.env_file)),
            ("/srv/elearn/", f"{self.srv}/"),
            ("/etc/ssl/elearn/", f"{self.base}/ssl/"),
            ("/var/log/nginx/", f"{self.logs}/"),
            ("127.0.0.1:8000", f"127.0.0.1:{self.app_port}"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("listen [::]:443 ssl http2;", ""),
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen [::]:80;", ""),
            ("shared:elearn_ssl:", f"shared:elearn_ssl_{self.https_port}:"),
        ]
        for old, new in replacements:
            text = text.replace(old, new)
        return text

    def environment(self) -> dict[str, str]:
        """The process environment a unit gets: a bare PATH plus its EnvironmentFile."""
        env = {
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin:/usr/sbin",
            "LANG": "C.UTF-8",
            "HOME": str(self.base),
        }
        for line in self.env_file.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
        return env

    def write_env(self) -> None:
        """docs/deploy/elearn.env.example with this instance's secrets, database and Redis."""
        text = self.render((DEPLOY / "elearn.env.example").read_text())
        values = {
            "ELEARN_SECRET_KEY": os.urandom(32).hex(),
            "ELEARN_DATABASE_URL": self.database_url,
            "ELEARN_REDIS_URL": self.redis_url,
            "ELEARN_BASE_URL": self.https,
            "WEB_WORKERS": "2",
            "WEB_THREADS": "8",
        }
        lines = []
        for line in text.splitlines():
            key = line.partition("=")[0]
            lines.append(f"{key}={values.pop(key)}" if key in values else line)
        lines += [f"{key}={value}" for key, value in values.items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o640)

    def flask(self, *args: str, check_ok: bool = True, timeout: int = 600) -> str:
        """Run ``flask --app wsgi ...`` as the units would (same environment), return its output."""
        out = subprocess.run(
            [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check_ok and out.returncode != 0:
            raise Failed(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout + out.stderr

    def exec_start(self, unit: str, instance: str = "") -> str:
        """The ExecStart= command of a rendered unit, with %i filled in."""
        text = (self.units / unit).read_text()
        match = re.search(r"^ExecStart=(.+)$", text, re.MULTILINE)
        check(match is not None, f"{unit} has no ExecStart")
        return match.group(1).replace("%i", instance)

    def start(self, name: str, command: str) -> subprocess.Popen:
        """Start ``command`` the way systemd would (its environment, its working directory)."""
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start_unit(self, unit: str, instance: str = "") -> subprocess.Popen:
        """Start a rendered unit's command under the name unit[@instance]."""
        name = unit.replace("@.service", f"@{instance}").replace(".service", "")
        return self.start(name, self.exec_start(unit, instance))

    def stop(self, name: str, sig: int = signal.SIGTERM, wait: float = 40) -> None:
        """Stop one process group and wait for it."""
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every process this instance started."""
        for name in list(self.procs):
            self.stop(name)

    def log(self, name: str) -> str:
        """What a process has written so far."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


# --------------------------------------------------------------------------------------- set-up


def render_files(stack: Stack) -> None:
    """Render the units and the nginx site; verify them."""
    for unit in sorted(DEPLOY.glob("elearn-*.service")) + sorted(DEPLOY.glob("elearn-*.timer")):
        (stack.units / unit.name).write_text(stack.render(unit.read_text()))
    analyze = shutil.which("systemd-analyze")
    if analyze:
        names = []
        for unit in sorted(stack.units.iterdir()):
            # A template is verified as an instance of it (systemd finds the template here).
            names.append(unit.name.replace("@.service", "@short.service"))
        out = subprocess.run(
            [analyze, "verify", *names],
            cwd=stack.units,
            capture_output=True,
            text=True,
            env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"),
        )
        problems = (out.stdout + out.stderr).strip()
        check(
            out.returncode == 0 and not problems,
            f"systemd-analyze verify found problems:\n{problems}",
        )
        say(f"systemd-analyze verify: {', '.join(names)}: no problems")
    else:
        raise Failed("systemd-analyze not found: apt-get install systemd (it only verifies here)")
    site = stack.render((DEPLOY / "nginx-elearn.conf").read_text())
    (stack.base / "nginx" / "elearn.conf").write_text(site)
    temp = stack.base / "nginx" / "tmp"
    temp.mkdir(exist_ok=True)
    user = "www-data" if os.geteuid() == 0 else ""
    main = f"""
{"user " + user + ";" if user else ""}
worker_processes 2;
pid {stack.base}/nginx/nginx.pid;
error_log {stack.logs}/nginx-main.error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {stack.base}/nginx/elearn.conf;
}}
"""
    (stack.base / "nginx" / "nginx.conf").write_text(main)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(stack.base / "ssl" / "privkey.pem"),
            "-out",
            str(stack.base / "ssl" / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [nginx_binary(), "-t", "-c", str(stack.base / "nginx" / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    check(out.returncode == 0, f"nginx -t failed:\n{out.stderr}")
    say("nginx -t: the site file is valid")


def nginx_binary() -> str:
    """Debian's nginx."""
    return shutil.which("nginx") or "/usr/sbin/nginx"


def fresh_database(name: str) -> None:
    """Drop and create a PostgreSQL database."""
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    """Empty one Redis database (queues and rate limits of an earlier run)."""
    parts = urllib.parse.urlsplit(url)
    subprocess.run(
        [
            "redis-cli",
            "-h",
            parts.hostname,
            "-p",
            str(parts.port or 6379),
            "-n",
            parts.path.strip("/") or "0",
            "flushdb",
        ],
        check=True,
        capture_output=True,
    )


def set_up(stack: Stack, learners: int) -> dict:
    """Schema, an administrator, an instructor, the starter courses, load-test learners."""
    fresh_database(stack.database)
    flush_redis(stack.redis_url)
    stack.write_env()
    started = time.monotonic()
    stack.flask("db", "upgrade")
    stack.flask(
        "accounts",
        "create-admin",
        "--username",
        "quantri",
        "--full-name",
        "Quản trị hệ thống",
        "--email",
        "quantri@example.gov.vn",
        "--unit-code",
        "BO",
        "--unit-name",
        "Bộ Nội vụ",
        "--password",
        PASSWORD,
    )
    stack.flask("media", "demo-lecture", "content/")
    stack.flask("content", "load", "content/", "--staff", "quantri")
    say(f"schema, administrator and starter courses in {time.monotonic() - started:.1f} s")
    sys.path.insert(0, str(ROOT))
    from bench import load

    info = load.prepare(stack.database_url, learners, stack.base / "load", empty=False)
    say(f"{learners} load-test learners and their course ready")
    return info


def start_stack(stack: Stack) -> None:
    """gunicorn, both workers and nginx, as the units run them."""
    stack.start_unit("elearn-web.service")
    stack.start_unit("elearn-worker@.service", "short")
    stack.start_unit("elearn-worker@.service", "long")
    stack.start("nginx", f"{nginx_binary()} -c {stack.base}/nginx/nginx.conf -g 'daemon off;'")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, proc in stack.procs.items():
            check(proc.poll() is None, f"{name} stopped at start:\n{stack.log(name)[-3000:]}")
        try:
            status, _, _ = fetch(stack, "/readyz")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise Failed("/readyz did not answer 200 through nginx within 60 s")
    say(f"gunicorn, workers short and long, nginx up: {stack.https}")


# ------------------------------------------------------------------------------------------ HTTP

_TLS = ssl.create_default_context()
_TLS.check_hostname = False
_TLS.verify_mode = ssl.CERT_NONE


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF tokens and no automatic redirects: a browser, checked step by step."""

    def __init__(self, stack: Stack):
        import http.cookiejar

        self.stack = stack
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=_TLS),
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect,
        )

    def request(
        self,
        path: str,
        data: dict | bytes | None = None,
        headers: dict | None = None,
        method: str | None = None,
    ):
        """Return (status, headers, body bytes)."""
        url = path if path.startswith("http") else self.stack.https + path
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        headers = dict(headers or {})
        if body is not None:
            # Over https Flask-WTF also checks that a form comes from this site, as browsers say.
            headers.setdefault("Referer", url)
        req = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def csrf(self, html: bytes) -> str:
        """The CSRF token of the first form on a page."""
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
            rb'value="([^"]+)"[^>]*name="csrf_token"', html
        )
        check(match is not None, "no CSRF token on the page")
        return match.group(1).decode()

    def sign_in(self, username: str, password: str) -> None:
        """Sign in through the login form."""
        status, _, html = self.request("/login")
        check(status == 200, f"/login answered {status}")
        status, headers, _ = self.request(
            "/login", {"csrf_token": self.csrf(html), "username": username, "password": password}
        )
        check(status in (302, 303), f"signing in as {username} answered {status}")


def fetch(stack: Stack, path: str, headers: dict | None = None):
    """One anonymous request through nginx."""
    return Browser(stack).request(path, headers=headers)


# ----------------------------------------------------------------------------------------- smoke


def wait_for_videos(stack: Stack, timeout: float = 240) -> None:
    """The starter courses' lecture conversions, done by the long-queue worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = psql("SELECT state FROM videos", stack.database).split()
        if states and all(s == "ready" for s in states):
            say(f"{len(states)} lecture(s) converted by the long-queue worker")
            return
        check(
            "failed" not in states,
            f"a conversion failed: {states}\n{stack.log('elearn-worker@long')[-3000:]}",
        )
        time.sleep(1)
    raise Failed(f"lectures not converted within {timeout:.0f} s: {states}")


def give_load_video_files(stack: Stack, info: dict) -> None:
    """The load course's lecture has rows only: give it a converted starter lecture's files.

    (The backup refuses, rightly, a database that names lecture files the disk lacks.)
    """
    source = psql(
        f"SELECT activity_id, ready_version FROM videos WHERE state = 'ready' "
        f"AND activity_id <> {info['video']} ORDER BY activity_id LIMIT 1",
        stack.database,
    )
    activity, version = source.split("|")
    media = stack.srv / "media"
    shutil.copytree(
        media / "lectures" / activity / f"v{version}",
        media / "lectures" / str(info["video"]) / "v1",
    )
    (media / "originals" / str(info["video"])).mkdir(parents=True, exist_ok=True)
    shutil.copy2(
        media / "originals" / activity / f"v{version}.orig",
        media / "originals" / str(info["video"]) / "v1.orig",
    )


def smoke(stack: Stack, learner: str, other_learner: str, password: str) -> None:
    """What a person and an operator meet first, through nginx."""
    plain = urllib.request.build_opener(_NoRedirect)
    try:
        plain.open(f"http://127.0.0.1:{stack.http_port}/login", timeout=10)
        raise Failed("plain HTTP was answered instead of redirected")
    except urllib.error.HTTPError as err:
        check(
            err.code == 301 and err.headers["Location"].startswith("https://"),
            f"plain HTTP: {err.code} {err.headers.get('Location')}",
        )

    status, headers, body = fetch(stack, "/healthz")
    report = json.loads(body)
    check(status == 200, f"/healthz {status}: {report}")
    say(f"/healthz 200: {json.dumps(report, ensure_ascii=False)[:300]}")
    status, _, _ = fetch(stack, "/readyz")
    check(status == 200, f"/readyz {status}")

    status, headers, body = fetch(stack, "/")
    check(status == 200, f"home page {status}")
    request_id = headers.get("X-Request-ID", "")
    check(len(request_id) == 32, f"nginx's request ID did not reach the app: {request_id!r}")
    check("script-src 'self'" in headers.get("Content-Security-Policy", ""), "no CSP header")
    check(headers.get("Strict-Transport-Security"), "no HSTS header over https")
    check(headers.get("Cache-Control") == "no-store", "pages must not be cached")
    css = re.search(rb'href="(/static/css/app\.css\?v=[0-9a-f]+)"', body)
    check(css is not None, "the stylesheet link carries no content version")
    status, headers, raw = fetch(stack, css.group(1).decode(), {"Accept-Encoding": "gzip"})
    check(status == 200, f"static file {status}")
    check(
        "immutable" in headers.get("Cache-Control", "") and "31536000" in headers["Cache-Control"],
        f"versioned static file cached: {headers.get('Cache-Control')}",
    )
    check(headers.get("Content-Encoding") == "gzip", "static CSS not gzipped by nginx")
    status, headers, _ = fetch(stack, "/static/css/app.css")
    check("max-age=3600" in headers.get("Cache-Control", ""), "unversioned static file cached long")
    say("redirect to https, health, request ID, security headers, static cache and gzip: ok")

    time.sleep(0.5)  # the app's JSON access log line for the home page
    lines = [
        json.loads(line) for line in stack.log("elearn-web").splitlines() if line.startswith("{")
    ]
    check(
        any(line.get("request_id") == request_id for line in lines),
        "the app's JSON log has no line with nginx's request ID",
    )
    say("structured log: the request ID is in the app's JSON log lines")

    status, headers, body = Browser(stack).request(
        "/login", b"x" * (20 * 1024 * 1024), {"Content-Type": "text/plain"}
    )
    check(status == 413 and "Tệp gửi lên quá lớn" in body.decode(), f"oversized body: {status}")
    say("a 20 MB request body: 413 with the Vietnamese page")

    wait_for_videos(stack)
    person = Browser(stack)
    person.sign_in(learner, password)
    status, _, html = person.request("/courses")
    check(status == 200, f"catalogue {status}")
    found = psql(
        "SELECT a.id, c.slug FROM videos v JOIN activities a ON a.id = v.activity_id "
        "JOIN modules m ON m.id = a.module_id JOIN courses c ON c.id = m.course_id "
        "WHERE v.state = 'ready' LIMIT 1",
        stack.database,
    )
    activity_id, slug = found.split("|")
    status, _, html = person.request(f"/courses/{slug}")
    check(status == 200, f"course page {status}")
    status, _, _ = person.request(f"/courses/{slug}/enrol", {"csrf_token": person.csrf(html)})
    check(status in (302, 303), f"enrolling answered {status}")
    status, _, html = person.request(f"/courses/{slug}/lessons/{activity_id}")
    check(status == 200, f"lecture page {status}")
    media = re.search(rb'(/media/%s/v\d+/[^"\s]+)' % activity_id.encode(), html)
    check(media is not None, "the lecture page links no media file")
    status, headers, body = person.request(media.group(1).decode(), headers={"Range": "bytes=0-99"})
    check(status in (200, 206) and body, f"lecture media {status}")
    check("X-Accel-Redirect" not in headers, "the X-Accel-Redirect header leaked to the browser")
    # nginx's own ETag is "<hex mtime>-<hex size>"; Flask's send_file would make another.
    check(
        re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', headers.get("ETag", "")) is not None,
        f"the media file was not sent by nginx (ETag {headers.get('ETag')!r})",
    )
    say(f"a learner enrolled and fetched {media.group(1).decode()}: {status}, sent by nginx")
    check(
        headers.get("Cache-Control") == "private, max-age=86400, immutable",
        f"lecture media Cache-Control: {headers.get('Cache-Control')!r}",
    )
    other = Browser(stack)
    other.sign_in(other_learner, password)  # signed in, not enrolled in this course
    status, _, _ = other.request(media.group(1).decode())
    check(status == 403, f"media for a learner not enrolled answered {status}")
    status, _, _ = fetch(stack, "/protected-media/lectures/")
    check(status == 404, f"/protected-media/ typed directly answered {status}")
    status, _, _ = Browser(stack).request(media.group(1).decode())
    check(status in (302, 401, 403, 404), f"media for a visitor answered {status}")
    say(
        "media cached privately; a learner not enrolled 403; visitors refused; "
        "the internal location closed to browsers"
    )


# ------------------------------------------------------------------------------------------ main


def main() -> int:
    """Run every step; print the failure and the logs' tails when one fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end")
    parser.add_argument("--skip-faults", action="store_true", help="only the smoke test")
    parser.add_argument("--learners", type=int, default=60)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="elearn-prod-"))
    stack = Stack(base, DB_NAME, 7)
    started = time.monotonic()
    try:
        render_files(stack)
        info = set_up(stack, args.learners)
        start_stack(stack)
        smoke(stack, info["usernames"][0], info["usernames"][1], info["password"])
        give_load_video_files(stack, info)
        if not args.skip_faults:
            import faults  # .ci/faults.py

            faults.run(stack, info)
        say(f"prod-check passed in {time.monotonic() - started:.0f} s (files in {base})")
        if args.keep:
            say(f"left running: {stack.https}  (admin quantri / {PASSWORD}); Ctrl-C stops it")
            signal.pause()
        return 0
    except (Failed, subprocess.CalledProcessError) as err:
        say(f"FAILED: {err}")
        for name in list(stack.procs) + ["elearn.error", "nginx-main.error"]:
            tail = stack.log(name)[-2500:]
            if tail.strip():
                print(f"----- {name} (last lines) -----\n{tail}", flush=True)
        return 1
    finally:
        stack.stop_all()
        kept = ROOT / "test-artifacts" / "prod-check-logs"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(stack.logs, kept, dirs_exist_ok=True)
        say(f"the run's logs are kept in {kept}")
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
