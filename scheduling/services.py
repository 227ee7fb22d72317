"""Writes to appointments: book, reschedule, cancel, change status, admin edits.

Every write that can take a bay first locks the active ServiceBay rows (SELECT ... FOR UPDATE, in id order),
then re-checks the rules. Concurrent bookings therefore queue on the same rows, and each one's capacity check
sees every booking committed before it: capacity can never be exceeded, whatever the interleaving. Lock order
is always bays, then the appointment row, so writers cannot deadlock each other.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.labels import vehicle_label
from scheduling import reminders
from scheduling.availability import (
    check_bookable,
    describe_start,
    require_aware,
    resolve_service_types,
    total_duration,
)
from scheduling.errors import BookingError
from scheduling.models import Appointment, ServiceBay, ServiceType

Status = Appointment.Status

# Which status may follow which. Cancelling goes through cancel_appointment (timestamp and reason);
# a no-show can still turn into completed (the car came late); finished appointments stay finished.
_TRANSITIONS = {
    Status.SCHEDULED: {Status.CONFIRMED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW},
    Status.CONFIRMED: {Status.SCHEDULED, Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW},
    Status.NO_SHOW: {Status.COMPLETED},
    Status.COMPLETED: set(),
    Status.CANCELLED: set(),
}

_EDITABLE = frozenset(
    {
        "customer",
        "vehicle",
        "service_types",
        "start",
        "end",
        "status",
        "transport",
        "advisor",
        "notes",
        "source",
        "calendar_event_id",
        "cancel_reason",
    }
)


def _lock_bays() -> int:
    """Take the bay lock; returns the capacity as seen under it."""
    return len(list(ServiceBay.objects.filter(active=True).select_for_update().order_by("id").values_list("id")))


def _lock_appointment(appointment: Appointment) -> Appointment:
    """Reload the caller's instance from its locked row, so the rules judge the current status."""
    if appointment.pk is None:
        raise BookingError("That appointment hasn't been saved yet.", code="invalid")
    try:
        appointment.refresh_from_db(from_queryset=Appointment.objects.select_for_update())
    except Appointment.DoesNotExist:
        raise BookingError("That appointment no longer exists.", code="invalid") from None
    return appointment


def _check_vehicle(customer, vehicle) -> None:
    if customer is None or customer.pk is None:
        raise BookingError("Choose the customer the appointment is for.", code="invalid")
    if vehicle is not None and vehicle.customer_id != customer.pk:
        raise BookingError("That vehicle belongs to another customer.", code="wrong_vehicle")


def _validate_fields(appointment: Appointment) -> None:
    """Field rules of the model (choices, lengths), as one readable sentence."""
    try:
        # Foreign keys are excluded: they would cost a query each and the objects are in hand.
        appointment.clean_fields(exclude={"customer", "vehicle", "advisor"})
    except ValidationError as exc:
        text = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        raise BookingError(text, code="invalid") from None


def _not_active_message(appointment: Appointment, action: str) -> str:
    label = {
        Status.CANCELLED: "was cancelled",
        Status.COMPLETED: "is already completed",
        Status.NO_SHOW: "was marked as a no-show",
    }.get(appointment.status, f"is {appointment.get_status_display().lower()}")
    return f"That appointment {label}, so it can't be {action}."


def _check_no_overlap(*, vehicle, start: datetime, end: datetime, exclude_id: int | None = None) -> None:
    """A car can't be in two bays at once. (Without a vehicle there's nothing to check: fleet customers
    bring several cars at the same time.)"""
    if vehicle is None:
        return
    clash = Appointment.objects.filter(
        vehicle=vehicle, status__in=Appointment.ACTIVE_STATUSES, start__lt=end, end__gt=start
    )
    if exclude_id is not None:
        clash = clash.exclude(pk=exclude_id)
    first = clash.order_by("start").values_list("start", flat=True).first()
    if first is not None:
        raise BookingError(
            f"The {vehicle_label(vehicle)} already has an appointment at that time ({describe_start(first)}).",
            code="overlap",
        )


