"""Backups of an instance, their checks, their restore and the comparison after it.

What the app keeps, and what a backup holds:

- **the database**, every table, as one consistent snapshot. SQLite: the online backup
  API copies the file in a single step, inside one read transaction (WAL: writers go
  on meanwhile). PostgreSQL: we open a REPEATABLE READ transaction, export its
  snapshot and run ``pg_dump --format=custom --snapshot=…`` in it, so the row counts,
  digests and file references we record see exactly the rows that were dumped;
- **the media** (``MEDIA_DIR``): kept originals (``originals/``), served lectures
  (``lectures/``) and anything else there, but not ``uploads/`` (chunks of uploads in
  progress, worthless without the browser that sends the rest) nor the
  ``*.partial-<pid>`` folders of transcodes in progress;
- **other files of the instance folder** (``INSTANCE_DIR``), except those that are
  temporary or re-created (``INSTANCE_SKIP``): export files made by jobs, staff files
  waiting to be applied, the Huey queue file ``jobs.db`` (the Job rows are the truth:
  the worker's reaper re-queues unfinished jobs), the database file itself and the
  media folder when they live there. Today nothing else is kept there; whatever a
  later version puts there is backed up by default.

Not in a backup: the configuration (``ELEARN_SECRET_KEY``, database password, SMTP),
which lives in the service's environment file and is backed up with the machine's
configuration; Redis (rate-limit counters, the job queue: all re-created).

Consistency: media files are written once and never changed in place (a new upload is
a new ``v<n>`` file or folder, renamed into place when complete), so copying the media
*after* the database snapshot finds every file the snapshot refers to; files newer
than the snapshot are harmless extras. A file the snapshot refers to can still vanish
before it is copied when a newer version of the same lecture becomes ready meanwhile:
the check after copying finds it and the backup fails (run it again).

A backup folder ``DIR/elearn-YYYYmmdd-HHMMSS/`` (UTC) holds::

    manifest.json          format, versions, database kind, row counts and digests,
                           and every file with its size and SHA-256
    database.sqlite3       or database.pgdump (pg_dump custom format)
    media/…                the media folder's files
    instance/…             other kept files of the instance folder

It is written as ``DIR/.elearn-…-partial-<pid>`` and renamed when complete, so a folder
named ``elearn-*`` is never a half-made backup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from elearn.core.clock import utcnow
from elearn.core.processes import remove_dead_partials, size_text
from elearn.core.services import ServiceError
from elearn.extensions import db

log = logging.getLogger(__name__)

#: Version of the folder layout and manifest; a restore refuses formats it does not know.
FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
#: Top-level entries of the media folder that are never backed up (see the module doc).
MEDIA_SKIP = frozenset({"uploads"})
#: Top-level entries of the instance folder that are never backed up (see the module doc).
INSTANCE_SKIP = frozenset(
    {"exports", "imports", "jobs.db", "jobs.db-wal", "jobs.db-shm", "jobs.db-journal"}
)
#: Bytes read at a time when copying and hashing (files are streamed, never held whole).
PIECE = 1024 * 1024
#: Seconds pg_dump or pg_restore may run before we give up.
TOOL_TIMEOUT = 6 * 3600


class BackupError(ServiceError):
    """A backup could not be made, or a backup folder cannot be restored."""


class TargetNotEmpty(BackupError):
    """The database to restore into holds data (``--force`` replaces it)."""


@dataclass(frozen=True)
class BackupResult:
    """What ``create_backup`` wrote."""

    folder: Path
    database_bytes: int
    media_files: int
    media_bytes: int
    instance_files: int
    seconds: float


@dataclass(frozen=True)
class TargetState:
    """What the configured instance holds now (what a forced restore replaces)."""

    tables: int
    rows: int
    media_files: int

    @property
    def empty(self) -> bool:
        """True when no table has a row and the media folder has no file."""
        return self.rows == 0 and self.media_files == 0


@dataclass(frozen=True)
class RestoreResult:
    """What ``restore_backup`` did."""

    database: str
    tables: int
    rows: int
    files: int
    bytes: int
    revision: str
    #: True when the backup's schema is older than the code: ``flask db upgrade`` next.
    needs_upgrade: bool
    replaced: TargetState
    seconds: float


# --- reading the database ------------------------------------------------------------------


def table_digests(connection: Connection) -> dict[str, dict]:
    """Return ``{table: {"rows": n, "sha256": hex}}`` for every model table in the database.

    Rows are read in primary-key order and hashed by their Python values, so two
    databases of the same dialect holding the same rows give the same digest. Columns
    the database lacks (an older schema) are left out rather than failing.
    """
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    digests = {}
    for table in db.metadata.sorted_tables:
        if table.name not in present:
            continue
        names = {c["name"] for c in inspector.get_columns(table.name)}
        columns = [c for c in table.columns if c.name in names]
        order = [c for c in table.primary_key.columns if c.name in names] or columns
        query = sa.select(*columns).order_by(*order)
        digest, rows = hashlib.sha256(), 0
        result = connection.execution_options(yield_per=2000).execute(query)
        for row in result:
            digest.update(repr(tuple(row)).encode())
            digest.update(b"\n")
            rows += 1
        digests[table.name] = {"rows": rows, "sha256": digest.hexdigest()}
    return digests


def alembic_revision(connection: Connection) -> str | None:
    """Return the schema revision recorded by ``flask db upgrade``, or None."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def referenced_files(connection: Connection) -> set[str]:
    """Return the media paths (relative, POSIX) the database needs to serve its lectures.

    The kept original of each lecture's newest version, and the HLS master playlist of
    its served and previous versions (the transcode renames a version's folder into
    place only once that playlist is written, so it stands for the whole folder).
    """
    from elearn.media.models import Video

    videos = Video.__table__
    if not sa.inspect(connection).has_table(videos.name):
        return set()
    needed = set()
    query = sa.select(
        videos.c.activity_id, videos.c.version, videos.c.ready_version, videos.c.previous_version
    )
    for activity_id, version, ready, previous in connection.execute(query):
        if version:
            needed.add(f"originals/{activity_id}/v{version}.orig")
        for served in {ready, previous} - {None}:
            needed.add(f"lectures/{activity_id}/v{served}/hls/master.m3u8")
    return needed


