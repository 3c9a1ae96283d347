"""Account operations: people, units, roles, passwords and who may see whom.

Callers commit; these functions add and flush. Scope rules live here: an hr
user sees and manages only the units and people inside the subtrees of the
units they are hr for; an admin sees everything. Objects outside a person's
scope raise ``NotFound`` so that IDs typed into a URL reveal nothing.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from werkzeug.security import check_password_hash, generate_password_hash

from elearn.accounts.models import ROLES, OrgUnit, RoleAssignment, User, UserTransfer, new_nonce
from elearn.core.clock import utcnow
from elearn.core.services import (
    AUDIT_LABELS,
    Forbidden,
    NotFound,
    ServiceError,
    record_audit,
    send_mail,
)
from elearn.core.vietnamese import collation_key, fold, nfc, person_sort_key
from elearn.extensions import db

log = logging.getLogger(__name__)

AUDIT_LABELS.update(
    {
        "auth.login": _l("Signed in"),
        "auth.login_failed": _l("Failed sign-in"),
        "auth.login_limited": _l("Sign-in blocked: too many attempts"),
        "auth.password_changed": _l("Password changed"),
        "auth.password_change_failed": _l("Wrong current password when changing it"),
        "auth.password_reset": _l("Password set through a mailed link"),
        "auth.reset_requested": _l("Password link requested"),
        "auth.reset_requested_unknown": _l("Password link requested for an unknown account"),
        "auth.link_sent": _l("Password link mailed by staff"),
        "user.created": _l("Account created"),
        "user.updated": _l("Account edited"),
        "user.transferred": _l("Transferred to another unit"),
        "user.deactivated": _l("Account deactivated"),
        "user.reactivated": _l("Account reactivated"),
        "unit.created": _l("Unit created"),
        "unit.renamed": _l("Unit renamed"),
        "unit.signer": _l("Certificate signer set"),
        "unit.moved": _l("Unit moved"),
        "unit.merged": _l("Unit merged"),
        "role.assigned": _l("Role given"),
        "role.revoked": _l("Role removed"),
    }
)

#: Sent as unit_merged.send(source_id=..., target_id=...) inside the merge's transaction,
#: so that later domains (course audiences, ...) follow the merge without accounts
#: importing them.
unit_merged = Namespace().signal("unit-merged")
#: Sent as person_joined.send(user_id=..., unit_id=..., from_unit_id=...) when an account is
#: created in a unit (from_unit_id None) or a person moves to one (a transfer, a merge),
#: inside that transaction: later domains enrol newcomers in what the unit must take and
#: keep their copies of the person's unit in step.
person_joined = Namespace().signal("person-joined")

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$")
MIN_PASSWORD_LENGTH = 10


class AuthError(ServiceError):
    """Sign-in refused. The message never says whether the account exists."""


class WrongPassword(ServiceError):
    """The current password given to confirm a change is wrong."""


class TokenError(ServiceError):
    """A password-reset link is invalid, expired or already used."""


# --- units -----------------------------------------------------------------------------------


def _subtree_filter(path: str):
    """Return the indexed range predicate for the subtree rooted at ``path``."""
    return and_(OrgUnit.path >= path, OrgUnit.path < path[:-1] + "0")


def subtree_query(unit: OrgUnit):
    """Return a select of ``unit`` and every unit below it."""
    return select(OrgUnit).where(_subtree_filter(unit.path))


UNIT_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _check_unit_code(code: str) -> None:
    if not UNIT_CODE_RE.match(code):
        raise ServiceError(
            _l("A unit code has letters, digits, dots, dashes or underscores, without spaces."),
            "code",
        )


def create_unit(code: str, name: str, kind: str, parent: OrgUnit | None, actor: User | None):
    """Create a unit under ``parent`` (or a new top-level unit)."""
    code = code.strip()
    name = nfc(name.strip())
    if not code or not name:
        raise ServiceError(_l("A unit needs a code and a name."), field="code")
    _check_unit_code(code)
    if db.session.scalar(select(OrgUnit.id).where(func.lower(OrgUnit.code) == code.lower())):
        raise ServiceError(_l("Another unit already has the code %(code)s.", code=code), "code")
    if parent is not None and not parent.active:
        raise ServiceError(_l("Units cannot be added under a merged unit."))
    unit = OrgUnit(code=code, name=name, kind=kind, parent=parent, name_sort=collation_key(name))
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    unit.depth = parent.depth + 1 if parent else 0
    db.session.flush()
    record_audit(
        "unit.created",
        actor_id=actor and actor.id,
        target_type="unit",
        target_id=unit.id,
        detail=f"{code} {name}",
    )
    return unit


def set_signer(unit: OrgUnit, name: str, title: str, actor: User) -> None:
    """Set who signs the certificates this unit issues (existing certificates keep theirs)."""
    unit.signer_name = nfc((name or "").strip())[:255]
    unit.signer_title = nfc((title or "").strip())[:255]
    record_audit(
        "unit.signer",
        actor_id=actor.id,
        target_type="unit",
        target_id=unit.id,
        detail=f"{unit.signer_title} {unit.signer_name}".strip(),
    )


def rename_unit(unit: OrgUnit, name: str, actor: User, code: str | None = None) -> None:
    """Rename a unit (and optionally change its code); history keeps the old name."""
    name = nfc(name.strip())
    if not name:
        raise ServiceError(_l("A unit needs a name."))
    old = f"{unit.code} {unit.name}"
    if code and code != unit.code:
        _check_unit_code(code)
        clash = db.session.scalar(
            select(OrgUnit.id).where(
                func.lower(OrgUnit.code) == code.lower(), OrgUnit.id != unit.id
            )
        )
        if clash:
            raise ServiceError(_l("Another unit already has the code %(code)s.", code=code), "code")
        unit.code = code
    unit.name = name
    unit.name_sort = collation_key(name)
    db.session.flush()
    record_audit(
        "unit.renamed",
        actor_id=actor.id,
        target_type="unit",
        target_id=unit.id,
        detail=f"{old} -> {unit.code} {unit.name}",
    )


def move_unit(unit: OrgUnit, new_parent: OrgUnit | None, actor: User) -> None:
    """Move ``unit`` and its subtree under ``new_parent``, rewriting paths in one UPDATE."""
    if new_parent is not None and unit.contains(new_parent):
        raise ServiceError(_l("A unit cannot be moved under itself or one of its own units."))
    if new_parent is not None and not new_parent.active:
        raise ServiceError(_l("Units cannot be moved under a merged unit."))
    old_path, old_parent = unit.path, unit.parent
    new_path = f"{new_parent.path if new_parent else '/'}{unit.id}/"
    delta = (new_parent.depth + 1 if new_parent else 0) - unit.depth
    db.session.execute(
        update(OrgUnit)
        .where(_subtree_filter(old_path))
        .values(
            path=new_path + func.substr(OrgUnit.path, len(old_path) + 1),
            depth=OrgUnit.depth + delta,
        )
        .execution_options(synchronize_session=False)
    )
    unit.parent_id = new_parent.id if new_parent else None
    db.session.flush()
    db.session.expire_all()
    record_audit(
        "unit.moved",
        actor_id=actor.id,
        target_type="unit",
        target_id=unit.id,
        detail=f"{old_parent.code if old_parent else '-'} -> "
        f"{new_parent.code if new_parent else '-'}",
    )


def merge_unit(source: OrgUnit, target: OrgUnit, actor: User, reason: str = "") -> None:
    """Merge ``source`` into ``target``: its units, people and role scopes move there.

    The source stays as an inactive row pointing at the target, so transfers,
    audit entries and (later) reports that name it keep their meaning.
    """
    if source.id == target.id or source.contains(target):
        raise ServiceError(_l("A unit cannot be merged into itself or one of its own units."))
    if not source.active or not target.active:
        raise ServiceError(_l("Merged units cannot take part in another merge."))
    children = list(db.session.scalars(select(OrgUnit).where(OrgUnit.parent_id == source.id)))
    for child in children:
        move_unit(child, target, actor)
    source = db.session.get(OrgUnit, source.id)
    target = db.session.get(OrgUnit, target.id)
    why = reason or f"merge {source.code} -> {target.code}"
    for person in list(db.session.scalars(select(User).where(User.unit_id == source.id))):
        _record_transfer(person, source, target, actor, why)
    for assignment in db.session.scalars(
        select(RoleAssignment).where(RoleAssignment.unit_id == source.id)
    ):
        duplicate = db.session.scalar(
            select(RoleAssignment.id).where(
                RoleAssignment.user_id == assignment.user_id,
                RoleAssignment.role == assignment.role,
                RoleAssignment.unit_id == target.id,
            )
        )
        if duplicate:
            db.session.delete(assignment)
        else:
            assignment.unit_id = target.id
    unit_merged.send(source_id=source.id, target_id=target.id)
    source.active = False
    source.merged_into_id = target.id
    db.session.flush()
    record_audit(
        "unit.merged",
        actor_id=actor.id,
        target_type="unit",
        target_id=source.id,
        detail=f"{source.code} {source.name} -> {target.code} {target.name}; {why}",
    )


def ancestors_of(unit: OrgUnit) -> list[OrgUnit]:
    """Return the units above ``unit``, from the top down."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    found = {u.id: u for u in db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def unit_by_code(code: str) -> OrgUnit | None:
    """Return the unit with this code (case-insensitive), if any."""
    return db.session.scalar(select(OrgUnit).where(func.lower(OrgUnit.code) == code.lower()))


