"""The rule policy's per-call dialogue state: what is being done (Task) and what the last question expects."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from calls.agent import nlu
from calls.agent.context import CallContext
from calls.agent.flows.common import WHAT_ELSE


class Expect(StrEnum):
    """What the last question asked for: the handler of the caller's next line (policy.HANDLERS)."""

    REQUEST = "request"  # how can I help
    ANYTHING_ELSE = "anything_else"
    OFFER_BOOK = "offer_book"  # would you like to book one?
    NAME = "name"
    LAST_NAME = "last_name"
    POSTAL_CODE = "postal_code"
    EXTRA_FACT = "extra_fact"  # a car's make or the appointment's day, to prove who they are
    VEHICLE = "vehicle"  # a new caller's car (or its VIN)
    VIN_CONFIRM = "vin_confirm"
    VEHICLE_AFTER_VIN = "vehicle_after_vin"
    VEHICLE_YEAR = "vehicle_year"  # a new caller's car named without its year ("not sure of the year")
    SERVICE = "service"
    VEHICLE_CHOICE = "vehicle_choice"  # which of their cars
    WHEN = "when"
    SLOT_CHOICE = "slot_choice"
    CONFIRM = "confirm"  # the read-back before anything is written
    APPOINTMENT_CHOICE = "appointment_choice"
    NEW_CAR = "new_car"  # a known caller's car that is not on file: its year, make and model, or VIN
    ADD_CAR = "add_car"  # the read-back of that car before it is added to their account
    DUPLICATE = "duplicate"  # the same service is booked for that car already: another one, or move that one?
    RECALL_VIN = "recall_vin"  # a recall notice: their VIN for the advisor, or a person now
    REMINDER_CONFIRM = "reminder_confirm"
    REMINDER_CHANGE = "reminder_change"
    REMINDER_CANCEL = "reminder_cancel"  # the read-back before a reminder's appointment is cancelled
    REMINDER_EDIT = "reminder_edit"  # the read-back before the reminded visit's services or car change
    REMINDER_SECOND_CAR = "reminder_second_car"  # which of their other cars to book the same day
    REMINDER_SECOND_VISIT = "reminder_second_visit"  # the other car's opening that day, read back
    ENDED = "ended"  # we said goodbye
    TRANSFERRED = "transferred"


# While we ask for a name or ZIP code a make is more likely a surname ("John Ford"), and a make said to prove who
# they are picks no car for the booking: no vehicle hints there.
IDENTITY_EXPECTS = (
    Expect.NAME,
    Expect.LAST_NAME,
    Expect.POSTAL_CODE,
    Expect.EXTRA_FACT,
    Expect.VEHICLE,
    Expect.VIN_CONFIRM,
    Expect.VEHICLE_AFTER_VIN,
    Expect.VEHICLE_YEAR,
)


