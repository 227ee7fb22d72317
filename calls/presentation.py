"""How calls read in the call log, its CSV export and the live page."""

from __future__ import annotations

from calls.models import Call
from crm.phones import format_phone_national


def number_label(raw: str) -> str:
    """ "(312) 555-0142" for a phone number; anything else (a softphone's "shop", nothing) as it is."""
    if raw.startswith("+"):
        return format_phone_national(raw)
    return raw or "-"


def other_party_number(call: Call) -> str:
    """The caller's number on an inbound call, the number we rang on an outbound one."""
    return call.from_number if call.direction == Call.Direction.INBOUND else call.to_number


def caller_label(call: Call) -> str:
    """The customer's name when the call was matched to one, else their number."""
    if call.customer_id is not None:
        return call.customer.full_name or number_label(other_party_number(call))
    return number_label(other_party_number(call))


def outcome_label(outcome: str) -> str:
    if not outcome:
        return ""
    return Call.Outcome(outcome).label if outcome in Call.Outcome.values else outcome


def duration_label(seconds: float | None) -> str:
    """ "4:07"; "-" for a call still going (or one whose end was never heard)."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    if minutes >= 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
