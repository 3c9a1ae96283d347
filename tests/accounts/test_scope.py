"""hr users see and manage only their own subtree, whatever IDs they type into URLs."""

import pytest

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, User
from elearn.extensions import db


def test_people_list_shows_only_the_subtree(as_user, world):
    page = as_user("hr_a").get("/admin/people").get_data(as_text=True)
    assert "Nguyễn Thị Ánh" in page  # learner in team_a1, below dept_a
    assert "Đỗ Văn Dũng" not in page  # outsider in dept_b
    assert "Phạm Văn Đức" not in page  # hr_b


@pytest.mark.parametrize(
    "path",
    [
        "/admin/people/{outsider}",
        "/admin/people/{outsider}/edit",
        "/admin/units/{dept_b}",
        "/admin/people?unit={dept_b}",
    ],
)
def test_ids_outside_the_subtree_are_not_found(as_user, world, path):
    url = path.format(outsider=world.outsider.id, dept_b=world.dept_b.id)
    assert as_user("hr_a").get(url).status_code == 404


@pytest.mark.parametrize("action", ["active", "transfer", "send-link"])
def test_hr_cannot_act_on_people_outside_the_subtree(as_user, world, action):
    response = as_user("hr_a").post(
        f"/admin/people/{world.outsider.id}/{action}",
        data={"unit_id": world.dept_a.id, "active": "0"},
    )
    assert response.status_code == 404
    outsider = db.session.get(User, world.outsider.id)
    assert outsider.active
    assert outsider.unit_id == world.dept_b.id


def test_hr_cannot_move_someone_into_a_foreign_unit(as_user, world):
    as_user("hr_a").post(
        f"/admin/people/{world.learner.id}/transfer", data={"unit_id": world.dept_b.id}
    )
    assert db.session.get(User, world.learner.id).unit_id == world.team_a1.id


def test_hr_cannot_create_people_in_a_foreign_unit(as_user, world):
    response = as_user("hr_a").post(
        "/admin/people/new",
        data={"full_name": "Kẻ Lạ", "username": "kela", "unit_id": world.dept_b.id},
    )
    assert response.status_code == 200  # the choice is not offered: form error
    assert db.session.scalar(db.select(User).where(User.username == "kela")) is None


def test_hr_sees_only_their_units(as_user, world):
    page = as_user("hr_a").get("/admin/units").get_data(as_text=True)
    assert "Phòng A1" in page
    assert "Vụ B" not in page
    assert "Bộ Thử Nghiệm" not in page


def test_hr_cannot_restructure_units(as_user, world):
    hr = as_user("hr_a")
    assert (
        hr.post(
            f"/admin/units/{world.team_a1.id}/rename", data={"code": "X", "name": "X"}
        ).status_code
        == 403
    )
    assert db.session.get(OrgUnit, world.team_a1.id).name == "Phòng A1"


def test_hr_of_two_units_sees_both(world, make_user):
    from elearn.accounts.models import RoleAssignment

    db.session.add(RoleAssignment(user_id=world.hr_a.id, role="hr", unit_id=world.dept_b.id))
    db.session.commit()
    hr_a = db.session.get(User, world.hr_a.id)
    names = {p.username for p in db.session.scalars(accounts.people_in_scope(hr_a))}
    assert {"learner", "outsider", "hr.b"} <= names
    assert "admin" not in names  # sits in the ministry itself, above both scopes


def test_only_admins_grant_roles(as_user, world):
    response = as_user("hr_a").post(
        f"/admin/people/{world.learner.id}/roles", data={"role": "hr", "unit_id": world.dept_a.id}
    )
    assert response.status_code == 403
    admin = as_user("admin")
    admin.post(
        f"/admin/people/{world.learner.id}/roles", data={"role": "hr", "unit_id": world.team_a1.id}
    )
    learner = db.session.get(User, world.learner.id)
    assert learner.is_hr
    assert "Phòng A1" in admin.get(f"/admin/people/{learner.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("active", {"active": "0"}),
        ("edit", {"full_name": "Đổi Tên", "email": "takeover@example.vn"}),
        ("send-link", {}),
    ],
)
def test_hr_cannot_change_an_administrators_account(as_user, world, action, data):
    """An admin sitting inside an hr user's subtree stays out of that hr user's reach."""
    admin = db.session.get(User, world.admin.id)
    admin.unit_id = world.team_a1.id
    db.session.commit()
    hr = as_user("hr_a")
    page = hr.post(
        f"/admin/people/{world.admin.id}/{action}", data=data, follow_redirects=True
    ).get_data(as_text=True)
    assert "Chỉ quản trị viên" in page
    admin = db.session.get(User, world.admin.id)
    assert admin.active
    assert admin.email == world.admin.email
    assert admin.full_name == "Quản Trị Viên"


def test_search_matches_the_start_of_words_only(as_user, world):
    accounts.create_user("Bùi Thanh Bình", "binh.bui", world.dept_a)
    accounts.create_user("Lê Thị Hạnh Nguyên", "hanh.le", world.dept_a)
    db.session.commit()
    page = as_user("hr_a").get("/admin/people?q=anh").get_data(as_text=True)
    assert "Nguyễn Thị Ánh" in page
    assert "Bùi Thanh Bình" not in page
    assert "Lê Thị Hạnh Nguyên" not in page
    page = as_user("hr_a").get("/admin/people?q=THANH bi").get_data(as_text=True)
    assert "Bùi Thanh Bình" in page
