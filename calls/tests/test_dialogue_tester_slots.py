"""Moves, offers and choices an independent tester got wrong from the rule agent (issue 6), on the demo shop's own
service list, at the tester's hour: a Tuesday evening. A time said alone keeps the appointment's day; "the
following Saturday" and "the Wednesday after" count from the appointment; "after lunch", "later in the day" and
hours said as a choice are read as such; one question per proposal."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conftest import DWAYNE_PHONE, MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from calls.tests.conversation import run_conversation
from calls.tests.test_dialogue_callers import agent_lines, book, booked, day
from crm.models import Customer
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tuesday_evening(agent_now):
    """The tester's clock: a Tuesday at 18:20, the shop closed for the day (agent_now is the Monday before)."""
    return agent_now + timedelta(days=1, hours=9, minutes=20)


async def call(agent_ctx, now, lines, customer, phone=MARIA_PHONE):
    ctx = await in_db_thread(agent_ctx, phone, customer)
    ctx.now = now
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


def at(appt):
    appt.refresh_from_db()
    start = appt.start.astimezone(shop_tz())
    return appt.status, start.date(), (start.hour, start.minute)


# --- a time said alone: the appointment's own day -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "hm"),
    [
        ("can you move my appointment to 3 o'clock instead", (15, 0)),
        ("could we make my appointment half past two instead", (14, 30)),
        ("I'd like to change my appointment to 10 in the morning", (10, 0)),
    ],
)
async def test_a_time_alone_moves_the_appointment_within_its_own_day(
    agent_ctx, maria, agent_now, tuesday_evening, line, hm
):
    friday = day(agent_now, 4)
    appt = await in_db_thread(book, maria, "brake-inspection", agent_local(friday, 12))
    _ctx, transcript = await call(agent_ctx, tuesday_evening, [line, "yes", "no"], maria)
    assert await in_db_thread(at, appt) == ("scheduled", friday, hm), agent_lines(transcript)


async def test_changing_the_one_just_booked_to_another_hour_keeps_its_day(agent_ctx, maria, agent_now, tuesday_evening):
    thursday, friday = day(agent_now, 3), day(agent_now, 4)
    other = await in_db_thread(book, maria, "diagnostics", agent_local(thursday, 12))
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        ["tire rotation", "Friday at 11", "yes", "oh wait, sorry, can I change that to 1 instead", "yes", "no"],
        maria,
    )
    lines = agent_lines(transcript)
    rows = await booked(maria)
    assert [(r[0].date(), r[0].hour, r[1]) for r in rows] == [
        (thursday, 12, ["diagnostics"]),
        (friday, 13, ["tire-rotation"]),
    ], lines
    assert await in_db_thread(at, other) == ("scheduled", thursday, (12, 0))


# --- "the following Saturday", "the Wednesday after": counted from the appointment ----------------------------


@pytest.mark.parametrize(
    "line",
    [
        "I need to move my Saturday appointment to the following Saturday",
        "could I bump my Saturday appointment to the Saturday after that",
    ],
)
async def test_the_following_weekday_is_the_one_after_the_appointment(
    agent_ctx, maria, agent_now, tuesday_evening, line
):
    saturday = day(agent_now, 5)
    appt = await in_db_thread(book, maria, "state-inspection", agent_local(saturday, 11, 30))
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 8), 9))
    _ctx, transcript = await call(agent_ctx, tuesday_evening, [line, "9", "yes", "no"], maria)
    assert await in_db_thread(at, appt) == ("scheduled", saturday + timedelta(days=7), (9, 0)), agent_lines(transcript)


@pytest.mark.parametrize("line", ["uh can we do the Wednesday after instead", "how about the following Wednesday"])
async def test_the_weekday_after_an_appointment_chosen_from_the_list_is_after_it(
    agent_ctx, maria, agent_now, tuesday_evening, line
):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 9, 30))
    later = await in_db_thread(book, maria, "alignment", agent_local(day(agent_now, 14), 15))  # a Monday
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        [
            "yeah I need to move my appointment",
            f"the one on {day(agent_now, 14):%B} {day(agent_now, 14).day}",
            line,
            "the first one",
        ],
        maria,
    )
    lines = agent_lines(transcript)
    wednesday = day(agent_now, 16)
    assert f"{wednesday:%A}, {wednesday:%B} {wednesday.day}" in lines[3], lines
    assert not any(f"{day(agent_now, 2):%B} {day(agent_now, 2).day} at 7" in line for line in lines), lines
    assert await in_db_thread(at, later) == ("scheduled", day(agent_now, 14), (15, 0))