def _needed_unit(relative: str) -> str:
    """Return what a media path belongs to: its version folder (``lectures/<id>/v<n>``) or itself.

    A version folder appears and disappears as a whole, so it is copied and checked as one.
    """
    parts = relative.split("/")
    return "/".join(parts[:3]) if parts[0] == "lectures" and len(parts) > 3 else relative


def dangling_references(connection: Connection) -> list[str]:
    """Return ``table.column -> table`` for each foreign key with rows pointing at nothing."""
    inspector = sa.inspect(connection)
    present = set(inspector.get_table_names())
    problems = []
    for table in db.metadata.sorted_tables:
        if table.name not in present:
            continue
        for fk in table.foreign_key_constraints:
            parent = fk.referred_table
            if parent.name not in present:
                continue
            child_alias, parent_alias = table.alias("c"), parent.alias("p")
            match = sa.and_(
                *[
                    child_alias.c[e.parent.name] == parent_alias.c[e.column.name]
                    for e in fk.elements
                ]
            )
            query = (
                sa.select(sa.func.count())
                .select_from(child_alias)
                .where(
                    *[child_alias.c[e.parent.name].is_not(None) for e in fk.elements],
                    ~sa.exists(sa.select(1).select_from(parent_alias).where(match)),
                )
            )
            missing = connection.execute(query).scalar()
            if missing:
                columns = ",".join(e.parent.name for e in fk.elements)
                problems.append(f"{table.name}.{columns} -> {parent.name}: {missing}")
    return problems


def target_state() -> TargetState:
    """Count the rows and media files the configured instance holds now."""
    with db.engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        counts = [
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            for table in db.metadata.sorted_tables
            if table.name in present
        ]
    media = _media_files(Path(current_app.config["MEDIA_DIR"]), skip_under=None)
    return TargetState(tables=sum(1 for n in counts if n), rows=sum(counts), media_files=len(media))


def _live_workers() -> int:
    """How many job workers wrote a heartbeat into the target database lately."""
    from elearn.jobs.models import WorkerHeartbeat
    from elearn.jobs.services import HEARTBEAT_STALE

    with db.engine.connect() as connection:
        if not sa.inspect(connection).has_table(WorkerHeartbeat.__tablename__):
            return 0
        since = utcnow() - HEARTBEAT_STALE
        return connection.execute(
            sa.select(sa.func.count()).where(WorkerHeartbeat.seen_at >= since)
        ).scalar()


# --- tools, paths, hashes ------------------------------------------------------------------


