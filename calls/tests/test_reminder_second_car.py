"""The customer's other car, the same day as the reminded visit (issue 9): "can you do my wife's Camry too while it's
there?" books an opening next to the reminded visit on a yes, and never touches the reminded visit; a car not on the
account is noted for an advisor, who calls back (said so), never invented."""

from datetime import timedelta

import pytest

from bartsvoice.db import in_db_thread
from calls.agent.flows.reminder_second_car import second_car_asked
from calls.agent.policy import RuleBrain
from calls.models import Call
from calls.tests.conftest import agent_local
from calls.tests.conversation import run_conversation
from crm.models import Vehicle
from scheduling.models import Appointment


def agent_lines(transcript):
    return [text for speaker, text in transcript if speaker == "agent"]


async def remind(agent_ctx, customer, appointment, lines):
    ctx = await in_db_thread(agent_ctx, customer.phone, customer, direction="outbound", appointment=appointment)
    return ctx, await run_conversation(ctx, RuleBrain(), lines)


async def add_car(customer, **car):
    return await in_db_thread(Vehicle.objects.create, customer=customer, **car)


async def appointments_of(customer):
    def read():
        return [
            (a.vehicle_id, a.start, a.end, a.status, sorted(a.service_types.values_list("code", flat=True)))
            for a in Appointment.objects.filter(customer=customer).order_by("start", "pk")
        ]

    return await in_db_thread(read)


def wednesday(agent_now, hour, minute=0):
    return agent_local((agent_now + timedelta(days=2)).date(), hour, minute)


@pytest.mark.django_db(transaction=True)
async def test_the_other_car_on_file_is_booked_right_after_the_reminded_visit(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    camry = await add_car(agent_customer, year=2015, make="Toyota", model="Camry")
    before = (await appointments_of(agent_customer))[0]
    ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yep we'll be there. could you do my husband's Camry too while it's in?", "sure, book it", "no"],
    )
    said = agent_lines(transcript)
    assert said[1].startswith("Great, you're confirmed."), said
    assert "I can do an oil change on your Toyota Camry on Wednesday" in said[1], said
    assert said[1].endswith("at 10:30 AM, right after the Honda Civic. Shall I book that?"), said
    assert said[2].startswith("Done, your Toyota Camry is booked for an oil change on Wednesday"), said
    reminded, other = await appointments_of(agent_customer)
    assert reminded == (*before[:3], "confirmed", before[4])  # the reminded visit: only confirmed
    assert other == (camry.pk, wednesday(agent_now, 10, 30), wednesday(agent_now, 11), "scheduled", ["oil-change"])
    assert ctx.outcome == "booked"


@pytest.mark.django_db(transaction=True)
async def test_the_services_named_for_the_other_car_and_another_time_that_day(
    agent_ctx, agent_customer, agent_appointment, agent_now
):
    camry = await add_car(agent_customer, year=2015, make="Toyota", model="Camry")
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["can you also rotate the tires on the other car?", "hmm can it be at 2 instead", "yes", "yes", "no"],
    )
    said = agent_lines(transcript)
    assert "a tire rotation on your Toyota Camry" in said[1], said
    assert said[2].endswith("at 2:00 PM. Shall I book that?"), said
    assert said[3].endswith("Can you still make it?"), said  # the reminded visit's own answer is still to come
    assert said[4].startswith("Great, you're confirmed."), said
    reminded, other = await appointments_of(agent_customer)
    assert (reminded[1], reminded[4]) == (wednesday(agent_now, 10), ["oil-change"])
    assert other[:2] == (camry.pk, wednesday(agent_now, 14)) and other[4] == ["tire-rotation"]


@pytest.mark.django_db(transaction=True)
async def test_which_other_car_is_asked_when_several_fit_and_no_books_nothing(
    agent_ctx, agent_customer, agent_appointment
):
    await add_car(agent_customer, year=2015, make="Toyota", model="Camry")
    await add_car(agent_customer, year=2021, make="Ford", model="F-150")
    _ctx, transcript = await remind(
        agent_ctx, agent_customer, agent_appointment, ["can you fit my other car in too?", "the Ford", "no thanks"]
    )
    said = agent_lines(transcript)
    assert said[1] == "Sure. Which car is it: the Ford F-150 or the Toyota Camry?", said
    assert "on your Ford F-150" in said[2], said
    assert said[3] == "Okay, I won't book the Ford F-150. Can you still make it?", said
    assert len(await appointments_of(agent_customer)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "line, car",
    [
        ("yes. and can you do my wife's Accord as well while it's there?", "a Honda Accord"),
        ("yes. can you look at my daughter's car too?", "another car"),
    ],
)
async def test_a_car_not_on_the_account_is_noted_for_an_advisor(
    agent_ctx, agent_customer, agent_appointment, line, car
):
    ctx, transcript = await remind(agent_ctx, agent_customer, agent_appointment, [line, "no"])
    said = agent_lines(transcript)
    assert said[1].startswith("Great, you're confirmed."), said
    assert f"I don't see {car} on your account." in said[1], said
    assert "a service advisor will call you back" in said[1], said
    assert (await in_db_thread(Call.objects.get, pk=ctx.call_id)).callback_requested
    cars = await in_db_thread(lambda: list(agent_customer.vehicles.values_list("model", flat=True)))
    assert cars == ["Civic"]  # no car invented on the account
    assert len(await appointments_of(agent_customer)) == 1


@pytest.mark.django_db(transaction=True)
async def test_the_other_car_asked_for_after_the_yes(agent_ctx, agent_customer, agent_appointment, agent_now):
    camry = await add_car(agent_customer, year=2015, make="Toyota", model="Camry")
    _ctx, transcript = await remind(
        agent_ctx,
        agent_customer,
        agent_appointment,
        ["yes", "oh and can you do the Camry too while it's there?", "yes", "no"],
    )
    said = agent_lines(transcript)
    assert "on your Toyota Camry" in said[2] and said[3].endswith("Is there anything else I can help you with?")
    assert (await appointments_of(agent_customer))[1][0] == camry.pk


@pytest.mark.django_db
def test_what_counts_as_asking_for_another_car(agent_now, agent_shop):
    civic = {"id": 1, "year": 2018, "make": "Honda", "model": "Civic", "label": "2018 Honda Civic"}
    camry = {"id": 2, "year": 2015, "make": "Toyota", "model": "Camry", "label": "2015 Toyota Camry"}
    both = [civic, camry]
    assert second_car_asked("can you do the Camry too?", both, 1, agent_now).vehicle == camry
    assert second_car_asked("it's the Camry that needs it, not the Civic", both, 1, agent_now) is None  # a swap
    assert second_car_asked("yes, and the Civic too", both, 1, agent_now) is None  # the visit's own car
    assert second_car_asked("cancel the one for my other car too", both, 1, agent_now) is None
    assert second_car_asked("yes I'll be there", both, 1, agent_now) is None
    assert second_car_asked("my other car as well", [civic], 1, agent_now).unknown == "another car"
