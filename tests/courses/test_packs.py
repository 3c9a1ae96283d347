"""Content packs: idempotent, all-or-nothing loading, export round trip, the real curriculum."""

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from elearn.courses import packs
from elearn.courses import services as courses
from elearn.courses.models import Activity, Course, CourseSource, Module, PageContent
from elearn.extensions import db
from elearn.progress import services as progress

CONTENT = Path(__file__).parents[2] / "content"

COURSE_YAML = """\
format: 1
slug: mau
title: Khóa học mẫu
summary: Tóm tắt
topic: chuyen-doi-so
audience: all
sources:
  - file: 003_aaeaabb5907c0344.txt
    title: Lớp bồi dưỡng về Chuyển đổi số
    date: 2020-11-12
modules:
  - key: m1
    title: Phần một
    activities:
      - key: m1-p1
        type: page
        title: Bài một
        file: pages/01.md
      - key: m1-p2
        type: page
        title: Bài hai
        file: pages/02.md
        required: false
"""


@pytest.fixture
def pack_root(tmp_path):
    """A folder of its own: tmp_path also holds the app's instance folder."""
    root = tmp_path / "packs"
    root.mkdir()
    return root


def write_pack(root: Path, slug="mau", yaml_text=COURSE_YAML, pages=None) -> Path:
    folder = root / slug
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    (folder / "course.yaml").write_text(yaml_text, encoding="utf-8")
    for name, text in (
        pages or {"01.md": "## Một\n\nNội dung một.", "02.md": "## Hai\n\nNội dung hai."}
    ).items():
        (folder / "pages" / name).write_text(text, encoding="utf-8")
    return folder


def snapshot():
    """Everything a pack writes, as plain values."""
    return {
        "courses": db.session.execute(
            select(Course.slug, Course.title, Course.summary, Course.topic, Course.status)
        ).all(),
        "modules": db.session.execute(
            select(Module.key, Module.title, Module.position, Module.archived).order_by(Module.key)
        ).all(),
        "activities": db.session.execute(
            select(
                Activity.key,
                Activity.title,
                Activity.position,
                Activity.required,
                Activity.archived,
                Activity.module_id,
            ).order_by(Activity.key)
        ).all(),
        "pages": db.session.execute(
            select(PageContent.activity_id, PageContent.markdown, PageContent.html)
        ).all(),
        "sources": db.session.execute(select(CourseSource.title, CourseSource.date)).all(),
    }


def test_loading_twice_gives_the_same_database(app, pack_root):
    write_pack(pack_root)
    packs.load_packs(pack_root)
    db.session.commit()
    first = snapshot()
    packs.load_packs(pack_root)
    db.session.commit()
    assert snapshot() == first
    assert len(first["activities"]) == 2


def test_reloading_updates_in_place_and_keeps_progress(world, pack_root):
    folder = write_pack(pack_root)
    (course,) = packs.load_packs(pack_root)
    run = courses.enrol(world.learner, course)
    first = courses.sequence(course)[0]
    progress.record(run, first, "viewed")
    db.session.commit()
    changed = COURSE_YAML.replace("title: Bài một", "title: Bài một (sửa)").replace(
        """      - key: m1-p2
        type: page
        title: Bài hai
        file: pages/02.md
        required: false
""",
        "",
    )
    (folder / "course.yaml").write_text(changed, encoding="utf-8")
    packs.load_packs(pack_root)
    db.session.commit()
    assert [a.title for a in courses.sequence(course)] == ["Bài một (sửa)"]
    assert db.session.scalar(select(Activity).where(Activity.key == "m1-p2")).archived
    assert progress.states(run) == {first.id: "completed"}


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda f: (f / "pages" / "02.md").unlink(), "course.yaml:19: file 'pages/02.md' does not"),
        (
            lambda f: (f / "course.yaml").write_text(
                COURSE_YAML.replace("modules:", "modules: ["), encoding="utf-8"
            ),
            "invalid YAML",
        ),
        (
            lambda f: (f / "course.yaml").write_text(
                COURSE_YAML.replace("type: page", "type: tv", 1), encoding="utf-8"
            ),
            "course.yaml:15: unknown activity",
        ),
        (
            lambda f: (f / "course.yaml").write_text(
                COURSE_YAML.replace("key: m1-p2", "key: m1-p1"), encoding="utf-8"
            ),
            "key 'm1-p1' is used twice",
        ),
        (
            lambda f: (f / "course.yaml").write_text(
                COURSE_YAML.replace("format: 1", "format: 9"), encoding="utf-8"
            ),
            "'format' must be 1",
        ),
        (
            lambda f: (f / "course.yaml").write_text(
                COURSE_YAML.replace("audience: all", "audience: [KHONG.CO]"), encoding="utf-8"
            ),
            "unknown unit code 'KHONG.CO'",
        ),
        (lambda f: (f / "course.yaml").write_bytes("title: Khóa".encode("utf-16")), "not UTF-8"),
    ],
)
def test_a_broken_pack_loads_nothing_and_names_the_file(app, pack_root, runner, damage, expected):
    write_pack(pack_root, "aaa-good", COURSE_YAML.replace("slug: mau", "slug: aaa-good"))
    folder = write_pack(pack_root)
    damage(folder)
    result = runner.invoke(args=["content", "load", str(pack_root)])
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output
    assert expected in result.output
    db.session.rollback()
    assert db.session.scalar(select(Course)) is None  # not even the good pack


