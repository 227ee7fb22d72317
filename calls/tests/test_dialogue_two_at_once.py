"""Two things in one sentence (issue 6, the independent tester's wrong-data reports): two cars with a service each
are two appointments, each service on its own car; several appointments moved "a week later" all move, each keeping
its own time, read back together before anything is written."""

from datetime import time, timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.tests.conftest import DWAYNE_PHONE, agent_local
from calls.tests.test_dialogue_callers import agent_lines, book, booked, day, label, talk
from crm.models import Customer, Vehicle
from scheduling.models import Appointment, ServiceBay

pytestmark = pytest.mark.django_db(transaction=True)

JEEP, TACOMA = "Jeep Grand Cherokee", "Toyota Tacoma"
JEEP_OIL_TACOMA_ROTATION = "I need an oil change on the Jeep and a tire rotation on the Tacoma"


# --- 1. two cars, a service each ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, wanted",
    [
        ("I need an oil change on the Civic and a tire rotation on the Silverado", [(0, "oil"), (1, "tire")]),
        ("oil change for my Honda and brakes for the truck", [(0, "oil"), (1, "brake")]),
        ("the civic needs an oil change, the truck needs new brakes", [(0, "oil"), (1, "brake")]),
        ("the Silverado's due for a tire rotation and the Civic for an oil change", [(1, "tire"), (0, "oil")]),
        ("both cars need an oil change", [(0, "oil"), (1, "oil")]),
        ("an oil change for the Civic and the Silverado", [(0, "oil"), (1, "oil")]),
        ("both need oil changes, the Silverado also needs a tire rotation", [(0, "oil"), (1, "oil tire")]),
        (
            "an oil change for the Civic and the Silverado, and a tire rotation",
            [(0, "oil"), (1, "oil"), (None, "tire")],
        ),
    ],
)
def test_which_service_is_for_which_car(demo_shop, line, wanted):
    cars = [
        {"year": 2018, "make": "Honda", "model": "Civic"},
        {"year": 2020, "make": "Chevrolet", "model": "Silverado"},
    ]
    split = nlu.services_by_car(line, cars)
    assert [(g.vehicle, " ".join(c.split("-")[0] for c in g.codes)) for g in split] == wanted


@pytest.mark.parametrize(
    "line", ["I'd like to get my Civic in for an oil change", "oil change and tire rotation on the Civic", "oil change"]
)
def test_one_car_is_no_split(demo_shop, line):
    cars = [
        {"year": 2018, "make": "Honda", "model": "Civic"},
        {"year": 2020, "make": "Chevrolet", "model": "Silverado"},
    ]
    assert nlu.services_by_car(line, cars) is None


@pytest.mark.parametrize("line", ["make the Tacoma one 10 instead", "the Tacoma one at 10"])
def test_the_tacoma_one_at_10_is_10_oclock(agent_now, line):
    # "one" there stands for the appointment: "one 10" is no 1:10 PM
    said = nlu.understand(line, agent_now, expect_time=True, services=False, named_days={})
    assert said.time.exact == time(10)


async def test_an_oil_change_on_one_car_and_a_rotation_on_the_other_are_two_appointments(agent_ctx, dwayne, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            JEEP_OIL_TACOMA_ROTATION,
            "Thursday morning",
            "the first one",
            "yes",
        ],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith(
        "Sure: an oil change for your 2019 Jeep Grand Cherokee and a tire rotation for your 2011 Toyota Tacoma."
    )
    thursday = label(day(agent_now, 3))
    assert lines[3] == (
        "So that's an oil change for your 2019 Jeep Grand Cherokee and a tire rotation for your 2011 Toyota Tacoma, "
        f"both on {thursday} at 7:00 AM. Shall I book both?"
    )
    at = agent_local(day(agent_now, 3), 7)
    assert await booked(dwayne) == [(at, ["oil-change"], JEEP), (at, ["tire-rotation"], TACOMA)]


