"""Writes for call records: used by the Twilio webhooks, the media-stream session and the simulator.

Plain synchronous functions with keyword-only arguments; async callers wrap them in `sync_to_async`.
Several parties finish the same call (the session when its socket closes, Twilio's status callback,
maybe in either order), so finishing is idempotent and order-independent: `ended_at` is set once, a
failure status sticks, and "abandoned" never replaces a real outcome.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from calls.models import Call, Turn
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
            if changed:
                call.save(update_fields=changed)
    return call


def attach_stream(*, call_id: int, stream_sid: str) -> None:
    """Remember the Media Stream's StreamSid (shown in the call log, useful with Twilio support)."""
    Call.objects.filter(pk=call_id).update(stream_sid=(stream_sid or "")[:64])


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
    """Write turn `index` of a call. Writing the same index again replaces it (e.g. an agent turn
    recorded when it started and again, cut to what was played, when the caller barged in)."""
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
    # An upsert (INSERT ... ON CONFLICT) in one round trip: this runs for every turn of every live call.
    (turn,) = Turn.objects.bulk_create(
        [Turn(call_id=call_id, index=index, **fields)],
        update_conflicts=True,
        unique_fields=["call", "index"],
        update_fields=list(fields),
    )
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
      outcome replaces what is there (the session knows better than a bare hang-up);
    - an empty summary or recording URL keeps what is there.
    """
    if status not in (Call.Status.COMPLETED, Call.Status.FAILED):
        raise ValidationError(f"A finished call is completed or failed, not {status!r}.")
    if outcome:
        _check_choice(outcome, Call.Outcome, "outcome")
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise ValidationError(f"There is no call #{call_id} to finish.")
    if call.ended_at is None:
        call.ended_at = ended_at or timezone.now()
    if call.status != Call.Status.FAILED:
        call.status = status
    if outcome and (outcome != Call.Outcome.ABANDONED or not call.outcome):
        call.outcome = outcome
    if summary:
        call.summary = summary[:300]
    if recording_url:
        call.recording_url = recording_url
    if callback_requested:
        call.callback_requested = True
    call.save(update_fields=["ended_at", "status", "outcome", "summary", "recording_url", "callback_requested"])
    return call


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
