"""The offline brain: a deterministic dialogue policy over the same tools the OpenAI brain uses.

States (RuleState.phase): greeting, verification, intent, slot_collection, confirmation, execution, closing,
escalation. Within a phase, `expect` says what the last question asked for (a name, a day, a choice among
offered slots, a yes/no...). Each caller line is read with calls.agent.nlu and moves the state on; the world is
only touched through calls.agent.tools.run_tool, so authorisation and the ToolCall log are the tools' business.
The dialogue state lives in ctx.state["rule"], one per call; the sync work runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.agent import nlu, rule_hints
from calls.agent.actions import Action, ReplyPiece
from calls.agent.base import Brain
from calls.agent.context import CallContext
from calls.agent.flows.advisor_matters import AdvisorMattersFlow, recall_said, roadside
from calls.agent.flows.appointments import AppointmentsFlow
from calls.agent.flows.booking import BookingFlow
from calls.agent.flows.car_visits import CarVisitsFlow
from calls.agent.flows.choosing import AppointmentChoiceFlow
from calls.agent.flows.common import (
    HELLO,
    HOW_CAN_I_HELP,
    NEVERMIND,
    WHAT_ELSE,
    trouble_said,
)
from calls.agent.flows.corrections import CorrectionFlow
from calls.agent.flows.duplicates import DuplicateBookingFlow
from calls.agent.flows.group_moves import GroupMoveFlow
from calls.agent.flows.identity import IdentityFlow
from calls.agent.flows.preferences import PreferenceFlow
from calls.agent.flows.questions import QuestionFlow
from calls.agent.flows.reminders import ReminderFlow
from calls.agent.flows.requests import RequestFlow
from calls.agent.flows.state import IDENTITY_EXPECTS, Expect, RuleState, reopen, rule_state
from calls.agent.flows.turn import Turn
from calls.agent.flows.undo_cancel import UndoCancelFlow
from calls.agent.flows.vehicles import NewVehicleFlow
from calls.agent.flows.visit_additions import VisitAdditionFlow
from calls.agent.phrases import vehicle_label
from calls.voice.listen_hint import ListenHint

__all__ = ["HANDLERS", "RuleBrain", "RuleState", "rule_state"]


class _Step(
    AdvisorMattersFlow,
    QuestionFlow,
    PreferenceFlow,
    RequestFlow,
    IdentityFlow,
    BookingFlow,
    CarVisitsFlow,
    AppointmentsFlow,
    AppointmentChoiceFlow,
    GroupMoveFlow,
    NewVehicleFlow,
    VisitAdditionFlow,
    DuplicateBookingFlow,
    ReminderFlow,
    CorrectionFlow,
    UndoCancelFlow,
    Turn,
):
    """One agent turn: the flows' handlers over one caller line."""

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
        self.ask(HOW_CAN_I_HELP, Expect.REQUEST, "intent")
        st.phase = "greeting"
        return self.finish()

    # --- one caller line --------------------------------------------------------------------------------
    def handle(self, text: str) -> list[str]:
        st = self.st
        self.prompt_cut, st.prompt_cut = st.prompt_cut, False
        if st.expect == Expect.ENDED:
            # Only a goodbye the caller cut short leaves the line open (the session hangs up after a whole one):
            # what they say now is a new request.
            reopen(st)
        if st.expect == Expect.TRANSFERRED:
            self.say("One moment please, I'm connecting you with a service advisor.")
            return self.finish()
        u = nlu.understand(text, self.now, expect_time=st.expect in (Expect.WHEN, Expect.SLOT_CHOICE, Expect.CONFIRM))
        if st.expect in (Expect.REMINDER_CONFIRM, Expect.REMINDER_CHANGE):
            u = self.reminder_line(u)  # "yes. wait, no, can we do Friday?": what follows the take-back
        if st.expect in (Expect.REMINDER_CONFIRM, Expect.REMINDER_CHANGE) and self.reminder_answer(u):
            return self.finish()  # the shop's call: "mm-hmm", "hold on", "stop calling me", "is this a person?"
        if st.expect == Expect.ANYTHING_ELSE and self.reminder_follow_up(u):
            return self.finish()  # after the reminder's yes: "is the loaner still reserved?", "change it to 11"
        if u.repeat and st.last_reply:
            self.say(*st.last_reply)
            return self.out  # keep last_reply as it was
        if u.intent == "human":
            person = nlu.person_asked_for(u.text)
            if person:  # "can I talk to Mike in service": put through, and the desk told who they asked for
                self.transfer(
                    f"caller asked for {person}",
                    f"Sure, I'll put you through to the service desk and let them know you asked for {person}.",
                )
            else:
                self.transfer("caller asked for an advisor", "Sure, let me connect you with a service advisor.")
            return self.finish()
        goodbye = u.scores.get("goodbye", 0)
        in_request = st.expect in (Expect.REQUEST, Expect.ANYTHING_ELSE, Expect.OFFER_BOOK)
        if u.intent == "goodbye" and (goodbye >= 5 or in_request):
            self.close()
            return self.finish()
        if self.on_details(u):  # "no no, it's Katherine with a K", "my email is ..."
            return self.finish()
        if roadside(text):  # "broke down on the highway, I need a tow": a person, at once
            self.on_roadside()
            return self.finish()
        if recall_said(text) and st.expect in (Expect.REQUEST, Expect.ANYTHING_ELSE, Expect.OFFER_BOOK, Expect.SERVICE):
            self.start_recall()  # "I got a recall notice": the VIN for an advisor, who checks it first
            return self.finish()
        reopened, st.reopened = st.reopened, False
        if reopened and self.nothing_asked(u):  # "wait--", "hold on" over the goodbye
            self.ask(f"Sure. {WHAT_ELSE}", Expect.ANYTHING_ELSE, "intent")
            return self.finish()
        if st.expect == Expect.REQUEST and HELLO.match(nlu.normalize(text)):
            self.ask(f"Hi! {HOW_CAN_I_HELP}", Expect.REQUEST, "intent")
            return self.finish()
        if st.expect == Expect.REQUEST and self.nothing_asked(u) and self.on_introduction_only(u):
            return self.finish()
        if st.expect == Expect.ANYTHING_ELSE and self.on_taken_back_cancel(u):
            return self.finish()
        if st.expect == Expect.OFFER_BOOK and self.on_taken_back_cancel(u, said_outright=True):
            # "book another time instead?" - "wait, don't cancel it" ("move it" is a new time, read below)
            return self.finish()
        if self.kept_after_all(u):  # a move of the reminded visit taken back: "never mind, I'll keep tomorrow"
            return self.finish()
        if st.task is not None and st.expect != Expect.ENDED and NEVERMIND.search(nlu.normalize(text)):
            self.say("Okay, no problem.")
            self.anything_else()
            return self.finish()
        self.resolve_relative(u)  # "an hour later": of the slot being discussed
        if u.question and self.answer_question(u):  # "where are you located?", "when am I coming in?"
            return self.finish()
        wants_when = st.expect in (Expect.WHEN, Expect.SLOT_CHOICE, Expect.CONFIRM) and u.has_when
        asks = u.intent in ("hours", "service_inquiry") and u.scores.get(u.intent, 0) >= 3
        if not in_request and asks and (u.intent == "hours" or not wants_when):
            # A question in the middle of a booking: answer it, then ask again what we were asking.
            self.side_question_or_miss(u)
            return self.finish()
        task = st.task
        booking = task is not None and task.kind == "book"
        if booking and st.expect not in IDENTITY_EXPECTS:
            task.vehicle_hints.append(u.kept or u.text)
        if booking and trouble_said(u):  # "oh, and it grinds when she turns", whatever we had asked
            task.keep_said(u.text)
        noted_transport = bool(booking and u.transport and u.transport != task.transport)
        if noted_transport:
            task.transport = u.transport
        if booking and self.spot_new_car(u):  # "no, it's for my wife's Camry": a car not on their account
            return self.finish()
        switched = booking and st.expect in (Expect.WHEN, Expect.SLOT_CHOICE) and self.switch_vehicle(u)
        collected = self.collect(u)
        handler = HANDLERS.get(st.expect)
        if handler is not None and handler(self, u):
            st.misses = 0
        elif collected or noted_transport or switched:
            if noted_transport:
                ack = self.transport_ack(u.transport)
            elif (switched or collected == "vehicle") and task is not None and task.vehicle_label:
                ack = f"Okay, your {task.vehicle_label}."
            elif collected == "car" and st.new_vehicle:
                car = st.new_vehicle
                ack = f"Okay, a {vehicle_label(car.get('year'), car['make'], car['model'])}."
            else:
                ack = "Got it."
            self.noted(ack)
        else:
            self.side_question_or_miss(u)
        return self.finish()


