"""Retention of inactive accounts: after a period an admin sets, personal fields are erased.

Decree 13/2023/NĐ-CP asks that personal data be kept no longer than needed. Training
records must stay: ministries keep statistics of who was trained, and certificates
must still verify. So an account past the period is *anonymised*, not deleted: its
name becomes "Người dùng đã ẩn danh #<id>", its username a random value, and email,
job title, password and language are cleared; runs, grades, quiz attempts, survey
answers and certificate numbers keep pointing at the same row, whose unit still
counts it in reports. Certificates show the new name (``person_anonymised``).

An account is past the period when it was deactivated, or last signed in (created, if
it never did), more than the period ago. Administrators are never anonymised by this
rule. The period is the site setting ``accounts.retention_months`` (empty or 0: keep
forever); the worker applies it once a local day, ``flask --app wsgi accounts
apply-retention`` by hand.
"""

from __future__ import annotations

import calendar
import logging
import secrets
from datetime import datetime

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update

from elearn.accounts.models import RoleAssignment, StaffImportRow, User, new_nonce
from elearn.accounts.services import _index_name
from elearn.core.clock import utcnow
from elearn.core.models import OutboxMail
from elearn.core.services import AUDIT_LABELS, ServiceError, get_setting, record_audit, set_setting
from elearn.extensions import db

log = logging.getLogger(__name__)

SETTING = "accounts.retention_months"
#: Longest period an admin may set (100 years): longer is "keep forever".
MAX_MONTHS = 1200
#: The name an anonymised account shows everywhere (stored, so in Vietnamese).
ANONYMOUS_NAME = "Người dùng đã ẩn danh #{id}"

AUDIT_LABELS.update(
    {
        "privacy.retention_set": _l("Retention period of inactive accounts set"),
        "user.anonymised": _l("Account anonymised (retention period passed)"),
    }
)

#: Sent as person_anonymised.send(user_id=..., full_name=...) inside the transaction that
#: anonymised the account, so later domains replace the copies of the name they froze
#: (certificates) without accounts importing them.
person_anonymised = Namespace().signal("person-anonymised")


def retention_months() -> int | None:
    """Return the retention period in months, or None to keep accounts forever."""
    raw = get_setting(SETTING, "") or ""
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def set_retention_months(months: int | None, actor: User) -> None:
    """Set the retention period (None or 0: keep forever); audited with old and new value."""
    if months is not None and not 0 <= months <= MAX_MONTHS:
        raise ServiceError(
            _l("Enter a number of months from 0 to %(max)d.", max=MAX_MONTHS), "months"
        )
    value = str(months) if months else ""
    old = set_setting(SETTING, value, actor.id) or ""
    if old != value:
        record_audit(
            "privacy.retention_set",
            actor_id=actor.id,
            detail=f"{old or '-'} -> {value or '-'} months",
        )


#: Accounts anonymised per transaction when committing in batches.
BATCH = 100


def months_before(moment: datetime, months: int) -> datetime:
    """Return ``moment`` moved back by calendar months (31 March - 1 month = 28/29 Feb)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def expired_query(months: int, now: datetime | None = None):
    """Return a select of the accounts the period of ``months`` would anonymise at ``now``."""
    cutoff = months_before(now or utcnow(), months)
    is_admin = exists().where(RoleAssignment.user_id == User.id, RoleAssignment.role == "admin")
    # Only accounts of people who left (deactivated, and still so): a civil servant's
    # account and training record are needed while they serve, signed in or not, and an
    # account anonymised under a person still in the staff file would come back from the
    # next import as a second account, splitting their record. Reactivating clears
    # ``deactivated_at``, so a returning person is never caught.
    return select(User).where(
        User.anonymised_at.is_(None),
        User.active.is_(False),
        User.deactivated_at < cutoff,
        ~is_admin,
    )


def preview(months: int | None, now: datetime | None = None, limit: int = 50):
    """Return (how many accounts ``months`` would anonymise, the first ``limit`` by name)."""
    if not months:
        return 0, []
    query = expired_query(months, now)
    count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    first = list(db.session.scalars(query.order_by(User.name_sort, User.id).limit(limit)))
    return count, first


def anonymise(person: User, actor_id: int | None = None) -> None:
    """Replace a person's personal fields; their records stay, attached to the same account.

    Also blanks the staff-file rows and outbox mails that name the account's old
    username or email. The audit entry holds only the account's id.
    """
    now = utcnow()
    old_email = person.email
    old_identities = [i for i in (person.username, old_email) if i]
    person.full_name = ANONYMOUS_NAME.format(id=person.id)
    person.username = f"an-danh-{secrets.token_hex(8)}"
    person.email = None
    person.job_title = ""
    person.password_hash = None
    person.locale = None
    person.active = False
    person.deactivated_at = person.deactivated_at or now
    person.auth_nonce = new_nonce()  # ends any session still open
    person.anonymised_at = now
    _index_name(person)
    db.session.execute(
        update(StaffImportRow)
        .where(StaffImportRow.identity.in_(old_identities))
        .values(identity="", full_name=person.full_name)
    )
    if old_email:
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.to_address == old_email)
            .values(to_address="", body="")
        )
    db.session.flush()
    person_anonymised.send(user_id=person.id, full_name=person.full_name)
    record_audit(
        "user.anonymised",
        actor_id=actor_id,
        target_type="user",
        target_id=person.id,
        detail=f"#{person.id}",
    )
    log.info("account %s anonymised", person.id)


def apply_retention(
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    actor_id: int | None = None,
    commit_batches: bool = False,
) -> list[int]:
    """Anonymise every account past the retention period; return their ids.

    With ``dry_run`` nothing changes: the ids are those that would be anonymised.
    ``commit_batches`` (the daily job, the command) commits after every ``BATCH`` accounts.
    Without a period nothing is done. Safe to run twice: anonymised accounts are skipped.
    """
    months = retention_months()
    if months is None:
        return []
    people = list(db.session.scalars(expired_query(months, now).order_by(User.id)))
    if not dry_run:
        for n, person in enumerate(people, start=1):
            anonymise(person, actor_id)
            if commit_batches and n % BATCH == 0:
                # The first run may anonymise thousands: short transactions, so learners'
                # writes never wait long for the lock (each batch is complete on its own).
                db.session.commit()
    return [p.id for p in people]
