"""Course operations: catalogue and search, audiences, enrolment runs, authoring.

Who may do what:
- a learner sees published courses whose audience includes their unit (or everyone);
  anything else is NotFound, also when typed into a URL;
- an instructor (the role anywhere) may create courses and becomes staff of the course;
  staff of a course (course-scoped instructor role) and admins may edit it.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from blinker import Namespace
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, RoleAssignment, User
from elearn.core.clock import due_at, to_local, utcnow
from elearn.core.services import AUDIT_LABELS, Forbidden, NotFound, ServiceError, record_audit
from elearn.core.vietnamese import collation_key, fold, nfc
from elearn.courses.models import (
    PAGE_COMPLETION,
    QUIZ_COMPLETION,
    SURVEY_COMPLETION,
    Activity,
    Course,
    CourseAudience,
    CourseSettings,
    CourseSource,
    Enrolment,
    Module,
    PageContent,
)
from elearn.extensions import db
from elearn.html import ALLOWLIST_VERSION, render_markdown

log = logging.getLogger(__name__)

TOPICS = {
    "chinh-phu-so": _l("E-government and digital government"),
    "chuyen-doi-so": _l("Digital transformation"),
    "cai-cach-hanh-chinh": _l("Administrative reform"),
}
#: First letter of the keys given to new activities of each type (p1, v2, q3, s4).
KEY_PREFIXES = {"page": "p", "video": "v", "quiz": "q", "survey": "s"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

AUDIT_LABELS.update(
    {
        "course.created": _l("Course created"),
        "course.updated": _l("Course edited"),
        "course.published": _l("Course published"),
        "course.unpublished": _l("Course withdrawn"),
        "course.loaded": _l("Course loaded from a content pack"),
    }
)


#: Sent as completion_changed.send(course_id=...) when what completes the course changes
#: (a rule, the required set, a threshold or pass mark, the minimum grade); progress
#: judges the course's open runs again when the transaction commits.
completion_changed = Namespace().signal("completion-changed")


@accounts.person_joined.connect
def _follow_person(_sender=None, *, user_id: int, unit_id: int, from_unit_id: int | None) -> None:
    """Keep the runs' copy of the learner's unit in step when they move (or units merge)."""
    if from_unit_id is not None:
        db.session.execute(
            update(Enrolment).where(Enrolment.user_id == user_id).values(unit_id=unit_id)
        )


@accounts.unit_merged.connect
def _follow_unit_merge(_sender=None, *, source_id: int, target_id: int) -> None:
    """Courses offered to a merged unit are offered to the unit it was merged into."""
    for row in db.session.scalars(
        select(CourseAudience).where(CourseAudience.unit_id == source_id)
    ):
        already = db.session.get(CourseAudience, (row.course_id, target_id))
        if already is None:
            db.session.add(CourseAudience(course_id=row.course_id, unit_id=target_id))
        db.session.delete(row)
    db.session.flush()


# --- visibility ------------------------------------------------------------------------------


def ancestor_ids(unit: OrgUnit) -> list[int]:
    """The ids of ``unit`` and every unit above it."""
    return [int(part) for part in unit.path.strip("/").split("/")]


def _visible_to(user: User):
    """Return a predicate: the course's audience includes ``user`` (or everyone)."""
    audience = exists().where(
        CourseAudience.course_id == Course.id,
        CourseAudience.unit_id.in_(ancestor_ids(user.unit)),
    )
    everyone = exists().where(
        CourseSettings.course_id == Course.id, CourseSettings.audience_all.is_(True)
    )
    return or_(everyone, audience)


def can_create_courses(user: User) -> bool:
    """Tell whether ``user`` may create courses: admins and unit-scoped instructors.

    Staff of one course (a course-scoped instructor role) may edit that course only.
    """
    if user.is_admin:
        return True
    return bool(
        db.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role == "instructor",
                RoleAssignment.unit_id.is_not(None),
            )
        )
    )


