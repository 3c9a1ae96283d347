"""Simulated learners for ``bench/load.py``: Locust users that do what a browser does.

Run by ``bench/load.py`` (which prepares the database, starts gunicorn and checks the
database afterwards), or by hand against a running server::

    .venv/bin/locust -f bench/load/locustfile.py --headless -u 50 -r 5 -t 60s
        --host http://127.0.0.1:8000 --info DIR/info.json --think 3-8 --journal DIR/journal
        Learner

``--info`` is the JSON that ``bench.load.prepare`` writes (course, lesson ids, accounts).
Two user classes:

``Learner``
    Signs in (login page, form POST with its CSRF token), then loops over weighted
    tasks, with a think time (``--think MIN-MAX`` seconds, uniform) between steps:
    the dashboard; the course page then a page lesson; the course page then the video
    lesson and 3 to 9 watch reports, one every ``HEARTBEAT`` seconds as the player sends
    them while playing; the course page, the quiz lesson, start, the two attempt pages
    with a JSON autosave per question (``X-CSRFToken``), submit and the review page.

``Reader``
    The Moodle comparison: no think time, one kind of page (``--reader-kind``: the
    course page, a page lesson, or the page of an attempt in progress) again and again,
    all starting together ``--warmup`` seconds into the run, once every one has signed in.

Every write the server acknowledges is appended to a journal (JSON lines, one file per
load process in ``--journal``), so ``bench.load.check_database`` can prove afterwards
that nothing acknowledged was lost:

``{"k": "viewed", "user", "activity"}``
    a lesson page answered 200 (opening a lesson records the view).
``{"k": "answer", "user", "attempt", "slot", "seq", "fields"}``
    an autosave answered 200 and said that slot was kept.
``{"k": "watch", "user", "activity", "from", "to", "percent"}``
    a watch report of the stretch ``from``-``to`` seconds answered 200.
``{"k": "submit", "user", "attempt"}``
    a submit answered with the redirect to the review page.
``{"k": "error", "status", "name", "body"}``
    not a write: an answer of 500 or more, with the start of the page the learner saw.

This module imports nothing of the app: Locust's gevent patches stay out of it.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

#: Seconds between two watch reports while a video plays (as static/js/player.js does).
HEARTBEAT = 10.0
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DATA_CSRF_RE = re.compile(r'data-csrf="([^"]+)"')
SEQ_RE = re.compile(r'data-seq="(\d+)"')
ATTEMPT_RE = re.compile(r"/attempts/(\d+)")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: What ``Reader`` fetches for each ``--reader-kind``, as named in the statistics.
READER_PAGES = {"course": "course page", "page": "page lesson", "attempt": "attempt page"}

_state: dict = {}
_accounts = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--info", default="", help="JSON written by bench.load.prepare")
    parser.add_argument("--think", default="3-8", help="seconds between steps: MIN-MAX")
    parser.add_argument("--journal", default="", help="folder for the journal of acked writes")
    parser.add_argument(
        "--reader-kind", default="course", help="Reader: course, page or attempt pages"
    )
    parser.add_argument(
        "--warmup", type=float, default=0.0, help="Reader: seconds to sign in before reading"
    )


@events.test_start.add_listener
def _load(environment, **_kwargs) -> None:
    options = environment.parsed_options
    _state["info"] = json.loads(Path(options.info).read_text())
    low, _, high = options.think.partition("-")
    _state["think"] = (float(low), float(high or low))
    _state["kind"] = options.reader_kind
    _state["go"] = time.monotonic() + options.warmup
    if options.journal:
        folder = Path(options.journal)
        folder.mkdir(parents=True, exist_ok=True)
        # Line-buffered: a line is on disk once the write it records was acknowledged.
        _state["journal"] = open(  # noqa: SIM115 - open for the whole run
            folder / f"journal-{os.getpid()}.jsonl", "a", buffering=1, encoding="utf-8"
        )


@events.test_stop.add_listener
def _close(**_kwargs) -> None:
    journal = _state.pop("journal", None)
    if journal:
        journal.close()


@events.request.add_listener
def _server_error(name, response=None, **_kwargs) -> None:
    """Keep what a learner was shown when the server failed (prod-check reads it)."""
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        body = (response.content or b"").decode("utf-8", "replace")  # nginx names no charset
        note(k="error", status=status, name=name, body=body[:2000])


def note(**line) -> None:
    """Append one acknowledged write to the journal (nothing when no journal is kept)."""
    journal = _state.get("journal")
    if journal:
        journal.write(json.dumps(line, ensure_ascii=False) + "\n")


class Browser(FastHttpUser):
    """What both users share: an account, sign-in, CSRF tokens, the course's URLs."""

    abstract = True
    network_timeout = 120.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        """Take the next account and sign in as a browser does."""
        info = _state["info"]
        self.info = info
        self.rng = random.Random()
        self.username = info["usernames"][next(_accounts) % len(info["usernames"])]
        self.course = f"/courses/{info['slug']}"
        token = self.token(self.get("login page", "/login"))
        if not token:
            raise StopUser()
        reply = self.post(
            "sign in", "/login", self.form(token, username=self.username, password=info["password"])
        )
        if reply.status_code != 302:
            raise StopUser()

    def get(self, name: str, path: str):
        """GET a page under ``name`` in the statistics."""
        return self.client.get(path, name=name, allow_redirects=False)

    def post(self, name: str, path: str, body: str, headers: dict | None = None):
        """POST a body (a form unless ``headers`` say otherwise), redirects not followed.

        Sent with a same-site ``Referer`` as browsers send it: over https Flask-WTF
        refuses a form without one (the load runs through nginx with TLS in prod-check).
        """
        headers = {**(headers or FORM), "Referer": self.host.rstrip("/") + path}
        return self.client.post(path, data=body, headers=headers, name=name, allow_redirects=False)

    @staticmethod
    def form(token: str, **fields) -> str:
        """A urlencoded form with its CSRF token."""
        return urlencode({"csrf_token": token, **fields})

    @staticmethod
    def token(reply) -> str | None:
        """The CSRF token of a page's hidden input (what the scripts read too)."""
        if reply.status_code != 200 or not reply.text:
            return None
        found = CSRF_RE.search(reply.text)
        return found.group(1) if found else None

    def lesson(self, name: str, activity_id: int):
        """Open a lesson page; opening it records the view, so the journal notes it."""
        reply = self.get(name, f"{self.course}/lessons/{activity_id}")
        if reply.status_code == 200:
            note(k="viewed", user=self.username, activity=activity_id)
        return reply


