"""Moving several appointments together by the same amount: "reschedule both to the following week, same days and
times", "push all my appointments back a week".

A person at the desk moves each one by that amount, keeping its own time; checks each new slot; reads them all back
in one sentence; then moves them all. A slot that is not free is named, with the closest opening for that
appointment in its place, before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from calls.agent import nlu
from calls.agent.flows.host import FlowHost
from calls.agent.phrases import join_words, services_phrase, spoken_time
from calls.agent.understanding import relative
from calls.agent.understanding.relative import RelativeMove
from scheduling.availability import shop_tz
from scheduling.wording import spoken_day

_BOTH = re.compile(r"\b(both|all|them|each|every|everything)\b")
# "the oil change at 11 and the inspection at 9": a change for each
_CLAUSES = re.compile(r",|;|\band\b|\bthen\b|\bbut\b")


@dataclass
class GroupMove:
    """One appointment of a group move: where the caller's words put it, and the slot offered for it."""

    appointment: dict
    wanted: datetime  # the appointment's start moved by the amount said
    slot: dict  # the opening read back for it (the wanted one when free, else the closest)
    within: nlu.TimePref | None = None  # "both to Friday morning": any time of that part of the day will do
    why: str = ""  # why that day had nothing at all ("Monday, November 30 has already passed."), from the tool

    @property
    def exact(self) -> bool:
        if self.within is not None:
            start = _start(self.slot)
            return start.date() == self.wanted.date() and self.within.contains(start.time())
        return self.slot["start"][:16] == self.wanted.isoformat()[:16]


