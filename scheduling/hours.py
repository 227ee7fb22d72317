"""When the shop is open: weekly hours, closures, and a given day's hours (structured; phrasing is the caller's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from scheduling.models import BusinessHours, Closure

Intervals = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class DayHours:
    day: date
    intervals: Intervals  # empty when closed
    closure_reason: str | None = None  # None: no closure that day; "" a closure without a reason

    @property
    def open(self) -> bool:
        return bool(self.intervals)

    @property
    def closed_by_closure(self) -> bool:
        return self.closure_reason is not None


def hours_by_weekday() -> dict[int, list[tuple[time, time]]]:
    """Opening intervals per weekday (0 = Monday), earliest first; one query."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in BusinessHours.objects.order_by("weekday", "opens").values_list(
        "weekday", "opens", "closes"
    ):
        hours.setdefault(weekday, []).append((opens, closes))
    return hours


def closures_between(first: date, last: date) -> dict[date, str]:
    return dict(Closure.objects.filter(date__range=(first, last)).order_by().values_list("date", "reason"))


def day_hours(day: date, hours: dict[int, list[tuple[time, time]]] | None = None) -> DayHours:
    hours = hours_by_weekday() if hours is None else hours
    reason = Closure.objects.filter(date=day).values_list("reason", flat=True).first()
    if reason is not None:
        return DayHours(day=day, intervals=(), closure_reason=reason)
    return DayHours(day=day, intervals=tuple(hours.get(day.weekday(), ())))


def next_open_day(
    day: date, hours: dict[int, list[tuple[time, time]]] | None = None, within_days: int = 14
) -> DayHours | None:
    """The first day after `day` that the shop opens (closures skipped), or None within `within_days`."""
    hours = hours_by_weekday() if hours is None else hours
    closed = closures_between(day + timedelta(days=1), day + timedelta(days=within_days))
    for offset in range(1, within_days + 1):
        d = day + timedelta(days=offset)
        if d not in closed and hours.get(d.weekday()):
            return DayHours(day=d, intervals=tuple(hours[d.weekday()]))
    return None
