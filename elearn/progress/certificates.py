"""Certificates of completion: issued when a run completes, verifiable by anyone.

What a certificate says (name, unit, course, hours, date, issuer and signer) is frozen
when it is issued; the PDF is drawn from those fields on each download, so it never
changes. The code is 16 random characters of 31 (about 79 bits), so it cannot be
guessed; ``/verify/<code>`` is public and rate limited. An admin may revoke a
certificate (with a reason) or re-issue it, e.g. after a change of name: the old
code then says "superseded" and points to nothing personal beyond what it showed.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from elearn.accounts.models import OrgUnit, User
from elearn.accounts.retention import person_anonymised
from elearn.core.clock import to_local, utcnow
from elearn.core.services import (
    AUDIT_LABELS,
    NotFound,
    ServiceError,
    record_audit,
    required_reason,
)
from elearn.core.vietnamese import nfc
from elearn.courses.models import Course, CourseSettings, Enrolment
from elearn.extensions import db
from elearn.progress.models import Certificate

log = logging.getLogger(__name__)

#: No 0/O, 1/I/L: codes are read aloud and typed from paper.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
CODE_RE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")

AUDIT_LABELS.update(
    {
        "certificate.revoked": _l("Certificate revoked"),
        "certificate.reissued": _l("Certificate re-issued"),
    }
)


@person_anonymised.connect
def _forget_name(_sender=None, *, user_id: int, full_name: str) -> None:
    """An anonymised account's certificates show its new name; codes and the rest stay."""
    db.session.execute(
        update(Certificate).where(Certificate.user_id == user_id).values(full_name=full_name)
    )


def new_code() -> str:
    """Return a fresh code such as ``K7QM-3XZP-9RTA-WD2E``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise(code: str) -> str | None:
    """Return a typed code in its stored form, or None if it cannot be one."""
    raw = re.sub(r"[\s-]", "", code or "").upper()
    if not CODE_RE.match(raw):
        return None
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _issuer(user: User, course: Course) -> OrgUnit | None:
    settings = db.session.get(CourseSettings, course.id)
    if settings is not None and settings.issuer_unit_id:
        return db.session.get(OrgUnit, settings.issuer_unit_id)
    unit = db.session.get(OrgUnit, user.unit_id)
    if unit is None:
        return None
    top = int(unit.path.strip("/").split("/")[0])
    return db.session.get(OrgUnit, top)


def _hours(course: Course) -> float | None:
    if not course.estimated_minutes:
        return None
    return round(course.estimated_minutes / 60 * 2) / 2 or 0.5  # to the half hour


def _new(run: Enrolment) -> Certificate:
    user = db.session.get(User, run.user_id)
    course = db.session.get(Course, run.course_id)
    issuer = _issuer(user, course)
    unit = db.session.get(OrgUnit, user.unit_id)
    certificate = Certificate(
        code=new_code(),
        enrolment_id=run.id,
        user_id=run.user_id,
        course_id=run.course_id,
        full_name=nfc(user.full_name),
        unit_name=unit.name if unit else "",
        course_title=course.title,
        hours=_hours(course),
        completed_at=run.completed_at,
        issuer_name=issuer.name if issuer else "",
        signer_name=issuer.signer_name if issuer else "",
        signer_title=issuer.signer_title if issuer else "",
        issued_at=utcnow(),
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def issue(run: Enrolment) -> Certificate:
    """Issue the certificate of a run that has just completed (in the caller's transaction)."""
    certificate = _new(run)
    log.info("certificate %s issued for run %s", certificate.id, run.id)
    return certificate


def lookup(code: str) -> Certificate | None:
    """Return the certificate with this code (typed with or without dashes), or None."""
    stored = normalise(code)
    if stored is None:
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code == stored))


def of_user(user_id: int) -> list[Certificate]:
    """Return a person's certificates, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def of_run(run: Enrolment) -> list[Certificate]:
    """Return a run's certificates, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.enrolment_id == run.id)
            .order_by(Certificate.id.desc())
        )
    )


def owned(user: User, certificate_id: int) -> Certificate:
    """Return the person's own certificate; NotFound for anyone else's."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != user.id:
        raise NotFound(_l("Certificate not found."))
    return certificate


def revoke(certificate: Certificate, actor: User, reason: str) -> None:
    """Revoke a valid certificate; its code then verifies as revoked, with the date."""
    reason = required_reason(reason, _l("Give a reason: it is shown when the code is checked."))
    if certificate.status != "valid":
        raise ServiceError(_l("Only a valid certificate can be revoked."))
    certificate.status, certificate.revoked_at, certificate.reason = "revoked", utcnow(), reason
    record_audit(
        "certificate.revoked",
        actor_id=actor.id,
        target_type="certificate",
        target_id=certificate.id,
        detail=f"{certificate.code}: {reason}",
    )


def revoke_run(run: Enrolment, actor: User, reason: str) -> None:
    """Revoke every valid certificate of a run (its completion was reset)."""
    for certificate in of_run(run):
        if certificate.status == "valid":
            revoke(certificate, actor, reason)


def reissue(certificate: Certificate, actor: User, reason: str) -> Certificate:
    """Issue a new certificate with the person's current name and unit; the old is superseded."""
    reason = required_reason(reason, _l("Give a reason: it is shown when the code is checked."))
    if certificate.status != "valid":
        raise ServiceError(_l("Only a valid certificate can be re-issued."))
    run = db.session.get(Enrolment, certificate.enrolment_id)
    new = _new(run)
    certificate.status, certificate.revoked_at = "superseded", utcnow()
    certificate.reason, certificate.replaced_by_id = reason, new.id
    record_audit(
        "certificate.reissued",
        actor_id=actor.id,
        target_type="certificate",
        target_id=new.id,
        detail=f"{certificate.code} -> {new.code}: {reason}",
    )
    return new


def verify_url(code: str) -> str:
    """Return the public address that checks a code (printed and in the QR code)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/verify/{code}"


def pdf(certificate: Certificate) -> bytes:
    """Draw the certificate as a PDF from what it froze at issue."""
    from elearn.progress.certificate_pdf import CertificateData, render  # fpdf2 loads on use

    return render(
        CertificateData(
            full_name=certificate.full_name,
            unit_name=certificate.unit_name,
            course_title=certificate.course_title,
            hours=certificate.hours,
            completed_on=to_local(certificate.completed_at).date(),
            issuer_name=certificate.issuer_name,
            signer_name=certificate.signer_name,
            signer_title=certificate.signer_title,
            code=certificate.code,
            verify_url=verify_url(certificate.code),
        )
    )
