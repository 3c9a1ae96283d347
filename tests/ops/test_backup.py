"""``ops backup``, ``ops restore`` and ``ops compare``: a snapshot that restores identically.

Each test restores into a fresh instance: another folder and another database (SQLite:
another file; PostgreSQL: the database ``<test database>_restore``, emptied first).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.core.models import AuditLog
from elearn.core.services import record_audit
from elearn.courses import services as courses
from elearn.courses.models import Enrolment
from elearn.extensions import db
from elearn.jobs.models import WorkerHeartbeat
from elearn.media import services as media
from elearn.media.models import Video
from elearn.ops import backup
from elearn.progress import services as progress
from elearn.progress.models import ActivityProgress
from tests.conftest import PG_URL


@pytest.fixture(scope="session")
def _restore_database():
    """PostgreSQL: make sure the second database exists; return its URL."""
    if not PG_URL:
        yield None
        return
    url = make_url(PG_URL)
    name = f"{url.database}_restore"
    admin = sa.create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def fresh_url(tmp_path, _restore_database):
    """Return the URL of an empty database for the fresh instance."""
    if not PG_URL:
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = sa.create_engine(_restore_database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return _restore_database


@pytest.fixture
def fresh(app, make_app, fresh_url, tmp_path):
    """A second instance: its own folder and an empty database, nothing created in it."""
    return make_app(
        SQLALCHEMY_DATABASE_URI=fresh_url,
        INSTANCE_DIR=tmp_path / "fresh",
        MEDIA_DIR=tmp_path / "fresh" / "media",
    )


@pytest.fixture
def stamped(app):
    """Record the code's head revision in the source database, as ``flask db upgrade`` does."""
    head, _older = backup._code_heads()
    db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
    db.session.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": head})
    db.session.commit()
    yield head
    db.session.rollback()
    db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    db.session.commit()


@pytest.fixture
def source(app, world, make_course, stamped):
    """A small instance: people, a course with pages and a ready video, progress."""
    course = make_course(pages=2)
    module, pages = courses.outline(course)[0]
    lecture = media.add_video(module, "Bài giảng video")
    video = db.session.get(Video, lecture.id)
    root = Path(app.config["MEDIA_DIR"])
    files = {
        f"originals/{lecture.id}/v1.orig": os.urandom(30_000),
        f"lectures/{lecture.id}/v1/hls/master.m3u8": b"#EXTM3U\n360p/index.m3u8\n",
        f"lectures/{lecture.id}/v1/hls/360p/index.m3u8": b"#EXTM3U\nseg_000.ts\n",
        f"lectures/{lecture.id}/v1/hls/360p/seg_000.ts": os.urandom(50_000),
        f"lectures/{lecture.id}/v1/fallback.mp4": os.urandom(40_000),
        f"lectures/{lecture.id}/v1/poster.jpg": os.urandom(2_000),
    }
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    video.version, video.ready_version, video.state = 1, 1, "ready"
    video.kind, video.duration, video.original_name = "video", 12.0, "bài giảng.mp4"
    # Temporary files a backup leaves out: an upload in progress, a transcode under way.
    (root / "uploads").mkdir()
    (root / "uploads" / "abc.part").write_bytes(b"half an upload")
    partial = root / f"lectures/{lecture.id}/v2.partial-999999/hls"
    partial.mkdir(parents=True)
    (partial / "master.m3u8").write_bytes(b"#EXTM3U\n")
    (Path(app.config["INSTANCE_DIR"]) / "exports").mkdir(parents=True, exist_ok=True)
    (Path(app.config["INSTANCE_DIR"]) / "exports" / "old.xlsx").write_bytes(b"temporary")
    # A file some later version keeps in the instance folder: backed up by default.
    (Path(app.config["INSTANCE_DIR"]) / "keys").mkdir()
    (Path(app.config["INSTANCE_DIR"]) / "keys" / "signing.pem").write_bytes(b"not re-creatable")
    run = courses.enrol(world.learner, course)
    progress.record(run, pages[0], "done")
    db.session.commit()
    return {"course": course, "lecture": lecture, "files": files}