def test_export_then_load_round_trips(world, pack_root):
    course = courses.create_course(
        world.instructor,
        slug="tu-soan",
        title="Tự soạn",
        summary="Viết trên web",
        topic="cai-cach-hanh-chinh",
    )
    module = courses.add_module(course, "Phần A")
    courses.add_page(module, "Trang 1", "## Ý chính\n\n- một\n- hai", completion="mark_done")
    courses.add_page(module, "Trang 2", "Văn bản **đậm**.", required=False)
    courses.add_module(course, "Phần B")
    course.settings.audience_all = False
    courses.set_audience(course, [world.dept_a.id])
    courses.set_status(course, world.instructor, True)
    db.session.commit()
    before = snapshot()
    packs.export_pack(course, pack_root)
    assert (pack_root / "tu-soan" / "course.yaml").exists()
    # Load the export over the same course: nothing changes.
    packs.load_packs(pack_root)
    db.session.commit()
    assert snapshot() == before
    assert [u.code for u in courses.audience_units(course)] == ["BO.A"]
    # And a pack read back from the export equals what was written.
    pack = packs.read_pack(pack_root / "tu-soan")
    assert [(p.key, p.title, p.required, p.completion) for m in pack.modules for p in m.pages] == [
        ("p1", "Trang 1", True, "mark_done"),
        ("p2", "Trang 2", False, "view"),
    ]


def test_the_starter_curriculum_loads(app, runner):
    result = runner.invoke(args=["content", "load", str(CONTENT)])
    assert result.exit_code == 0, result.output
    from elearn.quiz import services as quiz

    def banks():
        return {c.slug: len(quiz.questions_of(c)) for c in db.session.scalars(select(Course))}

    for course in db.session.scalars(select(Course)):
        bank = quiz.questions_of(course)
        assert len(bank) >= 10, course.slug
        assert len({q.type for q in bank}) >= 5, course.slug  # several types
    before = banks()
    again = runner.invoke(args=["content", "load", str(CONTENT)])
    assert again.exit_code == 0, again.output
    assert banks() == before  # loading again adds no question twice
    loaded = db.session.scalars(select(Course).order_by(Course.slug)).all()
    assert len(loaded) == len([p for p in CONTENT.iterdir() if (p / "course.yaml").exists()])
    for course in loaded:
        outline = courses.outline(course)
        assert len(outline) >= 3, course.slug
        assert all(len(activities) >= 2 for _m, activities in outline), course.slug
        assert course.sources, course.slug
        for activity in courses.sequence(course):
            if activity.type == "video":  # a short transcript beside the demo lecture
                assert len(activity.page.markdown.split()) >= 150, (course.slug, activity.key)
                continue
            if activity.type == "quiz":  # an intro, and 10 questions drawn from the bank
                from elearn.quiz import attempts, authoring

                assert activity.completion == "passed", course.slug
                assert authoring.total_questions(attempts.quiz_of(activity)) >= 8, course.slug
                continue
            if activity.type == "survey":  # an optional anonymous satisfaction survey
                from elearn.surveys import services as surveys

                survey = surveys.survey_of(activity)
                assert (activity.required, survey.anonymous) == (False, True), course.slug
                kinds = [item.kind for item in surveys.items_of(survey)]
                assert kinds.count("likert") >= 5, course.slug
                assert "comment" in kinds, course.slug
                continue
            assert len(activity.page.markdown.split()) >= 450, (course.slug, activity.key)


def test_content_folder_copy_loads_twice(app, runner, tmp_path):
    shutil.copytree(CONTENT, tmp_path / "content")
    runner.invoke(args=["content", "load", str(tmp_path / "content")])
    first = snapshot()
    result = runner.invoke(args=["content", "load", str(tmp_path / "content")])
    assert result.exit_code == 0
    assert snapshot() == first


def test_new_only_keeps_changes_made_on_the_site(app, runner, pack_root):
    write_pack(pack_root)
    runner.invoke(args=["content", "load", str(pack_root)])
    activity = db.session.scalar(select(Activity).where(Activity.key == "m1-p1"))
    courses.update_page(activity, "Bài một, sửa trên web", "Sửa trên web")
    db.session.commit()
    result = runner.invoke(args=["content", "load", str(pack_root), "--new-only"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.scalar(select(Activity).where(Activity.key == "m1-p1")).title == (
        "Bài một, sửa trên web"
    )
    runner.invoke(args=["content", "load", str(pack_root)])  # without the flag: pack wins
    db.session.expire_all()
    assert db.session.scalar(select(Activity).where(Activity.key == "m1-p1")).title == "Bài một"
