"""Which openings to offer a caller: search the availability engine, rank by what they asked for, explain misses.

A preference is an exact time (nearest first), a window ("after 2"), or a mode (earliest, latest, soonest). When
nothing fits, the nearest alternatives come back with `matched=False`; when the period has no openings at all, the
next openings after it with `beyond_period=True` and the reason the period was empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings

from scheduling.availability import available_slots, shop_tz
from scheduling.hours import DayHours, closures_between, day_hours, hours_by_weekday

DEFAULT_SEARCH_DAYS = 14
# An exact match on a later day beats a near miss only when it is not too far off: a day counts as 90 minutes.
DAY_COST_MINUTES = 90


@dataclass(frozen=True)
class TimePreference:
    exact: time | None = None
    start: time | None = None
    end: time | None = None
    mode: str = ""  # "", "earliest", "latest", "soonest"

    def inside(self, t: time) -> bool:
        if self.exact:
            return t == self.exact
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    @property
    def windowed(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def given(self) -> bool:
        return bool(self.exact or self.windowed or self.mode)


@dataclass(frozen=True)
class Grid:
    """The start times we offer: every `step` minutes from each opening (`anchors`)."""

    step: int
    anchors: tuple[time, ...]


@dataclass(frozen=True)
class EmptyPeriod:
    """Why a period had no openings: past, closed (with the day's hours), today_full, full, none_in_period."""

    reason: str
    day: date | None = None
    hours: DayHours | None = None


@dataclass
class Offers:
    slots: list[datetime]  # best first, aware, shop zone
    matched: bool  # the slots meet the preference
    start: date
    end: date
    grid: Grid | None = None  # set when the exact time asked for is never a start time
    unavailable_exact: time | None = None  # a grid time asked for that is taken
    window_missed: bool = False
    empty: EmptyPeriod | None = None  # the period had nothing; slots are the next openings after it
    # The window asked for lies past closing ("after 6" when we close at 6) or before opening: the shop's hours
    # that rule it out; the slots are then the latest (or earliest) ones of the days searched.
    closes_at: time | None = None
    opens_at: time | None = None

    @property
    def beyond_period(self) -> bool:
        return self.empty is not None and bool(self.slots)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def off_grid(days: list[date], exact: time, hours: dict, step: int) -> Grid | None:
    """The grid when `exact` is inside opening hours on the searched days but never a start time we offer (the
    engine's grid is anchored at each opening interval's start); None when the grid is not the reason."""
    closed = closures_between(min(days), max(days)) if days else {}
    anchors: list[time] = []
    for d in days:
        if d in closed:
            continue
        for opens, closes in hours.get(d.weekday(), ()):
            if opens <= exact < closes:
                if (_minutes(exact) - _minutes(opens)) % step == 0:
                    return None  # a real grid time: it is taken, not off the grid
                anchors.append(opens)
    return Grid(step=step, anchors=tuple(sorted(set(anchors)))) if anchors else None


def _spread(slots: list[datetime], k: int) -> list[datetime]:
    if len(slots) <= k:
        return slots
    if k == 1:
        return slots[:1]
    picks = sorted({round(i * (len(slots) - 1) / (k - 1)) for i in range(k)})
    return [slots[i] for i in picks]


def rank(slots: list[datetime], pref: TimePreference, limit: int) -> tuple[list[datetime], bool]:
    """(best slots first, whether they meet the preference)."""
    if not slots:
        return [], False
    first_day = slots[0].date()

    def day_offset(s: datetime) -> int:
        return (s.date() - first_day).days

    if pref.exact:
        target = _minutes(pref.exact)
        ranked = sorted(slots, key=lambda s: (abs(_minutes(s.time()) - target) + DAY_COST_MINUTES * day_offset(s), s))
        return ranked[:limit], any(s.time() == pref.exact for s in slots)
    if pref.windowed:
        inside = [s for s in slots if pref.inside(s.time())]
        if inside:
            if pref.mode == "soonest":  # "asap, mornings are best": the first mornings, not mornings spread out
                return rank(inside, TimePreference(mode="soonest"), limit)[0], True
            if pref.mode == "earliest":
                return sorted(inside, key=lambda s: (s.time(), s))[:limit], True
            if pref.mode == "latest":
                return sorted(inside, key=lambda s: (-_minutes(s.time()), s))[:limit], True
            return _spread(inside, limit), True

        def distance(s: datetime) -> int:
            m = _minutes(s.time())
            lo = _minutes(pref.start) if pref.start else 0
            hi = _minutes(pref.end) if pref.end else 24 * 60
            return max(lo - m, m - hi, 0) + DAY_COST_MINUTES * day_offset(s)

        return sorted(slots, key=lambda s: (distance(s), s))[:limit], False
    if pref.mode == "earliest":
        return sorted(slots, key=lambda s: (s.time(), s))[:limit], True
    if pref.mode == "latest":
        return sorted(slots, key=lambda s: (-_minutes(s.time()), s))[:limit], True
    if pref.mode == "soonest":
        chosen: list[datetime] = []
        for s in slots:  # the first openings, at least an hour apart so they are real alternatives
            if not chosen or s - chosen[-1] >= timedelta(hours=1) or s.date() != chosen[-1].date():
                chosen.append(s)
            if len(chosen) == limit:
                break
        return chosen, True
    return _spread(slots, limit), True


def _why_empty(day: date, today: date, hours: dict) -> EmptyPeriod:
    if day < today:
        return EmptyPeriod("past", day)
    info = day_hours(day, hours)
    if not info.open:
        return EmptyPeriod("closed", day, info)
    if day == today:
        return EmptyPeriod("today_full", day)
    return EmptyPeriod("full", day)


def _outside_hours(offers: Offers, slots: list[datetime], pref: TimePreference, service_types, limit: int) -> bool:
    """ "After 6" (or "at 6:30") when the last visit must start by 5:30: say when we close and offer the latest
    instead (and the earliest for "before 7" or "at 6 am" when we open at 7). Only when no day searched could ever
    fit the window or the time. True when so."""
    from scheduling.availability import total_duration

    days = {s.date() for s in slots}
    hours = hours_by_weekday()
    intervals = [iv for d in days for iv in hours.get(d.weekday(), ())]
    if not intervals:
        return False
    length = total_duration(service_types)
    last_close = max(c for _, c in intervals)
    first_open = min(o for o, _ in intervals)
    latest_start = (datetime.combine(date(2000, 1, 1), last_close) - length).time()
    # ("after 6" reaches the tools as 18:00-23:59, "before 7" as 00:00-07:00)
    if pref.exact is not None:
        past_closing, before_opening = pref.exact > latest_start, pref.exact < first_open
    else:
        past_closing = (
            pref.start is not None and pref.start > latest_start and (pref.end is None or pref.end >= last_close)
        )
        before_opening = (
            pref.end is not None and pref.end <= first_open and (pref.start is None or pref.start <= first_open)
        )
    if past_closing:
        offers.closes_at = last_close
        offers.slots = rank(slots, TimePreference(mode="latest"), limit)[0]
    elif before_opening:
        offers.opens_at = first_open
        offers.slots = rank(slots, TimePreference(mode="earliest"), limit)[0]
    return past_closing or before_opening


def find_offers(
    *,
    service_types,
    start: date,
    end: date,
    now: datetime,
    pref: TimePreference,
    limit: int,
    wanted: set[date] | None = None,
    exclude_appointment_id: int | None = None,
    vehicle_id: int | None = None,
    avoid_weekdays: frozenset[int] = frozenset(),
    avoid_days: frozenset[date] = frozenset(),
    held: Sequence[tuple[datetime, datetime]] = (),
    car_held: Sequence[tuple[datetime, datetime]] = (),
) -> Offers:
    """Openings for `service_types` from `start` to `end` (only `wanted` days when given), best first. Days the
    caller ruled out (`avoid_weekdays`, 0 = Monday; `avoid_days`) are never offered, not even as alternatives.
    `held`: visits arranged in the same call and not written yet, which take a bay (availability.available_slots);
    `car_held`: those of them that are the same car's, which it can't overlap.

    Raises ValueError for a period that ends before it starts or starts beyond the booking horizon."""
    today = now.astimezone(shop_tz()).date()
    if end < start:
        raise ValueError("The end of the period is before its start.")
    horizon = today + timedelta(days=settings.BOOKING_HORIZON_DAYS)
    if start > horizon:
        raise ValueError(f"We book up to {settings.BOOKING_HORIZON_DAYS} days ahead; please pick an earlier date.")
    end = min(end, horizon)
    start = max(start, today) if end >= today else start

    def search(first: date, last: date) -> list[datetime]:
        if last < first:
            return []
        found = available_slots(
            service_types=service_types,
            start_date=first,
            end_date=last,
            now=now,
            exclude_appointment_id=exclude_appointment_id,
            vehicle_id=vehicle_id,
            held=held,
            car_held=car_held,
        )
        local = (s.astimezone(shop_tz()) for s in found)
        return [s for s in local if s.weekday() not in avoid_weekdays and s.date() not in avoid_days]

    slots = [s for s in search(start, end) if wanted is None or s.date() in wanted]
    if slots:
        chosen, matched = rank(slots, pref, limit)
        offers = Offers(slots=chosen, matched=matched, start=start, end=end)
        if pref.exact and not matched:
            step = settings.SLOT_MINUTES
            days = sorted(wanted) if wanted else [start + timedelta(days=i) for i in range((end - start).days + 1)]
            offers.grid = off_grid(days[:31], pref.exact, hours_by_weekday(), step)
            if offers.grid:
                # 9:15 asked: the grid times either side (9:00, 9:30) when free, the closer first, earliest day first
                target = _minutes(pref.exact)
                either_side = [s for s in slots if abs(_minutes(s.time()) - target) < step]
                if either_side:
                    offers.slots = sorted(either_side, key=lambda s: (s.date(), abs(_minutes(s.time()) - target), s))
                    offers.slots = offers.slots[:limit]
            elif not _outside_hours(offers, slots, pref, service_types, limit):
                offers.unavailable_exact = pref.exact
        elif pref.windowed and not matched:
            offers.window_missed = True
            _outside_hours(offers, slots, pref, service_types, limit)
        return offers
    single = start == end or (wanted is not None and len(wanted) == 1)
    empty = _why_empty(start, today, hours_by_weekday()) if single else EmptyPeriod("none_in_period")
    # after a day that has passed ("the 7th of this month" said on the 30th), the next openings from today
    later = search(
        max(end + timedelta(days=1), today), min(max(end, today) + timedelta(days=DEFAULT_SEARCH_DAYS), horizon)
    )
    if pref.exact:
        after = pref
    elif pref.windowed:  # "this afternoon" when today is over: the next afternoons, not afternoons weeks apart
        after = TimePreference(start=pref.start, end=pref.end, mode=pref.mode or "soonest")
    else:
        after = TimePreference(mode="soonest")
    chosen, _ = rank(later, after, limit)
    return Offers(slots=chosen, matched=False, start=start, end=end, empty=empty)
