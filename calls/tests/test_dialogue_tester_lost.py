"""Inbound callers the rule agent used to lose with "Sorry, I didn't catch that" (issue 6, a tester's Tuesday
evening): each now gets an answer, a note for an advisor, or a person."""

import pytest

from bartsvoice.db import in_db_thread
from calls.tests.conftest import agent_local
from calls.tests.conversation import transferred
from calls.tests.test_dialogue_callers import agent_lines, book, day, label, talk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("line", "person"),
    [
        ("can I talk to Mike in service", "Mike"),  # the tester's
        ("hi, could I speak with Dana please", "Dana"),
    ],
)
async def test_a_person_asked_for_by_name_is_put_through_with_the_name_noted(agent_ctx, maria, line, person):
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    action = transferred(transcript)
    assert action is not None and person in action.reason
    assert f"you asked for {person}" in agent_lines(transcript)[1]


@pytest.mark.parametrize(
    "line",
    [
        "Hi, I'm calling for my husband Daniel, he has a few appointments, can you tell me when the next one is",
        "my wife has a couple of visits booked with you, when's her next appointment?",
    ],
)
async def test_when_the_next_one_is_reads_the_next_appointment_only(agent_ctx, maria, agent_now, line):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 9), 13))
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    assert agent_lines(transcript)[1].startswith(
        f"Your next appointment is an oil change on {label(day(agent_now, 2))}"
    )
    assert "tire rotation" not in agent_lines(transcript)[1]


# --- a general word for several of the shop's services ------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "pick", "service"),
    [
        ("I need my car inspected", "the state one", "a state safety inspection"),  # the tester's words
        ("hi I'd like to schedule an inspection", "multi-point", "a multi-point inspection"),  # the tester's
        ("can you guys inspect my truck on Friday", "the first one", "a brake inspection"),
    ],
)
async def test_an_inspection_asks_which_of_the_shops_inspections(agent_ctx, maria, line, pick, service):
    _ctx, transcript = await talk(agent_ctx, [line, pick, "Friday at 2"], customer=maria)
    said = agent_lines(transcript)
    assert said[1] == (
        "We do a brake inspection, a multi-point inspection, and a state safety inspection. Which one would you like?"
    )
    assert "can't book" not in " ".join(said)
    assert said[-1].startswith(f"So that's {service} on")


async def test_a_day_said_instead_of_which_inspection_is_kept_and_the_choice_asked_shortly(agent_ctx, maria):
    _ctx, transcript = await talk(agent_ctx, ["I need an inspection", "Wednesday the 9th"], customer=maria)
    assert agent_lines(transcript)[-1] == "Sure. Which inspection: the brake, multi-point, or state safety?"


# --- is my car ready? ------------------------------------------------------------------------------------------


def callback_requested(ctx) -> bool:
    from calls.models import Call

    return Call.objects.get(pk=ctx.call_id).callback_requested


async def test_a_car_finished_today_is_ready(agent_ctx, maria, agent_now):
    visit = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 0), 7))
    visit.status = "completed"
    await in_db_thread(visit.save)
    _ctx, transcript = await talk(agent_ctx, ["hey, is my Civic done yet?"], customer=maria)
    assert agent_lines(transcript)[1].startswith("Good news: your 2018 Honda Civic is ready. The oil change is done.")


async def test_a_car_in_the_shop_not_marked_finished_is_left_with_an_advisor(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 0), 8))
    ctx, transcript = await talk(agent_ctx, ["when will my car be ready?"], customer=maria)
    said = agent_lines(transcript)[1]
    assert "isn't marked finished yet" in said and "call you as soon as it's ready" in said
    assert await in_db_thread(callback_requested, ctx)


async def test_is_my_car_ready_without_a_visit_today_is_an_honest_answer_and_a_call_back(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 8))  # another day
    ctx, transcript = await talk(agent_ctx, ["hi, is my car ready yet?"], customer=maria)  # the tester's
    assert agent_lines(transcript)[1].startswith("I don't see a visit for your car on our schedule today.")
    assert await in_db_thread(callback_requested, ctx)


# --- proving who they are with the weekday of their appointment ------------------------------------------------


