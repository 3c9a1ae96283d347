"""Content packs: load courses from folders of YAML and Markdown, and export them back.

The format is described in docs/content-format.md. Loading is all-or-nothing:
every pack is read and checked before anything is written, and the caller commits
once. It is idempotent: courses, modules and activities are matched by slug and
key, so loading again updates them in place; anything a pack no longer lists is
archived, never deleted, so learners' progress is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml
from sqlalchemy import select

from elearn.accounts import services as accounts
from elearn.core.services import ServiceError, record_audit
from elearn.courses import services
from elearn.courses.models import ACTIVITY_TYPES, Activity, Course, Module
from elearn.extensions import db

FORMAT_VERSION = 1
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


class PackError(ServiceError):
    """A pack cannot be loaded; the message names the file and, where known, the line."""


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that remembers the line of every mapping."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


@dataclass
class PageData:
    """A page (or a video lesson: its text, lecture and captions) as read from a pack."""

    key: str
    title: str
    markdown: str
    required: bool
    completion: str
    file: str
    kind: str = "page"
    #: Video lessons: the lecture file, relative to the pack (may be generated later).
    video: str | None = None
    #: Video lessons: {language: caption file relative to the pack}.
    captions: dict = field(default_factory=dict)
    threshold: float = 0.9
    #: Video lessons: ``slides`` lets ``flask media demo-lecture`` make a missing lecture.
    generate: str | None = None
    #: Quizzes: the ``quiz:`` mapping (settings and where the questions come from),
    #: checked by ``QUIZ_CHECKER`` and applied by ``QUIZ_LOADER``.
    quiz: dict = field(default_factory=dict)
    #: Surveys: the ``survey:`` mapping as read by ``SURVEY_READER`` and applied by
    #: ``SURVEY_LOADER``.
    survey: dict = field(default_factory=dict)


#: ``(activity, module, page, folder) -> Activity`` for video lessons; set by
#: ``elearn.media.packs`` (courses may not import media).
VIDEO_LOADER = None
#: ``(activity, target folder) -> dict`` of extra keys a video lesson exports.
VIDEO_EXPORTER = None
#: ``(course, path) -> int``: loads a pack's question file into the bank; set by
#: ``elearn.quiz.packs``; ``QUESTION_CHECKER(path)`` raises on a file with problems.
QUESTION_LOADER = None
QUESTION_CHECKER = None
#: ``(course, target folder) -> str | None``: writes the bank as a GIFT file in an export.
QUESTION_EXPORTER = None
#: Quizzes, set by ``elearn.quiz.packs``: ``QUIZ_CHECKER(spec) -> str | None`` (a problem),
#: ``QUIZ_LOADER(activity, module, page) -> Activity``, ``QUIZ_EXPORTER(activity) -> dict``.
QUIZ_CHECKER = None
QUIZ_LOADER = None
QUIZ_EXPORTER = None
#: Surveys, set by ``elearn.surveys.packs``: ``SURVEY_READER(spec, course_file) -> dict``
#: (raises PackError naming the file and line), ``SURVEY_LOADER(activity, module, page)
#: -> Activity``, ``SURVEY_EXPORTER(activity) -> dict``.
SURVEY_READER = None
SURVEY_LOADER = None
SURVEY_EXPORTER = None


@dataclass
class ModuleData:
    """A module as read from a pack, with its pages."""

    key: str
    title: str
    pages: list[PageData] = field(default_factory=list)


@dataclass
class PackData:
    """A whole pack, checked and ready to apply."""

    folder: Path
    slug: str
    title: str
    summary: str
    topic: str
    estimated_minutes: int | None
    audience: list[str] | None  # None: everyone
    status: str
    sources: list[dict]
    modules: list[ModuleData]
    #: A GIFT file of questions for the course's bank, relative to the pack (or None).
    questions: str | None = None


def _fail(where: Path, line, message: str):
    raise PackError(f"{where}{f':{line}' if line else ''}: {message}")


def _text(mapping: dict, name: str, where: Path, required: bool = True) -> str:
    value = mapping.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            _fail(where, mapping.get("__line__"), f"'{name}' is missing")
        return ""
    if not isinstance(value, str | int | float | date):
        _fail(where, mapping.get("__line__"), f"'{name}' must be text")
    return str(value).strip()


def _key(mapping: dict, where: Path, seen: set) -> str:
    key = _text(mapping, "key", where)
    if not set(key) <= KEY_CHARS:
        _fail(where, mapping.get("__line__"), f"key '{key}' may use only a-z, 0-9, '-' and '_'")
    if key in seen:
        _fail(where, mapping.get("__line__"), f"key '{key}' is used twice")
    seen.add(key)
    return key


def read_pack(folder: Path) -> PackData:
    """Read and check one pack folder; raise PackError naming the file and line."""
    course_file = folder / "course.yaml"
    if not course_file.is_file():
        _fail(folder, None, "course.yaml is missing")
    try:
        doc = yaml.load(course_file.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except UnicodeDecodeError:
        _fail(course_file, None, "the file is not UTF-8 text")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        _fail(
            course_file,
            mark.line + 1 if mark else None,
            f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
        )
    if not isinstance(doc, dict):
        _fail(course_file, None, "expected a mapping with slug, title, modules")
    if doc.get("format") != FORMAT_VERSION:
        _fail(course_file, doc.get("__line__"), f"'format' must be {FORMAT_VERSION}")
    slug = _text(doc, "slug", course_file)
    if not services.SLUG_RE.match(slug):
        _fail(course_file, doc["__line__"], f"slug '{slug}' may use only a-z, 0-9 and '-'")
    topic = _text(doc, "topic", course_file, required=False)
    if topic and topic not in services.TOPICS:
        _fail(
            course_file,
            doc["__line__"],
            f"unknown topic '{topic}' (one of {', '.join(services.TOPICS)})",
        )
    audience = doc.get("audience", "all")
    if audience != "all" and not (
        isinstance(audience, list) and audience and all(isinstance(a, str) for a in audience)
    ):
        _fail(course_file, doc["__line__"], "'audience' must be 'all' or a list of unit codes")
    minutes = doc.get("estimated_minutes")
    if minutes is not None and (not isinstance(minutes, int) or minutes <= 0):
        _fail(course_file, doc["__line__"], "'estimated_minutes' must be a positive number")
    status = doc.get("status", "published")
    if status not in ("draft", "published"):
        _fail(course_file, doc["__line__"], "'status' must be draft or published")
    sources = []
    for source in doc.get("sources") or []:
        if not isinstance(source, dict):
            _fail(course_file, doc["__line__"], "each source needs a title")
        sources.append(
            {
                "file": _text(source, "file", course_file, required=False),
                "title": _text(source, "title", course_file),
                "date": _text(source, "date", course_file, required=False),
            }
        )
    raw_modules = doc.get("modules")
    if not isinstance(raw_modules, list) or not raw_modules:
        _fail(course_file, doc["__line__"], "'modules' must list at least one module")
    module_keys: set = set()
    activity_keys: set = set()
    modules = []
    for raw in raw_modules:
        if not isinstance(raw, dict):
            _fail(course_file, doc["__line__"], "each module needs a key and a title")
        module = ModuleData(
            key=_key(raw, course_file, module_keys), title=_text(raw, "title", course_file)
        )
        for item in raw.get("activities") or []:
            if not isinstance(item, dict):
                _fail(course_file, raw["__line__"], "each activity needs a key, type and title")
            line = item["__line__"]
            kind = _text(item, "type", course_file)
            if kind not in ACTIVITY_TYPES:
                _fail(course_file, line, f"unknown activity type '{kind}'")
            relative = _text(item, "file", course_file)
            page_file = (folder / relative).resolve()
            if folder.resolve() not in page_file.parents:
                _fail(course_file, line, f"file '{relative}' is outside the pack")
            if not page_file.is_file():
                _fail(course_file, line, f"file '{relative}' does not exist")
            try:
                text = page_file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                _fail(page_file, None, "the file is not UTF-8 text")
            completion = item.get(
                "completion",
                {"video": "watch", "quiz": "passed", "survey": "submitted"}.get(kind, "view"),
            )
            if kind == "page" and completion not in ("view", "mark_done"):
                _fail(course_file, line, "'completion' must be view or mark_done")
            if kind == "quiz" and completion not in ("passed", "attempted"):
                _fail(course_file, line, "a quiz's 'completion' is passed or attempted")
            if kind == "video" and completion != "watch":
                _fail(course_file, line, "a video lesson's 'completion' is watch")
            if kind == "survey" and completion != "submitted":
                _fail(course_file, line, "a survey's 'completion' is submitted")
            page = PageData(
                key=_key(item, course_file, activity_keys),
                title=_text(item, "title", course_file),
                markdown=text.lstrip("\ufeff"),
                required=bool(item.get("required", True)),
                completion=completion,
                file=relative,
                kind=kind,
            )
            if kind == "video":
                _read_video(item, page, folder, course_file)
            if kind == "quiz":
                spec = item.get("quiz")
                if not isinstance(spec, dict):
                    _fail(course_file, line, "a quiz needs a 'quiz' mapping of its settings")
                page.quiz = {k: v for k, v in spec.items() if k != "__line__"}
                problem = QUIZ_CHECKER(page.quiz) if QUIZ_CHECKER is not None else None
                if problem:
                    _fail(course_file, spec.get("__line__", line), problem)
            if kind == "survey":
                spec = item.get("survey", {"__line__": line})
                if not isinstance(spec, dict):
                    _fail(course_file, line, "'survey' must be a mapping: anonymous, items")
                if SURVEY_READER is None:
                    _fail(course_file, line, "surveys need the surveys domain")
                page.survey = SURVEY_READER(spec, course_file)
            module.pages.append(page)
        modules.append(module)
    questions = doc.get("questions")
    if questions is not None:
        if not isinstance(questions, str):
            _fail(course_file, doc["__line__"], "'questions' must be a file name")
        path = _inside(folder, questions, course_file, doc["__line__"])
        if not path.is_file():
            _fail(course_file, doc["__line__"], f"file '{questions}' does not exist")
        if QUESTION_CHECKER is not None:
            try:
                QUESTION_CHECKER(path)
            except ServiceError as exc:
                problems = getattr(exc, "problems", [])
                detail = "; ".join(f"line {p.line}: {p.message}" for p in problems[:5])
                _fail(path, None, f"{exc} {detail}".strip())
    return PackData(
        folder=folder,
        slug=slug,
        questions=questions,
        title=_text(doc, "title", course_file),
        summary=_text(doc, "summary", course_file, required=False),
        topic=topic,
        estimated_minutes=minutes,
        audience=None if audience == "all" else audience,
        status=status,
        sources=sources,
        modules=modules,
    )


def _inside(folder: Path, relative: str, course_file: Path, line: int) -> Path:
    path = (folder / relative).resolve()
    if folder.resolve() not in path.parents:
        _fail(course_file, line, f"file '{relative}' is outside the pack")
    return path


def _read_video(item: dict, page: PageData, folder: Path, course_file: Path) -> None:
    """Read a video lesson's lecture, captions, threshold and generate keys."""
    line = item["__line__"]
    page.video = _text(item, "video", course_file)
    _inside(folder, page.video, course_file, line)
    page.generate = item.get("generate")
    if page.generate not in (None, "slides"):
        _fail(course_file, line, "'generate' must be slides")
    captions = item.get("captions") or {}
    if not isinstance(captions, dict):
        _fail(course_file, line, "'captions' must map a language code to a .vtt or .srt file")
    for language, relative in captions.items():
        if language == "__line__":
            continue
        if not isinstance(relative, str):
            _fail(course_file, line, f"captions '{language}' must be a file name")
        path = _inside(folder, relative, course_file, line)
        if not path.is_file() and page.generate is None:
            _fail(course_file, line, f"file '{relative}' does not exist")
        page.captions[str(language)] = relative
    threshold = item.get("threshold", 0.9)
    if not isinstance(threshold, int | float) or not 0.1 <= threshold <= 1:
        _fail(course_file, line, "'threshold' must be a share between 0.1 and 1")
    page.threshold = float(threshold)


