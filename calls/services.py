"""Writes for call records: used by the Twilio webhooks, the media-stream session and the simulator.

Plain synchronous functions with keyword-only arguments; async callers wrap them in `sync_to_async`.
Several parties finish the same call (the session when its socket closes, Twilio's status callback,
maybe in either order), so finishing is idempotent and order-independent: `ended_at` is set once, a
failure status sticks, and "abandoned" never replaces a real outcome.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from calls import usage as usage_pricing
from calls.models import Call, Turn
from calls.usage import CallUsage
from crm.models import Customer


def get_call_by_sid(call_sid: str) -> Call | None:
    if not call_sid:
        return None
    return Call.objects.filter(call_sid=call_sid).first()


def start_call(
    *,
    call_sid: str,
    from_number: str,
    to_number: str,
    direction: str,
    transport: str,
    customer: Customer | None = None,
    appointment=None,
    reminder=None,
    status: str = Call.Status.IN_PROGRESS,
    started_at: datetime | None = None,
) -> Call:
    """The call with this CallSid, created on first sight. A retried webhook gets the same row back.

    On a repeat, details the first request lacked (customer, appointment) are filled in; nothing
    already recorded is overwritten.
    """
    call_sid = (call_sid or "").strip()
    if not call_sid:
        raise ValidationError("A call needs its CallSid.")
    if len(call_sid) > _CALL_SID_MAX:
        raise ValidationError(f"A CallSid has at most {_CALL_SID_MAX} characters.")
    _check_choice(direction, Call.Direction, "direction")
    _check_choice(transport, Call.Transport, "transport")
    _check_choice(status, Call.Status, "status")
    with transaction.atomic():
        call, created = Call.objects.select_for_update().get_or_create(
            call_sid=call_sid,
            defaults={
                "from_number": (from_number or "")[:32],
                "to_number": (to_number or "")[:32],
                "direction": direction,
                "transport": transport,
                "customer": customer,
                "appointment": appointment,
                "reminder": reminder,
                "status": status,
                "started_at": started_at or timezone.now(),
            },
        )
        if not created:
            changed = []
            if customer is not None and call.customer_id is None:
                call.customer = customer
                changed.append("customer")
            if appointment is not None and call.appointment_id is None:
                call.appointment = appointment
                changed.append("appointment")
            if reminder is not None and call.reminder_id is None:
                call.reminder = reminder
                changed.append("reminder")
            if changed:
                call.save(update_fields=changed)
    return call


# A media stream may join a call only while it is ringing or in progress and has no stream yet.
_STREAMABLE = (Call.Status.RINGING, Call.Status.IN_PROGRESS)
_CALL_SID_MAX = Call._meta.get_field("call_sid").max_length
_RECORDING_URL_MAX = Call._meta.get_field("recording_url").max_length


def may_open_stream(call: Call) -> bool:
    """Whether a stream token may be handed out for this call (a replayed webhook of an ended call gets none)."""
    return call.status in _STREAMABLE and call.ended_at is None and not call.stream_sid


def claim_stream(*, call_id: int, stream_sid: str) -> bool:
    """Tie the Media Stream to its call, once: False when the call has ended or already has a stream.

    One UPDATE with the conditions in it, so two sockets racing for one call cannot both win."""
    stream_sid = (stream_sid or "").strip()[:64]
    if not stream_sid:
        raise ValidationError("A media stream needs its StreamSid.")
    claimed = Call.objects.filter(pk=call_id, status__in=_STREAMABLE, ended_at__isnull=True, stream_sid="").update(
        stream_sid=stream_sid, status=Call.Status.IN_PROGRESS
    )
    return claimed == 1


def record_turn(
    *,
    call_id: int,
    index: int,
    role: str,
    text: str,
    started_at: datetime,
    ended_at: datetime | None = None,
    interrupted: bool = False,
    stt_ms: float | None = None,
    llm_first_ms: float | None = None,
    tts_first_ms: float | None = None,
    first_audio_ms: float | None = None,
    provider_ms: float | None = None,
) -> Turn:
    """Write turn `index` of a call, once: a stored turn is never overwritten (a second write of an index is
    refused), so nothing that reaches a call afterwards can rewrite what was said."""
    _check_choice(role, Turn.Role, "role")
    if index is None or index < 0:
        raise ValidationError("A turn index must be zero or more.")
    if started_at is None:
        raise ValidationError("A turn needs the time it started.")
    fields = {
        "role": role,
        "text": text or "",
        "started_at": started_at,
        "ended_at": ended_at,
        "interrupted": interrupted,
        "stt_ms": _ms(stt_ms, "stt_ms"),
        "llm_first_ms": _ms(llm_first_ms, "llm_first_ms"),
        "tts_first_ms": _ms(tts_first_ms, "tts_first_ms"),
        "first_audio_ms": _ms(first_audio_ms, "first_audio_ms"),
        "provider_ms": _ms(provider_ms, "provider_ms"),
    }
    if not Call.objects.filter(pk=call_id).exists():
        raise ValidationError(f"There is no call #{call_id} to add a turn to.")
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction, so a refusal leaves it usable
            turn = Turn.objects.create(call_id=call_id, index=index, **fields)
    except IntegrityError:
        raise ValidationError(
            f"Turn {index} of call #{call_id} is already recorded; turns are never rewritten."
        ) from None
    if role == Turn.Role.AGENT and turn.stt_ms is not None and turn.first_audio_ms is not None:
        _note_reply_latency(call_id, turn.first_audio_ms)
    return turn


def _note_reply_latency(call_id: int, ms: int) -> None:
    """Keep Call.worst_latency_ms the slowest reply to the caller (the call log sorts and filters on it)."""
    Call.objects.filter(pk=call_id).filter(Q(worst_latency_ms__isnull=True) | Q(worst_latency_ms__lt=ms)).update(
        worst_latency_ms=ms
    )


@transaction.atomic
def finish_call(
    *,
    call_id: int,
    status: str = Call.Status.COMPLETED,
    outcome: str = "",
    summary: str = "",
    recording_url: str = "",
    ended_at: datetime | None = None,
    callback_requested: bool = False,
) -> Call:
    """Mark a call ended. Safe to call more than once and in any order:

    - `ended_at` is set by the first caller only;
    - "failed" sticks: a later "completed" does not hide that something went wrong;
    - an empty outcome keeps what is there; "abandoned" only fills an empty outcome; any other
      outcome replaces what is there (the session knows better than a bare hang-up), except that
      "voicemail" stays unless a real result (confirmed, booked...) follows;
    - a reminder call's result goes on to its ReminderAttempt (calls.reminder_calls);
    - an empty summary or recording URL keeps what is there.
    """
    if status not in (Call.Status.COMPLETED, Call.Status.FAILED):
        raise ValidationError(f"A finished call is completed or failed, not {status!r}.")
    if outcome:
        _check_choice(outcome, Call.Outcome, "outcome")
    if len(recording_url or "") > _RECORDING_URL_MAX:
        raise ValidationError(f"A recording URL has at most {_RECORDING_URL_MAX} characters.")
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise ValidationError(f"There is no call #{call_id} to finish.")
    if call.ended_at is None:
        call.ended_at = ended_at or timezone.now()
    if call.status != Call.Status.FAILED:
        call.status = status
    if (
        outcome
        and (outcome != Call.Outcome.ABANDONED or not call.outcome)
        and not (call.outcome == Call.Outcome.VOICEMAIL and outcome in _NOT_AFTER_VOICEMAIL)
    ):
        call.outcome = outcome
    if summary:
        call.summary = summary[:300]
    if recording_url:
        call.recording_url = recording_url
    if callback_requested:
        call.callback_requested = True
    call.save(update_fields=["ended_at", "status", "outcome", "summary", "recording_url", "callback_requested"])
    if call.reminder_id is not None:
        from calls import reminder_calls

        reminder_calls.call_finished(call)
    return call


def record_usage(*, call_id: int, usage: CallUsage) -> Call:
    """Store what the call used (metered by the session) with its cost at today's prices. A call carried by
    Twilio adds its phone line's billed minutes (each started minute), from the call's own duration."""
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        raise ValidationError(f"There is no call #{call_id} to record usage for.")
    if call.transport == Call.Transport.TWILIO:
        usage.add(usage_pricing.TELEPHONY, "twilio", usage_pricing.billed_minutes(call.duration_seconds))
    lines = usage_pricing.priced(usage.lines())
    fields = {
        "stt_seconds": round(usage.total(usage_pricing.STT), 3),
        "tts_characters": int(usage.total(usage_pricing.TTS)),
        "llm_input_tokens": int(usage.total(usage_pricing.LLM_INPUT)),
        "llm_output_tokens": int(usage.total(usage_pricing.LLM_OUTPUT)),
        "telephony_minutes": int(usage.total(usage_pricing.TELEPHONY)),
        "usage_lines": usage_pricing.stored_lines(lines),
        "cost_usd": usage_pricing.total_cost(lines),
    }
    Call.objects.filter(pk=call_id).update(**fields)
    for name, value in fields.items():
        setattr(call, name, value)
    return call


# A reminder call an answering machine took: what the agent said into the greeting is no conversation.
_NOT_AFTER_VOICEMAIL = (Call.Outcome.INFO, Call.Outcome.ABANDONED, Call.Outcome.FAILED)


def note_outcome(*, call_id: int, outcome: str, summary: str = "") -> None:
    """Set the outcome of a call still in progress (an answering machine took a reminder call): the session's
    own finish will not replace it with a weaker one."""
    _check_choice(outcome, Call.Outcome, "outcome")
    fields = {"outcome": outcome}
    if summary:
        fields["summary"] = summary[:300]
    Call.objects.filter(pk=call_id).update(**fields)


def mark_callback_done(*, call: Call, when: datetime | None = None) -> Call:
    """An advisor rang the caller back."""
    if not call.callback_requested:
        raise ValidationError("This call has no call-back to make.")
    if call.callback_done_at is None:
        call.callback_done_at = when or timezone.now()
        call.save(update_fields=["callback_done_at"])
    return call


def bind_customer(*, call_id: int, customer_id: int) -> None:
    """Tie the call to the customer the caller turned out to be (verified or just registered)."""
    if not Customer.objects.filter(pk=customer_id).exists():
        raise ValidationError(f"There is no customer #{customer_id}.")
    if Call.objects.filter(pk=call_id).update(customer_id=customer_id) != 1:
        raise ValidationError(f"There is no call #{call_id}.")


def _check_choice(value: str, choices, label: str) -> None:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise ValidationError(f"Unknown call {label} {value!r}: use one of {allowed}.")


def _ms(value: float | None, label: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise ValidationError(f"{label} cannot be negative ({value}).")
    return round(value)
