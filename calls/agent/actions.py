"""What a brain asks the session to do with the call besides speaking: hand it to a person, or hang up.

Brains yield these among the text pieces of a reply; the session acts on them once the reply has been spoken.
Tools never touch the call: `transfer_to_advisor` and `end_call` return the action as data, and the brain that
called them passes it on (`action_from_tool`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.agent.context import CallContext


@dataclass(frozen=True)
class Transfer:
    reason: str = ""


@dataclass(frozen=True)
class EndCall:
    reason: str = ""


Action = Transfer | EndCall
ReplyPiece = str | Action


def action_from_tool(result: dict) -> Action | None:
    """The action a tool result carries ({"action": "transfer" | "end_call", "reason": ...}), or None."""
    kind = result.get("action") if isinstance(result, dict) else None
    if kind == "transfer":
        return Transfer(str(result.get("reason") or ""))
    if kind == "end_call":
        return EndCall(str(result.get("reason") or ""))
    return None


def record_action(ctx: CallContext, action: Action | None) -> None:
    """What acting on `action` means for the call's outcome and summary (the session, and test harnesses)."""
    if isinstance(action, Transfer):
        ctx.set_outcome("transferred")
        ctx.note(f"transferred to advisor ({action.reason or 'requested'})")
    elif isinstance(action, EndCall) and not ctx.outcome:
        ctx.set_outcome("info")
