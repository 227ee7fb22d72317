"""Waiting at the shop and what to bring (issue 9): answered from the shop's profile on the reminder call and on
inbound calls, and never made up when the shop has not said (an advisor confirms, and the call's summary says so)."""

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conversation import run_conversation
from scheduling.models import ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)

LOUNGE = "the lounge by the parts counter; there's a TV and coffee"
BRING = "both sets of keys and the locking lug nut key"


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def profile(**fields):
    await in_db_thread(ShopProfile.objects.create, **fields)


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def inbound(agent_ctx, customer, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


# --- on the reminder call ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["sure. is it ok if I wait there?", "yep, is there somewhere to sit while it's done?"])
async def test_reminder_waiting_where_the_shop_lets_customers_wait(agent_ctx, agent_customer, agent_appointment, line):
    await profile(customers_can_wait="yes", waiting_area=LOUNGE)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "no"])
    reply = agent_lines(transcript)[1]
    assert reply.startswith("Great, you're confirmed"), reply
    assert f"You can wait in {LOUNGE}." in reply and "ready around 10:30 AM" in reply, reply


async def test_reminder_waiting_where_the_shop_does_not_let_customers_wait(
    agent_ctx, agent_customer, agent_appointment
):
    await profile(customers_can_wait="no", shuttle=True, shuttle_area="around downtown")
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["yes. could I wait for it?", "no"])
    reply = agent_lines(transcript)[1]
    assert "customers can't wait at the shop" in reply and "shuttle can give you a ride around downtown" in reply
    assert "ready around" not in reply and "welcome to wait" not in reply, reply


async def test_reminder_waiting_the_shop_has_not_decided_is_left_to_an_advisor(
    agent_ctx, agent_customer, agent_appointment
):
    # No profile at all: the shop never said whether customers can wait.
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["can I wait while you do it?"])
    reply = agent_lines(transcript)[1]
    assert "I'll have a service advisor confirm" in reply and "welcome to wait" not in reply, reply
    assert reply.endswith("Can you still make it?")
    assert "wait at the shop: a service advisor to confirm" in ctx.summary


@pytest.mark.parametrize(
    "fields, heard, noted",
    [
        ({"what_to_bring": BRING}, f"Please bring {BRING}.", False),
        ({"customers_can_wait": "yes"}, "I'll have a service advisor confirm", True),
    ],
)
async def test_reminder_what_to_bring(agent_ctx, agent_customer, agent_appointment, fields, heard, noted):
    await profile(**fields)
    ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yeah I'll be there. anything I need to bring?", "no"]
    )
    reply = agent_lines(transcript)[1]
    assert "Bring your 2018 Honda Civic in at 10:00 AM." in reply and heard in reply, reply
    assert ("what to bring: a service advisor to confirm" in ctx.summary) is noted


# --- on an inbound call --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, heard",
    [
        ({"customers_can_wait": "yes", "waiting_area": LOUNGE}, f"You can wait in {LOUNGE}."),
        ({"customers_can_wait": "no", "loaner_cars": True}, "can't wait at the shop while we work on the car, but we"),
        ({}, "I'll have a service advisor confirm"),
    ],
)
@pytest.mark.parametrize("line", ["hi, can customers wait while you work on the car?", "do you have a waiting room?"])
async def test_inbound_waiting_question(agent_ctx, agent_customer, fields, heard, line):
    if fields:
        await profile(**fields)
    ctx, transcript = await inbound(agent_ctx, agent_customer, [line])
    reply = agent_lines(transcript)[1]
    assert heard in reply and reply.endswith("Is there anything else I can help you with?"), reply
    assert ("a service advisor to confirm" in ctx.summary) is (not fields)


@pytest.mark.parametrize(
    "fields, heard", [({"what_to_bring": BRING}, f"Please bring {BRING}."), ({}, "I'll have a service advisor")]
)
async def test_inbound_what_to_bring(agent_ctx, agent_customer, fields, heard):
    if fields:
        await profile(**fields)
    _ctx, transcript = await inbound(agent_ctx, agent_customer, ["what do I need to bring with me?"])
    assert heard in agent_lines(transcript)[1], agent_lines(transcript)


# --- the language model's brief ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "can_wait, told",
    [
        ("yes", "Customers can also wait at the shop"),
        ("no", "Customers cannot wait at the shop"),
        (None, "say a service advisor will confirm"),
    ],
)
async def test_the_models_prompt_says_what_the_shop_says_about_waiting(agent_ctx, agent_customer, can_wait, told):
    from calls.agent.prompt import build_system_prompt

    if can_wait:
        await profile(customers_can_wait=can_wait)
    ctx = await in_db_thread(agent_ctx, agent_customer.phone, agent_customer)
    prompt = await in_db_thread(build_system_prompt, ctx)
    assert told in prompt and "the caller can wait for the car" not in prompt
