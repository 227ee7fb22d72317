"""The caller defects of issue 6 that were misreadings, replayed through the rule brain against the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bartsvoice.db import in_db_thread
from calls.agent.phrases import slot_label, spoken_day
from calls.agent.policy import RuleBrain
from calls.models import ToolCall
from calls.tests.conftest import MARIA_PHONE, agent_local
from calls.tests.conversation import run_conversation
from scheduling.availability import shop_tz
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent_now():
    """A Monday 9:00 at least a week ahead, between the 8th and the 20th: days of "this month" lie both ways."""
    today = timezone.now().astimezone(shop_tz()).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    while not 8 <= monday.day <= 20:
        monday += timedelta(days=7)
    return agent_local(monday, 9)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


async def talk(agent_ctx, customer, lines):
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, customer)
    transcript = await run_conversation(ctx, RuleBrain(), lines)
    return ctx, [text for speaker, text in transcript if speaker == "agent"]


async def slot_searches(ctx):
    return await in_db_thread(
        lambda: [
            t.arguments for t in ToolCall.objects.filter(call_id=ctx.call_id, name="get_available_slots").order_by("id")
        ]
    )


async def test_an_oil_change_the_day_after_tomorrow_is_a_booking(agent_ctx, agent_customer, agent_now):
    ctx, lines = await talk(
        agent_ctx, agent_customer, ["can I bring my car in for an oil change the day after tomorrow"]
    )
    day = (agent_now + timedelta(days=2)).date()
    [search] = await slot_searches(ctx)
    assert search["services"] == ["oil-change"] and search["date_from"] == day.isoformat()
    assert spoken_day(agent_local(day, 9)) in lines[-1]


async def test_the_nth_of_this_month_is_that_day_not_today(agent_ctx, agent_customer, agent_now):
    day = (agent_now + timedelta(days=3)).date()
    ctx, lines = await talk(
        agent_ctx, agent_customer, ["I need an oil change", f"the {_ordinal(day.day)} of this month"]
    )
    [search] = await slot_searches(ctx)
    assert search["date_from"] == day.isoformat()
    assert spoken_day(agent_local(day, 9)) in lines[-1]


async def test_a_day_of_this_month_that_has_passed_is_said_so(agent_ctx, agent_customer, agent_now):
    past = (agent_now - timedelta(days=5)).date()
    _, lines = await talk(
        agent_ctx, agent_customer, ["I need an oil change", f"the {_ordinal(past.day)} of this month at 10"]
    )
    assert f"{spoken_day(agent_local(past, 9))} has already passed." in lines[-1]
    assert "The next openings are" in lines[-1]  # from today on, not nothing at all
    assert not await in_db_thread(lambda: Appointment.objects.exists())


@pytest.mark.parametrize(
    ("said", "hour", "minute"),
    [
        ("two o'clock in the afternoon", 14, 0),
        ("2 in the afternoon", 14, 0),
        ("half past ten in the morning", 10, 30),
    ],
)
async def test_times_with_a_part_of_day_are_read_back_as_said(agent_ctx, agent_customer, agent_now, said, hour, minute):
    _, lines = await talk(agent_ctx, agent_customer, [f"an oil change tomorrow at {said}"])
    start = agent_local((agent_now + timedelta(days=1)).date(), hour, minute)
    assert lines[-1].startswith(f"So that's an oil change on {slot_label(start)}")


@pytest.mark.parametrize("said", ["10:15 am", "10:15 in the morning", "quarter past 10 in the morning"])
async def test_a_morning_quarter_hour_is_offered_the_grid_times_around_it(agent_ctx, agent_customer, agent_now, said):
    ctx, lines = await talk(agent_ctx, agent_customer, [f"I need an oil change tomorrow at {said}"])
    [search] = await slot_searches(ctx)
    assert search["time_preference"] == "10:15"
    assert "10:00 AM or 10:30 AM" in lines[-1] and "PM" not in lines[-1]


async def test_after_lunch_is_offered_from_half_past_twelve(agent_ctx, agent_customer, agent_now):
    ctx, lines = await talk(agent_ctx, agent_customer, ["I need an oil change tomorrow after lunch"])
    [search] = await slot_searches(ctx)
    assert search["time_preference"] == "12:30-23:59"
    assert "12:30 PM" in lines[-1] and "AM" not in lines[-1]


async def test_a_yes_that_is_not_clearly_one_books_nothing(agent_ctx, agent_customer, agent_now):
    _, lines = await talk(agent_ctx, agent_customer, ["an oil change tomorrow at 9", "yeah I have a weird"])
    assert not await in_db_thread(lambda: Appointment.objects.exists())
    assert lines[-1].endswith("Shall I book it?")