def is_staff(user: User, course: Course) -> bool:
    """Tell whether ``user`` may edit ``course`` (admin, or instructor of that course)."""
    if user.is_admin:
        return True
    return bool(
        db.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == user.id,
                RoleAssignment.role == "instructor",
                RoleAssignment.course_id == course.id,
            )
        )
    )


def can_see(user: User, course: Course) -> bool:
    """Tell whether ``user`` may see ``course`` as a learner (or as its staff)."""
    if is_staff(user, course):
        return True
    if course.status != "published":
        return False
    return bool(
        db.session.scalar(select(Course.id).where(Course.id == course.id, _visible_to(user)))
    )


def course_for(user: User, slug: str) -> Course:
    """Return the course ``user`` may see, else raise NotFound."""
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None or not can_see(user, course):
        raise NotFound(_l("Course not found."))
    return course


def catalogue(user: User, search: str = "", topic: str = ""):
    """Return a select of the published courses ``user`` may see, in title order."""
    query = select(Course).where(Course.status == "published", _visible_to(user))
    for word in fold(search).split():
        word = word.replace("\\", "").replace("%", "").replace("_", "\\_")
        query = query.where(Course.search_text.like(f"% {word}%", escape="\\"))
    if topic:
        query = query.where(Course.topic == topic)
    return query.order_by(Course.title_sort, Course.id)


# --- structure for display -------------------------------------------------------------------


def outline(course: Course) -> list[tuple[Module, list[Activity]]]:
    """Return the live modules of a course with their live activities, in order (2 queries)."""
    modules = db.session.scalars(
        select(Module)
        .where(Module.course_id == course.id, Module.archived.is_(False))
        .order_by(Module.position, Module.id)
    ).all()
    activities = db.session.scalars(
        select(Activity)
        .where(Activity.course_id == course.id, Activity.archived.is_(False))
        .order_by(Activity.position, Activity.id)
    ).all()
    by_module: dict[int, list[Activity]] = {m.id: [] for m in modules}
    for activity in activities:
        if activity.module_id in by_module:
            by_module[activity.module_id].append(activity)
    return [(m, by_module[m.id]) for m in modules]


def sequence(course: Course) -> list[Activity]:
    """Return the course's live activities in reading order."""
    return [a for _m, activities in outline(course) for a in activities]


def module_in(course: Course, module_id: int) -> Module:
    """Return a live module of ``course``, else raise NotFound."""
    module = db.session.get(Module, module_id)
    if module is None or module.course_id != course.id or module.archived:
        raise NotFound(_l("Module not found."))
    return module


def activity_in(course: Course, activity_id: int) -> Activity:
    """Return a live activity of ``course``, else raise NotFound."""
    activity = db.session.get(Activity, activity_id)
    if (
        activity is None
        or activity.course_id != course.id
        or activity.archived
        or activity.module.archived
    ):
        raise NotFound(_l("Lesson not found."))
    return activity


# --- enrolment runs --------------------------------------------------------------------------


def current_run(user: User, course: Course) -> Enrolment | None:
    """Return the person's newest run of ``course``, if any."""
    return db.session.scalar(
        select(Enrolment)
        .where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
        .order_by(Enrolment.run.desc())
        .limit(1)
    )


