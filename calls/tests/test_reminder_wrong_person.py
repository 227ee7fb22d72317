"""A reminder call that reaches the wrong person (issue 9): "you've got the wrong number", "there's no Dana here".

The agent apologises and hangs up without a word about the appointment; the Call and the reminder's ledger say
wrong_person; the number is flagged on the customer for staff, and no reminder rings it again until they correct it.
Someone busy ("this isn't a good time", "I'm driving") is no wrong person: they get a call-back."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.agent.tools import run_tool
from calls.models import Call
from calls.tests import call_log_fixtures
from calls.tests.conftest import simulate_reminder
from calls.tests.conversation import ended, run_conversation
from scheduling import reminders
from scheduling.models import Appointment, ReminderAttempt

people = call_log_fixtures.people


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


# --- the conversation ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "line",
    [
        "I think you dialed the wrong number",
        "there's no Maria here",
        "sorry, nobody by that name lives here",
        "who's Maria? I don't know any Maria",
        "you've got the wrong person, this isn't her number",
    ],
)
async def test_a_wrong_number_gets_an_apology_a_goodbye_and_a_flag(agent_ctx, agent_customer, agent_appointment, line):
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    reply = agent_lines(transcript)[1]
    assert reply.startswith("Sorry to bother you.") and ended(transcript), reply
    assert "oil change" not in reply and "Wednesday" not in reply and "Maria" not in reply, reply
    assert ctx.outcome == "wrong_person"
    await in_db_thread(agent_customer.refresh_from_db)
    assert agent_customer.wrong_number == agent_customer.phone and agent_customer.wrong_number_reported_at
    assert "said it is not this customer's number" in agent_customer.notes
    assert not agent_customer.do_not_call  # the customer never asked not to be called
    await in_db_thread(agent_appointment.refresh_from_db)
    assert agent_appointment.status == "scheduled"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "line, heard",
    [
        ("this isn't a good time", "Goodbye!"),
        ("sorry I'm driving right now", "Drive safe, goodbye!"),
        ("this is not a great time, I'm in a meeting", "Goodbye!"),
    ],
)
async def test_busy_is_a_call_back_not_a_wrong_person(agent_ctx, agent_customer, agent_appointment, line, heard):
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line])
    reply = agent_lines(transcript)[1]
    assert reply.startswith("No problem, I won't keep you. We'll call you back later") and reply.endswith(heard)
    assert ended(transcript) and ctx.outcome != "wrong_person"
    call = await in_db_thread(Call.objects.get, pk=ctx.call_id)
    assert call.callback_requested
    await in_db_thread(agent_customer.refresh_from_db)
    assert not agent_customer.wrong_number


@pytest.mark.django_db(transaction=True)
async def test_someone_of_the_customers_is_no_wrong_number(agent_ctx, agent_customer, agent_appointment):
    ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["this isn't Maria, it's her daughter. can I take a message?"]
    )
    assert "let Maria know" in agent_lines(transcript)[1]
    await in_db_thread(agent_customer.refresh_from_db)
    assert not agent_customer.wrong_number and ctx.outcome != "wrong_person"


@pytest.mark.django_db
def test_only_a_call_the_shop_placed_can_report_a_wrong_number(agent_ctx, agent_customer):
    inbound = agent_ctx(agent_customer.phone, agent_customer)
    res = run_tool(inbound, "report_wrong_number", {})
    assert not res.ok and "call the shop placed" in res.error
    agent_customer.refresh_from_db()
    assert not agent_customer.wrong_number and inbound.outcome != "wrong_person"


# --- the ledger, the flag and the dashboard ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_ledger_records_wrong_person_and_the_number_is_not_called_again(tmp_path, reminder_shop, settings):
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["uh, there's nobody named Dana at this number"])
    assert ok and "outcome=wrong_person" in out + err, out + err
    call = Call.objects.get(appointment=reminder_shop, direction="outbound")
    assert call.outcome == Call.Outcome.WRONG_PERSON
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome) == ("done", "wrong_person") and "Wrong number" in reminder.result
    dana = reminder_shop.customer
    dana.refresh_from_db()
    assert dana.number_reported_wrong

    # Not that appointment again, nor another one of Dana's, while the number on file is the one reported.
    with pytest.raises(ValueError, match="reported as not the customer's"):
        reminders.send_now(appointment=reminder_shop, anytime=True)
    later = reminder_shop.start + timedelta(hours=3)
    other = Appointment.objects.create(customer=dana, start=later, end=later + timedelta(minutes=30))
    assert "reported as not the customer's" in reminders.reason_not_to_call(other, now=timezone.now())
    settings.REMINDER_CALL_WINDOW = "00:00-23:59"
    reminders.create_due_reminders(now=later - timedelta(hours=20))
    skipped = ReminderAttempt.objects.get(appointment=other)
    assert skipped.status == "skipped" and "reported as not the customer's" in skipped.result

    # Staff correct the number: reminders go to the new one.
    dana.phone = "+13125550999"
    dana.save()
    assert reminders.reason_not_to_call(other, now=timezone.now()) == ""


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_and_the_call_log_show_wrong_person(tmp_path, reminder_shop, client, people):
    assert simulate_reminder(tmp_path, reminder_shop, ["you have the wrong number"])[2]
    client.force_login(people["manager"])
    start = timezone.localdate()
    end = reminder_shop.start.date() + timedelta(days=1)
    html = client.get(reverse("calls:dashboard"), {"date_from": start, "date_to": end}).content.decode()
    row = '<tr data-result="wrong_person"><th scope="row">Wrong person (number flagged)</th><td class="num">1</td>'
    assert row in html
    log = client.get(reverse("calls:log"), {"outcome": "wrong_person"}).content.decode()
    assert "Wrong person" in log and reminder_shop.customer.last_name in log


@pytest.mark.django_db
def test_an_advisor_sees_and_finds_the_flagged_number_in_the_admin(client, people, agent_customer):
    from crm.services import flag_wrong_number

    assert flag_wrong_number(agent_customer, number=agent_customer.phone, now=timezone.now())
    client.force_login(people["advisor"])
    listing = client.get(reverse("admin:crm_customer_changelist"), {"number_reported_wrong": "yes"}).content.decode()
    assert "Garcia" in listing and "Number reported wrong" in listing
    page = client.get(reverse("admin:crm_customer_change", args=[agent_customer.pk])).content.decode()
    assert "said it is not this customer" in page and "number reported wrong" in page.lower()
