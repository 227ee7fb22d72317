"""Callers who correct the booking being read back, name a weekday while another day is being discussed, count days
from today, or move their appointment relative to itself ("push it back a day") -- on the demo shop's services.

`agent_now` is a Monday 9:00 at least a week ahead; day(n) is n days after it."""

import re
from datetime import date, datetime, time

import pytest

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.agent.understanding import relative, understand
from calls.agent.understanding.corrections import turned_down
from calls.tests import test_dialogue_callers as callers
from calls.tests.conversation import ended
from scheduling.availability import shop_tz

pytestmark = pytest.mark.django_db(transaction=True)

# The demo shop and its callers (demo_shop, maria, dwayne) are calls/tests/conftest.py's fixtures.
agent_lines, booked, book, talk, day, label = (
    callers.agent_lines,
    callers.booked,
    callers.book,
    callers.talk,
    callers.day,
    callers.label,
)


def ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# --- understanding: what is turned down, relative moves, the week being discussed --------------------------------


@pytest.mark.parametrize(
    ("line", "days", "minutes", "same_time", "window"),
    [
        ("push it back a day", 1, 0, False, ""),
        ("could we bump it a couple of days?", 2, 0, False, ""),
        ("move it up an hour", 0, -60, False, ""),
        ("push my oil change back by thirty minutes", 0, 30, False, ""),
        ("same time next week", 7, 0, True, ""),
        ("the day after", 1, 0, False, ""),
        ("the day before that", -1, 0, False, ""),
        ("a week later", 7, 0, False, ""),
        ("half an hour earlier if you can", 0, -30, False, ""),
        ("a week from then", 7, 0, False, ""),
        ("can we make it earlier that day", 0, 0, False, "earlier"),
        ("later the same day would be better", 0, 0, False, "later"),
        ("same day, just a little earlier", 0, 0, False, "earlier"),
        ("can I come in one day later", 1, 0, False, ""),
        ("to next Saturday, same times", 0, 0, True, ""),  # several appointments: each keeps its own hour
        # a direction after the amount wins over the verb alone ("move" with no direction would be later)
        ("move it two days earlier", -2, 0, False, ""),
        ("can you move both of them two days earlier", -2, 0, False, ""),
        ("move it an hour earlier", 0, -60, False, ""),
        ("move the appointment 2 days sooner", -2, 0, False, ""),
    ],
)
def test_a_move_is_read_relative_to_the_slot(line, days, minutes, same_time, window):
    move = relative.read_relative(line)
    assert (move.days, move.minutes, move.same_time, move.window) == (days, minutes, same_time, window)


@pytest.mark.parametrize(
    "line",
    [
        "the day after tomorrow",
        "in three days",
        "an hour from now",
        "next week",
        "a week after the 15th",
        "tuesday at 10",
        "I'll call back later",
    ],
)
def test_days_counted_from_today_are_no_relative_move(line):
    move = relative.read_relative(line)
    assert move is None or not move.moves_day


@pytest.mark.parametrize(
    ("line", "offset"),
    [
        ("in two weeks", 14),
        ("in three days", 3),
        ("a week from today", 7),
        ("two weeks from now", 14),
        ("in 10 days", 10),
    ],
)
def test_days_from_today_name_a_day_and_no_time(agent_now, line, offset):
    # asked "what day?", a number in "in 10 days" is no hour
    u = understand(line, agent_now, expect_time=True, services=False)
    assert u.date.single_day == day(agent_now, offset)
    assert u.time is None


def test_what_a_correction_turns_down_is_not_taken(agent_now, demo_shop):
    assert understand("can we do 10 instead of 9", agent_now, expect_time=True).time.exact == time(10)
    assert understand("no, at 2 not at 3", agent_now, expect_time=True).time.exact == time(14)
    assert understand("thursday works but not at 9 more like 11", agent_now, expect_time=True).time.exact == time(11)
    # Duckling reads "this thursday, next thursday" as one day, this week's
    assert understand("sorry, not this Thursday, next Thursday", agent_now).date.single_day == day(agent_now, 10)
    assert [s.code for s in understand("no wait, I need brakes not an oil change", agent_now).services] == [
        "brake-inspection"
    ]
    # a symptom said with "not" is no correction
    assert understand("it's not blowing cold anymore", agent_now).services
    assert understand("my brakes are not stopping the car well", agent_now).services
    assert turned_down("no, the Civic, not the Accord").kept == "no, the Civic,"
    assert turned_down("not the Sonata").kept == ""


