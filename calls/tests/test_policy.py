"""Whole text conversations through the rule-based brain, with their effects on the database."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.agent.actions import Transfer
from calls.agent.flows.common import vehicle_names
from calls.agent.phrases import slot_label
from calls.agent.policy import RuleBrain, rule_state
from calls.agent.tools import NOT_YOURS
from calls.models import ToolCall
from calls.tests.conftest import MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from calls.tests.conversation import ended, run_conversation, transferred
from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.models import Appointment, Closure

pytestmark = pytest.mark.django_db(transaction=True)
SHOP = settings.SHOP_NAME


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


def day(agent_now, offset):
    return (agent_now + timedelta(days=offset)).date()


async def talk(agent_ctx, lines, caller=MARIA_PHONE, customer=None, **ctx_kwargs):
    ctx = await in_db_thread(agent_ctx, caller, customer, **ctx_kwargs)
    transcript = await run_conversation(ctx, RuleBrain(), lines)
    return ctx, transcript


async def tool_names(ctx):
    return await in_db_thread(
        lambda: list(ToolCall.objects.filter(call_id=ctx.call_id).order_by("id").values_list("name", "ok"))
    )


async def test_known_caller_books_an_oil_change(agent_ctx, agent_customer, agent_now):
    ctx, transcript = await talk(
        agent_ctx, ["hi, I need an oil change", "tomorrow at nine thirty", "yes", "no thanks"], customer=agent_customer
    )
    start = agent_local(day(agent_now, 1), 9, 30)
    assert agent_lines(transcript) == [
        f"Hi Maria, thanks for calling {SHOP}. How can I help you today?",
        "What day works best for you?",
        f"So that's an oil change on {slot_label(start)} for your 2018 Honda Civic. Shall I book it?",
        f"You're all set: an oil change on {slot_label(start)}. We'll see you then. "
        "Is there anything else I can help you with?",
        f"Thanks for calling {SHOP}. Have a great day. Goodbye!",
    ]
    appt = await in_db_thread(lambda: Appointment.objects.select_related("vehicle").get(customer=agent_customer))
    assert appt.start == start and appt.source == "phone" and appt.vehicle.model == "Civic"
    assert await in_db_thread(lambda: list(appt.service_types.values_list("code", flat=True))) == ["oil-change"]
    assert ended(transcript) and ctx.outcome == "booked"
    names = await tool_names(ctx)
    assert names[-3:] == [("get_available_slots", True), ("book_appointment", True), ("end_call", True)]
    # the booking belongs to the agent turn that answered "yes": greeting 0, then caller/agent pairs
    booked = await in_db_thread(ToolCall.objects.get, call_id=ctx.call_id, name="book_appointment")
    assert booked.turn_index == 6
    assert [m["role"] for m in ctx.history] == ["assistant"] + ["user", "assistant"] * 4


async def test_new_caller_registers_then_books(agent_ctx, agent_shop, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        [
            "yeah I'd like to bring my car in, the brakes are squeaking",
            "john smith",
            "it's a twenty fifteen toyota camry",
            "tomorrow morning",
            "the first one",
            "yes",
            "that's all, bye",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[0] == f"Thanks for calling {SHOP}. How can I help you today?"
    assert lines[1] == (
        "I don't see this phone number in our system, so let me set you up. What's your first and last name?"
    )
    assert lines[2] == "Thanks, John. What's the year, make and model of your car?"
    assert lines[3] == "Great, John, you're all set up. What day works best for you?"  # not thanked twice in a row
    tomorrow = day(agent_now, 1)
    assert lines[4].startswith(f"I have {tomorrow:%A}, {tomorrow:%B} {tomorrow.day} at 7:00 AM")
    assert "brake service" in lines[5] and "for your 2015 Toyota Camry" in lines[5]
    assert lines[6].startswith("You're all set: brake service on")
    assert ended(transcript)
    john = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    assert john.full_name == "John Smith" and ctx.customer_id == john.pk
    appt = await in_db_thread(lambda: Appointment.objects.select_related("vehicle").get(customer=john))
    assert (appt.vehicle.year, appt.vehicle.make, appt.vehicle.model) == (2015, "Toyota", "Camry")
    assert appt.start == agent_local(tomorrow, 7)
    assert "brakes are squeaking" in appt.notes
    assert ctx.outcome == "booked"
    assert "registered new customer John Smith" in ctx.summary


async def test_cancel_the_only_appointment(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await talk(agent_ctx, ["I need to cancel my appointment", "yes", "no"], customer=agent_customer)
    label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    lines = agent_lines(transcript)
    assert lines[1] == f"I see your oil change on {label}. Do you want me to cancel it?"
    assert lines[2] == f"Done. Your oil change on {label} is cancelled. Is there anything else I can help you with?"
    assert lines[3].endswith("Goodbye!")
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.status == "cancelled" and agent_appointment.cancelled_at is not None
    assert ctx.outcome == "cancelled" and ended(transcript)


async def test_reschedule(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await talk(
        agent_ctx, ["can I reschedule my appointment", "thursday at two", "yes", "bye"], customer=agent_customer
    )
    old_label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    new_start = agent_local(day(agent_now, 3), 14)
    lines = agent_lines(transcript)
    assert lines[1] == f"I see your oil change on {old_label}. What day would you like to move it to?"
    assert lines[2] == f"So I'll move your oil change from {old_label} to {slot_label(new_start)}. Is that right?"
    assert lines[3].startswith(f"Done. Your oil change is now on {slot_label(new_start)}.")
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.start == new_start and agent_appointment.status == "scheduled"
    assert ctx.outcome == "rescheduled"


async def test_check_appointment(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await talk(agent_ctx, ["when is my appointment"], customer=agent_customer)
    label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    assert agent_lines(transcript)[1] == (
        f"You have an oil change on {label}. Is there anything else I can help you with?"
    )
    assert ctx.outcome == "info"


async def test_hours_then_service_question_then_booking(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "what are your hours",
            "are you open on saturday",
            "how much is an oil change",
            "yes",
            "friday at 8",
            "yes",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    saturday = day(agent_now, 5)
    assert lines[1] == (
        "We're open Monday to Friday, 7:00 AM to 6:00 PM, and Saturday, 8:00 AM to 1:00 PM. "
        "We're closed on Sunday. Is there anything else I can help you with?"
    )
    assert lines[2].startswith(f"On Saturday, {saturday:%B} {saturday.day} we're open from 8:00 AM to 1:00 PM.")
    assert lines[3] == "An oil change is $49.99. Would you like to book it?"  # "how much": the price
    assert lines[4] == "What day works best for you?"
    friday_8 = agent_local(day(agent_now, 4), 8)
    assert slot_label(friday_8) in lines[5]
    assert await in_db_thread(lambda: Appointment.objects.get(customer=agent_customer).start) == friday_8


async def test_asking_for_a_person_transfers(agent_ctx, agent_customer):
    ctx, transcript = await talk(agent_ctx, ["can I talk to a real person please", "hello?"], customer=agent_customer)
    assert agent_lines(transcript)[1] == "Sure, let me connect you with a service advisor. One moment please."
    assert [speaker for speaker, _ in transcript] == ["agent", "caller", "agent", "action"]  # nothing sent after it
    assert transferred(transcript) == Transfer("caller asked for an advisor")
    assert ctx.outcome == "transferred" and rule_state(ctx).phase == "escalation"


async def test_correction_searches_again(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        ["I need an oil change tomorrow morning", "no, thursday", "the second one", "yes"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    tomorrow, thursday = day(agent_now, 1), day(agent_now, 3)
    assert lines[1].startswith(f"I have {tomorrow:%A}, {tomorrow:%B} {tomorrow.day} at ")
    assert lines[2].startswith(f"I have {thursday:%A}, {thursday:%B} {thursday.day} at ")
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    local = appt.start.astimezone(agent_now.tzinfo)
    assert local.date() == thursday and local.hour < 12  # still the morning they asked for
    assert f"So that's an oil change on {slot_label(local)}" in lines[3]


async def test_unavailable_time_offers_the_nearest(
    agent_ctx, agent_customer, agent_other_appointment, agent_now, agent_shop
):
    tomorrow = day(agent_now, 1)
    busy = agent_local(tomorrow, 9, 30)

    def fill():
        for _ in range(4):
            a = Appointment.objects.create(
                customer=agent_other_appointment.customer, start=busy, end=busy + timedelta(hours=1)
            )
            a.service_types.set([agent_shop.diagnostics])

    await in_db_thread(fill)
    _ctx, transcript = await talk(
        agent_ctx, ["can I book an oil change tomorrow at 9:30", "the first one", "yes"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    assert lines[1] == (
        f"Sorry, 9:30 AM isn't available on {tomorrow:%A}, {tomorrow:%B} {tomorrow.day}. "
        f"The closest I have are {tomorrow:%A}, {tomorrow:%B} {tomorrow.day} at 8:30 AM, 9:00 AM, "
        "or 10:30 AM. Which works best for you?"
    )
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(tomorrow, 8, 30)


async def test_closed_day_offers_the_next_openings(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change on sunday"], customer=agent_customer)
    monday = day(agent_now, 7)
    assert agent_lines(transcript)[1] == (
        f"We're closed on Sundays. The next openings are {monday:%A}, {monday:%B} {monday.day} at 7:00 AM, "
        "8:00 AM, or 9:00 AM. Which works best for you?"
    )


async def test_someone_elses_appointment_is_refused(
    agent_ctx, agent_customer, agent_appointment, agent_other_appointment
):
    other = agent_other_appointment
    ctx, transcript = await talk(
        agent_ctx, [f"I want to cancel appointment number {other.pk}", "no", "bye"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith(NOT_YOURS)
    assert "brake" not in lines[1].lower()  # nothing about the other customer's appointment is read out
    assert lines[2].startswith("Okay, I'll leave it as it is.")
    await in_db_thread(other.refresh_from_db)
    await in_db_thread(agent_appointment.refresh_from_db)
    assert other.status == "scheduled" and agent_appointment.status == "scheduled"
    assert ("cancel_appointment", True) not in await tool_names(ctx)


async def test_unknown_number_verifies_by_postal_code_then_cancels(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await talk(
        agent_ctx,
        ["I need to cancel my appointment", "maria garcia", "six oh six oh one", "it's on wednesday", "yes"],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[1] == "Sure. First I need to find your account. What's your first and last name?"
    assert lines[2] == "Thanks, Maria. And what's the ZIP code on your account?"
    assert lines[3] == "Got it. And what day is your appointment with us?"
    assert lines[4].startswith("Thanks, Maria, I found your account. I see your oil change on")
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.status == "cancelled"
    assert ctx.customer_id == agent_customer.pk and ctx.verified_by == "appointment_day"


async def test_a_day_guess_is_one_answer_and_a_range_is_none(agent_ctx, agent_customer, agent_appointment):
    """ "Sometime this week" is no answer (asked again, nothing counted); "Monday or Wednesday" is one wrong
    answer though Wednesday is right; one day said, rightly, finds the account."""
    ctx, transcript = await talk(
        agent_ctx,
        [
            "I need to cancel my appointment",
            "maria garcia",
            "60601",
            "sometime this week",
            "monday or wednesday",
            "maria garcia",
            "60601",
            "wednesday",
            "yes",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[3] == "Got it. And what day is your appointment with us?"
    assert lines[4] == "Which day exactly is your appointment?"
    assert lines[5] == (
        "Sorry, I couldn't find an account with those details. Let's try once more. What's your first and last name?"
    )
    assert lines[7] == "Got it. And what day is your appointment with us?"
    assert lines[8].startswith("Thanks, Maria, I found your account. I see your oil change on")
    assert ctx.customer_id == agent_customer.pk and ctx.verified_by == "appointment_day"
    lookups = await in_db_thread(
        lambda: list(
            ToolCall.objects.filter(call_id=ctx.call_id, name="lookup_customer").values_list("arguments", flat=True)
        )
    )
    day_keys = ("appointment_date", "appointment_dates", "appointment_weekday")  # ("wednesday": its weekday)
    assert [len(a.get("appointment_dates", [])) for a in lookups if any(k in a for k in day_keys)] == [
        2,
        0,
    ]


async def test_periods_for_the_appointment_day_go_to_an_advisor(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await talk(
        agent_ctx,
        ["I need to cancel my appointment", "maria garcia", "60601", "this week", "sometime next week"],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[4] == "Which day exactly is your appointment?"
    assert lines[5].startswith("I'm sorry, without that I can't find your account over the phone.")
    assert transferred(transcript) and ctx.customer_id is None


async def test_name_and_zip_alone_hear_nothing(agent_ctx, agent_customer, agent_appointment):
    """From an unknown number, "Maria Garcia, 60601" is not enough to hear her appointments."""
    ctx, transcript = await talk(
        agent_ctx,
        ["I want to check my appointment", "maria garcia", "60601", "I don't know", "no idea"],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[3] == "Got it. And what make is the car on your account?"
    assert lines[4] == "No problem. What day is your appointment with us?"
    # neither fact: a person checks who they are, instead of the same two questions going round
    assert lines[5].startswith("I'm sorry, without that I can't find your account over the phone.")
    assert transferred(transcript)
    assert ctx.customer_id is None
    assert "oil change" not in " ".join(lines).lower()
    assert ("get_upcoming_appointments", True) not in await tool_names(ctx)


async def test_booking_from_an_unknown_number_asks_for_a_make(agent_ctx, agent_customer, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        ["book an oil change", "I'm already a customer", "maria garcia", "60601", "a honda", "tomorrow at 10", "yes"],
        caller=NEW_CALLER_PHONE,
    )
    assert ctx.verified_by == "vehicle_make"
    lines = agent_lines(transcript)
    assert lines[3] == "Thanks, Maria. And what's the ZIP code on your account?"
    assert lines[4] == "Got it. And what make is the car on your account?"
    assert lines[5] == "Thanks, Maria, I found your account. What day works best for you?"
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(day(agent_now, 1), 10)


async def test_failed_verification_goes_to_an_advisor(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await talk(
        agent_ctx,
        [
            "cancel my appointment",
            "maria garcia",
            "six oh six oh two",
            "wednesday",
            "maria garcia",
            "six oh six oh one",
            "friday",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[4] == (
        "Sorry, I couldn't find an account with those details. Let's try once more. What's your first and last name?"
    )
    assert lines[-1].startswith("I'm sorry, I still can't find an account with those details.")
    assert transferred(transcript) and ctx.customer_id is None
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.status == "scheduled"


async def test_a_locked_out_caller_is_handed_to_an_advisor_at_once(agent_ctx, agent_customer, agent_appointment):
    """The lock-out holds across calls: the next call is not asked for the extra fact at all."""
    for _ in range(3):
        await talk(
            agent_ctx,
            ["cancel my appointment", "maria garcia", "60601", "monday", "maria garcia", "60601", "tuesday"],
            caller=NEW_CALLER_PHONE,
        )
    ctx, transcript = await talk(agent_ctx, ["cancel my appointment", "maria garcia", "60601"], caller=NEW_CALLER_PHONE)
    lines = agent_lines(transcript)
    assert lines[3].startswith("Sorry, I can't verify your account over the phone right now")
    assert transferred(transcript) and ctx.customer_id is None
    await in_db_thread(agent_customer.refresh_from_db)
    assert "Phone verification locked" in agent_customer.notes


async def test_goodbye_ends_the_call(agent_ctx, agent_customer):
    ctx, transcript = await talk(agent_ctx, ["nothing really, thanks, bye"], customer=agent_customer)
    assert agent_lines(transcript)[1] == f"Thanks for calling {SHOP}. Have a great day. Goodbye!"
    assert ended(transcript)
    assert ("end_call", True) in await tool_names(ctx)


async def test_repeated_misunderstanding_transfers(agent_ctx, agent_customer):
    _ctx, transcript = await talk(agent_ctx, ["blah blah", "purple monkey dishwasher", "hmm"], customer=agent_customer)
    lines = agent_lines(transcript)
    assert lines[1] == "Sorry, I didn't catch that. How can I help you today?"
    assert lines[2].startswith("Sorry, I'm still not getting it. I can book, move or cancel")
    assert "service advisor" in lines[3]
    assert transferred(transcript) == Transfer("caller not understood")


async def test_repeat_and_barge_in_before_the_question(agent_ctx, agent_customer, agent_now):
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, agent_customer)
    brain = RuleBrain()
    transcript = await run_conversation(ctx, brain, ["I need an oil change tomorrow at 9:30", "sorry?"])
    assert transcript[-1][1] == transcript[-3][1]  # said again, word for word
    # The caller says "yeah" over the read-back before hearing the question: ask again rather than book.
    brain.interrupted(ctx, "So that's an oil change on")
    assert ctx.history[-1]["content"] == "So that's an oil change on"
    again = await run_conversation(ctx, brain, ["yeah"], greet=False)
    assert again[-1][1].startswith("Just to be sure. So that's an oil change on")
    assert not await in_db_thread(Appointment.objects.filter(customer=agent_customer).exists)
    await run_conversation(ctx, brain, ["yes"], greet=False)
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(day(agent_now, 1), 9, 30)


async def test_reminder_call_confirms_the_appointment(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        ["yes I'll be there", "no that's it"],
        customer=agent_customer,
        direction="outbound",
        appointment=agent_appointment,
    )
    label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    lines = agent_lines(transcript)
    assert lines[0] == (
        f"Hi Maria, this is {SHOP} calling about your oil change appointment on {label} for your "
        "2018 Honda Civic. Can you still make it?"
    )
    assert lines[1].startswith("Great, you're confirmed.")
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.status == "confirmed"
    assert ctx.outcome == "confirmed" and ended(transcript)


async def test_reminder_call_moves_the_appointment(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        ["no, can we do friday at ten instead", "yes"],
        customer=agent_customer,
        direction="outbound",
        appointment=agent_appointment,
    )
    new_start = agent_local(day(agent_now, 4), 10)
    assert slot_label(new_start) in agent_lines(transcript)[1]
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.start == new_start
    assert ctx.outcome == "rescheduled"


async def test_hello_and_a_question_in_the_middle_of_booking(agent_ctx, agent_customer, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        ["hello", "I need an oil change", "what are your hours on saturday", "saturday at 9", "yes"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    saturday = day(agent_now, 5)
    assert lines[1] == "Hi! How can I help you today?"
    assert lines[3] == (
        f"On Saturday, {saturday:%B} {saturday.day} we're open from 8:00 AM to 1:00 PM. What day works best for you?"
    )
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(saturday, 9)
    assert rule_state(ctx).misses == 0


async def test_weekdays_after_next_week_and_waiting_at_the_shop(agent_ctx, agent_customer, agent_now):
    from scheduling.models import ShopProfile

    await in_db_thread(ShopProfile.objects.create, customers_can_wait="yes")  # this shop lets customers wait
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "i need an oil change next week",
            "tuesday or wednesday",
            "can I wait there while it's done",
            "the first one",
            "yes",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    next_tuesday = day(agent_now, 8)
    assert lines[2].startswith(f"I have {next_tuesday:%A}, {next_tuesday:%B} {next_tuesday.day} at ")
    assert lines[3].startswith("Sure, you can wait at the shop while we work on it. I have")
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start.astimezone(agent_now.tzinfo).date() == next_tuesday
    assert appt.transport == "waiter"


@pytest.mark.parametrize(
    "can_wait, heard, transport",
    [
        ("no", "customers can't wait at the shop", "drop_off"),
        ("unknown", "I'll have a service advisor confirm that", "waiter"),
    ],
)
async def test_waiting_while_booking_is_only_promised_where_the_shop_allows_it(
    agent_ctx, agent_customer, agent_now, can_wait, heard, transport
):
    from scheduling.models import ShopProfile

    await in_db_thread(ShopProfile.objects.create, customers_can_wait=can_wait)
    ctx, transcript = await talk(
        agent_ctx,
        ["i need an oil change next tuesday", "I'll wait at the shop while it's done", "the first one", "yes"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert heard in lines[2] and "Sure, you can wait" not in lines[2], lines
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.transport == transport  # unknown: their wish is kept, and the advisor confirms it
    assert ("advisor to confirm" in ctx.summary) == (can_wait == "unknown")


async def test_reschedule_one_of_several_to_the_day_said_first(
    agent_ctx, agent_customer, agent_appointment, agent_now, agent_shop
):
    def second_appointment():
        start = agent_local(day(agent_now, 3), 15)
        appt = Appointment.objects.create(customer=agent_customer, start=start, end=start + timedelta(minutes=90))
        appt.service_types.set([agent_shop.brakes])
        return appt

    brakes = await in_db_thread(second_appointment)
    _ctx, transcript = await talk(
        agent_ctx,
        ["I need to move my appointment to friday", "the brake one", "the first one", "yes"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith("You have 2 upcoming appointments: an oil change on")
    assert lines[1].endswith("Which one would you like to move?")
    friday = day(agent_now, 4)
    assert lines[2].startswith(f"I have {friday:%A}, {friday:%B} {friday.day} at 7:00 AM")
    await in_db_thread(brakes.refresh_from_db)
    await in_db_thread(agent_appointment.refresh_from_db)
    assert brakes.start == agent_local(friday, 7)
    assert agent_appointment.start == agent_local(day(agent_now, 2), 10)  # untouched


async def test_changing_the_time_at_the_read_back(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need an oil change",
            "do you have anything tomorrow",
            "is nine available",
            "actually can we make it ten",
            "yes",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    tomorrow = day(agent_now, 1)
    assert lines[2].startswith(f"I have {tomorrow:%A}, {tomorrow:%B} {tomorrow.day} at ")
    assert lines[3] == (
        f"So that's an oil change on {slot_label(agent_local(tomorrow, 9))} for your 2018 Honda Civic. Shall I book it?"
    )
    assert slot_label(agent_local(tomorrow, 10)) in lines[4]
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(tomorrow, 10)


async def test_never_mind_drops_the_request(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await talk(
        agent_ctx, ["I need to reschedule my appointment", "never mind", "no"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    assert lines[2] == "Okay, no problem. Is there anything else I can help you with?"
    assert ended(transcript)
    start = agent_appointment.start
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.start == start and agent_appointment.status == "scheduled"


async def test_caller_without_caller_id_books_after_verifying(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["book an oil change", "maria garcia", "60601", "honda", "tomorrow at 10", "yes"], caller="anonymous"
    )
    lines = agent_lines(transcript)
    assert lines[1] == (
        "I can't see your phone number, so I can only book for existing customers. What's your first and last name?"
    )
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(day(agent_now, 1), 10)
    assert not await in_db_thread(Customer.objects.exclude(pk=agent_customer.pk).exists)


async def test_through_the_call_session(agent_customer):
    """The simulator's path: CallSession in text mode with the rule brain, real clock, records written."""
    from calls.models import Call
    from calls.simulator import create_simulated_call, run_simulated_call

    async def lines():
        for line in ("I need an oil change", "next wednesday at 10", "yes", "no thanks"):
            yield line

    call = await in_db_thread(create_simulated_call, MARIA_PHONE)
    result = await run_simulated_call(call, lines(), brain=RuleBrain())
    assert result.ended_normally
    said = [text for speaker, text in result.transcript if speaker == "AGENT"]
    assert said[:2] == [f"Hi Maria, thanks for calling {SHOP}.", "How can I help you today?"]
    assert "We'll see you then." in said and "Is there anything else I can help you with?" in said
    call = await in_db_thread(Call.objects.get, pk=call.pk)
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert (call.outcome, call.appointment_id, call.customer_id) == ("booked", appt.pk, agent_customer.pk)
    assert appt.start.astimezone(shop_tz()).strftime("%A %H:%M") == "Wednesday 10:00"
    assert "booked oil change" in call.summary


