"""One agent turn of the rule policy: read the caller's line, update the state, collect what to say.

The output helpers, the miss/hint machinery, hand-over and goodbye, and `collect` (every slot the caller gave,
whatever we asked) are shared by every flow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings

from calls.agent import nlu
from calls.agent.actions import Action, action_from_tool
from calls.agent.context import CallContext
from calls.agent.flows.common import (
    ANYTHING_ELSE,
    HOW_CAN_I_HELP,
    MAX_MISSES,
    THANKED,
    lower_first,
    vehicle_names,
    vehicle_short_names,
)
from calls.agent.flows.state import IDENTITY_EXPECTS, Expect, rule_state
from calls.agent.phrases import join_words, services_phrase
from calls.agent.tools import ToolResult, run_tool


class Turn:
    def __init__(self, ctx: CallContext):
        from scheduling.availability import shop_tz

        self.ctx = ctx
        self.st = rule_state(ctx)
        self.now: datetime = ctx.clock().astimezone(shop_tz())
        self.out: list[str] = []
        self.actions: list[Action] = []  # hand-over or hang-up, for the session once the reply is spoken
        self.prompt_cut = False

    # --- output helpers ---------------------------------------------------------------------------------
    def say(self, *texts: str) -> None:
        self.out.extend(t for t in texts if t)

    def ask(self, prompt: str, expect: str, phase: str) -> None:
        self.say(prompt)
        self.st.last_prompt = prompt
        self.st.expect = expect
        self.st.phase = phase

    def tool(self, name: str, **args: Any) -> ToolResult:
        res = run_tool(self.ctx, name, args)
        action = action_from_tool(res.result) if res.ok else None
        if action is not None:
            self.actions.append(action)
        return res

    def finish(self) -> list[str]:
        self.st.last_reply = list(self.out)
        return self.out

    def thanks(self, name: str) -> str:
        """ "Thanks, John" -- or "Great, John" when we have just thanked them (twice in a row sounds canned)."""
        just_said = " ".join([*self.st.last_reply, *self.out])
        word = "Great" if THANKED.search(just_said) else "Thanks"
        return f"{word}, {name}"

    @staticmethod
    def nothing_asked(u: nlu.Understanding) -> bool:
        return (
            u.intent == "other" and u.yes_no is None and not u.services and not u.has_when and u.appointment_ref is None
        )

    def collect(self, u: nlu.Understanding) -> str:
        """Keep every slot the caller gave, whatever we asked ("any time next week" while choosing the car, "Sam
        Porter, I drive a 2012 Focus" when asked the name). What the current question asks for is left to its
        handler. Returns what was new ("when", "services", "vehicle", "name", "car"), or "" when nothing was:
        hearing again what we already know is no progress."""
        st, task = self.st, self.st.task
        if task is None:
            return ""
        expect = st.expect
        taken = ""
        # (not while proving who they are: "Wednesday" there is the day of the appointment they already have; nor
        # while choosing among their appointments: "the Wednesday one" is which, not where to (flows.choosing))
        if (
            u.has_when
            and task.kind != "cancel"
            and expect not in (Expect.EXTRA_FACT, Expect.POSTAL_CODE)
            and expect in (Expect.VEHICLE_CHOICE, Expect.SERVICE, *IDENTITY_EXPECTS)
        ):
            taken = "when" if self.take_when(u) else taken
        codes = [s.code for s in u.services]
        if (
            codes
            and task.kind == "book"
            and set(codes) != set(task.service_codes)
            and expect not in (Expect.SERVICE, Expect.CONFIRM, Expect.SLOT_CHOICE, Expect.WHEN)
        ):
            self.set_services(task, codes, [s.name for s in u.services])
            taken = "services"
        vehicles = (st.customer or {}).get("vehicles", [])
        if (
            task.kind == "book"
            and len(vehicles) > 1
            # (answering "you already have one for the Tacoma": that car is the one warned about, not the booking's)
            and expect not in (Expect.VEHICLE_CHOICE, Expect.WHEN, Expect.SLOT_CHOICE, Expect.CONFIRM, Expect.DUPLICATE)
        ):
            idx = nlu.pick_vehicle(u.kept or u.text, vehicles)
            other_visit = idx is not None and any(c.vehicle_id == vehicles[idx]["id"] for c in task.companions)
            if idx is not None and vehicles[idx]["id"] != task.vehicle_id and not other_visit:
                task.vehicle_id, task.vehicle_label = vehicles[idx]["id"], vehicles[idx]["label"]
                taken = "vehicle"
        if self.ctx.customer_id is None:
            taken = self.collect_identity(u) or taken
        return taken

    def take_when(self, u: nlu.Understanding) -> bool:
        """Keep the day and time the caller gave; True when they differ from what we had."""
        task = self.st.task
        before = (task.date, task.time)
        if u.date is not None:
            task.date = self.date_in_discussion(u.date)
        if u.time is not None:
            task.time = u.time
        return (task.date, task.time) != before

    def noted(self, ack: str) -> None:
        """Something useful that doesn't answer our question: say so and ask again. It counts toward the
        misunderstanding limit all the same, so a recogniser that keeps hearing "the morning" can't loop."""
        st = self.st
        st.misses += 1
        if st.misses >= MAX_MISSES:
            self.transfer(
                "caller not understood",
                "I'm sorry, I'm having trouble understanding. Let me connect you with a service advisor.",
            )
            return
        self.say(ack, st.last_prompt)

    def side_question_or_miss(self, u: nlu.Understanding) -> None:
        st = self.st
        if u.intent in ("hours", "service_inquiry"):
            # (both, when both are asked: "when do you close Friday, and how long does it take?")
            if u.intent == "hours" or u.scores.get("hours", 0) >= 3:
                self.answer_hours(u)
            if u.intent == "service_inquiry" or u.scores.get("service_inquiry", 0) >= 3:
                self.answer_services(u, offer=False)
            self.say(st.last_prompt)
            return
        if u.intent in ("book", "cancel", "reschedule", "check") and u.scores.get(u.intent, 0) >= 3:
            self.start_task(u.intent, u)
            return
        self.miss()

    def miss(self) -> None:
        st = self.st
        st.misses += 1
        if st.misses >= MAX_MISSES:
            self.transfer(
                "caller not understood",
                "I'm sorry, I'm having trouble understanding. Let me connect you with a service advisor.",
            )
            return
        if st.misses == 1:
            options = self.options_question()
            if options:
                self.say(f"Sorry, {lower_first(options)}")
                return
            self.say("Sorry, I didn't catch that.")
            self.say(st.last_prompt or HOW_CAN_I_HELP)
            return
        self.say("Sorry, I'm still not getting it.")
        self.say(self.hint())

    def options_question(self) -> str:
        """The question of a choice, put with its options: "Which car is it for: the Jeep ... or the Honda ...?"."""
        st, task = self.st, self.st.task
        if task is None:
            return ""
        if st.expect == Expect.VEHICLE_CHOICE:
            names = vehicle_names((st.customer or {}).get("vehicles", []))
            return f"Which car is it for: {join_words([f'the {n}' for n in names], 'or')}?" if names else ""
        if st.expect == Expect.SLOT_CHOICE and task.offers:
            if len(task.offers) == 1:
                return f"Does {task.offers[0]['label']} work for you?"
            if len({o["date"] for o in task.offers}) == 1:
                times = join_words([o["time_label"] for o in task.offers], "or")
                return f"Which time on {task.offers[0]['day_label']} would you like: {times}?"
            return f"Which one would you like: {join_words([o['label'] for o in task.offers], 'or')}?"
        if st.expect == Expect.APPOINTMENT_CHOICE and task.appointments:
            items = [
                f"the {services_phrase(a['services'], article=False)} on {a['label']}" for a in task.appointments[:4]
            ]
            return f"Which appointment: {join_words(items, 'or')}?"
        return ""

    def hint(self) -> str:
        st = self.st
        if st.expect in (Expect.REQUEST, Expect.ANYTHING_ELSE, Expect.OFFER_BOOK):
            return (
                "I can book, move or cancel a service appointment, check the one you have, or tell you our "
                "hours and prices. What would you like to do?"
            )
        if st.expect in (Expect.NAME, Expect.LAST_NAME):
            return "Please tell me your first and last name."
        if st.expect == Expect.POSTAL_CODE:
            return "Please say the five digits of your ZIP code."
        if st.expect == Expect.EXTRA_FACT:
            return (
                "To make sure it's you, please tell me the make of a car on your account, like Honda or Ford, "
                "or the day of your appointment."
            )
        if st.expect in (Expect.VEHICLE, Expect.VEHICLE_AFTER_VIN):
            return "What's the year, make and model of your car? For example, a 2018 Honda Civic."
        if st.expect == Expect.VIN_CONFIRM:
            return f"Please say yes if that's your car, or tell me its year, make and model. {st.last_prompt}"
        if st.expect == Expect.SERVICE:
            if st.task is not None and st.task.candidates:
                return self.service_prompt(again=True)
            if st.listed_services:  # read out once already
                return "Which service do you need? For example, an oil change or a brake inspection."
            st.listed_services = True
            return f"We do {self.service_list()}. Which one do you need?"
        if st.expect == Expect.WHEN:
            return "Which day works for you? For example, tomorrow morning or next Tuesday."
        if st.expect == Expect.CONFIRM:
            return f"Please say yes to go ahead, or no to change it. {st.last_prompt}"
        options = self.options_question()
        if options and st.expect == Expect.VEHICLE_CHOICE:
            short = vehicle_short_names((st.customer or {}).get("vehicles", []))
            return f"{options} You can just say {join_words(short, 'or')}." if short else options
        if options and st.expect == Expect.SLOT_CHOICE:
            return f"{options} Or tell me another day or time."
        return options or st.last_prompt

    def service_list(self) -> str:
        res = self.tool("get_services")
        names = [s["name"] for s in res.result["services"]] if res.ok else []
        return services_phrase(names, article=False) or "general service and repairs"

    # --- closing and escalation ------------------------------------------------------------------------
    def close(self) -> None:
        self.say(f"Thanks for calling {settings.SHOP_NAME}. Have a great day. Goodbye!")
        self.tool("end_call", reason="caller is done")
        self.st.task = None
        self.st.expect, self.st.phase = Expect.ENDED, "closing"

    def transfer(self, reason: str, sentence: str) -> None:
        self.say(sentence, "One moment please.")
        self.tool("transfer_to_advisor", reason=reason)
        self.st.task = None
        self.st.expect, self.st.phase = Expect.TRANSFERRED, "escalation"

    def anything_else(self) -> None:
        self.st.task = None
        self.ask(ANYTHING_ELSE, Expect.ANYTHING_ELSE, "intent")
