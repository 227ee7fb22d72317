"""Questions a caller asks in the middle of the call: where the shop is, its number, loaner cars and the shuttle,
whether they can wait at the shop and what to bring (flows.shop_visit), when their own appointment is. Answered
from the shop's data through the tools, then the call goes back to what it was doing: the question we were waiting
on is asked again. (Hours, prices and durations: RequestFlow.)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from calls.agent import nlu
from calls.agent.flows.common import TRANSPORT_ACK
from calls.agent.flows.shop_visit import bringing_answer, may_wait, waiting_answer
from calls.agent.flows.state import Expect
from calls.agent.understanding.questions import asks_for_it

if TYPE_CHECKING:
    from calls.agent.context import CallContext
    from calls.agent.flows.state import RuleState, Task
    from calls.agent.tools import ToolResult
from calls.agent.phrases import (
    join_words,
    loaner_sentences,
    location_sentences,
    phone_sentences,
    services_phrase,
    shuttle_sentences,
)

_THAT = re.compile(r"\b(that|it)\b")
_IN_REQUEST = (Expect.REQUEST, Expect.ANYTHING_ELSE, Expect.OFFER_BOOK)
_SHOP_FACTS = {
    "location": location_sentences,
    "phone": phone_sentences,
    "loaner": loaner_sentences,
    "shuttle": shuttle_sentences,
}

# Answered from the shop's facts, with a note for the advisor when the shop has not said (flows.shop_visit).
_VISIT_FACTS = {"wait": waiting_answer, "bring": bringing_answer}


class QuestionFlow:
    if TYPE_CHECKING:  # provided by the policy's turn (flows.turn.Turn, flows.requests.RequestFlow)
        ctx: CallContext
        st: RuleState

        def say(self, *texts: str) -> None: ...
        def tool(self, name: str, **args: Any) -> ToolResult: ...
        def anything_else(self) -> None: ...
        def start_task(self, kind: str, u: nlu.Understanding) -> Task: ...
        def confirm_prompt(self) -> None: ...

    def answer_question(self, u: nlu.Understanding) -> bool:
        """Answer a question about the shop or the caller's visit. True when the turn is complete; False when the
        line goes on to the usual handlers (the answer, if any, is already said)."""
        kind = u.question
        st = self.st
        answered_here = ("my_appointment", "car_status", "is_this_shop")
        if kind not in _SHOP_FACTS and kind not in _VISIT_FACTS and kind not in answered_here:
            return False  # hours, prices, durations: the policy's own path
        if kind == "wait" and u.transport == "waiter" and st.task is not None and st.task.kind == "book":
            return False  # "can I wait there while it's done?" while booking: how they come (transport_ack)
        in_request = st.expect in _IN_REQUEST
        if kind == "is_this_shop":
            from django.conf import settings

            self.say(f"Yes, this is the service department at {settings.SHOP_NAME}.")
            if self.asks_more(u, kind) or u.services or u.intent not in ("other", "goodbye"):
                return False  # "is this the service department? I need an oil change": the request is read as usual
            self.say(st.last_prompt if not in_request else "How can I help you today?")
            return True
        if kind in ("loaner", "shuttle") and self.transport_requested(u, kind):
            return True
        if kind == "car_status":
            self.say(*self.car_status_sentences())
        elif kind == "my_appointment":
            booked = st.last_booked
            if in_request and booked and _THAT.search(nlu.normalize(u.text)):
                # "what day was that again?" right after booking: the one just booked
                self.say(f"That's {services_phrase(booked['services'])} on {booked['label']}.")
                self.anything_else()
                return True
            if in_request:
                self.start_task("check", u)  # the usual check: who they are first, then their appointments
                return True
            self.say(*self.own_appointment_sentences())
        else:
            self.say(*self.shop_fact_sentences(kind))
        if self.asks_more(u, kind):
            return False  # "Tuesday works; where are you again?": the rest of the line is read as usual
        if kind == "wait" and u.intent == "service_inquiry" and u.services:
            return False  # "how long does a brake job take, can I wait for it?": the service question is answered too
        if in_request:
            self.anything_else()
        else:
            self.say(st.last_prompt)
        return True

    def transport_requested(self, u: nlu.Understanding, kind: str) -> bool:
        """ "Can I get a loaner?" while booking: a request, noted on the booking (when the shop offers it, or has not
        said) and read back with it. True when the turn is complete."""
        st, task = self.st, self.st.task
        if task is None or task.kind != "book" or u.transport != kind or not asks_for_it(u.text):
            return False
        res = self.tool("get_shop_info")
        facts = res.result if res.ok and res.result else {}
        offered = facts.get("loaner_cars" if kind == "loaner" else "shuttle")
        if facts and not offered:
            self.say(*self.shop_fact_sentences(kind))  # none to book: what the shop has instead
        else:
            task.transport = kind
            self.say(TRANSPORT_ACK[kind])
        if st.expect == Expect.CONFIRM and task.chosen:
            self.confirm_prompt()  # read back again, with it
        else:
            self.say(st.last_prompt)
        return True

    @staticmethod
    def asks_more(u: nlu.Understanding, kind: str) -> bool:
        """The line says something besides the question: a day, a request of its own. (A service named in it is
        what the question is about: "when am I coming in for the oil change?")"""
        request = u.intent in ("book", "cancel", "reschedule") and u.scores.get(u.intent, 0) >= 3
        return bool(u.has_when or u.phone or (request and kind != "my_appointment"))

    def shop_fact_sentences(self, kind: str) -> list[str]:
        if kind in _VISIT_FACTS:
            return _VISIT_FACTS[kind](self.shop_info(), self.ctx)
        res = self.tool("get_shop_info")
        sentences = _SHOP_FACTS[kind](res.result) if res.ok and res.result else []
        if not sentences:  # the shop has not entered it: no made-up answer
            return ["I don't have that information here, but a service advisor can tell you."]
        return [s for s in sentences if s]

    def shop_info(self) -> dict[str, Any]:
        """The shop's facts (get_shop_info); {} when the tool failed (the answers then say an advisor confirms)."""
        res = self.tool("get_shop_info")
        return dict(res.result) if res.ok and res.result else {}

    def transport_ack(self, transport: str) -> str:
        """What we say to "I'll wait for it" while booking: waiting only where the shop says customers may (else
        the booking stays a drop-off); when the shop has not said, an advisor confirms and the wish is noted."""
        if transport != "waiter":
            return TRANSPORT_ACK.get(transport, "Got it.")
        info = self.shop_info()
        answer = waiting_answer(info, self.ctx)
        can = may_wait(info)
        if can == "yes":
            return TRANSPORT_ACK["waiter"]
        task = self.st.task
        if can == "no" and task is not None and task.transport == "waiter":
            task.transport = None  # a drop-off, the default
        return " ".join(answer)

    def car_status_sentences(self) -> list[str]:
        """Is the car ready: today's visit as the shop's records say (finished, in, not started yet). What the
        records can't tell is left with an advisor, who calls back; never a guess."""
        ctx = self.ctx
        if ctx.customer_id is None or not ctx.verified:
            self.tool(
                "note_for_advisor", note="caller asked whether their car is ready (account not found on the call)"
            )
            return ["I can't see whose car it is from this number, so I've asked a service advisor to call you back."]
        res = self.tool("get_todays_visits")
        visits = [v for v in (res.result or {}).get("visits", []) if v["status"] != "no_show"] if res.ok else []
        done = [v for v in visits if v["status"] == "completed"]
        if done:
            car = done[-1]["vehicle"] or "car"
            return [
                f"Good news: your {car} is ready. The {services_phrase(done[-1]['services'], article=False)} is done."
            ]
        started = [v for v in visits if v["started"]]
        if started:
            v = started[-1]
            self.tool("note_for_advisor", note=f"caller asked whether their {v['vehicle'] or 'car'} is ready")
            return [
                f"Your {v['vehicle'] or 'car'} is in for {services_phrase(v['services'])} today, and it isn't marked "
                "finished yet. I've asked a service advisor to call you as soon as it's ready."
            ]
        if visits:
            return [
                f"Your {services_phrase(visits[0]['services'], article=False)} is today at "
                f"{visits[0]['label'].split(' at ')[-1]}; we haven't started on it yet."
            ]
        self.tool("note_for_advisor", note="caller asked whether their car is ready; no visit on file today")
        return [
            "I don't see a visit for your car on our schedule today. I've asked a service advisor to check and call "
            "you back."
        ]

    def own_appointment_sentences(self) -> list[str]:
        """When they are coming in: the slot being confirmed, else their booked appointments (a verified caller's
        only; the tool refuses anybody else's)."""
        st, ctx = self.st, self.ctx
        task = st.task
        if task is not None and st.expect == Expect.CONFIRM and task.chosen:
            return []  # the read-back asked again says it, with the weekday and the date
        if ctx.customer_id is None or not ctx.verified:
            return ["I can look up your appointment once I've found your account."]
        res = self.tool("get_upcoming_appointments")
        if not res.ok or res.result is None:
            return ["Sorry, I can't see your appointments right now."]
        appts = res.result["appointments"]
        if not appts:
            return ["I don't see any appointment booked for you yet."]
        items = [f"{services_phrase(a['services'])} on {a['label']}" for a in appts[:3]]
        return [f"You have {join_words(items)}."]