def _cli(app, *args):
    """Run ``flask ops ...`` in ``app`` (its own app context, not the test's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["ops", *args])


def _only_backup(parent: Path) -> Path:
    folders = list(parent.iterdir())
    assert len(folders) == 1, folders
    assert re.fullmatch(r"elearn-\d{8}-\d{6}", folders[0].name)
    return folders[0]


def _media_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != "uploads" and ".partial-" not in str(p)
    }


def _untouched(instance) -> bool:
    """True when the fresh instance still has no table and no media file."""
    with instance.app_context():
        tables = sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
        media_root = Path(instance.config["MEDIA_DIR"])
        files = [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []
    return tables == [] and files == []


def _digests(instance) -> dict:
    with instance.app_context(), db.engine.connect() as connection:
        return backup.table_digests(connection)


def test_backup_restores_into_a_fresh_instance_identically(app, source, fresh, tmp_path):
    """Does a restored instance hold the same rows and the same media bytes?"""
    result = _cli(app, "backup", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    folder = _only_backup(tmp_path / "backups")
    assert str(folder) in result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"] == db.engine.dialect.name
    assert manifest["alembic_revision"] == backup._code_heads()[0]
    assert manifest["tables"]["users"]["rows"] == 6
    assert manifest["tables"]["activity_progress"]["rows"] == 1
    paths = {f["path"] for f in manifest["files"]}
    assert {f"media/{p}" for p in source["files"]} <= paths
    assert not [p for p in paths if "uploads/" in p or ".partial-" in p or "exports/" in p]
    assert not [p for p in paths if "jobs.db" in p]
    assert "instance/keys/signing.pem" in paths

    restored = _cli(fresh, "restore", str(folder))
    assert restored.exit_code == 0, restored.output

    assert _digests(fresh) == _digests(app)
    app_media = _media_bytes(Path(app.config["MEDIA_DIR"]))
    assert _media_bytes(Path(fresh.config["MEDIA_DIR"])) == app_media
    assert set(source["files"]) <= set(app_media)
    kept = Path(fresh.config["INSTANCE_DIR"]) / "keys" / "signing.pem"
    assert kept.read_bytes() == b"not re-creatable"
    with fresh.app_context():
        run = db.session.scalar(select(Enrolment))
        assert db.session.get(User, run.user_id).username == "learner"
        assert db.session.scalar(select(func.count()).select_from(ActivityProgress)) == 1
        video = db.session.get(Video, source["lecture"].id)
        assert media.served_file(video, 1, "hls/master.m3u8") is not None
        db.session.remove()
    compared = _cli(fresh, "compare", str(folder))
    assert compared.exit_code == 0, compared.output


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _damage_media(folder: Path, source) -> None:
    _flip_byte(folder / "media" / next(p for p in source["files"] if p.endswith(".ts")))


def _damage_database(folder: Path, _source) -> None:
    _flip_byte(next(folder.glob("database.*")))


def _drop_manifest(folder: Path, _source) -> None:
    (folder / "manifest.json").unlink()


def _drop_media_file(folder: Path, source) -> None:
    (folder / "media" / next(p for p in source["files"] if p.endswith("poster.jpg"))).unlink()


def _garble_manifest(folder: Path, _source) -> None:
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize(
    "damage",
    [_damage_media, _damage_database, _drop_manifest, _drop_media_file, _garble_manifest],
)
def test_a_damaged_backup_is_refused_and_the_target_untouched(app, source, fresh, tmp_path, damage):
    """Is a corrupt or incomplete backup refused before anything is restored?"""
    assert _cli(app, "backup", str(tmp_path / "backups")).exit_code == 0
    folder = _only_backup(tmp_path / "backups")
    damage(folder, source)

    result = _cli(fresh, "restore", str(folder))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert _untouched(fresh)
    with fresh.app_context(), pytest.raises(backup.BackupError):
        backup.verify_backup(folder)


def test_restore_into_a_database_with_data_needs_force(app, source, fresh, tmp_path):
    """Is a non-empty target refused, and replaced only with --force (saying what goes)?"""
    assert _cli(app, "backup", str(tmp_path / "backups")).exit_code == 0
    folder = _only_backup(tmp_path / "backups")
    with fresh.app_context():
        db.create_all()
        unit = accounts.create_unit("KHAC", "Đơn vị khác", "ministry", None, None)
        accounts.create_user("Người Ở Đây", "nguoi.o.day", unit, password="x" * 12)
        db.session.commit()
        before = backup.target_state()
        db.session.remove()
    assert before.rows >= 3

    refused = _cli(fresh, "restore", str(folder))

    assert refused.exit_code == 1
    assert "--force" in refused.output
    with fresh.app_context():
        assert backup.target_state() == before
        assert db.session.scalar(select(User.username)) == "nguoi.o.day"
        db.session.remove()

    forced = _cli(fresh, "restore", "--force", str(folder))

    assert forced.exit_code == 0, forced.output
    assert str(before.rows) in forced.output  # says how many rows it replaced
    assert _digests(fresh) == _digests(app)
    assert _cli(fresh, "compare", str(folder)).exit_code == 0


def test_compare_names_what_differs(app, source, fresh, tmp_path):
    """Does compare find a changed row and a changed media file?"""
    assert _cli(app, "backup", str(tmp_path / "backups")).exit_code == 0
    folder = _only_backup(tmp_path / "backups")
    assert _cli(fresh, "restore", str(folder)).exit_code == 0
    with fresh.app_context():
        db.session.scalar(select(User).where(User.username == "learner")).full_name = "Tên Khác"
        db.session.commit()
        db.session.remove()
    poster = next(p for p in source["files"] if p.endswith("poster.jpg"))
    _flip_byte(Path(fresh.config["MEDIA_DIR"]) / poster)

    result = _cli(fresh, "compare", str(folder))

    assert result.exit_code == 1
    assert "users" in result.output
    assert poster in result.output
    assert "activity_progress" not in result.output


def test_backup_keeps_the_newest_and_clears_dead_partials(app, source, tmp_path):
    """Does --keep delete the oldest backups, and a killed run's half-made folder go?"""
    parent = tmp_path / "backups"
    dead = parent / ".elearn-20200101-000000-partial-999999999"
    dead.mkdir(parents=True)
    made = []
    for _ in range(3):
        result = _cli(app, "backup", str(parent), "--keep", "2")
        assert result.exit_code == 0, result.output
        made.append(next(p for p in parent.iterdir() if p.name not in made).name)

    assert sorted(p.name for p in parent.iterdir()) == sorted(made[1:])
    assert made[0] in result.output


