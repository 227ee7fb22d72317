"""Lines an independent tester said to the rule agent (issue 6) that were read wrong: a clock time said in words
beside a day counted from today; two cars each with its own service and "both" said after."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from calls.agent import nlu, understanding

# The tester's shop clock: Tuesday 2026-12-01, 18:20 in Chicago
NOW = datetime(2026, 12, 1, 18, 20, tzinfo=ZoneInfo("America/Chicago"))


def when(text):
    u = understanding.understand(text, NOW, services=False, named_days={}, expect_time=True)
    return u.date.single_day if u.date else None, u.time.exact if u.time else None


@pytest.mark.parametrize(
    ("said", "day", "at"),
    [
        ("the day after tomorrow, half past ten", date(2026, 12, 3), time(10, 30)),
        ("day after tomorrow at quarter past nine", date(2026, 12, 3), time(9, 15)),
        ("the day after tomorrow, quarter to eleven", date(2026, 12, 3), time(10, 45)),
        ("in three days, half past two", date(2026, 12, 4), time(14, 30)),
    ],
)
def test_a_clock_time_in_words_beside_a_day_counted_from_today_keeps_its_minutes(said, day, at):
    assert when(said) == (day, at)


def test_a_day_counted_from_today_still_lends_no_hour_of_its_own():
    assert when("in two days")[1] is None


CARS = [
    {"id": 1, "label": "2020 Nissan Rogue", "year": 2020, "make": "Nissan", "model": "Rogue"},
    {"id": 2, "label": "2020 Honda CR-V", "year": 2020, "make": "Honda", "model": "CR-V"},
]


@pytest.mark.parametrize(
    "said",
    [
        "the Nissan needs a tire rotation and the Honda needs an oil change, can I bring them both tomorrow morning",
        "tire rotation on the Rogue and an oil change on the CR-V, I'll drop both of them off Friday",
        "my Honda is due for an oil change and the Nissan needs its tires rotated, can both come in Thursday",
    ],
)
def test_each_car_keeps_its_own_service_when_both_are_said_after(said, demo_shop):
    groups = {g.vehicle: set(g.codes) for g in nlu.services_by_car(said, CARS) or []}
    assert groups == {0: {"tire-rotation"}, 1: {"oil-change"}}


def test_both_cars_named_together_still_share_the_service(demo_shop):
    groups = {g.vehicle: set(g.codes) for g in nlu.services_by_car("both cars need an oil change", CARS) or []}
    assert groups == {0: {"oil-change"}, 1: {"oil-change"}}


def services_in(text):
    return [s.code for s in understanding.understand(text, NOW, named_days={}).services]


@pytest.mark.parametrize(
    ("said", "wanted"),
    [
        ("actually can you make that a tire rotation instead, I just had the oil done", ["tire-rotation"]),
        ("I got my oil changed last week, so just rotate the tires", ["tire-rotation"]),
        ("I just had the brakes checked, can you do an oil change", ["oil-change"]),
        # no work done already: what is named is asked for
        ("can you just get the oil done", ["oil-change"]),
        ("my last oil change was three months ago so I need another one", ["oil-change"]),
    ],
)
def test_work_the_caller_had_done_already_is_not_asked_for(said, wanted, demo_shop):
    assert services_in(said) == wanted
