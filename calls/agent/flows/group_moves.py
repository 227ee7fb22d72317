"""Moving several appointments together by the same amount: "reschedule both to the following week, same days and
times", "push all my appointments back a week".

A person at the desk moves each one by that amount, keeping its own time; checks each new slot; reads them all back
in one sentence; then moves them all. A slot that is not free is named, with the closest opening for that
appointment in its place, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from calls.agent import nlu
from calls.agent.flows.host import FlowHost
from calls.agent.phrases import join_words, services_phrase, spoken_time
from calls.agent.understanding.relative import RelativeMove
from scheduling.availability import shop_tz
from scheduling.wording import spoken_day


@dataclass
class GroupMove:
    """One appointment of a group move: where the caller's words put it, and the slot offered for it."""

    appointment: dict
    wanted: datetime  # the appointment's start moved by the amount said
    slot: dict  # the opening read back for it (the wanted one when free, else the closest)

    @property
    def exact(self) -> bool:
        return self.slot["start"][:16] == self.wanted.isoformat()[:16]


def _start(appt: dict) -> datetime:
    """In the shop's zone, so that moving it by days keeps its wall-clock hour across a clock change."""
    return datetime.fromisoformat(appt["start"]).astimezone(shop_tz())


def group_targets(
    appts: list[dict], move: RelativeMove | None, day: nlu.DatePref | None, at: nlu.TimePref | None, keep_time: bool
) -> list[datetime] | None:
    """Where each appointment goes when they are moved together, keeping each one's own time; None when the words
    do not say one move for all of them (a time for all of them, an "earlier that day", nothing at all).

    - a shift ("a week later", "back two days", "the following week"): each start moved by that amount;
    - a day said with "same times" (or nothing about the time): each to that day at its own hour;
    - a day and a time ("both to Friday at 10"): all of them there (closest_slot keeps apart what can't share it);
    - a span said with "same days and times" ("next week, same days"): each to its own weekday in that span."""
    if not appts:
        return None
    if move is not None and move.window:
        return None  # "earlier that day": no single amount
    if move is not None and (move.days or move.minutes):
        if at is not None and at.exact is None and not move.minutes:
            return None  # "a week later, in the mornings": a window per appointment is one move at a time
        shift = timedelta(days=move.days, minutes=move.minutes)
        return [_start(a) + shift for a in appts]
    same_time = keep_time or (move is not None and move.same_time)
    if day is not None and day.single_day is not None and at is not None and at.exact is not None and not same_time:
        return [datetime.combine(day.single_day, at.exact, shop_tz()) for _ in appts]
    if day is None or (at is not None and not same_time):
        return None
    if day.single_day is not None:
        return [datetime.combine(day.single_day, _start(a).timetz()) for a in appts]
    if not same_time or (day.end - day.start).days < 6:
        return None
    out = []
    for a in appts:
        start = _start(a)
        found = next(
            (d for d in _days(day.start, day.end) if d.weekday() == start.weekday() and d != start.date()), None
        )
        if found is None:
            return None
        out.append(datetime.combine(found, start.timetz()))
    return out


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class GroupMoveFlow(FlowHost):
    """The policy's part that moves several appointments with one read-back."""

    def plan_group_move(self) -> bool:
        """Check each appointment's new slot and read them back together. False when the caller's words say no
        single move for all of them (then they are moved one at a time)."""
        task = self.current_task()
        appts = task.several or []
        targets = group_targets(appts, task.relative, task.date, task.time, task.keep_time)
        if targets is None or len(appts) < 2:
            return False
        plan: list[GroupMove] = []
        for appt, wanted in zip(appts, targets, strict=True):
            slot = self.closest_slot(appt, wanted, plan)
            if slot is None:
                return False  # nothing anywhere near: one at a time, with the usual questions
            plan.append(GroupMove(appt, wanted, slot))
        task.relative = None
        task.group = plan
        self.say_not_there(plan)
        self.confirm_group_move()
        return True

    def say_not_there(self, plan: list[GroupMove]) -> None:
        """Each appointment that can't go where the caller's words put it, with the closest opening it has instead; a
        day already gone is said to be gone, once ("forward two days" from tomorrow), not as a time that is taken."""
        told: set[date] = set()
        for n, item in enumerate(plan):
            if item.exact:
                continue
            what = services_phrase(item.appointment["services"], article=False)
            if item.wanted < self.now:
                day = item.wanted.date()
                if day not in told:
                    told.add(day)
                    gone = f"{spoken_time(item.wanted)} today" if day == self.now.date() else spoken_day(item.wanted)
                    self.say(f"{gone} has already passed.")
                self.say(f"The closest I have for your {what} is {item.slot['label']}.")
                continue
            # "both at 10" and one got it: this one can't have it as well
            also = " as well" if any(m.exact and m.wanted == item.wanted for m in plan[:n]) else ""
            self.say(
                f"Your {what} can't go at {spoken_time(item.wanted)} on {spoken_day(item.wanted)}{also}; "
                f"the closest I have for it is {item.slot['label']}."
            )

    def closest_slot(self, appt: dict, wanted: datetime, planned: list[GroupMove]) -> dict | None:
        """The opening for this appointment at `wanted`, else the one nearest to it (that day first); the ones
        already planned in this move hold their bays (two cars' visit at the same time moves as two), and their car
        when it is this one's (one car can't be in two bays at once)."""
        held = [{"start": m.slot["start"], "services": m.appointment["service_codes"]} for m in planned]
        for visit, m in zip(held, planned, strict=True):
            if m.appointment.get("vehicle_id"):
                visit["vehicle_id"] = m.appointment["vehicle_id"]
        args = {
            "alongside": held,
            "services": appt["service_codes"],
            "dates": [wanted.date().isoformat()],
            "time_preference": f"{wanted:%H:%M}",
            "exclude_appointment_id": appt["id"],
            "limit": 5,
        }
        if appt.get("vehicle_id"):
            args["vehicle_id"] = appt["vehicle_id"]
        res = self.tool("get_available_slots", **args)
        slots = (res.result or {}).get("slots") or [] if res.ok else []
        if not slots:
            return None

        def gap(slot: dict) -> float:
            return abs((datetime.fromisoformat(slot["start"]) - wanted).total_seconds())

        return min(slots, key=gap)

    def confirm_group_move(self) -> None:
        from calls.agent.flows.state import Expect

        items = [
            f"your {services_phrase(m.appointment['services'], article=False)} from {m.appointment['label']} "
            f"to {m.slot['label']}"
            for m in self.current_task().group or []
        ]
        self.ask(f"So I'll move {join_words(items)}. Is that right?", Expect.CONFIRM, "confirmation")

    def on_group_confirm(self, u: nlu.Understanding) -> bool:
        """The answer to the read-back of a group move: yes moves them all; anything else changes nothing, and
        they are taken one at a time."""
        from calls.agent.flows.state import Expect

        task = self.current_task()
        if u.yes_no == "yes" and not u.has_when and u.relative is None:
            if self.prompt_cut:  # they spoke over the read-back: they hear it whole before anything moves
                self.say("Just to be sure.")
                self.confirm_group_move()
                return True
            self.execute_group_move()
            return True
        if (u.has_when or u.relative is not None) and self.change_group_item(u):
            return True  # "yes, but the oil change at 11": that one changes, the others stay
        if u.yes_no is None and not u.has_when and u.relative is None:
            return False
        task.group, task.several, task.date, task.time, task.keep_time = None, None, None, None, False
        self.ask(
            f"No problem, let's take them one at a time. {self.appointments_list(task.appointments or [])} "
            "Which one first?",
            Expect.APPOINTMENT_CHOICE,
            "slot_collection",
        )
        return True

    def named_group_item(self, u: nlu.Understanding) -> GroupMove | None:
        """The one appointment of the group move the caller's line is about: by its service ("the oil change"), its
        car ("the Tacoma one") or its day, from or to ("the Thursday one"); None when it names none or several."""
        group = self.current_task().group or []
        found = group
        codes = {s.code for s in u.services}
        if codes:
            found = [m for m in found if codes & set(m.appointment["service_codes"])]
            exactly = [m for m in found if set(m.appointment["service_codes"]) == codes]
            found = exactly if len(found) > 1 and len(exactly) == 1 else found  # "the oil change": the one only that
        else:  # "the inspection" (several kinds of it in the shop: no one service understood): its name's words
            said = {w for w in nlu.normalize(u.kept or u.text).split() if len(w) >= 4}
            overlap = {
                id(m): len(said & {w for name in m.appointment["services"] for w in nlu.normalize(name).split()})
                for m in group
            }
            best = max(overlap.values())
            if best:
                found = [m for m in group if overlap[id(m)] == best]
        vehicles = (self.st.customer or {}).get("vehicles", [])
        idx = (
            nlu.pick_vehicle(u.kept or u.text, vehicles)
            if len({m.appointment.get("vehicle_id") for m in group}) > 1
            else None
        )
        if idx is not None:
            found = [m for m in found if m.appointment.get("vehicle_id") == vehicles[idx]["id"]]
        if len(found) > 1 and u.date is not None:  # "the Thursday one at 11": the day it is on, or was going to
            days = {d.isoformat() for d in u.date.dates()}
            on_day = [m for m in found if {m.appointment["start"][:10], m.slot["start"][:10]} & days]
            found = on_day or found
        return found[0] if len(found) == 1 and len(group) > 1 else None

    def change_group_item(self, u: nlu.Understanding) -> bool:
        """A change to one of the appointments read back together: its new time (or day) checked like the others,
        the others kept, all read back again. False when the line names none of them."""
        item = self.named_group_item(u)
        if item is None:
            return False
        plan = self.current_task().group or []
        at = _start(item.slot)
        if u.relative is not None and (u.relative.days or u.relative.minutes) and not u.has_when:
            wanted = at + timedelta(days=u.relative.days, minutes=u.relative.minutes)  # "the oil change an hour later"
        else:
            # "the Thursday one at 11": a day it is on, or was going to, names it; it is not where it goes
            days = {d.isoformat() for d in u.date.dates()} if u.date is not None else set()
            new_day = bool(days) and not {item.appointment["start"][:10], item.slot["start"][:10]} & days
            day = self.date_in_discussion(u.date).single_day if new_day else None
            hour = (u.time.exact or u.time.start) if u.time is not None else None
            if day is None and hour is None:
                return False
            wanted = datetime.combine(day or at.date(), hour or at.time(), shop_tz())
        others = [m for m in plan if m is not item]
        slot = self.closest_slot(item.appointment, wanted, others)
        what = services_phrase(item.appointment["services"], article=False)
        if slot is None:
            self.say(f"Sorry, I don't have anything near then for your {what}.")
        else:
            item.wanted, item.slot = wanted, slot
            self.say_not_there([item])
        self.confirm_group_move()
        return True

    def execute_group_move(self) -> None:
        task = self.current_task()
        self.st.phase = "execution"
        moved, failed = [], []
        for item in task.group or []:
            res = self.tool(
                "reschedule_appointment", appointment_id=item.appointment["id"], new_start=item.slot["start"]
            )
            if res.ok:
                moved.append(res.result["appointment"])
            else:
                failed.append((item, res.error))
        task.group = task.several = None
        if moved:
            items = [f"your {services_phrase(a['services'], article=False)} is on {a['label']}" for a in moved]
            self.say(f"Done. {join_words(items)[:1].upper()}{join_words(items)[1:]}.")
        if not failed:
            self.anything_else()
            return
        # Taken in the meantime: that one alone, with the openings nearest to where it was to go.
        item, error = failed[0]
        what = services_phrase(item.appointment["services"], article=False)
        self.say(f"Sorry, I couldn't move your {what}: {error[:1].lower()}{error[1:]}")
        task.appointment = item.appointment
        task.date = nlu.DatePref(item.wanted.date(), item.wanted.date(), label=f"on {spoken_day(item.wanted)}")
        task.time = nlu.TimePref(exact=item.wanted.time(), label=f"at {spoken_time(item.wanted)}")
        task.chosen, task.offers = None, []
        self.search_and_offer()
