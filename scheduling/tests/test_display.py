"""Times as the back office writes them: shop time, AM/PM once when both ends share it, on both when not."""

from datetime import UTC, datetime, timedelta

import pytest

from scheduling.availability import shop_tz
from scheduling.display import clock, day_and_time, time_range, when

FRIDAY = (2026, 11, 27)


def at(hour: int, minute: int = 0, day=FRIDAY) -> datetime:
    return datetime(*day, hour, minute, tzinfo=shop_tz())


@pytest.mark.parametrize(
    ("start", "end", "text"),
    [
        (at(9), at(10, 30), "9:00–10:30 AM"),
        (at(11, 30), at(12, 30), "11:30 AM–12:30 PM"),
        (at(12), at(13), "12:00–1:00 PM"),
        (at(0, 15), at(0, 45), "12:15–12:45 AM"),
        (at(16), at(9, day=(2026, 11, 28)), "4:00 PM–Sat Nov 28, 9:00 AM"),
    ],
)
def test_time_range(start, end, text):
    assert time_range(start, end) == text


def test_when_names_the_day_once():
    assert when(at(9), at(10, 30)) == "Fri Nov 27, 9:00–10:30 AM"
    assert when(at(11, 30), at(12, 30)) == "Fri Nov 27, 11:30 AM–12:30 PM"
    assert when(at(9), None) == "Fri Nov 27, 9:00 AM"


def test_utc_times_are_read_in_shop_time():
    utc = at(7, 30).astimezone(UTC)
    assert utc.hour == 13
    assert day_and_time(utc) == "Fri Nov 27, 7:30 AM"
    assert day_and_time(at(7, 30) + timedelta(hours=5)) == "Fri Nov 27, 12:30 PM"
    assert clock(at(0, 5)) == "12:05 AM"
    assert day_and_time(None) == "-"
