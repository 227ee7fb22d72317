"""Questions asked in the middle of a call are answered from the shop's own data (the ShopProfile the shop edits,
its hours, its service types' durations and prices, the caller's own appointments), and the agent then asks
again what it was waiting for. Nothing is made up: a fact the shop has not entered goes to an advisor."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.agent.understanding.questions import shop_question
from calls.tests.conftest import MARIA_PHONE, NEW_CALLER_PHONE
from calls.tests.conversation import run_conversation
from scheduling.models import ServiceType, ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)
PENDING = "What day works best for you?"


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def talk(agent_ctx, lines, caller=MARIA_PHONE, customer=None):
    ctx = await in_db_thread(agent_ctx, caller, customer)
    return await run_conversation(ctx, RuleBrain(), lines)


@pytest.fixture
def profile(db):
    return ShopProfile.objects.create(
        address="77 Elm Road, Springfield",
        directions="Use the side gate.",
        loaner_cars=False,
        shuttle=True,
        shuttle_area="within three miles",
    )


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("where are you located?", "location"),
        ("what's your address", "location"),
        ("how do I get to you guys", "location"),
        ("do you have loaner cars?", "loaner"),
        ("do you guys offer a rental while it's in", "loaner"),
        ("is there a shuttle", "shuttle"),
        ("when am I coming in?", "my_appointment"),
        ("what time is my appointment again?", "my_appointment"),
        ("how long does an oil change take?", "duration"),
        ("how much is an oil change", "price"),
        ("what's your phone number?", "phone"),
        ("can I call you back on a direct line?", "phone"),
        ("what number should I call if I'm running late", "phone"),
        ("can I get your number", "phone"),
        ("my number is 312 555 0142", None),
        ("can you call me back later", None),
        ("I'd like a loaner", None),
        ("tomorrow morning", None),
        ("I need an oil change", None),
    ],
)
def test_the_kind_of_question_asked(line, kind):
    assert shop_question(line) == kind


async def test_location_and_transport_questions_read_the_shop_profile_then_ask_again(
    agent_ctx, agent_customer, profile
):
    transcript = await talk(
        agent_ctx,
        ["I need an oil change", "where are you located?", "do you have loaner cars?", "is there a shuttle?"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[1] == PENDING
    assert lines[2] == f"We're at 77 Elm Road, Springfield. Use the side gate. {PENDING}"
    # no loaners entered: said so, with what the shop does have
    assert lines[3] == f"We don't have loaner cars, but our shuttle can give you a ride within three miles. {PENDING}"
    assert lines[4] == f"Yes, our shuttle can give you a ride within three miles. {PENDING}"


async def test_the_shops_number_is_read_out_in_groups_then_the_question_again(
    agent_ctx, agent_customer, profile, settings
):
    settings.TWILIO_PHONE_NUMBER = "+13125559999"
    await in_db_thread(ShopProfile.objects.filter(pk=profile.pk).update, phone="+13125550100")
    transcript = await talk(
        agent_ctx,
        ["what's your phone number?", "I need an oil change", "can I call you back on a direct line?"],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[1] == "You can reach us at 3 1 2, 5 5 5, 0 1 0 0. Is there anything else I can help you with?"
    assert lines[3] == f"You can reach us at 3 1 2, 5 5 5, 0 1 0 0. {PENDING}"


async def test_without_a_number_in_the_profile_the_twilio_number_is_given(agent_ctx, agent_customer, settings):
    settings.TWILIO_PHONE_NUMBER = "+13125559999"
    transcript = await talk(agent_ctx, ["what's your number?"], customer=agent_customer)
    assert agent_lines(transcript)[1].startswith("You can reach us at 3 1 2, 5 5 5, 9 9 9 9.")


async def test_an_edit_in_the_profile_is_what_the_next_caller_hears(agent_ctx, agent_customer, profile):
    await in_db_thread(
        ShopProfile.objects.filter(pk=profile.pk).update,
        loaner_cars=True,
        loaner_terms="Book one with your appointment",
    )
    transcript = await talk(agent_ctx, ["do you have loaner cars?"], customer=agent_customer)
    assert agent_lines(transcript)[1] == (
        "Yes, we have loaner cars. Book one with your appointment. Is there anything else I can help you with?"
    )


async def test_without_a_profile_the_agent_does_not_invent_an_address(agent_ctx, agent_customer):
    transcript = await talk(agent_ctx, ["where are you located?"], customer=agent_customer)
    line = agent_lines(transcript)[1]
    assert line.startswith("I don't have that information here, but a service advisor can tell you.")


async def test_price_and_duration_are_answered_as_asked_and_an_unpriced_service_is_quoted_by_an_advisor(
    agent_ctx, agent_customer, agent_shop
):
    await in_db_thread(ServiceType.objects.filter(code="brakes").update, price=None)
    transcript = await talk(
        agent_ctx,
        [
            "I need an oil change",
            "how much is an oil change?",
            "how long does an oil change take?",
            "and how much for a brake service",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[2] == f"An oil change is $49.99. {PENDING}"
    assert lines[3] == f"An oil change takes about 30 minutes. {PENDING}"
    assert lines[4].startswith("The price of brake service depends on the car; a service advisor can give you a quote.")
    assert "$" not in lines[4]


async def test_when_am_i_coming_in_reads_only_the_callers_own_appointment_and_goes_back(
    agent_ctx, agent_customer, agent_appointment, agent_other_appointment, agent_now
):
    transcript = await talk(
        agent_ctx,
        [
            "I'd like a tire rotation",
            "wait, when am I coming in for the oil change?",
            "what time is my appointment again?",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    wednesday = (agent_now + timedelta(days=2)).date()
    expected = f"You have an oil change on {wednesday:%A}, {wednesday:%B} {wednesday.day} at 10:00 AM. {PENDING}"
    assert lines[2] == expected
    assert lines[3] == expected
    assert "brake" not in " ".join(lines).lower()  # Luis's appointment is not Maria's to hear about


async def test_an_unverified_caller_hears_no_appointment_mid_booking(agent_ctx, agent_other_appointment):
    transcript = await talk(agent_ctx, ["I need an oil change", "when am I coming in?"], caller=NEW_CALLER_PHONE)
    text = " ".join(agent_lines(transcript))
    assert "I can look up your appointment once I've found your account." in text
    assert "Thursday" not in text and "brake" not in text.lower()


async def test_a_question_with_a_day_in_it_keeps_the_day(agent_ctx, agent_customer, agent_now, profile):
    transcript = await talk(
        agent_ctx, ["I need an oil change", "tomorrow afternoon works, where are you again?"], customer=agent_customer
    )
    lines = agent_lines(transcript)
    tomorrow = (agent_now + timedelta(days=1)).date()
    assert lines[2].startswith("We're at 77 Elm Road, Springfield.")
    assert f"I have {tomorrow:%A}, {tomorrow:%B} {tomorrow.day} at" in lines[2]


async def test_what_time_was_that_is_the_read_back_again_then_the_booking_just_made(agent_ctx, agent_customer):
    transcript = await talk(
        agent_ctx,
        [
            "oil change tomorrow morning",
            "the first one",
            "wait, what time was that?",
            "yes",
            "sorry, what day was that again?",
        ],
        customer=agent_customer,
    )
    lines = agent_lines(transcript)
    assert lines[3] == lines[2] and lines[2].startswith("So that's an oil change on")
    booked = lines[4].split("You're all set: ")[1].split(". We'll")[0]
    assert lines[5] == f"That's {booked}. Is there anything else I can help you with?"