def postgres_tool(name: str) -> str:
    """Return the path of ``pg_dump`` or ``pg_restore``, else raise with how to install it."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _l(
                "%(tool)s was not found. Install the PostgreSQL client of the server's major "
                "version, on Debian 12: sudo apt-get install postgresql-client-15 "
                "(or postgresql-client).",
                tool=name,
            )
        )
    return path


def _libpq(url) -> tuple[str, dict]:
    """Return a libpq connection URI without the password, and an environment holding it."""
    url = make_url(url)
    env = dict(os.environ, PGAPPNAME="elearn-backup")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run_tool(args: list[str], env: dict, what) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed tool, arguments we built
            args, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(_l("%(what)s took too long and was stopped.", what=what)) from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise BackupError(_l("%(what)s failed: %(detail)s", what=what, detail=detail))


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(_l("Only a SQLite database in a file can be backed up or restored."))
    return Path(database)


def _copy_hashed(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target`` in pieces, keeping its times; return size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("wb") as writer:
        while piece := reader.read(PIECE):
            digest.update(piece)
            writer.write(piece)
            size += len(piece)
    shutil.copystat(source, target)
    return size, digest.hexdigest()


def _hash(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as reader:
        while piece := reader.read(PIECE):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder.resolve())


def _media_files(root: Path, skip_under: Path | None) -> list[str]:
    """Return the media files to back up, relative to ``root`` (POSIX paths, sorted)."""
    found = []
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        relative = here.relative_to(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if ".partial-" not in d
            and not (relative == Path(".") and d in MEDIA_SKIP)
            and not _inside(here / d, skip_under)
        )
        found.extend((relative / name).as_posix() for name in files)
    return sorted(found)


def _instance_files(
    instance: Path, media: Path, database: Path | None, skip_under: Path
) -> list[str]:
    """Return the other files of the instance folder to back up, relative to it.

    Left out: ``INSTANCE_SKIP`` at the top, the database file and its journals, and the
    media folder and the backups folder wherever they sit inside it.
    """
    found = []
    if not instance.is_dir():
        return found
    skip = set(INSTANCE_SKIP)
    if database is not None and database.parent.resolve() == instance.resolve():
        skip |= {database.name + suffix for suffix in ("", "-wal", "-shm", "-journal")}
    for folder, dirs, files in os.walk(instance):
        here = Path(folder)
        top = here.resolve() == instance.resolve()
        dirs[:] = sorted(
            d
            for d in dirs
            if not (top and d in skip)
            and not _inside(here / d, media)
            and not _inside(here / d, skip_under)
        )
        base = here.relative_to(instance)
        found.extend(
            (base / name).as_posix() for name in sorted(files) if not (top and name in skip)
        )
    return found


def format_size(size: int) -> str:
    """Return a byte count for messages (the same units as the rest of the site)."""
    return size_text(size)


def _app_version() -> str:
    try:
        return metadata.version("elearn")
    except metadata.PackageNotFoundError:  # pragma: no cover - always installed with -e
        return "unknown"


# --- backup --------------------------------------------------------------------------------


def _snapshot_sqlite(target: Path) -> tuple[dict, str | None, set[str]]:
    """Copy the SQLite database into ``target`` in one read transaction; describe the copy."""
    source_path = _sqlite_path()
    if not source_path.exists():
        raise BackupError(_l("The database file %(path)s does not exist.", path=str(source_path)))
    timeout = current_app.config["SQLITE_BUSY_TIMEOUT"]
    source = sqlite3.connect(source_path, timeout=timeout)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: the whole file in one step, one read snapshot
        # The copy is a plain file: no -wal/-shm beside it, in the backup or when restored.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return (
                table_digests(connection),
                alembic_revision(connection),
                referenced_files(connection),
            )
    finally:
        engine.dispose()


def _snapshot_postgres(target: Path) -> tuple[dict, str | None, set[str]]:
    """Dump PostgreSQL into ``target`` in a snapshot we share, and describe that snapshot."""
    pg_dump = postgres_tool("pg_dump")
    uri, env = _libpq(db.engine.url)
    with db.engine.connect() as connection:
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with connection.begin():
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            _run_tool(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--no-password",
                    f"--file={target}",
                    f"--dbname={uri}",
                ],
                env,
                "pg_dump",
            )
            return (
                table_digests(connection),
                alembic_revision(connection),
                referenced_files(connection),
            )


def _new_folder_name(parent: Path, now: datetime) -> str:
    stem = f"elearn-{now:%Y%m%d-%H%M%S}"
    name, n = stem, 1
    while (parent / name).exists():
        n += 1
        name = f"{stem}-{n}"
    return name


def _remove_dead_partials(parent: Path) -> None:
    """Delete half-made backups whose process died (a killed run leaves its folder)."""
    remove_dead_partials(parent, ".elearn-*-partial-*")


def complete_backups(parent: Path) -> list[Path]:
    """Return the finished backup folders in ``parent``, oldest first."""
    if not Path(parent).is_dir():
        return []
    found = [p for p in Path(parent).glob("elearn-*") if p.is_dir() and (p / MANIFEST).is_file()]
    # elearn-YYYYmmdd-HHMMSS, then -2, -3 … for more backups within the same second.
    stamp = len("elearn-YYYYmmdd-HHMMSS")

    def made(p: Path) -> tuple[str, int]:
        suffix = p.name[stamp + 1 :]
        return p.name[:stamp], int(suffix) if suffix.isdigit() else 1

    return sorted(found, key=made)


def prune_backups(parent: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` finished backups in ``parent``; return those deleted."""
    old = complete_backups(parent)[:-keep] if keep > 0 else []
    for folder in old:
        shutil.rmtree(folder)
        log.info("old backup %s deleted", folder)
    return old


