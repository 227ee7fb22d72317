"""What Twilio's call status callbacks mean for our call records."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from calls import reminder_calls, services
from calls.models import Call
from scheduling.models import ReminderAttempt

logger = logging.getLogger(__name__)

# Twilio's final CallStatus values; queued/ringing/in-progress are progress reports we need not store.
_FAILED_SUMMARY = {
    "busy": "Line busy",
    "no-answer": "No answer",
    "failed": "Twilio could not place the call",
    "canceled": "Cancelled before it was answered",
}
FINAL_STATUSES = frozenset({"completed", *_FAILED_SUMMARY})
_MACHINE_PREFIXES = ("machine", "fax")


@transaction.atomic
def apply_status_callback(params: dict, *, reminder_id: int | None = None) -> Call | None:
    """Record a final call status from Twilio's parameters (checked by calls.telephony.params). Idempotent
    (Twilio retries), and all or nothing: a refused value leaves no half-recorded call behind.

    A call we never answered (e.g. a reminder nobody picked up never fetched its TwiML) gets a row
    here, so failed dial attempts show up in the call log too.
    """
    call_sid = params.get("CallSid", "")
    call_status = params.get("CallStatus", "")
    if not call_sid or call_status not in FINAL_STATUSES:
        return None
    reminder = _reminder_of(call_sid, reminder_id)
    call = services.get_call_by_sid(call_sid)
    if call is None:
        call = _call_from_callback(params, reminder)
    elif reminder is not None and call.reminder_id is None:
        call = services.start_call(
            call_sid=call_sid,
            from_number=call.from_number,
            to_number=call.to_number,
            direction=call.direction,
            transport=call.transport,
            reminder=reminder,
        )
    # A status callback only fills a missing outcome; what the conversation achieved is the session's to say.
    if call_status == "completed":
        machine = params.get("AnsweredBy", "").startswith(_MACHINE_PREFIXES)
        outcome = Call.Outcome.VOICEMAIL if machine else Call.Outcome.ABANDONED
        call = services.finish_call(
            call_id=call.pk,
            status=Call.Status.COMPLETED,
            outcome="" if call.outcome else outcome,
            recording_url=params.get("RecordingUrl") or "",
        )
        reminder_calls.status_reported(call, call_status=call_status, answered=True)
        return call
    answered = call.status == Call.Status.IN_PROGRESS
    outcome = Call.Outcome.ABANDONED if answered else Call.Outcome.FAILED
    call = services.finish_call(
        call_id=call.pk,
        status=Call.Status.FAILED,
        outcome="" if call.outcome else outcome,
        summary="" if call.summary else _FAILED_SUMMARY[call_status],
    )
    reminder_calls.status_reported(call, call_status=call_status, answered=answered)
    return call


def _reminder_of(call_sid: str, reminder_id: int | None) -> ReminderAttempt | None:
    """The reminder this call is an attempt of: by its SID, or by the id the dialer put on the callback URL (when
    the dialling worker never heard Twilio's answer, the SID is news to the ledger: it is adopted here)."""
    reminder = ReminderAttempt.objects.select_related("appointment").filter(call_sid=call_sid).first()
    if reminder is None and reminder_id is not None:
        reminder = ReminderAttempt.objects.select_related("appointment").filter(pk=reminder_id).first()
        if reminder is not None:
            if reminder.call_sid:
                return None  # another attempt's call is the current one; this is not it
            reminder_calls.adopt_call(reminder, call_sid)
            reminder.refresh_from_db()
    return reminder


def _call_from_callback(params, reminder: ReminderAttempt | None) -> Call:
    call_sid = params["CallSid"]
    direction = Call.Direction.INBOUND if params.get("Direction") == "inbound" else Call.Direction.OUTBOUND
    appointment = reminder.appointment if reminder else None
    duration = params.get("CallDuration") or 0
    logger.info("Status callback for unseen call %s (%s): recording it", call_sid, params.get("CallStatus"))
    return services.start_call(
        call_sid=call_sid,
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        direction=direction,
        transport=Call.Transport.TWILIO,
        customer=appointment.customer if appointment else None,
        appointment=appointment,
        reminder=reminder,
        status=Call.Status.RINGING,
        started_at=timezone.now() - timedelta(seconds=duration),
    )
