"""What a person's data download holds: frozen rows made by ``personal_data.collect``.

Both formats are drawn from one :class:`PersonalData`: the JSON document
(``personal_data.as_json``, its shape in docs/privacy.md) and the PDF (``pdf.render``).
Times are naive UTC, as stored; grades and progress are ratios in [0.0, 1.0].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Role:
    """A role the person holds and where: a unit (and below it), a course or a class."""

    role: str
    unit: str | None
    course: str | None


@dataclass(frozen=True)
class Profile:
    """The account itself."""

    id: int
    full_name: str
    username: str
    email: str | None
    unit: str
    unit_code: str
    job_title: str
    roles: tuple[Role, ...]
    language: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    deactivated_at: datetime | None


@dataclass(frozen=True)
class Run:
    """One run (take) of a course."""

    course: str
    course_slug: str
    run: int
    status: str
    source: str
    started_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    progress: float
    time_spent_seconds: int
    grade: float | None


@dataclass(frozen=True)
class QuizAttempt:
    """One attempt at a quiz and its grade (None while unfinished or awaiting grading)."""

    course: str
    quiz: str
    number: int
    state: str
    started_at: datetime
    finished_at: datetime | None
    grade: float | None


@dataclass(frozen=True)
class SurveyAnswer:
    """One answer to a survey that was not anonymous (anonymous answers name nobody)."""

    course: str
    survey: str
    submitted_at: datetime | None
    item: str
    value: int | None
    text: str | None


@dataclass(frozen=True)
class Certificate:
    """A certificate of completion, as it was issued."""

    code: str
    course: str
    full_name: str
    status: str
    completed_at: datetime
    issued_at: datetime
    verify_url: str


@dataclass(frozen=True)
class AuditEntry:
    """An action recorded in the audit log about the person's account."""

    at: datetime
    action: str
    description: str
    actor: str | None
    detail: str
    ip: str | None


@dataclass(frozen=True)
class PersonalData:
    """Everything the platform holds about one person, at ``generated_at``."""

    generated_at: datetime
    profile: Profile
    runs: tuple[Run, ...]
    quiz_attempts: tuple[QuizAttempt, ...]
    survey_answers: tuple[SurveyAnswer, ...]
    certificates: tuple[Certificate, ...]
    audit: tuple[AuditEntry, ...]
