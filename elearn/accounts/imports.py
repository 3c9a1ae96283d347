"""Staff imports: hr loads their people from a CSV or XLSX file, checked first, then applied.

**Reading** (``read_file``, bytes → ``StaffRow``): an XLSX is known by its ZIP signature and
read with openpyxl (read-only, first sheet); an old binary .xls or any other type is
refused with a message saying how to save the file. Text is UTF-8 (a BOM is dropped),
UTF-16 with a BOM (Excel's "Unicode text"), or else Windows-1258 (Excel's CSV on a
Vietnamese Windows), whose combining tone marks become NFC. The delimiter (``;``, ``,`` or
tab) is the one with which the header names the most known columns. Headers are matched
after ``fold()`` in Vietnamese or English (``COLUMNS``); title rows above the header are
passed over; unknown columns are listed as ignored. Every cell is NFC and trimmed. Line
numbers are the rows a spreadsheet shows (the header is row 1; blank rows count too).

**Planning** (``plan_rows``, the dry run): every row gets one outcome (``IMPORT_OUTCOMES``)
and, for errors, a reason; the units and the accounts the file names are loaded with a few
IN queries, never one per row. A person is named by their username, else their email; a
new account without a username gets one made from the email (deterministic). A "left" row
deactivates (records kept); an unknown leaver is skipped. Roles are given only by admins.

**Applying** (``apply``) plans again against the database as it is then, and carries each
row out through the accounts services (so audit entries and the ``person_joined`` signal
are the same as by hand), committing in batches when run by a job. Applying is idempotent:
the same file again finds every row unchanged. Files over ``IMPORT_INLINE_ROWS`` rows are
checked and applied by the jobs in ``accounts/tasks.py``.

**Storage**: the uploaded bytes are kept in ``<instance>/imports/<random key>.upload`` (never a
client path) until the import is applied or failed, or for ``KEEP_DAYS``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import secrets
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import contains_eager

from elearn.accounts import services
from elearn.accounts.models import (
    IMPORT_OUTCOMES,
    OrgUnit,
    RoleAssignment,
    StaffImport,
    StaffImportRow,
    User,
)
from elearn.core.clock import utcnow
from elearn.core.services import AUDIT_LABELS, NotFound, ServiceError, record_audit
from elearn.core.vietnamese import fold, nfc
from elearn.extensions import db

log = logging.getLogger(__name__)

AUDIT_LABELS.update(
    {
        "import.checked": _l("Staff file checked (dry run)"),
        "import.applied": _l("Staff file imported"),
    }
)

#: Most people rows one file may hold.
MAX_ROWS = 50_000
#: Largest an XLSX may grow when unpacked (a guard against ZIP bombs), in bytes.
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
#: Days an uploaded file is kept while its import is neither applied nor failed.
KEEP_DAYS = 7
#: Rows carried out between two commits (and progress reports) when applying by a job.
BATCH = 500
#: Outcomes that change something.
CHANGES = ("create", "update", "transfer", "deactivate", "reactivate")

# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of the staff file: its Vietnamese and English headers and other names."""

    key: str
    vi: str
    en: str
    #: Further accepted headers, already folded.
    aliases: tuple[str, ...]
    #: Longest value accepted.
    max_length: int


COLUMNS = (
    Column("full_name", "Họ và tên", "full name", ("ho ten", "ho va ten day du", "name"), 255),
    Column("username", "Tên đăng nhập", "username", ("tai khoan", "user name", "login"), 64),
    Column("email", "Email", "email", ("thu dien tu", "e mail", "dia chi email"), 254),
    Column("unit_code", "Mã đơn vị", "unit code", ("ma dv", "unit"), 64),
    Column("job_title", "Chức vụ", "job title", ("chuc danh", "title", "position"), 255),
    Column("roles", "Vai trò", "roles", ("role",), 255),
    Column("left", "Nghỉ việc", "left", ("da nghi", "da nghi viec", "has left"), 32),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}


def _header_key(text: str) -> str:
    """Fold a header for matching: no case, no diacritics, no punctuation or notes."""
    text = re.sub(r"\(.*?\)|\[.*?\]", " ", text)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


_HEADER_NAMES = {
    name: column.key
    for column in COLUMNS
    for name in (_header_key(column.vi), _header_key(column.en), *column.aliases)
}

#: Role words accepted in the roles column (folded) → stored role; None: every account is
#: a learner, so the word is accepted and ignored.
ROLE_WORDS = {
    "nhan su": "hr",
    "can bo to chuc": "hr",
    "hr": "hr",
    "personnel": "hr",
    "giang vien": "instructor",
    "instructor": "instructor",
    "teacher": "instructor",
    "hoc vien": None,
    "learner": None,
    "quan tri": "admin",
    "quan tri vien": "admin",
    "admin": "admin",
    "administrator": "admin",
}
_LEFT_YES = {"x", "1", "co", "yes", "y", "true", "left", "nghi", "da nghi", "nghi viec"}
_LEFT_NO = {"", "0", "khong", "no", "n", "false"}

# --- reading -------------------------------------------------------------------------------


class FileError(ServiceError):
    """The file as a whole cannot be imported (its type, encoding or columns)."""


@dataclass(frozen=True)
class StaffRow:
    """One person's row as read from the file (NFC, trimmed; "" where the cell is empty)."""

    line: int
    full_name: str = ""
    username: str = ""
    email: str = ""
    unit_code: str = ""
    job_title: str = ""
    roles: str = ""
    left: str = ""


