"""Background jobs of the accounts domain: checking and applying large staff files."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from elearn.accounts import imports
from elearn.accounts.models import StaffImport
from elearn.extensions import db
from elearn.jobs.services import MAINTENANCE, handler


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
