"""A booking for a service the car already has coming up: say so before booking a second one ("You already have an
oil change for the Civic on Tuesday, May 12 at 9:00 AM. Do you want another one, or should I move that one?").
"""

from __future__ import annotations

import re

from calls.agent import nlu
from calls.agent.flows.host import FlowHost
from calls.agent.flows.state import Expect
from calls.agent.phrases import services_phrase

_MOVE_IT = re.compile(r"\b(move|moving|reschedule|change|switch|push|bump|instead|different (day|time))\b")
_KEEP = re.compile(r"\b(keep|leave) (it|that|the one|that one|mine|what i have)\b|\bforgot (about )?(it|that)\b")
_ONLY = re.compile(r"\b(just|only)\b")
_DROP = re.compile(r"\b(skip|forget|drop|leave out|not|without)\b")
_ANOTHER = re.compile(r"\b(another|new one|second one|a new|both|separate|one more|extra|additional|book (it|one))\b")


def already_booked(appts: list[dict], codes: list[str], vehicle: str) -> tuple[dict, list[str]] | None:
    """The soonest upcoming appointment with one of these services for this car (`vehicle`: its label, as the
    tools give it; a booking without a car on either side counts), and the names of the services it has in common;
    None when there is none."""
    for appt in appts:
        same = [name for code, name in zip(appt["service_codes"], appt["services"], strict=False) if code in codes]
        if same and (not vehicle or not appt.get("vehicle") or appt["vehicle"] == vehicle):
            return appt, same
    return None


