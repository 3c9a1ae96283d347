"""People, org units (a materialised-path tree), role assignments and transfers."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from elearn.core.clock import utcnow
from elearn.core.database import binary_string
from elearn.extensions import db, login_manager

ROLES = ("instructor", "hr", "admin")
#: Roles scoped to one training class (``RoleAssignment.class_id``), given on the class page.
CLASS_ROLES = ("organiser",)
UNIT_KINDS = ("ministry", "province", "department", "school", "unit")


def new_nonce() -> str:
    """Return a fresh random token (invalidates sessions and reset links when changed)."""
    return secrets.token_hex(8)


class OrgUnit(db.Model):
    """A ministry, province, department or unit, placed in the tree by ``path``.

    ``path`` lists the ids from the root down, ``/1/4/9/``; "this unit and
    everything below it" is the range ``path >= '/1/4/' AND path < '/1/40'``
    (``'0'`` is the character after ``'/'``), which a B-tree index answers on
    SQLite and PostgreSQL alike. Moving a unit rewrites the paths of its subtree
    in one UPDATE. Merged units stay as rows (inactive, ``merged_into_id`` set)
    so that history pointing at them keeps its meaning.
    """

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short stable code used in staff imports, e.g. ``BLDTBXH.VP``.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="unit")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    path: Mapped[str] = mapped_column(binary_string(255), index=True, default="")
    depth: Mapped[int] = mapped_column(default=0)
    #: Vietnamese collation key of ``name`` (see elearn.core.vietnamese).
    name_sort: Mapped[str] = mapped_column(binary_string(600), default="")
    active: Mapped[bool] = mapped_column(default=True)
    #: The unit this one was merged into; set together with ``active = False``.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    #: Who signs the certificates this unit issues, and their title (e.g. "Hiệu trưởng").
    signer_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    signer_title: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    merged_into: Mapped[OrgUnit | None] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )

    @property
    def subtree_upper(self) -> str:
        """Return the exclusive upper bound of this unit's subtree paths."""
        return self.path[:-1] + "0"

    def contains(self, other: OrgUnit) -> bool:
        """Tell whether ``other`` is this unit or below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.path}>"


class User(UserMixin, db.Model):
    """A person with an account. Deactivated, never deleted while records refer to them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-case sign-in name.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(255))
    #: Vietnamese sort key: given name, then family and middle names.
    name_sort: Mapped[str] = mapped_column(binary_string(600), index=True, default="")
    #: Name, username and email folded for search (no case, no diacritics, đ as d).
    search_text: Mapped[str] = mapped_column(String(600), default="")
    job_title: Mapped[str] = mapped_column(String(255), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: None until the person sets a password (first-sign-in link).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    #: Preferred UI language (``vi`` or ``en``); None means the site default.
    locale: Mapped[str | None] = mapped_column(String(8))
    #: Changes on password change/reset and deactivation: ends every other session.
    auth_nonce: Mapped[str] = mapped_column(String(32), default=new_nonce)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    deactivated_at: Mapped[datetime | None]
    #: When the retention rule replaced the personal fields (``accounts.retention``).
    anonymised_at: Mapped[datetime | None]

    unit: Mapped[OrgUnit] = relationship()

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to sign in inactive accounts."""
        return self.active

    def get_id(self) -> str:
        """Session identity: the id plus the nonce, so a password change ends other sessions."""
        return f"{self.id}:{self.auth_nonce}"

    def _roles(self) -> list[RoleAssignment]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = list(
                db.session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == self.id))
            )
            self._role_cache = cached
        return cached

    def forget_roles(self) -> None:
        """Drop the per-request role cache after roles change."""
        self._role_cache = None

    @property
    def is_admin(self) -> bool:
        """Tell whether the person holds the site-wide admin role."""
        return any(r.role == "admin" for r in self._roles())

    @property
    def is_hr(self) -> bool:
        """Tell whether the person is hr for at least one unit."""
        return any(r.role == "hr" for r in self._roles())

    @property
    def is_organiser(self) -> bool:
        """Tell whether the person organises at least one training class."""
        return any(r.role == "organiser" for r in self._roles())

    @property
    def is_instructor(self) -> bool:
        """Tell whether the person holds an instructor role anywhere."""
        return any(r.role == "instructor" for r in self._roles())

    def __repr__(self) -> str:
        return f"<User {self.username}>"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Return the signed-in user, or None when the session is stale or the account inactive."""
    user_id, _sep, nonce = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.auth_nonce != nonce:
        return None
    return user


class RoleAssignment(db.Model):
    """A role held by a person within a scope.

    ``unit_id`` scopes hr and instructor roles to a unit and its whole subtree
    (it points at the unit, not its path, so scopes follow the tree when units
    move). Admin is site-wide (``unit_id`` None). Every account is a learner,
    so learner is not stored. ``course_id`` scopes an instructor to one course;
    ``class_id`` scopes an organiser to one training class (its participants, from any
    unit, and nothing else).
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "role", "unit_id", "course_id", "class_id", name="uq_role_assignment"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: For a course-scoped instructor role: the course (and only it).
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), index=True)
    #: For a class organiser: the training class (and only it).
    class_id: Mapped[int | None] = mapped_column(ForeignKey("training_classes.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    unit: Mapped[OrgUnit | None] = relationship()
    # Courses live in a later domain; the relationship is resolved by name.
    course: Mapped[Course | None] = relationship("Course")  # noqa: F821


class UserTransfer(db.Model):
    """A person's move from one unit to another (also written when units merge)."""

    __tablename__ = "user_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(255), default="")

    from_unit: Mapped[OrgUnit] = relationship(foreign_keys=[from_unit_id])
    to_unit: Mapped[OrgUnit] = relationship(foreign_keys=[to_unit_id])


#: Outcomes of a row of a staff import, in the order the dry run lists them.
IMPORT_OUTCOMES = (
    "error",
    "create",
    "update",
    "transfer",
    "deactivate",
    "reactivate",
    "unchanged",
    "skipped",
)


class StaffImport(db.Model):
    """A staff file (CSV or XLSX) uploaded by hr or an admin: its dry run, then its result.

    States:
    - ``checking``: the file is being read and every row planned (a job for large files).
    - ``checked``: the dry run is stored in ``staff_import_rows``; nothing was changed.
    - ``applying``: the rows are being carried out, planned again against the database
      as it is then (a job for large files; a job that runs twice finds its work done).
    - ``applied``: done; the counts and rows say what was done.
    - ``failed``: the file could not be read, or its job gave up; ``error`` says why.
    """

    __tablename__ = "staff_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: The name the file had on the uploader's computer (shown, never used as a path).
    file_name: Mapped[str] = mapped_column(String(255))
    #: Random name of the stored upload in the instance's ``imports`` folder; "" once removed.
    file_key: Mapped[str] = mapped_column(String(64), default="")
    #: How the file was read, e.g. "CSV Windows-1258, “;”" (shown on the dry run).
    file_format: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="checking", index=True)
    #: People rows in the file (blank rows not counted).
    total_rows: Mapped[int] = mapped_column(default=0)
    #: Rows per outcome: the dry run's until applied, then what applying did.
    create_count: Mapped[int] = mapped_column(default=0)
    update_count: Mapped[int] = mapped_column(default=0)
    transfer_count: Mapped[int] = mapped_column(default=0)
    deactivate_count: Mapped[int] = mapped_column(default=0)
    reactivate_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    #: Headers of the file that name no known column, comma-separated (they are ignored).
    ignored_columns: Mapped[str] = mapped_column(String(500), default="")
    #: The job checking or applying a large file (none for small files, done at once).
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    @property
    def counts(self) -> dict[str, int]:
        """Return {outcome: rows} in the order of ``IMPORT_OUTCOMES``."""
        return {outcome: getattr(self, f"{outcome}_count") for outcome in IMPORT_OUTCOMES}

    @property
    def to_do(self) -> int:
        """Return how many rows would change something if applied."""
        counts = self.counts
        return sum(counts[o] for o in ("create", "update", "transfer", "deactivate", "reactivate"))


class StaffImportRow(db.Model):
    """One row of a staff file and its outcome (planned by the dry run, or done)."""

    __tablename__ = "staff_import_rows"
    __table_args__ = (UniqueConstraint("import_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("staff_imports.id"))
    #: Row number as a spreadsheet shows it (the header row is 1).
    line: Mapped[int]
    #: One of ``IMPORT_OUTCOMES``.
    outcome: Mapped[str] = mapped_column(String(16))
    #: The username, else the email, that names the person in the file.
    identity: Mapped[str] = mapped_column(String(254), default="")
    full_name: Mapped[str] = mapped_column(String(255), default="")
    unit_code: Mapped[str] = mapped_column(String(64), default="")
    #: What changes, in words ("Chức vụ: A → B; ..."); empty for errors and unchanged rows.
    changes: Mapped[str] = mapped_column(String(2000), default="")
    #: Stable slug of an error or a skip (e.g. ``unknown_unit``), for tests and filters.
    reason: Mapped[str] = mapped_column(String(32), default="")
    #: The error or the note in words, for the person reading the dry run.
    message: Mapped[str] = mapped_column(String(500), default="")