def test_a_bare_weekday_is_read_in_the_week_being_discussed():
    today = date(2026, 5, 11)  # a Monday
    wednesday = nlu.parse_date("wednesday instead", datetime(2026, 5, 11, 9, tzinfo=shop_tz()))
    assert wednesday.single_day == date(2026, 5, 13)
    assert relative.in_week_of(wednesday, date(2026, 5, 19), today).single_day == date(2026, 5, 20)
    # the Monday of this week is today: the coming Monday, as said
    monday = nlu.parse_date("monday", datetime(2026, 5, 11, 9, tzinfo=shop_tz()))
    assert relative.in_week_of(monday, date(2026, 5, 14), today) == monday
    # a weekday fixed by its words is not moved
    nxt = nlu.parse_date("next wednesday", datetime(2026, 5, 11, 9, tzinfo=shop_tz()))
    assert relative.in_week_of(nxt, date(2026, 5, 26), today) == nxt


# --- corrections at the read-back ----------------------------------------------------------------------------------


def read_back(service: str, d: date, at: str, car: str = "2018 Honda Civic") -> str:
    return f"So that's {service} on {label(d)} at {at} for your {car}. Shall I book it?"


@pytest.mark.parametrize(
    ("correction", "service", "code", "at", "start"),
    [
        ("make that a tire rotation instead", "a tire rotation", "tire-rotation", "9:00 AM", time(9)),
        ("no wait, I need brakes not an oil change", "a brake inspection", "brake-inspection", "9:00 AM", time(9)),
        ("can we do 10 instead of 9", "an oil change", "oil-change", "10:00 AM", time(10)),
        ("hmm, actually an hour later would be better", "an oil change", "oil-change", "10:00 AM", time(10)),
    ],
)
async def test_a_correction_at_the_read_back_replaces_that_slot_and_is_read_back(
    agent_ctx, maria, agent_now, correction, service, code, at, start
):
    tuesday = day(agent_now, 1)
    _ctx, transcript = await talk(
        agent_ctx, ["I need an oil change on Tuesday at 9", correction, "yes", "no"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1] == read_back("an oil change", tuesday, "9:00 AM")
    assert lines[2] == read_back(service, tuesday, at)
    [(when, codes, _car)] = await booked(maria)
    assert codes == [code] and when.date() == tuesday and when.time() == start


async def test_the_monday_after_is_the_monday_after_the_day_discussed(agent_ctx, maria, agent_now):
    # Friday of next week was asked for; "the Monday after" is the Monday after it, not that week's Monday
    _ctx, transcript = await talk(
        agent_ctx,
        [
            f"I need an oil change on Friday the {ordinal(day(agent_now, 11).day)}",
            "ok what about the Monday after then",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert label(day(agent_now, 14)) in lines[2] and label(day(agent_now, 7)) not in lines[2], lines[2]
    later = understand("the following Monday", agent_now).date
    assert later.after_discussed and relative.in_week_of(later, day(agent_now, 11), agent_now.date()).single_day == (
        day(agent_now, 14)
    )


async def test_a_weekday_said_at_the_read_back_is_in_the_week_read_back(agent_ctx, maria, agent_now):
    # Tuesday of next week is read back; "make it Thursday" is that week's Thursday, at the time they picked
    _ctx, transcript = await talk(
        agent_ctx,
        [
            f"I need an oil change on Tuesday the {ordinal(day(agent_now, 8).day)} at 9",
            "actually make it Thursday",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[2] == read_back("an oil change", day(agent_now, 10), "9:00 AM")
    [(when, _codes, _car)] = await booked(maria)
    assert when.date() == day(agent_now, 10) and when.time() == time(9)


async def test_the_other_car_named_at_the_read_back_is_the_one_booked(agent_ctx, dwayne, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        ["I need an oil change for the Tacoma on Tuesday at 9", "no, the Jeep, not the Tacoma", "yes"],
        caller=callers.DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert lines[2] == read_back("an oil change", day(agent_now, 1), "9:00 AM", car="2019 Jeep Grand Cherokee")
    [(_when, _codes, car)] = await booked(dwayne)
    assert car == "Jeep Grand Cherokee"


async def test_a_corrected_time_is_checked_again_before_it_is_read_back(agent_ctx, maria, agent_now):
    # her Civic is in at 10 on Tuesday already: the caller hears so, and the 9:00 read back before is not booked
    await in_db_thread(book, maria, "oil-change", callers.agent_local(day(agent_now, 1), 10))
    _ctx, transcript = await talk(
        agent_ctx, ["I need a tire rotation on Tuesday at 9", "can we do 10 instead"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[2].startswith(f"Sorry, 10:00 AM isn't available on {label(day(agent_now, 1))}.")
    assert lines[2].endswith("Which works best for you?")
    assert [codes for _when, codes, _car in await booked(maria)] == [["oil-change"]]


# --- a weekday while another day is discussed ----------------------------------------------------------------------


async def test_wednesday_instead_of_tuesday_the_nth_is_the_next_day(agent_ctx, maria, agent_now):
    tuesday = day(agent_now, 8)
    _ctx, transcript = await talk(
        agent_ctx,
        [f"I'd like an oil change on Tuesday the {ordinal(tuesday.day)}", "Wednesday instead"],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith(f"I have {label(tuesday)} at ")
    assert lines[2].startswith(f"I have {label(day(agent_now, 9))} at ")


async def test_a_weekday_already_past_in_that_week_is_the_coming_one(agent_ctx, maria, agent_now):
    # Thursday is discussed; its week's Monday is today, so "Monday instead" is next Monday, as said
    _ctx, transcript = await talk(
        agent_ctx, ["I'd like an oil change on Thursday", "how about Monday instead"], customer=maria
    )
    assert agent_lines(transcript)[2].startswith(f"I have {label(day(agent_now, 7))} at ")


# --- days counted from today -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "offset"), [("in two weeks", 14), ("in three days", 3), ("a week from today", 7)])
async def test_days_from_today_are_offered_that_days_times(agent_ctx, maria, agent_now, line, offset):
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change", line], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1] == "What day works best for you?"
    assert lines[2].startswith(f"I have {label(day(agent_now, offset))} at ")
    assert lines[2].endswith("Which works best for you?")


# --- moving an appointment relative to itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "offset", "at"),
    [
        ("push it back a day", 3, "10:00 AM"),
        ("same time next week", 9, "10:00 AM"),
        ("an hour later", 2, "11:00 AM"),
        ("a week later", 9, "10:00 AM"),
        ("move it up an hour", 2, "9:00 AM"),
        ("could we bump it a couple of days?", 4, "10:00 AM"),
    ],
)
async def test_a_move_is_counted_from_the_appointment_being_moved(agent_ctx, maria, agent_now, line, offset, at):
    wednesday = day(agent_now, 2)
    appt = await in_db_thread(book, maria, "oil-change", callers.agent_local(wednesday, 10))
    _ctx, transcript = await talk(agent_ctx, ["I need to move my appointment", line, "yes", "no"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[2] == (
        f"So I'll move your oil change from {label(wednesday)} at 10:00 AM to "
        f"{label(day(agent_now, offset))} at {at}. Is that right?"
    )
    await in_db_thread(appt.refresh_from_db)
    moved = appt.start.astimezone(shop_tz())
    assert moved.date() == day(agent_now, offset) and f"{moved:%-I:%M %p}" == at
    assert ended(transcript)


def offered_times(line: str) -> list[time]:
    said = re.findall(r"\b(\d{1,2}):(\d\d) (AM|PM)|\b(noon)\b", line)
    return [time(12) if noon else time(int(h) % 12 + (12 if half == "PM" else 0), int(m)) for h, m, half, noon in said]


@pytest.mark.parametrize(
    ("line", "earlier", "within"),
    [
        ("can we make it earlier that day", True, 14),
        ("later the same day would be better", False, 14),
        ("same day, just a little earlier", True, 2),
    ],
)
async def test_earlier_or_later_that_day_offers_that_days_times_before_or_after(
    agent_ctx, maria, agent_now, line, earlier, within
):
    wednesday = day(agent_now, 2)
    await in_db_thread(book, maria, "oil-change", callers.agent_local(wednesday, 14))
    _ctx, transcript = await talk(agent_ctx, ["I need to move my appointment", line], customer=maria)
    offer = agent_lines(transcript)[2]
    assert offer.startswith(f"I have {label(wednesday)} at ")
    times = offered_times(offer)
    assert times and all((t < time(14)) if earlier else (t > time(14)) for t in times)
    assert all(abs(t.hour * 60 + t.minute - 14 * 60) <= within * 60 for t in times)  # "a little": near 2 PM


async def test_the_day_after_offers_that_days_times(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", callers.agent_local(day(agent_now, 2), 10))
    _ctx, transcript = await talk(agent_ctx, ["I need to move my appointment", "the day after"], customer=maria)
    assert agent_lines(transcript)[2].startswith(f"I have {label(day(agent_now, 3))} at ")


async def test_the_move_said_first_waits_for_which_appointment(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", callers.agent_local(day(agent_now, 3), 9, 30))
    await in_db_thread(book, maria, "tire-rotation", callers.agent_local(day(agent_now, 9), 8))
    _ctx, transcript = await talk(
        agent_ctx, ["I need to push one of my appointments back an hour", "the Thursday one"], customer=maria
    )
    assert agent_lines(transcript)[2] == (
        f"So I'll move your oil change from {label(day(agent_now, 3))} at 9:30 AM "
        f"to {label(day(agent_now, 3))} at 10:30 AM. Is that right?"
    )


async def test_a_move_said_at_the_read_back_counts_from_the_time_read_back(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", callers.agent_local(day(agent_now, 2), 10))
    _ctx, transcript = await talk(
        agent_ctx,
        ["can you push my oil change back a day?", "actually make it thirty minutes later", "yes"],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith(f"to {label(day(agent_now, 3))} at 10:00 AM. Is that right?")
    assert lines[2].endswith(f"to {label(day(agent_now, 3))} at 10:30 AM. Is that right?")
