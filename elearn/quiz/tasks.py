"""Background jobs of the quiz domain: regrading a quiz, computing its item statistics."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from elearn.accounts.models import User
from elearn.core.services import NotFound
from elearn.courses.models import Activity
from elearn.extensions import db
from elearn.jobs.services import handler
from elearn.quiz import results


def _quiz(job) -> Activity:
    activity = db.session.get(Activity, job.target_id) if job.target_type == "activity" else None
    if activity is None or activity.type != "quiz":
        raise NotFound(_l("Quiz not found."))
    return activity


@handler("quiz.regrade", queue="short", label=_l("Regrade a quiz"))
def regrade_quiz(job, report) -> None:
    """Regrade every finished attempt with the current questions (safe to repeat)."""
    activity = _quiz(job)
    actor = db.session.get(User, job.owner_id) if job.owner_id else None
    count = results.regrade(activity, actor, report)
    job.message = str(_l("%(n)d attempts were regraded.", n=count))


@handler("quiz.statistics", queue="short", label=_l("Compute a quiz's statistics"))
def quiz_statistics(job, report) -> None:
    """Compute and store the quiz's item statistics (safe to repeat)."""
    activity = _quiz(job)
    row = results.store_statistics(activity)
    job.message = str(_l("Statistics of %(n)d attempts.", n=row.attempts))
