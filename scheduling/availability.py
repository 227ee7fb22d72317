"""When can a car come in? Bookable start times, and the rule that refuses a given time with its reason.

All arithmetic runs on POSIX timestamps: opening times are built as local wall times per day in the shop's
zone (so 7:00 is 7:00 on both sides of a DST change) and converted to instants, and durations are real
elapsed time. Results come back as aware datetimes in the shop's zone.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from scheduling.errors import BookingError
from scheduling.hours import closures_between, hours_by_weekday
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay, ServiceType
from scheduling.wording import WEEKDAYS, slot_label, spoken_day, spoken_duration, spoken_time

# Bookings must fit inside one opening interval, so no active appointment spans a day or more. The lower bound
# this gives on `start` lets the (status, start, end) index range-scan instead of reading all history.
MAX_APPOINTMENT_SPAN = timedelta(days=1)


# --- small public helpers ---------------------------------------------------------------------------------


def shop_tz() -> ZoneInfo:
    return ZoneInfo(settings.SHOP_TIMEZONE)


def capacity() -> int:
    """How many appointments can run at once: the number of active service bays."""
    return ServiceBay.objects.filter(active=True).count()


def total_duration(service_types) -> timedelta:
    """Service durations add up: an oil change and brakes take 30 + 90 minutes."""
    return sum((st.duration for st in service_types), timedelta())


def require_aware(value, what: str = "time") -> datetime:
    if not isinstance(value, datetime):
        raise BookingError(f"The {what} must be a date and time.", code="invalid")
    if timezone.is_naive(value):
        raise BookingError(f"The {what} has no time zone; give it with the shop's time zone.", code="invalid")
    return value


def resolve_service_types(service_types, *, refresh: bool = True, keep_inactive: Iterable[int] = ()) -> list:
    """ServiceType instances and/or codes -> ServiceType instances, in the order given, without duplicates.

    Refuses an empty list, unknown codes and inactive services (except the ids in `keep_inactive`: services an
    existing appointment already has). With refresh=False, instances are trusted as passed (no query).
    """
    if isinstance(service_types, (str, ServiceType)):
        service_types = [service_types]
    items = list(service_types or [])
    if not items:
        raise BookingError("Please choose at least one service.", code="no_service")
    for item in items:
        if not isinstance(item, (str, ServiceType)):
            raise BookingError(f"“{item}” is not a service.", code="invalid")
    codes = [item.strip().lower() for item in items if isinstance(item, str)]
    pks = [item.pk for item in items if isinstance(item, ServiceType)]
    by_code, by_pk = {}, {}
    if codes or (refresh and pks):
        for st in ServiceType.objects.filter(Q(code__in=codes) | Q(pk__in=pks if refresh else [])):
            by_code[st.code] = st
            by_pk[st.pk] = st
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        listed = ", ".join(f"“{c}”" for c in unknown)
        raise BookingError(f"We don't offer {listed}.", code="unknown_service")
    resolved, seen = [], set()
    for item in items:
        if isinstance(item, str):
            st = by_code[item.strip().lower()]
        elif refresh:
            st = by_pk.get(item.pk)
            if st is None:
                raise BookingError(f"We don't offer {item.name} any more.", code="unknown_service")
        else:
            st = item
        if st.pk not in seen:
            seen.add(st.pk)
            resolved.append(st)
    keep = set(keep_inactive)
    inactive = [st for st in resolved if not st.active and st.pk not in keep]
    if inactive:
        names = " and ".join(st.name for st in inactive)
        raise BookingError(f"Sorry, {names} can't be booked right now.", code="inactive_service")
    return resolved


# --- reading the shop's calendar (one query each) ------------------------------------------------------------


def _active_spans(
    lo: float, hi: float, exclude_appointment_id: int | None, *, vehicle_id: int | None = None
) -> list[tuple[float, float]]:
    """(start, end) timestamps of active appointments (of one car, when given) overlapping [lo, hi): one query."""
    lo_dt = datetime.fromtimestamp(lo, UTC)
    qs = Appointment.objects.filter(
        status__in=Appointment.ACTIVE_STATUSES,
        start__lt=datetime.fromtimestamp(hi, UTC),
        start__gt=lo_dt - MAX_APPOINTMENT_SPAN,
        end__gt=lo_dt,
    )
    if exclude_appointment_id is not None:
        qs = qs.exclude(pk=exclude_appointment_id)
    if vehicle_id is not None:
        qs = qs.filter(vehicle_id=vehicle_id)
    return [(s.timestamp(), e.timestamp()) for s, e in qs.order_by().values_list("start", "end")]


def _load_profile(spans) -> tuple[list[float], list[int]]:
    """Sweep: load[i] appointments run during [times[i], times[i+1]); before times[0] nothing runs."""
    deltas: dict[float, int] = {}
    for s, e in spans:
        deltas[s] = deltas.get(s, 0) + 1
        deltas[e] = deltas.get(e, 0) - 1
    times = sorted(deltas)
    loads, running = [], 0
    for t in times:
        running += deltas[t]
        loads.append(running)
    return times, loads


def _peak(times: list[float], loads: list[int], s: float, e: float) -> int:
    """Most appointments running at any moment of [s, e)."""
    i = bisect_right(times, s) - 1
    peak = loads[i] if i >= 0 else 0
    i += 1
    n = len(times)
    while i < n and times[i] < e:
        if loads[i] > peak:
            peak = loads[i]
        i += 1
    return peak


def _local_ts(day: date, at: time, tz: ZoneInfo) -> float:
    return datetime.combine(day, at, tzinfo=tz).timestamp()


def _now(now: datetime | None) -> datetime:
    return timezone.now() if now is None else require_aware(now, "current time")


def _last_bookable_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date() + timedelta(days=settings.BOOKING_HORIZON_DAYS)


def last_bookable_day(now: datetime | None = None) -> date:
    """The furthest day a booking may be made for (the booking horizon), in the shop's time zone."""
    return _last_bookable_day(_now(now), shop_tz())


