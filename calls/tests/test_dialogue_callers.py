"""The rule brain with callers as they talk (the scenario suite's misses of issue 6), on the demo shop's own
service list: checking, moving the right appointment, asking for a person, service questions and symptoms,
corrections while the time is being settled, picking an offered time, naming one of two cars, and callers
without caller ID on file."""

from datetime import datetime, timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conftest import DWAYNE_PHONE, MARIA_PHONE, NEW_CALLER_PHONE, agent_local
from calls.tests.conversation import ended, run_conversation, transferred
from crm.models import Customer
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ServiceType

pytestmark = pytest.mark.django_db(transaction=True)
WORK_PHONE = "+13125550199"
OUTBACK_VIN = "4S4BSANC0J3351287"  # a 2018 Subaru Outback (check digit computed below)


def book(customer, code, start: datetime, minutes=30, vehicle=None):
    appt = Appointment.objects.create(
        customer=customer,
        vehicle=vehicle or customer.vehicles.first(),
        start=start,
        end=start + timedelta(minutes=minutes),
        source=Appointment.Source.PHONE,
    )
    appt.service_types.set([ServiceType.objects.get(code=code)])
    return appt


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


def day(agent_now, offset):
    return (agent_now + timedelta(days=offset)).date()


def label(d) -> str:
    return f"{d:%A}, {d:%B} {d.day}"


async def talk(agent_ctx, lines, caller=MARIA_PHONE, customer=None):
    ctx = await in_db_thread(agent_ctx, caller, customer)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def booked(customer):
    def rows():
        return [
            (
                a.start.astimezone(shop_tz()),
                sorted(a.service_types.values_list("code", flat=True)),
                f"{a.vehicle.make} {a.vehicle.model}" if a.vehicle else "",
            )
            for a in Appointment.objects.filter(customer=customer, status="scheduled").order_by("start")
        ]

    return await in_db_thread(rows)


# --- what the caller wants -----------------------------------------------------------------------------------


async def test_still_on_for_a_day_without_one_then_says_what_they_have(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 4), 9))
    _ctx, transcript = await talk(agent_ctx, ["am I still on for Thursday?", "no"], customer=maria)
    assert agent_lines(transcript)[1].startswith(
        f"I don't see an appointment on {label(day(agent_now, 3))}. "
        f"You have an oil change on {label(day(agent_now, 4))} at 9:00 AM."
    )


async def test_what_appointments_do_i_have_coming_up(agent_ctx, maria, agent_now):
    first = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 10))
    await in_db_thread(book, maria, "tire-rotation", agent_local(day(agent_now, 9), 13))
    _ctx, transcript = await talk(agent_ctx, ["what appointments do I have coming up?", "no"], customer=maria)
    lines = agent_lines(transcript)
    assert lines[1].startswith(
        f"You have 2 upcoming appointments: an oil change on {label(first.start.astimezone(shop_tz()))}"
    )
    assert ended(transcript)


async def test_making_sure_they_are_still_on_for_a_day(agent_ctx, maria, agent_now):
    await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 9))
    _ctx, transcript = await talk(
        agent_ctx, ["Just calling to make sure I'm still on for Thursday", "no"], customer=maria
    )
    assert agent_lines(transcript)[1].startswith(
        f"Yes, you're all set: an oil change on {label(day(agent_now, 3))} at 9:00 AM."
    )


@pytest.mark.parametrize(
    "line",
    [
        "you know what, let me just talk to one of the service guys about it",
        "is there somebody in the service department I can talk to?",
    ],
)
async def test_asking_for_a_person_mid_booking_is_put_through(agent_ctx, maria, line):
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change", line], customer=maria)
    assert transferred(transcript)
    assert await booked(maria) == []


async def test_who_should_i_talk_to_about_something_we_dont_do(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx,
        ["Hi, I'm calling about the mechanic job you posted online. Who should I talk to?"],
        caller=NEW_CALLER_PHONE,
    )
    assert transferred(transcript)


async def test_put_me_down_for_is_a_booking_not_a_transfer(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        ["Put me down for a tire rotation on Thursday, in the afternoon", "the first one", "yes"],
        customer=maria,
    )
    assert not transferred(transcript)
    [(start, codes, _car)] = await booked(maria)
    assert codes == ["tire-rotation"] and start.date() == day(agent_now, 3) and start.hour >= 12