@dataclass(frozen=True)
class StaffFile:
    """What ``read_file`` found: the rows, how the file was read, what was ignored."""

    rows: list[StaffRow]
    #: e.g. "CSV UTF-8, “;”" or "XLSX".
    format: str
    #: Headers that name no known column.
    ignored: list[str]
    #: False when reading stopped at ``limit`` rows with more to come.
    complete: bool = True


def _how_to_save() -> str:
    return _(
        "In Excel choose File › Save As, then “CSV UTF-8 (Comma delimited) (*.csv)” "
        "or “Excel Workbook (*.xlsx)”."
    )


def read_file(data: bytes, limit: int | None = None) -> StaffFile:
    """Read a staff file (CSV or XLSX) into rows, or raise FileError saying what is wrong.

    With ``limit``, reading stops after that many people (the header and the first rows
    are checked; ``complete`` says whether that was all): enough to decide, within a
    request, whether a job should read the rest.
    """
    if not data.strip():
        raise FileError(_("The file is empty."))
    truncated = False
    if data.startswith(b"PK\x03\x04"):
        (table, truncated), how = _xlsx_rows(data, 2 * (limit or MAX_ROWS) + 100), "XLSX"
    elif data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise FileError(_("Old Excel files (.xls) cannot be read.") + " " + _how_to_save(), "file")
    else:
        text, encoding = _decode(data)
        delimiter = _delimiter(text)
        table = _csv_rows(text, delimiter)
        how = f"CSV {encoding}, {'TAB' if delimiter == chr(9) else f'“{delimiter}”'}"
    staff = _read_table(table, how, limit)
    if truncated:
        if limit is None:
            raise FileError(_("The file has more than %(n)d people; split it.", n=MAX_ROWS))
        return StaffFile(staff.rows, staff.format, staff.ignored, complete=False)
    return staff