@transaction.atomic
def book_appointment(
    *,
    customer,
    service_types,
    start: datetime,
    vehicle=None,
    transport=Appointment.Transport.DROP_OFF,
    advisor=None,
    notes: str = "",
    source=Appointment.Source.ADMIN,
    chosen_by_customer: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Book `service_types` (instances or codes) for `customer` starting at `start`; end = start + durations.
    `chosen_by_customer`: the customer picked this time themselves, now (a call with the agent)."""
    _check_vehicle(customer, vehicle)
    types = resolve_service_types(service_types)
    start = require_aware(start, "start time").astimezone(UTC)
    end = start + total_duration(types)  # in UTC: real elapsed time, even across a DST change
    appointment = Appointment(
        customer=customer,
        vehicle=vehicle,
        start=start,
        end=end,
        transport=transport,
        advisor=advisor,
        notes=(notes or "").strip(),
        source=source,
        time_chosen_at=(now or timezone.now()) if chosen_by_customer else None,
    )
    _validate_fields(appointment)
    bays = _lock_bays()
    # Advisors book walk-ins for right now; callers get the lead time the shop needs.
    lead = 0 if source == Appointment.Source.ADMIN else None
    check_bookable(start=start, end=end, now=now, bay_count=bays, lead_minutes=lead)
    _check_no_overlap(vehicle=vehicle, start=start, end=end)
    appointment.save()
    appointment.service_types.set(types)
    return appointment


@transaction.atomic
def reschedule_appointment(
    *,
    appointment: Appointment,
    start: datetime,
    service_types=None,
    chosen_by_customer: bool = False,
    now: datetime | None = None,
) -> Appointment:
    """Move an active appointment; its own current slot does not count against it.

    With new service_types the length follows their durations; otherwise the current length is kept.
    `chosen_by_customer`: the customer picked the new time themselves, now (else the shop moved it).
    """
    types = None
    if service_types is not None:
        current = list(appointment.service_types.values_list("pk", flat=True)) if appointment.pk else []
        types = resolve_service_types(service_types, keep_inactive=current)
    start = require_aware(start, "start time").astimezone(UTC)
    bays = _lock_bays()
    _lock_appointment(appointment)
    if not appointment.is_active:
        raise BookingError(_not_active_message(appointment, "moved"), code="not_active")
    length = total_duration(types) if types is not None else appointment.end - appointment.start
    end = start + length
    check_bookable(start=start, end=end, now=now, exclude_appointment_id=appointment.pk, bay_count=bays)
    _check_no_overlap(vehicle=appointment.vehicle, start=start, end=end, exclude_id=appointment.pk)
    appointment.start, appointment.end = start, end
    appointment.time_chosen_at = (now or timezone.now()) if chosen_by_customer else None
    appointment.save(update_fields=["start", "end", "time_chosen_at", "updated"])
    if types is not None:
        appointment.service_types.set(types)
    reminders.appointment_moved(appointment, now=now)
    return appointment


@transaction.atomic
def cancel_appointment(*, appointment: Appointment, reason: str, now: datetime | None = None) -> Appointment:
    """Cancel an active appointment; its bay is free again at once."""
    now = timezone.now() if now is None else require_aware(now, "current time")
    _lock_appointment(appointment)
    if not appointment.is_active:
        raise BookingError(_not_active_message(appointment, "cancelled"), code="not_active")
    appointment.status = Status.CANCELLED
    appointment.cancelled_at = now
    appointment.cancel_reason = (reason or "").strip()[:200]
    appointment.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated"])
    reminders.appointment_cancelled(appointment, now=now)
    return appointment


@transaction.atomic
def remove_services(*, appointment: Appointment, customer, service_types, now: datetime | None = None) -> Appointment:
    """Take services off an active appointment of `customer`'s ("skip the tire rotation, just the oil change"), by
    ServiceType or code. The visit keeps its start and ends when the remaining services are done.

    Refused for another customer's appointment ("not_yours"), for services it does not have ("not_on_appointment"),
    and for the last service ("last_service"): an appointment with no service left is a cancellation, and is asked
    for as one. No bay lock: a shorter visit only frees capacity."""
    if customer is None or appointment.customer_id != customer.pk:
        raise BookingError("I can't find that appointment on your account.", code="not_yours")
    _lock_appointment(appointment)
    if not appointment.is_active:
        raise BookingError(_not_active_message(appointment, "changed"), code="not_active")
    if isinstance(service_types, (str, ServiceType)):
        service_types = [service_types]
    codes = {item.strip().lower() for item in service_types if isinstance(item, str)}
    pks = {item.pk for item in service_types if isinstance(item, ServiceType)}
    current = list(appointment.service_types.all())
    gone = [st for st in current if st.pk in pks or st.code.lower() in codes]
    if not gone:
        raise BookingError("That service isn't on this appointment.", code="not_on_appointment")
    kept = [st for st in current if st not in gone]
    if not kept:
        names = ", ".join(st.name.lower() for st in gone)
        raise BookingError(
            f"The {names} is all this appointment is for: taking it off would cancel the appointment.",
            code="last_service",
        )
    appointment.end = appointment.start + total_duration(kept)
    appointment.save(update_fields=["end", "updated"])
    appointment.service_types.remove(*gone)
    return appointment


@transaction.atomic
def restore_cancelled_appointment(*, appointment: Appointment, now: datetime | None = None) -> Appointment:
    """Take a cancellation back ("wait, don't cancel it"): scheduled again at its own time, if that time is still
    bookable (the bay freed by the cancel may have been taken since)."""
    now = timezone.now() if now is None else require_aware(now, "current time")
    bays = _lock_bays()
    _lock_appointment(appointment)
    if appointment.status != Status.CANCELLED:
        raise BookingError("That appointment isn't cancelled.", code="not_cancelled")
    check_bookable(
        start=appointment.start, end=appointment.end, now=now, exclude_appointment_id=appointment.pk, bay_count=bays
    )
    _check_no_overlap(
        vehicle=appointment.vehicle, start=appointment.start, end=appointment.end, exclude_id=appointment.pk
    )
    appointment.status = Status.SCHEDULED
    appointment.cancelled_at = None
    appointment.cancel_reason = ""
    appointment.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated"])
    reminders.appointment_restored(appointment, now=now)
    return appointment


@transaction.atomic
def add_appointment_note(*, appointment: Appointment, note: str) -> Appointment:
    """A line for the advisors on the appointment ("can't make it, will call to rebook; kept, not cancelled"), under
    what is there already; the same line twice is kept once."""
    _lock_appointment(appointment)
    line = " ".join(note.split())[:300]
    if not line or line in appointment.notes.splitlines():
        return appointment
    appointment.notes = f"{appointment.notes.rstrip()}\n{line}".strip()
    appointment.save(update_fields=["notes", "updated"])
    return appointment


@transaction.atomic
def change_transport(*, appointment: Appointment, transport: str, note: str = "") -> Appointment:
    """How the customer gets by while the car is in, as they ask on a call: a loaner reserved ("can I get a
    loaner?") or given back ("I won't need the loaner": dropped off instead). A loaner or shuttle only when the shop
    has one (ShopProfile); only an active appointment changes. `note` goes on the appointment for the advisors."""
    from scheduling.shop_facts import shop_facts

    _lock_appointment(appointment)
    if not appointment.is_active:
        raise BookingError(_not_active_message(appointment, "changed"), code="not_active")
    if transport not in Appointment.Transport.values:
        raise BookingError(f"“{transport}” is not a way to get by while the car is in.", code="invalid")
    facts = shop_facts()
    if transport == Appointment.Transport.LOANER and not facts.loaner_cars:
        raise BookingError("We don't have loaner cars to lend.", code="not_offered")
    if transport == Appointment.Transport.SHUTTLE and not facts.shuttle:
        raise BookingError("We don't run a shuttle.", code="not_offered")
    if transport == appointment.transport and not note:
        return appointment
    appointment.transport = transport
    if note.strip():
        appointment.notes = f"{appointment.notes.rstrip()}\n{note.strip()}".strip()
    _validate_fields(appointment)
    appointment.save(update_fields=["transport", "notes", "updated"])
    return appointment


def _check_transition(appointment: Appointment, status: str, now: datetime) -> None:
    if status not in Status.values:
        raise BookingError(f"“{status}” is not an appointment status.", code="invalid")
    if status not in _TRANSITIONS[appointment.status]:
        target = Status(status).label.lower()
        raise BookingError(_not_active_message(appointment, f"marked {target}"), code="not_active")
    if status == Status.NO_SHOW and appointment.start.timestamp() > now.timestamp():
        raise BookingError(
            f"It's too early for a no-show: the appointment is on {describe_start(appointment.start)}.",
            code="invalid",
        )


@transaction.atomic
def set_appointment_status(*, appointment: Appointment, status: str, now: datetime | None = None) -> Appointment:
    """Confirm, complete, mark no-show (or cancel) with sane transitions; setting the current status is a no-op."""
    now = timezone.now() if now is None else require_aware(now, "current time")
    _lock_appointment(appointment)
    if status == appointment.status:
        return appointment
    _check_transition(appointment, status, now)
    if status == Status.CANCELLED:
        return cancel_appointment(appointment=appointment, reason=appointment.cancel_reason, now=now)
    appointment.status = status
    appointment.save(update_fields=["status", "updated"])
    return appointment


@transaction.atomic
def update_appointment(*, appointment: Appointment, now: datetime | None = None, **fields) -> Appointment:
    """Admin edits. Re-checks hours and capacity when the time or the services change.

    Editable: customer, vehicle, service_types, start, end, status, transport, advisor, notes, source,
    calendar_event_id, cancel_reason. New services without an explicit end set the length from their durations;
    a new start alone keeps the current length. Services the appointment already has may stay even if they
    have since been deactivated.
    """
    unknown = set(fields) - _EDITABLE
    if unknown:
        raise TypeError(f"update_appointment() can't change {', '.join(sorted(unknown))}")
    now = timezone.now() if now is None else require_aware(now, "current time")
    types = None
    if "service_types" in fields:
        current = list(appointment.service_types.values_list("pk", flat=True))
        types = resolve_service_types(fields["service_types"], keep_inactive=current)
    for name in ("start", "end"):
        if fields.get(name) is not None:
            fields[name] = require_aware(fields[name], f"{name} time").astimezone(UTC)

    bays = _lock_bays() if {"start", "end", "service_types"} & set(fields) else None
    _lock_appointment(appointment)

    customer = fields.get("customer", appointment.customer)
    vehicle = fields.get("vehicle", appointment.vehicle)
    if "customer" in fields or "vehicle" in fields:
        _check_vehicle(customer, vehicle)

    status = fields.get("status", appointment.status)
    if status != appointment.status:
        _check_transition(appointment, status, now)

    old_types = set(appointment.service_types.values_list("pk", flat=True)) if types is not None else None
    types_changed = types is not None and {st.pk for st in types} != old_types
    start = fields.get("start") or appointment.start
    if fields.get("end") is not None:
        end = fields["end"]
    elif types_changed:
        end = start + total_duration(types)
    else:
        end = start + (appointment.end - appointment.start)
    moved = start != appointment.start or end != appointment.end
    if moved:
        if not appointment.is_active:
            raise BookingError(_not_active_message(appointment, "moved"), code="not_active")
        if status in Appointment.ACTIVE_STATUSES:
            check_bookable(
                start=start, end=end, now=now, exclude_appointment_id=appointment.pk, bay_count=bays, lead_minutes=0
            )
    if status in Appointment.ACTIVE_STATUSES and (moved or "vehicle" in fields or "customer" in fields):
        _check_no_overlap(vehicle=vehicle, start=start, end=end, exclude_id=appointment.pk)

    if moved:
        appointment.time_chosen_at = None  # the shop moved it: the customer hears about the new time by reminder
    appointment.start, appointment.end = start, end
    for name in ("customer", "vehicle", "transport", "advisor", "notes", "source", "calendar_event_id"):
        if name in fields:
            setattr(appointment, name, fields[name])
    if "cancel_reason" in fields:
        appointment.cancel_reason = (fields["cancel_reason"] or "").strip()[:200]
    cancelled = status == Status.CANCELLED and status != appointment.status
    if status != appointment.status:
        appointment.status = status
        if cancelled:
            appointment.cancelled_at = now
    _validate_fields(appointment)
    appointment.save()
    if types_changed:
        appointment.service_types.set(types)
    if cancelled:
        reminders.appointment_cancelled(appointment, now=now)
    elif moved and appointment.is_active:
        reminders.appointment_moved(appointment, now=now)
    return appointment
