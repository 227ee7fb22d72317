"""Inbound callers of issue 6 (second round): what they say about the appointments they have and the one they
want, read the way a person at the desk would."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.tests.conftest import DWAYNE_PHONE, agent_local
from calls.tests.test_dialogue_callers import agent_lines, book, booked, day, label, talk
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


# --- cancelling all of them --------------------------------------------------------------------------------------


async def _three(maria, agent_now):
    return [
        await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9)),
        await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 3), 11)),
        await in_db_thread(book, maria, "battery", agent_local(day(agent_now, 8), 14)),
    ]


@pytest.mark.parametrize("answer", ["all three", "every one of them, yes", "all three of them please"])
async def test_all_of_them_said_at_the_read_back_of_all_of_them_is_a_yes(agent_ctx, maria, agent_now, answer):
    appts = await _three(maria, agent_now)
    _ctx, transcript = await talk(agent_ctx, ["I need to cancel my appointments", answer, "no"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1].endswith("Do you want me to cancel all three of them?"), lines
    assert lines[2].startswith("Done. I've cancelled"), lines
    rows = await in_db_thread(starts, maria)
    assert [rows[a.pk][0] for a in appts] == ["cancelled"] * 3, lines


@pytest.mark.parametrize("answer", ["the three of them", "uh them all"])
async def test_which_one_answered_with_all_of_them_reads_them_back_once(agent_ctx, maria, agent_now, answer):
    appts = await _three(maria, agent_now)
    _ctx, transcript = await talk(agent_ctx, ["I want to cancel an appointment", answer, "yes", "no"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[2].endswith("Do you want me to cancel all three of them?"), lines
    rows = await in_db_thread(starts, maria)
    assert [rows[a.pk][0] for a in appts] == ["cancelled"] * 3, lines


async def test_the_two_of_them_among_three_cancels_none_unasked(agent_ctx, maria, agent_now):
    appts = await _three(maria, agent_now)
    _ctx, transcript = await talk(agent_ctx, ["I want to cancel an appointment", "the two of them"], customer=maria)
    rows = await in_db_thread(starts, maria)
    assert [rows[a.pk][0] for a in appts] == ["scheduled"] * 3, agent_lines(transcript)


# --- an appointment named by its time --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "move my 7:30 on Wednesday to Friday",
        "can you push my ten thirty tomorrow to next week",
        "could we switch my 3pm to monday",
        "I gotta bump my thursday to the 20th",
    ],
)
def test_moving_an_appointment_named_by_its_time_or_day_is_a_move(line):
    assert nlu.detect_intent(line) == "reschedule"


@pytest.mark.parametrize("line", ["I need to change my oil", "can you change the 2019 camry's oil"])
def test_changing_the_oil_is_no_move(line):
    assert nlu.detect_intent(line) != "reschedule"


@pytest.mark.parametrize(
    ("line", "moved"),
    [
        ("move my 7:30 on Wednesday to Friday at 10", 0),
        ("hi, could you shift my thursday 9 to friday at 10 please", 1),
    ],
)
async def test_moving_the_appointment_named_by_its_time(agent_ctx, maria, agent_now, line, moved):
    appts = [
        await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 7, 30)),
        await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 3), 9)),
    ]
    _ctx, transcript = await talk(agent_ctx, [line, "yes", "no"], customer=maria)
    lines = agent_lines(transcript)
    rows = await in_db_thread(starts, maria)
    assert rows[appts[moved].pk] == ("scheduled", day(agent_now, 4), 10), lines
    other = appts[1 - moved]
    assert rows[other.pk][0] == "scheduled" and rows[other.pk][1] == other.start.astimezone(NOW.tzinfo).date()


# --- two questions in one breath -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "what time do you open saturday and how much is an oil change?",
        "how much do you charge for an oil change, and are you open on saturdays?",
    ],
)
async def test_hours_and_a_price_asked_together_are_both_answered(agent_ctx, maria, line):
    _ctx, transcript = await talk(agent_ctx, [line, "no"], customer=maria)
    reply = agent_lines(transcript)[1]
    assert "8:00 AM" in reply and "1:00 PM" in reply, reply
    assert "oil change is $" in reply, reply


async def test_price_and_duration_asked_together_are_both_answered(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["what's a tire rotation cost and how long is it gonna take?", "no"], customer=maria
    )
    reply = agent_lines(transcript)[1]
    assert "takes about" in reply and "$" in reply, reply


async def test_two_questions_in_the_middle_of_a_booking_are_both_answered(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx,
        ["I'd like to bring the car in for an oil change", "how long does that take, and when do you close friday?"],
        customer=maria,
    )
    reply = agent_lines(transcript)[2]
    assert "takes about" in reply and "6:00 PM" in reply, reply
    assert reply.endswith("What day works best for you?"), reply


# --- a time past closing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "offset", "closes", "latest"),
    [
        (["I need an oil change", "can I come at 6:30 on thursday?"], 3, "6:00 PM", "5:30 PM"),
        (["could I get a tire rotation saturday at two thirty"], 5, "1:00 PM", "12:30 PM"),
    ],
)
async def test_a_time_past_closing_says_when_we_close_and_offers_the_latest(
    agent_ctx, maria, agent_now, lines, offset, closes, latest
):
    _ctx, transcript = await talk(agent_ctx, lines, customer=maria)
    reply = agent_lines(transcript)[-1]
    assert reply.startswith(f"We close at {closes}, so the latest I have is {label(day(agent_now, offset))}"), reply
    assert f"at {latest}" in reply, reply


async def test_a_time_before_opening_says_when_we_open(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["I need brakes looked at", "can I drop it off friday at 6 in the morning"], customer=maria
    )
    reply = agent_lines(transcript)[-1]
    assert reply.startswith(f"We open at 7:00 AM, so the earliest I have is {label(day(agent_now, 4))}"), reply


# --- "the week of the 14th" ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "first", "last"),
    [
        ("the week of the 14th", (3, 9), (3, 15)),  # (Duckling: the week after)
        ("sometime the week of the 28th", (3, 23), (3, 29)),  # (Duckling: this week)
        ("the week of march 30", (3, 30), (4, 5)),  # (Duckling: that Monday alone)
        ("uh the week of the 14th of april", (4, 13), (4, 19)),
        ("the week of the 2nd", (3, 3), (3, 8)),  # this week, from today
        ("the week starting monday the 9th", (3, 9), (3, 15)),
    ],
)
def test_the_week_of_a_day_is_that_whole_week(line, first, last):
    u = nlu.understand(line, NOW, services=False, named_days={})
    assert u.date is not None and (u.date.start, u.date.end) == (_d(*first), _d(*last)), u.date
    assert u.date.week_of is not None


def test_the_week_of_a_day_keeps_a_part_of_day_said_with_it():
    u = nlu.understand("the week of the 7th, in the morning", NOW, services=False, named_days={})
    assert u.date is not None and (u.date.start, u.date.end) == (_d(3, 3), _d(3, 8)), u.date
    assert u.time is not None and u.time.end == time(12)


def _d(month, day_of_month):
    return NOW.date().replace(month=month, day=day_of_month)


@pytest.mark.parametrize(
    "lines", [["I'd like to book an oil change the week of the {nth}"], ["brakes", "the week of the {nth}"]]
)
async def test_the_week_of_a_day_offers_days_of_that_week(agent_ctx, maria, agent_now, lines):
    thursday = day(agent_now, 10)
    nth = {1: "1st", 2: "2nd", 3: "3rd", 21: "21st", 22: "22nd", 23: "23rd", 31: "31st"}.get(
        thursday.day, f"{thursday.day}th"
    )
    _ctx, transcript = await talk(agent_ctx, [line.format(nth=nth) for line in lines], customer=maria)
    reply = agent_lines(transcript)[-1]
    assert reply.startswith("I have "), reply
    offered = [d for d in (day(agent_now, n) for n in range(0, 21)) if label(d) in reply]
    assert len(offered) >= 2 and all(day(agent_now, 7) <= d <= day(agent_now, 13) for d in offered), reply


# --- a request placed on (or beside) a visit they have -------------------------------------------------------------


def services_of(appt):
    appt.refresh_from_db()
    return sorted(appt.service_types.values_list("code", flat=True))


@pytest.mark.parametrize(
    "line",
    [
        "can you add a tire rotation to my appointment on Thursday?",
        "while the car's in on thursday could you also rotate the tires",
        "I'd like to put a tire rotation on my oil change appointment too",
    ],
)
async def test_a_service_added_to_the_visit_they_have(agent_ctx, maria, agent_now, line):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 9))
    other = await in_db_thread(book, maria, "battery", agent_local(day(agent_now, 8), 11))
    _ctx, transcript = await talk(agent_ctx, [line, "yes", "no"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1] == (
        f"So I'll add a tire rotation to your oil change on {label(day(agent_now, 3))} at 9:00 AM. Is that right?"
    ), lines
    assert await in_db_thread(services_of, oil) == ["oil-change", "tire-rotation"], lines
    assert await in_db_thread(services_of, other) == ["battery"]
    rows = await in_db_thread(starts, maria)
    assert len(rows) == 2 and rows[oil.pk] == ("scheduled", day(agent_now, 3), 9), lines  # no new visit


async def test_a_service_already_on_the_visit_is_said_so(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["can you add an oil change to my thursday appointment", "no"], customer=maria
    )
    assert agent_lines(transcript)[1].startswith(
        f"Your visit on {label(day(agent_now, 3))} at 9:00 AM already includes"
    )
    assert await in_db_thread(services_of, oil) == ["oil-change"]


async def test_a_service_that_no_longer_fits_the_visit_is_offered_as_a_visit_of_its_own(agent_ctx, maria, agent_now):
    late = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 17, 30))
    _ctx, transcript = await talk(
        agent_ctx, ["could you add brake pads to my thursday appointment?", "yes", "yes"], customer=maria
    )
    lines = agent_lines(transcript)
    assert "Would you like me to book it as a separate visit?" in lines[2], lines
    assert await in_db_thread(services_of, late) == ["oil-change"]
    assert lines[3] == "What day works best for you?", lines


async def test_which_visit_is_asked_when_the_words_fit_several(agent_ctx, maria, agent_now):
    first = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 9))
    second = await in_db_thread(book, maria, "battery", agent_local(day(agent_now, 8), 11))
    _ctx, transcript = await talk(
        agent_ctx, ["can you add a tire rotation to my appointment", "the battery one", "yes", "no"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1].endswith("Which one should I add it to?"), lines
    assert await in_db_thread(services_of, second) == ["battery", "tire-rotation"], lines
    assert await in_db_thread(services_of, first) == ["oil-change"]


@pytest.mark.parametrize(
    ("line", "answer", "hour"),
    [
        ("I need an oil change on the Tacoma, same day as the inspection on my Jeep", "noon", 12),
        ("can you get my tacoma in for an oil change the day of my jeep's inspection", "at 2", 14),
        ("oil change for the tacoma at the same time as the Jeep's inspection please", "yes", 10),
    ],
)
async def test_another_car_booked_on_the_day_of_a_visit_they_have(agent_ctx, dwayne, agent_now, line, answer, hour):
    from crm.models import Vehicle

    jeep = await in_db_thread(lambda: Vehicle.objects.get(customer=dwayne, model="Grand Cherokee"))
    inspection = await in_db_thread(book, dwayne, "state-inspection", agent_local(day(agent_now, 4), 10), 60, jeep)
    _ctx, transcript = await talk(agent_ctx, [line, answer, "yes", "no"], caller=DWAYNE_PHONE, customer=dwayne)
    lines = agent_lines(transcript)
    assert not any("can't book" in line for line in lines), lines
    rows = await in_db_thread(
        lambda: [
            (a.vehicle.model, a.start.astimezone(NOW.tzinfo).date(), a.start.astimezone(NOW.tzinfo).hour, a.pk)
            for a in dwayne.appointments.filter(status="scheduled").select_related("vehicle")
        ]
    )
    assert ("Tacoma", day(agent_now, 4), hour) in [r[:3] for r in rows], lines
    assert ("Grand Cherokee", day(agent_now, 4), 10, inspection.pk) in rows  # the Jeep's visit as it was
    assert len(rows) == 2, lines


@pytest.mark.parametrize(
    ("line", "described", "services"),
    [
        (
            "an oil change on the silverado, same day as the inspection on my outback",
            "the inspection on my outback",
            ["oil-change"],
        ),
        ("can you add a tire rotation to my appointment on Thursday?", "my appointment on thursday", ["tire-rotation"]),
        (
            "while my truck is in on monday can you also do the wipers please",
            "my truck is in on monday",
            ["wipers-cabin-filter"],
        ),
        ("book the civic the day of my jeep's oil change", "my jeep oil change", []),
    ],
)
def test_the_words_of_a_visit_they_have_are_not_the_request(demo_shop, line, described, services):
    u = nlu.understand(line, NOW)
    assert u.anchor is not None and u.anchor.described == described, u.anchor
    assert [s.code for s in u.services] == services and u.date is None and not u.not_offered, u


@pytest.mark.parametrize(
    "line",
    [
        "no wait, put the tire rotation on the Jeep, not the Tacoma",
        "I need an oil change, and while it's in there can you rotate the tires too?",
        "same time as the last one please",
    ],
)
def test_a_car_or_the_visit_being_booked_is_no_other_visit(demo_shop, line):
    assert nlu.understand(line, NOW).anchor is None


# --- a car not on file, named mid-call --------------------------------------------------------------------------

OUTBACK_VIN = "4S4BSANC2J3351287"  # a 2018 Subaru Outback (its check digit is right)


@pytest.mark.parametrize(
    "lines",
    [
        ["I need an oil change thursday at 10", "oh and it's actually my new car, a 2018 Outback"],
        ["can I get a tire rotation", "actually it's for my other car, a 2018 subaru outback"],
    ],
)
async def test_a_new_car_named_mid_call_is_added_once_with_the_vin_said_with_the_yes(
    agent_ctx, maria, agent_now, lines
):
    _ctx, transcript = await talk(
        agent_ctx, [*lines, f"yeah go ahead, the VIN is {OUTBACK_VIN}", "10 am thursday", "yes", "no"], customer=maria
    )
    said = agent_lines(transcript)
    assert said[3].startswith("Done, I've added the 2018 Subaru Outback to your account."), said
    rows = await booked(maria)
    assert [(r[0].date(), r[0].hour, r[2]) for r in rows] == [(day(agent_now, 3), 10, "Subaru Outback")], said
    vin = await in_db_thread(lambda: maria.vehicles.get(model="Outback").vin)
    assert vin == OUTBACK_VIN


async def test_a_vin_of_another_car_than_the_one_said_is_read_back(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx,
        ["I need an oil change", "it's for my new truck, a 2023 Ford Ranger", f"yes, the vin is {OUTBACK_VIN}"],
        customer=maria,
    )
    said = agent_lines(transcript)
    assert said[3] == "That VIN is for a 2018 Subaru Outback. Shall I add it to your account?", said


# --- a time said where the car was asked ----------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["tuesday at 10", "the earliest you have", "whatever's soonest, in the morning"])
async def test_a_time_said_when_the_car_was_asked_keeps_the_time_and_asks_the_car_again(
    agent_ctx, dwayne, agent_now, answer
):
    _ctx, transcript = await talk(
        agent_ctx, ["I need to book an oil change", answer, "the tacoma"], caller=DWAYNE_PHONE, customer=dwayne
    )
    lines = agent_lines(transcript)
    assert lines[1] == "Is this for your 2019 Jeep Grand Cherokee or your 2011 Toyota Tacoma?", lines
    assert lines[2] == f"Got it. {lines[1]}", lines
    assert "2011 Toyota Tacoma" in lines[3] or "earliest I have" in lines[3], lines


@pytest.mark.parametrize(
    ("line", "offset", "at"),
    [("asap, mornings are best", 0, "11:00 AM"), ("whatever's soonest in the afternoon", 0, "noon")],
)
async def test_the_soonest_in_a_part_of_the_day_is_the_first_such_opening(
    agent_ctx, maria, agent_now, line, offset, at
):
    # (the call is on a Monday at 9:00: the first morning opening is later this morning)
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change", line], customer=maria)
    reply = agent_lines(transcript)[-1]
    earliest = f"The earliest I have is {label(day(agent_now, offset))} at {at}."
    assert reply == f"{earliest} Shall I book an oil change for your 2018 Honda Civic then?", reply  # one question


# --- calls of my own (issue 6, second round) -------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["hi, I think I have an appointment thursday? can you tell me what time", "remind me when I'm coming in"]
)
async def test_asking_when_their_appointment_is(agent_ctx, maria, agent_now, line):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 14))
    _ctx, transcript = await talk(agent_ctx, [line, "no"], customer=maria)
    reply = agent_lines(transcript)[1]
    assert "oil change on" in reply and label(day(agent_now, 3)) in reply and "2:00 PM" in reply, reply


@pytest.mark.parametrize("line", ["yeah I need new tires", "I gotta get four new tires put on"])
async def test_work_we_cannot_book_said_alone_is_said_so_and_what_we_can_is_asked(agent_ctx, maria, line):
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    reply = agent_lines(transcript)[1]
    assert reply.startswith("Sorry, I can't book") and "tires" in reply, reply
    assert reply.endswith("What service does your car need?"), reply


async def test_the_next_appointment_is_told_then_that_one_is_moved(agent_ctx, maria, agent_now):
    first = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 14))
    second = await in_db_thread(book, maria, "battery", agent_local(day(agent_now, 5), 9))
    _ctx, transcript = await talk(
        agent_ctx,
        ["hey, when's my next appointment?", "ok can you push that one back a week", "yes", "no"],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith(f"Your next appointment is an oil change on {label(day(agent_now, 3))} at 2:00 PM."), (
        lines
    )
    rows = await in_db_thread(starts, maria)
    assert rows[first.pk] == ("scheduled", day(agent_now, 10), 14), lines
    assert rows[second.pk] == ("scheduled", day(agent_now, 5), 9)


async def test_the_inspection_on_one_of_their_cars_is_the_one_meant(agent_ctx, dwayne, agent_now):
    from crm.models import Vehicle

    jeep = await in_db_thread(lambda: Vehicle.objects.get(customer=dwayne, model="Grand Cherokee"))
    tacoma = await in_db_thread(lambda: Vehicle.objects.get(customer=dwayne, model="Tacoma"))
    jeeps = await in_db_thread(book, dwayne, "state-inspection", agent_local(day(agent_now, 3), 9), 60, jeep)
    await in_db_thread(book, dwayne, "oil-change", agent_local(day(agent_now, 4), 9), 30, tacoma)
    tacomas = await in_db_thread(book, dwayne, "state-inspection", agent_local(day(agent_now, 5), 11), 60, tacoma)
    _ctx, transcript = await talk(
        agent_ctx,
        ["I have to cancel the inspection for my tacoma", "yes", "no"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert label(day(agent_now, 5)) in lines[1] and lines[1].endswith("Do you want me to cancel it?"), lines
    rows = await in_db_thread(starts, dwayne)
    assert rows[tacomas.pk][0] == "cancelled" and rows[jeeps.pk][0] == "scheduled", lines


async def test_only_the_appointments_that_fit_are_read_out_and_chosen_among(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9))
    state = await in_db_thread(book, maria, "state-inspection", agent_local(day(agent_now, 3), 10), 60)
    multi = await in_db_thread(book, maria, "multi-point", agent_local(day(agent_now, 7), 8), 60)
    battery = await in_db_thread(book, maria, "battery", agent_local(day(agent_now, 7), 15))
    _ctx, transcript = await talk(
        agent_ctx, ["I'd like to cancel my inspection", "the monday one", "yes", "no"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith("I see two that could be it:") and "battery" not in lines[1], lines
    rows = await in_db_thread(starts, maria)
    assert rows[multi.pk][0] == "cancelled", lines
    assert rows[battery.pk][0] == "scheduled" and rows[state.pk][0] == "scheduled"


@pytest.mark.parametrize(
    "line",
    [
        "my check engine light came on this morning, can you guys take a look at it",
        "the car started shaking this afternoon, can I bring it in",
    ],
)
def test_when_something_happened_is_no_time_asked_for(demo_shop, line):
    u = nlu.understand(line, NOW.replace(hour=16))
    assert u.date is None and u.time is None, (u.date, u.time)


def test_a_time_asked_for_beside_when_it_happened_is_kept(demo_shop):
    u = nlu.understand("it broke down this morning, can you fit me in this afternoon", NOW)
    assert u.date is not None and u.date.single_day == NOW.date() and u.time is not None and u.time.start == time(12)


async def test_a_problem_that_started_this_morning_asks_the_day(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["hi, my check engine light came on this morning, could you take a look at it?"], customer=maria
    )
    assert agent_lines(transcript)[1] == "What day works best for you?", agent_lines(transcript)
