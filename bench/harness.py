"""What every benchmark here shares: an app on a fresh database, and a median timer."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from sqlalchemy import text  # noqa: E402

from elearn import create_app  # noqa: E402
from elearn.extensions import db  # noqa: E402


def bench_app(url: str | None):
    """Return an app on ``url`` (default: a SQLite file in a temp folder), schema emptied."""
    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{tmp / 'bench.db'}",
            "INSTANCE_DIR": tmp,
            # Benchmarks measure the production setting, not the tests' one.
            "SQLITE_BEGIN_OUTSIDE_REQUESTS": "BEGIN IMMEDIATE",
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def analyze() -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load (autovacuum would, later)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


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
