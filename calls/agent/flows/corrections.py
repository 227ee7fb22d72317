"""Corrections and relative moves: what a caller changes about the slot being discussed.

- At the read-back, a line that names a service, day, time or car other than the ones read back replaces that one
  slot and keeps the others as they were ("make it Thursday" keeps the time they picked); availability is checked
  again and the corrected booking read back. Nothing is written on the strength of the old read-back.
- "Push it back a day", "an hour later", "same time next week", "earlier that day": counted from the time being
  read back or proposed, else from the appointment being moved, else from the day under discussion.
- A bare weekday said while a day is being discussed is that weekday of its week ("Wednesday instead" of Tuesday
  the 8th is the 9th).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from calls.agent import nlu
from calls.agent.phrases import spoken_time
from calls.agent.understanding import relative


def _start(slot: dict) -> tuple[date, time]:
    start = datetime.fromisoformat(slot["start"])
    return start.date(), start.time().replace(tzinfo=None)


def _on_day(day: date) -> nlu.DatePref:
    return nlu.DatePref(day, day, label=f"{day:%A}, {day:%B} {day.day}")


class CorrectionFlow:
    if TYPE_CHECKING:  # what the other parts of a policy step give this one (calls.agent.policy._Step)
        from calls.agent.flows.state import RuleState

        st: RuleState
        now: datetime

        def switch_vehicle(self, u: nlu.Understanding) -> bool: ...
        def take_services(self, u: nlu.Understanding) -> bool: ...
        def search_and_offer(self) -> None: ...

    def discussed_day(self) -> date | None:
        """The day the booking is at: the one read back, else the one the caller asked for, else the one all the
        offers are on ("Sunday? ... Saturday instead" is the day before, whatever the offers after Sunday were)."""
        task = self.st.task
        if task is None:
            return None
        if task.chosen is not None:
            return _start(task.chosen)[0]
        if task.date is not None and task.date.single_day:
            return task.date.single_day
        days = {o["date"] for o in task.offers}
        return date.fromisoformat(days.pop()) if len(days) == 1 else None

    def move_anchor(self) -> tuple[date | None, time | None]:
        """What "a day later" is counted from: the slot read back or proposed, else the appointment being moved,
        else the day being discussed (with the time asked for, if one was)."""
        task = self.st.task
        if task is None:
            return None, None
        slot = task.chosen or (task.offers[0] if len(task.offers) == 1 else None)
        if slot is not None:
            return _start(slot)
        if task.kind in ("reschedule", "reminder") and task.appointment is not None:
            return _start(task.appointment)
        day = self.discussed_day()
        return day, (task.time.exact if task.time is not None else None)

    def resolve_relative(self, u: nlu.Understanding) -> None:
        """Turn a relative move into the day and time it means, in `u`, so the flows read it as if said outright.
        Moving one of several appointments, it waits until the caller has said which (`task.relative`)."""
        task = self.st.task
        if u.relative is None or task is None:
            return
        if task.kind in ("reschedule", "reminder") and task.appointment is None:
            task.relative = u.relative
            return
        day, at = self.move_anchor()
        if day is None:
            return
        when = relative.resolve(u.relative, day, at, said_date=u.date, said_time=u.time)
        if when != (None, None):
            u.date, u.time = when

    def apply_pending_relative(self) -> None:
        """The move said before the appointment to move was known ("push my Thursday one back a day")."""
        task = self.st.task
        if task is None:
            return
        move, task.relative = task.relative, None
        if move is None or task.appointment is None:
            return
        day, at = _start(task.appointment)
        when = relative.resolve(move, day, at, said_date=task.date, said_time=task.time)
        if when != (None, None):
            task.date, task.time = when

    def date_in_discussion(self, said: nlu.DatePref) -> nlu.DatePref:
        """The day(s) a caller means by what they just said, given the days already being talked about."""
        task = self.st.task
        if task is None:
            return said
        moved = nlu.within(said, task.date)  # "tuesday" after "next week": next week's
        if moved is not said:
            return moved
        day = self.discussed_day()
        its_day = self.moved_day()
        if its_day is not None and task.later and said.weekdays_only and not said.after_discussed:
            return relative.weekdays_after(said, its_day)  # "push it to Thursday": the Thursday after it
        if day is None and said.after_discussed:
            day = its_day  # "the Wednesday after": after the appointment being moved
        return relative.in_week_of(said, day, self.now.date()) if day is not None else said

    def moved_day(self) -> date | None:
        """The day of the appointment being moved, once the caller has said which."""
        task = self.st.task
        if task is None or task.kind not in ("reschedule", "reminder") or task.appointment is None:
            return None
        return _start(task.appointment)[0]

    def anchor_on_appointment(self) -> None:
        """ "My Saturday appointment to the following Saturday", "push my appointment to Thursday": the day said
        before we knew which appointment counts from that appointment, now that we do."""
        task = self.st.task
        day = self.moved_day()
        if task is None or task.date is None or day is None:
            return
        if task.date.after_discussed:
            task.date = relative.in_week_of(task.date, day, self.now.date())
        elif task.later and task.date.weekdays_only:  # "push it to Wednesday or Thursday": those after it
            task.date = relative.weekdays_after(task.date, day)

    def correct_read_back(self, u: nlu.Understanding) -> bool:
        """A correction at the read-back: replace the slot it names, keep the rest as read back, search again (it
        may not be free) and read the corrected booking back. False when the line changes nothing read back."""
        task = self.st.task
        if task is None or task.chosen is None or task.kind not in ("book", "reschedule", "reminder"):
            return False
        day, at = _start(task.chosen)
        said_date = self.date_in_discussion(u.date) if u.date is not None else None
        new_date = said_date is not None and said_date.dates() != [day]
        # ("the earliest you got": a new time even when the one read back is in its window)
        new_time = u.time is not None and (not u.time.contains(at) or u.time.earliest or u.time.latest)
        codes = [s.code for s in u.services]
        new_services = bool(
            task.kind == "book"
            and codes
            and set(codes) != set(task.service_codes)
            and not (u.adding and set(codes) <= set(task.service_codes))
        )
        new_vehicle = task.kind == "book" and self.switch_vehicle(u)
        if not (new_date or new_time or new_services or new_vehicle):
            return False
        if new_services:
            self.take_services(u)
        task.date = said_date if new_date else _on_day(day)
        task.time = u.time if new_time else nlu.TimePref(exact=at, label=spoken_time(at))
        if u.transport:
            task.transport = u.transport
        task.chosen, task.offers = None, []
        self.search_and_offer()
        return True
