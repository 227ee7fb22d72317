"""Days and times an independent tester said to the rule agent (issue 6) that were read wrong: a clock time said
in words beside a day counted from today."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from calls.agent import understanding

# The tester's shop clock: Tuesday 2026-12-01, 18:20 in Chicago
NOW = datetime(2026, 12, 1, 18, 20, tzinfo=ZoneInfo("America/Chicago"))


def when(text):
    u = understanding.understand(text, NOW, services=False, named_days={}, expect_time=True)
    return u.date.single_day if u.date else None, u.time.exact if u.time else None


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("the day after tomorrow, half past ten", date(2026, 12, 3), time(10, 30)),
        ("day after tomorrow at quarter past nine", date(2026, 12, 3), time(9, 15)),
        ("the day after tomorrow, quarter to eleven", date(2026, 12, 3), time(10, 45)),
        ("in three days, half past two", date(2026, 12, 4), time(14, 30)),
    ],
)
def test_a_clock_time_in_words_beside_a_day_counted_from_today_keeps_its_minutes(said, day, at):
    assert when(said) == (day, at)


def test_a_day_counted_from_today_still_lends_no_hour_of_its_own():
    assert when("in two days")[1] is None