@dataclass
class Task:
    kind: str  # book, cancel, reschedule, check, reminder
    service_codes: list[str] = field(default_factory=list)
    service_names: list[str] = field(default_factory=list)
    # (code, name) of the services a general word could mean ("an inspection"): which one is asked
    candidates: list[tuple[str, str]] = field(default_factory=list)
    date: nlu.DatePref | None = None
    time: nlu.TimePref | None = None
    vehicle_id: int | None = None
    vehicle_label: str = ""
    vehicle_hints: list[str] = field(default_factory=list)  # caller lines that may name one of their cars
    transport: str | None = None
    notes: str = ""
    offers: list[dict] = field(default_factory=list)
    more: list[dict] = field(default_factory=list)  # the next openings behind a single proposal
    named_hour: tuple[int, int] | None = None  # (hour of 12, minute) the caller said beside a window: "like 5"
    chosen: dict | None = None
    appointments: list[dict] | None = None
    appointment: dict | None = None
    ref: int | None = None
    keep_time: bool = False  # moving it: "same time", another day
    later: bool = False  # moving it: "push it to Thursday": a weekday said is the first one after the appointment
    asked_day: bool = False  # which day of a broad period ("this week") was asked once
    next_only: bool = False  # a check of "the next one" only, not of every appointment they have
    asks_transport: str = ""  # a check that asks about its loaner (shuttle, waiting): "do I have a loaner for it?"
    relative: nlu.RelativeMove | None = None  # "push it back a day", said before we knew which appointment
    # Which appointment(s) a cancel or move is about (flows.choosing): "both of them", "my oil change".
    wants_all: bool = False
    wants_two: bool = False  # "both my Saturday and my Wednesday ones": two meant, whatever the days match
    described: Any = None  # choosing.Said: the words that describe the appointment, apart from where it goes
    listed: list[int] = field(default_factory=list)  # ids of the appointments read out as the ones that fit
    several: list[dict] | None = None  # the appointments chosen together, cancelled (or moved) with one read-back
    group: list[Any] | None = None  # group_moves.GroupMove: each of `several`, moved by the same amount
    group_when: Any = None  # nlu.Understanding: "no, 11" at the group read-back, kept while we ask which one
    # A car the caller named that is not on their account (flows.vehicles): {year, make, model, vin}.
    new_car: dict | None = None
    cars_refused: list[str] = field(default_factory=list)  # new cars read back and declined (vehicles.car_key)
    # The same service already booked for the car (flows.duplicates): warned once, and the caller's answer.
    duplicate_checked: bool = False
    duplicate_of: dict | None = None
    duplicate_asked_twice: bool = False
    duplicate_companion: Any = None  # car_visits.Companion: the duplicate warned about is that other car's
    # Other cars booked in the same call (flows.car_visits.Companion): "... and a tire rotation on the Silverado".
    companions: list[Any] = field(default_factory=list)
    unplaced: tuple[list[str], list[str]] | None = None  # (codes, names) said beside two cars: which one is asked
    # A change to the reminded visit, read back before it is made (flows.reminder_requests): services to put on and
    # take off, another of the caller's cars; and whether they had said yes to the visit itself.
    to_add: list[str] = field(default_factory=list)
    to_remove: list[str] = field(default_factory=list)
    to_vehicle: dict | None = None
    yes_after_edit: bool = False
    # The customer's other car booked the same day (flows.reminder_second_car.SecondVisit), while it is arranged.
    second_visit: Any = None
    # A visit the caller has, named as where this request goes (flows.visit_additions): "same day as my inspection"
    anchor: Any = None  # nlu.VisitAnchor

    def keep_said(self, text: str) -> None:
        """What the caller told us of the car's trouble, for the technician: each line once, in the visit's notes."""
        said = " ".join(text.split())
        if not said or said in self.notes:
            return
        self.notes = (f"{self.notes} / {said}" if self.notes else f"Caller said: {said}")[:500]


@dataclass
class RuleState:
    phase: str = "greeting"
    expect: Expect = Expect.REQUEST
    task: Task | None = None
    misses: int = 0
    last_prompt: str = ""
    last_reply: list[str] = field(default_factory=list)
    identity: str = ""  # "register" or "verify": why we are asking for a name
    first_name: str = ""
    last_name: str = ""
    verify_failures: int = 0
    postal_code: str = ""
    asked_day: bool = False  # the identity question asked was the appointment's day (else a car's make)
    customer: dict | None = None  # lookup/register result: names and vehicles
    decoded_vehicle: dict | None = None  # a new caller's VIN, decoded and read back for a yes
    last_booked: dict | None = None  # the appointment booked in this call: "the Tacoma too, same morning"
    last_told: dict | None = None  # the one appointment we just told them about: "can I push that one back?"
    last_cancelled: dict | None = None  # the appointment just cancelled in this call: "wait, don't cancel it"
    # What a caller without an account told us before we asked: their car, or its VIN.
    new_vehicle: dict | None = None
    new_vin: str = ""
    email: str = ""  # an email a caller without an account gave: saved on the account we make
    known_elsewhere: bool = False  # "I've been in before, I'm calling from my work phone": find, don't register
    told_make: str = ""  # a make the caller named unasked ("get the Jeep in"): the extra fact they would give
    fact_skips: int = 0  # extra facts the caller could not give in this round of verification
    offered_services: list[str] = field(default_factory=list)
    # The appointment cancelled in this call: "can I rebook for Monday?" books its service for its car again,
    # never moves another appointment of theirs.
    cancelled: dict | None = None
    prompt_cut: bool = False  # the caller barged in before hearing the last question
    reopened: bool = False  # the caller spoke over our goodbye: the call goes on
    topic: str = ""  # what the last answer was about ("hours"), for "what about Thanksgiving?"
    listed_services: bool = False  # the whole service list was read out once: never again in this call
    # A reminder call that turned to another appointment before the reminded visit had its answer ("no, the
    # Thursday one"): once that one is done, the reminder question is asked again instead of "anything else?".
    reminder_open: bool = False


def reopen(st: RuleState) -> None:
    """The goodbye was cut short and the line stays open: listen for what else the caller wants."""
    st.task = None
    st.expect, st.phase = Expect.ANYTHING_ELSE, "intent"
    st.last_prompt = WHAT_ELSE
    st.last_reply = []  # "sorry?" must not replay a goodbye that no longer ends the call
    st.misses = 0
    st.reopened = True


def rule_state(ctx: CallContext) -> RuleState:
    st = ctx.state.get("rule")
    if not isinstance(st, RuleState):
        st = ctx.state["rule"] = RuleState()
    return st