def day_window(day: nlu.DatePref | None, at: nlu.TimePref | None, keep_time: bool) -> nlu.TimePref | None:
    """The part of one day all of them go to ("both to Friday morning"), or None."""
    if day is None or day.single_day is None or at is None or at.exact is not None or keep_time:
        return None
    return at if (at.start or at.end) else None


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
    if not same_time and (window := day_window(day, at, keep_time)) is not None:
        # each at its own hour when that is in the part of the day said, else from the start of it (the opening)
        return [
            datetime.combine(
                day.single_day,  # type: ignore[arg-type, union-attr]
                _start(a).time() if window.contains(_start(a).time()) else (window.start or time(0)),
                shop_tz(),
            )
            for a in appts
        ]
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
        within = None if task.relative is not None else day_window(task.date, task.time, task.keep_time)
        for appt, wanted in zip(appts, targets, strict=True):
            found = self.closest_slot(appt, wanted, plan, within)
            if found is None:
                return False  # nothing anywhere near: one at a time, with the usual questions
            plan.append(GroupMove(appt, wanted, found[0], within, found[1]))
        task.relative = None
        task.group = plan
        self.say_not_there(plan)
        self.confirm_group_move()
        return True

    def say_not_there(self, plan: list[GroupMove]) -> None:
        """Each appointment that can't go where the caller's words put it, with the closest opening it has instead. A
        day with nothing at all (gone, closed, full) is said once, as such ("forward two days" from tomorrow: "Monday,
        November 30 has already passed."), not as a time that is taken."""
        told: set[str] = set()
        for n, item in enumerate(plan):
            if item.exact:
                continue
            what = services_phrase(item.appointment["services"], article=False)
            why = item.why or (
                f"{spoken_time(item.wanted)} today has already passed." if item.wanted < self.now else ""
            )
            if why:
                if why not in told:
                    told.add(why)
                    self.say(why)
                self.say(f"The closest I have for your {what} is {item.slot['label']}.")
                continue
            if item.within is not None:
                self.say(
                    f"Your {what} can't go {item.within.label} on {spoken_day(item.wanted)}; the closest I have for "
                    f"it is {item.slot['label']}."
                )
                continue
            # "both at 10" and one got it: this one can't have it as well
            also = " as well" if any(m.exact and m.wanted == item.wanted for m in plan[:n]) else ""
            self.say(
                f"Your {what} can't go at {spoken_time(item.wanted)} on {spoken_day(item.wanted)}{also}; "
                f"the closest I have for it is {item.slot['label']}."
            )

    def closest_slot(
        self, appt: dict, wanted: datetime, planned: list[GroupMove], within: nlu.TimePref | None = None
    ) -> tuple[dict, str] | None:
        """The opening for this appointment at `wanted`, else the one nearest to it (that day first), with the reason
        when that day has none at all ("" when it has some); the ones already planned in this move hold their bays
        (two cars' visit at the same time moves as two), and their car when it is this one's (one car can't be in two
        bays at once)."""
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

        def gap(slot: dict) -> tuple[bool, float]:
            start = _start(slot)
            outside = within is not None and not (start.date() == wanted.date() and within.contains(start.time()))
            return outside, abs((start - wanted).total_seconds())

        empty = (res.result or {}).get("empty") or {}
        return min(slots, key=gap), empty.get("sentence", "")

    def confirm_group_move(self) -> None:
        from calls.agent.flows.state import Expect

        items = [
            f"your {services_phrase(m.appointment['services'], article=False)} from {m.appointment['label']} "
            f"to {m.slot['label']}"
            for m in self.current_task().group or []
        ]
        self.ask(f"So I'll move {join_words(items)}. Is that right?", Expect.CONFIRM, "confirmation")

    def on_group_confirm(self, u: nlu.Understanding) -> bool:
        """The answer to the read-back of a group move: yes moves them all; a new time for one of them changes that
        one; anything else changes nothing, and they are taken one at a time."""
        from calls.agent.flows.state import Expect

        task = self.current_task()
        pending, task.group_when = task.group_when, None
        if pending is not None and not u.has_when and u.relative is None:
            item = self.named_group_item(u)  # the answer to "which one at 11?"
            if item is not None:
                self.change_group_items([(item, pending)])
                return True
        if u.yes_no == "yes" and not u.has_when and u.relative is None:
            if self.prompt_cut:  # they spoke over the read-back: they hear it whole before anything moves
                self.say("Just to be sure.")
                self.confirm_group_move()
                return True
            self.execute_group_move()
            return True
        if (u.has_when or u.relative is not None) and _BOTH.search(nlu.normalize(u.text)):
            # "no, both to Friday at 11 instead", "make them two weeks later": all of them planned again from where
            # they are now
            task.relative, task.date, task.time, task.keep_time = u.relative, u.date, u.time, False
            if self.plan_group_move():
                return True
        if u.has_when or u.relative is not None:
            changes = self.group_changes(u)
            if changes:  # "yes, but the oil change at 11": that one changes, the others stay
                self.change_group_items(changes)
                return True
            if self.ask_which_group_item(u):
                return True
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

    def ask_which_group_item(self, u: nlu.Understanding) -> bool:
        """ "No, 11": a time for one of them, without saying which; asked, the time kept for the answer."""
        from calls.agent.flows.state import Expect

        task = self.current_task()
        if _BOTH.search(nlu.normalize(u.text)) or u.time is None or u.date is not None or u.relative is not None:
            return False
        task.group_when = u
        when = f"at {spoken_time(u.time.exact)}" if u.time.exact else (u.time.label or "then")
        names = [f"your {services_phrase(m.appointment['services'], article=False)}" for m in task.group or []]
        self.ask(
            f"Which one would you like {when}: {join_words(names, 'or')}?",
            Expect.CONFIRM,
            "confirmation",
        )
        return True

    def group_changes(self, u: nlu.Understanding) -> list[tuple[GroupMove, nlu.Understanding]]:
        """Each appointment the line gives a new time, with the words that give it: "the oil change at 11 and the
        inspection at 9" is two changes; "yes, but the oil change at 11" one; none when no single one is named."""
        parts = [p for p in _CLAUSES.split(u.text) if p and p.strip()]
        if len(parts) > 1:
            said = [nlu.understand(p, self.now, expect_time=True) for p in parts]
            changes = [(self.named_group_item(p), p) for p in said if p.has_when or p.relative is not None]
            if len(changes) > 1 and all(item is not None for item, _ in changes):
                if len({id(item) for item, _ in changes}) == len(changes):
                    return changes  # type: ignore[return-value]
        item = self.named_group_item(u)
        return [(item, u)] if item is not None else []

    def named_group_item(self, u: nlu.Understanding) -> GroupMove | None:
        """The one appointment of the group move the caller's line is about: by its service ("the oil change"), its
        car ("the Tacoma one"), its place in the read-back ("the second one") or its day, from or to ("the
        Wednesday one"); None when it names none or several."""
        group = self.current_task().group or []
        if len(group) < 2:
            return None
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
        if len(found) > 1 and (nth := nlu.parse_ordinal_choice(u.text, len(group))) is not None:
            found = [group[nth]]  # "the second one at 3"
        if len(found) > 1 and u.date is not None:  # "the Wednesday one at 4": the day it is on, or was going to
            days = set(u.date.dates())
            on_day = [m for m in found if {_start(m.appointment).date(), _start(m.slot).date()} & days]
            weekdays = {d.weekday() for d in days} if u.date.weekdays_only else set()
            same_weekday = [m for m in found if {_start(m.appointment).weekday(), _start(m.slot).weekday()} & weekdays]
            found = on_day or (same_weekday if len(same_weekday) == 1 else found)
        return found[0] if len(found) == 1 else None

    def change_group_items(self, changes: list[tuple[GroupMove, nlu.Understanding]]) -> None:
        """New times for some of the appointments read back together: each checked like the others, the others
        kept, all read back again."""
        for item, u in changes:
            self.change_group_item(item, u)
        self.confirm_group_move()

    def change_group_item(self, item: GroupMove, u: nlu.Understanding) -> None:
        plan = self.current_task().group or []
        at = _start(item.slot)
        what = services_phrase(item.appointment["services"], article=False)
        if u.relative is not None and (u.relative.days or u.relative.minutes) and not u.has_when:
            wanted = at + timedelta(days=u.relative.days, minutes=u.relative.minutes)  # "the oil change an hour later"
        else:
            # "the Wednesday one at 4": a day it is on, or was going to, names it; it is not where it goes
            named = {_start(item.appointment).date(), at.date()}
            said = u.date.dates() if u.date is not None else []
            if u.date is not None and u.date.weekdays_only:
                named |= {d for d in said if d.weekday() in {n.weekday() for n in named}}
            new_day = bool(said) and not named & set(said)
            # "on Thursday" said of a move to next week: that week's Thursday
            day = relative.in_week_of(u.date, at.date(), self.now.date()).single_day if new_day else None  # type: ignore[arg-type]
            if new_day and day is None:
                self.say(f"Sorry, which day should your {what} go to?")
                return
            window = u.time if u.time is not None and u.time.exact is None and (u.time.start or u.time.end) else None
            if window is not None and window.contains(at.time()) and day is None:
                return  # "the oil change in the afternoon": where it is already
            hour = u.time.exact if u.time is not None and u.time.exact else None
            if hour is None and window is not None:
                hour = window.start or time(0)
            if day is None and hour is None:
                return
            wanted = datetime.combine(day or at.date(), hour or at.time(), shop_tz())
        others = [m for m in plan if m is not item]
        found = self.closest_slot(item.appointment, wanted, others)
        if found is None:
            self.say(f"Sorry, I don't have anything near then for your {what}.")
            return
        item.wanted, (item.slot, item.why), item.within = wanted, found, None
        self.say_not_there([item])

    def execute_group_move(self) -> None:
        task = self.current_task()
        self.st.phase = "execution"
        moved, failed = [], []
        for item in task.group or []:
            res = self.tool(
                "reschedule_appointment", appointment_id=item.appointment["id"], new_start=item.slot["start"]
            )
            if res.ok:
                moved.append(res.result["appointment"])  # type: ignore[index]
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
