"""Moves and bookings an independent tester asked for in plain words (issue 6): a day they can't make with
another day asked for is a move, "book another one" is a second visit, two named days with one of them
ambiguous are asked about rather than all moved."""

import pytest

from bartsvoice.db import in_db_thread
from calls.tests.conftest import agent_local
from calls.tests.test_dialogue_callers import agent_lines, book, day, talk
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ServiceType

pytestmark = pytest.mark.django_db(transaction=True)


def starts(customer):
    return {
        a.pk: (a.status, a.start.astimezone(shop_tz()).date(), a.start.astimezone(shop_tz()).hour)
        for a in Appointment.objects.filter(customer=customer)
    }


async def test_cant_make_it_tomorrow_with_another_day_asked_for_is_a_move(agent_ctx, maria, agent_now):
    tomorrow = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9))
    later = await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 11), 10))
    _ctx, transcript = await talk(
        agent_ctx,
        ["I can't make it tomorrow, can we do Thursday instead, same time", "yes", "no"],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert not any("cancel" in line for line in lines), lines
    rows = await in_db_thread(starts, maria)
    assert rows[tomorrow.pk] == ("scheduled", day(agent_now, 3), 9), lines
    assert rows[later.pk] == ("scheduled", day(agent_now, 11), 10)


async def test_book_another_one_just_the_oil_change_is_a_second_booking(agent_ctx, maria, agent_now):
    both = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 7), 15))
    await in_db_thread(lambda: both.service_types.add(ServiceType.objects.get(code="brake-inspection")))
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "this coming Saturday, as early as possible, oil change",
            "book another one, just the oil change",
            "yes",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith("Do you want another one, or should I move that one?"), lines
    rows = await in_db_thread(starts, maria)
    assert rows[both.pk] == ("scheduled", day(agent_now, 7), 15), lines  # not moved
    assert len(rows) == 2, lines


async def test_both_of_two_named_days_with_two_of_one_day_asks_which_two(agent_ctx, maria, agent_now):
    tires = await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 2), 9))
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 5), 12))
    brakes = await in_db_thread(book, maria, "brake-inspection", agent_local(day(agent_now, 9), 12))
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "hi, can you move both my Saturday and my Wednesday appointments to the following week, same days and "
            "times",
            "the oil change and the tire rotation",
            "yes",
            "no thanks",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith("Which two would you like to move?"), lines
    rows = await in_db_thread(starts, maria)
    assert rows[tires.pk] == ("scheduled", day(agent_now, 9), 9), lines
    assert rows[oil.pk] == ("scheduled", day(agent_now, 12), 12), lines
    assert rows[brakes.pk] == ("scheduled", day(agent_now, 9), 12), lines  # the other Wednesday stays
