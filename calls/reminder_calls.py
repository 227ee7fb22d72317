"""How a reminder call went, onto its ReminderAttempt (scheduling.reminders): the link between calls and the ledger.

The result is read from what happened, not from sentences: the successful confirm / reschedule / cancel tool
calls on the reminder's appointment in this call, else whether it went to an advisor or an answering machine.
"""

from __future__ import annotations

import logging

from django.utils import timezone

from calls.models import Call, ToolCall
from scheduling import reminders
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt
from scheduling.wording import slot_label

log = logging.getLogger(__name__)

Outcome = ReminderAttempt.Outcome
_DECISIONS = {
    "confirm_appointment": Outcome.CONFIRMED,
    "reschedule_appointment": Outcome.RESCHEDULED,
    "cancel_appointment": Outcome.CANCELLED,
}
WRONG_PERSON_RESULT = (
    "Wrong number: the person who answered is not the customer. The number is flagged on the customer for staff; "
    "no more reminder calls to it."
)
# Twilio's final statuses of a call nobody answered, as the ledger says them.
NOT_ANSWERED = {
    "no-answer": "no answer",
    "busy": "line busy",
    "failed": "the call could not be connected",
    "canceled": "the call was cancelled before it rang",
}


def reminder_outcome(call: Call, reminder: ReminderAttempt) -> tuple[str, str]:
    """(ReminderAttempt.Outcome, a short sentence for the ledger) of a reminder call that was answered."""
    decision = _decision(call, reminder.appointment_id)
    if decision is not None:
        outcome = _DECISIONS[decision]
        appointment = Appointment.objects.get(pk=reminder.appointment_id)
        if outcome == Outcome.RESCHEDULED:
            return outcome, f"Moved by the customer to {slot_label(timezone.localtime(appointment.start, shop_tz()))}."
        if outcome == Outcome.CANCELLED:
            why = f": {appointment.cancel_reason}" if appointment.cancel_reason else ""
            rebooked = (
                ToolCall.objects.filter(call=call, ok=True, name="book_appointment")
                .order_by("-id")
                .values_list("result__appointment__label", flat=True)
                .first()
            )
            again = f" Booked again for {rebooked}." if rebooked else ""
            return outcome, f"Cancelled by the customer{why}.{again}"
        return outcome, "Confirmed by the customer."
    if call.outcome == Call.Outcome.VOICEMAIL:
        return Outcome.VOICEMAIL, "Voicemail left."
    if call.outcome == Call.Outcome.WRONG_PERSON:
        return Outcome.WRONG_PERSON, WRONG_PERSON_RESULT
    handoff = _handoff_reason(call)
    if call.callback_requested:
        # Nobody picked up the hand-off, or the customer asked to be rung back later: a call-back, not a transfer.
        if handoff:
            return Outcome.CALLBACK, f"{handoff} No advisor was free: call-back promised."
        return Outcome.CALLBACK, f"{_asked_call_back(call) or 'The customer asked to be called back.'}"
    if call.outcome == Call.Outcome.TRANSFERRED:
        return Outcome.TRANSFERRED, f"{handoff or 'Handed to an advisor.'} Put through to an advisor."
    if call.summary:
        return Outcome.HUNG_UP, f"Answered, no decision: {call.summary}."
    return Outcome.HUNG_UP, "Answered, but the customer neither confirmed, moved nor cancelled."


def _decision(call: Call, appointment_id: int) -> str | None:
    """The last confirm / reschedule / cancel on the appointment in this call that still holds: a cancel taken
    back on the same call (restore_appointment) is no decision, what came before it stands."""
    names = ToolCall.objects.filter(
        call=call, ok=True, name__in=[*_DECISIONS, "restore_appointment"], arguments__appointment_id=appointment_id
    ).order_by("id")
    held: list[str] = []
    for name in names.values_list("name", flat=True):
        if name != "restore_appointment":
            held.append(name)
        elif "cancel_appointment" in held:
            held.reverse()
            held.remove("cancel_appointment")  # the latest cancel
            held.reverse()
    return held[-1] if held else None


# Why the agent handed the call over (transfer_to_advisor's reason), as the ledger says it.
_HANDOFF_REASONS = {
    "caller asked for an advisor": "The customer asked for an advisor.",
    "caller not understood": "The assistant could not understand the customer.",
}


def _handoff_reason(call: Call) -> str:
    reason = (
        ToolCall.objects.filter(call=call, ok=True, name="transfer_to_advisor")
        .order_by("-id")
        .values_list("arguments__reason", flat=True)
        .first()
    )
    if reason is None:
        return ""
    return _HANDOFF_REASONS.get(reason, f"Handed over ({reason}).")


def _asked_call_back(call: Call) -> str:
    when = (
        ToolCall.objects.filter(call=call, ok=True, name="request_call_back")
        .order_by("-id")
        .values_list("arguments__when", flat=True)
        .first()
    )
    if when is None:
        return ""
    return f"The customer asked to be called back{' ' + when if when else ''}."


def call_finished(call: Call) -> None:
    """A reminder call ended (calls.services.finish_call). Answered calls settle the reminder; a call nobody
    answered is the status callback's (or the ring timeout's) to report, with Twilio's reason."""
    if call.reminder_id is None:
        return
    answered = bool(call.stream_sid) or call.outcome == Call.Outcome.VOICEMAIL or call.turns.exists()
    if not answered:
        return
    reminder = ReminderAttempt.objects.filter(pk=call.reminder_id).first()
    if reminder is None:
        return
    outcome, result = reminder_outcome(call, reminder)
    if reminders.settle(reminder.pk, call_sid=call.call_sid, outcome=outcome, result=result):
        log.info("reminder #%s: %s", reminder.pk, outcome)
        if outcome == Outcome.VOICEMAIL:
            from calls import texts

            texts.reminder_text(reminder.pk)


def status_reported(call: Call, *, call_status: str, answered: bool) -> None:
    """Twilio's final status of a reminder call: an unanswered one is retried or given up (then a text goes
    instead); an answered one that never had a conversation is settled as such."""
    if call.reminder_id is None:
        return
    if not answered and call_status in NOT_ANSWERED and call.outcome != Call.Outcome.VOICEMAIL:
        from calls.telephony.dialer import after_not_reached

        verdict = reminders.not_reached(call.reminder_id, call_sid=call.call_sid, reason=NOT_ANSWERED[call_status])
        after_not_reached(call.reminder_id, verdict)
        return
    reminder = ReminderAttempt.objects.filter(pk=call.reminder_id).first()
    if reminder is not None and reminder.status == ReminderAttempt.Status.DIALING:
        outcome, result = reminder_outcome(call, reminder)
        reminders.settle(reminder.pk, call_sid=call.call_sid, outcome=outcome, result=result)


def adopt_call(reminder: ReminderAttempt, call_sid: str) -> None:
    """Twilio called us back about a call of this reminder that we never heard being placed (the dialling worker
    lost Twilio's answer): now the ledger knows its SID."""
    if reminder.status == ReminderAttempt.Status.DIALING and not reminder.call_sid:
        reminders.mark_placed(reminder, call_sid=call_sid)
