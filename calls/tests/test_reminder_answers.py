"""What customers really answer to the shop's reminder call (issues 6 and 9): a cancel then "rebook", a yes with
a request, a time they misremember, "hold on", do-not-call, and the reminder ledger's record of it all."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.tests.conftest import agent_local
from calls.tests.conversation import run_conversation
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db(transaction=True)


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def reload(appointment):
    await in_db_thread(appointment.refresh_from_db)
    return appointment


def _second_appointment(customer, shop, now):
    """Maria's brake service the Friday after, already confirmed: a reminder about the oil change never touches it."""
    start = now.replace(hour=15) + timedelta(days=4)
    appt = Appointment.objects.create(
        customer=customer,
        vehicle=customer.vehicles.first(),
        start=start,
        end=start + timedelta(minutes=90),
        status=Appointment.Status.CONFIRMED,
    )
    appt.service_types.set([shop.brakes])
    return appt


async def test_rebooking_after_a_cancel_books_the_cancelled_service_not_moving_another(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    other = await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    other_start = other.start
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["cancel", "yes", "actually can I rebook for next Monday?", "morning", "9", "yes", "no"],
    )
    assert (await reload(agent_appointment)).status == "cancelled"
    assert (await reload(other)).start == other_start, agent_lines(transcript)
    monday = (agent_now + timedelta(days=7)).date()
    new = await in_db_thread(lambda: Appointment.objects.filter(start=agent_local(monday, 9)).first())
    assert new is not None, agent_lines(transcript)
    codes = await in_db_thread(lambda: [s.code for s in new.service_types.all()])
    assert codes == ["oil-change"] and new.vehicle_id == agent_appointment.vehicle_id


async def test_a_yes_with_another_time_reads_back_the_move_to_that_time(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yeah that's fine but can it be 11 instead of 10?", "yes", "no"]
    )
    lines = agent_lines(transcript)
    assert "Is that right?" in lines[1] and "11:00 AM" in lines[1], lines
    wednesday = (agent_now + timedelta(days=2)).date()
    assert (await reload(agent_appointment)).start == agent_local(wednesday, 11)


@pytest.mark.parametrize(
    "lines",
    [
        ["yup, 10:30 right?", "yes", "no"],
        ["yeah, is it still at 11?", "yes", "no"],
        ["oh I thought it was at 11", "ok fine, 10 it is, I'll be there", "no"],
    ],
)
async def test_a_misremembered_time_is_corrected_not_moved(agent_ctx, agent_customer, agent_appointment, lines):
    start = agent_appointment.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, lines)
    said = agent_lines(transcript)
    assert said[1].startswith("It's at 10:00 AM") and "still work" in said[1], said
    appt = await reload(agent_appointment)
    assert appt.start == start and appt.status == "confirmed", said


@pytest.mark.parametrize(
    "line, confirmed",
    [
        ("stop calling me, take me off your list", False),
        ("put me on your do not call list", False),
        ("yes I'll be there. but please don't call this number anymore", True),
    ],
)
async def test_do_not_call_is_recorded_and_a_yes_still_confirms(
    agent_ctx, agent_customer, agent_appointment, line, confirmed
):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "no"])
    await in_db_thread(agent_customer.refresh_from_db)
    assert agent_customer.do_not_call, agent_lines(transcript)
    assert "off our call list" in agent_lines(transcript)[1]
    assert ((await reload(agent_appointment)).status == "confirmed") is confirmed


async def test_a_yes_with_an_added_service_reads_it_back_then_adds_it(
    agent_ctx, agent_customer, agent_appointment, agent_shop
):
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yeah, and can you also do a tire rotation while it's there?", "yes", "no"],
    )
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert appt.status == "confirmed" and codes == ["oil-change", "tire-rotation"], agent_lines(transcript)
    assert appt.end > appt.start + timedelta(minutes=30)  # the visit is longer now
    assert "add tire rotation" in agent_lines(transcript)[1]  # asked before it was added
    assert "added tire rotation" in agent_lines(transcript)[2]


@pytest.mark.parametrize(
    "line",
    [
        "yeah I'll be there. I don't need a tire rotation though, just the oil change",
        "yes. you did my brakes last time by the way, they're great now",
        "yeah, and can you also do a tire rotation while it's there?",  # then "no" to the read-back
    ],
)
async def test_a_service_only_mentioned_or_refused_is_never_added(agent_ctx, agent_customer, agent_appointment, line):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "no", "no"])
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert appt.status == "confirmed" and codes == ["oil-change"], agent_lines(transcript)