def _decode(data: bytes) -> tuple[str, str]:
    """Return the text and the name of its encoding (UTF-8, UTF-16 or Windows-1258)."""
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            return nfc(data[3:].decode("utf-8")), "UTF-8 BOM"
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return nfc(data.decode("utf-16")), "UTF-16"
    except UnicodeDecodeError as exc:
        raise FileError(
            _("The file says it is Unicode text but is not.") + " " + _how_to_save()
        ) from exc
    if b"\x00" in data or data.startswith(b"%PDF"):
        raise FileError(_("This is not a CSV or XLSX file.") + " " + _how_to_save())
    try:
        return nfc(data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1258 writes tone marks as combining characters: NFC joins them.
        return nfc(data.decode("cp1258")), "Windows-1258"
    except UnicodeDecodeError as exc:
        raise FileError(_("The file's characters cannot be read.") + " " + _how_to_save()) from exc


def _delimiter(text: str) -> str:
    """Return the delimiter with which a header row names the most known columns."""
    head = "\n".join(text.splitlines()[:30])
    best = (-1, -1, ",")
    for delimiter in (";", ",", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
        except csv.Error:
            continue
        known = max((len(_map_header(row)[0]) for row in rows), default=0)
        best = max(best, (known, head.count(delimiter), delimiter))
    return best[2]


def _csv_rows(text: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise FileError(
            _("Line %(n)d cannot be read as CSV: %(error)s", n=reader.line_num, error=str(exc))
        ) from exc


def _xlsx_rows(data: bytes, most: int) -> tuple[list[list[str]], bool]:
    """Return the first sheet's first ``most`` rows as text cells, and whether it has more."""
    import openpyxl  # the one module that reads spreadsheets; loaded only when needed

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise FileError(_("This is not a CSV or XLSX file.") + " " + _how_to_save())
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED:
                raise FileError(_("The spreadsheet is too large."))
    except zipfile.BadZipFile as exc:
        raise FileError(_("The XLSX file is damaged.") + " " + _how_to_save()) from exc
    rows: list[list[str]] = []
    more = False
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it does not need for reading values.
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                for values in book.worksheets[0].iter_rows(values_only=True):
                    if len(rows) == most:
                        more = True
                        break
                    rows.append([_cell_text(v) for v in values])
            finally:
                book.close()
    except FileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure inside openpyxl means a bad file
        log.info("unreadable xlsx: %s", exc)
        raise FileError(_("The XLSX file is damaged.") + " " + _how_to_save()) from exc
    return rows, more


def _cell_text(value) -> str:
    """Return a spreadsheet cell as text (whole numbers without ".0", dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def _clean(text: str) -> str:
    """NFC, without zero-width characters, spaces collapsed and trimmed."""
    text = text.replace("\u200b", "").replace("\ufeff", "")
    return " ".join(nfc(text).split())


def _map_header(cells: list[str]) -> tuple[dict[str, int], list[str], list[str]]:
    """Return ({column key: index}, ignored headers, headers given twice)."""
    found: dict[str, int] = {}
    ignored, twice = [], []
    for index, cell in enumerate(cells):
        cell = _clean(cell)
        if not cell:
            continue
        key = _HEADER_NAMES.get(_header_key(cell))
        if key is None:
            ignored.append(cell)
        elif key in found:
            twice.append(cell)
        else:
            found[key] = index
    return found, ignored, twice


def _read_table(table: Iterable[list[str]], how: str, limit: int | None = None) -> StaffFile:
    """Find the header (past any title rows), check the columns and read the rows."""
    mapping: dict[str, int] | None = None
    ignored: list[str] = []
    first: tuple[dict, list, list] | None = None
    rows: list[StaffRow] = []
    searched = 0
    complete = True
    for line, cells in enumerate(table, start=1):
        if not any(c.strip() for c in cells):
            continue
        if mapping is None:
            # The header is the first row naming two known columns; title rows come before.
            candidate = _map_header(cells)
            first = first or candidate
            searched += 1
            if len(candidate[0]) >= 2:
                mapping = _check_columns(*candidate)
                ignored = candidate[1]
            elif searched >= 20:
                _check_columns(*first)  # fewer than two known columns: says which is missing
            continue
        if len(rows) >= MAX_ROWS:
            raise FileError(_("The file has more than %(n)d people; split it.", n=MAX_ROWS))
        values = {key: _clean(cells[i]) if i < len(cells) else "" for key, i in mapping.items()}
        if any(values.values()):
            if len(rows) == limit:
                complete = False
                break
            rows.append(StaffRow(line=line, **values))
    if mapping is None:
        if first is None:
            raise FileError(_("The file is empty."))
        _check_columns(*first)
    if not rows:
        raise FileError(_("The file has a header row but no people."))
    return StaffFile(rows=rows, format=how, ignored=ignored, complete=complete)


def _check_columns(found: dict[str, int], _ignored, twice: list[str]) -> dict[str, int]:
    if twice:
        raise FileError(_("The column “%(name)s” appears twice.", name=twice[0]))
    missing = [COLUMN_BY_KEY[key] for key in ("full_name", "unit_code") if key not in found]
    if missing:
        raise FileError(
            _(
                "The file has no column “%(vi)s” (or “%(en)s”). %(help)s",
                vi=missing[0].vi,
                en=missing[0].en,
                help=_header_help(),
            )
        )
    if "username" not in found and "email" not in found:
        raise FileError(
            _(
                "The file needs a column “Tên đăng nhập” (username) or “Email”. %(help)s",
                help=_header_help(),
            )
        )
    return found


def _header_help() -> str:
    names = ", ".join(f"“{c.vi}”" for c in COLUMNS)
    return _("The header row names the columns: %(names)s.", names=names)


# --- planning (the dry run) -----------------------------------------------------------------


@dataclass
class Plan:
    """What one row will do (or why it cannot), and what applying needs to do it."""

    line: int
    identity: str
    full_name: str
    unit_code: str
    outcome: str = ""
    reason: str = ""
    message: str = ""
    changes: list[str] = field(default_factory=list)
    person: User | None = None
    person_id: int | None = None
    unit: OrgUnit | None = None
    username: str = ""
    email: str | None = None
    job_title: str = ""
    #: None keeps the current value.
    new_email: str | None = None
    new_job_title: str | None = None
    new_full_name: str | None = None
    roles: tuple[str, ...] = ()
    left: bool = False

    def fail(self, reason: str, message: str) -> Plan:
        """Mark the row as an error (the first problem found is the one reported)."""
        if not self.outcome:
            self.outcome, self.reason, self.message = "error", reason, message
        return self


def _chunks(values: Iterable, size: int = 900) -> Iterator[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _valid_email(value: str) -> str | None:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _parse_left(value: str) -> bool | None:
    folded = fold(value)
    if folded in _LEFT_YES:
        return True
    if folded in _LEFT_NO:
        return False
    return None


def _first_pass(row: StaffRow) -> Plan:
    """Check what a row says on its own (no database)."""
    plan = Plan(
        line=row.line,
        identity=row.username or row.email,
        full_name=row.full_name,
        unit_code=row.unit_code,
        job_title=row.job_title,
    )
    for column in COLUMNS:
        value = getattr(row, column.key)
        if len(value) > column.max_length:
            return plan.fail(
                "too_long",
                _(
                    "“%(column)s” is longer than %(n)d characters.",
                    column=column.vi,
                    n=column.max_length,
                ),
            )
    left = _parse_left(row.left)
    if left is None:
        return plan.fail(
            "bad_left",
            _(
                "“%(value)s” in the column “Nghỉ việc” is not understood: leave it empty, or "
                "write x for a person who has left.",
                value=row.left,
            ),
        )
    plan.left = left
    if not row.username and not row.email:
        return plan.fail("no_identity", _("Neither a username nor an email is given."))
    if row.username:
        plan.username = services.normalize_username(row.username)
        if not services.USERNAME_RE.match(plan.username):
            return plan.fail(
                "bad_username",
                _(
                    "“%(value)s” is not a valid username: 3 to 64 letters a-z, digits, dots, "
                    "dashes or underscores.",
                    value=row.username,
                ),
            )
    if row.email:
        plan.email = _valid_email(row.email)
        if plan.email is None:
            return plan.fail(
                "bad_email", _("“%(value)s” is not a valid email address.", value=row.email)
            )
    if left:
        return plan
    if not row.full_name:
        return plan.fail("missing_name", _("The full name is missing."))
    if not row.unit_code:
        return plan.fail("missing_unit", _("The unit code is missing."))
    roles = []
    for word in re.split(r"[;,/|+]", row.roles):
        if not word.strip():
            continue
        folded = fold(word)
        if folded not in ROLE_WORDS:
            return plan.fail(
                "unknown_role",
                _(
                    "Unknown role “%(role)s”: write nhân sự (hr) or giảng viên (instructor).",
                    role=word.strip(),
                ),
            )
        role = ROLE_WORDS[folded]
        if role == "admin":
            return plan.fail("admin_role", _("The administrator role is never given by an import."))
        if role and role not in roles:
            roles.append(role)
    plan.roles = tuple(roles)
    return plan


def _load_units(codes: set[str]) -> dict[str, OrgUnit]:
    """Return {lower-case code: unit} for the codes named in the file."""
    found: dict[str, OrgUnit] = {}
    for chunk in _chunks(codes):
        for unit in db.session.scalars(select(OrgUnit).where(func.lower(OrgUnit.code).in_(chunk))):
            found[unit.code.lower()] = unit
    return found


def _merged_target(unit: OrgUnit) -> OrgUnit:
    """Follow a chain of merges to the unit that took the people in."""
    seen = set()
    while unit.merged_into_id and unit.id not in seen:
        seen.add(unit.id)
        unit = db.session.get(OrgUnit, unit.merged_into_id)
    return unit


def _load_people(usernames: set[str], emails: set[str]) -> tuple[dict, dict]:
    """Return ({username: person}, {email: person}) for the people the file names."""
    by_username: dict[str, User] = {}
    by_email: dict[str, User] = {}
    base = select(User).join(User.unit).options(contains_eager(User.unit))
    for chunk in _chunks(usernames):
        for person in db.session.scalars(base.where(User.username.in_(chunk))):
            by_username[person.username] = person
            if person.email:
                by_email[person.email] = person
    for chunk in _chunks(emails - set(by_email)):
        for person in db.session.scalars(base.where(User.email.in_(chunk))):
            by_username[person.username] = person
            by_email[person.email] = person
    return by_username, by_email


def _load_roles(user_ids: set[int]) -> set[tuple[int, str, int | None]]:
    """Return the (user id, role, unit id) assignments of these people."""
    held = set()
    for chunk in _chunks(user_ids):
        held.update(
            db.session.execute(
                select(RoleAssignment.user_id, RoleAssignment.role, RoleAssignment.unit_id).where(
                    RoleAssignment.user_id.in_(chunk)
                )
            ).all()
        )
    return held


def _username_base(email: str) -> str:
    """Return the username a new account without one gets from its email's local part."""
    local, _at, domain = email.partition("@")
    base = re.sub(r"[^a-z0-9._-]+", "", fold(local).replace(" ", "."))
    base = re.sub(r"^[._-]+|[._-]+$", "", base)[:60]
    if len(base) < 3:
        label = re.sub(r"[^a-z0-9]+", "", fold(domain.split(".")[0]))
        base = f"{base}.{label}".strip(".")[:60]
    return base if services.USERNAME_RE.match(base) else f"nv.{base}".strip(".")[:60]


def _derive_usernames(plans: list[Plan], taken: set[str]) -> None:
    """Give each new account without a username one from its email, avoiding clashes."""
    wanted = [p for p in plans if not p.outcome and not p.username and not p.person]
    if not wanted:
        return
    bases = [_username_base(p.email or "") for p in wanted]
    existing = set()
    for chunk in _chunks(set(bases)):
        existing.update(db.session.scalars(select(User.username).where(User.username.in_(chunk))))
    clashing = {b for b in bases if b in existing or b in taken}
    for base in clashing:  # rare: one query per clashing name, not per row
        pattern = base.replace("_", "\\_") + "%"
        existing.update(
            db.session.scalars(select(User.username).where(User.username.like(pattern, "\\")))
        )
    used = taken | existing
    for plan, base in zip(wanted, bases, strict=True):
        n = 1
        candidate = base
        while candidate in used:
            n += 1
            candidate = f"{base[:60]}{n}"
        used.add(candidate)
        plan.username = candidate


def plan_rows(rows: list[StaffRow], actor: User) -> list[Plan]:
    """Decide each row's outcome for ``actor`` (the dry run); nothing is written.

    One row, one outcome; errors carry the first problem found. The units and people the
    file names are loaded in a few IN queries.
    """
    plans = [_first_pass(row) for row in rows]
    paths = services.scope_paths(actor)

    def in_scope(unit: OrgUnit) -> bool:
        return paths is None or any(unit.path.startswith(p) for p in paths)

    units = _load_units({p.unit_code.lower() for p in plans if p.unit_code})
    by_username, by_email = _load_people(
        {p.username for p in plans if p.username}, {p.email for p in plans if p.email}
    )
    held = _load_roles({p.id for p in by_username.values()})
    admins = {user_id for user_id, role, _unit in held if role == "admin"}
    named_usernames = {p.username for p in plans if p.username}

    seen_username: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    seen_person: dict[int, int] = {}
    for plan in plans:
        if plan.outcome:
            continue
        # Duplicates within the file.
        if plan.username and plan.username in seen_username:
            plan.fail("duplicate", _("Same person as line %(n)d.", n=seen_username[plan.username]))
            continue
        if plan.email and plan.email in seen_email:
            plan.fail(
                "duplicate",
                _(
                    "The email %(email)s is already on line %(n)d.",
                    email=plan.email,
                    n=seen_email[plan.email],
                ),
            )
            continue
        if plan.username:
            seen_username[plan.username] = plan.line
        if plan.email:
            seen_email[plan.email] = plan.line
        person = by_username.get(plan.username) if plan.username else by_email.get(plan.email)
        if person is not None:
            if person.id in seen_person:
                plan.fail("duplicate", _("Same person as line %(n)d.", n=seen_person[person.id]))
                continue
            seen_person[person.id] = plan.line
        plan.person, plan.person_id = person, person.id if person else None
        # The unit (leavers need none: they stay where they are).
        if not plan.left:
            unit = units.get(plan.unit_code.lower())
            if unit is None:
                plan.fail(
                    "unknown_unit",
                    _("There is no unit with the code %(code)s.", code=plan.unit_code),
                )
                continue
            if not unit.active:
                target = _merged_target(unit)
                if target is not unit:
                    plan.fail(
                        "merged_unit",
                        _(
                            "The unit %(code)s was merged into %(name)s (%(target)s): use that "
                            "code.",
                            code=unit.code,
                            name=target.name,
                            target=target.code,
                        ),
                    )
                else:
                    plan.fail("closed_unit", _("The unit %(code)s is closed.", code=unit.code))
                continue
            if not in_scope(unit):
                plan.fail(
                    "unit_out_of_scope",
                    _("The unit %(code)s is not one of the units you manage.", code=unit.code),
                )
                continue
            plan.unit = unit
            if plan.roles and paths is not None:
                plan.fail("roles_not_allowed", _("Only administrators can give roles."))
                continue
        if person is None:
            if plan.left:
                plan.outcome, plan.reason = "skipped", "not_found"
                plan.message = _("No such account: nobody to deactivate.")
            elif plan.email and plan.email in by_email:
                plan.fail(
                    "email_taken", _("Another account already uses %(email)s.", email=plan.email)
                )
            continue
        _plan_existing(plan, person, actor, paths is None, in_scope, admins, held, by_email)
    _derive_usernames(plans, named_usernames)
    for plan in plans:
        if not plan.outcome:
            plan.outcome = "create"
            plan.changes = _created_changes(plan)
    return plans


def _plan_existing(plan, person, actor, actor_is_admin, in_scope, admins, held, by_email):
    """Compare an existing account with its row."""
    if not in_scope(person.unit):
        plan.fail("person_out_of_scope", _("This account belongs to a unit you do not manage."))
        return
    if person.id in admins and not actor_is_admin:
        plan.fail(
            "admin_account", _("Only an administrator can change an administrator's account.")
        )
        return
    if plan.left:
        if person.id == actor.id:
            plan.fail("self", _("You cannot deactivate your own account."))
        elif person.active:
            plan.outcome = "deactivate"
            plan.changes = [_("account deactivated; records kept")]
        else:
            plan.outcome = "unchanged"
        return
    changes = []
    name = " ".join(plan.full_name.split())
    if name != person.full_name:
        plan.new_full_name = name
        changes.append(
            _("%(field)s: %(old)s → %(new)s", field=_("Full name"), old=person.full_name, new=name)
        )
    if plan.email and plan.email != person.email:
        other = by_email.get(plan.email)
        if other is not None and other.id != person.id:
            plan.fail("email_taken", _("Another account already uses %(email)s.", email=plan.email))
            return
        plan.new_email = plan.email
        changes.append(
            _(
                "%(field)s: %(old)s → %(new)s",
                field=_("Email"),
                old=person.email or "–",
                new=plan.email,
            )
        )
    if plan.job_title and plan.job_title != person.job_title:
        plan.new_job_title = plan.job_title
        changes.append(
            _(
                "%(field)s: %(old)s → %(new)s",
                field=_("Job title"),
                old=person.job_title or "–",
                new=plan.job_title,
            )
        )
    roles = tuple(r for r in plan.roles if (person.id, r, plan.unit.id) not in held)
    plan.roles = roles
    if roles:
        changes.append(_("role given: %(roles)s", roles=", ".join(_role_name(r) for r in roles)))
    transfer = plan.unit.id != person.unit_id
    if transfer:
        changes.append(
            _(
                "%(field)s: %(old)s → %(new)s",
                field=_("Unit"),
                old=person.unit.code,
                new=plan.unit.code,
            )
        )
    if not person.active:
        plan.outcome = "reactivate"
        changes.insert(0, _("account reactivated"))
    elif transfer:
        plan.outcome = "transfer"
    elif changes:
        plan.outcome = "update"
    else:
        plan.outcome = "unchanged"
    plan.changes = changes


def _role_name(role: str) -> str:
    return {"hr": _("Personnel (HR)"), "instructor": _("Instructor")}.get(role, role)


def _created_changes(plan: Plan) -> list[str]:
    changes = [_("username %(name)s", name=plan.username)]
    if plan.roles:
        changes.append(
            _("role given: %(roles)s", roles=", ".join(_role_name(r) for r in plan.roles))
        )
    if plan.email:
        changes.append(_("first sign-in link mailed to %(email)s", email=plan.email))
    else:
        changes.append(_("no email: give the person a password link by hand"))
    return changes


# --- the stored file ------------------------------------------------------------------------


def imports_dir() -> Path:
    """Return the folder where uploaded staff files wait to be applied."""
    return Path(current_app.config["INSTANCE_DIR"]) / "imports"


def _file_path(key: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        raise NotFound(_l("The uploaded file is no longer kept: upload it again."))
    return imports_dir() / f"{key}.upload"


def _store_file(data: bytes) -> str:
    key = secrets.token_hex(16)
    folder = imports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    _file_path(key).write_bytes(data)
    return key


def _load_file(record: StaffImport) -> bytes:
    try:
        return _file_path(record.file_key).read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(_l("The uploaded file is no longer kept: upload it again.")) from exc


def remove_file(record: StaffImport) -> None:
    """Delete an import's uploaded bytes (its rows and counts stay)."""
    if record.file_key:
        _file_path(record.file_key).unlink(missing_ok=True)
        record.file_key = ""


def clean_old_files() -> int:
    """Remove the files of applied or failed imports, and of any older than KEEP_DAYS."""
    cutoff = utcnow() - timedelta(days=KEEP_DAYS)
    old = list(
        db.session.scalars(
            select(StaffImport).where(
                StaffImport.file_key != "",
                (StaffImport.state.in_(("applied", "failed"))) | (StaffImport.created_at < cutoff),
            )
        )
    )
    for record in old:
        remove_file(record)
    if old:
        log.info("removed %s staff file(s)", len(old))
    return len(old)


# --- checking and applying ------------------------------------------------------------------


def _safe_name(name: str) -> str:
    """Keep only the last part of a client's file name, for display."""
    return nfc(re.split(r"[\\/]", name or "")[-1]).strip()[:255] or "staff.csv"


def create_import(
    owner: User, file_name: str, data: bytes, limit: int | None = None
) -> tuple[StaffImport, StaffFile]:
    """Read an uploaded file and keep it as a new import (state ``checking``).

    With ``limit``, only that many rows are read (see ``read_file``); ``check`` then reads
    the whole file. Raises FileError (nothing kept) when the file cannot be imported.
    """
    staff = read_file(data, limit)
    record = StaffImport(
        owner_id=owner.id,
        file_name=_safe_name(file_name),
        file_format=staff.format,
        total_rows=len(staff.rows) if staff.complete else 0,
        ignored_columns=", ".join(staff.ignored)[:500],
        state="checking",
        file_key=_store_file(data),
    )
    db.session.add(record)
    db.session.flush()
    return record, staff


def _counts(record: StaffImport, plans: list[Plan]) -> None:
    tally = dict.fromkeys(IMPORT_OUTCOMES, 0)
    for plan in plans:
        tally[plan.outcome] += 1
    for outcome, n in tally.items():
        setattr(record, f"{outcome}_count", n)


def _row_values(record: StaffImport, plan: Plan) -> dict:
    return {
        "import_id": record.id,
        "line": plan.line,
        "outcome": plan.outcome,
        "identity": plan.identity[:254],
        "full_name": plan.full_name[:255],
        "unit_code": plan.unit_code[:64],
        "changes": "; ".join(plan.changes)[:2000],
        "reason": plan.reason,
        "message": plan.message[:500],
    }


def check(record: StaffImport, staff: StaffFile | None = None) -> list[Plan]:
    """Plan every row for the import's owner and store the dry run (state ``checked``)."""
    if staff is None or not staff.complete:
        staff = read_file(_load_file(record))
    record.total_rows = len(staff.rows)
    plans = plan_rows(staff.rows, record.owner)
    db.session.execute(delete(StaffImportRow).where(StaffImportRow.import_id == record.id))
    for chunk in _chunks(plans, 2000):
        db.session.execute(insert(StaffImportRow), [_row_values(record, p) for p in chunk])
    _counts(record, plans)
    record.state, record.checked_at, record.error = "checked", utcnow(), None
    record_audit(
        "import.checked",
        actor_id=record.owner_id,
        target_type="staff_import",
        target_id=record.id,
        detail=f"{record.file_name}: {summary(record)}",
    )
    return plans


def summary(record: StaffImport) -> str:
    """Return the counts as one line, e.g. "create 3, unchanged 10, error 1"."""
    return ", ".join(f"{outcome} {n}" for outcome, n in record.counts.items() if n)


def claim(record: StaffImport, actor: User) -> bool:
    """Mark a checked import as being applied; False if it is not (or no longer) checked.

    One UPDATE, so that two clicks on "Apply" start one application.
    """
    claimed = db.session.execute(
        update(StaffImport)
        .where(StaffImport.id == record.id, StaffImport.state == "checked")
        .values(state="applying", applied_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(record)
    return bool(claimed)


def apply(
    record: StaffImport,
    actor: User,
    checkpoint: Callable[[int, int], None] | None = None,
) -> None:
    """Carry out an import being applied (state ``applying``), then mark it ``applied``.

    The rows are planned again against the database as it is now; rows that changed since
    the dry run get their new outcome. Each row goes through the accounts services. A
    refusal (someone took a username meanwhile) makes that row an error and the others go
    on. ``checkpoint(done, total)`` is called every ``BATCH`` rows (a job commits there and
    reports progress). Running it again after a crash finds the rows done so far unchanged.
    """
    if record.state != "applying":
        return
    staff = read_file(_load_file(record))
    plans = plan_rows(staff.rows, actor)
    # The stored rows as plain values (not objects): a large session slows every flush.
    stored = {
        line: (row_id, outcome)
        for row_id, line, outcome in db.session.execute(
            select(StaffImportRow.id, StaffImportRow.line, StaffImportRow.outcome).where(
                StaffImportRow.import_id == record.id
            )
        )
    }
    changed_rows: dict[int, dict] = {}  # row id: new values
    for plan in plans:
        row_id, outcome = stored.get(plan.line, (None, None))
        values = _row_values(record, plan)
        if row_id is None:
            db.session.execute(insert(StaffImportRow), [values])
        elif plan.outcome != "unchanged" or outcome not in CHANGES:
            # An unchanged row whose stored outcome is a change was done by an earlier
            # attempt of this application: it keeps saying what was done.
            changed_rows[row_id] = {"id": row_id, **values}
    todo = [p for p in plans if p.outcome in CHANGES]
    reason = _("Staff import #%(id)d (%(file)s)", id=record.id, file=record.file_name)[:255]
    base_url = current_app.config["BASE_URL"]
    done = 0

    def refused(plan: Plan, exc: ServiceError) -> None:
        log.info("import %s line %s refused: %s", record.id, plan.line, exc)
        row_id, _outcome = stored.get(plan.line, (None, None))
        if row_id is not None:
            changed_rows[row_id] = {
                **changed_rows.get(row_id, {"id": row_id}),
                "outcome": "error",
                "reason": "refused",
                "message": str(exc)[:500],
                "changes": "",
            }

    def advance(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if checkpoint is not None and done // BATCH > before // BATCH:
            checkpoint(done, len(todo))

    # Changes to existing accounts one by one, a batch loaded at a time, then new accounts
    # a batch at a time.
    for batch in _chunks((p for p in todo if p.outcome != "create"), BATCH):
        _reload(batch)
        for plan in batch:
            try:
                _carry_out(plan, actor, reason, base_url)
            except ServiceError as exc:
                refused(plan, exc)
        advance(len(batch))
    for batch in _chunks((p for p in todo if p.outcome == "create"), BATCH):
        if not _create_batch(batch, actor, base_url):
            for plan in batch:
                try:
                    _carry_out(plan, actor, reason, base_url)
                except ServiceError as exc:
                    refused(plan, exc)
        advance(len(batch))
    for chunk in _chunks(changed_rows.values(), 2000):
        db.session.execute(update(StaffImportRow), chunk)
    db.session.flush()
    tally = dict(
        db.session.execute(
            select(StaffImportRow.outcome, func.count())
            .where(StaffImportRow.import_id == record.id)
            .group_by(StaffImportRow.outcome)
        ).all()
    )
    for outcome in IMPORT_OUTCOMES:
        setattr(record, f"{outcome}_count", tally.get(outcome, 0))
    record.state, record.applied_at, record.error = "applied", utcnow(), None
    record_audit(
        "import.applied",
        actor_id=actor.id,
        target_type="staff_import",
        target_id=record.id,
        detail=f"{record.file_name}: {summary(record)}",
    )
    log.info("staff import %s applied: %s", record.id, summary(record))


def _reload(plans: list[Plan]) -> None:
    """Load (again, after a commit) the people of a batch and their roles in two queries."""
    ids = [p.person_id for p in plans]
    people = db.session.scalars(
        select(User)
        .join(User.unit)
        .options(contains_eager(User.unit))
        .where(User.id.in_(ids))
        .execution_options(populate_existing=True)
    ).all()
    roles: dict[int, list[RoleAssignment]] = {i: [] for i in ids}
    for role in db.session.scalars(select(RoleAssignment).where(RoleAssignment.user_id.in_(ids))):
        roles[role.user_id].append(role)
    for person in people:
        # What User.is_admin would load, one query per person, given in one go.
        person._role_cache = roles[person.id]


def _create_batch(plans: list[Plan], actor: User, base_url: str) -> bool:
    """Create the new accounts of a batch with one flush; False if one clashed meanwhile.

    The plans have checked the rules ``create_user`` checks; ``create_users_checked``
    signals and audits each account the same way. On a clash nothing of the batch is
    kept and the caller creates it one by one.
    """
    people = services.create_users_checked(
        [(p.full_name, p.username, p.unit, p.email, p.job_title) for p in plans], actor
    )
    if people is None:
        return False
    for plan, person in zip(plans, people, strict=True):
        for role in plan.roles:
            services.assign_role(person, role, plan.unit, actor)
        if person.email:
            services.mail_welcome_link(person, base_url)
    return True


def _carry_out(plan: Plan, actor: User, reason: str, base_url: str) -> None:
    """Do what one planned row says, through the accounts services."""
    if plan.outcome == "create":
        person = services.create_user(
            plan.full_name,
            plan.username,
            plan.unit,
            email=plan.email,
            job_title=plan.job_title,
            actor=actor,
        )
        for role in plan.roles:
            services.assign_role(person, role, plan.unit, actor)
        if person.email:
            services.mail_welcome_link(person, base_url)
        return
    person = plan.person
    if plan.outcome == "deactivate":
        services.set_active(person, False, actor)
        return
    if not person.active:
        services.set_active(person, True, actor)
    if plan.new_full_name or plan.new_email or plan.new_job_title:
        services.update_user(
            person,
            actor,
            full_name=plan.new_full_name or person.full_name,
            email=plan.new_email or person.email,
            job_title=plan.new_job_title if plan.new_job_title is not None else person.job_title,
        )
    if plan.unit is not None and plan.unit.id != person.unit_id:
        services.transfer_user(person, plan.unit, actor, reason)
    for role in plan.roles:
        services.assign_role(person, role, plan.unit, actor)


def mark_failed(record: StaffImport, error: str) -> None:
    """Record that checking or applying an import gave up."""
    record.state, record.error = "failed", (error or "")[:2000]


def run_check(import_id: int, report: Callable[[float, str], None]) -> None:
    """Check a stored import (the ``accounts.import_check`` job; safe to run twice)."""
    record = db.session.get(StaffImport, import_id)
    if record is None:
        raise NotFound(_l("Import not found."))
    if record.state != "checking":
        return
    with force_locale(record.owner.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        report(0.05, _("Reading the file"))
        staff = read_file(_load_file(record))
        report(0.3, _("Checking %(n)d rows", n=len(staff.rows)))
        check(record, staff)


def run_apply(import_id: int, actor_id: int | None, report: Callable[[float, str], None]):
    """Apply a claimed import (the ``accounts.import_apply`` job; safe to run twice)."""
    record = db.session.get(StaffImport, import_id)
    if record is None:
        raise NotFound(_l("Import not found."))
    if record.state != "applying":
        return
    actor = db.session.get(User, actor_id or record.applied_by_id or record.owner_id)
    with force_locale(actor.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        report(0.02, _("Checking the rows again"))

        def checkpoint(done: int, total: int) -> None:
            report(
                0.05 + 0.9 * done / total,
                _("%(done)d of %(total)d rows done", done=done, total=total),
            )

        apply(record, actor, checkpoint)


def start_check_job(record: StaffImport) -> None:
    """Queue the check of a large file (commits)."""
    from elearn.jobs import services as jobs

    jobs.start(
        "accounts.import_check",
        owner_id=record.owner_id,
        target_type="staff_import",
        target_id=record.id,
        max_attempts=2,
        prepare=lambda job: setattr(record, "job_id", job.id),
    )


def start_apply_job(record: StaffImport, actor: User) -> None:
    """Queue the application of a large file (commits)."""
    from elearn.jobs import services as jobs

    jobs.start(
        "accounts.import_apply",
        owner_id=actor.id,
        target_type="staff_import",
        target_id=record.id,
        max_attempts=3,
        prepare=lambda job: setattr(record, "job_id", job.id),
    )


def inline_limit() -> int:
    """Return the number of rows above which a file is checked and applied by a job."""
    return current_app.config.get("IMPORT_INLINE_ROWS", 500)


# --- reading imports back -------------------------------------------------------------------


def imports_for(actor: User, limit: int = 100) -> list[StaffImport]:
    """Return the imports ``actor`` may open (their own; all for admins), newest first."""
    query = select(StaffImport).order_by(StaffImport.id.desc()).limit(limit)
    if not actor.is_admin:
        query = query.where(StaffImport.owner_id == actor.id)
    return list(db.session.scalars(query))


def import_for(actor: User, import_id: int) -> StaffImport:
    """Return an import its owner or an admin may open, else raise NotFound."""
    record = db.session.get(StaffImport, import_id)
    if record is None or not (actor.is_admin or record.owner_id == actor.id):
        raise NotFound(_l("Import not found."))
    return record


def rows_query(record: StaffImport, outcome: str | None = None):
    """Return a select of an import's rows, errors first, then by line."""
    query = select(StaffImportRow).where(StaffImportRow.import_id == record.id)
    if outcome:
        query = query.where(StaffImportRow.outcome == outcome)
    return query.order_by(
        case((StaffImportRow.outcome == "error", 0), else_=1), StaffImportRow.line
    )


ERROR_CSV_HEADERS = ["Dòng", "Tên đăng nhập hoặc email", "Họ và tên", "Mã đơn vị", "Lỗi"]


def _cell(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def errors_csv(record: StaffImport) -> str:
    """Return the import's errors as CSV (UTF-8 with a BOM, for Excel), by line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ERROR_CSV_HEADERS)
    for row in db.session.scalars(rows_query(record, "error")):
        writer.writerow(
            [
                row.line,
                _cell(row.identity),
                _cell(row.full_name),
                _cell(row.unit_code),
                _cell(row.message),
            ]
        )
    return "\ufeff" + buffer.getvalue()


# --- samples --------------------------------------------------------------------------------

#: (full name, username, email, job title, roles, left) of the sample files.
SAMPLE_PEOPLE = [
    ("Nguyễn Thị Ngọc Ánh", "", "nguyen.thi.anh@demo.elearn.vn", "Chuyên viên", "", ""),
    ("Trần Văn Bình", "tran.van.binh", "", "Kỹ sư công nghệ thông tin", "", ""),
    ("Lê Thị Hồng Nhung", "le.thi.hong.nhung", "nhung.le@demo.elearn.vn", "Văn thư", "", ""),
    ("Phạm Quốc Dũng", "pham.quoc.dung", "dung.pham@demo.elearn.vn", "Chuyên viên chính", "", ""),
    ("Đỗ Thị Thủy", "do.thi.thuy", "", "Chuyên viên", "", "x"),
]
SAMPLE_UNITS = ["BLDTBXH.VP", "BLDTBXH.TTTT", "BLDTBXH.TCCB", "BLDTBXH.CBTXH"]


def sample_rows(unit_codes: list[str] | None = None) -> list[list[str]]:
    """Return the sample file's header and rows (unit codes cycled from ``unit_codes``)."""
    codes = unit_codes or SAMPLE_UNITS
    rows = [[c.vi for c in COLUMNS]]
    for n, (name, username, email, title, roles, left) in enumerate(SAMPLE_PEOPLE):
        rows.append([name, username, email, codes[n % len(codes)], title, roles, left])
    return rows


def sample_csv(unit_codes: list[str] | None = None) -> bytes:
    """Return the sample as CSV in UTF-8 with a BOM (Excel opens it with its accents)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(sample_rows(unit_codes))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sample_xlsx(unit_codes: list[str] | None = None) -> bytes:
    """Return the sample as an XLSX workbook with a bold header row."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Nhân sự"
    for row in sample_rows(unit_codes):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (24, 20, 32, 16, 28, 16, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