def runs_of(user: User, course: Course) -> list[Enrolment]:
    """Return every run of ``course`` by ``user``, newest first."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
            .order_by(Enrolment.run.desc())
        )
    )


def enrol(user: User, course: Course, source: str = "self") -> Enrolment:
    """Start a run of ``course``: the first, or a new one after a completed run."""
    if not can_see(user, course) or course.status != "published":
        raise NotFound(_l("Course not found."))
    if source == "self" and not course.settings.self_enrol:
        raise ServiceError(_l("This course is assigned by your unit; you cannot enrol yourself."))
    previous = current_run(user, course)
    if previous is not None and previous.status != "completed":
        raise ServiceError(_l("You are already taking this course."))
    now = utcnow()
    due = None
    if course.settings.due_days:
        due = due_at((to_local(now) + timedelta(days=course.settings.due_days)).date())
    run = Enrolment(
        user_id=user.id,
        course_id=course.id,
        run=(previous.run + 1 if previous else 1),
        source=source,
        started_at=now,
        due_at=due,
        unit_id=user.unit_id,
    )
    try:
        with db.session.begin_nested():  # two clicks at once: the second gets a message
            db.session.add(run)
    except IntegrityError as exc:
        raise ServiceError(_l("You are already taking this course.")) from exc
    log.info("user %s enrolled in %s (run %s)", user.id, course.slug, run.run)
    return run


def assigned_run(
    user: User, course: Course, *, source: str, due: datetime | None, new_run: bool = False
) -> tuple[Enrolment, bool]:
    """Return the run a mandatory assignment or a class asks of ``user``: (run, created).

    The person's open run is adopted (it becomes mandatory, due by the earlier date);
    with no run, or with ``new_run`` after a completed one (a refresher), a run starts.
    Without ``new_run`` a completed run is returned as it is: it already satisfies.
    Assigned courses need not be offered to the person's unit in the catalogue.
    """
    if course.status != "published":
        raise ServiceError(_l("Only a published course can be assigned."))
    previous = current_run(user, course)
    if previous is not None and (previous.status != "completed" or not new_run):
        if previous.status != "completed":
            previous.source = source if previous.source == "self" else previous.source
            if due is not None and (previous.due_at is None or due < previous.due_at):
                previous.due_at = due
        return previous, False
    run = Enrolment(
        user_id=user.id,
        course_id=course.id,
        run=(previous.run + 1 if previous else 1),
        source=source,
        started_at=utcnow(),
        due_at=due,
        unit_id=user.unit_id,
    )
    db.session.add(run)
    db.session.flush()
    log.info("user %s assigned %s (run %s, %s)", user.id, course.slug, run.run, source)
    return run, True


def release_run(run: Enrolment) -> None:
    """Make an open run voluntary again (its assignment was withdrawn); progress stays."""
    if run.status != "completed":
        run.source, run.due_at = "self", None


def every_run_of(user: User) -> list[Enrolment]:
    """Return every run of every course by ``user``, oldest first (their personal data)."""
    return list(
        db.session.scalars(
            select(Enrolment)
            .where(Enrolment.user_id == user.id)
            .options(contains_eager(Enrolment.course))
            .join(Enrolment.course)
            .order_by(Enrolment.started_at, Enrolment.id)
        )
    )


def current_runs(user: User) -> list[Enrolment]:
    """Return the person's newest run of every course, in progress first."""
    newest = (
        select(Enrolment.course_id, func.max(Enrolment.run).label("run"))
        .where(Enrolment.user_id == user.id)
        .group_by(Enrolment.course_id)
        .subquery()
    )
    query = (
        select(Enrolment)
        .join(newest, (Enrolment.course_id == newest.c.course_id) & (Enrolment.run == newest.c.run))
        .where(Enrolment.user_id == user.id)
        .order_by(Enrolment.status == "completed", Enrolment.started_at.desc())
    )
    return list(db.session.scalars(query))


# --- authoring -------------------------------------------------------------------------------


def _index(course: Course) -> None:
    # Courses are written in Vietnamese: index the Vietnamese topic name.
    with force_locale("vi"):
        topic = str(TOPICS.get(course.topic, ""))
    course.search_text = " " + fold(f"{course.title} {course.summary} {topic}")
    course.title_sort = collation_key(course.title)


def _check_course_fields(slug: str, title: str, topic: str) -> None:
    if not SLUG_RE.match(slug or ""):
        raise ServiceError(
            _l("A short name has lower-case letters a-z, digits and dashes, e.g. chinh-phu-so."),
            "slug",
        )
    if not title.strip():
        raise ServiceError(_l("A course needs a title."), "title")
    if topic and topic not in TOPICS:
        raise ServiceError(_l("Unknown topic."), "topic")