async def test_cancelling_another_appointment_on_the_reminder_call_leaves_the_reminded_one(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    other = await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes, and cancel my brake job on Friday please", "yes", "no"]
    )
    assert (await reload(agent_appointment)).status == "confirmed", agent_lines(transcript)
    assert (await reload(other)).status == "cancelled", agent_lines(transcript)


async def test_moving_another_appointment_on_the_reminder_call_moves_that_one(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    other = await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    start = agent_appointment.start
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yes. and the brake job on Friday, can you move that one to 11?", "yes", "no"],
    )
    assert (await reload(agent_appointment)).start == start, transcript
    friday = (agent_now + timedelta(days=4)).date()
    assert (await reload(other)).start == agent_local(friday, 11), transcript


async def test_asking_about_another_appointment_says_when_it_is_and_adds_nothing(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes. is my brake job on Friday still at 3?", "no"]
    )
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert appt.status == "confirmed" and codes == ["oil-change"], agent_lines(transcript)
    assert "3:00 PM" in " ".join(agent_lines(transcript)), agent_lines(transcript)


async def test_a_yes_with_a_loaner_question_confirms_and_answers_from_the_profile(
    agent_ctx, agent_customer, agent_appointment
):
    from scheduling.models import ShopProfile

    await in_db_thread(ShopProfile.objects.create, loaner_cars=True)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["yes, but can I get a loaner car?", "no"]
    )
    assert (await reload(agent_appointment)).status == "confirmed"
    assert "loaner" in agent_lines(transcript)[1].lower()


@pytest.mark.parametrize(
    "line",
    [
        "sure thing",
        "yeah we're good",
        "we'll be there",
        "Yeah I should be able to",
        "mm-hmm",
        "I think so",
        "no, I mean yes, sorry",
        "Oh right, yes, I'll drop it off in the morning",
        "I might be 15 minutes late, is that ok?",
    ],
)
async def test_the_ways_of_saying_yes(agent_ctx, agent_customer, agent_appointment, line):
    start = agent_appointment.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "no"])
    appt = await reload(agent_appointment)
    assert appt.status == "confirmed" and appt.start == start, agent_lines(transcript)


async def test_hold_on_waits_instead_of_hanging_up(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["let me check my calendar", "yes that works", "no"]
    )
    lines = agent_lines(transcript)
    assert lines[1] == "Sure, take your time."
    assert (await reload(agent_appointment)).status == "confirmed"


async def test_call_me_back_tomorrow_notes_a_call_back_and_leaves_the_appointment(
    agent_ctx, agent_customer, agent_appointment
):
    from calls.models import Call

    start = agent_appointment.start
    ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["I'm driving right now, can you call me back tomorrow?"]
    )
    assert "call you back tomorrow" in agent_lines(transcript)[1]
    call = await in_db_thread(Call.objects.get, pk=ctx.call_id)
    assert call.callback_requested
    appt = await reload(agent_appointment)
    assert appt.start == start and appt.status == "scheduled"


@pytest.mark.parametrize(
    "lines",
    [
        ["yes", "I need to cancel", "yes", "no"],
        ["yes", "actually can we just move it instead?", "thursday", "the first one", "yes", "no"],
    ],
)
async def test_cancel_or_move_later_in_the_call_means_the_reminded_one(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now, lines
):
    other = await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    other_start = other.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, lines)
    assert not any("Which one" in line for line in agent_lines(transcript)), agent_lines(transcript)
    appt = await reload(agent_appointment)
    assert appt.status == "cancelled" or appt.start != other_start
    other = await reload(other)
    assert other.start == other_start and other.status == "confirmed"


async def test_taken_elsewhere_offers_to_cancel(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["my husband already took it to another shop", "yes", "no"]
    )
    assert "cancel" in agent_lines(transcript)[1]
    assert (await reload(agent_appointment)).status == "cancelled"


@pytest.mark.parametrize(
    "line, heard",
    [
        ("what?", "calling about your oil change appointment"),
        ("what's it for again?", "oil change appointment"),
        ("which car?", "2018 Honda Civic"),
        ("how long will it take?", "takes about 30 minutes"),
        ("how much is it gonna cost?", "$49.99"),
        ("is this a real person?", "automated assistant"),
    ],
)
async def test_questions_are_about_the_reminded_appointment(agent_ctx, agent_customer, agent_appointment, line, heard):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    lines = agent_lines(transcript)
    assert heard in lines[1] and lines[1].endswith("Can you still make it?"), lines


