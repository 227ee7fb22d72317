"""One call, two cars: "an oil change on the Civic and a tire rotation on the Silverado", "both cars need an oil
change".

Each car gets its own appointment with its own services (nlu.services_by_car says which is for which; services
said beside two cars without saying which are asked about, never guessed). The first car's booking goes through
the usual questions; the other cars ride along (`Task.companions`): once a time is chosen for the first, each other
car gets the same time when it is free, else the next opening after it that day, else the closest. All of them are
read back together before anything is written, and the caller can change either one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.host import FlowHost
from calls.agent.phrases import join_words, services_phrase, spoken_time
from calls.agent.understanding.corrections import turned_down
from scheduling.wording import spoken_day

_ONLY = re.compile(r"\b(just|only)\b")
_SWAP = re.compile(
    r"\b(other way (a)?round|(switch|swap) (them|it|those|the two|that)( around)?|the reverse|backwards|"
    r"mixed (them |it |those )?up|(got|have) (them|it|those) (backwards|the wrong way))\b"
)
_EVERY_CAR = re.compile(r"\b(both|all|each|every)\b")
_DROP = re.compile(r"\b(skip|forget|drop|leave|never ?mind|not|without)\b")  # (a bare "no" drops nothing)


@dataclass
class Companion:
    """Another car's appointment booked in the same call as the task's own."""

    vehicle_id: int
    vehicle_label: str
    service_codes: list[str]
    service_names: list[str]
    slot: dict | None = None  # the opening read back for it
    pinned: bool = False  # the caller chose its time themselves: kept when the first car's time changes
    duplicate_checked: bool = False  # its services checked against what that car already has booked
    moving: dict | None = None  # that car's appointment for the same service, moved here instead of a second one


def _start(slot: dict) -> datetime:
    return datetime.fromisoformat(slot["start"])


class CarVisitsFlow(FlowHost):
    """The policy's part that books several of a caller's cars at once."""

    def split_by_car(self) -> bool:
        """Read the caller's lines for services meant for different cars; the first car becomes the task's own,
        the others its companions. True when the request was split."""
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if task.vehicle_id is not None or task.companions or len(vehicles) < 2:
            return False
        groups = next(
            (g for g in (nlu.services_by_car(t, vehicles) for t in reversed(task.vehicle_hints)) if g),
            None,
        )
        if not groups:
            return False
        placed = [g for g in groups if g.vehicle is not None]
        first = placed[0]
        task.vehicle_id, task.vehicle_label = vehicles[first.vehicle]["id"], vehicles[first.vehicle]["label"]
        self.set_services(task, list(first.codes), list(first.names))
        task.companions = [
            Companion(vehicles[g.vehicle]["id"], vehicles[g.vehicle]["label"], list(g.codes), list(g.names))
            for g in placed[1:]
        ]
        unplaced = next((g for g in groups if g.vehicle is None), None)
        task.unplaced = (list(unplaced.codes), list(unplaced.names)) if unplaced else None
        if task.unplaced is None:
            self.say(f"Sure: {self.visits_phrase()}.")
        return True

    def visits_phrase(self) -> str:
        """ "an oil change for your 2018 Honda Civic and a tire rotation for your 2020 Chevrolet Silverado"."""
        task = self.current_task()
        if all(c.service_codes == task.service_codes for c in task.companions):  # "both cars need an oil change"
            labels = [task.vehicle_label] + [c.vehicle_label for c in task.companions]
            return f"{services_phrase(task.service_names)} for your {join_words(labels, 'and your')}"
        parts = [f"{services_phrase(task.service_names)} for your {task.vehicle_label}"]
        parts += [f"{services_phrase(c.service_names)} for your {c.vehicle_label}" for c in task.companions]
        return join_words(parts)

    def ask_unplaced(self) -> bool:
        """Services said beside two cars without saying which: asked once, before anything else about them."""
        from calls.agent.flows.state import Expect

        task = self.current_task()
        if task.unplaced is None:
            return False
        labels = [task.vehicle_label] + [c.vehicle_label for c in task.companions]
        names = services_phrase(task.unplaced[1], article=False)
        self.ask(
            f"And the {names}: is that for your {join_words(labels, 'or your')}, or both?",
            Expect.VEHICLE_CHOICE,
            "slot_collection",
        )
        return True

    def place_unplaced(self, u: nlu.Understanding) -> bool:
        """The answer to "and the tire rotation: which car?"."""
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        codes, names = task.unplaced  # type: ignore[misc]
        if re.search(r"\b(both|all|each|every)\b", nlu.normalize(u.text)):
            targets = [v["id"] for v in vehicles]
        else:
            ids = [task.vehicle_id] + [c.vehicle_id for c in task.companions]  # in the order asked
            idx = nlu.pick_vehicle(u.kept or u.text, vehicles)
            if idx is not None:
                targets = [vehicles[idx]["id"]]
            elif (nth := nlu.parse_ordinal_choice(u.text, len(ids))) is not None:
                targets = [ids[nth]]  # "the first one"
            else:
                return False
        for vid in targets:
            self.add_services_for(vid, codes, names)
        task.unplaced = None
        self.say(f"Okay: {self.visits_phrase()}.")
        if u.has_when:
            self.take_when(u)
        self.advance()
        return True

    def add_services_for(self, vehicle_id: int, codes: list[str], names: list[str]) -> None:
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if task.vehicle_id == vehicle_id:
            self.set_services(task, task.service_codes + codes, task.service_names + names)
            return
        for comp in task.companions:
            if comp.vehicle_id == vehicle_id:
                new = [(c, n) for c, n in zip(codes, names, strict=True) if c not in comp.service_codes]
                comp.service_codes += [c for c, _ in new]
                comp.service_names += [n for _, n in new]
                return
        label = next(v["label"] for v in vehicles if v["id"] == vehicle_id)
        task.companions.append(Companion(vehicle_id, label, list(codes), list(names)))

    def both_cars(self, u: nlu.Understanding) -> bool:
        """ "Both" to "is this for your Jeep or your Tacoma?": the same services for every car."""
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if len(vehicles) < 2 or not re.search(
            r"\b(both|all of them|each of them|all my|every)\b", nlu.normalize(u.text)
        ):
            return False
        first, rest = vehicles[0], vehicles[1:]
        task.vehicle_id, task.vehicle_label = first["id"], first["label"]
        task.companions = [
            Companion(v["id"], v["label"], list(task.service_codes), list(task.service_names)) for v in rest
        ]
        self.say(f"Sure: {self.visits_phrase()}.")
        if u.has_when:
            self.take_when(u)
        self.advance()
        return True

    # --- the times ------------------------------------------------------------------------------------------
    def plan_companions(self) -> list[str]:
        """A slot for each other car, next to the one chosen for the first; what the caller should hear about any
        that could not have the same time."""
        task = self.current_task()
        notes = []
        for comp in task.companions:
            if comp.pinned and comp.slot is not None:
                continue
            comp.slot = self.slot_beside(comp, task.chosen, self.held_besides(comp))  # type: ignore[arg-type]
            if comp.slot is None:
                continue
            if comp.slot["start"] != task.chosen["start"]:  # type: ignore[index]
                what = services_phrase(comp.service_names, article=False)
                notes.append(
                    f"I can't fit the {what} for your {comp.vehicle_label} at the same time; "
                    f"the closest I have for it is {comp.slot['label']}."
                )
        return notes

    def held_besides(self, comp: Companion) -> list[dict]:
        """The other visits of this call, not booked yet, that take a bay beside this car's: the first car's, and
        the other cars' already placed."""
        task = self.current_task()
        held = [{"start": task.chosen["start"], "services": task.service_codes}] if task.chosen else []
        held += [
            {"start": c.slot["start"], "services": c.service_codes}
            for c in task.companions
            if c is not comp and c.slot is not None
        ]
        return held

    def slot_beside(self, comp: Companion, chosen: dict, held: list[dict]) -> dict | None:
        """The same start as `chosen` when free for this car (with the call's other visits holding their bays);
        else the next opening after it that day; else the closest one."""
        start = _start(chosen)
        args = {
            "services": comp.service_codes,
            "dates": [chosen["date"]],
            "time_preference": chosen["time"],
            "vehicle_id": comp.vehicle_id,
            "limit": 8,
            "alongside": held,
        }
        if comp.moving is not None:
            args["exclude_appointment_id"] = comp.moving["id"]
        res = self.tool("get_available_slots", **args)
        slots = ((res.result or {}).get("slots") or []) if res.ok else []
        if not slots:
            return None
        same = next((s for s in slots if s["start"] == chosen["start"]), None)
        later = sorted((s for s in slots if s["date"] == chosen["date"] and _start(s) > start), key=_start)
        return same or (later[0] if later else min(slots, key=lambda s: abs((_start(s) - start).total_seconds())))

    def confirm_visits(self) -> None:
        from calls.agent.flows.state import Expect

        task = self.current_task()
        for note in self.plan_companions():
            self.say(note)
        missing = [c for c in task.companions if c.slot is None]
        if missing:  # nothing for that car in the days searched: the first car alone, said so
            for comp in missing:
                what = services_phrase(comp.service_names, article=False)
                self.say(f"I don't have an opening for the {what} for your {comp.vehicle_label} near then.")
            task.companions = [c for c in task.companions if c.slot is not None]
        if not task.companions:
            self.confirm_prompt()
            return
        first = f"{services_phrase(task.service_names)} for your {task.vehicle_label}"
        if all(c.slot["start"] == task.chosen["start"] and c.moving is None for c in task.companions):  # type: ignore[index]
            said = f"{self.visits_phrase()}, {'both' if len(task.companions) == 1 else 'all'} on {task.chosen['label']}"  # type: ignore[index]
        else:
            said = join_words(
                [f"{first} on {task.chosen['label']}"] + [self.companion_phrase(c) for c in task.companions]  # type: ignore[index]
            )
        if any(c.moving is not None for c in task.companions):
            question = "Shall I go ahead?"  # a booking and a move: "book both" would not say it
        else:
            question = f"Shall I book {'both' if len(task.companions) == 1 else 'them'}?"
        self.ask(f"So that's {said}. {question}", Expect.CONFIRM, "confirmation")

    @staticmethod
    def companion_phrase(comp: Companion) -> str:
        """ "a tire rotation for your 2011 Toyota Tacoma on ...", or for the car's own appointment moved beside:
        "your oil change for your 2018 Toyota Highlander moved from ... to ..."."""
        if comp.moving is not None:
            what = services_phrase(comp.service_names, article=False)
            return (
                f"your {what} for your {comp.vehicle_label} moved from {comp.moving['label']} to {comp.slot['label']}"  # type: ignore[index]
            )
        return f"{services_phrase(comp.service_names)} for your {comp.vehicle_label} on {comp.slot['label']}"  # type: ignore[index]

    def named_companion(self, u: nlu.Understanding) -> Companion | None:
        """The other car the caller's line is about: its car named, or a service only it has."""
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        idx = nlu.pick_vehicle(u.text, vehicles)
        if idx is not None:
            return next((c for c in task.companions if c.vehicle_id == vehicles[idx]["id"]), None)
        codes = {s.code for s in u.services}
        if codes and not codes & set(task.service_codes):
            return next((c for c in task.companions if codes & set(c.service_codes)), None)
        return None

    def on_visits_confirm(self, u: nlu.Understanding) -> bool | None:
        """The read-back of several cars' bookings: changes to another car's booking are taken here; None leaves
        the line to the usual read-back handling (a yes, a no, a change to the first car's, which re-plans the
        others beside it)."""
        task = self.current_task()
        if self.move_services_to_car(u):  # "no, the tire rotation is for the Jeep"
            return True
        said = nlu.normalize(u.text)
        comp = self.named_companion(u)
        vehicles = (self.st.customer or {}).get("vehicles", [])
        idx = nlu.pick_vehicle(u.text, vehicles)
        own = idx is not None and vehicles[idx]["id"] == task.vehicle_id
        if own and _ONLY.search(said) and not u.has_when:  # "just the Civic"
            task.companions = []
            self.confirm_prompt()
            return True
        if comp is not None and _DROP.search(said) and not u.has_when and u.relative is None:  # "skip the truck"
            task.companions.remove(comp)
            self.confirm_prompt()
            return True
        if comp is not None and u.has_when:  # "the Silverado at 10 instead"
            self.move_companion(comp, u)
            return True
        if comp is not None:
            # "yes, and the Silverado too": never read as moving the first car's booking onto that one
            if u.yes_no == "yes" and not u.has_when and not self.prompt_cut:
                self.execute()
            else:
                self.confirm_prompt()
            return True
        return None  # the first car's time or a plain yes / no: the usual read-back handling

    def move_services_to_car(self, u: nlu.Understanding) -> bool:
        """Which service is for which car, corrected at the read-back: "the tire rotation is for the Jeep" (moved
        there; kept on the other one too when said with "also" or "both"), "the Jeep gets the tire rotation, the
        Sonata the oil change", "it's the other way around". A car left with nothing is dropped, and what changed
        is checked again at the time chosen (or the one said with it). False when the line moves no service."""
        task = self.current_task()
        vehicles = (self.st.customer or {}).get("vehicles", [])
        cars: list = [task, *task.companions]  # each with vehicle_id, service_codes, service_names
        by_id = {c.vehicle_id: c for c in cars}
        before = {id(c): list(c.service_codes) for c in cars}
        said = nlu.normalize(u.text)
        pairs = nlu.services_by_car(u.kept or u.text, vehicles) if u.services else None  # ("not the Tacoma": out)
        placed = [g for g in pairs or [] if g.vehicle is not None and vehicles[g.vehicle]["id"] in by_id]
        if len(cars) == 2 and _SWAP.search(said) and not u.services:  # "it's the other way around"
            first, other = cars
            first.service_codes, other.service_codes = other.service_codes, first.service_codes
            first.service_names, other.service_names = other.service_names, first.service_names
        elif u.services and _EVERY_CAR.search(said) and nlu.pick_vehicle(u.text, vehicles) is None:
            for car in cars:  # "both need the tire rotation": added to each, nothing taken off
                self.add_to_car(car, [(s.code, s.name) for s in u.services])
        elif len(placed) >= 2:  # "the Jeep gets the tire rotation, the Sonata the oil change": as said, car by car
            for g in placed:
                car = by_id[vehicles[g.vehicle]["id"]]
                car.service_codes, car.service_names = list(g.codes), list(g.names)
        elif not self.give_to_named_car(u, cars, vehicles):
            return False
        if all(before[id(c)] == c.service_codes for c in cars):
            return False
        changed = {id(c) for c in cars if before[id(c)] != c.service_codes}
        task.companions = [c for c in task.companions if c.service_codes]
        if not task.service_codes:  # the first car has nothing left: the next one is the booking's own
            first = task.companions.pop(0)
            task.vehicle_id, task.vehicle_label = first.vehicle_id, first.vehicle_label
            task.service_codes, task.service_names = first.service_codes, first.service_names
            changed.add(id(task))
        for comp in task.companions:
            if id(comp) in changed:  # a longer visit may no longer fit where it was: planned again
                comp.slot, comp.pinned = None, False
        if id(task) not in changed and not u.has_when:
            self.confirm_visits()
            return True
        # the time picked stays the one wanted: searched again for what it now holds
        start = _start(task.chosen)  # type: ignore[arg-type]
        task.date = nlu.DatePref(start.date(), start.date(), label=task.chosen["day_label"])  # type: ignore[index]
        task.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=task.chosen["time_label"])  # type: ignore[index]
        if u.has_when:  # "... and make it 9"
            self.take_when(u)
        task.chosen, task.offers = None, []
        self.search_and_offer()
        return True

    def give_to_named_car(self, u: nlu.Understanding, cars: list, vehicles: list[dict]) -> bool:
        """ "The tire rotation is for the Jeep": those services go to that car, off the other ones ("also": kept
        there too). "The Sonata needs the oil change, not the tire rotation": the one turned down leaves it."""
        idx = nlu.pick_vehicle(u.kept or u.text, vehicles) if u.services else None
        to = next((c for c in cars if idx is not None and c.vehicle_id == vehicles[idx]["id"]), None)
        if to is None:
            return False
        moving = [(s.code, s.name) for s in u.services if s.code not in to.service_codes]
        turned = turned_down(u.text).dropped
        dropped = {s.code for s in nlu.understand(" ".join(turned), self.now).services} if turned else set()
        dropped -= {s.code for s in u.services}
        if not moving and not dropped & set(to.service_codes):
            return False
        if dropped:  # "..., not the tire rotation": a replacement on that car, nothing taken off the others
            keep = [(c, n) for c, n in zip(to.service_codes, to.service_names, strict=True) if c not in dropped]
            to.service_codes, to.service_names = [c for c, _ in keep], [n for _, n in keep]
        elif not u.adding:
            for car in cars:
                if car is not to:
                    keep = [
                        (c, n)
                        for c, n in zip(car.service_codes, car.service_names, strict=True)
                        if c not in dict(moving)
                    ]
                    car.service_codes, car.service_names = [c for c, _ in keep], [n for _, n in keep]
        self.add_to_car(to, moving)
        return True

    @staticmethod
    def add_to_car(car, services: list[tuple[str, str]]) -> None:
        new = [(c, n) for c, n in services if c not in car.service_codes]
        car.service_codes = car.service_codes + [c for c, _ in new]
        car.service_names = car.service_names + [n for _, n in new]

    def move_companion(self, comp: Companion, u: nlu.Understanding) -> None:
        task = self.current_task()
        base = comp.slot or task.chosen
        day = self.date_in_discussion(u.date).dates() if u.date is not None else [_start(base).date()]  # type: ignore[arg-type]
        args = {
            "services": comp.service_codes,
            "dates": [d.isoformat() for d in day],
            "vehicle_id": comp.vehicle_id,
            "limit": 5,
            "alongside": self.held_besides(comp),
        }
        if comp.moving is not None:
            args["exclude_appointment_id"] = comp.moving["id"]
        if u.time is not None and u.time.to_param():
            args["time_preference"] = u.time.to_param()
        else:
            args["time_preference"] = f"{_start(base):%H:%M}"  # type: ignore[arg-type]
        res = self.tool("get_available_slots", **args)
        slots = ((res.result or {}).get("slots") or []) if res.ok else []
        if slots:
            wanted = u.time.exact if u.time is not None else None
            hit = next((s for s in slots if wanted is not None and s["time"] == f"{wanted:%H:%M}"), None)
            if wanted is not None and hit is None:
                what = services_phrase(comp.service_names, article=False)
                self.say(f"Sorry, that time isn't free for the {what}; the closest I have is {slots[0]['label']}.")
            comp.slot, comp.pinned = hit or slots[0], True
        else:
            self.say("Sorry, I don't have anything then for that one.")
        self.confirm_prompt()

    def book_other_cars_beside(self, moved: dict) -> None:
        """The first car's visit became a move of the one it already had (flows.duplicates): the other cars are
        booked next, at that visit's time when it is free."""
        from calls.agent.flows.state import Task

        task = self.current_task()
        first, rest = task.companions[0], task.companions[1:]
        task.companions = []
        start = _start(moved)
        new = Task(kind="book", vehicle_id=first.vehicle_id, vehicle_label=first.vehicle_label, companions=rest)
        self.set_services(new, first.service_codes, first.service_names)
        new.date = nlu.DatePref(start.date(), start.date(), label=f"on {spoken_day(start)}")
        new.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=f"at {spoken_time(start)}")
        self.st.task = new
        self.say(f"Now the {services_phrase(first.service_names, article=False)} for your {first.vehicle_label}.")
        self.advance()

    def book_companions(self, first: dict) -> None:
        """After the first car's booking: the others', then one sentence for all of them."""
        st, task = self.st, self.current_task()
        booked, moved, failed = [first], [], []
        for comp in task.companions:
            if comp.moving is not None:  # that car's own appointment, moved beside instead of a second one
                res = self.tool(
                    "reschedule_appointment", appointment_id=comp.moving["id"], new_start=comp.slot["start"]
                )
                (moved.append((comp, res.result["appointment"])) if res.ok else failed.append(comp))  # type: ignore[index]
                continue
            res = self.tool(
                "book_appointment", services=comp.service_codes, start=comp.slot["start"], vehicle_id=comp.vehicle_id
            )
            (booked.append(res.result["appointment"]) if res.ok else failed.append(comp))  # type: ignore[index]
        st.last_booked = booked[-1]
        items = [f"{services_phrase(a['services'])} for your {a.get('vehicle') or 'car'}" for a in booked]
        if not failed and not moved and len({a["start"] for a in booked}) == 1:
            said = f"{self.visits_phrase()}, {'both' if len(booked) == 2 else 'all'} on {booked[0]['label']}"
        else:
            said = join_words(
                [f"{item} on {a['label']}" for item, a in zip(items, booked, strict=True)]
                + [
                    f"your {services_phrase(a['services'], article=False)} for your {c.vehicle_label} is now on "
                    f"{a['label']}"
                    for c, a in moved
                ]
            )
        self.say(f"You're all set: {said}. We'll see you then.")
        if not failed:
            self.anything_else()
            return
        # taken in the meantime: that car alone, with the openings nearest to the time it was to have
        comp = failed[0]
        what = services_phrase(comp.service_names, article=False)
        self.say(f"Sorry, the time for the {what} for your {comp.vehicle_label} was just taken.")
        start = _start(comp.slot)
        task.companions = []
        task.vehicle_id, task.vehicle_label = comp.vehicle_id, comp.vehicle_label
        self.set_services(task, comp.service_codes, comp.service_names)
        if comp.moving is not None:  # its own appointment was to move: that one, still where it was
            task.kind, task.appointment = "reschedule", comp.moving
        task.date = nlu.DatePref(start.date(), start.date(), label=f"on {comp.slot['day_label']}")
        task.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=f"at {comp.slot['time_label']}")
        task.chosen, task.offers = None, []
        self.search_and_offer()
