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
    appt = Appointment.objects.create(customer=customer, vehicle=customer.vehicles.first(), start=start,
                                      end=start + timedelta(minutes=90), status=Appointment.Status.CONFIRMED)
    appt.service_types.set([shop.brakes])
    return appt


async def test_rebooking_after_a_cancel_books_the_cancelled_service_not_moving_another(
        agent_ctx, agent_customer, agent_appointment, agent_shop, agent_now):
    other = await in_db_thread(_second_appointment, agent_customer, agent_shop, agent_now)
    other_start = other.start
    _ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [
        "cancel", "yes", "actually can I rebook for next Monday?", "morning", "9", "yes", "no"])
    assert (await reload(agent_appointment)).status == "cancelled"
    assert (await reload(other)).start == other_start, agent_lines(transcript)
    monday = (agent_now + timedelta(days=7)).date()
    new = await in_db_thread(lambda: Appointment.objects.filter(start=agent_local(monday, 9)).first())
    assert new is not None, agent_lines(transcript)
    codes = await in_db_thread(lambda: [s.code for s in new.service_types.all()])
    assert codes == ["oil-change"] and new.vehicle_id == agent_appointment.vehicle_id
