import pytest

from elearn.courses import services as courses
from elearn.extensions import db


@pytest.fixture
def make_course(world):
    """Return a factory of published courses with one module of N pages."""

    def factory(
        slug="chinh-phu-dien-tu",
        title="Chính phủ điện tử",
        pages=2,
        topic="chinh-phu-so",
        summary="Dịch vụ công trực tuyến cho người dân",
        publish=True,
    ):
        course = courses.create_course(
            world.instructor, slug=slug, title=title, topic=topic, summary=summary
        )
        module = courses.add_module(course, "Phần 1")
        for n in range(1, pages + 1):
            courses.add_page(module, f"Bài {n}", f"## Mục {n}\n\nNội dung bài {n}.")
        if publish:
            courses.set_status(course, world.instructor, True)
        db.session.commit()
        return course

    return factory
