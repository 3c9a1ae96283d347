"""Collect everything the platform holds about one person, for them to download.

``collect(person)`` gathers the profile, every course run, quiz attempt, answer to a
survey that was not anonymous, certificate, and the audit entries about the account,
through each domain's own query functions. ``as_json`` and ``pdf.render`` draw the
same :class:`~elearn.privacy.data.PersonalData`, so both downloads always agree.
``record_export`` audits each download (the person's own, or staff's on their behalf).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from elearn.accounts import services as accounts
from elearn.accounts.models import User
from elearn.core.clock import to_local, utcnow
from elearn.core.services import AUDIT_LABELS, audit_about, audit_label, record_audit
from elearn.courses import services as courses
from elearn.privacy import data
from elearn.progress import certificates
from elearn.quiz import attempts
from elearn.surveys import services as surveys

#: Names the structure of the JSON document; a change that removes or renames a key
#: raises the number (keys may be added without it). Documented in docs/privacy.md.
FORMAT = "elearn.personal-data/1"
FORMATS = ("json", "pdf")

AUDIT_LABELS["personal_data.export"] = _l("Personal data downloaded")


def collect(person: User, now: datetime | None = None) -> data.PersonalData:
    """Return what the download holds about ``person``, never about anyone else."""
    roles = tuple(
        data.Role(
            role=r.role,
            unit=r.unit.name if r.unit else None,
            course=r.course.title if r.course else None,
        )
        for r in accounts.roles_of(person)
    )
    profile = data.Profile(
        id=person.id,
        full_name=person.full_name,
        username=person.username,
        email=person.email,
        unit=person.unit.name,
        unit_code=person.unit.code,
        job_title=person.job_title,
        roles=roles,
        language=person.locale,
        active=person.active,
        created_at=person.created_at,
        last_login_at=person.last_login_at,
        deactivated_at=person.deactivated_at,
    )
    every_run = courses.every_run_of(person)
    runs = tuple(
        data.Run(
            course=run.course.title,
            course_slug=run.course.slug,
            run=run.run,
            status=run.status,
            source=run.source,
            started_at=run.started_at,
            due_at=run.due_at,
            completed_at=run.completed_at,
            progress=run.percent,
            time_spent_seconds=run.time_spent,
            grade=run.grade,
        )
        for run in every_run
    )
    titles = {run.id: run.course.title for run in every_run}
    quiz_attempts = tuple(
        data.QuizAttempt(
            course=titles.get(attempt.enrolment_id, ""),
            quiz=activity.title,
            number=attempt.number,
            state=attempt.state,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            grade=attempt.grade,
        )
        for attempt, activity in attempts.attempts_of_user(person.id)
    )
    answers = tuple(
        data.SurveyAnswer(
            course=titles.get(response.enrolment_id, ""),
            survey=activity.title,
            submitted_at=response.submitted_at,
            item=item.text,
            value=answer.value,
            text=answer.text,
        )
        for response, activity, item, answer in surveys.named_answers_of(person.id)
    )
    held = tuple(
        data.Certificate(
            code=c.code,
            course=c.course_title,
            full_name=c.full_name,
            status=c.status,
            completed_at=c.completed_at,
            issued_at=c.issued_at,
            verify_url=certificates.verify_url(c.code),
        )
        for c in reversed(certificates.of_user(person.id))
    )
    entries = audit_about("user", person.id)
    actors, _units = accounts.names_by_id({e.actor_id for e in entries if e.actor_id}, set())
    with force_locale("vi"):  # like the PDF, whatever the page's language
        audit = tuple(
            data.AuditEntry(
                at=e.at,
                action=e.action,
                description=audit_label(e.action),
                actor=actors.get(e.actor_id) if e.actor_id else None,
                detail=e.detail,
                # The address is the person's only when they made the request; an hr's
                # edit or a stranger's reset request carries someone else's address.
                ip=e.ip if e.actor_id == person.id else None,
            )
            for e in entries
        )
    return data.PersonalData(
        generated_at=now or utcnow(),
        profile=profile,
        runs=runs,
        quiz_attempts=quiz_attempts,
        survey_answers=answers,
        certificates=held,
        audit=audit,
    )


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds") + "Z"  # stored as naive UTC
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def as_json(personal: data.PersonalData) -> str:
    """Return the JSON document: ``format``, ``generated_at``, then one key per section."""
    body = {"format": FORMAT, **asdict(personal)}
    return json.dumps(body, ensure_ascii=False, indent=1, default=_iso)


def filename(personal: data.PersonalData, fmt: str) -> str:
    """Return the download's file name: no name or username in it, only the id and date."""
    day = to_local(personal.generated_at).date().isoformat()
    return f"du-lieu-ca-nhan-{personal.profile.id}-{day}.{fmt}"


def render(person: User, fmt: str) -> tuple[bytes, str, str]:
    """Return (content, MIME type, file name) of ``person``'s data in ``fmt`` (json or pdf)."""
    return render_collected(collect(person), fmt)


def render_collected(personal: data.PersonalData, fmt: str) -> tuple[bytes, str, str]:
    """Format data already collected (plain values: no database access while drawing)."""
    if fmt == "pdf":
        from elearn.privacy.pdf import render as render_pdf  # fpdf2 loads on use

        return render_pdf(personal), "application/pdf", filename(personal, "pdf")
    return as_json(personal).encode(), "application/json", filename(personal, "json")


def record_export(actor: User, person: User, fmt: str) -> None:
    """Audit one download of a person's data (by themselves, or by staff for them)."""
    by = "own" if actor.id == person.id else "by staff"
    record_audit(
        "personal_data.export",
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        detail=f"{fmt}; {by}; personal data",
    )
