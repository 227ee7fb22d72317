"""The offline brain: a deterministic dialogue policy over the same tools the OpenAI brain uses.

States (RuleState.phase): greeting, verification, intent, slot_collection, confirmation, execution, closing,
escalation. Within a phase, `expect` says what the last question asked for (a name, a day, a choice among
offered slots, a yes/no...). Each caller line is read with calls.agent.nlu and moves the state on; the world is
only touched through calls.agent.tools.run_tool, so authorisation and the ToolCall log are the tools' business.
The dialogue state lives in ctx.state["rule"], one per call; the sync work runs in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.agent import nlu, rule_hints
from calls.agent.base import Brain
from calls.agent.context import CallContext
from calls.agent.phrases import join_words, services_phrase, spoken_time
from calls.agent.tools import NOT_YOURS, ToolResult, run_tool
from calls.voice.listen_hint import ListenHint

ANYTHING_ELSE = "Is there anything else I can help you with?"
HOW_CAN_I_HELP = "How can I help you today?"
WHAT_ELSE = "What else can I help you with?"
MAX_MISSES = 3  # the third line in a row that doesn't answer our question goes to a human
OFFERS = 3

_EXISTING_CUSTOMER = re.compile(
    r"\b(already (a )?(customer|client)|have an account|been (here|there|in) before|existing customer|"
    r"in (the|your) system|you (should )?have my|im a customer|not new|not a new)\b"
)
_SKIP = re.compile(r"\b(dont know|not sure|skip|no idea|doesnt matter|rather not)\b")
_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
_NEVERMIND = re.compile(r"^(oh )?(never ?mind|forget it|forget about it|scratch that|dont worry about it)\b")
_HELLO = re.compile(r"^(yes |yeah )?(hi|hello|hey|hiya|good (morning|afternoon|evening)|howdy)( there)?$")
_THANKED = re.compile(r"\bThanks, ")
_WHAT_ABOUT = re.compile(r"\b(what|how) about\b|\bopen\b")
# While we ask for a name or ZIP code a make is more likely a surname ("John Ford"): no vehicle hints there.
_IDENTITY_EXPECTS = ("name", "last_name", "postal_code", "vehicle")
_TRANSPORT_ACK = {
    "waiter": "Sure, you can wait at the shop while we work on it.",
    "loaner": "Okay, I'll note that you'd like a loaner car.",
    "shuttle": "Okay, I'll note that you'd like a ride on our shuttle.",
    "drop_off": "Sure, you can drop it off.",
}


@dataclass
class Task:
    kind: str  # book, cancel, reschedule, check, reminder
    service_codes: list[str] = field(default_factory=list)
    service_names: list[str] = field(default_factory=list)
    date: nlu.DatePref | None = None
    time: nlu.TimePref | None = None
    vehicle_id: int | None = None
    vehicle_label: str = ""
    vehicle_hints: list[str] = field(default_factory=list)  # caller lines that may name one of their cars
    transport: str | None = None
    notes: str = ""
    offers: list[dict] = field(default_factory=list)
    chosen: dict | None = None
    appointments: list[dict] | None = None
    appointment: dict | None = None
    ref: int | None = None


@dataclass
class RuleState:
    phase: str = "greeting"
    expect: str = "request"
    task: Task | None = None
    misses: int = 0
    last_prompt: str = ""
    last_reply: list[str] = field(default_factory=list)
    identity: str = ""  # "register" or "verify": why we are asking for a name
    first_name: str = ""
    last_name: str = ""
    verify_failures: int = 0
    customer: dict | None = None  # lookup/register result: names and vehicles
    offered_services: list[str] = field(default_factory=list)
    prompt_cut: bool = False  # the caller barged in before hearing the last question
    reopened: bool = False  # the caller spoke over our goodbye: the call goes on
    topic: str = ""  # what the last answer was about ("hours"), for "what about Thanksgiving?"


def _reopen(st: RuleState) -> None:
    """The goodbye was cut short and the line stays open: listen for what else the caller wants."""
    st.task = None
    st.expect, st.phase = "anything_else", "intent"
    st.last_prompt = WHAT_ELSE
    st.last_reply = []  # "sorry?" must not replay a goodbye that no longer ends the call
    st.misses = 0
    st.reopened = True


def rule_state(ctx: CallContext) -> RuleState:
    st = ctx.state.get("rule")
    if not isinstance(st, RuleState):
        st = ctx.state["rule"] = RuleState()
    return st


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text and not text[:2].isupper() else text


def _vehicle_name(v: dict) -> str:
    make, model = v.get("make") or "", v.get("model") or ""
    if make and model.lower().startswith(make.lower()):
        return model  # "Mazda3", not "Mazda Mazda3"
    return " ".join(p for p in (make, model) if p) or v["label"]


def _vehicle_names(vehicles: list[dict]) -> list[str]:
    """"Jeep Grand Cherokee", "Honda Accord"; with the year only where two would sound alike."""
    short = [_vehicle_name(v) for v in vehicles]
    return [v["label"] if short.count(name) > 1 else name for v, name in zip(vehicles, short, strict=True)]


def _vehicle_short_names(vehicles: list[dict]) -> list[str]:
    """The shortest thing that tells the cars apart: makes ("Jeep or Honda"), else models, else years."""
    for key in ("make", "model", "year"):
        values = [str(v.get(key) or "") for v in vehicles]
        if all(values) and len(set(values)) == len(values):
            return values
    return []


class _Step:
    """One agent turn: read the caller's line, update the state, collect what to say."""

    def __init__(self, ctx: CallContext):
        from scheduling.availability import shop_tz

        self.ctx = ctx
        self.st = rule_state(ctx)
        self.now: datetime = ctx.clock().astimezone(shop_tz())
        self.out: list[str] = []
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
        return run_tool(self.ctx, name, args)

    def finish(self) -> list[str]:
        self.st.last_reply = list(self.out)
        return self.out

    def thanks(self, name: str) -> str:
        """"Thanks, John" -- or "Great, John" when we have just thanked them (twice in a row sounds canned)."""
        just_said = " ".join([*self.st.last_reply, *self.out])
        word = "Great" if _THANKED.search(just_said) else "Thanks"
        return f"{word}, {name}"

    # --- greeting ---------------------------------------------------------------------------------------
    def greet(self) -> list[str]:
        ctx, st = self.ctx, self.st
        shop = settings.SHOP_NAME
        if ctx.customer_id is not None or ctx.caller_number:
            self.load_customer()  # caller ID, or the customer the call is already bound to (names, vehicles)
        name = ctx.customer_name if ctx.customer_id else ""
        if ctx.direction == "outbound" and ctx.appointment_id and ctx.customer_id:
            if self.greet_reminder(name, shop):
                return self.finish()
        if name:
            self.say(f"Hi {name}, thanks for calling {shop}.")
        else:
            self.say(f"Thanks for calling {shop}.")
        self.ask(HOW_CAN_I_HELP, "request", "intent")
        st.phase = "greeting"
        return self.finish()

    def load_customer(self) -> bool:
        res = self.tool("lookup_customer")
        if res.ok and res.result.get("found"):
            self.st.customer = res.result["customer"]
            return True
        return False

    def greet_reminder(self, name: str, shop: str) -> bool:
        res = self.tool("get_upcoming_appointments")
        appts = res.result["appointments"] if res.ok else []
        appt = next((a for a in appts if a["id"] == self.ctx.appointment_id), None)
        if appt is None:
            return False
        self.st.task = Task(kind="reminder", appointments=appts, appointment=appt)
        hello = f"Hi {name}, this is {shop}." if name else f"Hello, this is {shop}."
        self.say(hello)
        self.ask(f"I'm calling to confirm your {services_phrase(appt['services'], article=False)} on "
                 f"{appt['label']}. Will that still work for you?", "reminder_confirm", "confirmation")
        return True

    # --- one caller line --------------------------------------------------------------------------------
    def handle(self, text: str) -> list[str]:
        st = self.st
        self.prompt_cut, st.prompt_cut = st.prompt_cut, False
        if st.expect == "ended":
            if self.ctx.end_requested:
                self.say("Goodbye!")
                return self.finish()
            _reopen(st)  # the session dropped the hang-up: our goodbye was cut short
        if st.expect == "transferred":
            self.say("One moment please, I'm connecting you with a service advisor.")
            return self.finish()
        u = nlu.understand(text, self.now, expect_time=st.expect in ("when", "slot_choice", "confirm"))
        if u.repeat and st.last_reply:
            self.say(*st.last_reply)
            return self.out  # keep last_reply as it was
        if u.intent == "human":
            self.transfer("caller asked for an advisor", "Sure, let me connect you with a service advisor.")
            return self.finish()
        goodbye = u.scores.get("goodbye", 0)
        in_request = st.expect in ("request", "anything_else", "offer_book")
        if u.intent == "goodbye" and (goodbye >= 5 or in_request):
            self.close()
            return self.finish()
        reopened, st.reopened = st.reopened, False
        if reopened and self.nothing_asked(u):  # "wait--", "hold on" over the goodbye
            self.ask(f"Sure. {WHAT_ELSE}", "anything_else", "intent")
            return self.finish()
        if st.expect == "request" and _HELLO.match(nlu.normalize(text)):
            self.ask(f"Hi! {HOW_CAN_I_HELP}", "request", "intent")
            return self.finish()
        if st.task is not None and st.expect != "ended" and _NEVERMIND.search(nlu.normalize(text)):
            self.say("Okay, no problem.")
            self.anything_else()
            return self.finish()
        wants_when = st.expect in ("when", "slot_choice", "confirm") and u.has_when
        asks = u.intent in ("hours", "service_inquiry") and u.scores.get(u.intent, 0) >= 3
        if not in_request and asks and (u.intent == "hours" or not wants_when):
            # A question in the middle of a booking: answer it, then ask again what we were asking.
            self.side_question_or_miss(u)
            return self.finish()
        task = st.task
        booking = task is not None and task.kind == "book"
        if booking and st.expect not in _IDENTITY_EXPECTS:
            task.vehicle_hints.append(u.text)
        noted_transport = bool(booking and u.transport and u.transport != task.transport)
        if noted_transport:
            task.transport = u.transport
        switched = booking and st.expect in ("when", "slot_choice") and self.switch_vehicle(u)
        handler = getattr(self, f"on_{st.expect}", None)
        if handler is not None and handler(u):
            st.misses = 0
        elif self.absorb(u) or noted_transport or switched:
            if noted_transport:
                ack = _TRANSPORT_ACK.get(u.transport, "Got it.")
            elif switched:
                ack = f"Okay, your {task.vehicle_label}."
            else:
                ack = "Got it."
            self.noted(ack)
        else:
            self.side_question_or_miss(u)
        return self.finish()

    @staticmethod
    def nothing_asked(u: nlu.Understanding) -> bool:
        return (u.intent == "other" and u.yes_no is None and not u.services and not u.has_when
                and u.appointment_ref is None)

    def absorb(self, u: nlu.Understanding) -> bool:
        """Keep an answer to a question we have not asked yet ("any time next week" while choosing the car).

        True only when it told us something new: hearing again what we already know is no progress."""
        task = self.st.task
        if task is None or self.st.expect not in ("vehicle_choice", "service", "appointment_choice", "name",
                                                  "last_name", "vehicle"):
            return False
        taken = False
        if u.has_when and task.kind != "cancel":
            taken = self.take_when(u)
        codes = [s.code for s in u.services]
        if codes and task.kind == "book" and self.st.expect != "service" and set(codes) != set(task.service_codes):
            self.set_services(task, codes, [s.name for s in u.services])
            taken = True
        return taken

    def take_when(self, u: nlu.Understanding) -> bool:
        """Keep the day and time the caller gave; True when they differ from what we had."""
        task = self.st.task
        before = (task.date, task.time)
        if u.date is not None:
            task.date = nlu.within(u.date, task.date)
        if u.time is not None:
            task.time = u.time
        return (task.date, task.time) != before

    def noted(self, ack: str) -> None:
        """Something useful that doesn't answer our question: say so and ask again. It counts toward the
        misunderstanding limit all the same, so a recogniser that keeps hearing "the morning" can't loop."""
        st = self.st
        st.misses += 1
        if st.misses >= MAX_MISSES:
            self.transfer("caller not understood",
                          "I'm sorry, I'm having trouble understanding. Let me connect you with a service advisor.")
            return
        self.say(ack, st.last_prompt)

    def side_question_or_miss(self, u: nlu.Understanding) -> None:
        st = self.st
        if u.intent == "hours":
            self.answer_hours(u)
            self.say(st.last_prompt)
            return
        if u.intent == "service_inquiry":
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
            self.transfer("caller not understood",
                          "I'm sorry, I'm having trouble understanding. Let me connect you with a service advisor.")
            return
        if st.misses == 1:
            options = self.options_question()
            if options:
                self.say(f"Sorry, {_lower_first(options)}")
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
        if st.expect == "vehicle_choice":
            names = _vehicle_names((st.customer or {}).get("vehicles", []))
            return f"Which car is it for: {join_words([f'the {n}' for n in names], 'or')}?" if names else ""
        if st.expect == "slot_choice" and task.offers:
            if len(task.offers) == 1:
                return f"Does {task.offers[0]['label']} work for you?"
            if len({o["date"] for o in task.offers}) == 1:
                times = join_words([o["time_label"] for o in task.offers], "or")
                return f"Which time on {task.offers[0]['day_label']} would you like: {times}?"
            return f"Which one would you like: {join_words([o['label'] for o in task.offers], 'or')}?"
        if st.expect == "appointment_choice" and task.appointments:
            items = [f"the {services_phrase(a['services'], article=False)} on {a['label']}"
                     for a in task.appointments[:4]]
            return f"Which appointment: {join_words(items, 'or')}?"
        return ""

    def hint(self) -> str:
        st = self.st
        if st.expect in ("request", "anything_else", "offer_book"):
            return ("I can book, move or cancel a service appointment, check the one you have, or tell you our "
                    "hours and prices. What would you like to do?")
        if st.expect in ("name", "last_name"):
            return "Please tell me your first and last name."
        if st.expect == "postal_code":
            return "Please say the five digits of your ZIP code."
        if st.expect == "vehicle":
            return "What's the year, make and model of your car? For example, a 2018 Honda Civic."
        if st.expect == "service":
            return f"We do {self.service_list()}. Which one do you need?"
        if st.expect == "when":
            return "Which day works for you? For example, tomorrow morning or next Tuesday."
        if st.expect == "confirm":
            return f"Please say yes to go ahead, or no to change it. {st.last_prompt}"
        options = self.options_question()
        if options and st.expect == "vehicle_choice":
            short = _vehicle_short_names((st.customer or {}).get("vehicles", []))
            return f"{options} You can just say {join_words(short, 'or')}." if short else options
        if options and st.expect == "slot_choice":
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
        self.st.expect, self.st.phase = "ended", "closing"

    def transfer(self, reason: str, sentence: str) -> None:
        self.say(sentence, "One moment please.")
        self.tool("transfer_to_advisor", reason=reason)
        self.st.task = None
        self.st.expect, self.st.phase = "transferred", "escalation"

    def anything_else(self) -> None:
        self.st.task = None
        self.ask(ANYTHING_ELSE, "anything_else", "intent")

    # --- requests ---------------------------------------------------------------------------------------
    def on_request(self, u: nlu.Understanding) -> bool:
        st = self.st
        intent = u.intent
        if intent == "other" and u.services:
            intent = "book"
        if intent == "other" and u.appointment_ref is not None:
            intent = "check"
        if st.expect in ("anything_else", "offer_book") and intent in ("other", "goodbye"):
            if u.yes_no == "no" or intent == "goodbye":
                self.close()
                return True
            if u.yes_no == "yes":
                self.ask("Sure, what can I help you with?", "request", "intent")
                return True
        if intent in ("book", "cancel", "reschedule", "check"):
            self.start_task(intent, u)
            return True
        if intent == "other" and u.date is not None and u.date.single_day and (
            st.topic == "hours" or _WHAT_ABOUT.search(nlu.normalize(u.text))
        ):
            intent = "hours"  # "what about Thanksgiving?" after the hours, or on its own
        if intent == "hours":
            self.answer_hours(u)
            self.anything_else()
            return True
        if intent == "service_inquiry":
            self.answer_services(u, offer=True)
            return True
        if intent == "goodbye":
            self.close()
            return True
        return False

    on_anything_else = on_request

    def on_offer_book(self, u: nlu.Understanding) -> bool:
        if u.intent in ("cancel", "reschedule", "check", "hours", "service_inquiry"):
            return self.on_request(u)
        if u.yes_no == "yes" or u.intent == "book" or u.services or u.has_when:
            self.start_task("book", u, default_services=self.st.offered_services)
            return True
        return self.on_request(u)

    def answer_hours(self, u: nlu.Understanding) -> None:
        day = u.date.single_day if u.date else None
        res = self.tool("get_business_hours", **({"date": day.isoformat()} if day else {}))
        if not res.ok:
            self.say(f"Sorry, {_lower_first(res.error)}")
            return
        self.st.topic = "hours"
        self.say(res.result["day"]["sentence"] if day else res.result["summary"])
        again = res.result.get("next_open") if day else None
        if again:
            self.say(f"We'll be open again on {again['label']}, {again['hours']}.")

    def answer_services(self, u: nlu.Understanding, *, offer: bool) -> None:
        st = self.st
        codes = [s.code for s in u.services] or (
            st.offered_services or (st.task.service_codes if st.task is not None else [])
        )
        if codes:
            res = self.tool("get_services", codes=codes)
            items = res.result["services"] if res.ok else []
            self.say(*[s["sentence"] for s in items])
            st.offered_services = [s["code"] for s in items]
            if offer:
                self.ask("Would you like to book it?" if len(items) == 1 else "Would you like to book an appointment?",
                         "offer_book", "intent")
            return
        self.say(f"We do {self.service_list()}.")
        st.offered_services = []
        if offer:
            self.ask("Would you like to book an appointment?", "offer_book", "intent")

    def start_task(self, kind: str, u: nlu.Understanding, *, default_services: list[str] | None = None,
                   advance: bool = True) -> Task:
        task = Task(kind=kind, date=u.date, time=u.time, transport=u.transport, ref=u.appointment_ref)
        self.st.topic = ""
        if kind == "book":
            task.vehicle_hints.append(u.text)
            codes = [s.code for s in u.services] or list(default_services or [])
            self.set_services(task, codes, names=[s.name for s in u.services] or None)
            if u.services and u.intent != "service_inquiry":
                task.notes = f"Caller said: {u.text.strip()[:300]}"
        self.st.task = task
        if advance:
            self.advance()
        return task

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

    # --- identity ---------------------------------------------------------------------------------------
    def ensure_identity(self, purpose: str) -> bool:
        ctx, st = self.ctx, self.st
        if ctx.customer_id is not None and ctx.verified:
            if st.customer is None:
                self.load_customer()
            return True
        from crm.phones import try_normalize_phone

        if purpose == "register" and not try_normalize_phone(ctx.caller_number or ""):
            st.identity = "verify"
            self.ask("I can't see your phone number, so I can only book for existing customers. "
                     "What's your first and last name?", "name", "verification")
            return False
        st.identity = purpose
        if purpose == "register":
            self.ask("I don't see this phone number in our system, so let me set you up. "
                     "What's your first and last name?", "name", "verification")
        else:
            self.ask("Sure. First I need to find your account. What's your first and last name?", "name",
                     "verification")
        return False

    def on_name(self, u: nlu.Understanding) -> bool:
        st = self.st
        norm = nlu.normalize(u.text)
        name = nlu.parse_name(u.text, bare_ok=True)
        if st.identity == "register" and _EXISTING_CUSTOMER.search(norm):
            st.identity = "verify"
            if name is None or not name[1]:
                self.ask("Okay, let me find your account. What's your first and last name?", "name", "verification")
                return True
        if name is None:
            return False
        st.first_name, st.last_name = name
        if not st.last_name:
            self.ask(f"{self.thanks(st.first_name)}. And your last name?", "last_name", "verification")
            return True
        self.after_name()
        return True

    def on_last_name(self, u: nlu.Understanding) -> bool:
        st = self.st
        name = nlu.parse_name(u.text, bare_ok=True)
        if name is None:
            if st.identity == "register" and _SKIP.search(nlu.normalize(u.text)):
                self.after_name()
                return True
            return False
        st.last_name = name[1] or name[0]
        self.after_name()
        return True

    def after_name(self) -> None:
        st = self.st
        if st.identity == "register":
            self.ask(f"{self.thanks(st.first_name)}. What's the year, make and model of your car?", "vehicle",
                     "verification")
        else:
            self.ask(f"{self.thanks(st.first_name)}. And what's the ZIP code on your account?", "postal_code",
                     "verification")

    def on_postal_code(self, u: nlu.Understanding) -> bool:
        st = self.st
        code = nlu.parse_postal_code(u.text)
        if code is None:
            return False
        res = self.tool("lookup_customer", first_name=st.first_name, last_name=st.last_name, postal_code=code)
        if not res.ok:
            self.transfer("could not verify the caller", f"Sorry, {_lower_first(res.error)}")
            return True
        if res.result["found"]:
            st.customer = res.result["customer"]
            self.say(f"{self.thanks(st.customer['first_name'])}, I found your account.")
            self.advance()
            return True
        st.verify_failures += 1
        if st.verify_failures >= 2:
            self.transfer("could not verify the caller",
                          "I'm sorry, I still can't find an account with those details. "
                          "Let me connect you with a service advisor.")
            return True
        self.say("Sorry, I couldn't find an account with that name and ZIP code.")
        self.ask("Let's try once more. What's your first and last name?", "name", "verification")
        return True

    def on_vehicle(self, u: nlu.Understanding) -> bool:
        st = self.st
        vehicle = nlu.parse_vehicle(u.text, bare_ok=True, now=self.now)
        if vehicle is None and not _SKIP.search(nlu.normalize(u.text)):
            return False
        args: dict[str, Any] = {"first_name": st.first_name, "last_name": st.last_name}
        if vehicle is not None:
            args.update(vehicle_make=vehicle.make, vehicle_model=vehicle.model)
            if vehicle.year:
                args["vehicle_year"] = vehicle.year
        res = self.tool("register_customer", **args)
        if not res.ok:
            self.transfer("could not register the caller",
                          f"Sorry, {_lower_first(res.error)} Let me connect you with a service advisor.")
            return True
        st.customer = res.result["customer"]
        if res.result.get("vehicle") and st.task is not None:
            st.task.vehicle_id = res.result["vehicle"]["id"]
            st.task.vehicle_label = res.result["vehicle"]["label"]
        self.say(f"{self.thanks(st.first_name)}, you're all set up.")
        self.advance()
        return True

    # --- booking ----------------------------------------------------------------------------------------
    def advance_booking(self) -> None:
        st, task = self.st, self.st.task
        if not self.ensure_identity("register"):
            return
        if not task.service_codes:
            self.ask("What service does your car need?", "service", "slot_collection")
            return
        vehicles = (st.customer or {}).get("vehicles", [])
        if task.vehicle_id is None and len(vehicles) == 1:
            task.vehicle_id, task.vehicle_label = vehicles[0]["id"], vehicles[0]["label"]
        if task.vehicle_id is None and len(vehicles) > 1:
            # "an oil change for the jeep": the car named anywhere in what they said so far, latest first
            picked = next((i for i in (nlu.pick_vehicle(t, vehicles) for t in reversed(task.vehicle_hints))
                           if i is not None), None)
            if picked is not None:
                task.vehicle_id, task.vehicle_label = vehicles[picked]["id"], vehicles[picked]["label"]
        if task.vehicle_id is None and len(vehicles) > 1:
            labels = [v["label"] for v in vehicles]
            self.ask(f"Is this for your {join_words(labels, 'or your')}?", "vehicle_choice", "slot_collection")
            return
        if task.date is None and task.time is None:
            self.ask("What day works best for you?", "when", "slot_collection")
            return
        if task.chosen is None:
            self.search_and_offer()
            return
        self.confirm_prompt()

    def on_service(self, u: nlu.Understanding) -> bool:
        if not u.services:
            if u.has_when:
                self.merge_when(u)
                self.ask("Sure. And what service does your car need?", "service", "slot_collection")
                return True
            return False
        self.set_services(self.st.task, [s.code for s in u.services], [s.name for s in u.services])
        if u.has_when:
            self.merge_when(u)
        self.advance()
        return True

    def on_vehicle_choice(self, u: nlu.Understanding) -> bool:
        vehicles = (self.st.customer or {}).get("vehicles", [])
        idx = nlu.pick_vehicle(u.text, vehicles)
        if idx is None:
            idx = nlu.parse_ordinal_choice(u.text, len(vehicles))
        if idx is None:
            return False
        task = self.st.task
        task.vehicle_id, task.vehicle_label = vehicles[idx]["id"], vehicles[idx]["label"]
        if u.has_when:  # "the jeep, tomorrow morning"
            self.take_when(u)
        self.advance()
        return True

    def switch_vehicle(self, u: nlu.Understanding) -> bool:
        """The caller names another of their cars than the one the booking is for: take it."""
        task = self.st.task
        vehicles = (self.st.customer or {}).get("vehicles", [])
        if len(vehicles) < 2:
            return False
        idx = nlu.pick_vehicle(u.text, vehicles)
        if idx is None or vehicles[idx]["id"] == task.vehicle_id:
            return False
        task.vehicle_id, task.vehicle_label = vehicles[idx]["id"], vehicles[idx]["label"]
        return True

    def on_when(self, u: nlu.Understanding) -> bool:
        if not u.has_when:
            return False
        self.merge_when(u)
        self.search_and_offer()
        return True

    def merge_when(self, u: nlu.Understanding) -> None:
        task = self.st.task
        if u.date is not None:
            task.date = nlu.within(u.date, task.date)
        if u.time is not None:
            task.time = u.time
        task.chosen = None
        task.offers = []

    def search_and_offer(self) -> None:
        task = self.st.task
        args: dict[str, Any] = {"services": task.service_codes, "limit": OFFERS}
        if task.date is not None:
            if task.date.days:
                args["dates"] = [d.isoformat() for d in task.date.days]
            else:
                args["date_from"], args["date_to"] = task.date.start.isoformat(), task.date.end.isoformat()
        if task.time is not None and task.time.to_param():
            args["time_preference"] = task.time.to_param()
        elif task.date is not None and task.date.soonest:
            args["time_preference"] = "soonest"
        if task.kind in ("reschedule", "reminder") and task.appointment:
            args["exclude_appointment_id"] = task.appointment["id"]
        res = self.tool("get_available_slots", **args)
        if not res.ok:
            self.say(f"Sorry, {_lower_first(res.error)}")
            self.ask("What other day would work for you?", "when", "slot_collection")
            return
        data = res.result
        slots = sorted(data["slots"], key=lambda s: s["start"])
        if not slots:
            self.transfer("no availability found",
                          "I'm sorry, I don't have any openings for that in the next few weeks. "
                          "Let me connect you with a service advisor.")
            return
        exact = task.time.exact if task.time else None
        day = task.date.single_day if task.date else None
        if exact and data["matched_preference"]:
            hit = next((s for s in slots if s["time"] == f"{exact:%H:%M}"
                        and (day is None or s["date"] == day.isoformat())), None)
            if hit is not None:
                task.chosen, task.offers = hit, [hit]
                self.confirm_prompt()
                return
        lead = "I have"
        if data["beyond_period"]:
            self.say(self.nothing_then(data))
            lead = "The next openings are"
        elif not data["matched_preference"]:
            on_day = f" on {task.date.label}" if day else ""
            if exact and data.get("off_grid"):
                self.say(f"We book {data['grid']}.")  # 12:45 is never a start time: say why, not "unavailable"
            elif exact:
                self.say(f"Sorry, {spoken_time(exact)} isn't available{on_day}.")
            else:
                self.say(f"Sorry, I don't have anything {task.time.label if task.time else 'then'}{on_day}.")
            lead = "The closest I have are" if len(slots) > 1 else "The closest I have is"
        task.offers = slots
        question = "Which works best for you?" if len(slots) > 1 else "Does that work for you?"
        self.ask(f"{self.offers_sentence(lead, slots)} {question}", "slot_choice", "slot_collection")

    def nothing_then(self, data: dict) -> str:
        note = data.get("note", "")
        reason = note.split(" These are the next openings")[0].strip()
        if reason.startswith("There are no openings"):
            label = self.st.task.date.label if self.st.task.date else "then"
            return f"Sorry, I don't have any openings {label}."
        return reason or "Sorry, I don't have anything then."

    @staticmethod
    def offers_sentence(lead: str, slots: list[dict]) -> str:
        days = {s["date"] for s in slots}
        if len(days) == 1:
            times = [s["time_label"] for s in slots]
            return f"{lead} {slots[0]['day_label']} at {join_words(times, 'or')}."
        return f"{lead} {join_words([s['label'] for s in slots], 'or')}."

    def pick_offer(self, u: nlu.Understanding, offers: list[dict]) -> int | None:
        said = nlu.normalize(u.text)
        has_month = re.search(r"\b(of|january|february|march|april|may|june|july|august|september|october|"
                              r"november|december)\b", said)
        idx = nlu.parse_ordinal_choice(u.text, len(offers))
        if idx is not None and not has_month:
            return idx
        if nlu.any_choice(u.text):
            return 0
        day = u.date.single_day if u.date else None
        candidates = list(range(len(offers)))
        if day is not None:
            candidates = [i for i in candidates if offers[i]["date"] == day.isoformat()]
        if u.time is not None and u.time.exact:
            candidates = [i for i in candidates if offers[i]["time"] == f"{u.time.exact:%H:%M}"]
        elif u.time is not None:
            return None  # a new window ("afternoon"): search again
        if (day is not None or (u.time and u.time.exact)) and candidates:
            return candidates[0]
        if u.yes_no == "yes" and len(offers) == 1 and day is None and u.time is None:
            return 0
        return None

    def on_slot_choice(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        idx = self.pick_offer(u, task.offers)
        if idx is not None:
            task.chosen = task.offers[idx]
            if u.transport:
                task.transport = u.transport
            self.confirm_prompt()
            return True
        if u.has_when:
            self.merge_when(u)
            self.search_and_offer()
            return True
        if u.yes_no == "no":
            task.offers = []
            self.ask("No problem. What day or time would work better?", "when", "slot_collection")
            return True
        if u.yes_no == "yes" and not self.st.last_prompt.startswith("Which one would you like?"):
            self.ask(f"Which one would you like? {self.offers_sentence('I have', task.offers)}", "slot_choice",
                     "slot_collection")
            return True
        return False

    def confirm_prompt(self) -> None:
        task = self.st.task
        if task.kind == "book":
            vehicle = f" for your {task.vehicle_label}" if task.vehicle_label else ""
            self.ask(f"So that's {services_phrase(task.service_names)} on {task.chosen['label']}{vehicle}. "
                     "Shall I book it?", "confirm", "confirmation")
        elif task.kind in ("reschedule", "reminder") and task.chosen:
            appt = task.appointment
            self.ask(f"So I'll move your {services_phrase(appt['services'], article=False)} from {appt['label']} "
                     f"to {task.chosen['label']}. Is that right?", "confirm", "confirmation")
        elif task.kind == "cancel":
            appt = task.appointment
            self.ask(f"I see your {services_phrase(appt['services'], article=False)} on {appt['label']}. "
                     "Do you want me to cancel it?", "confirm", "confirmation")

    def on_confirm(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        chosen = task.chosen or {}
        same = (u.time is None or (u.time.exact and chosen.get("time") == f"{u.time.exact:%H:%M}")) and (
            u.date is None or (u.date.single_day and chosen.get("date") == u.date.single_day.isoformat())
        )
        new_when = u.has_when and not same
        if task.kind == "book" and self.switch_vehicle(u):  # "no, it's for the Honda"
            if new_when:
                self.merge_when(u)
                self.search_and_offer()
            else:
                self.confirm_prompt()
            return True
        if u.yes_no == "yes" and not new_when:
            if self.prompt_cut:
                self.say("Just to be sure.")
                self.confirm_prompt()
                return True
            if u.transport:
                task.transport = u.transport
            self.execute()
            return True
        if task.kind == "cancel" and (u.yes_no == "no" or new_when):
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        if new_when:
            self.merge_when(u)
            self.search_and_offer()
            return True
        if u.yes_no == "no":
            task.chosen, task.offers = None, []
            self.ask("No problem. What day or time would work better?", "when", "slot_collection")
            return True
        if task.kind == "book" and u.services:
            self.set_services(task, [s.code for s in u.services], [s.name for s in u.services])
            task.chosen = None
            self.advance()
            return True
        return False

    def execute(self) -> None:
        st, task = self.st, self.st.task
        st.phase = "execution"
        if task.kind == "book":
            args: dict[str, Any] = {"services": task.service_codes, "start": task.chosen["start"]}
            if task.vehicle_id:
                args["vehicle_id"] = task.vehicle_id
            if task.transport:
                args["transport"] = task.transport
            if task.notes:
                args["notes"] = task.notes[:500]
            res = self.tool("book_appointment", **args)
            if res.ok:
                appt = res.result["appointment"]
                self.say(f"You're all set: {services_phrase(appt['services'])} on {appt['label']}. We'll see you then.")
                self.anything_else()
                return
        elif task.kind in ("reschedule", "reminder"):
            res = self.tool("reschedule_appointment", appointment_id=task.appointment["id"],
                            new_start=task.chosen["start"])
            if res.ok:
                appt = res.result["appointment"]
                self.say(f"Done. Your {services_phrase(appt['services'], article=False)} is now on {appt['label']}.")
                self.anything_else()
                return
        else:
            res = self.tool("cancel_appointment", appointment_id=task.appointment["id"],
                            reason="cancelled by the caller on the phone")
            if res.ok:
                appt = res.result["appointment"]
                self.say(f"Done. Your {services_phrase(appt['services'], article=False)} on {appt['label']} "
                         "is cancelled.")
                self.anything_else()
                return
        self.say(f"Sorry, {_lower_first(res.error)}")
        if task.kind == "cancel":
            self.anything_else()
            return
        task.chosen, task.offers = None, []
        self.search_and_offer()

    # --- cancel, reschedule, check ------------------------------------------------------------------------
    def advance_account_task(self) -> None:
        st, task = self.st, self.st.task
        if not self.ensure_identity("verify"):
            return
        if task.appointments is None:
            res = self.tool("get_upcoming_appointments")
            if not res.ok:
                self.transfer("could not list appointments", f"Sorry, {_lower_first(res.error)}")
                return
            task.appointments = res.result["appointments"]
        appts = task.appointments
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
            self.ask("Would you like to book one?", "offer_book", "intent")
            return
        if task.kind == "check":
            if len(appts) == 1:
                a = appts[0]
                self.say(f"You have {services_phrase(a['services'])} on {a['label']}.")
            else:
                self.say(self.appointments_list(appts, shown=3))
            self.anything_else()
            return
        if task.appointment is None:
            picked = self.match_appointments(appts, task.date, task.time, [])
            if picked is not None:
                task.appointment = appts[picked]
                task.date = task.time = None  # they described the appointment, not the new time
            elif len(appts) == 1:
                task.appointment = appts[0]
            else:
                verb = "cancel" if task.kind == "cancel" else "move"
                self.ask(f"{self.appointments_list(appts)} Which one would you like to {verb}?",
                         "appointment_choice", "slot_collection")
                return
        if task.kind == "cancel":
            self.confirm_prompt()
            return
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        if task.date is not None or task.time is not None:
            self.search_and_offer()
            return
        self.ask(f"I see your {services_phrase(appt['services'], article=False)} on {appt['label']}. "
                 "What day would you like to move it to?", "when", "slot_collection")

    @staticmethod
    def appointments_list(appts: list[dict], shown: int = 4) -> str:
        """"You have 2 upcoming appointments: an oil change on ..., and ...." (the first `shown` of them)."""
        items = join_words([f"{services_phrase(a['services'])} on {a['label']}" for a in appts[:shown]])
        if len(appts) > shown:
            count = _NUMBER_WORDS.get(shown, shown)
            return f"You have {len(appts)} upcoming appointments. The next {count} are {items}."
        return f"You have {len(appts)} upcoming appointments: {items}."

    @staticmethod
    def match_appointments(appts: list[dict], date: nlu.DatePref | None, time: nlu.TimePref | None,
                           services: list) -> int | None:
        if date is None and time is None and not services:
            return None
        candidates = list(range(len(appts)))
        if date is not None:
            days = {d.isoformat() for d in date.dates()}
            candidates = [i for i in candidates if appts[i]["start"][:10] in days]
        if time is not None:
            candidates = [i for i in candidates if time.contains(datetime.fromisoformat(appts[i]["start"]).time())]
        if services:
            codes = {s.code for s in services}
            candidates = [i for i in candidates if codes & set(appts[i]["service_codes"])]
        return candidates[0] if len(candidates) == 1 else None

    def on_appointment_choice(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        appts = task.appointments or []
        if u.intent == "book" and u.scores.get("book", 0) >= 3:
            return False  # a new request ("I also need to book a brake job"), not a choice
        idx = nlu.parse_ordinal_choice(u.text, len(appts))
        if idx is None:
            idx = self.match_appointments(appts, u.date, u.time, u.services)
        if idx is None and u.appointment_ref is not None:
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
        if task.date is not None and task.appointment["start"][:10] in {d.isoformat() for d in task.date.dates()}:
            task.date = task.time = None  # the day described the appointment, not where to move it
        self.advance_account_task()
        return True

    # --- reminder calls ---------------------------------------------------------------------------------
    def on_reminder_confirm(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if u.intent == "cancel" or (u.scores.get("cancel", 0) >= 4):
            task.kind = "cancel"
            self.confirm_prompt()
            return True
        if u.intent == "reschedule" or (u.yes_no == "no" and u.has_when):
            return self.start_reminder_reschedule(u)
        if u.yes_no == "yes":
            res = self.tool("confirm_appointment", appointment_id=task.appointment["id"])
            if res.ok:
                self.say("Great, you're confirmed. See you then!")
            else:
                self.say(f"Sorry, {_lower_first(res.error)}")
            self.anything_else()
            return True
        if u.yes_no == "no":
            self.ask("No problem. Would you like to move it to another day, or cancel it?", "reminder_change",
                     "intent")
            return True
        return False

    def on_reminder_change(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        if u.intent == "cancel":
            task.kind = "cancel"
            self.confirm_prompt()
            return True
        if u.intent in ("reschedule", "book") or u.has_when or re.search(r"\b(move|another|different|other)\b",
                                                                         nlu.normalize(u.text)):
            return self.start_reminder_reschedule(u)
        if u.yes_no == "no":
            self.say("Okay, I'll leave it as it is.")
            self.anything_else()
            return True
        return False

    def start_reminder_reschedule(self, u: nlu.Understanding) -> bool:
        task = self.st.task
        task.kind = "reschedule"
        appt = task.appointment
        self.set_services(task, appt["service_codes"], appt["services"])
        task.date, task.time = u.date, u.time
        if u.has_when:
            self.search_and_offer()
        else:
            self.ask("What day would work better for you?", "when", "slot_collection")
        return True


def _pieces(parts: list[str]) -> list[str]:
    # Later sentences lead with a space, so a splitter that joins pieces still sees where each one ends.
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


class RuleBrain(Brain):
    """Deterministic, offline, and the fallback when the cloud brain fails mid-call."""

    name = "rules"

    def greet_sync(self, ctx: CallContext) -> list[str]:
        return _Step(ctx).greet()

    def respond_sync(self, ctx: CallContext, caller_text: str) -> list[str]:
        return _Step(ctx).handle(caller_text)

    async def greet(self, ctx: CallContext) -> AsyncIterator[str]:
        parts = await in_db_thread(self.greet_sync, ctx)
        ctx.history.append({"role": "assistant", "content": " ".join(parts)})
        for piece in _pieces(parts):
            yield piece

    async def respond(self, ctx: CallContext, caller_text: str) -> AsyncIterator[str]:
        ctx.history.append({"role": "user", "content": caller_text})
        parts = await in_db_thread(self.respond_sync, ctx, caller_text)
        # Appended here, not in the worker thread: a reply abandoned while it was being worked out (the
        # caller pressed 0, or hung up) was never heard and stays out of the history.
        ctx.history.append({"role": "assistant", "content": " ".join(parts)})
        for piece in _pieces(parts):
            yield piece

    def listening_hint(self, ctx: CallContext) -> ListenHint | None:
        return rule_hints.listening_hint(rule_state(ctx))

    def interrupted(self, ctx: CallContext, spoken_text: str) -> None:
        st = rule_state(ctx)
        for message in reversed(ctx.history):
            if message.get("role") == "assistant":
                message["content"] = spoken_text
                break
        if st.expect == "ended":
            # The caller spoke over our goodbye; the session keeps the line open, so answer what they say next
            # as a new request rather than with another goodbye.
            _reopen(st)
            return
        # A "yes" that cut the question short is not an answer to it: ask again before acting.
        if st.last_prompt and st.last_prompt not in spoken_text:
            st.prompt_cut = True