# What answers the caller's line, by what the last question expected.
HANDLERS: dict[Expect, Callable[[_Step, nlu.Understanding], bool]] = {
    Expect.REQUEST: RequestFlow.on_request,
    Expect.ANYTHING_ELSE: RequestFlow.on_request,
    Expect.OFFER_BOOK: RequestFlow.on_offer_book,
    Expect.NAME: IdentityFlow.on_name,
    Expect.LAST_NAME: IdentityFlow.on_last_name,
    Expect.POSTAL_CODE: IdentityFlow.on_postal_code,
    Expect.EXTRA_FACT: IdentityFlow.on_extra_fact,
    Expect.VEHICLE: IdentityFlow.on_vehicle,
    Expect.VIN_CONFIRM: IdentityFlow.on_vin_confirm,
    Expect.VEHICLE_AFTER_VIN: IdentityFlow.on_vehicle_after_vin,
    Expect.VEHICLE_YEAR: IdentityFlow.on_vehicle_year,
    Expect.SERVICE: BookingFlow.on_service,
    Expect.VEHICLE_CHOICE: BookingFlow.on_vehicle_choice,
    Expect.WHEN: BookingFlow.on_when,
    Expect.SLOT_CHOICE: BookingFlow.on_slot_choice,
    Expect.CONFIRM: BookingFlow.on_confirm,
    Expect.APPOINTMENT_CHOICE: AppointmentsFlow.on_appointment_choice,
    Expect.NEW_CAR: NewVehicleFlow.on_new_car,
    Expect.ADD_CAR: NewVehicleFlow.on_add_car,
    Expect.DUPLICATE: DuplicateBookingFlow.on_duplicate,
    Expect.RECALL_VIN: AdvisorMattersFlow.on_recall_vin,
    Expect.REMINDER_CONFIRM: ReminderFlow.on_reminder_confirm,
    Expect.REMINDER_CHANGE: ReminderFlow.on_reminder_change,
    Expect.REMINDER_CANCEL: ReminderFlow.on_reminder_cancel,
    Expect.REMINDER_EDIT: ReminderFlow.on_reminder_edit,
    Expect.REMINDER_SECOND_CAR: ReminderFlow.on_reminder_second_car,
    Expect.REMINDER_SECOND_VISIT: ReminderFlow.on_reminder_second_visit,
}