def create_course(
    actor: User,
    *,
    slug: str,
    title: str,
    summary: str = "",
    topic: str = "",
    estimated_minutes: int | None = None,
    record: bool = True,
) -> Course:
    """Create a draft course; its creator becomes its staff."""
    if actor is not None and not can_create_courses(actor):
        raise Forbidden(_l("Only instructors of a unit can create courses."))
    _check_course_fields(slug, title, topic)
    if db.session.scalar(select(Course.id).where(Course.slug == slug)):
        raise ServiceError(
            _l("Another course already uses the short name %(slug)s.", slug=slug), "slug"
        )
    course = Course(
        slug=slug,
        title=nfc(title.strip()),
        summary=nfc(summary.strip()),
        topic=topic,
        estimated_minutes=estimated_minutes,
    )
    _index(course)
    course.settings = CourseSettings()
    db.session.add(course)
    db.session.flush()
    if actor is not None and not actor.is_admin:
        db.session.add(
            RoleAssignment(
                user_id=actor.id, role="instructor", course_id=course.id, created_by_id=actor.id
            )
        )
        actor.forget_roles()
    if record:
        record_audit(
            "course.created",
            actor_id=actor and actor.id,
            target_type="course",
            target_id=course.id,
            detail=slug,
        )
    return course


def update_course(
    course: Course,
    actor: User,
    *,
    title: str,
    summary: str,
    topic: str,
    estimated_minutes: int | None,
    audience_all: bool,
    audience_unit_ids: list[int],
    due_days: int | None,
    require_captions: bool | None = None,
    min_grade: float | None = None,
    issuer_unit_id: int | None = None,
) -> None:
    """Change a course's description, who it is offered to and how it is completed.

    ``min_grade`` is a share (0.7 for 70%); a change judges the open runs again.
    """
    _check_course_fields(course.slug, title, topic)
    if not audience_all and not audience_unit_ids:
        raise ServiceError(
            _l("Choose at least one unit, or offer the course to everyone."), "audience_units"
        )
    course.title = nfc(title.strip())
    course.summary = nfc(summary.strip())
    course.topic = topic
    course.estimated_minutes = estimated_minutes
    _index(course)
    course.settings.audience_all = audience_all
    course.settings.due_days = due_days
    if require_captions is not None:
        course.settings.require_captions = require_captions
    if min_grade is not None and not 0 < min_grade <= 1:
        raise ServiceError(_l("The least grade must be from 1 to 100 percent."), "min_grade")
    if course.settings.min_grade != min_grade:
        course.settings.min_grade = min_grade
        completion_changed.send(course_id=course.id)
    if issuer_unit_id is not None and db.session.get(OrgUnit, issuer_unit_id) is None:
        raise ServiceError(_l("Unknown unit."), "issuer_unit")
    course.settings.issuer_unit_id = issuer_unit_id
    set_audience(course, [] if audience_all else audience_unit_ids)
    db.session.flush()
    record_audit(
        "course.updated",
        actor_id=actor.id,
        target_type="course",
        target_id=course.id,
        detail=course.slug,
    )


def set_audience(course: Course, unit_ids: list[int]) -> None:
    """Replace the units a restricted course is offered to."""
    wanted = set(unit_ids)
    current = {
        row.unit_id: row
        for row in db.session.scalars(
            select(CourseAudience).where(CourseAudience.course_id == course.id)
        )
    }
    for unit_id, row in current.items():
        if unit_id not in wanted:
            db.session.delete(row)
    for unit_id in wanted - set(current):
        db.session.add(CourseAudience(course_id=course.id, unit_id=unit_id))


def audience_units(course: Course) -> list[OrgUnit]:
    """Return the units a restricted course is offered to."""
    return list(
        db.session.scalars(
            select(OrgUnit)
            .join(CourseAudience, CourseAudience.unit_id == OrgUnit.id)
            .where(CourseAudience.course_id == course.id)
            .order_by(OrgUnit.path)
        )
    )


#: Functions ``(course)`` that raise ServiceError when a course may not be published yet;
#: domains to the right (media: required captions) add theirs.
PUBLISH_CHECKS: list = []


