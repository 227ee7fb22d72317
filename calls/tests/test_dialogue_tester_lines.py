"""What an independent tester said to the rule agent late on a Monday evening (issue 6) and the agent now answers
the way a person at the desk would: the hours asked after closing, a VIN misread over the phone, a day and time
said to "another one, or should I move that one?", a cancellation taken back in the same call."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.tools import run_tool
from calls.tests.conftest import DWAYNE_PHONE, MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from calls.tests.test_dialogue_callers import OUTBACK_VIN, agent_lines, book, day, talk
from scheduling.availability import shop_tz
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent_now():
    """A Monday at 10:15 PM: the shop closed at 6."""
    from django.utils import timezone

    today = timezone.now().astimezone(shop_tz()).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    return agent_local(monday, 22, 15)


def wrong_check_digit(vin: str) -> str:
    from crm.vin import compute_check_digit

    right = compute_check_digit(vin)
    return vin[:8] + ("1" if right != "1" else "2") + vin[9:]


async def test_closing_time_asked_after_closing_is_when_the_shop_opens_next(agent_ctx, demo_shop):
    _ctx, transcript = await talk(agent_ctx, ["what time do you close today?", "no"], caller=NEW_CALLER_PHONE)
    assert agent_lines(transcript)[1].startswith("We're closed now; tomorrow we open at 7:00 AM.")


async def test_another_days_hours_asked_after_closing_are_that_days(agent_ctx, demo_shop):
    _ctx, transcript = await talk(agent_ctx, ["are you open on Saturday?", "no"], caller=NEW_CALLER_PHONE)
    assert "we're open from 8:00 AM to 1:00 PM" in agent_lines(transcript)[1]


async def test_a_misread_vin_of_a_new_caller_is_asked_again_in_plain_words(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need to book my car in for a check engine light",
            "Alicia Brandt",
            f"the VIN is {wrong_check_digit(OUTBACK_VIN)}",
        ],
        caller=NEW_CALLER_PHONE,
    )
    said = agent_lines(transcript)[3]
    assert said == "Sorry, that VIN doesn't look right. Could you read it again, or tell me the year, make and model?"
    assert "check digit" not in " ".join(agent_lines(transcript))


async def test_a_misread_vin_of_a_car_not_on_file_is_asked_again_in_plain_words(agent_ctx, dwayne):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need a tire rotation on Thursday",
            "neither, it's a different car",
            f"the VIN is {wrong_check_digit(OUTBACK_VIN)}",
        ],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    assert agent_lines(transcript)[3].startswith("Sorry, that VIN doesn't look right. Could you read it again")


def start_of(appt):
    return Appointment.objects.get(pk=appt.pk).start.astimezone(shop_tz())


@pytest.mark.parametrize(
    ("answer", "offset", "hour"),
    [("first thing tomorrow", 1, 7), ("uh tomorrow, I guess, like, around 4", 1, 16), ("next Wednesday at 8", 9, 8)],
)
async def test_a_day_said_to_another_one_or_move_that_one_moves_that_one(
    agent_ctx, maria, agent_now, answer, offset, hour
):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["can I get an oil change on Friday?", answer, "yes", "yes"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith("Do you want another one, or should I move that one?")
    start = await in_db_thread(start_of, oil)
    assert (start.date(), start.hour) == (day(agent_now, offset), hour), lines
    assert await in_db_thread(Appointment.objects.filter(customer=maria).count) == 1  # moved, not a second one


async def test_another_one_with_a_day_is_still_a_second_booking(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    await talk(
        agent_ctx,
        ["can I get an oil change on Friday?", "another one, first thing Friday", "yes", "yes"],
        customer=maria,
    )
    assert (await in_db_thread(start_of, oil)).date() == day(agent_now, 2)
    assert await in_db_thread(Appointment.objects.filter(customer=maria).count) == 2


async def test_a_couple_hours_later_moves_the_appointment_being_pushed_back(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["can you push back my Wednesday appointment", "a couple hours later", "yes"], customer=maria
    )
    assert "we're open from" not in " ".join(agent_lines(transcript))  # not the opening hours
    start = await in_db_thread(start_of, oil)
    assert (start.date(), start.hour) == (day(agent_now, 2), 11)


async def test_an_introduction_on_its_own_is_greeted_and_kept_for_finding_the_account(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx,
        ["hi, this is Maria Delgado, I'm calling from my work phone", "when's my appointment"],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[1] == "Hi Maria. How can I help you today?"
    # the name said is not asked for again: straight on to proving it is her account
    assert lines[2] == "Thanks, Maria. And what's the ZIP code on your account?"


async def test_the_day_given_to_prove_who_they_are_is_also_the_appointment_to_cancel(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    tires = await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 5), 8))
    _ctx, transcript = await talk(
        agent_ctx,
        ["I need to cancel my appointment", "Maria Delgado", "60614", "the Saturday one", "yes"],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert "Which one" not in " ".join(lines), lines
    statuses = await in_db_thread(lambda: {a.pk: a.status for a in Appointment.objects.all()})
    assert (statuses[oil.pk], statuses[tires.pk]) == ("scheduled", "cancelled")


async def test_the_day_given_to_prove_who_they_are_is_the_appointment_to_move(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 5), 8))
    _ctx, transcript = await talk(
        agent_ctx, ["I need to move my appointment", "Maria Delgado", "60614", "Saturday"], caller=NEW_CALLER_PHONE
    )
    last = agent_lines(transcript)[-1]
    assert last.startswith("Thanks, Maria, I found your account. I see your tire rotation on Saturday"), last


def status_of(appt):
    return Appointment.objects.get(pk=appt.pk).status


async def test_a_cancel_taken_back_and_moved_in_the_same_call(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I want to cancel my appointment",
            "yes",
            "actually wait, don't cancel it, move it to Thursday instead",
            "the first one",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert "is cancelled" in lines[2]
    assert lines[3].startswith("No problem, I've undone the cancellation."), lines
    assert await in_db_thread(status_of, oil) == "scheduled"
    assert (await in_db_thread(start_of, oil)).date() == day(agent_now, 3)


async def test_a_cancel_taken_back_keeps_the_appointment_where_it_was(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    ctx, transcript = await talk(
        agent_ctx, ["I want to cancel my appointment", "yes", "oh no, I changed my mind, keep it"], customer=maria
    )
    assert agent_lines(transcript)[3].startswith("No problem, I've kept your oil change on")
    assert await in_db_thread(status_of, oil) == "scheduled"
    assert (await in_db_thread(start_of, oil)).hour == 9
    assert ctx.outcome == "info"


@pytest.mark.parametrize("cancelled_by", ["another call", "the shop"])
def test_only_a_cancellation_made_in_this_call_can_be_restored(agent_ctx, maria, agent_now, cancelled_by):
    oil = book(maria, "oil-change", agent_local(day(agent_now, 2), 9))
    earlier = agent_ctx(MARIA_PHONE, maria)
    if cancelled_by == "another call":
        assert run_tool(earlier, "cancel_appointment", {"appointment_id": oil.pk}).ok
    else:
        Appointment.objects.filter(pk=oil.pk).update(status="cancelled")
    ctx = agent_ctx(MARIA_PHONE, maria)
    res = run_tool(ctx, "restore_appointment", {"appointment_id": oil.pk})
    assert not res.ok and "this call" in res.error
    assert status_of(oil) == "cancelled"


def test_another_customers_cancelled_appointment_is_never_restored(agent_ctx, maria, dwayne, agent_now):
    jeep = book(dwayne, "oil-change", agent_local(day(agent_now, 2), 9))
    ctx = agent_ctx(MARIA_PHONE, maria)
    ctx.cancelled_in_call.append(jeep.pk)  # whatever the brain claims, the tool checks the account
    Appointment.objects.filter(pk=jeep.pk).update(status="cancelled")
    res = run_tool(ctx, "restore_appointment", {"appointment_id": jeep.pk})
    assert not res.ok
    assert status_of(jeep) == "cancelled"
