"""Times are UTC in the database; a due date ends at local midnight in Hà Nội."""

from datetime import date, datetime

from elearn.core.clock import due_at, is_overdue, to_local


def test_due_date_ends_at_local_midnight():
    # 30/6 ends at 00:00 on 1/7 in Asia/Ho_Chi_Minh (UTC+7), i.e. 17:00 UTC on 30/6.
    assert due_at(date(2026, 6, 30)) == datetime(2026, 6, 30, 17, 0)


def test_overdue_flips_exactly_at_the_end_of_the_local_day():
    assert not is_overdue(date(2026, 6, 30), now=datetime(2026, 6, 30, 16, 59, 59))
    assert is_overdue(date(2026, 6, 30), now=datetime(2026, 6, 30, 17, 0, 0))


def test_stored_utc_is_shown_in_local_time():
    assert to_local(datetime(2026, 1, 1, 20, 30)).strftime("%d/%m/%Y %H:%M") == "02/01/2026 03:30"