def read_packs(root: Path) -> list[PackData]:
    """Read every pack below ``root`` (or ``root`` itself if it is one); check slugs are unique."""
    if not root.is_dir():
        raise PackError(f"{root}: not a folder")
    folders = (
        [root]
        if (root / "course.yaml").exists()
        else sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    packs = [read_pack(folder) for folder in folders]
    seen: dict[str, Path] = {}
    for pack in packs:
        if pack.slug in seen:
            raise PackError(f"{pack.folder}: slug '{pack.slug}' is also used by {seen[pack.slug]}")
        seen[pack.slug] = pack.folder
    return packs


def apply_pack(pack: PackData) -> Course:
    """Create or update the course a pack describes (the caller commits)."""
    course = db.session.scalar(select(Course).where(Course.slug == pack.slug))
    if course is None:
        course = services.create_course(None, slug=pack.slug, title=pack.title, record=False)
    course.title, course.summary, course.topic = pack.title, pack.summary, pack.topic
    course.estimated_minutes = pack.estimated_minutes
    course.status = pack.status
    services._index(course)  # noqa: SLF001 - same domain
    unit_ids = []
    for code in pack.audience or []:
        unit = accounts.unit_by_code(code)
        if unit is None or not unit.active:
            raise PackError(
                f"{pack.folder / 'course.yaml'}: unknown unit code '{code}' in audience"
            )
        unit_ids.append(unit.id)
    course.settings.audience_all = pack.audience is None
    services.set_audience(course, unit_ids)
    if [(s.file, s.title, s.date) for s in course.sources] != [
        (s["file"], s["title"], s["date"]) for s in pack.sources
    ]:
        services.replace_sources(course, pack.sources)
    modules = {
        m.key: m for m in db.session.scalars(select(Module).where(Module.course_id == course.id))
    }
    activities = {
        a.key: a
        for a in db.session.scalars(select(Activity).where(Activity.course_id == course.id))
    }
    wanted_modules, wanted_activities = set(), set()
    if pack.questions and QUESTION_LOADER is not None:
        QUESTION_LOADER(course, pack.folder / pack.questions)  # quizzes draw from the bank
    for m_position, data in enumerate(pack.modules, start=1):
        module = modules.get(data.key) or services.add_module(course, data.title, key=data.key)
        module.title, module.position, module.archived = data.title, m_position, False
        wanted_modules.add(data.key)
        for a_position, page in enumerate(data.pages, start=1):
            activity = activities.get(page.key)
            if page.kind == "video":
                if VIDEO_LOADER is None:
                    raise PackError(f"{pack.folder}: video lessons need the media domain")
                activity = VIDEO_LOADER(activity, module, page, pack.folder)
            elif page.kind == "quiz":
                if QUIZ_LOADER is None:
                    raise PackError(f"{pack.folder}: quizzes need the quiz domain")
                activity = QUIZ_LOADER(activity, module, page)
            elif page.kind == "survey":
                if SURVEY_LOADER is None:
                    raise PackError(f"{pack.folder}: surveys need the surveys domain")
                activity = SURVEY_LOADER(activity, module, page)
            elif activity is None:
                activity = services.add_page(
                    module,
                    page.title,
                    page.markdown,
                    required=page.required,
                    completion=page.completion,
                    key=page.key,
                )
            elif (
                activity.title,
                activity.required,
                activity.completion,
                activity.page.markdown if activity.page else None,
            ) != (page.title, page.required, page.completion, page.markdown):
                services.update_page(
                    activity,
                    page.title,
                    page.markdown,
                    required=page.required,
                    completion=page.completion,
                )
            activity.module_id, activity.position, activity.archived = (
                module.id,
                a_position,
                False,
            )
            wanted_activities.add(page.key)
    for key, module in modules.items():
        if key not in wanted_modules:
            module.archived = True
    for key, activity in activities.items():
        if key not in wanted_activities:
            activity.archived = True
    db.session.flush()
    return course


def load_packs(root: Path, new_only: bool = False) -> list[Course]:
    """Read every pack below ``root``, then apply them all (nothing is written on error).

    With ``new_only``, packs whose course already exists are checked but not applied, so
    changes made on the site are kept.
    """
    packs = read_packs(root)
    if new_only:
        existing = set(db.session.scalars(select(Course.slug)))
        packs = [pack for pack in packs if pack.slug not in existing]
    courses = [apply_pack(pack) for pack in packs]
    for course in courses:
        record_audit("course.loaded", target_type="course", target_id=course.id, detail=course.slug)
    return courses


def export_pack(course: Course, folder: Path) -> Path:
    """Write ``course`` to ``folder/<slug>`` in the pack format; return that folder."""
    target = folder / course.slug
    (target / "pages").mkdir(parents=True, exist_ok=True)
    modules = []
    number = 0
    for module, activities in services.outline(course):
        entries = []
        for activity in activities:
            number += 1
            name = f"pages/{number:02d}-{activity.key}.md"
            (target / name).write_text(
                activity.page.markdown if activity.page else "", encoding="utf-8"
            )
            entry = {
                "key": activity.key,
                "type": activity.type,
                "title": activity.title,
                "file": name,
                "required": activity.required,
                **(
                    {"completion": activity.completion}
                    if activity.completion not in ("view", "watch", "passed")
                    else {}
                ),
            }
            if activity.type == "video" and VIDEO_EXPORTER is not None:
                entry.update(VIDEO_EXPORTER(activity, target))
            if activity.type == "quiz" and QUIZ_EXPORTER is not None:
                entry["quiz"] = QUIZ_EXPORTER(activity)
            if activity.type == "survey" and SURVEY_EXPORTER is not None:
                entry["survey"] = SURVEY_EXPORTER(activity)
            entries.append(entry)
        modules.append({"key": module.key, "title": module.title, "activities": entries})
    audience = (
        "all" if course.settings.audience_all else [u.code for u in services.audience_units(course)]
    )
    questions = QUESTION_EXPORTER(course, target) if QUESTION_EXPORTER is not None else None
    doc = {
        "format": FORMAT_VERSION,
        "slug": course.slug,
        "title": course.title,
        "summary": course.summary,
        "topic": course.topic,
        **({"estimated_minutes": course.estimated_minutes} if course.estimated_minutes else {}),
        "audience": audience,
        "status": course.status,
        "sources": [
            {"file": s.file, "title": s.title, **({"date": s.date} if s.date else {})}
            for s in course.sources
        ],
        **({"questions": questions} if questions else {}),
        "modules": modules,
    }
    (target / "course.yaml").write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
    )
    return target
