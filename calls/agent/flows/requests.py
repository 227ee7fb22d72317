"""What the caller wants: a new request (book, cancel, move, check), hours and service questions."""

from __future__ import annotations

import re
from datetime import datetime, time

from calls.agent import nlu
from calls.agent.flows.common import SAME_WHEN, THANKS, WHAT_ABOUT, lower_first
from calls.agent.flows.state import Expect, Task
from calls.agent.phrases import service_answer, service_contents_sentence, spoken_time
from calls.agent.understanding.choices import named_among
from calls.agent.understanding.intents import NEXT_ONE
from calls.agent.understanding.services import work_asked_about

# "I got a call about my appointment", "I missed a call from you guys": the reminder call, called back.
_RETURNING_CALL = re.compile(
    r"\b((got|had|missed|received|saw) (a|your|the) (call|voicemail|message)|"
    r"(someone|somebody|you|you guys|yall|your office) (called|rang|left)|"
    r"returning (a|your|the) call|calling (you )?back about)\b"
)
_NEXT_ONE = re.compile(rf"\b(my|the) next (appointment|appt|booking|visit|one)\b|{NEXT_ONE}")
_CONFIRM_IT = re.compile(r"\bconfirm (my|the|our|an|that|it)\b|\bconfirm\b.*\bappointment\b")