class Learner(Browser):
    """A learner's session: reading, watching, a quiz; think time between the steps."""

    def wait_time(self) -> float:
        """A reader's pause before the next task."""
        return self.rng.uniform(*_state["think"])

    def think(self) -> None:
        """Pause as a reader does between two steps."""
        gevent.sleep(self.rng.uniform(*_state["think"]))

    def on_start(self) -> None:
        """Sign in, then land on the dashboard."""
        super().on_start()
        self.watched: dict[int, float] = {}
        self.get("dashboard", "/")

    @task(2)
    def dashboard(self) -> None:
        """Back to the dashboard."""
        self.get("dashboard", "/")

    @task(6)
    def read_page(self) -> None:
        """The course page, then one of its page lessons."""
        self.get("course page", self.course)
        self.think()
        self.lesson("page lesson", self.rng.choice(self.info["pages"]))

    @task(3)
    def watch_video(self) -> None:
        """The video lesson, then watch reports every ``HEARTBEAT`` s from where it stopped."""
        self.get("course page", self.course)
        self.think()
        activity = self.info["video"]
        duration = self.info["video_duration"]
        reply = self.lesson("video lesson", activity)
        found = DATA_CSRF_RE.search(reply.text or "") if reply.status_code == 200 else None
        if not found:
            return
        token = found.group(1)
        start = self.watched.get(activity, 0.0)
        if start >= duration - 1:
            start = 0.0  # watched to the end: play it again from the start
        since = time.monotonic()
        for _ in range(self.rng.randint(3, 9)):
            gevent.sleep(HEARTBEAT)
            end = min(duration, start + time.monotonic() - since)
            # Like the player: a stretch not acknowledged is sent again with the next one.
            reply = self.post(
                "heartbeat",
                f"{self.course}/lessons/{activity}/watch",
                self.form(
                    token,
                    intervals=json.dumps([[round(start, 2), round(end, 2)]]),
                    position=f"{end:.2f}",
                ),
                {**FORM, "X-Requested-With": "fetch"},
            )
            if reply.status_code == 200:
                percent = json.loads(reply.text)["percent"]
                note(
                    k="watch",
                    user=self.username,
                    activity=activity,
                    percent=percent,
                    **{"from": round(start, 2), "to": round(end, 2)},
                )
                start, since = end, time.monotonic()
                self.watched[activity] = end
            if end >= duration:
                break

    @task(1)
    def take_quiz(self) -> None:
        """Start (or resume) the quiz, answer every question with autosaves, submit, review."""
        self.get("course page", self.course)
        self.think()
        activity = self.info["quiz"]
        token = self.token(self.lesson("quiz lesson", activity))
        if not token:
            return
        reply = self.post("quiz start", f"{self.course}/quizzes/{activity}/start", self.form(token))
        found = ATTEMPT_RE.search(reply.headers.get("Location", "") if reply.headers else "")
        if reply.status_code != 302 or not found:
            return
        attempt = int(found.group(1))
        base = f"{self.course}/attempts/{attempt}"
        options = self.info["options"]
        per_page = self.info["per_page"]
        seq = 0
        for first in range(0, len(options), per_page):
            reply = self.get("attempt page", f"{base}?page={first // per_page}")
            token = self.token(reply)
            if not token:
                return
            seq = max(seq, int(SEQ_RE.search(reply.text).group(1)))
            for slot in range(first, min(first + per_page, len(options))):
                self.think()
                seq += 1
                fields = self.rng.choice(options[slot])
                payload = {
                    "answers": {str(slot): {"seq": seq, "fields": fields}},
                    "page": slot // per_page,
                }
                reply = self.post(
                    "autosave",
                    f"{base}/save",
                    json.dumps(payload),
                    {
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                        "X-CSRFToken": token,
                    },
                )
                if reply.status_code == 200 and json.loads(reply.text)["saved"].get(str(slot)):
                    note(
                        k="answer",
                        user=self.username,
                        attempt=attempt,
                        slot=slot,
                        seq=seq,
                        fields=fields,
                    )
        self.think()
        reply = self.post("submit", f"{base}/submit", self.form(token))
        if reply.status_code != 302:
            return
        note(k="submit", user=self.username, attempt=attempt)
        self.get("review", urlsplit(reply.headers["Location"]).path)


class Reader(Browser):
    """The Moodle comparison: one kind of page, fetched again and again without pause."""

    wait_time = constant(0)

    def on_start(self) -> None:
        """Sign in; for attempt pages, start the attempt whose page is read."""
        super().on_start()
        kind = _state["kind"]
        self.name = READER_PAGES[kind]
        if kind == "course":
            self.path = self.course
        elif kind == "page":
            self.path = f"{self.course}/lessons/{self.info['pages'][0]}"
        else:
            quiz = self.info["quiz"]
            token = self.token(self.get("quiz lesson", f"{self.course}/lessons/{quiz}"))
            reply = self.post(
                "quiz start", f"{self.course}/quizzes/{quiz}/start", self.form(token or "")
            )
            if reply.status_code != 302:
                raise StopUser()
            self.path = urlsplit(reply.headers["Location"]).path + "?page=0"
        # Every reader starts together, once all have signed in: the rate is theirs alone.
        gevent.sleep(max(0.0, _state["go"] - time.monotonic()))

    @task
    def read(self) -> None:
        """Fetch the page (a lesson through ``lesson``, which notes the recorded view)."""
        if _state["kind"] == "page":
            self.lesson(self.name, self.info["pages"][0])
        else:
            self.get(self.name, self.path)