def create_backup(parent: Path, now: datetime | None = None) -> BackupResult:
    """Write a consistent backup of the database and the files into a new folder of ``parent``.

    Raises:
        BackupError: the database could not be dumped, or a file the snapshot refers to
            is not in the backup (nothing is left behind then).
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    kind = db.engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(_l("Backups support SQLite and PostgreSQL only."))
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(parent)
    name = _new_folder_name(parent, now)
    work = parent / f".{name}-partial-{os.getpid()}"
    work.mkdir(mode=0o700)  # personal data and password hashes: for the owner only
    try:
        result = _write_backup(work, kind, now, started)
        final = parent / name
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("backup written to %s in %.1f s", final, result.seconds)
    return replace(result, folder=final)


def _write_backup(work: Path, kind: str, now: datetime, started: float) -> BackupResult:
    database_name = DATABASE_FILES[kind]
    snapshot = _snapshot_sqlite if kind == "sqlite" else _snapshot_postgres
    tables, revision, needed = snapshot(work / database_name)
    size, sha = _hash(work / database_name)
    files = [{"path": database_name, "size": size, "sha256": sha}]

    # The media go after the snapshot; the originals and version folders it refers to
    # first, so the window in which a newer version could remove one is short.
    media = Path(current_app.config["MEDIA_DIR"])
    instance = Path(current_app.config["INSTANCE_DIR"])
    wanted = {_needed_unit(p) for p in needed}
    listed = _media_files(media, skip_under=work.parent)
    ordered = sorted(listed, key=lambda relative: _needed_unit(relative) not in wanted)
    media_bytes, vanished = 0, set()
    for relative in ordered:
        try:
            size, sha = _copy_hashed(media / relative, work / "media" / relative)
        except FileNotFoundError:
            vanished.add(_needed_unit(relative))  # removed since listed (an old version)
            continue
        files.append({"path": f"media/{relative}", "size": size, "sha256": sha})
        media_bytes += size
    copied = {f["path"][len("media/") :] for f in files if f["path"].startswith("media/")}
    # A needed version folder that lost a file while being copied is as bad as a missing one.
    missing = sorted(p for p in needed if p not in copied or _needed_unit(p) in vanished)
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise BackupError(
            _l(
                "%(count)d file(s) the database refers to are not in the backup: %(files)s. "
                "If a lecture was uploaded again during the backup, run it again; if they "
                "are missing from the media folder too, upload those lectures again.",
                count=len(missing),
                files=shown,
            )
        )
    database = _sqlite_path() if kind == "sqlite" else None
    extras = _instance_files(instance, media, database, skip_under=work.parent)
    for relative in extras:
        try:
            size, sha = _copy_hashed(instance / relative, work / "instance" / relative)
        except FileNotFoundError:
            continue
        files.append({"path": f"instance/{relative}", "size": size, "sha256": sha})

    manifest = {
        "format": FORMAT,
        "app_version": _app_version(),
        "alembic_revision": revision,
        "database": kind,
        "created_at": now.isoformat(timespec="seconds"),
        "tables": tables,
        "referenced": sorted(needed),
        "files": files,
    }
    with (work / MANIFEST).open("w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=1)
        out.flush()
        os.fsync(out.fileno())
    return BackupResult(
        work,
        database_bytes=files[0]["size"],
        media_files=len(copied),
        media_bytes=media_bytes,
        instance_files=sum(1 for f in files if f["path"].startswith("instance/")),
        seconds=time.monotonic() - started,
    )


# --- checking a backup ---------------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    """Return a backup folder's manifest, else raise BackupError saying what is wrong."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(
            _l(
                "%(folder)s is not a complete backup: it has no manifest.json.",
                folder=str(folder),
            )
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(_l("The backup's manifest.json cannot be read.")) from exc
    keys = ("format", "database", "files", "tables", "alembic_revision")
    if not isinstance(manifest, dict) or any(k not in manifest for k in keys):
        raise BackupError(_l("The backup's manifest.json cannot be read."))
    if manifest["format"] != FORMAT:
        raise BackupError(
            _l(
                "This backup has format %(format)s; this version of elearn reads format %(known)s.",
                format=manifest["format"],
                known=FORMAT,
            )
        )
    return manifest


