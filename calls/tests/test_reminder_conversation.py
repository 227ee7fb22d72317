"""The reminder call as the customer hears it: the rule policy's reminder flow (wording and effects), and the
whole path through `simulate_call --reminder` (ledger, call, texts) for confirm, move, cancel, voicemail and
no answer -> retry -> text."""

from datetime import timedelta

import pytest
from django.conf import settings

from bartsvoice.db import in_db_thread
from calls.agent.phrases import slot_label
from calls.agent.policy import RuleBrain
from calls.models import Call, TextMessage
from calls.tests.conftest import agent_local, simulate_reminder
from calls.tests.conversation import ended, run_conversation
from crm.models import Customer
from scheduling.models import Appointment, ReminderAttempt, ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)
SHOP = settings.SHOP_NAME


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def reload(appointment):
    await in_db_thread(appointment.refresh_from_db)
    return appointment


# --- the flow, with a fixed clock (Maria's oil change is on Wednesday at 10:00, "now" is Monday 9:00) ---------


async def test_opening_line_names_service_day_time_and_car(agent_ctx, agent_customer, agent_appointment, agent_now):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["yep I'll be there", "no thanks"])
    label = slot_label(agent_appointment.start.astimezone(agent_now.tzinfo))
    lines = agent_lines(transcript)
    assert lines[0] == (
        f"Hi Maria, this is {SHOP} calling about your oil change appointment on {label} for your "
        "2018 Honda Civic. Can you still make it?"
    )
    assert lines[1] == f"Great, you're confirmed. See you on {label}! Is there anything else I can help you with?"
    assert lines[2] == "Thanks, Maria. Have a great day. Goodbye!"  # the shop called: no "thanks for calling"
    assert (await reload(agent_appointment)).status == "confirmed" and ended(transcript)


async def test_tomorrow_is_said_as_tomorrow(agent_ctx, agent_customer, agent_shop, agent_now):
    start = agent_now + timedelta(days=1, hours=1)
    appt = await in_db_thread(
        Appointment.objects.create, customer=agent_customer, start=start, end=start + timedelta(minutes=30)
    )
    await in_db_thread(appt.service_types.set, [agent_shop.oil])
    _ctx, transcript = await remind(agent_ctx, agent_customer, appt, [])
    assert agent_lines(transcript)[0] == (
        f"Hi Maria, this is {SHOP} calling about your oil change appointment "
        "tomorrow at 10:00 AM. Can you still make it?"
    )


async def test_a_fleet_customer_is_reminded_of_the_right_one_of_many(agent_ctx, agent_customer, agent_shop, agent_now):
    """Twelve bookings ahead, the reminder about the last one: both brains' lookup of the reminded appointment finds
    it (scheduling.selectors.reminded_appointment), not only the first ten that the appointment list shows."""

    def book_twelve():
        made = []
        for n in range(12):
            start = agent_now.replace(hour=8) + timedelta(days=1 + n)
            made.append(
                Appointment.objects.create(customer=agent_customer, start=start, end=start + timedelta(hours=1))
            )
            made[-1].service_types.set([agent_shop.brakes if n == 11 else agent_shop.oil])
        return made

    last = (await in_db_thread(book_twelve))[-1]
    ctx, transcript = await remind(agent_ctx, agent_customer, last, [])
    label = slot_label(last.start.astimezone(agent_now.tzinfo))
    assert agent_lines(transcript)[0].startswith(
        f"Hi Maria, this is {SHOP} calling about your brake service appointment on {label}"
    )
    from calls.agent.reminder_script import reminder_appointment

    assert (await in_db_thread(reminder_appointment, ctx))["id"] == last.pk  # the language model's brief


async def test_another_day_instead(agent_ctx, agent_customer, agent_appointment, agent_now):
    ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["can we do Thursday instead", "the first one", "yes", "that's all"],
    )
    lines = agent_lines(transcript)
    thursday = (agent_now + timedelta(days=3)).date()
    assert lines[1].startswith(f"I have Thursday, {thursday:%B} {thursday.day} at 7:00 AM")
    appt = await reload(agent_appointment)
    assert appt.start == agent_local(thursday, 7) and ctx.outcome == "rescheduled"


async def test_same_day_another_time(agent_ctx, agent_customer, agent_appointment, agent_now):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["could I come at 2 instead", "yes", "no"]
    )
    wednesday = (agent_now + timedelta(days=2)).date()
    assert f"to {slot_label(agent_local(wednesday, 14))}. Is that right?" in agent_lines(transcript)[1]
    assert (await reload(agent_appointment)).start == agent_local(wednesday, 14)