async def test_brakes_for_the_truck_go_on_the_truck(agent_ctx, dwayne, agent_now):
    await talk(
        agent_ctx,
        ["oil change for my Jeep and brakes for the truck", "Thursday", "the first one", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    rows = await booked(dwayne)
    assert [(codes, car) for _at, codes, car in rows] == [(["oil-change"], JEEP), (["brake-inspection"], TACOMA)]


async def test_both_to_which_car_books_the_service_on_each(agent_ctx, dwayne, agent_now):
    await talk(
        agent_ctx,
        ["I need an oil change", "both of them", "Thursday", "the first one", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    rows = await booked(dwayne)
    assert sorted((codes, car) for _at, codes, car in rows) == [(["oil-change"], JEEP), (["oil-change"], TACOMA)]


async def test_a_service_said_beside_both_cars_is_asked_about_never_guessed(agent_ctx, dwayne, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "an oil change for the Jeep and the Tacoma, and a tire rotation",
            "just the Tacoma",
            "Thursday",
            "the first one",
        ],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert lines[1] == (
        "And the tire rotation: is that for your 2019 Jeep Grand Cherokee or your 2011 Toyota Tacoma, or both?"
    )
    assert (
        "an oil change for your 2019 Jeep Grand Cherokee and an oil change and a tire rotation for your 2011 "
        in (lines[4])
    )
    assert await booked(dwayne) == []  # nothing written before the read-back's yes


async def test_the_other_cars_time_is_changed_at_the_read_back(agent_ctx, dwayne, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            JEEP_OIL_TACOMA_ROTATION,
            "Thursday morning",
            "the first one",
            "make the Tacoma one 9 instead",
            "yes",
        ],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    thursday = day(agent_now, 3)
    assert agent_lines(transcript)[4] == (
        f"So that's an oil change for your 2019 Jeep Grand Cherokee on {label(thursday)} at 7:00 AM and a tire "
        f"rotation for your 2011 Toyota Tacoma on {label(thursday)} at 9:00 AM. Shall I book both?"
    )
    assert await booked(dwayne) == [
        (agent_local(thursday, 7), ["oil-change"], JEEP),
        (agent_local(thursday, 9), ["tire-rotation"], TACOMA),
    ]


def _one_bay_taken_at(start):
    ServiceBay.objects.exclude(pk=ServiceBay.objects.order_by("pk").first().pk).delete()
    other = Customer.objects.create(first_name="Ann", last_name="Other", phone="+13125550111", postal_code="60601")
    Vehicle.objects.create(customer=other, year=2015, make="Ford", model="Focus")
    return book(other, "oil-change", start + timedelta(minutes=30))


async def test_the_second_car_goes_right_after_when_the_same_time_is_taken(agent_ctx, dwayne, agent_now):
    thursday = day(agent_now, 3)
    await in_db_thread(_one_bay_taken_at, agent_local(thursday, 7))  # one bay, busy 7:30-8:00
    _ctx, transcript = await talk(
        agent_ctx,
        ["oil change on the Jeep and a tire rotation on the Tacoma", "Thursday at 7", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert any("I can't fit the tire rotation for your 2011 Toyota Tacoma at the same time" in line for line in lines)
    rows = await booked(dwayne)
    assert [(codes, car) for _at, codes, car in rows] == [(["oil-change"], JEEP), (["tire-rotation"], TACOMA)]
    assert rows[0][0] == agent_local(thursday, 7) and rows[1][0] > rows[0][0]


# --- 2. several appointments moved by the same amount -----------------------------------------------------------


@pytest.fixture
def two_visits(maria, agent_now):
    """Maria: an oil change on Tuesday at 9 and a tire rotation on Thursday at 2 PM."""
    oil = book(maria, "oil-change", agent_local(day(agent_now, 1), 9))
    tires = book(maria, "tire-rotation", agent_local(day(agent_now, 3), 14))
    return oil, tires


def _starts(appts):
    return [Appointment.objects.get(pk=a.pk).start for a in appts]


@pytest.mark.parametrize(
    "line",
    [
        "reschedule both to the following week, same days and times",
        "move them both a week later",
        "push all my appointments back a week",
        "can you push my two appointments a week",
        "bump everything a week",
        "both of my appointments need to move a week, same time each",
    ],
)
async def test_both_moved_a_week_keep_their_own_times(agent_ctx, maria, two_visits, agent_now, line):
    _ctx, transcript = await talk(agent_ctx, [line, "yes"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1] == (
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to {label(day(agent_now, 8))} at "
        f"9:00 AM and your tire rotation from {label(day(agent_now, 3))} at 2:00 PM to {label(day(agent_now, 10))} "
        "at 2:00 PM. Is that right?"
    )
    assert await in_db_thread(_starts, two_visits) == [
        agent_local(day(agent_now, 8), 9),
        agent_local(day(agent_now, 10), 14),
    ]


async def test_a_group_move_said_no_to_moves_nothing(agent_ctx, maria, two_visits, agent_now):
    _ctx, transcript = await talk(agent_ctx, ["move them both a week later", "no"], customer=maria)
    assert agent_lines(transcript)[2].startswith("No problem, let's take them one at a time.")
    assert await in_db_thread(_starts, two_visits) == [
        agent_local(day(agent_now, 1), 9),
        agent_local(day(agent_now, 3), 14),
    ]


async def test_a_slot_not_free_is_named_with_the_closest_for_that_one(agent_ctx, maria, two_visits, agent_now):
    await in_db_thread(_one_bay_taken_at, agent_local(day(agent_now, 10), 13, 30))  # busy 2:00-2:30 PM
    _ctx, transcript = await talk(agent_ctx, ["move them both a week later", "yes"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1].startswith(
        f"Your tire rotation can't go at 2:00 PM on {label(day(agent_now, 10))}; the closest I have for it is "
        f"{label(day(agent_now, 10))} at "
    )
    oil, tires = await in_db_thread(_starts, two_visits)
    assert oil == agent_local(day(agent_now, 8), 9)
    assert tires.date() == day(agent_now, 10) and tires != agent_local(day(agent_now, 10), 14)


async def test_the_other_car_is_still_booked_when_the_first_cars_duplicate_is_moved(agent_ctx, dwayne, agent_now):
    jeep = await in_db_thread(lambda: dwayne.vehicles.get(model="Grand Cherokee"))
    oil = await in_db_thread(book, dwayne, "oil-change", agent_local(day(agent_now, 1), 9), 30, jeep)
    _ctx, transcript = await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "move that one", "Thursday", "the first one", "yes", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    thursday = agent_local(day(agent_now, 3), 7)
    assert any("Now the tire rotation for your 2011 Toyota Tacoma." in line for line in agent_lines(transcript))
    assert await in_db_thread(_starts, [oil]) == [thursday]
    assert await booked(dwayne) == [(thursday, ["oil-change"], JEEP), (thursday, ["tire-rotation"], TACOMA)]


# --- 3. several appointments moved to one day and time -----------------------------------------------------------


@pytest.mark.parametrize("line", ["move both to Friday at 10", "can you move both my appointments to Friday at 10 am"])
async def test_both_to_a_day_and_time_moves_both_there(agent_ctx, maria, two_visits, agent_now, line):
    # one car: it can't be in two bays at 10, so one keeps 10 and the other gets the closest opening that day
    friday = day(agent_now, 4)
    _ctx, transcript = await talk(agent_ctx, [line, "yes"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1].startswith(
        f"Your tire rotation can't go at 10:00 AM on {label(friday)} as well; the closest I have for it is "
        f"{label(friday)} at "
    )
    assert (
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to {label(friday)} at 10:00"
        in (lines[1])
    )
    oil, tires = await in_db_thread(_starts, two_visits)
    assert oil == agent_local(friday, 10)
    assert tires.date() == friday and abs(tires - oil) <= timedelta(hours=1) and tires != oil


def _dwayne_visits(dwayne, agent_now):
    jeep = dwayne.vehicles.get(model="Grand Cherokee")
    tacoma = dwayne.vehicles.get(model="Tacoma")
    return (
        book(dwayne, "oil-change", agent_local(day(agent_now, 1), 9), 30, jeep),
        book(dwayne, "tire-rotation", agent_local(day(agent_now, 3), 14), 30, tacoma),
    )


async def test_two_cars_moved_to_one_time_both_go_there(agent_ctx, dwayne, agent_now):
    visits = await in_db_thread(_dwayne_visits, dwayne, agent_now)
    _ctx, transcript = await talk(
        agent_ctx, ["move both my appointments to Friday at 10", "yes"], caller=DWAYNE_PHONE, customer=dwayne
    )
    friday = label(day(agent_now, 4))
    assert agent_lines(transcript)[1] == (
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to {friday} at 10:00 AM and your "
        f"tire rotation from {label(day(agent_now, 3))} at 2:00 PM to {friday} at 10:00 AM. Is that right?"
    )
    at = agent_local(day(agent_now, 4), 10)
    assert await in_db_thread(_starts, visits) == [at, at]


@pytest.mark.parametrize(
    "line",
    [
        "yes but the oil change at 11",
        "no, the oil change at 11",
        "yes, just put the oil change at 11 instead",
        "can the oil change be at 11 am",
    ],
)
async def test_one_time_changed_at_the_group_read_back(agent_ctx, maria, two_visits, agent_now, line):
    _ctx, transcript = await talk(agent_ctx, ["move them both a week later", line, "yes"], customer=maria)
    assert agent_lines(transcript)[2] == (
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to {label(day(agent_now, 8))} at "
        f"11:00 AM and your tire rotation from {label(day(agent_now, 3))} at 2:00 PM to {label(day(agent_now, 10))} "
        "at 2:00 PM. Is that right?"
    )
    assert await in_db_thread(_starts, two_visits) == [
        agent_local(day(agent_now, 8), 11),
        agent_local(day(agent_now, 10), 14),
    ]


async def test_a_time_changed_at_the_group_read_back_is_checked(agent_ctx, maria, two_visits, agent_now):
    await in_db_thread(_one_bay_taken_at, agent_local(day(agent_now, 8), 10, 30))  # busy 11:00-11:30
    _ctx, transcript = await talk(
        agent_ctx, ["move them both a week later", "yes but the oil change at 11", "yes"], customer=maria
    )
    assert agent_lines(transcript)[2].startswith(
        f"Your oil change can't go at 11:00 AM on {label(day(agent_now, 8))}; the closest I have for it is "
    )
    oil, tires = await in_db_thread(_starts, two_visits)
    assert oil.date() == day(agent_now, 8) and oil != agent_local(day(agent_now, 8), 11)
    assert tires == agent_local(day(agent_now, 10), 14)


@pytest.mark.parametrize("line", ["move them both forward two days", "can you move both of them two days earlier"])
async def test_a_group_move_into_a_day_gone_says_it_has_passed(agent_ctx, maria, two_visits, agent_now, line):
    # the oil change (tomorrow) would land on yesterday: that day has passed, and the closest opening is offered
    _ctx, transcript = await talk(agent_ctx, [line, "yes"], customer=maria)
    said = agent_lines(transcript)[1]
    assert said.startswith(
        f"{label(day(agent_now, -1))} has already passed. The closest I have for your oil change is {label(agent_now)}"
    )
    assert "can't go" not in said
    oil, tires = await in_db_thread(_starts, two_visits)
    assert oil.date() == agent_now.date() and oil > agent_now
    assert tires == agent_local(day(agent_now, 1), 14)


# --- 4. the other car's service already booked -------------------------------------------------------------------


def _tacoma_rotation(dwayne, agent_now):
    return book(dwayne, "tire-rotation", agent_local(day(agent_now, 5), 9), 30, dwayne.vehicles.get(model="Tacoma"))


async def test_the_other_cars_duplicate_is_warned_and_moved_beside(agent_ctx, dwayne, agent_now):
    rotation = await in_db_thread(_tacoma_rotation, dwayne, agent_now)
    _ctx, transcript = await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "move that one", "Thursday", "the first one", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith(
        f"You already have a tire rotation for the Tacoma on {label(day(agent_now, 5))} at 9:00 AM. Do you want "
        "another one, or should I move that one?"
    )
    thursday = label(day(agent_now, 3))
    assert lines[4] == (
        f"So that's an oil change for your 2019 Jeep Grand Cherokee on {thursday} at 7:00 AM and your tire rotation "
        f"for your 2011 Toyota Tacoma moved from {label(day(agent_now, 5))} at 9:00 AM to {thursday} at 7:00 AM. "
        "Shall I go ahead?"
    )
    at = agent_local(day(agent_now, 3), 7)
    assert await booked(dwayne) == [(at, ["oil-change"], JEEP), (at, ["tire-rotation"], TACOMA)]
    assert await in_db_thread(_starts, [rotation]) == [at]


@pytest.mark.parametrize("answer", ["no, keep that one", "just the Jeep then", "skip the Tacoma", "no thanks"])
async def test_the_other_cars_duplicate_kept_books_the_first_car_alone(agent_ctx, dwayne, agent_now, answer):
    rotation = await in_db_thread(_tacoma_rotation, dwayne, agent_now)
    _ctx, transcript = await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, answer, "Thursday", "the first one", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    assert agent_lines(transcript)[2].startswith(
        f"Okay, your tire rotation for the Tacoma on {label(day(agent_now, 5))} at 9:00 AM stays as it is."
    )
    assert await booked(dwayne) == [
        (agent_local(day(agent_now, 3), 7), ["oil-change"], JEEP),
        (agent_local(day(agent_now, 5), 9), ["tire-rotation"], TACOMA),
    ]
    assert await in_db_thread(_starts, [rotation]) == [agent_local(day(agent_now, 5), 9)]


async def test_the_other_cars_second_one_is_booked_when_asked_for(agent_ctx, dwayne, agent_now):
    await in_db_thread(_tacoma_rotation, dwayne, agent_now)
    await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "I want another one", "Thursday", "the first one", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    at = agent_local(day(agent_now, 3), 7)
    assert await booked(dwayne) == [
        (at, ["oil-change"], JEEP),
        (at, ["tire-rotation"], TACOMA),
        (agent_local(day(agent_now, 5), 9), ["tire-rotation"], TACOMA),
    ]


# --- 5. a service moved from one car to the other at the read-back ------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "no, the tire rotation is for the Jeep",
        "actually the tire rotation goes on the Jeep",
        "no wait, put the tire rotation on the Jeep, not the Tacoma",
    ],
)
async def test_a_service_said_to_be_for_the_other_car_moves_there(agent_ctx, dwayne, agent_now, line):
    _ctx, transcript = await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "Thursday morning", "the first one", line, "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    assert agent_lines(transcript)[4] == (
        f"So that's an oil change and a tire rotation on {label(day(agent_now, 3))} at 7:00 AM for your 2019 Jeep "
        "Grand Cherokee. Shall I book it?"
    )
    at = agent_local(day(agent_now, 3), 7)
    assert await booked(dwayne) == [(at, ["oil-change", "tire-rotation"], JEEP)]


async def test_the_first_cars_service_said_to_be_for_the_other_car(agent_ctx, dwayne, agent_now):
    # the Jeep is left with nothing: the Tacoma's booking is the one, with both services
    await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "Thursday morning", "the first one", "no, the oil change is for the Tacoma", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    at = agent_local(day(agent_now, 3), 7)
    assert await booked(dwayne) == [(at, ["oil-change", "tire-rotation"], TACOMA)]


async def test_a_service_for_the_other_car_too_is_added_there(agent_ctx, dwayne, agent_now):
    await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "Thursday morning", "the first one", "the Jeep needs a tire rotation too", "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    at = agent_local(day(agent_now, 3), 7)
    rows = await booked(dwayne)
    assert sorted((codes, car) for _at, codes, car in rows) == [
        (["oil-change", "tire-rotation"], JEEP),
        (["tire-rotation"], TACOMA),
    ]
    assert rows[0][0] == at


@pytest.mark.parametrize(
    "lines, oil, tires",
    [
        (["the second one at 3"], (8, 9), (10, 15)),  # its place in the read-back
        (["can the Thursday one be at 4"], (8, 9), (10, 16)),  # the weekday it is on (the 17th, or the 24th)
        (["the tire rotation on Friday instead"], (8, 9), (11, 14)),  # Friday of the week it goes to
        (["the oil change at 11 and the tire rotation at 10"], (8, 11), (10, 10)),  # two changes in one line
        (["the oil change an hour later"], (8, 10), (10, 14)),
        (["no, 11", "the tire rotation"], (8, 9), (10, 11)),  # "which one at 11?"
        (["no, move them two weeks later instead"], (15, 9), (17, 14)),  # all of them, planned again
        (["no, both to Friday at 11 instead"], (4, 11), (4, None)),
    ],
)
async def test_changes_at_the_group_read_back(agent_ctx, maria, two_visits, agent_now, lines, oil, tires):
    await talk(agent_ctx, ["move them both a week later", *lines, "yes"], customer=maria)
    got = [start.astimezone(agent_now.tzinfo) for start in await in_db_thread(_starts, two_visits)]
    for start, (offset, hour) in zip(got, [oil, tires], strict=True):
        assert start.date() == day(agent_now, offset)
        assert hour is None or start == agent_local(day(agent_now, offset), hour)


async def test_both_to_a_part_of_a_day(agent_ctx, maria, two_visits, agent_now):
    # each keeps its own hour when that is in the part of the day said, else the closest in it
    _ctx, transcript = await talk(agent_ctx, ["move both to Friday afternoon", "yes"], customer=maria)
    assert "can't go" not in agent_lines(transcript)[1]
    friday = day(agent_now, 4)
    oil, tires = await in_db_thread(_starts, two_visits)
    assert tires == agent_local(friday, 14)
    oil = oil.astimezone(agent_now.tzinfo)
    assert oil.date() == friday and 12 <= oil.hour < 17


async def test_both_to_a_closed_day_says_so_once(agent_ctx, maria, two_visits, agent_now):
    _ctx, transcript = await talk(agent_ctx, ["move both to Sunday at 10", "yes"], customer=maria)
    said = agent_lines(transcript)[1]
    assert "can't go" not in said and said.count("closed") == 1
    assert said.count("The closest I have for your") == 2


@pytest.mark.parametrize(
    "line, wanted, hour",
    [
        ("actually it's the other way around", [(["tire-rotation"], JEEP), (["oil-change"], TACOMA)], 7),
        (
            "the Jeep gets the tire rotation, the Tacoma gets the oil change",
            [(["tire-rotation"], JEEP), (["oil-change"], TACOMA)],
            7,
        ),
        (
            "no, the Tacoma needs the oil change, not the tire rotation",
            [(["oil-change"], JEEP), (["oil-change"], TACOMA)],
            7,
        ),
        ("both need the tire rotation", [(["oil-change", "tire-rotation"], JEEP), (["tire-rotation"], TACOMA)], 7),
        ("the tire rotation is for the Jeep, and make it 9", [(["oil-change", "tire-rotation"], JEEP)], 9),
    ],
)
async def test_which_service_is_for_which_car_corrected_at_the_read_back(
    agent_ctx, dwayne, agent_now, line, wanted, hour
):
    await talk(
        agent_ctx,
        [JEEP_OIL_TACOMA_ROTATION, "Thursday morning", "the first one", line, "yes"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    at = agent_local(day(agent_now, 3), hour)
    assert sorted(await booked(dwayne), key=lambda row: row[2]) == [(at, codes, car) for codes, car in wanted]