def set_status(course: Course, actor: User, published: bool) -> None:
    """Publish a course (learners can find it) or take it back to draft."""
    if published and not any(activity.required for activity in sequence(course)):
        raise ServiceError(
            _l("Add at least one page that counts toward completion before publishing.")
        )
    if published:
        for check in PUBLISH_CHECKS:
            check(course)
    course.status = "published" if published else "draft"
    record_audit(
        "course.published" if published else "course.unpublished",
        actor_id=actor.id,
        target_type="course",
        target_id=course.id,
        detail=course.slug,
    )


def _touch(course_id: int) -> None:
    """Record that a course's content changed (its own row may not have)."""
    course = db.session.get(Course, course_id)
    if course is not None:
        course.updated_at = utcnow()


def _next_key(course: Course, prefix: str, model) -> str:
    existing = set(db.session.scalars(select(model.key).where(model.course_id == course.id)))
    n = len(existing) + 1
    while f"{prefix}{n}" in existing:
        n += 1
    return f"{prefix}{n}"


def add_module(course: Course, title: str, key: str | None = None) -> Module:
    """Append a module to a course."""
    if not title.strip():
        raise ServiceError(_l("A module needs a title."), "title")
    position = (
        db.session.scalar(
            select(func.coalesce(func.max(Module.position), 0)).where(Module.course_id == course.id)
        )
        + 1
    )
    module = Module(
        course_id=course.id,
        key=key or _next_key(course, "m", Module),
        title=nfc(title.strip()),
        position=position,
    )
    db.session.add(module)
    db.session.flush()
    return module


def rename_module(module: Module, title: str) -> None:
    """Rename a module."""
    if not title.strip():
        raise ServiceError(_l("A module needs a title."), "title")
    module.title = nfc(title.strip())


def add_page(
    module: Module,
    title: str,
    markdown: str,
    *,
    required: bool = True,
    completion: str = "view",
    key: str | None = None,
    kind: str = "page",
) -> Activity:
    """Append a page (or, with ``kind="video"``, a video's lesson text) to a module.

    The Markdown is rendered to sanitised HTML. A video activity's lecture is added by
    ``elearn.media.services.add_video``, which calls this.
    """
    course = module.course
    position = (
        db.session.scalar(
            select(func.coalesce(func.max(Activity.position), 0)).where(
                Activity.module_id == module.id
            )
        )
        + 1
    )
    activity = Activity(
        course_id=course.id,
        module_id=module.id,
        type=kind,
        key=key or _next_key(course, KEY_PREFIXES.get(kind, "p"), Activity),
        title="",
        position=position,
    )
    db.session.add(activity)
    update_page(activity, title, markdown, required=required, completion=completion)
    db.session.flush()
    return activity


def update_page(
    activity: Activity,
    title: str,
    markdown: str,
    *,
    required: bool = True,
    completion: str = "view",
) -> None:
    """Change a page's title, text and completion settings."""
    if not title.strip():
        raise ServiceError(_l("A page needs a title."), "title")
    allowed = {
        "video": ("watch",),
        "quiz": QUIZ_COMPLETION,
        "survey": SURVEY_COMPLETION,
    }.get(activity.type, PAGE_COMPLETION)
    if completion not in allowed:
        raise ServiceError(_l("Unknown completion rule."), "completion")
    activity.title = nfc(title.strip())
    if (activity.required, activity.completion) != (required, completion) or activity.id is None:
        activity.required, activity.completion = required, completion
        if activity.course_id is not None:
            completion_changed.send(course_id=activity.course_id)
    if activity.page is None:
        activity.page = PageContent()
    activity.page.markdown = nfc(markdown or "")
    activity.page.html = render_markdown(activity.page.markdown)
    activity.page.rendered_with = ALLOWLIST_VERSION
    if activity.course_id is not None and db.session.is_modified(activity.page):
        _touch(activity.course_id)


def move(item: Module | Activity, direction: int) -> None:
    """Swap a module or activity with its neighbour (direction -1 up, +1 down)."""
    model = type(item)
    scope = (
        (Module.course_id == item.course_id)
        if model is Module
        else (Activity.module_id == item.module_id)
    )
    siblings = list(
        db.session.scalars(
            select(model).where(scope, model.archived.is_(False)).order_by(model.position, model.id)
        )
    )
    index = siblings.index(item)
    other = index + direction
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
        for position, sibling in enumerate(siblings, start=1):
            sibling.position = position
        _touch(item.course_id)