# --- scope -----------------------------------------------------------------------------------


def scope_paths(actor: User) -> list[str] | None:
    """Return the subtree paths ``actor`` manages as hr, or None for an admin (everything)."""
    if actor.is_admin:
        return None
    return list(
        db.session.scalars(
            select(OrgUnit.path)
            .join(RoleAssignment, RoleAssignment.unit_id == OrgUnit.id)
            .where(RoleAssignment.user_id == actor.id, RoleAssignment.role == "hr")
        )
    )


def _in_scope(paths: list[str] | None, column):
    """Return a predicate restricting ``column`` (a unit path) to the given subtrees."""
    if paths is None:
        return None
    if not paths:
        return false()
    return or_(*[and_(column >= p, column < p[:-1] + "0") for p in paths])


def _units_in_scope_query(actor: User, include_merged: bool = False):
    query = select(OrgUnit)
    predicate = _in_scope(scope_paths(actor), OrgUnit.path)
    if predicate is not None:
        query = query.where(predicate)
    if not include_merged:
        query = query.where(OrgUnit.active.is_(True))
    return query


def units_in_scope(actor: User, include_merged: bool = False) -> list[OrgUnit]:
    """Return the units ``actor`` may see, in tree order with siblings sorted by name."""
    return tree_order(list(db.session.scalars(_units_in_scope_query(actor, include_merged))))