class RequestFlow:
    # --- requests ---------------------------------------------------------------------------------------
    def on_request(self, u: nlu.Understanding) -> bool:
        st = self.st
        intent = u.intent
        said = nlu.normalize(u.text)
        if (_RETURNING_CALL.search(said) or _CONFIRM_IT.search(said)) and not (intent == "reschedule" and u.has_when):
            # ("I got your message, can I move it to Thursday" is a move: Thursday is where it goes, read below)
            # "I got a call about my appointment": the reminder, answered now -- confirm, move or cancel it
            task = self.start_task("confirm", u, advance=False)
            task.notes = "returning" if _RETURNING_CALL.search(said) else ""
            self.advance()
            return True
        if intent == "other" and (u.services or u.not_offered or u.candidates):
            intent = "book"  # ("I need new tires": what we can't book is said, then what we can is asked)
        if intent == "other" and u.appointment_ref is not None:
            intent = "check"
        if st.expect in (Expect.ANYTHING_ELSE, Expect.OFFER_BOOK) and intent in ("other", "goodbye"):
            # "okay great, thank you" after "anything else?" is a goodbye, not a yes
            if (
                u.yes_no == "no"
                or intent == "goodbye"
                or (THANKS.search(nlu.normalize(u.text)) and not u.has_when and not u.services)
            ):
                self.close()
                return True
            if u.yes_no == "yes":
                self.ask("Sure, what can I help you with?", Expect.REQUEST, "intent")
                return True
        if self.placed_on_a_visit(u):
            # "add a tire rotation to my Thursday appointment", "the Silverado, same day as my Outback's inspection"
            self.start_task("add", u)
            return True
        if intent in ("book", "cancel", "reschedule", "check"):
            self.start_task(intent, u)
            return True
        if (
            intent == "other"
            and u.date is not None
            and u.date.single_day
            and (st.topic == "hours" or WHAT_ABOUT.search(nlu.normalize(u.text)))
        ):
            intent = "hours"  # "what about Thanksgiving?" after the hours, or on its own
        if intent == "hours" and self.also_asks(u, "service_inquiry"):
            # "what time do you open Saturday and how much is an oil change?": both answered, the price last (it
            # ends with the offer to book)
            self.answer_hours(u)
            self.answer_services(u, offer=True)
            return True
        if intent == "hours":
            self.answer_hours(u)
            self.anything_else()
            return True
        if intent == "service_inquiry":
            if self.also_asks(u, "hours"):
                self.answer_hours(u)
            self.answer_services(u, offer=True)
            return True
        if intent == "goodbye":
            self.close()
            return True
        return False

    @staticmethod
    def placed_on_a_visit(u: nlu.Understanding) -> bool:
        """A service asked for on (or beside) a visit the caller has, not a move or cancel of one."""
        if u.anchor is None or not u.services:
            return False
        return max(u.scores.get("reschedule", 0), u.scores.get("cancel", 0)) < 3

    @staticmethod
    def also_asks(u: nlu.Understanding, intent: str) -> bool:
        """The line asks this question as well as the one it asks most ("... and how much is an oil change?")."""
        return u.scores.get(intent, 0) >= 3

    def on_offer_book(self, u: nlu.Understanding) -> bool:
        if self.st.cancelled is not None and (
            u.yes_no == "yes" or u.intent in ("book", "reschedule") or u.has_when or u.relative is not None
        ):
            return self.rebook_cancelled(u)
        if u.intent in ("cancel", "reschedule", "check", "hours", "service_inquiry"):
            return self.on_request(u)
        picked = self.one_of_offered(u)
        if (
            picked
        ):  # ("the inspection" is neither work the shop lacks nor "which inspection?": the one just heard about)
            u.not_offered, u.candidates = [], []
        if u.yes_no == "yes" or u.intent == "book" or u.services or u.has_when or picked:
            self.start_task("book", u, default_services=picked or self.st.offered_services)
            return True
        return self.on_request(u)

    def one_of_offered(self, u: nlu.Understanding) -> list[str]:
        """ "I'll just do the inspection" after hearing about a brake inspection and a brake pad replacement: the
        one of the services just talked about that the caller's words name (empty: not one of them)."""
        from scheduling.models import ServiceType

        offered = self.st.offered_services
        if u.services or len(offered) < 2:
            return []
        names = dict(ServiceType.objects.filter(code__in=offered).values_list("code", "name"))
        return named_among(u.text, [(code, names.get(code, code)) for code in offered])

    def rebook_cancelled(self, u: nlu.Understanding) -> bool:
        """ "Book another time instead?" after a cancel: a new booking of the cancelled service for the same car,
        whatever word they use ("rebook", "move it", "yes, Monday")."""
        gone = self.st.cancelled
        self.st.cancelled = None
        names = [s.name for s in u.services] or None
        task = self.start_task("book", u, default_services=gone["service_codes"], advance=False)
        if not u.services:
            self.set_services(task, gone["service_codes"], gone["services"])
        else:
            self.set_services(task, task.service_codes, names)
        if gone.get("vehicle_id"):
            task.vehicle_id, task.vehicle_label = gone["vehicle_id"], gone.get("vehicle") or ""
        if task.transport is None and gone.get("transport"):
            task.transport = gone["transport"]  # the loaner or shuttle they had stays theirs
        if task.date is None and task.time is None and u.relative is None:
            self.ask("Sure. What day would work for you?", Expect.WHEN, "slot_collection")
            return True
        self.advance()
        return True

    def answer_hours(self, u: nlu.Understanding) -> None:
        day = u.date.single_day if u.date else None
        res = self.tool("get_business_hours", **({"date": day.isoformat()} if day else {}))
        if not res.ok:
            self.say(f"Sorry, {lower_first(res.error)}")
            return
        self.st.topic = "hours"
        self.say(res.result["day"]["sentence"] if day else res.result["summary"])
        again = res.result.get("next_open") if day else None
        if again:
            self.say(f"We'll be open again on {again['label']}, {again['hours']}.")

    def answer_services(self, u: nlu.Understanding, *, offer: bool) -> None:
        st = self.st
        # "how much will that run me" right after booking: the appointment just booked is what "that" is
        just_booked = list((st.last_booked or {}).get("service_codes") or []) if st.task is None else []
        codes = [s.code for s in u.services] or (
            st.offered_services or (st.task.service_codes if st.task is not None else []) or just_booked
        )
        if codes:
            res = self.tool("get_services", codes=codes)
            items = res.result["services"] if res.ok else []
            for item in items:
                if u.asks == "contents" and item.get("description"):
                    self.say(service_contents_sentence(item["name"], item["description"]))
                self.say(service_answer(item, u.asks))
            if codes == just_booked and not u.services:
                if offer:  # booked already: the answer, and nothing to offer
                    self.anything_else()
                return
            st.offered_services = [s["code"] for s in items]
            if offer:
                self.ask(
                    "Would you like to book it?" if len(items) == 1 else "Would you like to book an appointment?",
                    Expect.OFFER_BOOK,
                    "intent",
                )
            return
        st.offered_services = []
        work = work_asked_about(u.text)
        if work and u.asks in ("price", "duration"):
            # "a timing belt, how much?": no service of ours to price; an advisor quotes it
            self.tool("note_for_advisor", note=f"asked for a quote: {work}")
            self.say(
                f"I don't have a price for the {work} here, so I've asked a service advisor to call you back "
                "with a quote."
            )
        elif work:
            self.say(f"Sorry, we don't do {work} here.")  # "do you do body work?": not one of our services
        elif st.listed_services:
            self.say("We can book any of the services I mentioned, and a service advisor can help with anything else.")
        else:
            self.say(f"We do {self.service_list()}.")
            st.listed_services = True
            if offer:
                self.ask("Would you like to book an appointment?", Expect.OFFER_BOOK, "intent")
            return
        if offer:
            self.anything_else()

    def start_task(
        self, kind: str, u: nlu.Understanding, *, default_services: list[str] | None = None, advance: bool = True
    ) -> Task:
        task = Task(
            kind=kind,
            date=u.date,
            time=u.time,
            transport=u.transport,
            ref=u.appointment_ref,
            relative=u.relative if kind in ("reschedule", "reminder") else None,
        )
        if kind == "book" and self.st.last_booked and not u.date:
            self.same_as_last_booking(task, u)
        if kind in ("reschedule", "reminder"):
            task.keep_time = bool(re.search(r"\bsame time\b", nlu.normalize(u.text)))
        if kind == "check":
            task.next_only = bool(_NEXT_ONE.search(nlu.normalize(u.text)))
            task.asks_transport = u.transport or ""  # "... and do I have a loaner for it?"
        self.st.topic = ""
        if kind == "add":
            task.anchor = u.anchor
        if kind in ("book", "add"):
            task.vehicle_hints.append(u.kept or u.text)
            codes = [s.code for s in u.services] or list(default_services or [])
            self.set_services(task, codes, names=[s.name for s in u.services] or None)
            task.candidates = [(s.code, s.name) for s in u.candidates]
            self.say_not_offered(u)
            if u.services and u.intent != "service_inquiry":
                task.notes = f"Caller said: {u.text.strip()[:300]}"
        if kind == "check" and _NEXT_ONE.search(nlu.normalize(u.text)):
            task.notes = "next"  # "when is my next appointment?": the soonest, not the whole list
        self.read_account_request(task, u)
        self.st.task = task
        if self.ctx.customer_id is None:
            self.collect_identity(u)
        if advance:
            self.advance()
        return task

    def same_as_last_booking(self, task: Task, u: nlu.Understanding) -> None:
        """ "The Tacoma too, same morning": the day (and part of day or time) of the appointment just booked."""
        said = SAME_WHEN.search(nlu.normalize(u.text))
        if said is None:
            return
        start = datetime.fromisoformat(self.st.last_booked["start"])
        task.date = nlu.DatePref(start=start.date(), end=start.date(), label=f"on {start:%A}")
        if u.time is None:
            part = said.group(1)
            if part == "time":
                task.time = nlu.TimePref(exact=start.time().replace(tzinfo=None), label=f"at {spoken_time(start)}")
            elif part == "morning":
                task.time = nlu.TimePref(end=time(12), label="in the morning")
            elif part == "afternoon":
                task.time = nlu.TimePref(start=time(12), label="in the afternoon")

    def say_not_offered(self, u: nlu.Understanding) -> None:
        """Work asked for that the shop has no service for is said, never dropped in silence: "new tires, and an
        alignment" must not end as an alignment the caller thinks includes the tires."""
        if not u.not_offered:
            return
        words = " or ".join(u.not_offered)
        booked = [s.name.lower() for s in u.services]
        if booked:
            self.say(f"I can't book {words} by phone, but I can book the {' and the '.join(booked)}.")
        else:
            self.say(f"Sorry, I can't book {words} by phone.")

    def set_services(self, task: Task, codes: list[str], names: list[str] | None = None) -> None:
        from scheduling.models import ServiceType

        task.service_codes = list(dict.fromkeys(codes))
        if names is None:
            by_code = dict(ServiceType.objects.filter(code__in=task.service_codes).values_list("code", "name"))
            names = [by_code.get(c, c) for c in task.service_codes]
        task.service_names = names

    def advance(self) -> None:
        task = self.st.task
        if task is None:
            self.anything_else()
        elif task.kind == "book":
            self.advance_booking()
        else:
            self.advance_account_task()
