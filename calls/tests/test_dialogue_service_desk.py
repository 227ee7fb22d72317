"""The rule brain does what a person at the service desk would (issue 6, the independent tester's report): a car
that is not on the account yet is read back and added before it is booked; callers introduce themselves however
they like, and cars or days are never names; the appointment meant is found by how the caller describes it, with
the new day they gave kept, and "both of them" means both; a second booking of what is already coming up is
questioned first."""

from datetime import datetime

import pytest

from bartsvoice.db import in_db_thread
from calls.agent import nlu
from calls.agent.flows.choosing import Said, pick_appointments, says_all, split_move
from calls.agent.flows.duplicates import already_booked
from calls.agent.flows.vehicles import car_not_on_file
from calls.agent.introductions import introduced_name
from calls.agent.tools import NEED_ACCOUNT, run_tool
from calls.tests.conftest import DWAYNE_PHONE, MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from calls.tests.test_dialogue_callers import OUTBACK_VIN, agent_lines, book, booked, day, label, talk
from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


def cars(customer) -> list[tuple]:
    return list(Vehicle.objects.filter(customer=customer).order_by("id").values_list("year", "make", "model", "vin"))


def status(appt) -> str:
    return Appointment.objects.get(pk=appt.pk).status


# --- 1. a car that is not on the account ------------------------------------------------------------------------


async def test_a_car_not_on_file_is_read_back_added_and_booked_on(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "Hi, I need an oil change on Wednesday. It's for my wife's 2019 Camry, not my car.",
            "yes please",
            "the first one",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1] == "I don't see a 2019 Toyota Camry on your account. Shall I add it?"
    assert lines[2].startswith("Done, I've added the 2019 Toyota Camry to your account.")
    assert "for your 2019 Toyota Camry" in lines[3]  # the read-back names the car it goes on
    assert await in_db_thread(cars, maria) == [(2018, "Honda", "Civic", ""), (2019, "Toyota", "Camry", "")]
    [(start, codes, car)] = await booked(maria)
    assert (start.date(), codes, car) == (day(agent_now, 2), ["oil-change"], "Toyota Camry")


