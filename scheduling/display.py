"""How dates and times read in the back office: shop time, 12-hour clock, no seconds.

"Fri Nov 27, 9:00–10:30 AM" — AM/PM is written once when both ends share it, on both ends when they don't
("11:30 AM–12:30 PM"), so a range never reads as if it ran backwards.
"""

from datetime import datetime

from django.utils import timezone

from scheduling.availability import shop_tz


def shop_time(dt: datetime) -> datetime:
    return timezone.localtime(dt, shop_tz())


def _meridiem(dt: datetime) -> str:
    return "AM" if dt.hour < 12 else "PM"


def _clock(dt: datetime, *, meridiem: bool = True) -> str:
    text = f"{dt.hour % 12 or 12}:{dt.minute:02d}"
    return f"{text} {_meridiem(dt)}" if meridiem else text


def _day(dt: datetime) -> str:
    return f"{dt:%a %b} {dt.day}"


def clock(dt: datetime) -> str:
    """ "7:30 AM" in shop time."""
    return _clock(shop_time(dt))


def day_and_time(dt: datetime | None) -> str:
    """ "Wed Nov 25, 7:30 AM" in shop time; "-" for no time at all."""
    if dt is None:
        return "-"
    local = shop_time(dt)
    return f"{_day(local)}, {_clock(local)}"


def time_range(start: datetime, end: datetime) -> str:
    """ "9:00–10:30 AM", "11:30 AM–12:30 PM"; an end on a later day names that day ("4:00 PM–Sat Nov 28, 9:00 AM")."""
    first, last = shop_time(start), shop_time(end)
    if first.date() != last.date():
        return f"{_clock(first)}–{_day(last)}, {_clock(last)}"
    return f"{_clock(first, meridiem=_meridiem(first) != _meridiem(last))}–{_clock(last)}"


def when(start: datetime, end: datetime | None) -> str:
    """ "Fri Nov 27, 9:00–10:30 AM": the day once, then the times."""
    if end is None:
        return day_and_time(start)
    return f"{_day(shop_time(start))}, {time_range(start, end)}"
