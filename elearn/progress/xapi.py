"""A learner's record as xAPI 1.0.3 statements, for agencies that keep a Learning Record Store.

One statement per progress event. Statement ids are UUIDv5 of the event's hash, so
exporting twice gives the same ids (an LRS ignores the duplicates); the registration
is UUIDv5 of the run, grouping a run's statements. The event hash travels in a
context extension, so the LRS copy can be checked against the chain.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from elearn.accounts.models import User
from elearn.courses.models import Activity, Course, Enrolment
from elearn.extensions import db
from elearn.progress.models import ProgressEvent
from elearn.progress.record import loads

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    "run.started": ("attempted", {"en-US": "attempted", "vi-VN": "bắt đầu học"}),
    "activity.completed": ("completed", {"en-US": "completed", "vi-VN": "hoàn thành"}),
    "run.completed": ("completed", {"en-US": "completed", "vi-VN": "hoàn thành"}),
    "run.override": ("completed", {"en-US": "completed", "vi-VN": "hoàn thành"}),
}


def _base() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def duration(seconds: int) -> str:
    """Return seconds as an ISO 8601 duration, e.g. ``PT1H2M3S``."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"PT{hours}H{minutes}M{secs}S"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds") + "Z"


def _course_object(course: Course) -> dict:
    return {
        "objectType": "Activity",
        "id": f"{_base()}/courses/{course.slug}",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/course",
            "name": {"vi-VN": course.title},
        },
    }


def _activity_object(course: Course, activity: Activity) -> dict:
    kind = "assessment" if activity.type == "quiz" else "lesson"
    return {
        "objectType": "Activity",
        "id": f"{_base()}/courses/{course.slug}/lessons/{activity.id}",
        "definition": {
            "type": f"http://adlnet.gov/expapi/activities/{kind}",
            "name": {"vi-VN": activity.title},
        },
    }


def _verb(event: ProgressEvent, new: dict) -> dict:
    if event.kind == "activity.graded":
        name = "passed" if new.get("passed") else "failed"
        label = {"en-US": name, "vi-VN": "đạt" if new.get("passed") else "chưa đạt"}
        return {"id": ADL + name, "display": label}
    if event.kind == "run.reset":
        return {"id": f"{_base()}/xapi/verbs/reset", "display": {"en-US": "reset"}}
    name, label = VERBS[event.kind]
    return {"id": ADL + name, "display": label}


def statement(event: ProgressEvent, user: User, course: Course, run: Enrolment, activity) -> dict:
    """Return the xAPI statement for one event."""
    new = loads(event.new_value) or {}
    base = _base()
    course_object = _course_object(course)
    result: dict = {}
    if event.kind == "activity.graded" and new.get("grade") is not None:
        result = {"score": {"scaled": round(new["grade"], 4)}, "success": bool(new.get("passed"))}
    elif event.kind in ("run.completed", "run.override"):
        result = {"completion": True}
        if new.get("grade") is not None:
            result["score"] = {"scaled": round(new["grade"], 4)}
        if run.time_spent:
            result["duration"] = duration(run.time_spent)
    elif event.kind == "activity.completed":
        result = {"completion": True}
    context: dict = {
        "registration": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/runs/{run.id}")),
        "language": "vi-VN",
        "extensions": {f"{base}/xapi/event-hash": event.hash, f"{base}/xapi/seq": event.seq},
    }
    if activity is not None:
        context["contextActivities"] = {"parent": [course_object]}
    if event.reason:
        context["extensions"][f"{base}/xapi/reason"] = event.reason
    body = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base}/events/{event.hash}")),
        "version": "1.0.3",
        "actor": {
            "objectType": "Agent",
            "name": user.full_name,
            "account": {"homePage": base, "name": user.username},
        },
        "verb": _verb(event, new),
        "object": _activity_object(course, activity) if activity is not None else course_object,
        "context": context,
        "timestamp": _timestamp(event.created_at),
    }
    if result:
        body["result"] = result
    return body


def statements(user: User) -> list[dict]:
    """Return every statement of a learner's record, oldest first."""
    events = list(
        db.session.scalars(
            select(ProgressEvent)
            .where(ProgressEvent.user_id == user.id)
            .order_by(ProgressEvent.seq)
        )
    )
    courses = {
        c.id: c
        for c in db.session.scalars(
            select(Course).where(Course.id.in_({e.course_id for e in events}))
        )
    }
    runs = {
        r.id: r for r in db.session.scalars(select(Enrolment).where(Enrolment.user_id == user.id))
    }
    activities = {
        a.id: a
        for a in db.session.scalars(
            select(Activity).where(
                Activity.id.in_({e.activity_id for e in events if e.activity_id})
            )
        )
    }
    return [
        statement(
            e,
            user,
            courses[e.course_id],
            runs[e.enrolment_id],
            activities.get(e.activity_id) if e.activity_id else None,
        )
        for e in events
    ]