def count_units_in_scope(actor: User) -> int:
    """Return how many active units ``actor`` may see (one COUNT, no rows loaded)."""
    query = _units_in_scope_query(actor).with_only_columns(func.count())
    return db.session.scalar(query) or 0


def all_units() -> list[OrgUnit]:
    """Return every active unit in tree order (for choosing a course's audience)."""
    return tree_order(list(db.session.scalars(select(OrgUnit).where(OrgUnit.active.is_(True)))))


def tree_order(units: list[OrgUnit]) -> list[OrgUnit]:
    """Order units depth-first, siblings by Vietnamese name order."""
    by_parent: dict[int | None, list[OrgUnit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in ids else None
        by_parent.setdefault(parent, []).append(unit)
    ordered: list[OrgUnit] = []

    def walk(parent_id):
        for unit in sorted(by_parent.get(parent_id, []), key=lambda u: u.name_sort):
            ordered.append(unit)
            walk(unit.id)

    walk(None)
    return ordered


def get_unit_for(actor: User, unit_id: int) -> OrgUnit:
    """Return the unit if ``actor`` may see it, else raise NotFound."""
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None or not unit_in_scope(actor, unit):
        raise NotFound(_l("Unit not found."))
    return unit


def unit_in_scope(actor: User, unit: OrgUnit) -> bool:
    """Tell whether ``unit`` lies inside the subtrees ``actor`` manages."""
    paths = scope_paths(actor)
    return paths is None or any(unit.path.startswith(p) for p in paths)


def people_in_scope(
    actor: User, search: str = "", unit: OrgUnit | None = None, include_inactive: bool = False
):
    """Return a select of the people ``actor`` may see, in Vietnamese name order."""
    query = select(User).join(OrgUnit, User.unit_id == OrgUnit.id)
    predicate = _in_scope(scope_paths(actor), OrgUnit.path)
    if predicate is not None:
        query = query.where(predicate)
    if unit is not None:
        query = query.where(_subtree_filter(unit.path))
    if not include_inactive:
        query = query.where(User.active.is_(True))
    for word in fold(search).split():
        # Each word typed must begin a word of the name, username or email ("anh" finds
        # "Ánh" and "Anh", not "Thanh").
        word = word.replace("\\", "").replace("%", "").replace("_", "\\_")
        query = query.where(User.search_text.like(f"% {word}%", escape="\\"))
    return query.options(contains_eager(User.unit)).order_by(User.name_sort, User.id)


def names_by_id(user_ids: set[int], unit_ids: set[int]) -> tuple[dict, dict]:
    """Return ({user id: full name}, {unit id: name (code)}) in two queries."""
    # .all(): a Result has keys(), so dict() would take it for a mapping.
    users = dict(
        db.session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids))).all()
    )
    units = {
        uid: f"{name} ({code})"
        for uid, name, code in db.session.execute(
            select(OrgUnit.id, OrgUnit.name, OrgUnit.code).where(OrgUnit.id.in_(unit_ids))
        )
    }
    return users, units