def test_backups_inside_the_instance_folder_are_not_backed_up_again(app, source):
    """Does a backup into instance/backups leave earlier backups (and itself) out?"""
    parent = Path(app.config["INSTANCE_DIR"]) / "backups"
    for _ in range(2):
        assert _cli(app, "backup", str(parent)).exit_code == 0
    newest = backup.complete_backups(parent)[-1]
    paths = {f["path"] for f in json.loads((newest / "manifest.json").read_text())["files"]}
    assert "instance/keys/signing.pem" in paths
    assert not [p for p in paths if "backups" in p]


def test_backup_fails_when_a_file_the_database_needs_is_missing(app, source, tmp_path):
    """Is a backup that would lack a served lecture refused, leaving no folder behind?"""
    master = next(p for p in source["files"] if p.endswith("hls/master.m3u8"))
    (Path(app.config["MEDIA_DIR"]) / master).unlink()

    result = _cli(app, "backup", str(tmp_path / "backups"))

    assert result.exit_code == 1
    assert master in result.output
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_lecture_removed_while_being_copied_fails_the_backup(app, source, tmp_path, monkeypatch):
    """If a newer version replaces a served one mid-copy, is the backup refused?"""
    copy = backup._copy_hashed
    served = Path(app.config["MEDIA_DIR"]) / "lectures" / str(source["lecture"].id) / "v1"

    def copy_then_replace(path: Path, target: Path):
        result = copy(path, target)
        if path == served / "hls" / "master.m3u8":
            shutil.rmtree(served)  # what a newer version does to the one before last
        return result

    monkeypatch.setattr(backup, "_copy_hashed", copy_then_replace)
    with pytest.raises(backup.BackupError, match=f"lectures/{source['lecture'].id}/v1"):
        backup.create_backup(tmp_path / "backups")
    assert list((tmp_path / "backups").iterdir()) == []