@pytest.fixture
def two_cars(agent_customer):
    """Maria drives a 2019 Jeep Grand Cherokee and a 2003 Honda Accord (instead of the Civic)."""
    agent_customer.vehicles.all().delete()
    jeep = Vehicle.objects.create(customer=agent_customer, year=2019, make="Jeep", model="Grand Cherokee")
    honda = Vehicle.objects.create(customer=agent_customer, year=2003, make="Honda", model="Accord")
    return SimpleNamespace(jeep=jeep, honda=honda)


WHICH_CAR = "Is this for your 2019 Jeep Grand Cherokee or your 2003 Honda Accord?"
WHICH_CAR_OPTIONS = "Which car is it for: the Jeep Grand Cherokee or the Honda Accord?"


@pytest.mark.parametrize(
    ("request_line", "car"),
    [
        ("I need an oil change for the jeep", "jeep"),
        ("my honda needs an oil change", "honda"),
        ("can I bring the grand cherokee in for an oil change", "jeep"),
        ("oil change please, it's for the oh three accord", "honda"),
        ("I'd like an oil change on the twenty nineteen", "jeep"),
    ],
)
async def test_a_car_named_in_the_request_is_used(agent_ctx, agent_customer, two_cars, agent_now, request_line, car):
    _ctx, transcript = await talk(agent_ctx, [request_line, "tomorrow at 10", "yes"], customer=agent_customer)
    lines = agent_lines(transcript)
    vehicle = getattr(two_cars, car)
    label = f"{vehicle.year} {vehicle.make} {vehicle.model}"
    assert lines[1] == "What day works best for you?"  # not "Is this for your ... or your ...?"
    assert lines[2].endswith(f"for your {label}. Shall I book it?")
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.vehicle_id == vehicle.pk and appt.start == agent_local(day(agent_now, 1), 10)


