"""Vietnamese folding and collation, and the same person order on both databases."""

import random

import pytest

from elearn.accounts import services as accounts
from elearn.core.vietnamese import collation_key, fold, person_sort_key
from elearn.extensions import db


@pytest.mark.parametrize(
    "typed", ["chinh phu dien tu", "CHÍNH PHỦ", "Chinh Phu", "điện tử", "dien TU"]
)
def test_fold_matches_regardless_of_marks_and_case(typed):
    assert fold(typed) in fold("Chính phủ điện tử")


def test_fold_treats_decomposed_input_like_precomposed():
    decomposed = "Chi\u0301nh phu\u0309"  # as some input methods send it
    assert fold(decomposed) == fold("Chính phủ") == "chinh phu"


def test_letters_order_as_in_the_vietnamese_alphabet():
    words = ["y", "ư", "u", "ơ", "ô", "o", "đ", "d", "ê", "e", "â", "ă", "a", "b"]
    assert sorted(words, key=collation_key) == [
        "a",
        "ă",
        "â",
        "b",
        "d",
        "đ",
        "e",
        "ê",
        "o",
        "ô",
        "ơ",
        "u",
        "ư",
        "y",
    ]


def test_tones_order_ngang_huyen_hoi_nga_sac_nang():
    words = ["hạ", "há", "hã", "hả", "hà", "ha"]
    assert sorted(words, key=collation_key) == ["ha", "hà", "hả", "hã", "há", "hạ"]


def test_letters_weigh_more_than_tones():
    assert sorted(["hạnh", "hải"], key=collation_key) == ["hải", "hạnh"]
    assert sorted(["Ân", "Anh", "An"], key=collation_key) == ["An", "Anh", "Ân"]


# People in the order a Vietnamese list shows them: by given name, then family name.
EXPECTED_ORDER = [
    "Lê Văn An",
    "Nguyễn Văn An",
    "Trần An",
    "Lê Anh",
    "Trần Thị Ân",
    "Bùi Thanh Bình",
    "Đặng Minh Châu",
    "Lý Văn Cường",
    "Đỗ Văn Dũng",
    "Mai Dũng",
    "Lý Đức",
    "Hồ Ha",
    "Phạm Hà",
    "Trần Thị Hà",
    "Đỗ Hả",
    "Ngô Há",
    "Vũ Hạ",
    "Đinh Văn Hải",
    "Kiều Hạnh",
    "Trịnh Đức Long",
    "Hoàng Thu Trang",
    "Cao Thị Yến",
]


def test_person_key_sorts_given_name_first():
    shuffled = EXPECTED_ORDER[:]
    random.Random(4).shuffle(shuffled)
    assert sorted(shuffled, key=person_sort_key) == EXPECTED_ORDER


def test_people_list_sorts_the_same_on_this_database(world):
    """Runs on SQLite and (in CI) PostgreSQL: both must give exactly this order."""
    names = EXPECTED_ORDER[:]
    random.Random(7).shuffle(names)
    for i, name in enumerate(names):
        accounts.create_user(name, f"sort{i}", world.dept_b)
    db.session.commit()
    listed = [
        p.full_name
        for p in db.session.scalars(accounts.people_in_scope(world.hr_b))
        if p.username.startswith("sort")
    ]
    assert listed == EXPECTED_ORDER


def test_people_search_ignores_marks_on_this_database(world, as_user):
    accounts.create_user("Nguyễn Thị Điệp", "diep", world.dept_a)
    db.session.commit()
    page = as_user("hr_a").get("/admin/people?q=DIEP").get_data(as_text=True)
    assert "Nguyễn Thị Điệp" in page
    assert "Nguyễn Thị Ánh" not in page
    page = as_user("hr_a").get("/admin/people?q=nguyen thi").get_data(as_text=True)
    assert "Nguyễn Thị Điệp" in page
    assert "Nguyễn Thị Ánh" in page
