"""How the two databases are set up, and column types that must compare the same on both.

SQLite serves several processes at once (web workers, the job worker), so every
connection turns on WAL (readers never block the writer), a busy timeout, and
foreign keys; every transaction starts with ``BEGIN IMMEDIATE`` so that two
writers queue on the lock instead of one failing later with "database is
locked" when it tries to upgrade a read lock (the choice Rails 7.1 and
Django 5.1 make as well). Only pure reads start deferred, so that pages being
read never queue behind each other: a GET/HEAD request whose view is not
marked with ``@writes``. Such a transaction reads a WAL snapshot and never
takes the write lock. A GET view that records something (a page view, say)
must carry ``@writes``, and must do its writing before its first commit: after
it, the view's transactions start deferred (what it reads to render the page
must not keep other writers waiting).

PostgreSQL compares text by the database's locale unless told otherwise;
materialised paths and sort keys are compared byte-wise ("C" collation) so
that range predicates and orderings are the same on both databases.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, g, has_request_context, request
from sqlalchemy import String, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine


def binary_string(length: int) -> String:
    """Return a VARCHAR compared byte-wise on SQLite (default) and PostgreSQL ("C")."""
    return String(length).with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes(view: Callable) -> Callable:
    """Mark a GET view that writes, so its SQLite transaction takes the write lock at once."""
    view.writes = True
    return view


def _begin_statement(app: Flask) -> str:
    if has_request_context():
        view = app.view_functions.get(request.endpoint or "")
        if request.method in SAFE_METHODS and (
            not getattr(view, "writes", False) or g.get("_wrote_and_committed")
        ):
            return "BEGIN"
        return "BEGIN IMMEDIATE"
    return app.config["SQLITE_BEGIN_OUTSIDE_REQUESTS"]


def configure_engine(app: Flask, engine: Engine) -> None:
    """Attach the SQLite connection settings; PostgreSQL needs none."""
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT"] * 1000)
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial wiring
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(_begin_statement(app))

    @event.listens_for(engine, "commit")
    def _on_commit(_connection):
        # A GET view marked @writes records first and commits, then renders: what it reads
        # afterwards must not hold the write lock (other lesson views would queue behind
        # the rendering). Its later transactions start deferred, as pure reads do.
        if has_request_context() and request.method in SAFE_METHODS:
            g._wrote_and_committed = True
