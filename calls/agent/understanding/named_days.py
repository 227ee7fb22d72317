"""Days callers name instead of dating: public holidays and the shop's own closures ("the staff training day")."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from calls.agent.understanding.text import normalize


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of a month (n = -1: the last one)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _thanksgiving(year: int) -> date:
    return _nth_weekday(year, 11, 3, 4)


# US federal holidays and the eves callers name, as normalized text. Duckling knows some of these but not all
# ("memorial day" is missing), so the whole list is ours and one table answers. "July 4th" is a plain date.
HOLIDAYS: dict[str, Callable[[int], date]] = {
    "new years day": lambda y: date(y, 1, 1),
    "new years eve": lambda y: date(y, 12, 31),
    "new years": lambda y: date(y, 1, 1),
    "martin luther king jr day": lambda y: _nth_weekday(y, 1, 0, 3),
    "martin luther king day": lambda y: _nth_weekday(y, 1, 0, 3),
    "mlk day": lambda y: _nth_weekday(y, 1, 0, 3),
    "presidents day": lambda y: _nth_weekday(y, 2, 0, 3),
    "memorial day": lambda y: _nth_weekday(y, 5, 0, -1),
    "juneteenth": lambda y: date(y, 6, 19),
    "independence day": lambda y: date(y, 7, 4),
    "labor day": lambda y: _nth_weekday(y, 9, 0, 1),
    "labour day": lambda y: _nth_weekday(y, 9, 0, 1),
    "columbus day": lambda y: _nth_weekday(y, 10, 0, 2),
    "indigenous peoples day": lambda y: _nth_weekday(y, 10, 0, 2),
    "veterans day": lambda y: date(y, 11, 11),
    "thanksgiving day": _thanksgiving,
    "thanksgiving": _thanksgiving,
    "day after thanksgiving": lambda y: _thanksgiving(y) + timedelta(days=1),
    "black friday": lambda y: _thanksgiving(y) + timedelta(days=1),
    "christmas eve": lambda y: date(y, 12, 24),
    "christmas day": lambda y: date(y, 12, 25),
    "christmas": lambda y: date(y, 12, 25),
    "xmas": lambda y: date(y, 12, 25),
}
_GENERIC_CLOSURE_WORDS = {"holiday", "holidays", "closed", "closure", "vacation", "other", "none", "private"}


def _next_holiday(name: str, today: date) -> date:
    for year in (today.year, today.year + 1):
        d = HOLIDAYS[name](year)
        if d >= today:
            return d
    return HOLIDAYS[name](today.year + 1)


def named_day_spans(s: str, today: date, named_days: Mapping[str, date] | None) -> list[tuple[int, int, date]]:
    """(start, end, day) of the days named in normalized text: the shop's closures first, then holidays;
    longest names first, so "the day after thanksgiving" is not read as Thanksgiving."""
    names: dict[str, date | None] = {}
    for phrase, d in (named_days or {}).items():
        names.setdefault(phrase, d)
    for phrase in HOLIDAYS:
        names.setdefault(phrase, None)
    found: list[tuple[int, int, date]] = []
    for phrase in sorted(names, key=len, reverse=True):
        if phrase not in s:
            continue
        for m in re.finditer(rf"\b{re.escape(phrase)}\b", s):
            if any(a < m.end() and m.start() < b for a, b, _ in found):
                continue
            d = names[phrase]
            found.append((m.start(), m.end(), d if d is not None else _next_holiday(phrase, today)))
    return found


def named_day_phrases(reason: str) -> list[str]:
    """How a caller may name a closure: "Closed for staff training day" -> ["staff training day", "staff training"]."""
    t = normalize(reason)
    t = re.sub(r"^(shop |we are |were )?(closed )?(for |on )?(the )?", "", t).strip()
    out = [t]
    if t.endswith(" day"):
        out.append(t[: -len(" day")])
    return [p for p in out if len(p) >= 5 and p not in _GENERIC_CLOSURE_WORDS]


def closure_days(today: date) -> dict[str, date]:
    """{spoken name: date} of the shop's upcoming named closures, the soonest first for a repeated name."""
    from scheduling.models import Closure

    days: dict[str, date] = {}
    rows = Closure.objects.filter(date__gte=today, date__lte=today + timedelta(days=400)).exclude(reason="")
    for d, reason in rows.order_by("date").values_list("date", "reason"):
        for phrase in named_day_phrases(reason):
            days.setdefault(phrase, d)
    return days
