"""The caller's own appointments: check, cancel, move."""

from __future__ import annotations

from datetime import datetime

from calls.agent import nlu
from calls.agent.flows.choosing import pick_appointments
from calls.agent.flows.common import NUMBER_WORDS, lower_first
from calls.agent.flows.state import Expect
from calls.agent.phrases import join_words, services_phrase, spoken_time, transport_sentence
from calls.agent.reminder_script import reminded_appointment
from calls.agent.tools import NOT_YOURS


class AppointmentsFlow:
    # --- cancel, reschedule, check ------------------------------------------------------------------------
    def advance_account_task(self) -> None:
        st, task = self.st, self.st.task
        if not self.ensure_identity("verify"):
            return
        if task.appointments is None:
            res = self.tool("get_upcoming_appointments")
            if not res.ok:
                self.transfer("could not list appointments", f"Sorry, {lower_first(res.error)}")
                return
            task.appointments = res.result["appointments"]
        appts = task.appointments
        if task.kind == "add" and appts:
            self.advance_addition(appts)
            return
        if task.kind == "add":  # no visit to add it to: offered as a booking of its own
            self.say("I don't see any upcoming appointments on your account.")
            st.task, st.offered_services = None, list(task.service_codes)
            self.ask("Would you like to book one?", Expect.OFFER_BOOK, "intent")
            return
        if task.ref is not None and task.appointment is None:
            match = [a for a in appts if a["id"] == task.ref]
            task.ref = None
            if match:
                task.appointment = match[0]
            else:
                self.say(NOT_YOURS)
        if not appts:
            self.say("I don't see any upcoming appointments on your account.")
            st.task, st.offered_services = None, []
            self.ask("Would you like to book one?", Expect.OFFER_BOOK, "intent")
            return
        if task.kind == "confirm":
            self.advance_confirm(appts)
            return
        if task.kind == "check":
            asked = {d.isoformat() for d in task.date.dates()} if task.date is not None else set()
            on_day = [a for a in appts if a["start"][:10] in asked]
            told: list[dict] = []  # the appointments said one by one (what "it" is next)
            if on_day:  # "am I still on for Thursday?"
                items = [f"{services_phrase(a['services'])} on {a['label']}" for a in on_day]
                self.say(f"Yes, you're all set: {join_words(items)}.")
                told = on_day
            elif asked:
                self.say(f"I don't see an appointment on {task.date.label}.")
                self.say(
                    self.appointments_list(appts, shown=3)
                    if len(appts) > 1
                    else f"You have {services_phrase(appts[0]['services'])} on {appts[0]['label']}."
                )
            elif len(appts) == 1:
                a = appts[0]
                self.say(f"You have {services_phrase(a['services'])} on {a['label']}.")
                told = [a]
            elif task.notes == "next" or task.next_only:  # "when's my next appointment?": that one, not the list
                a = appts[0]
                self.say(f"Your next appointment is {services_phrase(a['services'])} on {a['label']}.")
                told = [a]
            else:
                self.say(self.appointments_list(appts, shown=3))
            st.last_told = told[0] if len(told) == 1 else None
            if task.asks_transport and len(told) == 1:  # "... and do I have a loaner for it?"
                self.say(transport_sentence(told[0].get("transport") or "", task.asks_transport))
            self.anything_else()
            return
        if task.appointment is None and task.several is None and self.choose_described(appts):
            return  # "both my Saturday and my Wednesday ones" with two Wednesdays: asked which two
        if task.several:
            if task.kind == "cancel":
                self.confirm_several()
                return
            if self.plan_group_move():  # "both of them a week later": each keeps its own time
                return
            task.several = None
            self.ask(
                f"Sure, let's move them one at a time. {self.appointments_list(appts)} Which one first?",
                Expect.APPOINTMENT_CHOICE,
                "slot_collection",
            )
            return
        if task.appointment is None and task.kind != "cancel" and self.described_nothing(task.described):
            # "can I change that to 1 instead" right after booking: "that" is the one just booked
            task.appointment = self.just_booked(appts)
        if (
            task.appointment is None
            and task.described is not None
            and task.described.target_apart
            and len(appts) > 1
            and (task.kind == "cancel" or reminded_appointment(self.ctx, appts) is None)
        ):
            # the day said is where it goes ("move my oil change to Friday"): which one (unless the shop called
            # about one: "can we move it to Thursday" on our reminder call means it), then that day
            verb = "cancel" if task.kind == "cancel" else "move"
            self.ask(
                f"{self.fitting_list(appts)} Which one would you like to {verb}?",
                Expect.APPOINTMENT_CHOICE,
                "slot_collection",
            )
            return
        if task.appointment is None:
            picked = self.match_appointments(appts, task.date, task.time, [])
            same_day = None if picked is not None else self.match_appointments(appts, task.date, None, [])
            if picked is not None:
                task.appointment = appts[picked]
                task.date = task.time = None  # they described the appointment, not the new time
            elif same_day is not None and task.time is not None and task.kind != "cancel":
                # "my Thursday appointment, make it 3": that one, to another time of the same day
                task.appointment = appts[same_day]
            elif len(appts) == 1:
                task.appointment = appts[0]
            elif (reminded := reminded_appointment(self.ctx, appts)) is not None:
                # the shop called about this one: "I need to cancel" / "can we move it?" means it, never "which?"
                task.appointment = reminded
            elif (just := self.just_booked(appts)) is not None:
                # "can we move that to Tuesday?" right after booking: "that" is the one just booked
                task.appointment = just
            elif st.last_told and any(a["id"] == st.last_told["id"] for a in appts):
                # "when's my next one?" ... "can I push that back a week?": the one we just told them about
                task.appointment = next(a for a in appts if a["id"] == st.last_told["id"])
            else:
                verb = "cancel" if task.kind == "cancel" else "move"
                self.ask(
                    f"{self.fitting_list(appts)} Which one would you like to {verb}?",
                    Expect.APPOINTMENT_CHOICE,
                    "slot_collection",
                )
                return
        if task.kind == "cancel":
            self.confirm_prompt()
            return
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        self.apply_pending_relative()  # "push it back a day": from this appointment
        self.anchor_on_appointment()  # "to the following Saturday": the one after this appointment
        if task.keep_time and task.time is None:  # "next Tuesday instead, same time"
            at = datetime.fromisoformat(appt["start"])
            task.time = nlu.TimePref(exact=at.time().replace(tzinfo=None), label=f"at {spoken_time(at)}")
        if task.date is not None or task.time is not None:
            self.search_and_offer()
            return
        self.ask(
            f"I see your {services_phrase(appt['services'], article=False)} on {appt['label']}. "
            "What day would you like to move it to?",
            Expect.WHEN,
            "slot_collection",
        )

    def just_booked(self, appts: list[dict]) -> dict | None:
        """The appointment booked earlier in this call, among the caller's upcoming ones."""
        booked = self.st.last_booked
        return next((a for a in appts if a["id"] == booked["id"]), None) if booked else None

    @staticmethod
    def described_nothing(said) -> bool:
        """The request said where it goes and nothing of which appointment ("change that to 1")."""
        return bool(said is not None and said.target_apart and not (said.date or said.time or said.services))

    def advance_confirm(self, appts: list[dict]) -> None:
        """A caller who rings to confirm (or calls back after our reminder): the appointment they mean, then the
        reminder's own question, so yes / another time / cancel work as on the call we placed."""
        from calls.agent.reminder_script import CAN_YOU_MAKE_IT, what_phrase, when_phrase

        task = self.st.task
        if task.appointment is None:
            picked = self.match_appointments(appts, task.date, task.time, [])
            unconfirmed = [a for a in appts if a.get("status") != "confirmed"]
            if picked is not None:
                task.appointment = appts[picked]
            elif len(appts) == 1:
                task.appointment = appts[0]
            elif task.notes == "returning" or len(unconfirmed) == 1:
                # our reminder is about the next visit still to be confirmed
                task.appointment = (unconfirmed or appts)[0]
            else:
                self.ask(
                    f"{self.appointments_list(appts)} Which one would you like to confirm?",
                    Expect.APPOINTMENT_CHOICE,
                    "slot_collection",
                )
                return
        appt = task.appointment
        returning = task.notes == "returning"
        task.kind, task.date, task.time, task.notes = "reminder", None, None, ""
        self.set_services(task, appt["service_codes"], appt["services"])
        car = f" for your {appt['vehicle']}" if appt.get("vehicle") else ""
        when = when_phrase(appt["start"], self.now)
        self.say(
            f"That would be about your {what_phrase(appt)} {when}{car}."
            if returning
            else f"I see your {what_phrase(appt)} {when}{car}."
        )
        self.ask(CAN_YOU_MAKE_IT, Expect.REMINDER_CONFIRM, "confirmation")

    def fitting_list(self, appts: list[dict]) -> str:
        """The appointments the request's words fit, when they fit some but not one ("cancel the inspection on my
        Civic" with two inspections among five visits): only those are read out. Else all of them."""
        said = self.st.task.described if self.st.task is not None else None
        fit = pick_appointments(appts, said, all_words=False, ordinals=False) if said is not None else []
        if not 1 < len(fit) < len(appts):
            return self.appointments_list(appts)
        items = join_words([f"{services_phrase(appts[i]['services'])} on {appts[i]['label']}" for i in fit[:4]])
        self.st.task.listed = [appts[i]["id"] for i in fit]  # type: ignore[union-attr]
        return f"I see {NUMBER_WORDS.get(len(fit), len(fit))} that could be it: {items}."

    @staticmethod
    def appointments_list(appts: list[dict], shown: int = 4) -> str:
        """ "You have 2 upcoming appointments: an oil change on ..., and ...." (the first `shown` of them)."""
        items = join_words([f"{services_phrase(a['services'])} on {a['label']}" for a in appts[:shown]])
        if len(appts) > shown:
            count = NUMBER_WORDS.get(shown, shown)
            return f"You have {len(appts)} upcoming appointments. The next {count} are {items}."
        return f"You have {len(appts)} upcoming appointments: {items}."

    @staticmethod
    def match_appointments(
        appts: list[dict], date: nlu.DatePref | None, time: nlu.TimePref | None, services: list
    ) -> int | None:
        if date is None and time is None and not services:
            return None
        candidates = list(range(len(appts)))
        if date is not None:
            days = {d.isoformat() for d in date.dates()}
            candidates = [i for i in candidates if appts[i]["start"][:10] in days]
        if time is not None:
            candidates = [i for i in candidates if time.contains(datetime.fromisoformat(appts[i]["start"]).time())]
        if services:
            # "the brake one": the service itself, else one named alike (a brake pad job for "brake")
            codes = {s.code for s in services}
            words = {w for s in services for w in nlu.normalize(s.name).split() if len(w) >= 4}
            by_code = [i for i in candidates if codes & set(appts[i]["service_codes"])]
            alike = [
                i
                for i in candidates
                if words & {w for name in appts[i]["services"] for w in nlu.normalize(name).split()}
            ]
            candidates = by_code or alike or candidates
        return candidates[0] if len(candidates) == 1 else None

    def on_appointment_choice(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        appts = task.appointments or []
        if u.intent == "book" and u.scores.get("book", 0) >= 3:
            return False  # a new request ("I also need to book a brake job"), not a choice
        chose = self.choose_among(u)
        if chose is None:  # one appointment picked; the day and time asked for before are kept
            self.advance_account_task()
            return True
        if chose:
            return True
        idx = None
        if u.appointment_ref is not None:
            match = [i for i, a in enumerate(appts) if a["id"] == u.appointment_ref]
            if not match:
                self.say(NOT_YOURS)
                self.say(self.st.last_prompt)
                return True
            idx = match[0]
        if idx is None:
            if u.yes_no == "no":
                self.say("Okay, I'll leave them as they are.")
                self.anything_else()
                return True
            return False
        task.appointment = appts[idx]
        self.advance_account_task()
        return True