# --- two services asked about, one taken ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "choice", "code", "described"),
    [
        (
            "what's the difference between your brake inspection and brake pad replacement",
            "ok I'll just do the inspection, Thursday at 3",
            "brake-inspection",
            ("Measure pads and rotors", "New pads on one axle"),
        ),
        (
            "how is a coolant flush different from a transmission fluid service?",
            "alright let's go with the flush then, Thursday at 3",
            "coolant-flush",
            ("Flush and refill the cooling system", "Drain and fill"),
        ),
    ],
)
async def test_asked_the_difference_then_takes_one_of_the_two(
    agent_ctx, maria, agent_now, tuesday_evening, question, choice, code, described
):
    _ctx, transcript = await call(agent_ctx, tuesday_evening, [question, choice, "yes", "no"], maria)
    lines = agent_lines(transcript)
    assert all(d.lower() in lines[1].lower() for d in described), lines
    assert "can't book" not in lines[2], lines
    rows = await booked(maria)
    assert [(r[0].date(), r[0].hour, r[1]) for r in rows] == [(day(agent_now, 3), 15, [code])], lines


# --- two cars, each with its own service --------------------------------------------------------------------


async def test_two_cars_each_with_its_service_and_both_brought_in(agent_ctx, dwayne, agent_now, tuesday_evening):
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        [
            "the Jeep needs a tire rotation and the Tacoma needs an oil change, can I bring them both Thursday morning",
            "the first one",
            "yes",
            "no",
        ],
        dwayne,
        phone=DWAYNE_PHONE,
    )
    rows = await booked(dwayne)
    assert sorted((r[2], tuple(r[1])) for r in rows) == [
        ("Jeep Grand Cherokee", ("tire-rotation",)),
        ("Toyota Tacoma", ("oil-change",)),
    ], agent_lines(transcript)
    assert {r[0].date() for r in rows} == {day(agent_now, 3)}


# --- another service instead, said while the day is asked -------------------------------------------------------


async def test_a_new_caller_swaps_the_service_before_giving_the_day(agent_ctx, demo_shop, agent_now, tuesday_evening):
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        [
            "hi I need an oil change",
            "Ben Foster",
            "2019 Jeep Wrangler",
            "actually wait, can you make that a tire rotation instead, I just had the oil done",
            "saturday",
            "8:30",
            "yes",
            "no",
        ],
        None,
        phone=NEW_CALLER_PHONE,
    )
    ben = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    rows = await booked(ben)
    assert [(r[0].date(), r[1]) for r in rows] == [(day(agent_now, 5), ["tire-rotation"])], agent_lines(transcript)


@pytest.mark.parametrize(
    ("line", "codes"),
    [
        ("hmm, switch that to a tire rotation, the oil was already done last month", ["tire-rotation"]),
        ("oh, could you do a brake inspection instead", ["brake-inspection"]),
        ("and add a tire rotation too", ["oil-change", "tire-rotation"]),
    ],
)
async def test_a_service_said_while_the_day_is_asked_changes_the_booking(
    agent_ctx, maria, agent_now, tuesday_evening, line, codes
):
    _ctx, transcript = await call(
        agent_ctx, tuesday_evening, ["I need an oil change", line, "Friday at 10", "yes", "no"], maria
    )
    lines = agent_lines(transcript)
    assert lines[2].endswith("What day works best for you?"), lines
    rows = await booked(maria)
    assert [(r[0].date(), r[0].hour, r[1]) for r in rows] == [(day(agent_now, 4), 10, codes)], lines


# --- a loaner asked for at the read-back -------------------------------------------------------------------------


@pytest.mark.parametrize("ask", ["and can I get a loaner", "oh, could we have a loaner car for that?"])
async def test_a_loaner_asked_for_at_the_read_back_is_booked_and_read_back(
    agent_ctx, maria, agent_now, tuesday_evening, ask
):
    await in_db_thread(ShopProfile.objects.create, loaner_cars=True, loaner_terms="We reserve them ahead")
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        ["I want to book a brake inspection", "Thursday", "ok, 2 o'clock", ask, "yes", "no"],
        maria,
    )
    lines = agent_lines(transcript)
    assert "loaner" in lines[4] and lines[4].endswith("Shall I book it?"), lines
    appt = await in_db_thread(Appointment.objects.get, customer=maria)
    assert (appt.transport, appt.start.astimezone(shop_tz()).hour) == ("loaner", 14), lines


async def test_a_loaner_asked_for_where_the_shop_has_none_is_not_booked(agent_ctx, maria, tuesday_evening):
    await in_db_thread(ShopProfile.objects.create, loaner_cars=False, shuttle=True)
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        ["I want to book a brake inspection", "Thursday at 2", "can I get a loaner", "yes", "no"],
        maria,
    )
    lines = agent_lines(transcript)
    assert lines[3].startswith("We don't have loaner cars"), lines
    appt = await in_db_thread(Appointment.objects.get, customer=maria)
    assert appt.transport != "loaner", lines


# --- what a caller says to the times offered ---------------------------------------------------------------------


