"""What the agent knows about the call in progress. Shared by brains, tools and the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CallContext:
    call_id: int | None  # calls.Call primary key; ToolCall rows are written against it
    caller_number: str  # E.164 when it could be normalised, else as received
    direction: str = "inbound"
    # The customer the call is bound to: caller-ID match, or verified by name, postal code and a fact, or registered
    # during the call. Tools let the caller see and change only this customer's appointments.
    customer_id: int | None = None
    customer_name: str = ""
    verified: bool = False  # bound by caller ID or by identity checks (not merely claimed)
    # What bound it: "caller_id", "registered", or the extra fact a caller proved ("vehicle_make",
    # "appointment_day") besides name and postal code (crm.identity).
    verified_by: str = ""
    appointment_id: int | None = None  # the appointment a reminder call is about
    # Appointments cancelled in this call: only these may be restored by it ("wait, don't cancel it")
    cancelled_in_call: list[int] = field(default_factory=list)
    # Chat history in OpenAI message format; the session cuts interrupted agent turns to what was played.
    history: list[dict[str, Any]] = field(default_factory=list)
    turn_index: int = 0
    outcome: str = ""  # a calls.Call.Outcome value
    summary_parts: list[str] = field(default_factory=list)
    # A brain's own per-call memory (the rule policy keeps its dialogue state here).
    state: dict[str, Any] = field(default_factory=dict)
    # Fixed "now" for simulations and tests; None means the real clock.
    now: datetime | None = None

    def note(self, text: str) -> None:
        """Add a fact to the call's one-line summary ("booked oil change Tue 9:00")."""
        if text and text not in self.summary_parts:
            self.summary_parts.append(text)

    # Outcomes ranked: a call that booked stays "booked" even if the caller then asks for an advisor.
    _OUTCOME_RANK = {
        "info": 0,
        "transferred": 1,
        "wrong_person": 1,
        "cancelled": 2,
        "rescheduled": 2,
        "confirmed": 2,
        "booked": 3,
    }

    def set_outcome(self, outcome: str) -> None:
        if self._OUTCOME_RANK.get(outcome, 0) >= self._OUTCOME_RANK.get(self.outcome, -1):
            self.outcome = outcome

    def clock(self) -> datetime:
        from django.utils import timezone

        return self.now or timezone.now()

    @property
    def summary(self) -> str:
        return "; ".join(self.summary_parts)[:300]
