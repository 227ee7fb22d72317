"""Limits a caller puts on the offers are kept: days ruled out ("any day but Monday", "not Friday"), parts of the
day ("not too early", "before noon", "mornings are better", "next week in the afternoon"), and a time the shop
cannot do ("after six" when it closes at six) is told so, with the latest opening proposed instead."""

import re
from datetime import date, datetime, time, timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.agent.understanding import constraints, engine, prefilter, understand
from calls.tests.conftest import MARIA_PHONE
from calls.tests.conversation import run_conversation

pytestmark = pytest.mark.django_db(transaction=True)
_OFFER = re.compile(r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\w+) (\d+)")
_TIMES = re.compile(r"(\d{1,2}):(\d\d) (AM|PM)|\bnoon\b")


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


def days_offered(line: str) -> set[str]:
    return {m.group(1) for m in _OFFER.finditer(line)}


def times_offered(line: str) -> list[time]:
    out = []
    for m in _TIMES.finditer(line):
        if m.group(0) == "noon":
            out.append(time(12))
        else:
            hour = int(m.group(1)) % 12 + (12 if m.group(3) == "PM" else 0)
            out.append(time(hour, int(m.group(2))))
    return out


async def talk(agent_ctx, customer, lines):
    ctx = await in_db_thread(agent_ctx, MARIA_PHONE, customer)
    return agent_lines(await run_conversation(ctx, RuleBrain(), lines))


# --- days ruled out -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "said", ["any day but Monday", "anything except Monday", "I can't do Mondays", "Mondays are bad for me"]
)
async def test_a_weekday_ruled_out_is_never_offered(agent_ctx, agent_customer, said):
    lines = await talk(agent_ctx, agent_customer, ["I need an oil change", said])
    assert days_offered(lines[2]) and "Monday" not in days_offered(lines[2])


async def test_not_friday_after_friday_was_offered_moves_to_another_day(agent_ctx, agent_customer):
    lines = await talk(agent_ctx, agent_customer, ["I need an oil change", "friday", "not friday"])
    assert days_offered(lines[2]) == {"Friday"}
    assert days_offered(lines[3]) and "Friday" not in days_offered(lines[3])


async def test_days_ruled_out_narrow_the_week_asked_for_and_stay_ruled_out(agent_ctx, agent_customer, agent_now):
    lines = await talk(
        agent_ctx, agent_customer, ["I need an oil change next week", "not monday or tuesday", "any day in two weeks"]
    )
    assert lines[1] == "Sure. What day next week works best for you?"
    assert days_offered(lines[2]) and days_offered(lines[2]).isdisjoint({"Monday", "Tuesday"})
    assert days_offered(lines[3]) and days_offered(lines[3]).isdisjoint({"Monday", "Tuesday"})


async def test_whatever_is_earliest_stays_in_the_week_asked_for_without_the_day_ruled_out(
    agent_ctx, agent_customer, agent_now
):
    lines = await talk(
        agent_ctx, agent_customer, ["I need an oil change sometime next week, but not Monday", "whatever is earliest"]
    )
    assert lines[1] == "Sure. What day next week works best for you?"
    monday = agent_now.date() + timedelta(days=7 - agent_now.weekday())
    [offered] = [
        datetime.strptime(f"{m.group(2)} {m.group(3)} {monday.year}", "%B %d %Y").date()
        for m in _OFFER.finditer(lines[2])
    ]
    assert offered == monday + timedelta(days=1), lines[2]  # Tuesday: next week's earliest, Monday ruled out


# --- parts of the day ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "ok"),
    [
        ("tomorrow, not too early", lambda t: t >= time(9)),
        ("tomorrow before noon", lambda t: t < time(12)),
        ("tomorrow, mornings are better", lambda t: t < time(12)),
        ("tomorrow, just not in the morning", lambda t: t >= time(12)),
    ],
)
async def test_offers_keep_the_part_of_the_day_asked_for(agent_ctx, agent_customer, said, ok):
    lines = await talk(agent_ctx, agent_customer, ["I need an oil change", said])
    offered = times_offered(lines[2])
    assert offered and all(ok(t) for t in offered), lines[2]


