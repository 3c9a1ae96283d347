"""Bad input on the people and unit forms: clear Vietnamese messages beside the field."""

import pytest

from elearn.accounts.models import OrgUnit, User
from elearn.extensions import db


def _summary(html: str) -> str:
    return html.split('class="error-summary"')[1].split("</div>")[0]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "ab"}, "username", "Nhập từ 3 đến 64 ký tự."),
        ({"username": "learner"}, "username", "đã được sử dụng"),
        ({"username": "new.person", "email": "not-an-email"}, "email", "ten.ho@donvi.gov.vn"),
        ({"username": "new.person", "email": "user5@example.vn"}, "email", "user5@example.vn"),
        ({"username": "có dấu cách"}, "username", "chữ cái"),
        ({"username": "new.person", "full_name": "x" * 300}, "full_name", "tối đa 255"),
    ],
)
def test_person_form_reports_problems_beside_the_field(as_user, world, data, field, message):
    form = {"full_name": "Người Mới", "unit_id": world.team_a1.id, **data}
    response = as_user("hr_a").post("/admin/people/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    summary = _summary(html)
    assert f'href="#{field}"' in summary
    assert message in summary
    assert db.session.scalar(db.select(User).where(User.username == "new.person")) is None


def test_a_unit_not_offered_is_refused_in_vietnamese(as_user, world):
    html = (
        as_user("hr_a")
        .post(
            "/admin/people/new",
            data={
                "full_name": "Người Mới",
                "username": "new.person",
                "unit_id": world.dept_b.id,
            },
        )
        .get_data(as_text=True)
    )
    assert "Lựa chọn không hợp lệ." in _summary(html)


@pytest.mark.parametrize(("code", "message"), [("BO A", "không có khoảng trắng"), ("bo.a", "BO.A")])
def test_unit_codes_must_be_unique_and_without_spaces(as_user, world, code, message):
    html = (
        as_user("admin")
        .post(
            "/admin/units/new",
            data={
                "code": code,
                "name": "Vụ Mới",
                "kind": "department",
                "parent_id": world.ministry.id,
            },
        )
        .get_data(as_text=True)
    )
    assert message in _summary(html) or "đã được" in _summary(html)
    assert db.session.scalar(db.select(OrgUnit).where(OrgUnit.name == "Vụ Mới")) is None


def test_hostile_html_in_a_name_is_shown_as_text(as_user, world):
    as_user("hr_a").post(
        "/admin/people/new",
        data={
            "full_name": "<script>alert(1)</script> Nguyễn",
            "username": "hostile",
            "unit_id": world.team_a1.id,
        },
    )
    html = as_user("hr_a").get("/admin/people").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Nguyễn" in html