class DuplicateBookingFlow(FlowHost):
    """The warning, once per booking, and the caller's answer to it."""

    def duplicate_warned(self) -> bool:
        """True when the booking stops here to ask whether they want a second one: for the first car's services,
        then for each other car's booked in the same call (flows.car_visits), one question at a time."""
        task = self.current_task()
        if task.kind != "book" or not task.service_codes:
            return False
        unchecked = [c for c in task.companions if not c.duplicate_checked]
        if task.duplicate_checked and not unchecked:
            return False
        outcome = self.ctx.outcome
        res = self.tool("get_upcoming_appointments")
        appts = (res.result or {}).get("appointments", [])
        if not task.duplicate_checked:
            task.duplicate_checked = True
            found = already_booked(appts, task.service_codes, task.vehicle_label)
            if found is not None:
                self.warn_duplicate(*found)
                return True
        for comp in unchecked:
            comp.duplicate_checked = True
            found = already_booked(appts, comp.service_codes, comp.vehicle_label)
            if found is not None:
                task.duplicate_companion = comp
                self.warn_duplicate(*found)
                return True
        self.ctx.outcome = outcome  # a check the caller never heard of: a call that stops here is abandoned
        return False

    def warn_duplicate(self, appt: dict, same: list[str]) -> None:
        task = self.current_task()
        task.duplicate_of, task.duplicate_asked_twice = appt, False
        self.ask(
            f"You already have {services_phrase(same)}{self.car_of(appt)} on {appt['label']}. Do you want another "
            "one, or should I move that one?",
            Expect.DUPLICATE,
            "slot_collection",
        )

    def car_of(self, appt: dict) -> str:
        """ " for the Civic": the car of the appointment, by its model (as the caller says it)."""
        vehicle = next(
            (v for v in (self.st.customer or {}).get("vehicles", []) if v["label"] == appt.get("vehicle")), None
        )
        return f" for the {vehicle.get('model') or vehicle['label']}" if vehicle is not None else ""

    def on_duplicate(self, u: nlu.Understanding) -> bool:
        task = self.current_task()
        if task.duplicate_companion is not None:
            return self.on_companion_duplicate(u)
        appt = task.duplicate_of or {}
        said = nlu.normalize(u.text)
        if _MOVE_IT.search(u.unnamed) or u.intent == "reschedule":  # "oil change" is no "change"
            # move the one they have: to the day they asked for, or we ask which
            task.kind, task.appointment, task.appointments = "reschedule", appt, None
            if u.has_when:
                self.merge_when(u)
            self.advance()
            return True
        keep = _KEEP.search(said)
        if self.moves_duplicate_to_a_day(u, said, keep=bool(keep)):
            return True
        if (_ANOTHER.search(said) and not keep) or (u.yes_no == "yes" and task.duplicate_asked_twice):
            if u.has_when:
                self.merge_when(u)
            self.advance()
            return True
        if u.yes_no == "yes" and not keep:
            # "that works" to an either-or question answers neither: ask once which they mean
            task.duplicate_asked_twice = True
            self.ask(
                f"Just to be sure: should I book a second {services_phrase(appt['services'], article=False)}, "
                f"or move the one on {appt['label']}?",
                Expect.DUPLICATE,
                "slot_collection",
            )
            return True
        if keep or u.yes_no == "no" or u.intent == "goodbye":
            self.say(
                f"Okay, your {services_phrase(appt['services'], article=False)} on {appt['label']} stays as it is."
            )
            self.anything_else()
            return True
        return False

    def moves_duplicate_to_a_day(self, u: nlu.Understanding, said: str, *, keep: bool) -> bool:
        """A day or time as the answer ("first thing tomorrow", "next Wednesday at 8"): the one they have, moved
        there. They were asked "another one, or move that one?"; a second booking would say "another"."""
        if not u.has_when or keep or _ANOTHER.search(said) or u.yes_no == "no":
            return False
        task = self.current_task()
        task.kind, task.appointment, task.appointments = "reschedule", task.duplicate_of or {}, None
        if u.date is not None:  # a new day: the day and hour of the booking first asked for are not it
            task.date = task.time = None
        self.merge_when(u)
        self.advance()
        return True

    def on_companion_duplicate(self, u: nlu.Understanding) -> bool:
        """The answer about another car's duplicate: move that appointment beside this call's visit, book a
        second one, or leave that car out of this booking (its appointment stays as it is)."""
        task = self.current_task()
        comp, appt = task.duplicate_companion, task.duplicate_of or {}
        said = nlu.normalize(u.text)
        vehicles = (self.st.customer or {}).get("vehicles", [])
        idx = nlu.pick_vehicle(u.kept or u.text, vehicles)
        named = vehicles[idx]["id"] if idx is not None else None
        # "just the Accord then", "skip the Highlander": that car is left out of this booking, its own one stays
        left_out = (named == task.vehicle_id and _ONLY.search(said)) or (
            named == comp.vehicle_id and _DROP.search(said)
        )
        keep = _KEEP.search(said) or left_out
        another = _ANOTHER.search(said) and not keep
        if not keep and not another and u.yes_no != "no" and (_MOVE_IT.search(u.unnamed) or u.has_when):
            comp.moving = appt  # that appointment, whole, goes beside the first car's time
            comp.service_codes, comp.service_names = list(appt["service_codes"]), list(appt["services"])
            self.say(
                f"Okay, I'll move that one to go with the {services_phrase(task.service_names, article=False)} for "
                f"your {task.vehicle_label}."
            )
        elif another or (u.yes_no == "yes" and task.duplicate_asked_twice):
            pass  # a second one, booked with the others
        elif u.yes_no == "yes" and not keep:
            task.duplicate_asked_twice = True
            self.ask(
                f"Just to be sure: should I book a second {services_phrase(appt['services'], article=False)}"
                f"{self.car_of(appt)}, or move the one on {appt['label']}?",
                Expect.DUPLICATE,
                "slot_collection",
            )
            return True
        elif keep or u.yes_no == "no":
            task.companions.remove(comp)
            self.say(
                f"Okay, your {services_phrase(appt['services'], article=False)}{self.car_of(appt)} on "
                f"{appt['label']} stays as it is."
            )
        else:
            return False
        task.duplicate_companion, task.duplicate_of = None, None
        if u.has_when:
            self.merge_when(u)
        self.advance()
        return True
