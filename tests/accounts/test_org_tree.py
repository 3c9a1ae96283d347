"""The org tree: subtree queries use the index, units move and merge, scopes follow."""

import pytest
from sqlalchemy import select, text

from elearn.accounts import services as accounts
from elearn.accounts.models import OrgUnit, RoleAssignment, User, UserTransfer
from elearn.core.services import ServiceError
from elearn.extensions import db


def _codes(query):
    return sorted(u.code for u in db.session.scalars(query))


def test_subtree_is_the_unit_and_everything_below(world):
    assert _codes(accounts.subtree_query(world.dept_a)) == ["BO.A", "BO.A.1"]
    assert len(_codes(accounts.subtree_query(world.ministry))) == 4


def test_subtree_does_not_catch_siblings_sharing_a_prefix(app):
    """Unit 1 must not contain unit 10, 11, ... whose paths start with the same digit."""
    root = accounts.create_unit("R", "Gốc", "ministry", None, None)
    units = [accounts.create_unit(f"U{i}", f"Đơn vị {i}", "unit", root, None) for i in range(12)]
    first = units[0]  # id 2; units with ids 20.. would share "/1/2"
    for i in range(10):
        accounts.create_unit(f"U0.{i}", f"Con {i}", "unit", units[i % 2], None)
    ids_below_first = {u.id for u in db.session.scalars(accounts.subtree_query(first))}
    assert all(db.session.get(OrgUnit, i).path.startswith(first.path) for i in ids_below_first)
    assert len(ids_below_first) == 1 + 5


def test_subtree_query_uses_the_path_index(world):
    query = accounts.subtree_query(world.dept_a)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(
            str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "USING INDEX ix_org_units_path" in plan, plan
    else:
        # A 4-row table would be scanned anyway; forbid that to see the planner can use it.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_org_units_path" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_people_in_scope_uses_the_path_index(world):
    query = accounts.people_in_scope(world.hr_a)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(
            str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
        assert "ix_org_units_path" in plan, plan
    else:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_org_units_path" in plan, plan


def test_move_rewrites_the_whole_subtree(world):
    accounts.move_unit(world.dept_a, world.dept_b, world.admin)
    db.session.commit()
    dept_a = db.session.get(OrgUnit, world.dept_a.id)
    team = db.session.get(OrgUnit, world.team_a1.id)
    assert dept_a.path == f"/1/{world.dept_b.id}/{dept_a.id}/"
    assert team.path == f"{dept_a.path}{team.id}/"
    assert (dept_a.depth, team.depth) == (2, 3)
    assert _codes(accounts.subtree_query(db.session.get(OrgUnit, world.dept_b.id))) == [
        "BO.A",
        "BO.A.1",
        "BO.B",
    ]


def test_move_to_top_level_and_back(world):
    accounts.move_unit(world.dept_a, None, world.admin)
    team = db.session.get(OrgUnit, world.team_a1.id)
    assert team.path == f"/{world.dept_a.id}/{world.team_a1.id}/"
    accounts.move_unit(db.session.get(OrgUnit, world.dept_a.id), world.ministry, world.admin)
    assert db.session.get(OrgUnit, world.team_a1.id).path == "/1/2/3/"


def test_a_unit_cannot_move_under_its_own_subtree(world):
    with pytest.raises(ServiceError):
        accounts.move_unit(world.dept_a, world.team_a1, world.admin)


def test_scopes_follow_the_tree_after_a_move(world):
    """Hr of dept_b gains dept_a's people when dept_a moves under dept_b."""
    learner_id = world.learner.id
    with pytest.raises(accounts.NotFound):
        accounts.get_user_for(world.hr_b, learner_id)
    accounts.move_unit(world.dept_a, world.dept_b, world.admin)
    db.session.commit()
    hr_b = db.session.get(User, world.hr_b.id)
    assert accounts.get_user_for(hr_b, learner_id).username == "learner"


def test_merge_moves_people_units_and_roles_and_keeps_history(world):
    extra = accounts.create_unit("BO.A.2", "Phòng A2", "unit", world.dept_a, None)
    accounts.merge_unit(world.dept_a, world.dept_b, world.admin, "Quyết định 123/QĐ")
    db.session.commit()
    dept_a = db.session.get(OrgUnit, world.dept_a.id)
    assert dept_a.active is False
    assert dept_a.merged_into_id == world.dept_b.id
    # Sub-units now hang under dept_b.
    assert db.session.get(OrgUnit, world.team_a1.id).parent_id == world.dept_b.id
    assert db.session.get(OrgUnit, extra.id).path.startswith(
        db.session.get(OrgUnit, world.dept_b.id).path
    )
    # People of dept_a now belong to dept_b, with a transfer recorded.
    hr_a = db.session.get(User, world.hr_a.id)
    assert hr_a.unit_id == world.dept_b.id
    transfer = db.session.scalar(select(UserTransfer).where(UserTransfer.user_id == hr_a.id))
    assert (transfer.from_unit_id, transfer.to_unit_id) == (world.dept_a.id, world.dept_b.id)
    assert "123/QĐ" in transfer.reason
    # hr of dept_a is now hr of dept_b, and sees the learner (still in team_a1, now under B).
    scope = db.session.scalar(select(RoleAssignment).where(RoleAssignment.user_id == hr_a.id))
    assert scope.unit_id == world.dept_b.id
    assert accounts.get_user_for(hr_a, world.outsider.id).username == "outsider"
    assert accounts.get_user_for(hr_a, world.learner.id).username == "learner"


def test_merge_into_own_subtree_is_refused(world):
    with pytest.raises(ServiceError):
        accounts.merge_unit(world.dept_a, world.team_a1, world.admin)
    with pytest.raises(ServiceError):
        accounts.merge_unit(world.dept_a, world.dept_a, world.admin)


def test_merge_drops_duplicate_role_scopes(world):
    db.session.add(RoleAssignment(user_id=world.hr_b.id, role="hr", unit_id=world.dept_a.id))
    db.session.flush()
    accounts.merge_unit(world.dept_a, world.dept_b, world.admin)
    roles = db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == world.hr_b.id)
    ).all()
    assert [(r.role, r.unit_id) for r in roles] == [("hr", world.dept_b.id)]


