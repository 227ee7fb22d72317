"""What the agent knows about the call in progress. Shared by brains, tools and the session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallContext:
    call_id: int | None  # calls.Call primary key; ToolCall rows are written against it
    caller_number: str  # E.164 when it could be normalised, else as received
    direction: str = "inbound"
    # The customer the call is bound to: caller-ID match, or verified by postal code, or registered
    # during the call. Tools let the caller see and change only this customer's appointments.
    customer_id: int | None = None
    customer_name: str = ""
    verified: bool = False  # bound by caller ID or postal code (not merely claimed)
    appointment_id: int | None = None  # the appointment a reminder call is about
    # Chat history in OpenAI message format; the session cuts interrupted agent turns to what was played.
    history: list[dict[str, Any]] = field(default_factory=list)
    turn_index: int = 0
    # Set by tools; the session acts on them when the agent's turn has been spoken.
    end_requested: bool = False
    transfer_requested: bool = False
    transfer_reason: str = ""
    outcome: str = ""  # a calls.Call.Outcome value
    summary_parts: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Add a fact to the call's one-line summary ("booked oil change Tue 9:00")."""
        if text and text not in self.summary_parts:
            self.summary_parts.append(text)

    @property
    def summary(self) -> str:
        return "; ".join(self.summary_parts)[:300]
