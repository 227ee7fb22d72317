"""Texts to customers: the details after a booking, move or cancellation by phone, and a reminder nobody answered.

Every text is a TextMessage row first. It is sent (by the `calls.tasks.send_text` task, after commit) only when
SMS_CONFIRMATIONS is on, Twilio is configured, the customer is not on do-not-call and the number passes
OUTBOUND_CALL_ALLOWLIST; otherwise it stays in the outbox as "not sent" with the reason, which admin shows (so the
offline demo shows them too). A dedupe key makes each text go at most once, whoever asks twice.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.agent.phrases import services_phrase
from calls.models import TextMessage
from calls.telephony import rest
from crm.phones import format_phone_national
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt
from scheduling.reminders import allowlisted
from scheduling.shop_facts import shop_phone

log = logging.getLogger(__name__)

Kind = TextMessage.Kind
NO_PROVIDER = "no SMS provider"


def _when(appointment: Appointment) -> str:
    start = timezone.localtime(appointment.start, shop_tz())
    return f"{start:%a %b} {start.day} at {start:%-I:%M %p}"


def _what(appointment: Appointment) -> str:
    what = services_phrase([s.name for s in appointment.service_types.all()], article=False) or "service"
    car = appointment.vehicle
    if car is not None:
        what += " for your " + " ".join(str(p) for p in (car.year, car.make, car.model) if p)
    return what


def _call_us() -> str:
    number = shop_phone()
    return f" Questions or changes: call {format_phone_national(number)}." if number else ""


def body_for(kind: str, appointment: Appointment) -> str:
    shop = settings.SHOP_NAME
    if kind == Kind.BOOKED:
        text = f"{shop}: your {_what(appointment)} is booked for {_when(appointment)}."
    elif kind == Kind.RESCHEDULED:
        text = f"{shop}: your {_what(appointment)} is now on {_when(appointment)}."
    elif kind == Kind.CANCELLED:
        text = f"{shop}: your {_what(appointment)} on {_when(appointment)} is cancelled."
    else:
        text = f"{shop}: a reminder of your {_what(appointment)} on {_when(appointment)}."
    return (text + _call_us())[: TextMessage._meta.get_field("body").max_length]


def queue_text(
    *, kind: str, appointment: Appointment, dedupe_key: str, call_id: int | None = None
) -> TextMessage | None:
    """Record a text for the appointment's customer and send it after commit when we may. None when
    SMS_CONFIRMATIONS is off or this text was already queued (same dedupe key)."""
    if not settings.SMS_CONFIRMATIONS:
        return None
    customer = appointment.customer
    reason = ""
    if customer.do_not_call:
        reason = "customer is on do-not-call"
    elif not allowlisted(customer.phone):
        reason = "not on OUTBOUND_CALL_ALLOWLIST"
    elif not (rest.is_configured() and settings.TWILIO_PHONE_NUMBER):
        reason = NO_PROVIDER
    try:
        with transaction.atomic():
            text = TextMessage.objects.create(
                to_number=customer.phone,
                body=body_for(kind, appointment),
                kind=kind,
                status=TextMessage.Status.NOT_SENT if reason else TextMessage.Status.QUEUED,
                status_reason=reason,
                customer=customer,
                appointment=appointment,
                call_id=call_id,
                dedupe_key=dedupe_key[:80],
            )
    except IntegrityError:
        return None  # already queued once
    if not reason:
        from calls.tasks import send_text

        transaction.on_commit(lambda: send_text.delay(text.pk))
    return text


def confirmation_text(kind: str, appointment_id: int, *, call_id: int | None) -> TextMessage | None:
    """After the agent booked, moved or cancelled an appointment in a call."""
    appointment = Appointment.objects.select_related("customer", "vehicle").filter(pk=appointment_id).first()
    if appointment is None:
        return None
    stamp = int(appointment.start.timestamp())
    return queue_text(
        kind=kind, appointment=appointment, dedupe_key=f"{kind}:{appointment.pk}:{stamp}", call_id=call_id
    )


# A reminder's text goes once per reminder (an appointment moved after its reminder gets another reminder, and
# its own text): the dedupe key is this prefix and the reminder's id; the dashboard counts texts by it.
REMINDER_KEY = "reminder:"


def reminder_text(reminder_id: int) -> TextMessage | None:
    """A reminder the customer did not pick up (voicemail, or no answer after the last attempt): text instead."""
    reminder = ReminderAttempt.objects.select_related("appointment__customer", "appointment__vehicle").get(
        pk=reminder_id
    )
    appointment = reminder.appointment
    if appointment.status not in Appointment.ACTIVE_STATUSES:
        return None
    call_id = reminder.calls.order_by("-started_at").values_list("pk", flat=True).first()
    return queue_text(
        kind=Kind.REMINDER, appointment=appointment, dedupe_key=f"{REMINDER_KEY}{reminder.pk}", call_id=call_id
    )


def send(text_id: int) -> str:
    """Send one queued text, once: the row goes queued -> sending in one UPDATE that one worker wins."""
    if (
        TextMessage.objects.filter(pk=text_id, status=TextMessage.Status.QUEUED).update(
            status=TextMessage.Status.SENDING
        )
        != 1
    ):
        return "not_queued"
    text = TextMessage.objects.get(pk=text_id)
    try:
        sid = rest.send_sms(to=text.to_number, body=text.body)
    except rest.TelephonyError as exc:
        TextMessage.objects.filter(pk=text_id).update(status=TextMessage.Status.FAILED, status_reason=str(exc)[:200])
        log.warning("text #%s not sent: %s", text_id, exc)
        return "failed"
    TextMessage.objects.filter(pk=text_id).update(
        status=TextMessage.Status.SENT, message_sid=sid, sent_at=timezone.now()
    )
    return "sent"