@pytest.mark.parametrize(
    ("request_line", "day_said"),
    [
        (
            "Hi, this is Maria Delgado, I'm calling from my work phone. I need to cancel my Saturday appointment",
            "it's on Saturday",
        ),  # the tester's, with this shop's customer
        ("hello, Maria Delgado here, calling from my sister's phone, I have to cancel my appointment", "a Saturday"),
    ],
)
async def test_the_weekday_of_an_appointment_a_week_off_proves_who_they_are(
    agent_ctx, maria, agent_now, request_line, day_said
):
    saturday = day(agent_now, 12)  # not this week's Saturday: the one after
    await in_db_thread(book, maria, "oil-change", agent_local(saturday, 9))
    await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 8), 10))
    _ctx, transcript = await talk(agent_ctx, [request_line, "60614", day_said, "yes"], caller="+13125550199")
    said = agent_lines(transcript)
    assert said[3].startswith("Thanks, Maria, I found your account.")
    assert f"oil change on {label(saturday)}" in said[3]
    assert said[4].startswith(f"Done. Your oil change on {label(saturday)}")


# --- beyond how far ahead we book ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "ask"),
    [
        ("oil change on the first of May", "ok what's the latest you can do"),  # the tester's question
        ("can I book a tire rotation on June 20th", "hmm, how far out can you book then?"),
    ],
)
async def test_the_furthest_day_we_book_is_offered_when_asked(agent_ctx, maria, agent_now, first, ask, settings):
    settings.BOOKING_HORIZON_DAYS = 30
    _ctx, transcript = await talk(agent_ctx, [first, ask], customer=maria)
    said = agent_lines(transcript)
    assert "we book up to 30 days ahead" in said[1]
    last = day(agent_now, 30)
    while last.weekday() == 6:  # closed on Sundays
        last = day(agent_now, (last - agent_now.date()).days - 1)
    assert said[2].startswith(f"The furthest out I can book is {label(last)}, at ")


# --- the appointment booked in this call ----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["the one I just made", "um the appointment we just booked"])  # the tester's first
async def test_the_one_just_made_is_the_appointment_booked_in_this_call(agent_ctx, maria, agent_now, which):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9))
    lines = ["tire rotation Friday at 11", "yes", "and I'd like to confirm my appointment", which]
    _ctx, transcript = await talk(agent_ctx, lines, customer=maria)
    said = agent_lines(transcript)
    assert said[3].endswith("Which one would you like to confirm?")
    assert said[4].startswith(f"I see your tire rotation appointment on {label(day(agent_now, 4))}")


# --- what only a person can settle -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "my car broke down on the highway, I need a tow",  # the tester's
        "hi, I'm stuck on the side of the road with a flat tire, can you send someone",
        "I'm going to need a tow truck",
    ],
)
async def test_a_car_broken_down_on_the_road_goes_to_a_person_at_once(agent_ctx, maria, line):
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    action = transferred(transcript)
    assert action is not None and action.reason.startswith("urgent")
    assert "call 911" in agent_lines(transcript)[1]


RECALL_OFFER = "Recall work starts with a service advisor checking your car's VIN against the recall."


@pytest.mark.parametrize(
    "line",
    [
        "hi I got a recall notice in the mail for my airbag, can I bring it in for that",  # the tester's
        "there's a recall on my Civic's fuel pump, can you fix it",
    ],
)
async def test_a_recall_takes_the_vin_for_an_advisor(agent_ctx, maria, line):
    from calls.tests.test_dialogue_callers import OUTBACK_VIN

    ctx, transcript = await talk(agent_ctx, [line, f"sure, it's {OUTBACK_VIN}"], customer=maria)
    said = agent_lines(transcript)
    assert said[1].startswith(RECALL_OFFER) and "can't book" not in said[1]
    assert said[2].startswith("Thanks. I've passed the VIN ending in")
    assert await in_db_thread(callback_requested, ctx)


async def test_a_recall_without_the_vin_at_hand_is_a_call_back_or_a_person(agent_ctx, maria):
    ctx, transcript = await talk(agent_ctx, ["I got a recall letter", "I don't have it with me"], customer=maria)
    assert agent_lines(transcript)[2].startswith("No problem. I've asked a service advisor to call you back")
    assert await in_db_thread(callback_requested, ctx)
    _ctx, transcript = await talk(agent_ctx, ["I got a recall letter", "can you just put me through"], customer=maria)
    assert transferred(transcript) is not None