def test_cars_are_named_the_short_way():
    cars = [
        {"label": "2017 Mazda Mazda3", "year": 2017, "make": "Mazda", "model": "Mazda3"},
        {"label": "2018 Honda Civic", "year": 2018, "make": "Honda", "model": "Civic"},
        {"label": "2012 Honda Civic", "year": 2012, "make": "Honda", "model": "Civic"},
        {"label": "your vehicle", "year": None, "make": "", "model": ""},
    ]
    assert vehicle_names(cars) == ["Mazda3", "2018 Honda Civic", "2012 Honda Civic", "your vehicle"]


async def test_an_ambiguous_or_missing_car_is_asked_for(agent_ctx, agent_customer, two_cars):
    for line in ("I need an oil change", "I need an oil change for the 2003 jeep"):
        _ctx, transcript = await talk(agent_ctx, [line], customer=agent_customer)
        assert agent_lines(transcript)[1] == WHICH_CAR


async def test_an_answer_that_adds_nothing_is_rephrased_then_handed_over(agent_ctx, agent_customer, two_cars):
    """The softphone loop: the recogniser keeps hearing the same day while we ask which car."""
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need an oil change tomorrow morning",
            "tomorrow morning",
            "uh tomorrow morning",
            "tomorrow morning",
            "hello?",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[1] == WHICH_CAR
    assert lines[2] == f"Sorry, {WHICH_CAR_OPTIONS[0].lower()}{WHICH_CAR_OPTIONS[1:]}"
    assert lines[3] == f"Sorry, I'm still not getting it. {WHICH_CAR_OPTIONS} You can just say Jeep or Honda."
    assert lines[4] == (
        "I'm sorry, I'm having trouble understanding. Let me connect you with a service advisor. One moment please."
    )
    assert not any("Got it" in line for line in lines)
    assert len(lines) == 5 and transferred(transcript) == Transfer("caller not understood")


