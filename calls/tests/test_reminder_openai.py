"""The reminder call with the language-model brain: `simulate_call --reminder` with VOICE_BRAIN=openai against the
local fake of OpenAI's chat completions endpoint. The scripted "model" reads the appointment id from the system
prompt (so the prompt's reminder brief is what it acts on) and works only through the tools; the reminder ledger
records what the call decided, exactly as with the rule policy."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from calls.agent.tools import SHOP_CALLED
from calls.models import Call, TextMessage, ToolCall
from calls.tests.conftest import simulate_reminder
from calls.tests.fake_openai import FakeOpenAI, Step, call, last_tool_result, say, tool_messages
from crm.models import Customer
from scheduling.models import Appointment, ReminderAttempt

pytestmark = pytest.mark.django_db(transaction=True)

OPENING = re.compile(
    r"Hi Dana, this is .+ calling about your oil change appointment tomorrow at 10:00 AM for your "
    r"2019 Toyota Camry\."
)
GOODBYE = Step(text="Thanks, Dana. Have a great day. Goodbye!", tool_calls=[("end_call", {"reason": "done"})])


def _reminded_id(request: dict) -> int:
    system = request["messages"][0]["content"]
    found = re.search(r"This is an outbound reminder call: .+? about appointment id (\d+)", system)
    assert found is not None, system  # the model acts on the prompt's reminder brief
    return int(found.group(1))


def _last(request: dict, role: str) -> str:
    return next(m["content"] or "" for m in reversed(request["messages"]) if m["role"] == role)


def reminder_model(request: dict) -> Step:
    """Confirms, moves to the day after (read back first) or cancels (read back first), from the conversation."""
    messages = request["messages"]
    appointment_id = _reminded_id(request)
    if messages[-1]["role"] == "tool":
        result = tool_messages(request)[-1]["content"]
        if "error" in result:
            return say(f"Sorry, {result['error']} Anything else?")
        if "appointments" in result:  # the customer asked for the day after: after what?
            start = datetime.fromisoformat(
                next(a for a in result["appointments"] if a["id"] == appointment_id)["start"]
            )
            return call(
                "get_available_slots",
                services=["oil-change"],
                date_from=(start + timedelta(days=1)).date().isoformat(),
                exclude_appointment_id=appointment_id,
            )
        if "slots" in result:
            return say(f"I have {result['slots'][0]['label']}. Shall I move it there?")
        appointment = result["appointment"]
        done = {"confirmed": "you're confirmed", "cancelled": "it's cancelled"}.get(
            appointment["status"], f"it's moved to {appointment['label']}"
        )
        return say(f"Done, {done}. Anything else?")
    said = messages[-1]["content"].lower()
    asked = _last(request, "assistant")
    if "cancel" in said:
        return say("Just to be sure: you'd like to cancel your oil change tomorrow?")
    if "day after" in said:
        return call("get_upcoming_appointments")
    if said.startswith("yes") and asked.startswith("Just to be sure"):
        reason = next(m["content"] for m in messages if m["role"] == "user" and "cancel" in m["content"].lower())
        return call("cancel_appointment", appointment_id=appointment_id, reason=reason)
    if said.startswith("yes") and asked.endswith("Shall I move it there?"):
        slot = last_tool_result(request, "get_available_slots")["slots"][0]
        return call("reschedule_appointment", appointment_id=appointment_id, new_start=slot["start"])
    if "be there" in said:
        return call("confirm_appointment", appointment_id=appointment_id)
    return GOODBYE


@pytest.fixture
def openai_brain(settings):
    """The cloud brain for every call of this test, served by the fake."""
    fake = FakeOpenAI(default=reminder_model)
    with fake.in_thread() as url:
        settings.VOICE_BRAIN = "openai"
        settings.OPENAI_API_KEY = fake.api_key
        settings.OPENAI_BASE_URL = url
        yield fake


def _agent_lines(out: str) -> list[str]:
    return [line.removeprefix("AGENT: ") for line in out.splitlines() if line.startswith("AGENT: ")]


def _no_fallback(reminder: ReminderAttempt) -> Call:
    call = Call.objects.get(reminder=reminder)
    assert "rule policy took over" not in call.summary, call.summary
    return call


def test_the_model_confirms_and_the_ledger_says_confirmed(tmp_path, reminder_shop, openai_brain):
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["yes I'll be there", "no that's all"])
    assert ok, (out, err)
    lines = _agent_lines(out)
    assert OPENING.match(lines[0]) and lines[1] == "Can you still make it?"
    assert " ".join(lines[2:]) == "Done, you're confirmed. Anything else? Thanks, Dana. Have a great day. Goodbye!"
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome, reminder.result) == ("done", "confirmed", "Confirmed by the customer.")
    assert _no_fallback(reminder).outcome == "confirmed"
    reminder_shop.refresh_from_db()
    assert reminder_shop.status == "confirmed"
    # What the model was told: the reminder brief, the opening it "said", the customer's answer.
    first = openai_brain.requests[0]["messages"]
    assert f"appointment id {reminder_shop.pk} (oil change appointment tomorrow at 10:00 AM)" in first[0]["content"]
    assert "Only this customer's account can be reached" in first[0]["content"]
    assert OPENING.match(first[1]["content"]) and first[1]["role"] == "assistant"
    assert first[2] == {"role": "user", "content": "yes I'll be there"}


def test_the_model_moves_it_to_the_day_after(tmp_path, reminder_shop, openai_brain):
    before = reminder_shop.start
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["can we do the day after instead", "yes", "no"])
    assert ok, (out, err)
    reminder_shop.refresh_from_db()
    assert reminder_shop.start.date() == before.date() + timedelta(days=1) and reminder_shop.status == "scheduled"
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome) == ("done", "rescheduled")
    assert reminder.result.startswith("Moved by the customer to ")
    assert _no_fallback(reminder).outcome == "rescheduled"
    assert TextMessage.objects.get().kind == "rescheduled"
    slots = ToolCall.objects.get(name="get_available_slots")
    assert slots.arguments["exclude_appointment_id"] == reminder_shop.pk


def test_the_model_cancels_with_the_customers_words(tmp_path, reminder_shop, openai_brain):
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["please cancel it, I sold the car", "yes", "no"])
    assert ok, (out, err)
    assert "Just to be sure: you'd like to cancel your oil change tomorrow?" in " ".join(_agent_lines(out))
    reminder_shop.refresh_from_db()
    assert reminder_shop.status == "cancelled" and reminder_shop.cancel_reason == "please cancel it, I sold the car"
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.outcome, reminder.result) == (
        "cancelled",
        "Cancelled by the customer: please cancel it, I sold the car.",
    )
    assert TextMessage.objects.get().kind == "cancelled"


def test_whoever_answers_reaches_the_reminded_customer_only(tmp_path, reminder_shop, openai_brain):
    """A model talked into it tries another customer's appointment and account: the tools refuse both."""
    luis = Customer.objects.create(first_name="Luis", last_name="Ortiz", phone="+13125550199", postal_code="60602")
    start = reminder_shop.start + timedelta(hours=2)
    theirs = Appointment.objects.create(customer=luis, start=start, end=start + timedelta(minutes=30))
    openai_brain.then(
        Step(
            tool_calls=[
                ("cancel_appointment", {"appointment_id": theirs.pk}),
                (
                    "lookup_customer",
                    {
                        "first_name": "Luis",
                        "last_name": "Ortiz",
                        "postal_code": "60602",
                        "appointment_date": start.date().isoformat(),
                    },
                ),
            ]
        ),
        say("Sorry, I can't do that on this call."),
    )
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["cancel Luis Ortiz's appointment, zip 60602", "bye"])
    assert ok, (out, err)
    refusals = dict(ToolCall.objects.filter(ok=False).values_list("name", "error"))
    assert refusals == {
        "cancel_appointment": "I can't find that appointment on your account.",
        "lookup_customer": SHOP_CALLED,
    }
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"
    call = Call.objects.get(reminder__appointment=reminder_shop)
    assert call.customer.first_name == "Dana"
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert (reminder.status, reminder.outcome) == ("done", "hung_up")


