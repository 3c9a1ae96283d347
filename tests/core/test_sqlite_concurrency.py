"""Several processes writing one SQLite file: writers queue, nobody sees "database is locked"."""

import multiprocessing

import pytest
from sqlalchemy import select

from elearn.accounts.models import OrgUnit
from elearn.core.models import AuditLog
from elearn.extensions import db
from tests.conftest import PG_URL, _config_dict

ROUNDS = 150


def _writer(db_url: str, instance: str, unit_id: int, name: str, errors) -> None:
    from elearn import create_app
    from elearn.core.services import record_audit

    app = create_app(
        _config_dict(
            SQLALCHEMY_DATABASE_URI=db_url,
            INSTANCE_DIR=instance,
            SQLITE_BEGIN_OUTSIDE_REQUESTS="BEGIN IMMEDIATE",
            SQLITE_BUSY_TIMEOUT=30.0,
        )
    )
    with app.app_context():
        for i in range(ROUNDS):
            try:
                # Read, then write in the same transaction: the pattern that fails with
                # deferred transactions when another process writes in between.
                unit = db.session.get(OrgUnit, unit_id)
                unit.depth = unit.depth + 1
                record_audit("test.write", detail=f"{name} {i}")
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                db.session.rollback()
                errors.put(f"{name}: {exc}")
        db.engine.dispose()


@pytest.mark.skipif(bool(PG_URL), reason="SQLite behaviour")
def test_two_processes_write_concurrently_without_lock_errors(app, tmp_path):
    unit = OrgUnit(code="C", name="Đơn vị", path="/1/", depth=0)
    db.session.add(unit)
    db.session.commit()
    url, unit_id = app.config["SQLALCHEMY_DATABASE_URI"], unit.id
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [
        context.Process(target=_writer, args=(url, str(tmp_path / "i"), unit_id, f"w{n}", errors))
        for n in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert problems == []
    db.session.rollback()  # end this test's read snapshot, taken before the workers ran
    assert db.session.get(OrgUnit, unit_id).depth == 2 * ROUNDS  # no lost update
    assert (
        len(db.session.scalars(select(AuditLog).where(AuditLog.action == "test.write")).all())
        == 2 * ROUNDS
    )


@pytest.mark.skipif(bool(PG_URL), reason="SQLite behaviour")
def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


@pytest.mark.skipif(bool(PG_URL), reason="SQLite behaviour")
def test_a_get_view_that_writes_takes_the_lock_only_until_its_commit(make_app):
    """Reading to render after the commit must not keep other writers waiting."""
    from sqlalchemy import event, text

    from elearn.core.access import Access, access
    from elearn.core.database import writes

    app = make_app()
    begins: list[str] = []

    @app.route("/records-then-renders")
    @access(Access.PUBLIC)
    @writes
    def records_then_renders():
        db.session.execute(text("SELECT 1"))
        db.session.commit()  # what it recorded is saved
        db.session.execute(text("SELECT 1"))  # reading to render the page
        return "ok"

    @app.route("/reads")
    @access(Access.PUBLIC)
    def reads():
        db.session.execute(text("SELECT 1"))
        return "ok"

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            begins.append(statement)

    client = app.test_client()
    assert client.get("/records-then-renders").status_code == 200
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]
    begins.clear()
    assert client.get("/records-then-renders").status_code == 200  # a new request: immediate again
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]
    begins.clear()
    assert client.get("/reads").status_code == 200
    assert begins == ["BEGIN"]
