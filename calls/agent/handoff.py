"""Handing a call from the language-model brain to the rule policy mid-call, without asking again what is known.

The model's dialogue state is its chat history; the rule policy's is a RuleState. What carries over is what the
tools established: the bound customer (already on the CallContext), the account found or registered, the last
openings offered and for which services, and whatever the tools changed in this call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calls.agent.context import CallContext
from calls.agent.flows.common import ANYTHING_ELSE
from calls.agent.flows.state import Expect, Task, rule_state
from calls.agent.reminder_script import CAN_YOU_MAKE_IT

WRITES = ("book_appointment", "cancel_appointment", "reschedule_appointment", "confirm_appointment")


@dataclass
class ToolMemory:
    """What the tools told the language-model brain in this call (successful results only)."""

    customer: dict | None = None
    openings: dict | None = None  # the last get_available_slots result that had slots
    written: list[tuple[str, dict]] = field(default_factory=list)  # (tool, result) of changes, this turn

    def remember(self, name: str, result: dict) -> None:
        if name in ("lookup_customer", "register_customer") and isinstance(result.get("customer"), dict):
            self.customer = result["customer"]
        elif name == "add_vehicle" and self.customer is not None and isinstance(result.get("vehicle"), dict):
            # a car added in this call: the rule brain, taking over, books on it as on any car of theirs
            vehicles = self.customer.setdefault("vehicles", [])
            if all(v.get("id") != result["vehicle"]["id"] for v in vehicles):
                vehicles.append(result["vehicle"])
        elif name == "get_available_slots" and result.get("slots"):
            self.openings = result
        elif name in WRITES:
            self.written.append((name, result))
            self.openings = None  # the offer was taken (or the plan changed)


def seed_rule_state(ctx: CallContext, memory: ToolMemory) -> str:
    """Put the rule policy where the conversation is. Returns a sentence to say first, or ""."""
    st = rule_state(ctx)
    st.prompt_cut = st.reopened = False
    st.misses = 0
    if memory.customer is not None:
        st.customer = memory.customer
    if memory.written:
        name, result = memory.written[-1]
        appointment = result.get("appointment") or {}
        if name == "book_appointment":
            st.last_booked = appointment
        st.task = None
        st.expect, st.phase, st.last_prompt = Expect.ANYTHING_ELSE, "intent", ANYTHING_ELSE
        label = appointment.get("label", "")
        done = {
            "book_appointment": "booked",
            "cancel_appointment": "cancelled",
            "reschedule_appointment": "moved",
            "confirm_appointment": "confirmed",
        }[name]
        return f"Your appointment is {done}{' for ' + label if label and done != 'cancelled' else ''}."
    # On a reminder call the greeting left the rule policy asking about the reminded appointment.
    reminder = st.task if st.task is not None and st.task.kind == "reminder" and st.task.appointment else None
    if memory.openings is not None:
        found = memory.openings
        task = Task(
            kind="book",
            service_codes=list(found.get("service_codes") or []),
            service_names=list(found.get("services") or []),
        )
        if reminder is not None:  # the openings were for moving it
            task.kind, task.appointment, task.appointments = "reschedule", reminder.appointment, reminder.appointments
        task.offers = list(found["slots"])
        vehicles = (st.customer or {}).get("vehicles") or []
        if len(vehicles) == 1:
            task.vehicle_id, task.vehicle_label = vehicles[0]["id"], vehicles[0]["label"]
        st.task = task
        st.expect, st.phase = Expect.SLOT_CHOICE, "slot_collection"
        return ""
    if reminder is not None:
        # Nothing decided yet: the rule policy asks the reminder's own question again.
        st.expect, st.phase, st.last_prompt = Expect.REMINDER_CONFIRM, "confirmation", CAN_YOU_MAKE_IT
        return ""
    st.task = None
    st.expect, st.phase = (Expect.ANYTHING_ELSE if ctx.turn_index > 2 else Expect.REQUEST), "intent"
    return ""