def verify_backup(folder: Path) -> dict:
    """Check the manifest and every file's size and checksum; return the manifest.

    Raises:
        BackupError: naming the first files that are missing or differ.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    database_name = DATABASE_FILES.get(manifest["database"])
    if database_name not in {f.get("path") for f in manifest["files"]}:
        raise BackupError(_l("The backup's manifest.json cannot be read."))
    bad = []
    for entry in manifest["files"]:
        relative = entry["path"]
        path = folder / relative
        outside = Path(relative).is_absolute() or ".." in Path(relative).parts
        if (
            outside
            or not path.is_file()
            or path.stat().st_size != entry["size"]
            or _hash(path)[1] != entry["sha256"]
        ):
            bad.append(relative)
    if bad:
        shown = ", ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
        raise BackupError(
            _l(
                "The backup is damaged or incomplete: %(count)d file(s) are missing or "
                "differ from the manifest (%(files)s). Nothing was restored.",
                count=len(bad),
                files=shown,
            )
        )
    return manifest


def _code_heads() -> tuple[str, set[str]]:
    """Return the code's head revision and every revision before it."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    directory = current_app.extensions["migrate"].directory
    config = AlembicConfig()
    config.set_main_option("script_location", str(directory))
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    older = {r.revision for r in script.iterate_revisions(head, "base")} - {head}
    return head, older


def check_revision(revision: str | None) -> bool:
    """Return True when a backup of ``revision`` needs ``flask db upgrade`` after restoring.

    Raises:
        BackupError: the revision is unknown to this code (a newer version made it) or
            missing.
    """
    if not revision:
        raise BackupError(
            _l(
                "The backup does not say which schema revision its database has (it was "
                "not created with flask db upgrade); it cannot be restored safely."
            )
        )
    head, older = _code_heads()
    if revision == head:
        return False
    if revision in older:
        return True
    raise BackupError(
        _l(
            "The backup's schema revision %(revision)s is not one this version of elearn "
            "knows (its newest is %(head)s): install the version that made the backup, or "
            "a newer one.",
            revision=revision,
            head=head,
        )
    )


# --- restore -------------------------------------------------------------------------------


