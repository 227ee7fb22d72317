"""The reminder call, as an independent tester's callers answered it (issue 9, second round): a yes that waits on
a question, a yes taken back, another appointment named beside the yes, loaners asked for and given back, "the
earliest Saturday morning", the price of something else and "add it", "I'll call you back", keeping the day after
all; and the callers who got lost (a cancel in other words, a death in the family, a spouse, "is this a scam?",
Spanish, "not a problem at all")."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conversation import run_conversation

pytestmark = pytest.mark.django_db(transaction=True)


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def reload(appointment):
    await in_db_thread(appointment.refresh_from_db)
    return appointment


# --- a yes that waits on an answer is no yes yet --------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "before I say yes, what's it gonna cost?",  # the tester's
        "hmm before I confirm, how much is it going to be?",
        "depends, what's the price on that?",
        "yeah ok if it's under a hundred bucks. how much is it?",
        "I'll say yes if it's not too pricey, what does it cost?",
    ],
)
async def test_a_yes_that_waits_on_the_price_answers_it_then_asks_again(
    agent_ctx, agent_customer, agent_appointment, line
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    assert "$49.99" in said[1] and said[1].endswith("Can you still make it?"), said
    assert (await reload(agent_appointment)).status == "scheduled"
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "ok yes", "no that's it"])
    said = agent_lines(transcript)
    assert "you're confirmed" in said[2] and "Goodbye" in said[3], said
    assert (await reload(agent_appointment)).status == "confirmed"


# --- a yes taken back: what follows the take-back is the answer ----------------------------------------------


@pytest.mark.parametrize(
    "line, weekday",
    [
        ("yes. wait, no, can we do friday instead?", 4),  # the tester's
        ("yeah sure. oh hold on, actually can it be thursday?", 3),
        ("ok sounds good. no wait, scratch that, friday would be better", 4),
    ],
)
async def test_a_yes_taken_back_in_the_same_breath_is_the_move_that_follows(
    agent_ctx, agent_customer, agent_appointment, agent_now, line, weekday
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    said = agent_lines(transcript)
    day = (agent_now + timedelta(days=weekday)).date()
    assert f"{day:%B} {day.day}" in said[1] and "confirmed" not in said[1], said
    assert (await reload(agent_appointment)).status == "scheduled"


async def test_a_yes_taken_back_to_no_asks_move_or_cancel(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["yep. wait, no, I can't"])
    said = agent_lines(transcript)
    assert "move it to another day, or cancel it" in said[1], said
    assert (await reload(agent_appointment)).status == "scheduled"