def get_user_for(actor: User, user_id: int) -> User:
    """Return the person if ``actor`` may see them, else raise NotFound."""
    person = db.session.get(User, user_id)
    if person is None:
        raise NotFound(_l("Person not found."))
    if person.id != actor.id and not unit_in_scope(actor, person.unit):
        raise NotFound(_l("Person not found."))
    return person


# --- people ----------------------------------------------------------------------------------


def normalize_username(username: str) -> str:
    """Return the canonical (lower-case, trimmed) form of a sign-in name."""
    return nfc(username.strip()).lower()


def _check_email(email: str | None) -> str | None:
    if not email:
        return None
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ServiceError(
            _l("Enter a valid email address, such as ten.ho@donvi.gov.vn."), "email"
        ) from exc


def create_user(
    full_name: str,
    username: str,
    unit: OrgUnit,
    *,
    email: str | None = None,
    job_title: str = "",
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an account in ``unit``; without a password it cannot sign in until reset."""
    username = normalize_username(username)
    if not USERNAME_RE.match(username):
        raise ServiceError(
            _l("A username has 3 to 64 letters a-z, digits, dots, dashes or underscores."),
            "username",
        )
    full_name = " ".join(nfc(full_name).split())
    if not full_name:
        raise ServiceError(_l("A full name is required."), "full_name")
    email = _check_email(email)
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise ServiceError(_l("The username %(name)s is taken.", name=username), "username")
    if email and db.session.scalar(select(User.id).where(User.email == email)):
        raise ServiceError(_l("Another account already uses %(email)s.", email=email), "email")
    if not unit.active:
        raise ServiceError(_l("People cannot be added to a merged unit."), "unit_id")
    person = _new_user(full_name, username, unit, email, job_title)
    if password:
        _set_password(person, password)
    db.session.add(person)
    db.session.flush()
    _announce_new(person, unit, actor)
    return person


def _new_user(full_name: str, username: str, unit: OrgUnit, email, job_title) -> User:
    """Build an account from values already checked (not added to the session)."""
    person = User(
        username=username,
        full_name=full_name,
        email=email,
        job_title=(job_title or "").strip(),
        unit=unit,
    )
    _index_name(person)
    return person


def _announce_new(person: User, unit: OrgUnit, actor: User | None) -> None:
    """Tell later domains a person arrived, and audit the new account."""
    person_joined.send(user_id=person.id, unit_id=unit.id, from_unit_id=None)
    record_audit(
        "user.created",
        actor_id=actor and actor.id,
        target_type="user",
        target_id=person.id,
        detail=f"{person.username} in {unit.code}",
    )


def create_users_checked(
    rows: list[tuple[str, str, OrgUnit, str | None, str]], actor: User
) -> list[User] | None:
    """Create many accounts with one flush, from rows a caller has already checked.

    Each row is (full name, username, unit, email, job title), normalised and checked by
    the same rules as ``create_user`` (staff imports plan them first). Every account gets
    the ``person_joined`` signal and the audit entry ``create_user`` gives. If a username
    or email was taken meanwhile the flush fails, nothing is kept, and None is returned:
    the caller then creates the rows one by one with ``create_user``.
    """
    people = [_new_user(*row) for row in rows]
    try:
        with db.session.begin_nested():
            db.session.add_all(people)
            db.session.flush()
    except IntegrityError:
        log.info("an account of the batch clashed with one created meanwhile")
        return None
    for person, row in zip(people, rows, strict=True):
        _announce_new(person, row[2], actor)
    return people


def _index_name(person: User) -> None:
    """Refresh the Vietnamese sort key and the folded search text of a person."""
    person.name_sort = person_sort_key(person.full_name)
    # A leading space lets "starts a word" be written as LIKE '% word%'.
    person.search_text = " " + fold(f"{person.full_name} {person.username} {person.email or ''}")


def _check_may_manage(actor: User, person: User) -> None:
    """Only administrators may change administrators' accounts (hr could else take one over)."""
    if person.is_admin and not actor.is_admin:
        raise Forbidden(_l("Only an administrator can change an administrator's account."))


def update_user(
    person: User, actor: User, *, full_name: str, email: str | None, job_title: str
) -> None:
    """Change a person's name, email and job title."""
    _check_may_manage(actor, person)
    full_name = " ".join(nfc(full_name).split())
    if not full_name:
        raise ServiceError(_l("A full name is required."), "full_name")
    email = _check_email(email)
    if email and db.session.scalar(
        select(User.id).where(User.email == email, User.id != person.id)
    ):
        raise ServiceError(_l("Another account already uses %(email)s.", email=email), "email")
    person.full_name = full_name
    person.email = email
    person.job_title = (job_title or "").strip()
    _index_name(person)
    db.session.flush()
    record_audit("user.updated", actor_id=actor.id, target_type="user", target_id=person.id)


def _record_transfer(
    person: User, from_unit: OrgUnit, to_unit: OrgUnit, actor: User | None, reason: str
) -> UserTransfer:
    transfer = UserTransfer(
        user_id=person.id,
        from_unit_id=from_unit.id,
        to_unit_id=to_unit.id,
        by_id=actor and actor.id,
        reason=reason,
    )
    person.unit_id = to_unit.id
    db.session.add(transfer)
    db.session.flush()
    person_joined.send(user_id=person.id, unit_id=to_unit.id, from_unit_id=from_unit.id)
    return transfer


def transfer_user(person: User, to_unit: OrgUnit, actor: User, reason: str = "") -> None:
    """Move a person to another unit, keeping a record of the move."""
    if to_unit.id == person.unit_id:
        raise ServiceError(_l("The person already belongs to that unit."))
    if not to_unit.active:
        raise ServiceError(_l("People cannot be moved to a merged unit."))
    if not unit_in_scope(actor, to_unit):
        raise Forbidden(_l("You can only move people to units you manage."))
    _check_may_manage(actor, person)
    from_unit = person.unit
    _record_transfer(person, from_unit, to_unit, actor, reason.strip())
    db.session.flush()
    record_audit(
        "user.transferred",
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        detail=f"{from_unit.code} -> {to_unit.code}; {reason.strip()}",
    )


def transfers_of(person: User) -> list[UserTransfer]:
    """Return a person's unit history, newest first."""
    return list(
        db.session.scalars(
            select(UserTransfer)
            .where(UserTransfer.user_id == person.id)
            .order_by(UserTransfer.at.desc(), UserTransfer.id.desc())
        )
    )


def set_active(person: User, active: bool, actor: User) -> None:
    """Deactivate (records kept, sign-in refused, sessions ended) or reactivate an account."""
    _check_may_manage(actor, person)
    if person.id == actor.id and not active:
        raise ServiceError(_l("You cannot deactivate your own account."))
    if person.active == active:
        return
    person.active = active
    person.deactivated_at = None if active else utcnow()
    person.auth_nonce = new_nonce()
    db.session.flush()
    record_audit(
        "user.reactivated" if active else "user.deactivated",
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
    )


def set_locale(person: User, locale: str) -> None:
    """Remember the person's UI language."""
    if locale not in current_app.config["LANGUAGES"]:
        raise ServiceError(_l("Unknown language."))
    person.locale = locale


# --- passwords and sign-in ---------------------------------------------------------------


def check_password_strength(password: str, username: str = "") -> None:
    """Refuse passwords that are short, all digits, or the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(_l("A password needs at least %(n)d characters.", n=MIN_PASSWORD_LENGTH))
    if password.isdigit():
        raise ServiceError(_l("A password cannot be only digits."))
    if username and username.lower() in password.lower():
        raise ServiceError(_l("A password cannot contain the username."))


def _set_password(person: User, password: str) -> None:
    check_password_strength(password, person.username)
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    person.password_hash = generate_password_hash(password, method=method)
    person.auth_nonce = new_nonce()


def authenticate(username: str, password: str) -> User:
    """Return the account for these credentials, or raise AuthError with a neutral message."""
    person = db.session.scalar(select(User).where(User.username == normalize_username(username)))
    if person is None or not person.password_hash:
        # Hash anyway so that timing does not tell unknown names from wrong passwords.
        check_password_hash(_DUMMY_HASH, password)
        raise AuthError(_l("Wrong username or password."))
    if not check_password_hash(person.password_hash, password):
        raise AuthError(_l("Wrong username or password."))
    if not person.active:
        raise AuthError(
            _l(
                "This account has been deactivated. Ask your unit's personnel "
                "staff to reactivate it."
            )
        )
    person.last_login_at = utcnow()
    return person


_DUMMY_HASH = generate_password_hash("not-a-real-password", method="pbkdf2:sha256:1000")


def change_password(person: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions end."""
    if not person.password_hash or not check_password_hash(person.password_hash, current):
        raise WrongPassword(_l("The current password is wrong."))
    _set_password(person, new)
    record_audit(
        "auth.password_changed", actor_id=person.id, target_type="user", target_id=person.id
    )


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(person: User, kind: str = "password_reset") -> str:
    """Return a signed link token; it dies with the next password change (single use).

    A ``welcome`` token (first sign-in of a new account) lives longer than a reset.
    """
    return _reset_serializer().dumps({"u": person.id, "n": person.auth_nonce, "k": kind})


def link_max_age(kind: str) -> int:
    """Return how many seconds a link of this kind stays valid."""
    key = "WELCOME_LINK_MAX_AGE" if kind == "welcome" else "PASSWORD_RESET_MAX_AGE"
    return current_app.config[key]


def user_for_reset_token(token: str) -> User:
    """Return the person a valid, unexpired, unused reset token belongs to."""
    serializer = _reset_serializer()
    try:
        data, signed_at = serializer.loads(token, return_timestamp=True)
        # Check the age again with the limit for this kind of link.
        serializer.loads(token, max_age=link_max_age(data.get("k", "password_reset")))
    except SignatureExpired as exc:
        raise TokenError(_l("This link has expired. Ask for a new one.")) from exc
    except (BadSignature, AttributeError) as exc:
        raise TokenError(_l("This link is not valid. Ask for a new one.")) from exc
    person = db.session.get(User, data.get("u"))
    if person is None or person.auth_nonce != data.get("n") or not person.active:
        raise TokenError(
            _l("This link has already been used or is no longer valid. Ask for a new one.")
        )
    return person


def reset_password(token: str, new: str) -> User:
    """Set a new password through a reset link, which is then spent."""
    person = user_for_reset_token(token)
    _set_password(person, new)
    record_audit("auth.password_reset", actor_id=person.id, target_type="user", target_id=person.id)
    return person


def _mail_link(person: User, kind: str, base_url: str) -> None:
    link = f"{base_url.rstrip('/')}/reset/{make_reset_token(person, kind)}"
    send_mail(
        person.email,
        kind,
        locale=person.locale or "vi",
        person=person,
        link=link,
        valid_for=timedelta(seconds=link_max_age(kind)),
    )


def request_password_reset(identifier: str, base_url: str) -> None:
    """Mail a reset link if ``identifier`` names an active account with an email.

    Says nothing either way, so the form cannot be used to find accounts.
    """
    identifier = identifier.strip().lower()
    person = db.session.scalar(
        select(User).where(or_(User.username == identifier, User.email == identifier))
    )
    if person is None or not person.active or not person.email:
        log.info("password reset asked for unknown or unreachable account")
        record_audit("auth.reset_requested_unknown", detail=identifier[:64])
        return
    _mail_link(person, "password_reset", base_url)
    record_audit("auth.reset_requested", target_type="user", target_id=person.id)


def send_password_link(person: User, base_url: str, actor: User) -> None:
    """Mail a person a link to set their password (a welcome if they never had one)."""
    _check_may_manage(actor, person)
    if not person.email or not person.active:
        raise ServiceError(_l("The account has no email address or is deactivated."))
    _mail_link(person, "welcome" if not person.password_hash else "password_reset", base_url)
    record_audit("auth.link_sent", actor_id=actor.id, target_type="user", target_id=person.id)


# --- roles -----------------------------------------------------------------------------------


def assign_role(person: User, role: str, unit: OrgUnit | None, actor: User) -> RoleAssignment:
    """Give ``person`` a role; hr and instructor roles are scoped to a unit subtree."""
    if role not in ROLES:
        raise ServiceError(_l("Unknown role."))
    if role == "admin":
        unit = None
    elif unit is None:
        raise ServiceError(_l("Choose the unit this role applies to."))
    same_scope = (
        RoleAssignment.unit_id.is_(None) if unit is None else RoleAssignment.unit_id == unit.id
    )
    exists = db.session.scalar(
        select(RoleAssignment.id).where(
            RoleAssignment.user_id == person.id, RoleAssignment.role == role, same_scope
        )
    )
    if exists:
        raise ServiceError(_l("The person already has this role there."))
    assignment = RoleAssignment(
        user_id=person.id, role=role, unit_id=unit.id if unit else None, created_by_id=actor.id
    )
    db.session.add(assignment)
    db.session.flush()
    person.forget_roles()
    record_audit(
        "role.assigned",
        actor_id=actor.id,
        target_type="user",
        target_id=person.id,
        detail=f"{role} @ {unit.code if unit else 'site'}",
    )
    return assignment


def revoke_role(assignment: RoleAssignment, actor: User) -> None:
    """Take a role away."""
    if assignment.role == "admin" and assignment.user_id == actor.id:
        raise ServiceError(_l("You cannot remove your own admin role."))
    person = assignment.user
    detail = f"{assignment.role} @ {assignment.unit.code if assignment.unit else 'site'}"
    db.session.delete(assignment)
    db.session.flush()
    person.forget_roles()
    record_audit(
        "role.revoked", actor_id=actor.id, target_type="user", target_id=person.id, detail=detail
    )


def roles_of(person: User) -> list[RoleAssignment]:
    """Return a person's role assignments."""
    return list(
        db.session.scalars(
            select(RoleAssignment)
            .where(RoleAssignment.user_id == person.id)
            .order_by(RoleAssignment.role, RoleAssignment.id)
        )
    )


def all_role_assignments() -> list[RoleAssignment]:
    """Return every role assignment, by role then person."""
    return list(
        db.session.scalars(
            select(RoleAssignment)
            .join(User, RoleAssignment.user_id == User.id)
            .order_by(RoleAssignment.role, User.name_sort)
        )
    )


def mail_welcome_link(person: User, base_url: str) -> None:
    """Mail a new account its first-sign-in link (staff imports; the caller checked scope)."""
    _mail_link(person, "welcome", base_url)