def restore_backup(
    folder: Path, force: bool = False, before: Callable[[TargetState], None] | None = None
) -> RestoreResult:
    """Restore a backup folder into the configured database and media folder.

    Every check comes before anything is touched: the manifest and each checksum, the
    database kind, the schema revision, and that the target is empty (unless ``force``).
    ``before`` is called with what the target holds once the checks passed, just before
    the first change (the command says there what it replaces). The application should
    be stopped while this runs.
    """
    started = time.monotonic()
    folder = Path(folder)
    manifest = verify_backup(folder)
    kind = db.engine.dialect.name
    if manifest["database"] != kind:
        raise BackupError(
            _l(
                "This backup is of a %(backup)s database; the configured database is "
                "%(target)s. Restore into the same kind of database.",
                backup=manifest["database"],
                target=kind,
            )
        )
    needs_upgrade = check_revision(manifest["alembic_revision"])
    running = _live_workers()
    if running:
        raise BackupError(
            _l(
                "%(n)d job worker(s) of this instance are running (a heartbeat in the last "
                "90 seconds). Stop the web and worker processes first (systemctl stop "
                "elearn-web 'elearn-worker@*'), then restore.",
                n=running,
            )
        )
    replaced = target_state()
    if not replaced.empty and not force:
        raise TargetNotEmpty(
            _l(
                "The target already holds data (%(rows)d rows in %(tables)d tables, "
                "%(files)d media files). Restore into an empty instance, or add --force "
                "to replace it.",
                rows=replaced.rows,
                tables=replaced.tables,
                files=replaced.media_files,
            )
        )
    if before is not None:
        before(replaced)
    db.session.remove()
    db.engine.dispose()
    source = folder / DATABASE_FILES[kind]
    if kind == "sqlite":
        _restore_sqlite(source)
    else:
        _restore_postgres(source)
    db.engine.dispose()
    files, size = _restore_files(folder, manifest["files"])
    tables = manifest["tables"]
    log.info("backup %s restored (%s files)", folder, files)
    return RestoreResult(
        database=kind,
        tables=len(tables),
        rows=sum(t["rows"] for t in tables.values()),
        files=files,
        bytes=size,
        revision=manifest["alembic_revision"],
        needs_upgrade=needs_upgrade,
        replaced=replaced,
        seconds=time.monotonic() - started,
    )


def _restore_sqlite(source: Path) -> None:
    target = _sqlite_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, temporary)
        with open(temporary, "rb+") as copied:
            os.fsync(copied.fileno())
        # A journal beside the old file would be replayed into the new one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _restore_postgres(source: Path) -> None:
    pg_restore = postgres_tool("pg_restore")
    uri, env = _libpq(db.engine.url)
    # One transaction: if anything fails, the target database is as it was.
    _run_tool(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--no-password",
            f"--dbname={uri}",
            str(source),
        ],
        env,
        "pg_restore",
    )


def _restore_files(folder: Path, entries: Iterable[dict]) -> tuple[int, int]:
    """Copy the backup's media and instance files into place; return count and bytes."""
    roots = {
        "media": Path(current_app.config["MEDIA_DIR"]),
        "instance": Path(current_app.config["INSTANCE_DIR"]),
    }
    count = size = 0
    for entry in entries:
        top, _sep, relative = entry["path"].partition("/")
        if top not in roots:
            continue
        target = roots[top] / relative
        temporary = target.with_name(f".{target.name}.restoring")
        _copy_hashed(folder / entry["path"], temporary)
        os.replace(temporary, target)  # a reader sees the old file or the whole new one
        count, size = count + 1, size + entry["size"]
    return count, size


# --- compare -------------------------------------------------------------------------------


def compare_with(folder: Path) -> list[str]:
    """List how the configured instance differs from a backup (empty: the same).

    Compares the schema revision, each table's row count and content digest, and each
    backed-up media and instance file's checksum, and lists foreign keys pointing at
    nothing. Files the instance has beyond the backup are not differences.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    differences = []
    with db.engine.connect() as connection:
        current = table_digests(connection)
        revision = alembic_revision(connection)
        dangling = dangling_references(connection)
    if revision != manifest["alembic_revision"]:
        differences.append(
            _(
                "schema revision: %(backup)s in the backup, %(here)s here",
                backup=manifest["alembic_revision"],
                here=revision,
            )
        )
    for table, expected in sorted(manifest["tables"].items()):
        here = current.get(table)
        if here is None:
            differences.append(_("table %(table)s: missing here", table=table))
        elif here["rows"] != expected["rows"]:
            differences.append(
                _(
                    "table %(table)s: %(backup)d rows in the backup, %(here)d here",
                    table=table,
                    backup=expected["rows"],
                    here=here["rows"],
                )
            )
        elif here["sha256"] != expected["sha256"]:
            differences.append(_("table %(table)s: same count, different rows", table=table))
    roots = {
        "media": Path(current_app.config["MEDIA_DIR"]),
        "instance": Path(current_app.config["INSTANCE_DIR"]),
    }
    for entry in manifest["files"]:
        top, _sep, relative = entry["path"].partition("/")
        if top not in roots:
            continue
        path = roots[top] / relative
        if not path.is_file():
            differences.append(_("file %(path)s: missing here", path=entry["path"]))
        elif _hash(path) != (entry["size"], entry["sha256"]):
            differences.append(_("file %(path)s: different content", path=entry["path"]))
    differences.extend(_("rows pointing at nothing: %(reference)s", reference=d) for d in dangling)
    return differences