async def test_news_while_choosing_the_car_is_kept_and_the_car_can_be_changed(
    agent_ctx, agent_customer, two_cars, agent_now
):
    ctx, transcript = await talk(
        agent_ctx,
        ["I need an oil change", "friday", "the honda", "the first one", "no, it's for the jeep", "yes"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    friday = day(agent_now, 4)
    assert lines[2] == f"Got it. {WHICH_CAR}"  # Friday is new: kept, and the question asked again
    assert lines[3].startswith(f"I have {friday:%A}, {friday:%B} {friday.day} at 7:00 AM")
    assert lines[4].endswith("for your 2003 Honda Accord. Shall I book it?")
    assert lines[5].endswith("for your 2019 Jeep Grand Cherokee. Shall I book it?")
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.vehicle_id == two_cars.jeep.pk and appt.start == agent_local(friday, 7)
    assert rule_state(ctx).misses == 0


async def test_a_time_off_the_booking_grid_offers_the_grid_times_either_side(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["I need an oil change tomorrow at twelve forty five", "one o'clock", "yes"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    tomorrow = day(agent_now, 1)
    # One question naming the grid times either side, the closer first (equally close here: earlier first).
    assert lines[1] == (
        f"We book on the hour and half hour. Would 12:30 PM or 1:00 PM on {tomorrow:%A}, "
        f"{tomorrow:%B} {tomorrow.day} work for you?"
    )
    assert "isn't available" not in lines[1]
    appt = await in_db_thread(Appointment.objects.get, customer=agent_customer)
    assert appt.start == agent_local(tomorrow, 13)


async def test_saturday_at_a_quarter_to_one_and_noon_is_said_as_noon(agent_ctx, agent_customer, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["oil change saturday at 12:45", "no, friday at noon"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    saturday, friday = day(agent_now, 5), day(agent_now, 4)
    # The shop closes at 1:00 PM on Saturdays, so 12:30 PM is the only grid time next to 12:45.
    assert lines[1] == (
        f"We book on the hour and half hour. Would 12:30 PM on Saturday, {saturday:%B} {saturday.day} work for you?"
    )
    assert lines[2] == (
        f"So that's an oil change on Friday, {friday:%B} {friday.day} at noon for your 2018 Honda "
        "Civic. Shall I book it?"
    )


def _before_thanksgiving(agent_now):
    """A Monday 10 days before a Thanksgiving that is still ahead, with the shop closed that day."""
    thanksgiving = nlu.HOLIDAYS["thanksgiving"]
    year = agent_now.year
    while thanksgiving(year) - timedelta(days=10) < agent_now.date():
        year += 1
    day_ = thanksgiving(year)
    Closure.objects.create(date=day_, reason="Thanksgiving")
    Closure.objects.create(date=day_ + timedelta(days=4), reason="Closed for staff training")
    return day_, agent_local(day_ - timedelta(days=10), 9)


async def test_holidays_and_closures_by_name(agent_ctx, agent_customer, agent_now):
    thanksgiving, now = await in_db_thread(_before_thanksgiving, agent_now)
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, agent_customer)
    ctx.now = now
    transcript = await run_conversation(
        ctx,
        RuleBrain(),
        [
            "what are your hours",
            "what about thanksgiving",
            "are you open on the staff training day",
            "I need an oil change",
            "how about thanksgiving",
        ],
    )
    lines = agent_lines(transcript)
    friday, monday = thanksgiving + timedelta(days=1), thanksgiving + timedelta(days=4)
    assert lines[2] == (
        f"We're closed on Thursday, {thanksgiving:%B} {thanksgiving.day} (Thanksgiving). "
        f"We'll be open again on Friday, {friday:%B} {friday.day}, 7:00 AM to 6:00 PM. "
        "Is there anything else I can help you with?"
    )
    assert lines[3].startswith(
        f"We're closed on Monday, {monday:%B} {monday.day} (staff training). We'll be open again on Tuesday,"
    )
    assert lines[5] == (
        f"We're closed on Thursday, {thanksgiving:%B} {thanksgiving.day} (Thanksgiving). "
        f"The next openings are Friday, {friday:%B} {friday.day} at 7:00 AM, 8:00 AM, or 9:00 AM. "
        "Which works best for you?"
    )


async def test_caller_speaks_over_the_goodbye_and_the_call_goes_on(agent_ctx, agent_customer, agent_now):
    """The session drops the hang-up when the goodbye is cut short; the next line is a new request."""
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, agent_customer)
    brain = RuleBrain()
    transcript = await run_conversation(ctx, brain, ["I need an oil change tomorrow at 10", "yes", "no, that's all"])
    assert agent_lines(transcript)[-1].endswith("Goodbye!") and ended(transcript)
    brain.interrupted(ctx, f"Thanks for calling {SHOP}.")
    assert ctx.history[-1]["content"] == f"Thanks for calling {SHOP}."
    transcript = await run_conversation(
        ctx,
        brain,
        [
            "wait",
            "sorry?",
            "can I also get my tires rotated then",
            "tomorrow at 11",
            "yes",
            "no thanks, bye",
        ],
        greet=False,
    )
    lines = agent_lines(transcript)
    tomorrow = day(agent_now, 1)
    assert lines[0] == "Sure. What else can I help you with?"
    assert lines[1] == lines[0]  # "sorry?" repeats that, not the goodbye
    assert lines[2] == "What day works best for you?"
    assert lines[3] == (
        f"So that's a tire rotation on {slot_label(agent_local(tomorrow, 11))} for your 2018 Honda "
        "Civic. Shall I book it?"
    )
    assert lines[4].startswith("You're all set: a tire rotation")
    assert not any("Goodbye" in line for line in lines[:5])
    assert lines[5].endswith("Goodbye!") and ended(transcript)
    booked = await in_db_thread(
        lambda: sorted(
            Appointment.objects.filter(customer=agent_customer).values_list("service_types__code", flat=True)
        )
    )
    assert booked == ["oil-change", "tire-rotation"]
    assert rule_state(ctx).misses == 0


@pytest.mark.parametrize("brain_told", [True, False])
async def test_speaking_over_the_goodbye_with_a_request_answers_it(
    agent_ctx, agent_customer, agent_appointment, agent_now, brain_told
):
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, agent_customer)
    brain = RuleBrain()
    assert ended(await run_conversation(ctx, brain, ["bye"]))
    # The session drops the hang-up; a line reaching the brain after its goodbye is enough to reopen the call.
    if brain_told:
        brain.interrupted(ctx, "")
    transcript = await run_conversation(ctx, brain, ["actually when is my appointment", "no"], greet=False)
    label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    assert agent_lines(transcript) == [
        f"You have an oil change on {label}. Is there anything else I can help you with?",
        f"Thanks for calling {SHOP}. Have a great day. Goodbye!",
    ]
    assert ended(transcript)
