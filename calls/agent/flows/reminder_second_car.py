"""The other car on the account, the same day as the reminded visit (issue 9): "can you do my wife's Civic too while
it's there?".

A car on the customer's account: an opening for it that day, next to the reminded visit when one is free, read back
and booked on the caller's yes; the reminded visit itself is never touched. "My other car" with several on file: which
one is asked. A car that is not on the account, or no other car at all: noted for a service advisor, who calls back
to set it up (the caller is told so); a car is never invented on the account from a passing mention.

The services are the ones named for it ("an oil change on my other car too"), else the reminded visit's own ("do
the Civic too": the same work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calls.agent import nlu
from calls.agent.flows.common import vehicle_name, vehicle_names
from calls.agent.flows.reminder_host import ReminderHost
from calls.agent.flows.state import Expect
from calls.agent.flows.vehicles import cars_mentioned
from calls.agent.phrases import join_words, services_phrase
from calls.agent.reminder_script import CAN_YOU_MAKE_IT, when_phrase
from calls.agent.understanding.services import find_services

# "too", "as well", "while it's there", "the other car", "both": another car besides the one the visit is for.
_ALSO = re.compile(
    r"\b(too|also|as well|while (its|it is|youre|you are|you have it|it s) (there|in)|other (car|vehicle|truck|one)|"
    r"second (car|vehicle|truck)|another (car|vehicle|truck)|both( cars)?)\b"
)
# A car named without a make or model: "my other car", "my wife's car", "the truck".
_SOME_CAR = re.compile(
    r"\b((other|second|another) (car|vehicle|truck|suv|van|one)|(wife|husband|son|daughter|partner|mom|dad|"
    r"girlfriend|boyfriend|sister|brother|kid)s (car|vehicle|truck|suv|van))\b"
)
# A line that cancels or moves something is read the usual way ("cancel the one for my other car too").
_CHANGES = re.compile(r"\b(cancel|move|reschedule|push|postpone|bump|instead of|rather than)\b")


@dataclass
class SecondCarAsk:
    """What the caller asked for another car (structured, never a sentence)."""

    vehicle: dict[str, Any] | None  # one of their cars on file
    choices: list[dict[str, Any]]  # "my other car" when several fit: which one is asked
    unknown: str  # the car they named that is not on file ("2016 Honda Civic"), or "another car" with none on file
    service_codes: list[str]
    service_names: list[str]


@dataclass
class SecondVisit:
    """The other car's visit while it is being arranged: its car, services, and the opening read back."""

    vehicle: dict[str, Any] | None
    service_codes: list[str]
    service_names: list[str]
    choices: list[dict[str, Any]] = field(default_factory=list)
    offer: dict[str, Any] | None = None


def second_car_asked(
    text: str, vehicles: list[dict[str, Any]], reminded_vehicle_id: int | None, now: datetime
) -> SecondCarAsk | None:
    """Another car the caller wants seen to besides the reminded visit's, or None when the line asks for none."""
    said = nlu.normalize(text)
    if not _ALSO.search(said) or _CHANGES.search(said):
        return None
    others = [v for v in vehicles if v["id"] != reminded_vehicle_id]
    named = nlu.pick_vehicle(said, vehicles)
    mentioned = [car for car in cars_mentioned(text, now) if car.model or car.make]
    if named is not None and vehicles[named]["id"] == reminded_vehicle_id and not _SOME_CAR.search(said):
        return None  # "yes, and the Camry too" when the visit is the Camry's: nothing about another car
    codes: list[str] = []
    names: list[str] = []
    for match in find_services(text):
        code, name = str(getattr(match.service, "code", "")), str(getattr(match.service, "name", ""))
        if code and code not in codes:
            codes.append(code)
            names.append(name)
    if named is not None and vehicles[named]["id"] != reminded_vehicle_id:
        return SecondCarAsk(vehicles[named], [], "", codes, names)
    if mentioned:
        # a make or model that is none of theirs: "my wife's Civic" when no Civic is on file
        return SecondCarAsk(None, [], mentioned[0].label, codes, names)
    if not _SOME_CAR.search(said):
        return None
    if len(others) == 1:
        return SecondCarAsk(others[0], [], "", codes, names)
    if others:
        return SecondCarAsk(None, others, "", codes, names)
    return SecondCarAsk(None, [], "another car", codes, names)