def test_restore_checks_the_schema_revision(app, stamped):
    """Is a newer or unknown schema refused, and an older one restored with advice?"""
    head, older = backup._code_heads()
    assert backup.check_revision(head) is False
    assert backup.check_revision(sorted(older)[0]) is True
    for unknown in ("ffffffffffff", None):
        with pytest.raises(backup.BackupError):
            backup.check_revision(unknown)


def test_a_newer_backup_is_refused_before_anything_is_touched(app, source, fresh, tmp_path):
    """Is a backup made by a newer version (unknown revision) refused, target untouched?"""
    assert _cli(app, "backup", str(tmp_path / "backups")).exit_code == 0
    folder = _only_backup(tmp_path / "backups")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["alembic_revision"] = "0123456789ab"
    (folder / "manifest.json").write_text(json.dumps(manifest))

    result = _cli(fresh, "restore", str(folder))

    assert result.exit_code == 1
    assert "0123456789ab" in result.output
    assert _untouched(fresh)


def test_missing_postgres_tools_say_how_to_install_them(app, monkeypatch):
    """Without pg_dump, is the operator told which package to install?"""
    monkeypatch.setattr(backup.shutil, "which", lambda _name: None)
    with pytest.raises(backup.BackupError, match="postgresql-client"):
        backup.postgres_tool("pg_dump")


def test_a_backup_taken_during_writes_restores_consistently(app, world, source, fresh, tmp_path):
    """With another thread committing users and audit rows, is the restore consistent?"""
    stop, written = threading.Event(), []
    unit_id = world.team_a1.id
    errors = []

    def write():
        with app.app_context():
            try:
                unit = db.session.get(OrgUnit, unit_id)
                n = 0
                while not stop.is_set():
                    n += 1
                    person = accounts.create_user(
                        f"Người Viết {n}", f"writer{n}", unit, password="x" * 12
                    )
                    db.session.flush()
                    record_audit("test.write", actor_id=person.id, target_type="user")
                    db.session.commit()
                    written.append(n)
            except BaseException as exc:  # noqa: BLE001 - reported in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    def audit_rows() -> int:
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(AuditLog))

    thread = threading.Thread(target=write)
    thread.start()
    try:
        _wait_for(lambda: len(written) >= 5)
        before = audit_rows()
        made = _cli(app, "backup", str(tmp_path / "backups"))
        mark = len(written)
        _wait_for(lambda: len(written) >= mark + 5)
        after = audit_rows()
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors
    assert made.exit_code == 0, made.output
    folder = _only_backup(tmp_path / "backups")

    assert _cli(fresh, "restore", str(folder)).exit_code == 0
    with fresh.app_context():
        restored = db.session.scalar(select(func.count()).select_from(AuditLog))
        writers = db.session.scalar(select(func.count()).where(User.username.like("writer%")))
        audits = db.session.scalar(select(func.count()).where(AuditLog.action == "test.write"))
        with db.engine.connect() as connection:
            assert backup.dangling_references(connection) == []
        db.session.remove()
    assert before <= restored <= after
    assert writers == audits  # each writer's user and audit row came in one transaction
    assert _cli(fresh, "compare", str(folder)).exit_code == 0


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_restore_refuses_while_a_worker_of_the_target_runs(app, source, fresh, tmp_path):
    """Replacing the database under a running worker would lose or corrupt its writes."""
    assert _cli(app, "backup", str(tmp_path / "backups")).exit_code == 0
    folder = _only_backup(tmp_path / "backups")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # personal data: the owner only
    with fresh.app_context():
        db.create_all()
        db.session.add(WorkerHeartbeat(name="web-1:99", queues="short,long"))
        db.session.commit()
        db.session.remove()

    refused = _cli(fresh, "restore", str(folder), "--force")

    assert refused.exit_code == 1, refused.output
    assert "elearn-worker" in refused.output
    with fresh.app_context():
        assert db.session.scalar(select(WorkerHeartbeat.name)) == "web-1:99"
        assert db.session.scalar(select(User.id)) is None  # nothing restored