async def test_a_bit_later_or_the_day_after(agent_ctx, agent_customer, agent_appointment, agent_now):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["can I come a bit later"])
    wednesday = (agent_now + timedelta(days=2)).date()
    assert agent_lines(transcript)[1].startswith(f"I have Wednesday, {wednesday:%B} {wednesday.day} at 10:30 AM")
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["how about the day after"])
    assert agent_lines(transcript)[1].startswith("I have Thursday, ")


async def test_yes_with_the_appointments_own_time_is_a_yes(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["yes, Wednesday at 10 works"])
    assert agent_lines(transcript)[1].startswith("Great, you're confirmed")


async def test_cancel_keeps_the_customers_words_and_offers_another_time(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["actually cancel it, I sold the car", "yes", "no thanks"]
    )
    lines = agent_lines(transcript)
    assert lines[1].startswith("Just to be sure: you'd like to cancel your oil change appointment on ")
    assert lines[2] == "Done, it's cancelled. Would you like to book another time instead?"
    appt = await reload(agent_appointment)
    assert appt.status == "cancelled" and appt.cancel_reason == "“actually cancel it, I sold the car” (reminder call)"
    assert ctx.outcome == "cancelled" and ended(transcript)


async def test_cancel_then_no_keeps_it(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["cancel it", "no wait", "yes"])
    assert agent_lines(transcript)[2].startswith("Okay, I'll keep it. So we'll see you on ")
    assert (await reload(agent_appointment)).status == "confirmed"


async def test_who_is_this(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["who is this?", "oh ok, sure"])
    lines = agent_lines(transcript)
    assert lines[1].startswith(f"This is the automated assistant at {SHOP}, calling about your oil change")
    assert lines[1].endswith("Can you still make it?")
    assert lines[2].startswith("Great, you're confirmed")


async def test_unsure_gets_the_choices(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["hmm I'm not sure", "keep it"])
    lines = agent_lines(transcript)
    assert lines[1] == "No problem. Would you like to move it to another day, or cancel it?"
    assert lines[2].startswith("Great, you're confirmed")


@pytest.mark.parametrize("said", ["sorry, wrong number", "she's not home right now"])
async def test_the_wrong_person_hears_no_more_and_the_call_ends(agent_ctx, agent_customer, agent_appointment, said):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [said])
    line = agent_lines(transcript)[1]
    assert line.startswith("Sorry to bother you.") and "oil change" not in line and ended(transcript)
    assert ("Maria" in line) == ("wrong number" not in said)
    assert (await reload(agent_appointment)).status == "scheduled"


async def test_a_bad_time_ends_politely(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["I'm driving, can't talk"])
    line = agent_lines(transcript)[1]
    assert line.startswith("No problem, I won't keep you. We'll call you back later; your appointment stays on ")
    assert line.endswith("Drive safe, goodbye!") and ended(transcript)


async def test_an_appointment_that_changed_before_the_answer(agent_ctx, agent_customer, agent_appointment):
    await in_db_thread(Appointment.objects.filter(pk=agent_appointment.pk).update, status="cancelled")
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [])
    assert agent_lines(transcript)[0] == (
        f"Hi Maria, this is {SHOP}. I was calling about your appointment, but I see "
        "it has already changed. Is there anything else I can help you with?"
    )


async def test_the_language_model_brief_of_a_reminder_call(agent_ctx, agent_customer, agent_appointment, agent_now):
    from calls.agent.reminder_script import openai_instructions, reminder_appointment

    ctx = await in_db_thread(
        agent_ctx, agent_customer.phone, agent_customer, direction="outbound", appointment=agent_appointment
    )
    appt = await in_db_thread(reminder_appointment, ctx)
    assert appt["id"] == agent_appointment.pk
    brief = openai_instructions(appt, first_name="Maria", shop=SHOP, now=agent_now)
    assert f"appointment id {agent_appointment.pk}" in brief and "confirm_appointment" in brief
    assert "Can you still make it?" in brief
    inbound = await in_db_thread(agent_ctx, agent_customer.phone, agent_customer)
    assert await in_db_thread(reminder_appointment, inbound) is None


async def test_the_language_model_prompt_of_a_reminder_call(agent_ctx, agent_customer, agent_appointment):
    from calls.agent.prompt import build_system_prompt

    ctx = await in_db_thread(
        agent_ctx, agent_customer.phone, agent_customer, direction="outbound", appointment=agent_appointment
    )
    prompt = await in_db_thread(build_system_prompt, ctx)
    assert (
        f"This is an outbound reminder call: {SHOP} is calling Maria about appointment id {agent_appointment.pk}"
        in prompt
    )
    assert "Only this customer's account can be reached on this call" in prompt
    await in_db_thread(Appointment.objects.filter(pk=agent_appointment.pk).update, status="cancelled")
    changed = await in_db_thread(build_system_prompt, ctx)
    assert "which was cancelled, moved or is over since the call was placed" in changed
    assert "confirm_appointment" not in changed  # nothing left to confirm