def test_rename_keeps_the_old_name_in_the_audit_log(world):
    from elearn.core.models import AuditLog

    accounts.rename_unit(world.dept_a, "Vụ Chuyển đổi số", world.admin)
    db.session.commit()
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "unit.renamed"))
    assert "Vụ A" in entry.detail
    assert "Vụ Chuyển đổi số" in entry.detail


def test_transfer_records_history(world):
    accounts.transfer_user(world.learner, world.dept_b, world.admin, "Điều động")
    db.session.commit()
    history = accounts.transfers_of(world.learner)
    assert [(t.from_unit.code, t.to_unit.code, t.reason) for t in history] == [
        ("BO.A.1", "BO.B", "Điều động")
    ]


def test_hr_cannot_transfer_people_out_of_their_subtree(world):
    with pytest.raises(accounts.Forbidden):
        accounts.transfer_user(world.learner, world.dept_b, world.hr_a)


def test_unit_codes_are_unique_case_insensitively(world):
    with pytest.raises(ServiceError):
        accounts.create_unit("bo.a", "Khác", "unit", world.ministry, None)


def test_restructuring_through_the_pages(as_user, world):
    admin = as_user("admin")
    response = admin.post(
        f"/admin/units/{world.dept_a.id}/merge",
        data={"target_id": world.dept_b.id, "reason": "QĐ 1", "confirm": "y"},
    )
    assert response.status_code == 302
    assert db.session.get(OrgUnit, world.dept_a.id).active is False
    unit_page = admin.get(f"/admin/units/{world.dept_a.id}").get_data(as_text=True)
    assert "Vụ B" in unit_page  # "merged into" links to the target
    # Merging without ticking the confirmation is refused with a message.
    admin.post(f"/admin/units/{world.team_a1.id}/merge", data={"target_id": world.dept_b.id})
    assert db.session.get(OrgUnit, world.team_a1.id).active is True