async def test_what_a_service_includes_is_answered_from_its_description(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["What's included in the multi-point inspection?", "maybe later, thanks"], customer=maria
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith("Here's what our multi-point inspection covers: forty-point check of tires, brakes")
    assert lines[1].endswith("Would you like to book it?")
    assert ended(transcript) and await booked(maria) == []


async def test_leaving_to_call_back_when_asked_the_name_registers_nobody(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "Hi, I was hoping to book a tire rotation",
            "oh, actually, you know what, I need to check my schedule first. I'll call you back.",
        ],
        caller=NEW_CALLER_PHONE,
    )
    assert "Oh" not in agent_lines(transcript)[-1]
    assert ended(transcript)
    assert not await in_db_thread(Customer.objects.filter(phone=NEW_CALLER_PHONE).exists)


# --- symptoms and service questions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "service"),
    [
        ("The temperature needle keeps climbing up toward the red in traffic. Can I bring it Friday?", "Coolant flush"),
        ("My car kind of jerks when it shifts gears. Could you look at it Friday?", "transmission fluid service"),
        (
            "There's a weird clunking noise from the front over bumps. Can someone listen to it Friday?",
            "multi-point inspection",
        ),  # the suspension, not the engine (issue 6)
        (
            "We're driving to Colorado next month and I'd like the car checked over before we go. Is Friday possible?",
            "multi-point inspection",
        ),
        ("My brake pads are worn down to metal on metal. Can you do Friday?", "brake pad replacement"),
    ],
)
async def test_a_symptom_books_the_shops_service_for_it(agent_ctx, maria, agent_now, line, service):
    _ctx, transcript = await talk(agent_ctx, [line, "the first one"], customer=maria)
    read_back = agent_lines(transcript)[-1].lower()
    assert read_back.startswith((f"so that's {service.lower()} on", f"so that's a {service.lower()} on"))
    assert f"on {label(day(agent_now, 4))}".lower() in read_back


async def test_how_much_right_after_booking_is_about_what_was_booked(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["I need a state inspection tomorrow at 4", "yes", "how much will that run me?"], customer=maria
    )
    # "how much" is answered with the price alone (how long it takes is another question)
    assert agent_lines(transcript)[-1] == (
        "A state safety inspection is $35. Is there anything else I can help you with?"
    )


# --- the day and the time ------------------------------------------------------------------------------------


async def test_sometime_this_week_asks_which_day(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "my Civic is about due for an oil change, could I get it in sometime this week?",
            "thursday morning would be best for me",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[1] == "Sure. What day this week works best for you?"
    assert lines[2].startswith(f"I have {label(day(agent_now, 3))} at 7:00 AM")


async def test_any_day_next_week_proposes_the_soonest(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change, any day next week is fine"], customer=maria)
    assert agent_lines(transcript)[1] == (
        f"The earliest I have is {label(day(agent_now, 7))} at 7:00 AM. "
        "Shall I book an oil change for your 2018 Honda Civic then?"
    )


async def test_swing_by_friday_after_work_is_friday_late(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        ["My wiper blades are shot. Could I swing by Friday after work, like end of the day?"],
        customer=maria,
    )
    assert agent_lines(transcript)[1] == (
        f"The latest I have is {label(day(agent_now, 4))} at 5:30 PM. "
        "Shall I book wiper blades and cabin filter for your 2018 Honda Civic then?"
    )


async def test_as_early_as_you_can_with_no_day_is_the_soonest_opening(agent_ctx, maria, agent_now):
    # 9:00 on a Monday: bookings start two hours from now at the earliest
    _ctx, transcript = await talk(agent_ctx, ["I need an oil change, as early as you can get me in"], customer=maria)
    assert agent_lines(transcript)[1] == (
        f"The earliest I have is {label(day(agent_now, 0))} at 11:00 AM. "
        "Shall I book an oil change for your 2018 Honda Civic then?"
    )


async def test_a_time_corrected_in_the_same_breath(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx, ["Can I get a tire rotation Wednesday at 3, no wait, make that 4"], customer=maria
    )
    assert agent_lines(transcript)[1].startswith(f"So that's a tire rotation on {label(day(agent_now, 2))} at 4:00 PM")


@pytest.mark.parametrize("answer", ["ten's fine", "10's good"])
async def test_an_offered_time_said_with_apostrophe_s_is_taken(agent_ctx, maria, agent_now, answer):
    _ctx, _transcript = await talk(
        agent_ctx, ["Can you do tomorrow, 10:15 in the morning, for an oil change?", answer, "yes"], customer=maria
    )
    [(start, _codes, _car)] = await booked(maria)
    assert start == agent_local(day(agent_now, 1), 10)


# --- corrections while the time is settled ----------------------------------------------------------------


async def test_make_that_a_full_brake_job_at_the_read_back_replaces_the_service(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I'd like to get my brakes looked at Thursday at 8",
            "actually, can you make that a full brake job? I already know the pads are worn down",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[2].startswith(f"So that's a brake pad replacement on {label(day(agent_now, 3))} at 8:00 AM")
    [(start, codes, _car)] = await booked(maria)
    assert codes == ["brake-pads"] and start == agent_local(day(agent_now, 3), 8)


async def test_also_rotate_the_tires_while_choosing_adds_it_to_the_slot_chosen(agent_ctx, maria, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need an oil change Thursday",
            "the first one, and could you also rotate the tires while you're at it?",
            "yes",
        ],
        customer=maria,
    )
    lines = agent_lines(transcript)
    assert lines[2].startswith(f"So that's an oil change and a tire rotation on {label(day(agent_now, 3))} at 7:00 AM")
    [(start, codes, _car)] = await booked(maria)
    assert codes == ["oil-change", "tire-rotation"] and start == agent_local(day(agent_now, 3), 7)


# --- the caller's own appointments ----------------------------------------------------------------------------


async def test_yes_please_cancel_it_cancels(agent_ctx, maria, agent_now):
    appt = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 10))
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need to cancel my appointment this week",
            "yes, please cancel it",
            "no, I'll call back to reschedule, thanks",
        ],
        customer=maria,
    )
    await in_db_thread(appt.refresh_from_db)
    assert appt.status == "cancelled"
    assert ended(transcript)  # calling back later is a goodbye, not a new request


