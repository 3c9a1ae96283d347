"""Background jobs of the accounts domain: large staff files, and the daily retention run."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from elearn.accounts import imports, retention
from elearn.accounts.models import StaffImport
from elearn.core.clock import from_local, to_local, utcnow
from elearn.extensions import db
from elearn.jobs.models import Job
from elearn.jobs.services import MAINTENANCE, handler, start_after_commit


def _failed(job) -> None:
    record = (
        db.session.get(StaffImport, job.target_id) if job.target_type == "staff_import" else None
    )
    if record is not None:
        imports.mark_failed(record, job.error or "")


@handler("accounts.import_check", label=_l("Check a staff file"), on_fail=_failed)
def check_import(job, report) -> None:
    """Read a stored staff file and plan every row (safe to repeat)."""
    imports.run_check(job.target_id, report)


@handler("accounts.import_apply", label=_l("Import a staff file"), on_fail=_failed)
def apply_import(job, report) -> None:
    """Carry out a checked staff file's rows (safe to repeat: done rows are unchanged)."""
    imports.run_apply(job.target_id, job.owner_id, report)
    imports.remove_file(db.session.get(StaffImport, job.target_id))


MAINTENANCE.append(imports.clean_old_files)


@handler("accounts.retention", label=_l("Anonymise accounts past the retention period"))
def apply_retention(job, report) -> None:
    """Anonymise the accounts past the retention period (safe to repeat: done ones are skipped)."""
    done = retention.apply_retention(commit_batches=True)
    report(1.0, f"{len(done)}")


def maybe_start_retention(now: datetime | None = None) -> Job | None:
    """Start today's retention job if a period is set and none ran this local day (a chore)."""
    if retention.retention_months() is None:
        return None
    now = now or utcnow()
    day_start = from_local(datetime.combine(to_local(now).date(), time.min))
    ran = db.session.scalar(
        select(Job.id).where(
            Job.kind == "accounts.retention",
            or_(
                Job.created_at.between(day_start, day_start + timedelta(days=1)),
                Job.state.in_(("queued", "running")),
            ),
        )
    )
    if ran is not None:
        return None
    return start_after_commit("accounts.retention", owner_id=None)


MAINTENANCE.append(maybe_start_retention)
