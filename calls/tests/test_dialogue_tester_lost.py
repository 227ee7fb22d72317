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
    assert agent_lines(transcript)[1].startswith(f"The next one is an oil change on {label(day(agent_now, 2))}")
    assert "tire rotation" not in agent_lines(transcript)[1]