async def test_take_me_off_the_schedule_cancels(agent_ctx, maria, agent_now):
    appt = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 11))
    _ctx, _transcript = await talk(
        agent_ctx,
        ["I'm not gonna be able to come in Thursday, can you take me off the schedule?", "yeah", "no"],
        customer=maria,
    )
    await in_db_thread(appt.refresh_from_db)
    assert appt.status == "cancelled"


async def test_push_my_oil_change_to_next_week_moves_it(agent_ctx, maria, agent_now):
    appt = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 2), 10))
    _ctx, _transcript = await talk(
        agent_ctx,
        ["Something came up. Could we push my oil change to next week, Wednesday maybe?", "the first", "yes"],
        customer=maria,
    )
    await in_db_thread(appt.refresh_from_db)
    assert appt.start.astimezone(shop_tz()).date() == day(agent_now, 9)
    assert len(await booked(maria)) == 1  # moved, not booked again


async def test_the_brake_one_on_friday_picks_the_brake_pad_job(agent_ctx, dwayne, agent_now):
    jeep, _tacoma = await in_db_thread(lambda: list(dwayne.vehicles.order_by("id")))
    brakes = await in_db_thread(book, dwayne, "brake-pads", agent_local(day(agent_now, 4), 8), 90, jeep)
    await in_db_thread(book, dwayne, "oil-change", agent_local(day(agent_now, 9), 13), 30, jeep)
    _ctx, transcript = await talk(
        agent_ctx,
        ["I have to reschedule one of my appointments", "the brake one on Friday"],
        caller=DWAYNE_PHONE,
        customer=dwayne,
    )
    start = label(brakes.start.astimezone(shop_tz()))
    assert agent_lines(transcript)[2] == (
        f"I see your brake pad replacement on {start} at 8:00 AM. What day would you like to move it to?"
    )


@pytest.mark.parametrize(
    "line",
    [
        "my brake appointment Thursday, make it 3",
        "My brake appointment on Thursday, could we make it later in the day? Like 3?",
    ],
)
async def test_my_appointment_make_it_3_moves_it_rather_than_booking(agent_ctx, maria, agent_now, line):
    appt = await in_db_thread(book, maria, "brake-inspection", agent_local(day(agent_now, 3), 9))
    _ctx, _transcript = await talk(agent_ctx, [line, "three's good", "yes"], customer=maria)
    await in_db_thread(appt.refresh_from_db)
    assert appt.start == agent_local(day(agent_now, 3), 15)
    assert len(await booked(maria)) == 1


