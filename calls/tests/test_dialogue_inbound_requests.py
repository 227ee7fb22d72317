"""Inbound callers of issue 6 (second round): what they say about the appointments they have and the one they
want, read the way a person at the desk would."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.tests.conftest import agent_local
from calls.tests.test_dialogue_callers import agent_lines, book, day, talk
from calls.tests.test_dialogue_tester_moves import starts

pytestmark = pytest.mark.django_db(transaction=True)

# A Tuesday morning in the shop's zone.
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo("America/Chicago"))


# --- "same time as before": the appointment's own time, never "before" a time -----------------------------------


@pytest.mark.parametrize(
    ("line", "exact"),
    [
        ("monday, same time as before, 1 o'clock", time(13)),
        ("friday please, the same time as last time, at 3", time(15)),
        ("thursday, same time as I had before, 2 o'clock", time(14)),
    ],
)
def test_same_time_as_before_with_the_hour_said_is_that_hour(line, exact):
    u = nlu.understand(line, NOW, services=False, named_days={})
    assert u.time is not None and u.time.exact == exact, u.time
    assert u.relative is not None and u.relative.same_time


@pytest.mark.parametrize("line", ["same time as before", "wednesday, same time as last time", "same hour as usual"])
def test_same_time_as_before_alone_names_no_time(line):
    u = nlu.understand(line, NOW, services=False, named_days={})
    assert u.time is None, u.time
    assert u.relative is not None and u.relative.same_time


@pytest.mark.parametrize(
    "line",
    [
        "can you move my oil change to friday, same time as before, 2 o'clock",
        "I want to reschedule the oil change for friday. Same time as last time, 2pm",
    ],
)
async def test_moving_to_a_day_at_the_same_time_as_before(agent_ctx, maria, agent_now, line):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 14))
    _ctx, transcript = await talk(agent_ctx, [line, "yes", "no"], customer=maria)
    lines = agent_lines(transcript)
    rows = await in_db_thread(starts, maria)
    assert rows[oil.pk] == ("scheduled", day(agent_now, 4), 14), lines
