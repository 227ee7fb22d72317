"""The reminder call the day before: confirm, move or cancel in the same conversation.

The shop is calling, so the customer is already known by the number we dialled. They may say yes, name another
day or time ("can we do Thursday instead", "make it 3"), cancel ("actually cancel it, I sold the car"), ask who is
calling, be the wrong person, or have no time to talk; each gets a short, polite answer. Moving reuses the booking
flow's offers and read-back; cancelling reads back first and keeps the customer's words as the reason.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings

from calls.agent import nlu
from calls.agent.flows.common import lower_first
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import spoken_day
from calls.agent.reminder_script import CAN_YOU_MAKE_IT, opening_line, what_phrase, when_phrase

# "who is this?", "who's calling", "what's this about", "is this a robot?"
_WHO = re.compile(r"\b(who (is|s) (this|calling|that|speaking)|whos (this|calling)|who are you|what is this( about)?|"
                  r"whats this( about)?|what (is|s) this regarding|where are you calling from|"
                  r"(is this|are you) (a )?(robot|machine|recording|real person|computer|bot|human|ai))\b")
# The person who picked up is not the customer.
_WRONG_PERSON = re.compile(r"\b(wrong number|(you have|youve got|you got) the wrong|no one (here )?(by|named)|"
                           r"nobody (here )?(by|named)|(she|he)s not (here|home|in|available|around)|"
                           r"(she|he) (is not|isnt) (here|home|in|available|around)|this is not|this isnt)\b")
# No time to talk now.
_BUSY = re.compile(r"\b(call (me )?(back )?later|(im|i am) (busy|driving|at work|in a meeting|working)|"
                   r"(cant|cannot) talk|bad time|not a good time)\b")
_KEEP = re.compile(r"\b(keep (it|that|the appointment)|leave (it|that)|(it|that)s fine|(it|that) works|"
                   r"ill (be there|come|make it)|i (can|will) make it|see you (then|there|tomorrow))\b")
_UNSURE = re.compile(r"\b(maybe|not sure|dont know|i guess|possibly|might)\b")
_MOVE = re.compile(r"\b(move|another|different|other|reschedule|change (it|the time|the day)|instead)\b")
# Near the appointment: "the day after", "the day before", "a bit later", "earlier" (that day).
_NEAR = re.compile(r"\b(the (next )?day (after|before)(?! tomorrow| yesterday| next| this)|"
                   r"(a (little )?bit |an hour |a little )?(later|earlier))\b")


class ReminderFlow:

    def greet_reminder(self, name: str, shop: str) -> bool:
        res = self.tool("get_upcoming_appointments")
        appts = res.result["appointments"] if res.ok else []
        appt = next((a for a in appts if a["id"] == self.ctx.appointment_id), None)
        if appt is None:
            # Cancelled or passed between the dial and the answer: nothing to confirm, but the call is ours.
            hello = f"Hi {name}, this is {shop}." if name else f"Hello, this is {shop}."
            self.say(hello, "I was calling about your appointment, but I see it has already changed.")
            self.anything_else()
            return True
        self.st.task = Task(kind="reminder", appointments=appts, appointment=appt)
        self.set_services(self.st.task, appt["service_codes"], appt["services"])
        opening, question = opening_line(appt, first_name=name, shop=shop, now=self.now)
        self.say(opening)
        self.ask(question, Expect.REMINDER_CONFIRM, "confirmation")
        return True


    # --- the customer's answer to "can you still make it?" ---------------------------------------------------
    def on_reminder_confirm(self, u: nlu.Understanding) -> bool:
        said = nlu.normalize(u.text)
        if self.reminder_aside(u, said):
            return True
        if self.wants_cancel(u):
            return self.ask_reminder_cancel(u)
        if u.has_when and not _same_time(u, self.st.task.appointment):
            return self.start_reminder_reschedule(u)
        if _NEAR.search(said):
            return self.start_reminder_reschedule(u)
        keep = u.yes_no == "yes" or _KEEP.search(said)
        if u.intent == "reschedule" or (_MOVE.search(said) and not keep):
            return self.start_reminder_reschedule(u)
        if keep:
            return self.confirm_reminder()
        if u.yes_no == "no" or _UNSURE.search(said):
            self.ask("No problem. Would you like to move it to another day, or cancel it?", Expect.REMINDER_CHANGE,
                     "intent")
            return True
        return False


    def on_reminder_change(self, u: nlu.Understanding) -> bool:
        said = nlu.normalize(u.text)
        if self.reminder_aside(u, said):
            return True
        if self.wants_cancel(u):
            return self.ask_reminder_cancel(u)
        if u.intent in ("reschedule", "book") or u.has_when or _MOVE.search(said):
            return self.start_reminder_reschedule(u)
        if _KEEP.search(said) or (u.yes_no == "yes" and re.search(r"\b(keep|come|make)\b", said)):
            return self.confirm_reminder()
        if u.yes_no == "no":
            appt = self.st.task.appointment
            self.say(f"Okay, I'll leave it as it is: {what_phrase(appt)} {when_phrase(appt['start'], self.now)}.")
            self.anything_else()
            return True
        return False


    def on_reminder_cancel(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if u.yes_no == "yes" and not u.has_when:
            if self.prompt_cut:
                self.say("Just to be sure.")
                self.ask(self.st.last_prompt, Expect.REMINDER_CANCEL, "confirmation")
                return True
            reason = f"“{task.notes}” (reminder call)" if task.notes else "cancelled on the reminder call"
            res = self.tool("cancel_appointment", appointment_id=task.appointment["id"], reason=reason[:200])
            if not res.ok:
                self.say(f"Sorry, {lower_first(res.error)}")
                self.anything_else()
                return True
            self.say("Done, it's cancelled.")
            self.st.task, self.st.offered_services = None, list(task.appointment["service_codes"])
            self.st.cancelled = task.appointment
            self.ask("Would you like to book another time instead?", Expect.OFFER_BOOK, "intent")
            return True
        if u.has_when:
            return self.start_reminder_reschedule(u)
        if u.yes_no == "no":
            self.st.task.kind = "reminder"
            self.ask(f"Okay, I'll keep it. So we'll see you {when_phrase(task.appointment['start'], self.now)}?",
                     Expect.REMINDER_CONFIRM, "confirmation")
            return True
        return False


    # --- steps -------------------------------------------------------------------------------------------
    def confirm_reminder(self) -> bool:
        task = self.st.task
        res = self.tool("confirm_appointment", appointment_id=task.appointment["id"])
        if not res.ok:
            self.say(f"Sorry, {lower_first(res.error)}")
            self.anything_else()
            return True
        self.say(f"Great, you're confirmed. See you {when_phrase(task.appointment['start'], self.now)}!")
        self.anything_else()
        return True


    def ask_reminder_cancel(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "cancel"
        task.notes = u.text.strip()[:150]
        appt = task.appointment
        self.ask(f"Just to be sure: you'd like to cancel your {what_phrase(appt)} "
                 f"{when_phrase(appt['start'], self.now)}?", Expect.REMINDER_CANCEL, "confirmation")
        return True


    def start_reminder_reschedule(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "reschedule"
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        near_date, near_time = _near(nlu.normalize(u.text), appt)
        task.date, task.time = near_date or u.date, u.time or near_time
        if task.date is None and task.time is not None:
            # "can we make it 3 instead": the same day, another time
            day = datetime.fromisoformat(appt["start"]).date()
            task.date = nlu.DatePref(start=day, end=day, label="that day")
        if task.date is not None or task.time is not None:
            self.search_and_offer()
        else:
            self.ask("Sure. What day would work better for you?", Expect.WHEN, "slot_collection")
        return True


    @staticmethod
    def wants_cancel(u: nlu.Understanding) -> bool:
        return u.intent == "cancel" or u.scores.get("cancel", 0) >= 4


    def reminder_aside(self, u: nlu.Understanding, said: str) -> bool:
        """Who is calling, the wrong person, a bad time: answered without losing the question."""
        task, shop = self.st.task, settings.SHOP_NAME
        appt = task.appointment
        if _WRONG_PERSON.search(said):
            name = self.ctx.customer_name
            ask = f"Could you let {name} know that {shop} called? " if name and "wrong" not in said else ""
            self.say(f"Sorry to bother you. {ask}Goodbye!")
            self.end_reminder_call("not the customer")
            return True
        if _BUSY.search(said) and u.yes_no != "yes" and not u.has_when:
            self.say(f"No problem, I won't keep you. We'll see you {when_phrase(appt['start'], self.now)}; "
                     "call us if anything changes. Goodbye!")
            self.end_reminder_call("customer busy")
            return True
        if _WHO.search(said):
            self.say(f"This is the automated assistant at {shop}, calling about your {what_phrase(appt)} "
                     f"{when_phrase(appt['start'], self.now)}.")
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        return False


    def end_reminder_call(self, reason: str) -> None:
        self.ctx.note(reason)
        self.tool("end_call", reason=reason)
        self.st.task = None
        self.st.expect, self.st.phase = Expect.ENDED, "closing"


    def close(self) -> None:
        """The goodbye: on a call the shop made, nobody "called" the shop."""
        if self.ctx.direction != "outbound":
            super().close()
            return
        name = self.ctx.customer_name
        self.say(f"Thanks{', ' + name if name else ''}. Have a great day. Goodbye!")
        self.tool("end_call", reason="customer is done")
        self.st.task = None
        self.st.expect, self.st.phase = Expect.ENDED, "closing"


def _same_time(u: nlu.Understanding, appt: dict) -> bool:
    """"Yes, tomorrow at 9 works": a day or time that is the appointment's own is no request to move it."""
    start = datetime.fromisoformat(appt["start"])
    day_ok = u.date is None or start.date() in u.date.dates()
    time_ok = u.time is None or (u.time.exact is not None and u.time.exact == start.time().replace(tzinfo=None)) \
        or (u.time.exact is None and u.time.contains(start.time()))
    return day_ok and time_ok


def _near(said: str, appt: dict) -> tuple[nlu.DatePref | None, nlu.TimePref | None]:
    """"The day after" / "the day before" the appointment, or "later" / "earlier" on its day."""
    start = datetime.fromisoformat(appt["start"])
    match = re.search(r"\bthe (?:next )?day (after|before)\b(?! tomorrow| yesterday| next| this)", said)
    if match:
        day = start.date() + timedelta(days=1 if match.group(1) == "after" else -1)
        return nlu.DatePref(start=day, end=day, label=f"on {spoken_day(day)}"), None
    if re.search(r"\blater\b", said):
        after = (start + timedelta(minutes=settings.SLOT_MINUTES)).time().replace(tzinfo=None)
        return None, nlu.TimePref(start=after, label="later that day")
    if re.search(r"\bearlier\b", said):
        before = (start - timedelta(minutes=1)).time().replace(tzinfo=None)
        return None, nlu.TimePref(end=before, label="earlier that day")
    return None, None