async def test_move_that_right_after_booking_next_tuesday_same_time(agent_ctx, maria, agent_now):
    _ctx, _transcript = await talk(
        agent_ctx,
        [
            "Can I get an oil change on Thursday at ten?",
            "yes",
            "oh shoot, actually, can we move that to next Tuesday instead? Same time.",
            "yes",
        ],
        customer=maria,
    )
    [(start, _codes, _car)] = await booked(maria)
    assert start == agent_local(day(agent_now, 8), 10)


# --- which car, and who is calling --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "model"),
    [
        ("Hey, the Tacoma's due for an oil change. Anything Wednesday?", "Tacoma"),
        ("the old one needs an oil change on Wednesday", "Tacoma"),
        ("my newer car needs an oil change on Wednesday", "Grand Cherokee"),
    ],
)
async def test_one_of_two_cars_named_up_front(agent_ctx, dwayne, line, model):
    _ctx, _transcript = await talk(agent_ctx, [line, "the first one", "yes"], caller=DWAYNE_PHONE, customer=dwayne)
    [(_start, _codes, car)] = await booked(dwayne)
    assert car.endswith(model)


async def test_a_car_given_when_asked_the_name_is_kept(agent_ctx, demo_shop, agent_now):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "Hi, I want to book a tire rotation for Friday",
            "It's a 2017 Hyundai Sonata",
            "oh sorry, you wanted my name. Jordan Reyes.",
            "the first one",
            "yes",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[2] == "Okay, a 2017 Hyundai Sonata. What's your first and last name?"
    jordan = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    assert jordan.full_name == "Jordan Reyes"
    [(start, _codes, car)] = await booked(jordan)
    assert car == "Hyundai Sonata" and start.date() == day(agent_now, 4)


async def test_yes_its_that_model_after_a_vin_read_back(agent_ctx, demo_shop):
    from crm.vin import compute_check_digit

    vin = OUTBACK_VIN[:8] + compute_check_digit(OUTBACK_VIN) + OUTBACK_VIN[9:]
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "I need to book my car in for a check engine light",
            "Alicia Brandt",
            f"the VIN is {vin}",
            "yep, it's an Outback",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert lines[3] == "That VIN is for a 2018 Subaru Outback. Is that your car?"
    assert lines[4].startswith("Thanks, Alicia, you're all set up.")
    alicia = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    assert await in_db_thread(lambda: alicia.vehicles.get().vin) == vin


async def test_a_known_customer_on_another_phone_is_found_not_registered_again(agent_ctx, dwayne, agent_now):
    ctx, transcript = await talk(
        agent_ctx,
        [
            "Hi, I've been in before, but I'm calling from my work phone. I need to get the Jeep in for an oil change.",
            "Dwayne Pritchard",
            "60640",
            "Thursday at three",
            "yes",
        ],
        caller=WORK_PHONE,
    )
    lines = agent_lines(transcript)
    assert "let me find your account" in lines[1] and "set you up" not in lines[1]
    assert lines[3].endswith(", Dwayne, I found your account. What day works best for you?")  # the Jeep he named
    # was the extra fact
    assert ctx.customer_id == dwayne.pk
    assert not await in_db_thread(Customer.objects.filter(phone=WORK_PHONE).exists)
    [(start, _codes, car)] = await booked(dwayne)
    assert car == "Jeep Grand Cherokee" and start == agent_local(day(agent_now, 3), 15)


async def test_never_been_there_before_is_a_new_customer_with_a_short_year(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx,
        [
            "yeah hello, um, I've never been there before, I've got an '09 Ford Escape and the brakes feel kinda mushy",
            "it's Priscilla Nunez",
        ],
        caller=NEW_CALLER_PHONE,
    )
    lines = agent_lines(transcript)
    assert "set you up" in lines[1] and "find your account" not in lines[1]
    priscilla = await in_db_thread(Customer.objects.get, phone=NEW_CALLER_PHONE)
    car = await in_db_thread(priscilla.vehicles.get)
    assert (car.year, car.make, car.model) == (2009, "Ford", "Escape")


async def test_a_make_named_unasked_that_fits_nobody_is_no_failed_answer(agent_ctx, dwayne):
    _ctx, transcript = await talk(
        agent_ctx,
        ["I'm calling from my work phone, I need to get the Honda in for an oil change", "Dwayne Pritchard", "60640"],
        caller=WORK_PHONE,
    )
    assert agent_lines(transcript)[-1] == "Got it. And what make is the car on your account?"