def _pieces(parts: list[str]) -> list[str]:
    # Later sentences lead with a space, so a splitter that joins pieces still sees where each one ends.
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


class RuleBrain(Brain):
    """Deterministic, offline, and the fallback when the cloud brain fails mid-call."""

    name = "rules"

    @staticmethod
    def greet_sync(ctx: CallContext) -> tuple[list[str], list[Action]]:
        step = _Step(ctx)
        return step.greet(), step.actions

    @staticmethod
    def respond_sync(ctx: CallContext, caller_text: str) -> tuple[list[str], list[Action]]:
        step = _Step(ctx)
        return step.handle(caller_text), step.actions

    async def greet(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        parts, actions = await in_db_thread(self.greet_sync, ctx)
        ctx.history.append({"role": "assistant", "content": " ".join(parts)})
        for piece in [*_pieces(parts), *actions]:
            yield piece

    async def respond(self, ctx: CallContext, caller_text: str) -> AsyncIterator[ReplyPiece]:
        ctx.history.append({"role": "user", "content": caller_text})
        parts, actions = await in_db_thread(self.respond_sync, ctx, caller_text)
        # Appended here, not in the worker thread: a reply abandoned while it was being worked out (the
        # caller pressed 0, or hung up) was never heard and stays out of the history.
        ctx.history.append({"role": "assistant", "content": " ".join(parts)})
        for piece in [*_pieces(parts), *actions]:
            yield piece

    def listening_hint(self, ctx: CallContext) -> ListenHint | None:
        return rule_hints.listening_hint(rule_state(ctx))

    def interrupted(self, ctx: CallContext, spoken_text: str) -> None:
        st = rule_state(ctx)
        for message in reversed(ctx.history):
            if message.get("role") == "assistant":
                message["content"] = spoken_text
                break
        if st.expect == Expect.ENDED:
            # The caller spoke over our goodbye; the session keeps the line open, so answer what they say next
            # as a new request rather than with another goodbye.
            reopen(st)
            return
        # A "yes" that cut the question short is not an answer to it: ask again before acting.
        if st.last_prompt and st.last_prompt not in spoken_text:
            st.prompt_cut = True
