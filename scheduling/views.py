"""Admin-site pages of the scheduling app: the day's schedule as hours by bays, and the appointment form's
autocomplete (vehicles of the chosen customer only)."""

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from crm.labels import customer_label
from crm.models import Customer
from scheduling.availability import assign_bays, capacity, day_load, shop_tz
from scheduling.display import time_range
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay

_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


@dataclass
class Cell:
    appointment: Appointment
    url: str
    starts_here: bool  # False when the appointment began in an earlier hour row

    @property
    def times(self) -> str:
        return time_range(self.appointment.start, self.appointment.end)


@dataclass
class HourRow:
    start: datetime
    open: bool
    lanes: list[list[Cell]] = field(default_factory=list)
    busy: int = 0  # most appointments running at one moment within the hour
    free: int | None = None  # bays left in the tightest moment of the hour; None while closed


def parse_day(raw: str | None) -> tuple[date | None, str]:
    """The day asked for in `?date=`, or None with a message saying what is wrong with it."""
    text = (raw or "").strip()
    if not text:
        return None, ""
    try:
        return date.fromisoformat(text), ""
    except ValueError:
        pass
    shape = _ISO_DAY.fullmatch(text)
    if shape:
        year, month, day = (int(part) for part in shape.groups())
        if not 1 <= month <= 12:
            return None, f"“{text}” is not a date: there is no month {month}."
        if day < 1 or day > calendar.monthrange(year, month)[1]:
            return None, f"“{text}” is not a date: {calendar.month_name[month]} {year} has no day {day}."
    return None, f"“{text}” is not a date. Pick a day in the calendar, or type it as YYYY-MM-DD."


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
    today = timezone.localdate(timezone=shop_tz())
    day, problem = parse_day(request.GET.get("date"))
    if problem:
        messages.error(request, f"{problem} Showing today instead.")
    day = day or today
    context = {
        **admin.site.each_context(request),
        **build_schedule(day),
        "title": f"Schedule for {day:%A, %B} {day.day}, {day.year}",
        "today": today,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "opts": Appointment._meta,
        "add_url": reverse("admin:scheduling_appointment_add"),
    }
    return render(request, "admin/scheduling/schedule.html", context)


class BookingAutocompleteView(AutocompleteJsonView):
    """The admin's autocomplete, for the appointment form only.

    Vehicles: `?customer=<id>` (added by scheduling/appointment-form.js once a customer is chosen) keeps the
    list to that customer's cars. Booking still refuses another customer's vehicle whatever is posted; this
    only stops the advisor from picking one. Customers read "Maria Lee · (312) 555-0101".
    """

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        if source_field.model is not Appointment:
            raise PermissionDenied
        return term, model_admin, source_field, to_field_name

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.source_field.name == "vehicle":
            customer = self.request.GET.get("customer", "")
            if customer.isdigit():
                queryset = queryset.filter(customer_id=int(customer))
        return queryset

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        if isinstance(obj, Customer):
            result["text"] = customer_label(obj)
        return result