# --- the engine ----------------------------------------------------------------------------------------------


def available_slots(
    *,
    service_types,
    start_date: date,
    end_date: date | None = None,
    now: datetime | None = None,
    slot_minutes: int | None = None,
    exclude_appointment_id: int | None = None,
    vehicle_id: int | None = None,
    limit: int | None = None,
    held: Sequence[tuple[datetime, datetime]] = (),
    car_held: Sequence[tuple[datetime, datetime]] = (),
) -> list[datetime]:
    """Bookable start times (aware, shop zone) from start_date to end_date inclusive.

    On the slot grid anchored at each opening interval's start; the whole visit fits inside that one interval;
    not on closures; at least BOOKING_LEAD_MINUTES after now; no later than BOOKING_HORIZON_DAYS ahead; and at
    no moment more appointments than active bays. exclude_appointment_id: leave that appointment out of the
    load (rescheduling it). vehicle_id: leave out times when that car is already booked (a car can't be in two
    bays at once). held: visits being arranged in the same call and not written yet (another car of the caller's,
    same time): they take a bay too. car_held: those of them that are this same car's (two of its appointments
    moved together): the car is busy then as well. Queries: service codes (only if given), bays, hours, closures,
    appointments (+1 with a vehicle).
    """
    types = resolve_service_types(service_types, refresh=False)
    if limit is not None and limit <= 0:
        return []
    duration = total_duration(types).total_seconds()
    now = _now(now)
    end_date = start_date if end_date is None else end_date
    if end_date < start_date:
        raise BookingError("The end date is before the start date.", code="invalid")
    step = settings.SLOT_MINUTES if slot_minutes is None else slot_minutes
    if step <= 0:
        raise BookingError("Slots must be at least one minute long.", code="invalid")
    step_s = step * 60
    tz = shop_tz()
    earliest = now + timedelta(minutes=settings.BOOKING_LEAD_MINUTES)
    first_day = max(start_date, earliest.astimezone(tz).date())
    last_day = min(end_date, _last_bookable_day(now, tz))
    if first_day > last_day:
        return []
    bays = capacity()
    if bays <= 0:
        return []
    hours = hours_by_weekday()
    closed = closures_between(first_day, last_day)

    windows: list[tuple[float, float]] = []
    day = first_day
    while day <= last_day:
        if day not in closed:
            for opens, closes in hours.get(day.weekday(), ()):
                windows.append((_local_ts(day, opens, tz), _local_ts(day, closes, tz)))
        day += timedelta(days=1)
    if not windows:
        return []

    held_spans = [(a.timestamp(), b.timestamp()) for a, b in held]
    times, loads = _load_profile(_active_spans(windows[0][0], windows[-1][1], exclude_appointment_id) + held_spans)
    car_busy = (
        _active_spans(windows[0][0], windows[-1][1], exclude_appointment_id, vehicle_id=vehicle_id)
        if vehicle_id is not None
        else []
    ) + [(a.timestamp(), b.timestamp()) for a, b in car_held]
    earliest_ts = earliest.timestamp()
    slots: list[datetime] = []
    for open_ts, close_ts in windows:
        t = open_ts
        if t < earliest_ts:  # first grid point at or after the lead time, keeping the grid's anchor
            t += math.ceil((earliest_ts - t) / step_s) * step_s
        while t + duration <= close_ts:
            if _peak(times, loads, t, t + duration) < bays and not any(s < t + duration and e > t for s, e in car_busy):
                slots.append(datetime.fromtimestamp(t, tz))
                if limit is not None and len(slots) >= limit:
                    return slots
            t += step_s
    return slots


