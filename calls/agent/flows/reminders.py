"""The reminder call the day before: confirm, move or cancel in the same conversation.
"""

from __future__ import annotations

import re

from calls.agent import nlu
from calls.agent.flows.common import lower_first
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import services_phrase


class ReminderFlow:

    def greet_reminder(self, name: str, shop: str) -> bool:
        res = self.tool("get_upcoming_appointments")
        appts = res.result["appointments"] if res.ok else []
        appt = next((a for a in appts if a["id"] == self.ctx.appointment_id), None)
        if appt is None:
            return False
        self.st.task = Task(kind="reminder", appointments=appts, appointment=appt)
        hello = f"Hi {name}, this is {shop}." if name else f"Hello, this is {shop}."
        self.say(hello)
        self.ask(f"I'm calling to confirm your {services_phrase(appt['services'], article=False)} on "
                 f"{appt['label']}. Will that still work for you?", Expect.REMINDER_CONFIRM, "confirmation")
        return True


    # --- reminder calls ---------------------------------------------------------------------------------
    def on_reminder_confirm(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if u.intent == "cancel" or (u.scores.get("cancel", 0) >= 4):
            task.kind = "cancel"
            self.confirm_prompt()
            return True
        if u.intent == "reschedule" or (u.yes_no == "no" and u.has_when):
            return self.start_reminder_reschedule(u)
        if u.yes_no == "yes":
            res = self.tool("confirm_appointment", appointment_id=task.appointment["id"])
            if res.ok:
                self.say("Great, you're confirmed. See you then!")
            else:
                self.say(f"Sorry, {lower_first(res.error)}")
            self.anything_else()
            return True
        if u.yes_no == "no":
            self.ask("No problem. Would you like to move it to another day, or cancel it?", Expect.REMINDER_CHANGE,
                     "intent")
            return True
        return False


    def on_reminder_change(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if u.intent == "cancel":
            task.kind = "cancel"
            self.confirm_prompt()
            return True
        if u.intent in ("reschedule", "book") or u.has_when or re.search(r"\b(move|another|different|other)\b",
                                                                         nlu.normalize(u.text)):
            return self.start_reminder_reschedule(u)
        if u.yes_no == "no":
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        return False


    def start_reminder_reschedule(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "reschedule"
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        task.date, task.time = u.date, u.time
        if u.has_when:
            self.search_and_offer()
        else:
            self.ask("What day would work better for you?", Expect.WHEN, "slot_collection")
        return True
