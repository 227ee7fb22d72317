"""Admin-site pages of the scheduling app: the day's schedule as hours by bays."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from scheduling.availability import assign_bays, capacity, day_load, shop_tz
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay


@dataclass
class Cell:
    appointment: Appointment
    url: str
    starts_here: bool  # False when the appointment began in an earlier hour row


@dataclass
class HourRow:
    start: datetime
    open: bool
    lanes: list[list[Cell]] = field(default_factory=list)
    busy: int = 0  # most appointments running at one moment within the hour
    free: int | None = None  # bays left in the tightest moment of the hour; None while closed


def _parse_day(raw: str | None) -> date:
    today = timezone.localdate(timezone=shop_tz())
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return today


def _opening_intervals(day: date) -> list[tuple[datetime, datetime]]:
    tz = shop_tz()
    return [
        (datetime.combine(day, h.opens, tzinfo=tz), datetime.combine(day, h.closes, tzinfo=tz))
        for h in BusinessHours.objects.filter(weekday=day.weekday()).order_by("opens")
    ]


def build_schedule(day: date) -> dict:
    """Everything the page shows for `day`, in the shop's time zone."""
    tz = shop_tz()
    day_start = datetime.combine(day, time.min, tzinfo=tz)
    day_end = day_start + timedelta(days=1)
    closure = Closure.objects.filter(date=day).first()
    intervals = [] if closure else _opening_intervals(day)
    appointments = list(
        Appointment.objects.filter(start__lt=day_end, end__gt=day_start)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("customer", "vehicle")
        .prefetch_related("service_types")
        .order_by("start", "id")
    )
    bays = capacity()
    lanes_of = assign_bays(appointments)
    lane_count = max([bays, *(lane + 1 for lane in lanes_of.values())])
    bay_names = list(ServiceBay.objects.filter(active=True).order_by("name").values_list("name", flat=True))
    columns = [bay_names[i] if i < len(bay_names) else f"Overflow {i - len(bay_names) + 1}" for i in range(lane_count)]

    # Rows cover the opening hours plus any hour an appointment reaches outside them, so nothing is hidden.
    hours = set()
    for opens, closes in intervals:
        hour = opens.replace(minute=0)
        while hour < closes:
            hours.add(hour.hour)
            hour += timedelta(hours=1)
    first_hour = {}
    for appt in appointments:
        first = max(timezone.localtime(appt.start, tz), day_start)
        last = min(timezone.localtime(appt.end, tz), day_end) - timedelta(microseconds=1)
        first_hour[appt.id] = first.hour
        hours.update(range(first.hour, last.hour + 1))

    load = day_load(day)
    rows = []
    for h in sorted(hours):
        row_start = datetime.combine(day, time(h), tzinfo=tz)
        row_end = row_start + timedelta(hours=1)
        is_open = any(opens < row_end and closes > row_start for opens, closes in intervals)
        row = HourRow(start=row_start, open=is_open, lanes=[[] for _ in range(lane_count)])
        for appt in appointments:
            if appt.start < row_end and appt.end > row_start:
                row.lanes[lanes_of.get(appt.id, 0)].append(
                    Cell(
                        appointment=appt,
                        url=reverse("admin:scheduling_appointment_change", args=[appt.id]),
                        starts_here=first_hour[appt.id] == h,
                    )
                )
        row.busy = max((n for frm, to, n in load if frm < row_end and to > row_start), default=0)
        row.free = max(bays - row.busy, 0) if is_open else None
        rows.append(row)

    return {
        "day": day,
        "closure": closure,
        "closed": not intervals,
        "intervals": intervals,
        "capacity": bays,
        "columns": columns,
        "rows": rows,
        "appointment_count": len(appointments),
    }


def schedule_view(request):
    """GET /admin/scheduling/schedule/?date=YYYY-MM-DD — staff who may view appointments."""
    if not request.user.has_perm("scheduling.view_appointment"):
        raise PermissionDenied
    day = _parse_day(request.GET.get("date"))
    context = {
        **admin.site.each_context(request),
        **build_schedule(day),
        "title": f"Schedule for {day:%A, %B} {day.day}, {day.year}",
        "today": timezone.localdate(timezone=shop_tz()),
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "opts": Appointment._meta,
        "add_url": reverse("admin:scheduling_appointment_add"),
    }
    return render(request, "admin/scheduling/schedule.html", context)