def check_bookable(
    *,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
    bay_count: int | None = None,
    lead_minutes: int | None = None,
) -> None:
    """Raise BookingError with the reason when [start, end) can't be booked; return None when it can.

    lead_minutes: how far ahead a booking must be (default BOOKING_LEAD_MINUTES; advisors pass 0 to book
    a walk-in for right now).
    bay_count: the capacity the caller read under the bay lock (booking services); read here when None.
    Off-grid starts are accepted: the grid is what we offer, advisors may book 7:15.
    """
    require_aware(start, "start time")
    require_aware(end, "end time")
    # Compare instants, not wall times: Python compares same-zone datetimes by wall clock, ignoring DST folds.
    s, e = start.timestamp(), end.timestamp()
    if e <= s:
        raise BookingError("The appointment must end after it starts.", code="invalid")
    now = _now(now)
    if s < now.timestamp():
        raise BookingError("That time has already passed.", code="past")
    lead = timedelta(minutes=settings.BOOKING_LEAD_MINUTES if lead_minutes is None else lead_minutes)
    if lead and s < now.timestamp() + lead.total_seconds():
        raise BookingError(
            f"Appointments have to be booked at least {spoken_duration(lead.total_seconds() / 60)} ahead.",
            code="lead_time",
        )
    tz = shop_tz()
    local_start = start.astimezone(tz)
    day = local_start.date()
    if day > _last_bookable_day(now, tz):
        raise BookingError(
            f"We book up to {settings.BOOKING_HORIZON_DAYS} days ahead; please pick an earlier date.", code="too_far"
        )
    closure = Closure.objects.filter(date=day).values_list("reason", flat=True).first()
    if closure is not None:
        why = f" ({closure})" if closure else ""
        raise BookingError(f"We're closed on {spoken_day(day)}{why}.", code="closed_day")
    intervals = list(
        BusinessHours.objects.filter(weekday=day.weekday()).order_by("opens").values_list("opens", "closes")
    )
    if not intervals:
        raise BookingError(f"We're closed on {WEEKDAYS[day.weekday()]}s.", code="closed_day")
    _check_inside_hours(day, intervals, s, e, tz)

    bays = capacity() if bay_count is None else bay_count
    times, loads = _load_profile(_active_spans(s, e, exclude_appointment_id))
    if bays <= 0 or _peak(times, loads, s, e) >= bays:
        raise BookingError("That time is fully booked.", code="full")