def times_offered(line: str) -> list[tuple[int, int]]:
    """The clock times named in an offer, as (hour, minute) on a 24-hour clock."""
    import re

    out = []
    for h, m, half in re.findall(r"\b(\d{1,2}):(\d\d) (AM|PM)", line):
        out.append((int(h) % 12 + (12 if half == "PM" else 0), int(m)))
    out += [(12, 0)] * len(re.findall(r"\bnoon\b", line))
    return out


@pytest.mark.parametrize("line", ["any time after lunch", "anytime in the afternoon is fine", "whenever after 2 works"])
async def test_any_time_in_a_window_offers_that_window_on_the_day(agent_ctx, maria, agent_now, tuesday_evening, line):
    _ctx, transcript = await call(agent_ctx, tuesday_evening, ["I need a brake inspection", "Thursday", line], maria)
    lines = agent_lines(transcript)
    thursday = day(agent_now, 3)
    assert lines[3].startswith(f"I have {thursday:%A}, {thursday:%B} {thursday.day} at "), lines
    offered = times_offered(lines[3])
    assert offered and all(t >= (12, 0) for t in offered), lines


@pytest.mark.parametrize("line", ["whatever works", "eh, doesn't matter, any time", "whenever is fine"])
async def test_leaving_it_to_us_keeps_the_day_the_caller_gave(agent_ctx, maria, agent_now, tuesday_evening, line):
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        ["hmm, yeah, so, I was hoping to get in for, um, like an oil change or whatever", "Thursday maybe", line],
        maria,
    )
    lines = agent_lines(transcript)
    thursday = day(agent_now, 3)
    assert f"{thursday:%A}, {thursday:%B} {thursday.day} at 7:00 AM" in lines[3], lines
    assert "Shall I book" in lines[3], lines  # the one question before it is booked


@pytest.mark.parametrize(
    ("first", "later"),
    [
        ("I need an oil change first thing Thursday", "yeah sure"),
        ("could you fit a tire rotation in on Friday, as late as you can", "yep, that works"),
    ],
)
async def test_one_opening_put_forward_is_booked_on_one_yes(agent_ctx, maria, agent_now, tuesday_evening, first, later):
    _ctx, transcript = await call(agent_ctx, tuesday_evening, [first, later, "no"], maria)
    lines = agent_lines(transcript)
    assert lines[1].endswith("then?") and "Does that work" not in lines[1], lines
    assert lines[2].startswith("You're all set"), lines
    assert len(await booked(maria)) == 1


async def test_no_to_the_one_put_forward_offers_the_next_ones(agent_ctx, maria, agent_now, tuesday_evening):
    _ctx, transcript = await call(
        agent_ctx, tuesday_evening, ["oil change first thing Thursday", "no", "the second one", "yes"], maria
    )
    lines = agent_lines(transcript)
    assert lines[2].startswith("I also have ") and "7:00 AM" not in lines[2], lines
    rows = await booked(maria)
    assert len(rows) == 1 and rows[0][0].date() == day(agent_now, 3) and rows[0][0].hour > 7, lines


async def test_moving_to_the_earliest_is_one_question(agent_ctx, maria, agent_now, tuesday_evening):
    appt = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 4), 15))
    _ctx, transcript = await call(
        agent_ctx, tuesday_evening, ["can you move my appointment to first thing Thursday", "yes", "no"], maria
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith("to that time?"), lines
    assert await in_db_thread(at, appt) == ("scheduled", day(agent_now, 3), (7, 0)), lines


@pytest.mark.parametrize("pick", ["Thursday's better I guess", "hmm, the Thursday ones I think"])
async def test_a_day_with_two_of_the_offers_asks_which_time_that_day(
    agent_ctx, maria, agent_now, tuesday_evening, pick
):
    _ctx, transcript = await call(
        agent_ctx,
        tuesday_evening,
        [
            "my check engine light came on and it's kind of blinking now, could I bring it in maybe Thursday or "
            "Friday, whatever works",
            pick,
            "the afternoon one",
            "yes",
            "no",
        ],
        maria,
    )
    lines = agent_lines(transcript)
    thursday, friday = day(agent_now, 3), day(agent_now, 4)
    offers = lines[1]
    assert f"{thursday:%B} {thursday.day}" in offers and f"{friday:%B} {friday.day}" in offers, lines
    on_thursday = [t for t in times_offered(offers.split(f"{friday:%A}")[0])]
    assert len(on_thursday) == 2, lines  # (the shop's two Thursday openings put forward beside Friday's)
    assert lines[2].endswith("?") and "Shall I book" not in lines[2], lines
    assert all(f"{hour % 12}:{minute:02d}" in lines[2] or "noon" in lines[2] for hour, minute in on_thursday), lines
    rows = await booked(maria)
    afternoon = max(on_thursday)
    assert [(r[0].date(), (r[0].hour, r[0].minute)) for r in rows] == [(thursday, afternoon)], lines
