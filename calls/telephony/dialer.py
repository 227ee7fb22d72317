"""Placing a reminder call: claim, wait for a dial slot, look again, dial (Twilio, or the softphone without it).

The order is the guarantee: only the worker whose claim won may dial; the rate-limit wait comes before the
re-check, so what is checked is the appointment as it is the moment the number is dialled. Between the claim
and a placed call nothing is retried blindly: if Twilio's answer is lost, `reconcile_stale_claims` later asks
Twilio whether the call went out before anything is dialled again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from calls import services
from calls.models import Call
from calls.telephony import dial_rate, rest
from calls.telephony.public import absolute_public_url
from crm.phones import mask_phone
from scheduling import reminders
from scheduling.models import ReminderAttempt

log = logging.getLogger(__name__)

# Twilio's answering-machine detection: wait for the greeting to end (and the beep) before saying it's a machine,
# so the voicemail message starts after the beep. Asynchronous: the caller hears the agent at once meanwhile.
MACHINE_DETECTION = "DetectMessageEnd"
# Without Twilio the reminder rings in the softphone page of the staff who have it open, for this long.
SOFTPHONE_RING_SECONDS = 120
_NO_SOCKET_AFTER = timedelta(minutes=2)  # answered in the page, but no media stream came


@dataclass(frozen=True)
class Dialled:
    """What one place_reminder task did: "placed" (with the call SID), "not_claimed", "skipped", "waiting",
    "failed" (Twilio refused; retried or given up) or "unknown" (Twilio's answer was lost; reconciled later)."""

    status: str
    detail: str = ""
    call_sid: str = ""


def place_reminder_call(reminder_id: int, *, now: datetime | None = None, sleep=None) -> Dialled:
    reminder = reminders.claim(reminder_id, now=now)
    if reminder is None:
        return Dialled("not_claimed", "already claimed, finished, or not due")
    try:
        dial_rate.wait_for_slot(**({"sleep": sleep} if sleep else {}))
    except Exception as exc:  # the shared limiter is down: dialling blind could exceed Twilio's limit
        log.exception("reminder #%s: dial rate limiter unavailable", reminder.pk)
        reminders.release(reminder, at=timezone.now() + timedelta(minutes=1), note=f"rate limiter unavailable ({exc})")
        return Dialled("waiting", "rate limiter unavailable")
    checked_at = timezone.now() if now is None else now
    verdict = reminders.recheck(reminder, now=checked_at)
    if verdict.action == "skip":
        reminders.skip(reminder, reason=verdict.reason, now=checked_at)
        log.info("reminder #%s not called: %s", reminder.pk, verdict.reason)
        return Dialled("skipped", verdict.reason)
    if verdict.action == "wait":
        reminders.release(reminder, at=verdict.at, note=verdict.reason, now=checked_at)
        return Dialled("waiting", verdict.reason)
    if rest.is_configured():
        return _dial_twilio(reminder)
    return _ring_softphone(reminder)


def _dial_twilio(reminder: ReminderAttempt) -> Dialled:
    customer = reminder.appointment.customer
    try:
        urls = {
            "url": absolute_public_url(reverse("calls:twilio-outbound", args=[reminder.pk])),
            "status_callback": absolute_public_url(reverse("calls:twilio-status")) + f"?reminder={reminder.pk}",
            "async_amd_status_callback": absolute_public_url(reverse("calls:twilio-amd", args=[reminder.pk])),
        }
    except ImproperlyConfigured as exc:
        log.error("reminder #%s not dialled: %s", reminder.pk, exc)
        reminders.release(
            reminder,
            at=timezone.now() + timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES),
            note=str(exc).rstrip("."),
        )
        return Dialled("waiting", str(exc))
    try:
        call_sid = rest.place_call(
            to=customer.phone,
            machine_detection=MACHINE_DETECTION,
            async_amd=True,
            timeout=settings.REMINDER_RING_SECONDS,
            **urls,
        )
    except rest.OutboundCallRefused as exc:
        reminders.skip(reminder, reason=str(exc).rstrip("."))
        return Dialled("skipped", str(exc))
    except rest.TelephonyUnreachable as exc:
        # Twilio may have placed the call and we never heard: the claim stays, and is reconciled with Twilio's own
        # list of calls after REMINDER_CLAIM_TIMEOUT_MINUTES instead of dialling again now.
        log.warning("reminder #%s: %s; will ask Twilio whether it went out", reminder.pk, exc)
        return Dialled("unknown", str(exc))
    except rest.TelephonyError as exc:
        # Twilio said no (and so placed nothing): like an unanswered attempt, with its reason.
        verdict = reminders.not_reached(reminder.pk, call_sid="", reason=str(exc).rstrip("."))
        after_not_reached(reminder.pk, verdict)
        return Dialled("failed", str(exc))
    if call_sid is None:  # configured, but no caller ID (TWILIO_PHONE_NUMBER)
        reminders.skip(reminder, reason="TWILIO_PHONE_NUMBER is not set")
        return Dialled("skipped", "TWILIO_PHONE_NUMBER is not set")
    reminders.mark_placed(reminder, call_sid=call_sid)
    log.info("reminder #%s: calling %s (%s)", reminder.pk, mask_phone(customer.phone), call_sid)
    return Dialled("placed", call_sid=call_sid)