async def test_a_new_car_without_its_year_is_asked_for_it_once(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["can I get a tire rotation for my son's Tacoma", "it's a 2021", "yep"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith("I don't see a Toyota Tacoma on your account. What year is it?")
    assert lines[2] == "So that's a 2021 Toyota Tacoma. Shall I add it to your account?"
    assert (2021, "Toyota", "Tacoma", "") in await in_db_thread(cars, maria)


async def test_saying_no_to_adding_it_adds_nothing(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["I just bought a 2021 Tacoma and it needs an oil change", "no"], customer=maria
    )
    assert agent_lines(transcript)[2].startswith("Okay, I won't add it.")
    assert await in_db_thread(cars, maria) == [(2018, "Honda", "Civic", "")]


async def test_neither_of_my_cars_then_a_vin_is_decoded_read_back_and_added(agent_ctx, dwayne, agent_now):
    from crm.vin import compute_check_digit

    vin = OUTBACK_VIN[:8] + compute_check_digit(OUTBACK_VIN) + OUTBACK_VIN[9:]
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need a tire rotation on Thursday",
            "neither, it's a different car",
            f"the VIN is {vin}",
            "that's it, yes",
            "the first one",
            "yes",
        ],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    lines = agent_lines(transcript)
    assert lines[2].startswith("Sure. What's the year, make and model of that car?")
    assert lines[3] == "That VIN is for a 2018 Subaru Outback. Shall I add it to your account?"
    assert (2018, "Subaru", "Outback", vin) in await in_db_thread(cars, dwayne)
    [(start, codes, car)] = await booked(dwayne)
    assert (start.date(), codes, car) == (day(agent_now, 3), ["tire-rotation"], "Subaru Outback")


async def test_a_car_named_at_the_read_back_replaces_the_one_on_file(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "oil change tomorrow morning",
            "the first one",
            "no wait, it's for my daughter's 2016 Honda Fit",
            "yes",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[3] == "I don't see a 2016 Honda Fit on your account. Shall I add it?"
    assert "for your 2016 Honda Fit. Shall I book it?" in lines[4]
    [(_start, _codes, car)] = await booked(maria)
    assert car == "Honda Fit"


def test_which_cars_said_are_on_file():
    vehicles = [{"year": 2018, "make": "Honda", "model": "Civic"}]
    now = datetime(2026, 5, 11, 9, tzinfo=shop_tz())
    assert car_not_on_file("my wife's 2019 Camry", vehicles, now) == {"year": 2019, "make": "Toyota", "model": "Camry"}
    assert car_not_on_file("the Civic", vehicles, now) is None
    assert car_not_on_file("my 2018 Honda", vehicles, now) is None
    assert car_not_on_file("can I drop my truck off", vehicles, now) is None  # "truck" is no model
    assert car_not_on_file("the express oil change", vehicles, now) is None  # nor "express" without "my"
    assert car_not_on_file("could the Honda come in Thursday", vehicles, now) is None  # "Honda Come" is no model
    assert car_not_on_file("I got a new truck, a Ram 1500", vehicles, now) == {
        "year": None,
        "make": "Ram",
        "model": "1500",
    }
    highlander = [{"year": 2018, "make": "Toyota", "model": "Highlander"}]
    assert car_not_on_file("my Highlander and my wife's new 2023 RAV4 need oil changes", highlander, now) == {
        "year": 2023,
        "make": "Toyota",
        "model": "RAV4",
    }
    silverado = [{"year": 2020, "make": "Chevrolet", "model": "Silverado"}]
    assert car_not_on_file("not for the Silverado, it's for my daughter's Civic", silverado, now) == {
        "year": None,
        "make": "Honda",
        "model": "Civic",
    }


def test_only_a_verified_caller_adds_a_car_and_only_to_their_own_account(agent_ctx, maria):
    stranger = agent_ctx(NEW_CALLER_PHONE)  # nobody bound to the call
    refused = run_tool(
        stranger, "add_vehicle", {"vehicle_year": 2019, "vehicle_make": "Toyota", "vehicle_model": "Camry"}
    )
    assert (refused.ok, refused.error) == (False, NEED_ACCOUNT)
    claimed = agent_ctx(NEW_CALLER_PHONE)
    claimed.customer_id = maria.pk  # bound but never verified
    assert not run_tool(claimed, "add_vehicle", {"vehicle_make": "Toyota", "vehicle_model": "Camry"}).ok
    ctx = agent_ctx(MARIA_PHONE, maria)
    first = run_tool(ctx, "add_vehicle", {"vehicle_year": 2019, "vehicle_make": "Toyota", "vehicle_model": "Camry"})
    again = run_tool(ctx, "add_vehicle", {"vehicle_year": 2019, "vehicle_make": "toyota", "vehicle_model": "camry"})
    assert first.ok and first.result["added"] and first.result["vehicle"]["label"] == "2019 Toyota Camry"
    assert again.ok and not again.result["added"] and again.result["vehicle"]["id"] == first.result["vehicle"]["id"]
    assert not run_tool(ctx, "add_vehicle", {"vehicle_make": "Toyota"}).ok  # a make alone is no car
    assert Vehicle.objects.filter(customer=maria).count() == 2 and Vehicle.objects.count() == 2


# --- 2. introductions, and what is never a name -----------------------------------------------------------------


@pytest.mark.parametrize(
    "line, name",
    [
        ("Hi, I'm Robert Johnson, I need to cancel my appointment", ("Robert", "Johnson")),
        ("this is Robert Johnson calling, I want to move my appointment", ("Robert", "Johnson")),
        ("hey it's uh, I'm Dana Whitfield and I have to cancel", ("Dana", "Whitfield")),
        ("hi i am robert johnson i need to cancel", ("Robert", "Johnson")),
        ("my name's Robert", ("Robert", "")),
        ("Good morning, Linda Ramirez here, I'd like to check on my appointment", ("Linda", "Ramirez")),
        ("Hello, it's Patricia Thomas, I need to reschedule", ("Patricia", "Thomas")),
    ],
)
def test_introductions_however_said(line, name):
    assert introduced_name(line) == name


@pytest.mark.parametrize(
    "line",
    [
        "I'm due for an oil change",
        "I'm stranded on the highway",
        "I'm calling about my car",
        "Hi, I'm looking to book a brake job",
        "i'm not sure",
        "I'm good thanks",
        "im worried about my brakes",
        "this is for my Honda",
        "it's overheating",
        "it's making a grinding noise",
        "Hi, it's my Silverado again",
    ],
)
def test_no_introduction(line):
    assert introduced_name(line) is None


@pytest.mark.parametrize(
    "said",
    [
        "Camry",
        "my Silverado",
        "Honda",
        "Honda Civic",
        "the Tacoma",
        "Thursday",
        "uh Thursday",
        "the second one, to Friday",
    ],
)
def test_cars_and_days_are_never_names(said):
    assert nlu.parse_name(said, bare_ok=True) is None


def test_a_make_in_a_real_name_stays_a_name():
    assert nlu.parse_name("John Ford", bare_ok=True) == ("John", "Ford")


async def test_a_caller_who_says_who_they_are_up_front_is_not_asked_again(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["Hi, I'm Maria Delgado, I need to cancel my appointment"], caller=NEW_CALLER_PHONE
    )
    assert agent_lines(transcript)[1] == "Thanks, Maria. And what's the ZIP code on your account?"


async def test_a_first_name_alone_asks_only_for_the_last(agent_ctx, demo_shop):
    _ctx, transcript = await talk(agent_ctx, ["my name's Robert, I need an oil change"], caller=NEW_CALLER_PHONE)
    assert agent_lines(transcript)[1].endswith("Thanks, Robert. And your last name?")


async def test_a_car_said_for_the_name_is_kept_as_the_car(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx, ["I need to book an oil change", "my Silverado", "Sam Porter", "a 2016"], caller=NEW_CALLER_PHONE
    )
    lines = agent_lines(transcript)
    assert lines[2] == "Okay, a Chevrolet Silverado. What's your first and last name?"
    assert "Silverado" not in lines[3].split(",")[0]
    assert lines[3].endswith("And what year is your Chevrolet Silverado?")  # (issue 6: a year is asked, once)
    sam = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    assert (sam.first_name, sam.last_name) == ("Sam", "Porter")
    cars = await in_db_thread(lambda: list(sam.vehicles.values_list("year", "make", "model")))
    assert cars == [(2016, "Chevrolet", "Silverado")]


# --- 3. which appointment ---------------------------------------------------------------------------------------


@pytest.fixture
def two_visits(maria, agent_now):
    """Maria: an oil change on Tuesday at 9 and a tire rotation on Wednesday of the week after at 1 PM."""
    oil = book(maria, "oil-change", agent_local(day(agent_now, 1), 9))
    tires = book(maria, "tire-rotation", agent_local(day(agent_now, 9), 13))
    return oil, tires


async def test_the_new_time_said_up_front_survives_choosing_the_appointment(agent_ctx, maria, two_visits, agent_now):
    oil, _tires = two_visits
    _ctx, transcript = await talk(
        agent_ctx, ["I need to move my appointment to Friday at 10", "the oil change", "yes"], customer=maria
    )
    lines = agent_lines(transcript)
    assert "Which one would you like to move?" in lines[1]
    assert lines[2] == (
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to "
        f"{label(day(agent_now, 4))} at 10:00 AM. Is that right?"
    )
    moved = await in_db_thread(Appointment.objects.get, pk=oil.pk)
    assert moved.start == agent_local(day(agent_now, 4), 10)


async def test_move_my_oil_change_to_friday_at_10_needs_no_question(agent_ctx, maria, two_visits, agent_now):
    _ctx, transcript = await talk(agent_ctx, ["move my oil change to Friday at 10"], customer=maria)
    assert agent_lines(transcript)[1].startswith(
        f"So I'll move your oil change from {label(day(agent_now, 1))} at 9:00 AM to {label(day(agent_now, 4))} at "
        "10:00 AM."
    )


async def test_the_wednesday_one_is_the_one_on_a_wednesday_not_the_nearest(agent_ctx, maria, two_visits, agent_now):
    _oil, tires = two_visits
    _ctx, transcript = await talk(
        agent_ctx, ["I have to cancel an appointment", "the Wednesday one", "yes"], customer=maria
    )
    assert agent_lines(transcript)[2].startswith(f"I see your tire rotation on {label(day(agent_now, 9))} at 1:00 PM")
    assert await in_db_thread(status, tires) == "cancelled"


async def test_both_of_them_is_one_read_back_and_both_cancelled(agent_ctx, maria, two_visits, agent_now):
    oil, tires = two_visits
    _ctx, transcript = await talk(agent_ctx, ["I need to cancel", "both of them", "yes"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[2] == (
        f"I see your oil change on {label(day(agent_now, 1))} at 9:00 AM and your tire rotation on "
        f"{label(day(agent_now, 9))} at 1:00 PM. Do you want me to cancel both of them?"
    )
    assert lines[3].startswith("Done. I've cancelled your oil change")
    assert [await in_db_thread(status, a) for a in (oil, tires)] == ["cancelled", "cancelled"]


async def test_cancel_everything_said_at_once(agent_ctx, maria, two_visits):
    _ctx, transcript = await talk(agent_ctx, ["cancel everything I have please", "no don't"], customer=maria)
    assert agent_lines(transcript)[1].endswith("Do you want me to cancel both of them?")
    assert agent_lines(transcript)[2].startswith("Okay, I'll leave it")
    assert [await in_db_thread(status, a) for a in two_visits] == ["scheduled", "scheduled"]


async def test_cancel_everything_except_one_leaves_that_one(agent_ctx, maria, two_visits, agent_now):
    oil, tires = two_visits
    brakes = await in_db_thread(book, maria, "brake-pads", agent_local(day(agent_now, 8), 15))
    _ctx, transcript = await talk(
        agent_ctx, ["please cancel everything except the tire rotation", "yes"], customer=maria
    )
    assert agent_lines(transcript)[1].endswith("Do you want me to cancel both of them?")
    assert "tire rotation" not in agent_lines(transcript)[1]
    assert [await in_db_thread(status, a) for a in (oil, brakes, tires)] == ["cancelled", "cancelled", "scheduled"]


def test_choosing_by_what_was_said():
    tz = shop_tz()
    appts = [
        {
            "start": datetime(2026, 5, 12, 9, tzinfo=tz).isoformat(),
            "service_codes": ["oil-change"],
            "services": ["Oil change"],
        },
        {
            "start": datetime(2026, 6, 14, 13, tzinfo=tz).isoformat(),
            "service_codes": ["tire-rotation"],
            "services": ["Tire rotation"],
        },
    ]
    now = datetime(2026, 5, 11, 9, tzinfo=tz)

    def said(text):
        u = nlu.understand(text, now, services=False)
        return pick_appointments(appts, Said(text, u.date, u.time, []))

    assert said("the one on the 14th") == [1]  # May 14 has none: the 14th they have is in June
    assert said("the one on the 12th") == [0]
    assert said("the Sunday one") == [1]
    assert said("my Tuesday appointment") == [0]
    saturday = nlu.understand("cancel one of the Sunday ones", now, services=False)
    described = Said(saturday.text, saturday.date, saturday.time, [])
    assert pick_appointments(appts, described, ordinals=False) == [1]  # "one of" is no "the first one"
    assert said("the second one") == [1]
    assert said("the one in the afternoon") == [1]
    assert said("hmm") == []
    assert says_all("both of them") and says_all("cancel all of them") and says_all("cancel everything")
    assert not says_all("that's all") and not says_all("all right")
    assert split_move("move my oil change to Friday at 10") == ("move my oil change", "friday at 10")
    assert split_move("can I reschedule the Thursday one for next week") == (
        "can i reschedule the thursday one",
        "next week",
    )
    assert split_move("I need to cancel") is None
    assert split_move("the one on the 21st, can we make it Friday the 22nd") == (
        "the one on the 21st",
        "friday the 22nd",
    )
    assert split_move("the second one, to Friday", verb_needed=False) == ("the second one", "friday")
    assert split_move("the one for Tuesday", verb_needed=False) is None  # Tuesday says which, not where to


@pytest.fixture
def today_and_thursday(maria, agent_now):
    """Maria: a brake inspection today (Monday) at 2 PM and an oil change on Thursday at 10."""
    brakes = book(maria, "brake-inspection", agent_local(day(agent_now, 0), 14))
    oil = book(maria, "oil-change", agent_local(day(agent_now, 3), 10))
    return brakes, oil


def _start_and_status(appt):
    fresh = Appointment.objects.get(pk=appt.pk)
    return fresh.start, fresh.status


@pytest.mark.parametrize(
    "line",
    [
        "Reschedule my brake inspection today, can we do Thursday instead",
        "Can I move my appointment today to Thursday",
        "I have an appointment today, can I move it to Thursday instead",
        "Change my appointment from today to Thursday",
        "I want to move the brake inspection to Thursday rather than today",
    ],
)
async def test_the_day_said_of_the_appointment_picks_it_not_the_day_it_goes_to(
    agent_ctx, maria, today_and_thursday, agent_now, line
):
    brakes, oil = today_and_thursday
    _ctx, transcript = await talk(agent_ctx, [line, "the first one", "yes"], customer=maria)
    lines = agent_lines(transcript)
    assert "Which one" not in lines[1], lines
    assert lines[2].startswith(f"So I'll move your brake inspection from {label(day(agent_now, 0))}"), lines
    assert (await in_db_thread(_start_and_status, brakes))[0].date() == day(agent_now, 3)
    assert await in_db_thread(_start_and_status, oil) == (agent_local(day(agent_now, 3), 10), "scheduled")


@pytest.mark.parametrize(
    "line",
    [
        "I got your message, can I move my appointment to Thursday",
        "I got a voicemail from you, I need to reschedule for Thursday",
        "I'd like to reschedule, can we do Thursday instead",
        "I need to move my appointment, Thursday would be better",
        "I'd rather do Thursday, can you reschedule my appointment",
        "Could I switch it to Thursday",
    ],
)
async def test_a_day_said_only_as_where_it_goes_asks_which_appointment(
    agent_ctx, maria, today_and_thursday, agent_now, line
):
    _brakes, oil = today_and_thursday
    _ctx, transcript = await talk(agent_ctx, [line, "the brake inspection", "the first one"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1].endswith("Which one would you like to move?"), lines
    assert lines[2].startswith("I have Thursday") or f"on {label(day(agent_now, 3))}" in lines[2], lines
    assert lines[3].startswith(f"So I'll move your brake inspection from {label(day(agent_now, 0))}"), lines
    assert await in_db_thread(_start_and_status, oil) == (agent_local(day(agent_now, 3), 10), "scheduled")


def test_the_target_of_a_move_is_split_from_the_appointment_described():
    now = datetime(2026, 5, 11, 9, tzinfo=shop_tz())
    assert split_move("Reschedule my brake inspection today, can we do Thursday instead", now=now) == (
        "reschedule my brake inspection today",
        "thursday instead",
    )
    assert split_move("Can I do Thursday instead of today", now=now) == ("today", "thursday")
    assert split_move("Change my oil change from today to Thursday", now=now) == (
        "change my oil change today",
        "thursday",
    )
    assert split_move("move the one today, next Thursday at 10 instead", now=now) == (
        "move the one today",
        "next thursday at 10",
    )
    assert split_move("I need to move my appointment, Thursday would be better", now=now) == (
        "i need to move my appointment",
        "thursday",
    )
    # a move verb after the opener splits there: "today" is the appointment's
    assert split_move("how about moving the one today to Thursday", now=now) == (
        "how about moving the one today",
        "thursday",
    )


# --- 4. the same service booked twice ---------------------------------------------------------------------------


async def test_booking_what_is_already_coming_up_is_questioned(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9))
    _ctx, transcript = await talk(
        agent_ctx,
        ["I'd like to book an oil change", "yes, I need another one", "Thursday", "the first one", "yes"],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1] == (
        f"You already have an oil change for the Civic on {label(day(agent_now, 1))} at 9:00 AM. "
        "Do you want another one, or should I move that one?"
    )
    assert len(await booked(maria)) == 2


async def test_move_that_one_instead_moves_it_to_the_day_asked(agent_ctx, maria, agent_now):
    oil = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["can you fit in an oil change Thursday at 10?", "just move that one", "yes"], customer=maria
    )
    assert agent_lines(transcript)[2].startswith(f"So I'll move your oil change from {label(day(agent_now, 1))}")
    [(start, _codes, _car)] = await booked(maria)
    assert (
        start == agent_local(day(agent_now, 3), 10)
        and start == (await in_db_thread(Appointment.objects.get, pk=oil.pk)).start
    )


async def test_the_same_service_for_the_other_car_is_no_duplicate(agent_ctx, dwayne, agent_now):
    jeep, _tacoma = await in_db_thread(lambda: list(dwayne.vehicles.order_by("-year")))
    await in_db_thread(book, dwayne, "oil-change", agent_local(day(agent_now, 1), 9), vehicle=jeep)
    _ctx, transcript = await talk(
        agent_ctx, ["oil change for the Tacoma on Thursday"], caller=DWAYNE_PHONE, customer=dwayne
    )
    assert "already have" not in agent_lines(transcript)[1]


def test_already_booked_matches_service_and_car():
    appts = [
        {
            "service_codes": ["oil-change", "tire-rotation"],
            "services": ["Oil change", "Tire rotation"],
            "vehicle": "2019 Jeep Grand Cherokee",
            "label": "x",
        }
    ]
    assert already_booked(appts, ["tire-rotation"], "2019 Jeep Grand Cherokee") == (appts[0], ["Tire rotation"])
    assert already_booked(appts, ["tire-rotation"], "2011 Toyota Tacoma") is None
    assert already_booked(appts, ["brake-inspection"], "2019 Jeep Grand Cherokee") is None


async def test_a_bare_yes_to_another_or_move_is_asked_again_and_keep_it_books_nothing(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 1), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["I need an oil change", "that works", "no, I'll keep the one I have"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[2] == (
        f"Just to be sure: should I book a second oil change, or move the one on {label(day(agent_now, 1))} at 9:00 AM?"
    )
    assert lines[3].startswith("Okay, your oil change on")
    assert len(await booked(maria)) == 1
