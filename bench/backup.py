"""Benchmark ``ops backup``, ``ops restore`` and ``ops compare`` on a realistic instance (issue 8).

Builds the HR data set of ``bench/reports.py`` at ``--scale`` (0.2:
20,000 staff in about 400 units, 20 courses, about 400,000 runs with their progress),
adds ``--lectures`` ready video lectures to the first course with ``--media-mb`` of media
in all (an original and an HLS folder each, random bytes: nothing compresses), then times
a backup, its restore into a fresh instance (another folder and another database) and
the comparison of the two. The source folder and database are removed at the end;
``--keep`` leaves them. Usage:

    .venv/bin/python bench/backup.py                           # SQLite files under /tmp
    .venv/bin/python bench/backup.py --database-url postgresql+psycopg://postgres@127.0.0.1/elearn_bench_backup

The restore goes into ``<database>_restore`` on PostgreSQL (created, and emptied first).
Prints a Markdown table (seconds).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench.reports import generate, machine  # noqa: E402
from elearn import create_app  # noqa: E402
from elearn.courses import services as courses  # noqa: E402
from elearn.courses.models import Course  # noqa: E402
from elearn.extensions import db  # noqa: E402
from elearn.media import services as media  # noqa: E402
from elearn.media.models import Video  # noqa: E402
from elearn.ops import backup  # noqa: E402

SEGMENTS = 10


def make(url: str, folder: Path):
    """Return an app on ``url`` whose instance and media live in ``folder``."""
    return create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": folder,
            "MEDIA_DIR": folder / "media",
            "SQLITE_BEGIN_OUTSIDE_REQUESTS": "BEGIN IMMEDIATE",
            "LOG_LEVEL": "WARNING",
        }
    )


def empty_postgres(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if needed, and empty its public schema."""
    parsed = make_url(url)
    admin = sa.create_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as connection:
        found = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not found:
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build(app, scale: float, lectures: int, media_mb: int) -> None:
    """Generate the people and runs, stamp the schema revision, lay out the lectures."""
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        made = generate(scale, seed=7)
        db.session.commit()
        head, _older = backup._code_heads()
        db.session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:h)"), {"h": head})
        course = db.session.get(Course, 1)
        module = courses.add_module(course, "Bài giảng video")
        per_lecture = media_mb * 1_000_000 // max(1, lectures)
        root = Path(app.config["MEDIA_DIR"])
        for n in range(1, lectures + 1):
            activity = media.add_video(module, f"Bài giảng {n}")
            video = db.session.get(Video, activity.id)
            video.version, video.ready_version, video.state = 1, 1, "ready"
            video.kind, video.duration = "video", 600.0
            original = root / "originals" / str(activity.id) / "v1.orig"
            original.parent.mkdir(parents=True, exist_ok=True)
            original.write_bytes(os.urandom(per_lecture // 2))
            hls = root / "lectures" / str(activity.id) / "v1" / "hls"
            (hls / "360p").mkdir(parents=True, exist_ok=True)
            (hls / "master.m3u8").write_text("#EXTM3U\n360p/index.m3u8\n")
            for s in range(SEGMENTS):
                (hls / "360p" / f"seg_{s:03d}.ts").write_bytes(
                    os.urandom(per_lecture // 2 // SEGMENTS)
                )
        db.session.commit()
        rows = sum(
            db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables
        )
        print(
            f"built {made['people']:,} people, {made['runs']:,} runs ({rows:,} rows in all) "
            f"and {lectures} lectures ({media_mb} MB) in {time.perf_counter() - started:.0f} s"
        )


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temp dir")
    parser.add_argument("--scale", type=float, default=0.2, help="1.0 = 100,000 staff")
    parser.add_argument("--lectures", type=int, default=20)
    parser.add_argument("--media-mb", type=int, default=200, help="media in all, in MB")
    parser.add_argument("--keep", action="store_true", help="keep the folders and databases")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="elearn-bench-backup-"))
    url = args.database_url or f"sqlite:///{work / 'source.db'}"
    kind = make_url(url).get_backend_name()
    if kind == "postgresql":
        target_url = make_url(url).set(database=f"{make_url(url).database}_restore")
        target_url = target_url.render_as_string(hide_password=False)
        empty_postgres(url)
        empty_postgres(target_url)
    else:
        target_url = f"sqlite:///{work / 'restored.db'}"
    print(f"database: {kind}; work folder {work}")
    print(f"machine: {machine()}")
    source = make(url, work / "source")
    build(source, args.scale, args.lectures, args.media_mb)

    with source.app_context():
        made = backup.create_backup(work / "backups")
        db.engine.dispose()
    print(f"backup: {made.folder.name}, {made.seconds:.1f} s")

    fresh = make(target_url, work / "restored")
    with fresh.app_context():
        restored = backup.restore_backup(made.folder)
        db.engine.dispose()
        started = time.perf_counter()
        differences = backup.compare_with(made.folder)
        compared = time.perf_counter() - started
        db.engine.dispose()
    if differences:
        sys.exit("the restored instance differs: " + "; ".join(differences[:10]))

    size = backup.format_size
    database_file = made.folder / backup.DATABASE_FILES[kind]
    print(f"\n| {kind} | |")
    print("|---|---|")
    print(f"| rows | {restored.rows:,} in {restored.tables} tables |")
    print(f"| database in the backup | {size(database_file.stat().st_size)} |")
    print(f"| media | {made.media_files} files, {size(made.media_bytes)} |")
    print(f"| backup folder | {size(folder_bytes(made.folder))} |")
    print(f"| `ops backup` | {made.seconds:.1f} s |")
    print(f"| `ops restore` (checksums, database, files) | {restored.seconds:.1f} s |")
    print(f"| `ops compare` | {compared:.1f} s |")

    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
        if kind == "postgresql":
            empty_postgres(url)
            empty_postgres(target_url)


if __name__ == "__main__":
    main()
