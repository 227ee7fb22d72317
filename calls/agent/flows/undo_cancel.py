"""A cancellation taken back in the same call: "I want to cancel" / yes / "actually wait, don't cancel it, move it
to Tuesday instead". The appointment is restored through the restore_appointment tool (only one this call
cancelled, of the caller's own account), then moved if they said where to.
"""

from __future__ import annotations

import re

from calls.agent import nlu
from calls.agent.flows.common import lower_first
from calls.agent.flows.host import FlowHost
from calls.agent.phrases import services_phrase

_TAKE_BACK = re.compile(
    r"\b(dont|do not|didnt mean to|did not mean to|shouldnt have|not) cancel\w*\b|\bundo\b|\bun ?cancel\w*\b|"
    r"\b(keep|put back|restore|bring back)\b.{0,20}\b(it|that|appointment|that one|the appointment)\b|"
    r"\bchanged my mind\b|\bwait\b.{0,30}\b(move|reschedule|instead)\b"
)


def takes_back_cancel(norm: str, intent: str, *, said_outright: bool = False) -> bool:
    """The caller takes back the cancellation just made (normalized text; the line's intent). `said_outright`:
    only in so many words ("don't cancel it", "keep it"), a move being no take-back there."""
    return bool(_TAKE_BACK.search(norm)) or (intent == "reschedule" and not said_outright)


class UndoCancelFlow(FlowHost):
    def on_taken_back_cancel(self, u: nlu.Understanding, *, said_outright: bool = False) -> bool:
        """Restore what this call cancelled when the caller takes it back; move it if they say where to."""
        st = self.st
        cancelled = st.last_cancelled
        taken_back = takes_back_cancel(nlu.normalize(u.text), u.intent, said_outright=said_outright)
        if cancelled is None or st.task is not None or not taken_back:
            return False
        res = self.tool("restore_appointment", appointment_id=cancelled["id"])
        st.last_cancelled = st.cancelled = None
        if not res.ok or res.result is None:
            self.say(f"Sorry, {lower_first(res.error)}")
            self.anything_else()
            return True
        appt = res.result["appointment"]
        moving = u.intent == "reschedule" or u.has_when
        if not moving:
            self.say(
                f"No problem, I've kept your {services_phrase(appt['services'], article=False)} on {appt['label']}."
            )
            self.anything_else()
            return True
        self.say("No problem, I've undone the cancellation.")
        task = self.start_task("reschedule", u, advance=False)
        task.appointment, task.appointments = appt, None
        self.advance()
        return True