async def test_next_week_in_the_afternoon_is_both_the_week_and_the_afternoon(agent_ctx, agent_customer, agent_now):
    lines = await talk(agent_ctx, agent_customer, ["I need an oil change", "sometime next week in the afternoon"])
    monday = agent_now.date() + timedelta(days=7)
    days = [
        datetime.strptime(f"{m.group(2)} {m.group(3)} {monday.year}", "%B %d %Y").date()
        for m in _OFFER.finditer(lines[2])
    ]
    assert days and all(monday <= d < monday + timedelta(days=7) for d in days)
    assert all(t >= time(12) for t in times_offered(lines[2]))


async def test_after_closing_time_the_agent_says_when_it_closes_and_proposes_the_latest(agent_ctx, agent_customer):
    lines = await talk(
        agent_ctx, agent_customer, ["I need an oil change", "friday after six", "no", "saturday after 3"]
    )
    assert re.fullmatch(
        r"We close at 6:00 PM, so the latest I have is Friday, \w+ \d+ at 5:30 PM\. "
        r"Shall I book an oil change for your 2018 Honda Civic then\?",
        lines[2],
    )
    assert lines[3].startswith("I also have Friday")
    assert re.fullmatch(
        r"We close at 1:00 PM, so the latest I have is Saturday, \w+ \d+ at 12:30 PM\. "
        r"Shall I book an oil change for your 2018 Honda Civic then\?",
        lines[4],
    )


# --- understanding --------------------------------------------------------------------------------------------


def test_ruled_out_days_read_as_limits_not_as_the_day_wanted(agent_now):
    u = understand("any day but Monday", agent_now, services=False, named_days={})
    assert u.date is not None and u.date.avoid_weekdays == {0}
    assert all(d.weekday() != 0 for d in u.date.dates())
    # "not Monday, Tuesday" is a correction (Tuesday); "not Monday or Tuesday" rules out both
    corrected = understand("not monday, tuesday", agent_now, services=False, named_days={}).date
    assert corrected.single_day is not None and corrected.single_day.weekday() == 1
    both = understand("not monday or tuesday", agent_now, services=False, named_days={}).date
    assert both.only_avoids and both.avoid_weekdays == {0, 1}


def test_when_am_i_is_no_morning(agent_now):
    assert understand("when am I coming in?", agent_now, services=False, named_days={}).time is None
    assert understand("tomorrow am", agent_now, services=False, named_days={}).time.end == time(12)


def test_ruled_out_days_become_the_search_arguments():
    pref = constraints.avoiding(None, [(4, 10, date(2030, 1, 7))], "not monday", date(2030, 1, 1))
    assert constraints.search_args(pref) == {"exclude_weekdays": ["monday"]}


# Lines the prefilter keeps from Duckling must be lines Duckling finds nothing in (the saving loses nothing);
# lines with a day, time or number must reach it.
NO_TIME = [
    "yes",
    "no thanks",
    "the check engine light is on and it's making a weird noise",
    "my name is john smith",
    "can I talk to a real person",
    "I'll wait for it",
    "sorry what was that",
    "that's all bye",
    "my brakes are squeaking",
    "yeah that works",
    "book it",
    "where are you located",
    "do you have loaners",
]
TIMED = [
    "tomorrow",
    "the day after tomorrow",
    "next tuesday",
    "at noon",
    "quarter past nine",
    "christmas eve",
    "a week from friday",
    "the 7th",
    "in two weeks",
    "this weekend",
    "end of the month",
    "after lunch",
    "first thing monday",
    "mid march",
    "thanksgiving",
    "six oh six oh one",
]


def test_the_prefilter_only_skips_lines_duckling_finds_nothing_in(agent_now):
    for line in NO_TIME:
        assert not prefilter.may_hold(line, engine.DIMENSIONS), line
        assert (
            engine._parse.__wrapped__(line, int(agent_now.timestamp()), "America/Chicago", "EN", engine.DIMENSIONS)
            == ()
        ), line
    for line in TIMED:
        assert prefilter.may_hold(line, ("time",)), line


def test_a_day_both_said_and_ruled_out_is_ruled_out(agent_now):
    u = understand("I work mondays so anything but monday", agent_now, services=False, named_days={})
    assert u.date.avoid_weekdays == {0} and all(d.weekday() != 0 for d in u.date.dates())


async def test_as_late_as_possible_is_one_proposal_of_the_latest(agent_ctx, agent_customer):
    lines = await talk(agent_ctx, agent_customer, ["I need an oil change", "saturday, late as possible"])
    assert re.fullmatch(
        r"The latest I have is Saturday, \w+ \d+ at 12:30 PM\. "
        r"Shall I book an oil change for your 2018 Honda Civic then\?",
        lines[2],
    )