def _ring_softphone(reminder: ReminderAttempt) -> Dialled:
    """No Twilio: the call rings in the softphone page, where a staff member can answer it as the customer."""
    customer = reminder.appointment.customer
    call_sid = "SP" + uuid.uuid4().hex
    with transaction.atomic():
        services.start_call(
            call_sid=call_sid,
            from_number=settings.TWILIO_PHONE_NUMBER or "shop",
            to_number=customer.phone,
            direction=Call.Direction.OUTBOUND,
            transport=Call.Transport.SOFTPHONE,
            customer=customer,
            appointment=reminder.appointment,
            reminder=reminder,
            status=Call.Status.RINGING,
        )
        reminders.mark_placed(reminder, call_sid=call_sid)
    _schedule_ring_timeout(call_sid)
    log.info("reminder #%s: ringing in the softphone (%s)", reminder.pk, call_sid)
    return Dialled("placed", "ringing in the softphone", call_sid=call_sid)


def _schedule_ring_timeout(call_sid: str) -> None:
    from scheduling.tasks import end_unanswered_ring

    if end_unanswered_ring.app.conf.task_always_eager:
        return  # eager tasks ignore the countdown and would end the ring at once; the sweep ends stale rings
    transaction.on_commit(lambda: end_unanswered_ring.apply_async((call_sid,), countdown=SOFTPHONE_RING_SECONDS))


def end_unanswered_ring(call_sid: str, *, reason: str = "no answer", now: datetime | None = None) -> bool:
    """A softphone ring nobody picked up (or that was declined): the call fails like an unanswered phone call.
    False when it was answered (or already ended)."""
    now = now or timezone.now()
    with transaction.atomic():
        # Ringing, or "answered" in the page whose socket never came (its stream token has expired by now).
        call = (
            Call.objects.select_for_update()
            .filter(
                call_sid=call_sid,
                status__in=(Call.Status.RINGING, Call.Status.IN_PROGRESS),
                stream_sid="",
                ended_at__isnull=True,
            )
            .first()
        )
        if call is None or (call.status == Call.Status.IN_PROGRESS and call.started_at > now - _NO_SOCKET_AFTER):
            return False
        services.finish_call(
            call_id=call.pk,
            status=Call.Status.FAILED,
            outcome=Call.Outcome.FAILED,
            summary=reason.capitalize(),
            ended_at=now,
        )
        if call.reminder_id:
            verdict = reminders.not_reached(call.reminder_id, call_sid=call_sid, reason=reason, now=now)
            after_not_reached(call.reminder_id, verdict)
    return True


def stale_softphone_rings(*, now: datetime | None = None):
    now = now or timezone.now()
    return Call.objects.filter(
        transport=Call.Transport.SOFTPHONE,
        direction=Call.Direction.OUTBOUND,
        stream_sid="",
        status__in=(Call.Status.RINGING, Call.Status.IN_PROGRESS),
        ended_at__isnull=True,
        started_at__lt=now - timedelta(seconds=SOFTPHONE_RING_SECONDS) - _NO_SOCKET_AFTER,
    ).values_list("call_sid", flat=True)