class ReminderSecondCarFlow(ReminderHost):
    """The reminder flow's part that books the customer's other car the same day."""

    def second_car_said(self, u: nlu.Understanding, *, yes: bool) -> bool:
        """ "Can you do my wife's Civic too while it's there?": arranged here (True), or nothing of the kind (False).
        A yes in the same line confirms the reminded visit first."""
        task = self.st.task
        appt: dict[str, Any] = task.appointment
        if self.st.customer is None and self.ctx.customer_id is not None:
            self.load_customer()
        vehicles: list[dict[str, Any]] = list((self.st.customer or {}).get("vehicles", []))
        ask = second_car_asked(u.text, vehicles, appt.get("vehicle_id"), self.now)
        if ask is None:
            return False
        if yes and appt.get("status") != "confirmed":
            self.confirm_reminder(goodbye=False)
            if self.st.task is None:
                return True  # the confirmation failed and was answered
        codes = ask.service_codes or list(appt["service_codes"])
        names = ask.service_names or list(appt["services"])
        if ask.vehicle is None and not ask.choices:
            return self.note_other_car(ask.unknown, codes, names)
        task.second_visit = SecondVisit(ask.vehicle, codes, names, choices=ask.choices)
        if ask.vehicle is None:
            options = join_words([f"the {name}" for name in vehicle_names(ask.choices)], "or")
            self.ask(f"Sure. Which car is it: {options}?", Expect.REMINDER_SECOND_CAR, "slot_collection")
            return True
        return self.offer_second_visit(nlu.TimePref())

    def on_reminder_second_car(self, u: nlu.Understanding) -> bool:
        """The answer to "which car is it?"."""
        visit = self._visit()
        if visit is None:
            return False
        idx = nlu.pick_vehicle(u.text, visit.choices)
        if idx is None:
            if u.yes_no == "no" or re.search(r"\b(never ?mind|forget it|neither)\b", nlu.normalize(u.text)):
                return self.after_second_visit("Okay, never mind the other car.")
            return False
        visit.vehicle, visit.choices = visit.choices[idx], []
        return self.offer_second_visit(u.time or nlu.TimePref())

    def on_reminder_second_visit(self, u: nlu.Understanding) -> bool:
        """The answer to "shall I book that?": yes books it, another time that day is looked for, no leaves it."""
        visit = self._visit()
        if visit is None or visit.offer is None or visit.vehicle is None:
            return False
        if u.time is not None and u.yes_no != "yes":
            return self.offer_second_visit(u.time)  # "can it be at 2 instead?": that day, that time
        if u.yes_no == "no":
            return self.after_second_visit(f"Okay, I won't book the {vehicle_name(visit.vehicle)}.")
        if u.yes_no != "yes":
            return False
        reminded = self.st.task.appointment
        res = self.tool(
            "book_appointment",
            services=visit.service_codes,
            start=visit.offer["start"],
            vehicle_id=visit.vehicle["id"],
            notes=f"Booked on the reminder call of appointment #{reminded['id']}, for the same day.",
        )
        if not res.ok:
            return self.note_other_car(visit.vehicle["label"], visit.service_codes, visit.service_names, failed=True)
        booked = res.result["appointment"]
        return self.after_second_visit(
            f"Done, your {vehicle_name(visit.vehicle)} is booked for "
            f"{services_phrase(booked['services'])} {when_phrase(booked['start'], self.now)}."
        )

    # --- steps ---------------------------------------------------------------------------------------------------
    def offer_second_visit(self, at: nlu.TimePref) -> bool:
        """An opening that day for the other car: the time asked for, else next to the reminded visit."""
        visit = self._visit()
        if visit is None or visit.vehicle is None:
            return False
        reminded: dict[str, Any] = self.st.task.appointment
        start, end = datetime.fromisoformat(reminded["start"]), datetime.fromisoformat(reminded["end"])
        asked = at.exact or at.start or at.end or at.earliest or at.latest
        # the time asked for, else right after the reminded visit (nearest first: next to it when it is free)
        pref = at.to_param() if asked else f"{end:%H:%M}"
        res = self.tool(
            "get_available_slots",
            services=visit.service_codes,
            date_from=start.date().isoformat(),
            time_preference=pref,
            vehicle_id=visit.vehicle["id"],
            limit=3,
        )
        slots = res.result["slots"] if res.ok and res.result else []
        car = vehicle_name(visit.vehicle)
        if not slots:
            return self.note_other_car(visit.vehicle["label"], visit.service_codes, visit.service_names, full=True)
        visit.offer = slots[0]
        begins = datetime.fromisoformat(slots[0]["start"])
        beside = ""
        if begins == end:
            beside = f", right after the {self._reminded_car_name()}"
        elif begins == start:
            beside = f", at the same time as the {self._reminded_car_name()}"
        self.ask(
            f"I can do {services_phrase(visit.service_names)} on your {car} "
            f"{when_phrase(slots[0]['start'], self.now)}{beside}. Shall I book that?",
            Expect.REMINDER_SECOND_VISIT,
            "confirmation",
        )
        return True

    def note_other_car(
        self, car: str, codes: list[str], names: list[str], *, full: bool = False, failed: bool = False
    ) -> bool:
        """What this call cannot book: a note and a call-back from a service advisor, said as such."""
        what = services_phrase(names, article=False) or "service"
        self.tool("request_call_back", when=f"to book {car} the same day: {what}"[:80])
        day = when_phrase(self.st.task.appointment["start"], self.now).split(" at ")[0]
        if full:
            first = f"I'm sorry, there's no opening for the {car} {day}."
        elif failed:
            first = "Sorry, I couldn't book that time after all."
        elif car == "another car":
            first = "I don't see another car on your account."
        else:
            first = f"I don't see {_a(car)} on your account."
        return self.after_second_visit(
            f"{first} I've made a note, and a service advisor will call you back to set it up."
        )

    def after_second_visit(self, sentence: str) -> bool:
        """Back to the reminded visit: done when it is confirmed, else its question again."""
        task = self.st.task
        task.second_visit = None
        self.say(sentence)
        if task.appointment.get("status") == "confirmed":
            self.anything_else()
        else:
            self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")
        return True

    def _visit(self) -> SecondVisit | None:
        task = self.st.task
        visit = getattr(task, "second_visit", None) if task is not None else None
        return visit if isinstance(visit, SecondVisit) else None

    def _reminded_car_name(self) -> str:
        reminded: dict[str, Any] = self.st.task.appointment
        vehicles: list[dict[str, Any]] = list((self.st.customer or {}).get("vehicles", []))
        mine = next((v for v in vehicles if v["id"] == reminded.get("vehicle_id")), None)
        return vehicle_name(mine) if mine is not None else "first car"


def _a(words: str) -> str:
    """ "a Civic", "an Accord", "a 2016 Honda Civic" (an "an 8..." year reads "an eighteen": none here before 2080)."""
    return f"{'an' if words[:1].lower() in 'aeio' else 'a'} {words}"
