"""Changes to the work on the reminder call (issue 9): a service taken off the reminded visit, read back and made on
the call (the last one is a cancel, asked as one: never an empty appointment)."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.policy import RuleBrain
from calls.models import ToolCall
from calls.tests.conversation import run_conversation

pytestmark = pytest.mark.django_db(transaction=True)


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def add_services(appointment, *services):
    def add():
        appointment.service_types.add(*services)
        total = sum(s.duration_minutes for s in appointment.service_types.all())
        type(appointment).objects.filter(pk=appointment.pk).update(end=appointment.start + timedelta(minutes=total))

    await in_db_thread(add)


async def state(appointment):
    def read():
        appointment.refresh_from_db()
        return appointment.status, sorted(appointment.service_types.values_list("code", flat=True)), appointment.end

    return await in_db_thread(read)


# --- a service taken off ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "could we skip the tire rotation this time and only do the oil change?",
        "yeah, but we don't need the tire rotation anymore",
        "just the oil change please, take the tire rotation off",
        "no tire rotation this time, just the oil",
    ],
)
async def test_a_service_taken_off_is_read_back_then_removed_and_the_visit_confirmed(
    agent_ctx, agent_customer, agent_appointment, agent_shop, line
):
    await add_services(agent_appointment, agent_shop.rotation)
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "yes that's right", "no"])
    said = agent_lines(transcript)
    assert said[1].startswith("So on Wednesday, ") and said[1].endswith(
        " at 10:00 AM, just the oil change, without the tire rotation. Is that right?"
    ), said
    assert said[2].startswith("Done, that's just the oil change now. Great, you're confirmed."), said
    status, codes, end = await state(agent_appointment)
    assert (status, codes) == ("confirmed", ["oil-change"])
    assert end == agent_appointment.start + timedelta(minutes=30)  # the visit ends when the oil change is done
    names = await in_db_thread(lambda: list(ToolCall.objects.filter(call_id=ctx.call_id).values_list("name", "ok")))
    assert ("remove_services_from_appointment", True) in names and ("request_call_back", True) not in names


async def test_no_to_the_read_back_changes_nothing(agent_ctx, agent_customer, agent_appointment, agent_shop):
    await add_services(agent_appointment, agent_shop.brakes)
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["drop the brake service", "no, leave it", "yes", "no"]
    )
    said = agent_lines(transcript)
    assert said[2] == "Okay, I'll leave the visit as it is. Can you still make it?", said
    status, codes, _end = await state(agent_appointment)
    assert (status, codes) == ("confirmed", ["brakes", "oil-change"])


async def test_a_service_taken_off_after_the_yes(agent_ctx, agent_customer, agent_appointment, agent_shop):
    await add_services(agent_appointment, agent_shop.diagnostics)
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yes I'll be there", "oh actually, can you leave the diagnostics off?", "yes", "no"],
    )
    said = agent_lines(transcript)
    assert "just the oil change, without the diagnostics" in said[2], said
    assert said[3] == "Done, that's just the oil change now. Is there anything else I can help you with?", said
    half_an_hour = agent_appointment.start + timedelta(minutes=30)
    assert await state(agent_appointment) == ("confirmed", ["oil-change"], half_an_hour)


@pytest.mark.parametrize("answer, status", [("yes please", "cancelled"), ("no, keep it", "confirmed")])
async def test_taking_off_the_last_service_asks_whether_to_cancel(
    agent_ctx, agent_customer, agent_appointment, answer, status
):
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["I think we can skip the oil change", answer, "no"]
    )
    said = agent_lines(transcript)
    assert said[1] == "The oil change is all that's booked. Then should I cancel the appointment?", said
    assert await state(agent_appointment) == (status, ["oil-change"], agent_appointment.end)


async def test_a_service_that_is_not_on_it_is_not_taken_off(agent_ctx, agent_customer, agent_appointment):
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, ["you can drop the brake service"])
    said = agent_lines(transcript)
    assert said[1] == ("There's no brake service on this appointment: it's for oil change. Can you still make it?"), (
        said
    )
    assert (await state(agent_appointment))[1] == ["oil-change"]