def _check_inside_hours(day: date, intervals, s: float, e: float, tz: ZoneInfo) -> None:
    days = f"{WEEKDAYS[day.weekday()]}s"
    spans = [(_local_ts(day, o, tz), _local_ts(day, c, tz), o, c) for o, c in intervals]
    if s < spans[0][0]:
        raise BookingError(f"We open at {spoken_time(spans[0][2])} on {days}.", code="outside_hours")
    for i, (open_ts, close_ts, opens, closes) in enumerate(spans):
        if s >= close_ts:
            continue
        if s < open_ts:  # in the gap after the previous interval
            prev_closes = spans[i - 1][3]
            raise BookingError(
                f"We're closed from {spoken_time(prev_closes)} to {spoken_time(opens)} on {days}.", code="outside_hours"
            )
        if e <= close_ts:
            return
        length = spoken_duration((e - s) / 60)
        latest = close_ts - (e - s)
        if latest < open_ts:
            raise BookingError(
                f"This visit takes {length}, longer than we're open in one stretch on {days}.", code="outside_hours"
            )
        latest_text = spoken_time(datetime.fromtimestamp(latest, tz).time())
        if i + 1 < len(spans):
            raise BookingError(
                f"That would run into our break from {spoken_time(closes)} to {spoken_time(spans[i + 1][2])}: "
                f"this visit takes {length}, so it has to start by {latest_text} or after the break.",
                code="outside_hours",
            )
        raise BookingError(
            f"That would run past closing: we close at {spoken_time(closes)} on {days}, and this visit takes "
            f"{length}, so the latest start is {latest_text}.",
            code="outside_hours",
        )
    raise BookingError(f"We close at {spoken_time(spans[-1][3])} on {days}.", code="outside_hours")


# --- the day's picture (admin) -------------------------------------------------------------------------------


def day_load(day: date) -> list[tuple[datetime, datetime, int]]:
    """(from, to, appointments running) for every stretch of the shop-local day with at least one appointment.

    Stretches are in time order, clipped to the day, and adjacent stretches with the same count are merged;
    time with nothing running is left out. One query.
    """
    tz = shop_tz()
    lo = datetime.combine(day, time(0), tzinfo=tz).timestamp()
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).timestamp()
    times, loads = _load_profile(_active_spans(lo, hi, None))
    segments: list[tuple[float, float, int]] = []
    for i, count in enumerate(loads[:-1]):
        a, b = max(times[i], lo), min(times[i + 1], hi)
        if count <= 0 or a >= b:
            continue
        if segments and segments[-1][1] == a and segments[-1][2] == count:
            segments[-1] = (segments[-1][0], b, count)
        else:
            segments.append((a, b, count))
    return [(datetime.fromtimestamp(a, tz), datetime.fromtimestamp(b, tz), n) for a, b, n in segments]


def assign_bays(appointments) -> dict[int, int]:
    """Appointment id -> bay lane (0, 1, ...) so that no two overlapping appointments share a lane.

    Greedy interval colouring in start order, taking the lowest free lane: it uses exactly as many lanes as the
    most appointments running at once. For display only; bays are not stored on appointments. Accepts model
    instances or dicts with id/start/end.
    """

    def get(a, name):
        return a[name] if isinstance(a, dict) else getattr(a, name)

    items = sorted(appointments, key=lambda a: (get(a, "start"), get(a, "end"), get(a, "id")))
    busy: list[tuple[datetime, int]] = []  # (end, lane) heap
    free: list[int] = []  # lane heap
    lanes: dict[int, int] = {}
    next_lane = 0
    for a in items:
        start = get(a, "start")
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, next_lane = next_lane, next_lane + 1
        lanes[get(a, "id")] = lane
        heapq.heappush(busy, (get(a, "end"), lane))
    return lanes


# --- words ---------------------------------------------------------------------------------------------------


def describe_start(start: datetime) -> str:
    """Monday, March 9 at 7:00 AM (shop time): how agents and messages say an appointment time."""
    return slot_label(start.astimezone(shop_tz()))