def after_not_reached(reminder_id: int, verdict: str) -> None:
    """Another attempt is planned, or this was the last one: then the customer gets a text instead."""
    if verdict == "final":
        from calls import texts

        texts.reminder_text(reminder_id)


def reconcile_stale_claims(*, now: datetime | None = None) -> int:
    """Claims that never got a call SID (the worker died, or Twilio's answer was lost): ask Twilio whether a call
    went out since the claim. If one did, adopt it (its callbacks then settle the reminder); if none did, the
    attempt never rang and goes back to pending. Returns how many were sorted out."""
    now = now or timezone.now()
    sorted_out = 0
    for reminder in reminders.stale_claims(now=now):
        if rest.is_configured():
            try:
                found = rest.recent_calls_to(reminder.appointment.customer.phone, since=reminder.claimed_at)
            except rest.TelephonyError as exc:
                log.warning("reminder #%s: cannot check with Twilio yet (%s)", reminder.pk, exc)
                continue
            if found:
                call = found[0]
                reminders.mark_placed(reminder, call_sid=call["sid"], now=now)
                if call["status"] in ("no-answer", "busy", "failed", "canceled"):
                    verdict = reminders.not_reached(reminder.pk, call_sid=call["sid"], reason=call["status"], now=now)
                    after_not_reached(reminder.pk, verdict)
                log.info("reminder #%s: adopted call %s found at Twilio", reminder.pk, call["sid"])
                sorted_out += 1
                continue
        if reminders.release(reminder, at=now, note="the worker stopped before dialling", now=now):
            log.warning("reminder #%s: claim of a stopped worker released; no call had gone out", reminder.pk)
            sorted_out += 1
    return sorted_out


def simulate_reminder(appointment_id: int, *, now: datetime | None = None) -> Call:
    """`simulate_call --reminder`: the dialer's own path (the ledger row, the claim, the re-check) with the text
    simulator as the phone. Calling hours do not apply (nobody's phone rings); everything else does. ValueError
    says why there is no call (no such appointment, cancelled, do-not-call, already reached...)."""
    from scheduling.models import Appointment

    now = now or timezone.now()
    appointment = Appointment.objects.select_related("customer").filter(pk=appointment_id).first()
    if appointment is None:
        raise ValueError(f"There is no appointment #{appointment_id}.")
    reminder = reminders.send_now(appointment=appointment, now=now, anytime=True)
    claimed = reminders.claim(reminder.pk, now=now)
    if claimed is None:
        raise ValueError("This reminder is being placed right now by a worker.")
    verdict = reminders.recheck(claimed, now=now, anytime=True)
    if verdict.action != "dial":
        reminders.skip(claimed, reason=verdict.reason, now=now)
        raise ValueError(f"Not calling: {verdict.reason}.")
    customer = appointment.customer
    call_sid = "SIM" + uuid.uuid4().hex
    with transaction.atomic():
        call = services.start_call(
            call_sid=call_sid,
            from_number=settings.TWILIO_PHONE_NUMBER or "shop",
            to_number=customer.phone,
            direction=Call.Direction.OUTBOUND,
            transport=Call.Transport.SIMULATOR,
            customer=customer,
            appointment=appointment,
            reminder=claimed,
        )
        reminders.mark_placed(claimed, call_sid=call_sid, now=now)
    return call


def simulate_machine(call: Call) -> str:
    """The simulated reminder reached an answering machine: the voicemail message is left, as on a phone."""
    from calls.telephony import twiml

    message = twiml.reminder_voicemail_message(call.appointment)
    services.finish_call(call_id=call.pk, outcome=Call.Outcome.VOICEMAIL, summary="Left a reminder message")
    return message


def simulate_no_answer(call: Call) -> None:
    """Nobody picked up the simulated reminder: like Twilio's "no-answer" (another attempt later, or a text)."""
    services.finish_call(call_id=call.pk, status=Call.Status.FAILED, outcome=Call.Outcome.FAILED, summary="No answer")
    if call.reminder_id:
        verdict = reminders.not_reached(call.reminder_id, call_sid=call.call_sid, reason="no answer")
        after_not_reached(call.reminder_id, verdict)