def rerender_pages(report=None) -> int:
    """Render every page's Markdown again with the current allowlist; return how many.

    ``report(fraction, message)``, if given, is called every 20 pages (a job's progress).
    """
    total = db.session.scalar(select(func.count()).select_from(PageContent)) or 0
    count = 0
    for count, page in enumerate(
        db.session.scalars(select(PageContent).order_by(PageContent.activity_id)), start=1
    ):
        page.html = render_markdown(page.markdown)
        page.rendered_with = ALLOWLIST_VERSION
        if report and (count % 20 == 0 or count == total):
            report(count / total, gettext("%(done)d of %(total)d pages", done=count, total=total))
    return count


def add_staff(course: Course, username: str, actor: User | None = None) -> User:
    """Make the named person an instructor of ``course`` (no-op if already)."""
    person = db.session.scalar(
        select(User).where(User.username == username.strip().lower(), User.active.is_(True))
    )
    if person is None:
        raise ServiceError(
            _l("No active account has the username %(name)s.", name=username), "username"
        )
    exists_already = db.session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == person.id,
            RoleAssignment.role == "instructor",
            RoleAssignment.course_id == course.id,
        )
    )
    if not exists_already:
        db.session.add(
            RoleAssignment(
                user_id=person.id,
                role="instructor",
                course_id=course.id,
                created_by_id=actor and actor.id,
            )
        )
        person.forget_roles()
        record_audit(
            "role.assigned",
            actor_id=actor and actor.id,
            target_type="user",
            target_id=person.id,
            detail=f"instructor @ course {course.slug}",
        )
    return person


def staff_of(course: Course) -> list[RoleAssignment]:
    """Return the instructor roles scoped to ``course``, by name."""
    return list(
        db.session.scalars(
            select(RoleAssignment)
            .join(User, User.id == RoleAssignment.user_id)
            .options(contains_eager(RoleAssignment.user))
            .where(RoleAssignment.course_id == course.id, RoleAssignment.role == "instructor")
            .order_by(User.name_sort)
        )
    )


def remove_staff(course: Course, assignment_id: int, actor: User) -> None:
    """Take away an instructor role on ``course``; the last instructor stays."""
    assignment = db.session.get(RoleAssignment, assignment_id)
    if assignment is None or assignment.course_id != course.id:
        raise NotFound(_l("Role not found."))
    if len(staff_of(course)) <= 1 and not actor.is_admin:
        raise ServiceError(_l("A course keeps at least one instructor."))
    user_id = assignment.user_id
    db.session.delete(assignment)
    record_audit(
        "role.revoked",
        actor_id=actor.id,
        target_type="user",
        target_id=user_id,
        detail=f"instructor @ course {course.slug}",
    )


def teaching(user: User) -> list[Course]:
    """Return the courses ``user`` may edit."""
    query = select(Course).order_by(Course.title_sort)
    if not user.is_admin:
        query = query.join(RoleAssignment, RoleAssignment.course_id == Course.id).where(
            RoleAssignment.user_id == user.id, RoleAssignment.role == "instructor"
        )
    return list(db.session.scalars(query))


def staff_course(user: User, course_id: int) -> Course:
    """Return a course ``user`` may edit, else raise NotFound."""
    course = db.session.get(Course, course_id)
    if course is None or not is_staff(user, course):
        raise NotFound(_l("Course not found."))
    return course


def replace_sources(course: Course, sources: list[dict]) -> None:
    """Replace the list of sources shown on the course page."""
    for old in list(course.sources):
        db.session.delete(old)
    db.session.flush()
    for position, source in enumerate(sources, start=1):
        db.session.add(
            CourseSource(
                course_id=course.id,
                position=position,
                file=source.get("file", ""),
                title=source["title"],
                date=str(source.get("date", "") or ""),
            )
        )