async def test_thanks_for_calling_gets_thanks_and_goodbye(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["thanks for calling"])
    assert agent_lines(transcript)[1] == "Thanks, Maria. Have a great day. Goodbye!"


@pytest.mark.parametrize(
    "line",
    [
        "Hi, I got a call about my appointment",
        "Someone called about my appointment. I want to confirm it",
        "I missed a call from you guys about my car",
        "I want to confirm my appointment",
    ],
)
async def test_calling_back_after_a_reminder_confirms(agent_ctx, agent_customer, agent_appointment, line):
    ctx = await in_db_thread(agent_ctx, agent_customer.phone, agent_customer)
    transcript = await run_conversation(ctx, RuleBrain(), [line, "yes", "no"])
    lines = agent_lines(transcript)
    assert "oil change appointment" in lines[1] and lines[1].endswith("Can you still make it?"), lines
    assert (await reload(agent_appointment)).status == "confirmed"


# --- the reminder ledger: what the call really ended with ---------------------------------------------------------


def test_ledger_a_give_up_with_no_advisor_free_is_a_promised_call_back(tmp_path, reminder_shop):
    from calls.tests.conftest import simulate_reminder
    from scheduling.models import ReminderAttempt

    out, _err, ok = simulate_reminder(tmp_path, reminder_shop, ["blorf", "zarp quux", "mmrgh"])
    assert ok and "call you back" in out, out
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "callback", reminder.result
    assert "could not understand" in reminder.result and "call-back promised" in reminder.result
    assert "asked for an advisor" not in reminder.result


def test_ledger_call_me_back_is_a_call_back(tmp_path, reminder_shop):
    from calls.tests.conftest import simulate_reminder
    from scheduling.models import ReminderAttempt

    _out, _err, ok = simulate_reminder(tmp_path, reminder_shop, ["I'm at work, call me back later"])
    assert ok
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.outcome, reminder.result) == ("callback", "The customer asked to be called back later.")


def test_ledger_a_cancel_after_the_reminder_no_longer_reads_confirmed(tmp_path, reminder_shop):
    from calls.tests.conftest import simulate_reminder
    from scheduling import services
    from scheduling.models import ReminderAttempt

    simulate_reminder(tmp_path, reminder_shop, ["yes", "no"])
    assert ReminderAttempt.objects.get(appointment=reminder_shop).outcome == "confirmed"
    services.cancel_appointment(appointment=reminder_shop, reason="customer called: car sold")
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "cancelled"
    assert reminder.result == "Cancelled after the reminder call (confirmed): customer called: car sold."


def test_do_not_call_set_on_the_call_stops_the_next_reminder(tmp_path, reminder_shop):
    from calls.tests.conftest import simulate_reminder
    from crm.models import Customer

    _out, _err, ok = simulate_reminder(tmp_path, reminder_shop, ["take me off your list", "no"])
    assert ok and Customer.objects.get(pk=reminder_shop.customer_id).do_not_call
    later = Appointment.objects.create(
        customer=reminder_shop.customer,
        vehicle=reminder_shop.vehicle,
        start=reminder_shop.start + timedelta(days=1),
        end=reminder_shop.end + timedelta(days=1),
    )
    _out, err, ok = simulate_reminder(tmp_path, later, ["yes"])
    assert not ok and "the customer is on do-not-call" in err, err


async def test_cant_make_it_but_another_day_is_a_move_not_a_cancel(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["nope can't make it wednesday, can we do friday?", "the first one", "yes", "no"],
    )
    appt = await reload(agent_appointment)
    friday = (agent_now + timedelta(days=4)).date()
    assert appt.status != "cancelled" and appt.start.astimezone(agent_now.tzinfo).date() == friday, agent_lines(
        transcript
    )


async def test_is_it_at_another_hour_is_a_question_not_a_move(agent_ctx, agent_customer, agent_appointment):
    start = agent_appointment.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["Is it at 11 o'clock?"])
    assert agent_lines(transcript)[1].startswith("It's at 10:00 AM")
    assert (await reload(agent_appointment)).start == start