def test_when_the_model_fails_the_rule_policy_asks_the_reminder_question_again(tmp_path, reminder_shop, openai_brain):
    openai_brain.then(Step(status=500))
    out, err, ok = simulate_reminder(tmp_path, reminder_shop, ["hmm I'm not sure", "keep it", "no thanks"])
    assert ok, (out, err)
    assert "No problem. Would you like to move it to another day, or cancel it?" in " ".join(_agent_lines(out))
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "confirmed"
    assert "rule policy took over" in Call.objects.get(reminder=reminder).summary


def test_when_the_model_fails_after_offering_times_the_rule_policy_moves_the_reminded_appointment(
    tmp_path, reminder_shop, openai_brain
):
    """The openings the model offered carry over as a move of this appointment, not as a new booking."""
    openai_brain.then(reminder_model, reminder_model, reminder_model, Step(status=500))
    out, err, ok = simulate_reminder(
        tmp_path, reminder_shop, ["can we do the day after instead", "the first one", "yes", "no"]
    )
    assert ok, (out, err)
    assert Appointment.objects.count() == 1
    before = reminder_shop.start
    reminder_shop.refresh_from_db()
    assert reminder_shop.start.date() == before.date() + timedelta(days=1)
    reminder = ReminderAttempt.objects.get(appointment=reminder_shop)
    assert reminder.outcome == "rescheduled"
    assert "rule policy took over" in Call.objects.get(reminder=reminder).summary
