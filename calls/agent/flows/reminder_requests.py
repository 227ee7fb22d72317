"""On the reminder call, what the caller asks beyond the appointment called about: another service on this visit
("and can you also do a tire rotation?": read back before it is added), or one of their other appointments ("and
cancel the oil change at 5:30", "move my alignment on the 14th to the 15th", "is my brake job today still at
4:30?"). The person the shop called is the account holder, so their other appointments are theirs to change; the
one called about is never touched when another is named.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.choosing import _MOVE_VERB, Said, pick_appointments, split_move
from calls.agent.flows.common import lower_first
from calls.agent.flows.reminder_answers import (
    ADD_IT,
    UNSURE,
    ReminderAnswer,
    calls_back_themselves,
    cancel_or_move,
    removal_asked,
    services_asked_for,
    swap_asked,
)
from calls.agent.flows.reminder_host import ReminderHost
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import join_words, service_answer, services_phrase, spoken_day
from calls.agent.reminder_script import CAN_YOU_MAKE_IT, when_phrase
from calls.agent.understanding.services import find_services

_CANCEL = re.compile(r"\b(cancel|cancelling|canceling|call off)\b")
_LEADING_YES = re.compile(r"^((yes|yeah|yep|yup|sure|ok|okay|alright|and|also|so|oh|well) )+")
_LEADING_NO = re.compile(r"^((no|nope|nah|not that one|not that|sorry|i meant|i mean|the other one) )+")
_IT = re.compile(r"\b(cancel|move|reschedule|push|change) (it|this)\b")
# "not the RAV4", "instead of the Camry": a car named as the wrong one.
_NOT_THE_CAR = re.compile(r"\b(not|instead of|rather than) (the|my|our) \w+( \w+)?")
_ANOTHER_CAR_TOO = re.compile(r"\b(too|also|as well|other (car|truck|one)|another (car|truck)|second car|both)\b")
_CANT = re.compile(r"\b(cant|cannot|can not|wont|not going to|unable to|wont be able to)\b")
_CHECK = re.compile(r"\b(check on|is (it|that) still|still (at|on)|what time is|when is)\b")


class OtherRequest:
    """What the caller asked about appointments other than the reminded one (structured, never a sentence)."""

    def __init__(self, action: str, found: list[dict], target: nlu.Understanding | None):
        self.action = action  # cancel, reschedule, check
        self.found = found  # the other appointments the words fit (several: ask which)
        self.target = target  # for a move: where it goes


def other_request(
    text: str, appts: list[dict], reminded: dict, now: datetime, *, yes: bool = False, implied: str = ""
) -> OtherRequest | None:
    """A cancel, move or question about appointments other than `reminded`, named by service, day or time.
    None when the words name none, or fit the reminded one (then it is the usual reminder answer).

    `yes`: the caller has just said yes to the reminded visit, so words that fit it and others ("yes, and cancel
    the tire rotation") mean the others. `implied`: the action the question asked about, for a line that names the
    appointment only ("no, the Thursday one" to a cancel read-back)."""
    said = nlu.normalize(text)
    if not any(a["id"] != reminded["id"] for a in appts):
        return None
    if _IT.search(said):
        return None  # "cancel it", "move it to Friday": the appointment called about
    wants = cancel_or_move(said)
    marks = {
        "cancel": list(_CANCEL.finditer(said)),
        "reschedule": list(_MOVE_VERB.finditer(said)),
        "check": list(_CHECK.finditer(said)),
    }
    action = {"cancel": "cancel", "move": "reschedule"}.get(wants) or next((k for k, v in marks.items() if v), "")
    abouts: list[str] = []
    if marks.get(action):
        mark = marks[action][-1] if action == "cancel" else marks[action][0]
        # The words that name the appointment: from the request on ("yes, and cancel the oil change at 5:30"),
        # else the whole line but its yes ("yes. and the oil change at 5:30, can you move that one to 3?").
        abouts = [said[mark.start() :], _LEADING_YES.sub("", said)]
    elif implied and not action:
        action, abouts = implied, [_LEADING_NO.sub("", said)]
    if not abouts:
        return None
    found: list[int] = []
    for about in abouts:
        target = None
        if action == "reschedule":
            parts = split_move(about)
            moved_to = nlu.understand(parts[1], now, expect_time=True) if parts else None
            if moved_to is not None and moved_to.has_when:
                about, target = parts[0], moved_to  # type: ignore[index]
        u = nlu.understand(about, now)
        if action == "check" and u.date is None and not u.services:
            continue  # "yeah, is it still at 10?": "it" is the reminded one, misremembered (reminder_answer)
        found = pick_appointments(appts, Said(about, u.date, u.time, list(u.services)), ordinals=False)
        if yes and not _names_reminded(u, reminded):
            # just said yes to it: words that fit it and others mean the others
            others = [i for i, a in enumerate(appts) if a["id"] != reminded["id"]]
            picked = pick_appointments(
                [appts[i] for i in others], Said(about, u.date, u.time, list(u.services)), ordinals=False
            )
            found = [others[i] for i in picked] or found
        if found:
            break
    if not found or any(appts[i]["id"] == reminded["id"] for i in found):
        return None
    return OtherRequest(action, [appts[i] for i in found], target)


def _names_reminded(u: nlu.Understanding, reminded: dict) -> bool:
    """The words name the reminded visit's own day ("cancel tomorrow's")."""
    return u.date is not None and datetime.fromisoformat(reminded["start"]).date() in u.date.dates()


class ReminderRequestsFlow(ReminderHost):
    # --- another service on the reminded visit ---------------------------------------------------------------
    def services_to_offer(self, u: nlu.Understanding, appt: dict) -> list:
        """The services the caller clearly asked to have added to this visit (never one only mentioned)."""
        asked = services_asked_for(u.text, find_services(u.text))
        return [s for s in asked if s.code not in appt["service_codes"]]

    def other_service_asked(self, u: nlu.Understanding, a: ReminderAnswer) -> bool:
        """ "How much to add wiper blades?": the price (or length) of the service named, not of the visit's own, then
        whether to add it to this visit ("ok add them" adds it). False when the question is about the visit."""
        appt = self.st.task.appointment
        if a.asks not in ("price", "duration"):
            return False
        said = [getattr(m.service, "code", "") for m in find_services(u.text)]  # ServiceType codes
        named = [code for code in dict.fromkeys(said) if code and code not in appt["service_codes"]]
        if not named:
            return False
        res = self.tool("get_services", codes=named)
        items = res.result["services"] if res.ok else []
        if not items:
            return False
        if a.yes and not UNSURE.search(nlu.normalize(u.text)):
            self.confirm_reminder(goodbye=False)  # "yes I'll be there. how much would wipers be?"
        task = self.st.task
        task.to_add, task.to_remove, task.to_vehicle = [item["code"] for item in items], [], None
        task.yes_after_edit = False
        self.say(*[service_answer(item, a.asks) for item in items])
        them = "it" if len(items) == 1 else "them"
        self.ask(f"Would you like me to add {them} to {self.visit_phrase()}?", Expect.REMINDER_EDIT, "confirmation")
        return True

    def confirm_and_offer_add(self, new: list) -> bool:
        """ "Yes, and an oil change while it's there?": confirmed, then the addition read back before it is made."""
        task = self.st.task
        self.confirm_reminder(goodbye=False)
        task.to_add = [s.code for s in new]
        names = join_words([s.name.lower() for s in new])
        self.ask(f"Shall I add {names} to {self.visit_phrase()}?", Expect.REMINDER_EDIT, "confirmation")
        return True

    def visit_phrase(self) -> str:
        start = self.st.task.appointment["start"]
        return "tomorrow's visit" if when_phrase(start, self.now).startswith("tomorrow") else "that visit"

    def swap_or_car_said(self, u: nlu.Understanding, *, yes: bool) -> bool:
        """ "A tire rotation instead of the brake inspection", "it's the Camry that needs it, not the RAV4": the
        change read back (nothing confirmed yet: the visit they confirm is the changed one)."""
        task = self.st.task
        appt = task.appointment
        old, new = swap_asked(u.text, find_services(u.text))
        old = [s for s in old if s.code in appt["service_codes"]]
        new = [s for s in new if s.code not in appt["service_codes"]]
        car = self.other_car_named(u.text, appt)
        if not (old and new) and car is None:
            return False
        task.yes_after_edit = yes
        when = when_phrase(appt["start"], self.now)
        if old and new:
            task.to_remove, task.to_add = [s.code for s in old], [s.code for s in new]
            said_new = services_phrase([s.name for s in new])
            said_old = services_phrase([s.name for s in old], article=False)
            self.ask(
                f"So {when}, {said_new} instead of the {said_old}, same time. Shall I change that?",
                Expect.REMINDER_EDIT,
                "confirmation",
            )
            return True
        task.to_vehicle = car
        self.ask(
            f"This visit is booked for your {appt.get('vehicle') or 'car'}. Shall I put your {car['label']} on it "  # type: ignore[index]
            f"instead, {when}?",
            Expect.REMINDER_EDIT,
            "confirmation",
        )
        return True

    def removal_said(self, u: nlu.Understanding, *, yes: bool) -> bool:
        """ "Can we skip the tire rotation and just do the oil change?", "drop the alignment": what remains read
        back before anything changes; taking off the last service is asked as a cancel, never an empty visit."""
        task = self.st.task
        appt = task.appointment
        booked = list(appt["service_codes"])
        gone, absent = removal_asked(u.text, find_services(u.text), booked)
        names = dict(zip(booked, appt["services"], strict=False))
        when = when_phrase(appt["start"], self.now)
        if not gone and absent and not yes:
            # "drop the alignment" when there is none on it: nothing to take off, nothing invented
            self.say(
                f"There's no {absent[0].name.lower()} on this appointment: it's for "
                f"{services_phrase(appt['services'], article=False)}."
            )
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
            return True
        if not gone:
            return False
        kept = [code for code in booked if code not in gone]
        said_gone = services_phrase([names[c] for c in gone], article=False)
        if not kept:
            task.kind, task.notes = "cancel", u.text.strip()[:150]
            self.ask(
                f"The {said_gone} is all that's booked. Then should I cancel the appointment?",
                Expect.REMINDER_CANCEL,
                "confirmation",
            )
            return True
        task.to_remove, task.to_add, task.to_vehicle = gone, [], None
        task.yes_after_edit = yes
        said_kept = services_phrase([names[c] for c in kept], article=False)
        self.ask(
            f"So {when}, just the {said_kept}, without the {said_gone}. Is that right?",
            Expect.REMINDER_EDIT,
            "confirmation",
        )
        return True

    def other_car_named(self, text: str, appt: dict) -> dict | None:
        """Another of the caller's cars named as the one the visit is for ("not the RAV4" names none)."""
        if self.st.customer is None and self.ctx.customer_id is not None:
            self.load_customer()  # type: ignore[attr-defined]
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if len(vehicles) < 2:
            return None
        said = nlu.normalize(text)
        if _ANOTHER_CAR_TOO.search(said):
            return None  # "an oil change on my other car too, the Rogue": a second car, not this visit's
        kept = _NOT_THE_CAR.sub(" ", said)
        idx = nlu.pick_vehicle(kept, vehicles)
        if idx is None or vehicles[idx]["id"] == appt.get("vehicle_id"):
            return None
        return vehicles[idx]

    def on_reminder_edit(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if task is None or not (task.to_add or task.to_remove or task.to_vehicle):
            return False
        if self.swap_or_car_said(u, yes=task.yes_after_edit):
            return True  # "no, same day same time, just swap the brake inspection for a tire rotation": asked again
        if u.yes_no != "yes" and self.removal_said(u, yes=task.yes_after_edit):
            return True  # "no, keep the rotation, drop the oil change": asked again
        adds = bool(task.to_add and not task.to_remove and ADD_IT.search(nlu.normalize(u.text)))
        if u.yes_no not in ("yes", "no") and not adds:
            return False
        pending = (task.to_add, task.to_remove, task.to_vehicle)
        task.to_add, task.to_remove, task.to_vehicle = [], [], None
        if u.yes_no == "no" and not adds:
            self.say("Okay, I'll leave the visit as it is.")
            return self.after_edit(task)
        add, remove, car = pending
        if car is not None:
            res = self.tool("change_appointment_vehicle", appointment_id=task.appointment["id"], vehicle_id=car["id"])
            done = f"Done, it's for your {car['label']} now."
        elif remove and not add:
            # "So tomorrow at 9, just the oil change?" - "yes": that is also the yes to the visit itself
            res = self.tool("remove_services_from_appointment", appointment_id=task.appointment["id"], services=remove)
            left = services_phrase((res.result or {}).get("remaining", []), article=False) if res.ok else ""
            done = f"Done, that's just the {left} now."
            task.yes_after_edit = True
        elif remove:
            res = self.tool("swap_appointment_services", appointment_id=task.appointment["id"], remove=remove, add=add)
            done = "Done, I've changed it."
        else:
            res = self.tool("add_services_to_appointment", appointment_id=task.appointment["id"], services=add)
            names = join_words([n.lower() for n in (res.result or {}).get("added", [])]) if res.ok else ""
            done = f"Done, I've added {names} to it." if names else "That's already on it."
        if not res.ok:
            self.say(
                f"I couldn't change that: {lower_first(res.error)} A service advisor can sort it out when you "
                "drop the car off."
            )
            self.anything_else()
            return True
        task.appointment = res.result["appointment"]
        self.say(done)
        return self.after_edit(task)

    def after_edit(self, task: Task) -> bool:
        """The visit itself: confirmed when they had said yes to it (and not confirmed yet), else asked."""
        if task.yes_after_edit and task.appointment.get("status") != "confirmed":  # type: ignore[union-attr]
            task.yes_after_edit = False
            return self.confirm_reminder()
        if task.appointment.get("status") == "confirmed":  # type: ignore[union-attr]
            self.anything_else()
            return True
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    # --- another of the caller's appointments ----------------------------------------------------------------
    def reminder_other_request(self, u: nlu.Understanding, *, yes: bool, implied: str = "") -> bool:
        """ "Yes, and cancel the oil change at 5:30": the reminded one confirmed when they said yes, then the other
        one cancelled, moved or told, by the usual read-backs. False when no other appointment was named."""
        task = self.st.task
        req = other_request(u.text, task.appointments or [], task.appointment, self.now, yes=yes, implied=implied)
        if req is None:
            return False
        if yes:
            self.confirm_reminder(goodbye=False)
        elif req.action != "check":
            self.st.reminder_open = True  # the reminded visit is asked about again once that one is done
        if req.action == "check":
            items = [
                f"your {services_phrase(a['services'], article=False)} is {when_phrase(a['start'], self.now)}"
                for a in req.found
            ]
            sentence = join_words(items)
            self.say(f"{sentence[0].upper()}{sentence[1:]}.")
            self.anything_else()
            return True
        self.start_other_task(req)
        return True

    def nothing_there_to_cancel(self, u: nlu.Understanding, *, yes: bool) -> bool:
        """ "Yes, tomorrow's fine. But cancel the tire rotation on Friday", with nothing of theirs on Friday: the yes
        stands and they hear there is nothing there; the visit they just said yes to is never read back for a cancel."""
        said = nlu.normalize(u.text)
        marks = list(_CANCEL.finditer(said))
        if not yes or not marks or cancel_or_move(said) != "cancel" or _IT.search(said):
            return False
        about = nlu.understand(said[marks[-1].start() :], self.now)
        appt = self.st.task.appointment
        if about.date is None or _names_reminded(about, appt):
            return False
        self.confirm_reminder(goodbye=False)
        what = services_phrase([s.name for s in about.services]) if about.services else "an appointment"
        self.say(f"I don't see {what} of yours on {about.date.label}, so there's nothing there to cancel.")
        self.anything_else()
        return True

    def start_other_task(self, req: OtherRequest) -> None:
        """The other appointment's cancel or move, through the usual account flow (which asks which one when the
        words fit several, and reads back before anything changes)."""
        task = Task(kind=req.action, appointments=req.found)
        if len(req.found) == 1:
            task.appointment = req.found[0]
        if req.target is not None:
            task.date, task.time = req.target.date, req.target.time
            if task.date is not None and task.time is None:
                task.keep_time = True  # "move my alignment on the 14th to the 15th": same time that day
            if task.date is None and task.time is not None and task.appointment is not None:
                start = datetime.fromisoformat(task.appointment["start"])  # "move that one to 3": its own day
                task.date = nlu.DatePref(start.date(), start.date(), label=spoken_day(start))
        self.st.task = task
        self.advance_account_task()

    # --- a move asked for, however it is worded --------------------------------------------------------------
    def move_asked_instead(self, u: nlu.Understanding) -> bool:
        """ "I can't make it tomorrow, can we reschedule?", "cancel it. wait no, move it to Friday": other times
        for the reminded visit, never the cancel read-back. False when the line asks for no move."""
        if cancel_or_move(u.text) != "move":
            return False
        appt = self.st.task.appointment
        day = datetime.fromisoformat(appt["start"]).date()
        if u.date is not None and day in u.date.dates() and _CANT.search(nlu.normalize(u.text)):
            u = dataclasses.replace(u, date=None)  # "can't make it tomorrow": the day it is not to be
        self.start_reminder_reschedule(u)
        return True

    def cancel_said_with_goodbye(self, u: nlu.Understanding) -> bool:
        """ "Cancel it, I'll call back to reschedule": a cancel (read back first), not a goodbye nor a call-back."""
        if not calls_back_themselves(u.text) or cancel_or_move(u.text) != "cancel":
            return False
        return self.ask_reminder_cancel(u)
