"""Demo org tree and accounts, modelled on the units named in the seed articles.

Loaded by ``flask --app wsgi accounts load-demo`` when ``ELEARN_DEMO=1`` (``make run``
sets it). Loading again changes nothing: units and people are matched by code
and username. Production refuses to start with the demo flag on.
"""

from __future__ import annotations

from sqlalchemy import select

from elearn.accounts import services
from elearn.accounts.models import RoleAssignment, User
from elearn.extensions import db

#: Every demo account signs in with this password (printed by the command and in README).
DEMO_PASSWORD = "hoc-truc-tuyen-2026"  # noqa: S105 - demo data, refused in production

# (code, name, kind, parent code)
UNITS = [
    ("BLDTBXH", "Bộ Lao động - Thương binh và Xã hội", "ministry", None),
    ("BLDTBXH.VP", "Văn phòng Bộ", "department", "BLDTBXH"),
    ("BLDTBXH.TCCB", "Vụ Tổ chức cán bộ", "department", "BLDTBXH"),
    ("BLDTBXH.TTTT", "Trung tâm Thông tin", "unit", "BLDTBXH"),
    ("BLDTBXH.CBTXH", "Cục Bảo trợ xã hội", "department", "BLDTBXH"),
    (
        "BLDTBXH.TRUONG",
        "Trường Đào tạo, bồi dưỡng cán bộ, công chức lao động - xã hội",
        "school",
        "BLDTBXH",
    ),
    ("BNV", "Bộ Nội vụ", "ministry", None),
    ("BNV.TCCB", "Vụ Tổ chức cán bộ", "department", "BNV"),
    ("BNV.TTTT", "Trung tâm Thông tin", "unit", "BNV"),
    ("BNV.HVHC", "Học viện Hành chính Quốc gia", "school", "BNV"),
    ("BNV.HVHC.VBCN", "Khoa Văn bản và Công nghệ hành chính", "unit", "BNV.HVHC"),
    ("BTTTT", "Bộ Thông tin và Truyền thông", "ministry", None),
    ("BTTTT.CUDCNTT", "Cục Ứng dụng Công nghệ thông tin", "department", "BTTTT"),
    ("BTTTT.VCNTT", "Vụ Công nghệ thông tin", "department", "BTTTT"),
    ("BTTTT.DDHCM", "Cơ quan đại diện tại Thành phố Hồ Chí Minh", "unit", "BTTTT"),
    ("VINHPHUC", "Tỉnh Vĩnh Phúc", "province", None),
    ("VINHPHUC.SNV", "Sở Nội vụ", "department", "VINHPHUC"),
    ("VINHPHUC.STTTT", "Sở Thông tin và Truyền thông", "department", "VINHPHUC"),
    ("VINHPHUC.TAMDAO", "Ủy ban nhân dân huyện Tam Đảo", "unit", "VINHPHUC"),
]

# (username, full name, unit code, job title, email, [(role, scope unit code)])
PEOPLE = [
    (
        "quantri",
        "Trần Minh Quân",
        "BNV.TTTT",
        "Quản trị hệ thống",
        "quantri@demo.elearn.vn",
        [("admin", None)],
    ),
    (
        "nhansu",
        "Lê Thị Hạnh",
        "BLDTBXH.TCCB",
        "Chuyên viên Vụ Tổ chức cán bộ",
        "nhansu@demo.elearn.vn",
        [("hr", "BLDTBXH")],
    ),
    (
        "nhansu.vinhphuc",
        "Phạm Văn Đức",
        "VINHPHUC.SNV",
        "Chuyên viên Sở Nội vụ",
        "nhansu.vinhphuc@demo.elearn.vn",
        [("hr", "VINHPHUC")],
    ),
    (
        "giangvien",
        "Bùi Thanh Bình",
        "BLDTBXH.TRUONG",
        "Giảng viên",
        "giangvien@demo.elearn.vn",
        [("instructor", "BLDTBXH.TRUONG")],
    ),
    ("hocvien", "Nguyễn Thị Ánh", "BLDTBXH.VP", "Chuyên viên", "hocvien@demo.elearn.vn", []),
    (
        "hocvien2",
        "Đỗ Văn Dũng",
        "BLDTBXH.TTTT",
        "Kỹ sư công nghệ thông tin",
        "hocvien2@demo.elearn.vn",
        [],
    ),
    ("hocvien3", "Hoàng Thu Trang", "VINHPHUC.SNV", "Chuyên viên", "hocvien3@demo.elearn.vn", []),
    ("vu.thi.an", "Vũ Thị An", "BLDTBXH.VP", "Văn thư", None, []),
    ("ngo.quang.anh", "Ngô Quang Anh", "BLDTBXH.CBTXH", "Chuyên viên", None, []),
    ("dang.minh.chau", "Đặng Minh Châu", "BLDTBXH.TTTT", "Kỹ thuật viên", None, []),
    ("ly.van.cuong", "Lý Văn Cường", "BLDTBXH.CBTXH", "Chuyên viên chính", None, []),
    ("tran.thi.ha", "Trần Thị Hà", "BLDTBXH.VP", "Chuyên viên", None, []),
    ("phan.thu.ha", "Phan Thu Hà", "BLDTBXH.TCCB", "Chuyên viên", None, []),
    ("dinh.van.hai", "Đinh Văn Hải", "VINHPHUC.STTTT", "Chuyên viên", None, []),
    ("mai.thi.lan", "Mai Thị Lan", "VINHPHUC.TAMDAO", "Công chức", None, []),
    ("trinh.duc.long", "Trịnh Đức Long", "BNV.TCCB", "Chuyên viên", None, []),
    ("cao.thi.yen", "Cao Thị Yến", "BTTTT.VCNTT", "Chuyên viên", None, []),
]


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo units and accounts that are missing; return (username, name, roles)."""
    for code, name, kind, parent_code in UNITS:
        if services.unit_by_code(code) is None:
            parent = services.unit_by_code(parent_code) if parent_code else None
            services.create_unit(code, name, kind, parent, actor=None)
    admin = None
    rows = []
    for username, full_name, unit_code, title, email, roles in PEOPLE:
        person = db.session.scalar(select(User).where(User.username == username))
        if person is None:
            person = services.create_user(
                full_name,
                username,
                services.unit_by_code(unit_code),
                email=email,
                job_title=title,
                password=DEMO_PASSWORD,
            )
        for role, scope_code in roles:
            scope = services.unit_by_code(scope_code) if scope_code else None
            exists = db.session.scalar(
                select(RoleAssignment.id).where(
                    RoleAssignment.user_id == person.id, RoleAssignment.role == role
                )
            )
            if not exists:
                db.session.add(
                    RoleAssignment(
                        user_id=person.id,
                        role=role,
                        unit_id=scope.id if scope else None,
                        created_by_id=admin.id if admin else None,
                    )
                )
        if username == "quantri":
            admin = person
        db.session.flush()
        labels = ", ".join(f"{r} @ {c or 'site'}" for r, c in roles) or "learner"
        rows.append((username, full_name, labels))
    return rows