async def test_what_day_is_it_again_names_the_reminded_day_only(
    agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now
):
    await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["wait, what day is it again?"])
    line = agent_lines(transcript)[1]
    assert line.startswith("It's on Wednesday") and "brake" not in line.lower(), line


def test_ledger_a_cancel_then_rebook_says_both(tmp_path, reminder_shop):
    from calls.tests.conftest import simulate_reminder
    from scheduling.models import ReminderAttempt

    out, _err, ok = simulate_reminder(
        tmp_path, reminder_shop, ["cancel", "yes", "can I rebook for the day after tomorrow at 11?", "yes", "no"]
    )
    assert ok, out
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "cancelled" and " Booked again for " in reminder.result, (reminder.result, out)


def _with_loaner(appointment):
    Appointment.objects.filter(pk=appointment.pk).update(transport="loaner")


async def test_cant_make_it_can_we_reschedule_offers_times_and_keeps_the_loaner(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    await in_db_thread(_with_loaner, agent_appointment)
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["I can't make it Wednesday, can we reschedule?", "Thursday morning", "the first one", "yes", "no"],
    )
    assert "cancel" not in agent_lines(transcript)[1], agent_lines(transcript)
    appt = await reload(agent_appointment)
    thursday = (agent_now + timedelta(days=3)).date()
    assert appt.status != "cancelled" and appt.start.astimezone(agent_now.tzinfo).date() == thursday, transcript
    assert appt.transport == "loaner"


async def test_a_cancel_taken_back_for_a_move_moves_it(agent_ctx, agent_customer, agent_appointment, agent_now):
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["cancel it. wait no, move it to Friday instead", "the first one", "yes", "no"],
    )
    appt = await reload(agent_appointment)
    friday = (agent_now + timedelta(days=4)).date()
    assert appt.status != "cancelled" and appt.start.astimezone(agent_now.tzinfo).date() == friday, transcript


async def test_cancel_it_ill_call_back_to_reschedule_cancels(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["Cancel it, I'll call back to reschedule when I know my schedule", "yes", "no"],
    )
    assert agent_lines(transcript)[1].startswith("Just to be sure"), agent_lines(transcript)
    assert (await reload(agent_appointment)).status == "cancelled"
    assert not any("called back" in part for part in ctx.summary_parts), ctx.summary_parts  # they call us


async def test_rebooking_after_a_cancel_keeps_the_loaner(agent_ctx, agent_customer, agent_appointment, agent_now):
    await in_db_thread(_with_loaner, agent_appointment)
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["cancel", "yes", "actually can I rebook for next Monday?", "morning", "9", "yes", "no"],
    )
    monday = (agent_now + timedelta(days=7)).date()
    new = await in_db_thread(lambda: Appointment.objects.filter(start=agent_local(monday, 9)).first())
    assert new is not None and new.transport == "loaner", transcript


async def test_another_service_in_place_of_the_booked_one_is_swapped_at_the_same_time(
    agent_ctx, agent_customer, agent_appointment
):
    start = agent_appointment.start
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["can you do a tire rotation instead of the oil change?", "yes", "yes", "no"],
    )
    appt = await reload(agent_appointment)
    codes = await in_db_thread(lambda: sorted(s.code for s in appt.service_types.all()))
    assert codes == ["tire-rotation"] and appt.start == start, transcript


def _second_car(customer):
    from crm.models import Vehicle

    return Vehicle.objects.create(customer=customer, year=2019, make="Toyota", model="Camry")


async def test_the_other_car_said_to_need_it_is_put_on_the_visit_not_confirmed_as_booked(
    agent_ctx, agent_customer, agent_appointment
):
    camry = await in_db_thread(_second_car, agent_customer)
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yes, but it's actually the Camry that needs it, not the Civic", "yes", "no"],
    )
    assert "Civic" in agent_lines(transcript)[1] and "confirmed" not in agent_lines(transcript)[1], transcript
    appt = await reload(agent_appointment)
    assert appt.vehicle_id == camry.pk and appt.status == "confirmed", transcript


async def test_a_second_car_named_too_never_replaces_the_visits_car(agent_ctx, agent_customer, agent_appointment):
    await in_db_thread(_second_car, agent_customer)
    civic = agent_appointment.vehicle_id
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yes, and can you do an oil change on my other car too, the Camry?", "yes", "no"],
    )
    assert (await reload(agent_appointment)).vehicle_id == civic, transcript