# --- the whole path: simulate_call --reminder ------------------------------------------------------------------


def test_simulated_reminder_confirms(tmp_path, reminder_shop):
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["yep I'll be there", "no that's it"])
    assert ok and "AGENT: Can you still make it?" in out
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome, reminder.attempts) == ("done", "confirmed", 1)
    call = Call.objects.get(reminder=reminder)
    assert (call.direction, call.transport, call.outcome) == ("outbound", "simulator", "confirmed")
    assert "reminder #" in err and "(confirmed): Confirmed by the customer." in err
    # The ledger is the dialer's: the same reminder is not placed twice.
    _out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["yes"])
    assert not ok and "already reached the customer" in err


def test_simulated_reminder_moves_it_and_texts_the_new_time(tmp_path, reminder_shop):
    out, _err, ok = simulate_reminder(
        tmp_path, reminder_shop, ["can we do the day after instead", "the first one", "yes", "no"]
    )
    assert ok, out
    reminder_shop.refresh_from_db()
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "rescheduled" and reminder.result.startswith("Moved by the customer to ")
    [text] = TextMessage.objects.all()
    assert text.kind == "rescheduled" and text.status_label == "not sent: no SMS provider"
    assert "is now on" in text.body and "Toyota Camry" in text.body


def test_simulated_reminder_cancels(tmp_path, reminder_shop):
    _out, _err, ok = simulate_reminder(tmp_path, reminder_shop, ["actually cancel it", "yes", "no thanks"])
    assert ok
    assert ReminderAttempt.objects.get(appointment=reminder_shop).outcome == "cancelled"
    assert TextMessage.objects.get().kind == "cancelled"


def test_simulated_voicemail_then_text(tmp_path, reminder_shop):
    out, _err, ok = simulate_reminder(tmp_path, reminder_shop, answer="machine")
    assert ok and out.startswith("VOICEMAIL: Hello Dana, this is")
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome) == ("done", "voicemail")
    assert Call.objects.get(reminder=reminder).outcome == "voicemail"
    assert TextMessage.objects.get().kind == "reminder"


def test_the_voicemail_and_its_text_give_the_shops_own_number(tmp_path, reminder_shop, settings):
    """The number advisors keep in the shop's profile, read out as a person reads it; not the Twilio caller ID."""
    settings.TWILIO_PHONE_NUMBER = "+13125550100"
    ShopProfile.objects.create(phone="+13125550177")
    out, _err, ok = simulate_reminder(tmp_path, reminder_shop, answer="machine")
    assert ok and "If you need to change it, please call us at 3 1 2, 5 5 5, 0 1 7 7." in out, out
    assert "Questions or changes: call (312) 555-0177." in TextMessage.objects.get().body


def test_without_a_number_in_the_profile_the_voicemail_gives_the_twilio_number(tmp_path, reminder_shop, settings):
    settings.TWILIO_PHONE_NUMBER = "+13125550100"
    out, _err, ok = simulate_reminder(tmp_path, reminder_shop, answer="machine")
    assert ok and "please call us at 3 1 2, 5 5 5, 0 1 0 0." in out, out


def test_simulated_no_answer_is_retried_then_texted(tmp_path, reminder_shop, settings):
    settings.REMINDER_MAX_ATTEMPTS = 2
    simulate_reminder(tmp_path, reminder_shop, answer="none")
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.status == "pending" and reminder.attempts == 1 and not TextMessage.objects.exists()
    simulate_reminder(tmp_path, reminder_shop, answer="none")
    reminder.refresh_from_db()
    assert (reminder.status, reminder.outcome, reminder.attempts) == ("failed", "no_answer", 2)
    [text] = TextMessage.objects.all()
    assert text.kind == "reminder" and "a reminder of your oil change for your 2019 Toyota Camry" in text.body


def test_simulated_reminder_honours_do_not_call(tmp_path, reminder_shop):
    Customer.objects.filter(pk=reminder_shop.customer_id).update(do_not_call=True)
    _out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["yes"])
    assert not ok and "do-not-call" in err
    assert not Call.objects.exists()


def test_a_cancel_taken_back_on_the_reminder_call_is_no_cancel_in_the_ledger(tmp_path, reminder_shop):
    out, _err, ok = simulate_reminder(
        tmp_path, reminder_shop, ["I need to cancel it", "yes", "wait, don't cancel it, I'll be there", "no"]
    )
    assert ok and "kept" in out, out
    assert Appointment.objects.get(pk=reminder_shop.pk).status == "scheduled"
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome != "cancelled", reminder.result
