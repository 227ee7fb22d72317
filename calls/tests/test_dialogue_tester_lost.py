"""Inbound callers the rule agent used to lose with "Sorry, I didn't catch that" (issue 6, a tester's Tuesday
evening): each now gets an answer, a note for an advisor, or a person."""

import pytest

from calls.tests.conversation import transferred
from calls.tests.test_dialogue_callers import agent_lines, talk

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
