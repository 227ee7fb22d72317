"""A request placed against a visit the caller already has: "add a tire rotation to my appointment on Thursday",
"while my car is in on Wednesday, could you also do the wipers", "an oil change on the Silverado, same day as the
inspection on my Outback".

The visit is found from the words that describe it (understanding.anchors): its day, time, services and car. For
that visit's own car the services go onto it (read back, then add_services_to_appointment); for another car the
request is a booking on that visit's day (at its time, for "same time as"), through the usual booking flow. The
car is never taken from the description: "the inspection on my Outback" books nothing for the Outback.
"""

from __future__ import annotations

from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.choosing import _on_day
from calls.agent.flows.host import FlowHost
from calls.agent.flows.state import Expect
from calls.agent.phrases import (
    addition_read_back,
    already_on_visit,
    beside_visit_sentence,
    services_phrase,
    spoken_day,
    spoken_time,
)
from calls.agent.understanding.anchors import VisitAnchor

_NO_SERVICE_WORDS = frozenset({"appointment", "booking", "visit", "there", "thing", "service", "coming"})


def anchored_visits(appts: list[dict], anchor: VisitAnchor, vehicles: list[dict], now: datetime) -> list[int]:
    """The appointments (indexes) the description fits: by day, time, service and car. Every one when the
    description names none of them ("my appointment")."""
    heard = nlu.understand(anchor.described, now)
    found = list(range(len(appts)))
    if heard.date is not None:
        found = _on_day(appts, found, heard.date)
    if heard.time is not None:
        found = [i for i in found if heard.time.contains(datetime.fromisoformat(appts[i]["start"]).time())]
    if heard.services:
        codes = {s.code for s in heard.services}
        words = {w for s in heard.services for w in nlu.normalize(s.name).split() if len(w) >= 4}
        by_code = [i for i in found if codes & set(appts[i]["service_codes"])]
        alike = [i for i in found if words & {w for n in appts[i]["services"] for w in nlu.normalize(n).split()}]
        found = by_code or alike
    else:
        # "the inspection": a word of the visit's own service names, when it names no service of ours on its own
        said = {w for w in nlu.normalize(anchor.described).split() if len(w) >= 5} - _NO_SERVICE_WORDS
        alike = [i for i in found if said & {w for n in appts[i]["services"] for w in nlu.normalize(n).split()}]
        found = alike or found
    car = nlu.pick_vehicle(anchor.described, vehicles) if len(vehicles) > 1 else None
    if car is not None:
        found = [i for i in found if appts[i].get("vehicle_id") == vehicles[car]["id"]]
    return found


class VisitAdditionFlow(FlowHost):
    """The policy's part that puts a request on (or beside) a visit the caller has."""

    def advance_addition(self, appts: list[dict]) -> None:
        """Task kind "add": which visit, then onto it (its car) or beside it (another car)."""
        st, task = self.st, self.current_task()
        if not task.service_codes:
            self.ask("Sure. What would you like to add?", Expect.SERVICE, "slot_collection")
            return
        vehicles = (st.customer or {}).get("vehicles", [])
        if task.appointment is None:
            anchor = task.anchor
            found = anchored_visits(appts, anchor, vehicles, self.now) if anchor is not None else []
            if not found:
                self.say("I don't see an appointment like that.")
                if anchor is not None and anchor.same != "visit":
                    self.book_instead()  # "same day as my inspection" with no such visit: the usual booking
                    return
            if len(found) == 1 or len(appts) == 1:
                task.appointment = appts[found[0]] if found else appts[0]
            else:
                listed = [appts[i] for i in found] or appts
                which = "Which one should I add it to?" if anchor is None or anchor.same == "visit" else "Which one?"
                self.ask(f"{self.appointments_list(listed)} {which}", Expect.APPOINTMENT_CHOICE, "slot_collection")
                return
        appt = task.appointment
        car = self.car_asked_for(vehicles)
        if car is not None and car["id"] != appt.get("vehicle_id"):
            self.book_beside(appt, car)
            return
        task.to_add = [c for c in task.service_codes if c not in appt["service_codes"]]
        if not task.to_add:
            self.say(already_on_visit(appt))
            self.anything_else()
            return
        names = [n for c, n in zip(task.service_codes, task.service_names, strict=False) if c in task.to_add]
        self.ask(addition_read_back(names or task.to_add, appt), Expect.CONFIRM, "confirmation")

    def car_asked_for(self, vehicles: list[dict]) -> dict | None:
        """The car the request itself names ("an oil change on the Silverado"), not the visit's description."""
        if len(vehicles) < 2:
            return None
        hints = self.current_task().vehicle_hints
        picked = next((i for i in (nlu.pick_vehicle(t, vehicles) for t in reversed(hints)) if i is not None), None)
        return vehicles[picked] if picked is not None else None

    def book_beside(self, appt: dict, car: dict) -> None:
        """Another car on that visit's day (and time, for "same time as"): a booking of its own."""
        task = self.current_task()
        start = datetime.fromisoformat(appt["start"])
        same_time = task.anchor is not None and task.anchor.same == "time"
        task.kind, task.appointment, task.appointments, task.anchor = "book", None, None, None
        task.vehicle_id, task.vehicle_label = car["id"], car["label"]
        task.date = nlu.DatePref(start.date(), start.date(), label=spoken_day(start))
        if same_time:
            task.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=spoken_time(start))
        self.say(beside_visit_sentence(appt))
        self.advance()

    def book_instead(self) -> None:
        """No such visit: the services asked for, booked the usual way."""
        task = self.current_task()
        task.kind, task.appointment, task.appointments, task.anchor = "book", None, None, None
        self.advance()

    def on_addition_confirm(self, u: nlu.Understanding) -> bool:
        st, task = self.st, self.current_task()
        appt = task.appointment
        if u.yes_no == "no" and not u.has_when:
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        if u.yes_no != "yes" or appt is None:
            return False
        res = self.tool("add_services_to_appointment", appointment_id=appt["id"], services=task.to_add)
        if not res.ok or res.result is None:
            self.say(f"Sorry, I can't add that. {res.error}")
            st.offered_services = list(task.to_add)
            st.task = None
            self.ask("Would you like me to book it as a separate visit?", Expect.OFFER_BOOK, "intent")
            return True
        done = res.result["appointment"]
        self.say(f"Done. Your visit on {done['label']} now includes {services_phrase(done['services'])}.")
        self.anything_else()
        return True
