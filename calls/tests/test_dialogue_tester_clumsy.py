"""Inbound callers the rule agent got there with, but badly (issue 6, a tester's Tuesday evening): a question beside
the request left unanswered, the service list recited for work the shop doesn't do, "is this the service
department?" not understood, one service of a visit cancelled with the whole visit."""

import pytest

from bartsvoice.db import in_db_thread
from calls.tests.conftest import agent_local
from calls.tests.test_dialogue_callers import agent_lines, book, day, label, talk
from scheduling.models import ShopProfile

pytestmark = pytest.mark.django_db(transaction=True)


def with_transport(appointment, transport):
    appointment.transport = transport
    appointment.save(update_fields=["transport"])
    return appointment


@pytest.mark.parametrize(
    ("line", "transport", "answer"),
    [
        (
            "what time is my appointment on the {day} and do I have a loaner for it",  # the tester's
            "loaner",
            "And yes, a loaner car is reserved for you.",
        ),
        (
            "am I still on for the {day}? I asked for a loaner I think",
            "drop_off",
            "No loaner is reserved for it: you're down to drop it off.",
        ),
    ],
)
async def test_a_check_that_asks_about_its_loaner_hears_this_appointments_transport(
    agent_ctx, maria, agent_now, line, transport, answer
):
    visit = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 9), 15))
    await in_db_thread(with_transport, visit, transport)
    n = day(agent_now, 9).day
    ordinal = f"{n}{'th' if 11 <= n <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
    _ctx, transcript = await talk(agent_ctx, [line.format(day=ordinal)], customer=maria)
    said = agent_lines(transcript)[1]
    assert said.startswith(f"Yes, you're all set: an oil change on {label(day(agent_now, 9))} at 3:00 PM.")
    assert answer in said


@pytest.fixture
def customers_may_wait(demo_shop):

    return ShopProfile.objects.create(customers_can_wait="yes")


@pytest.mark.parametrize(
    ("line", "more"),
    [
        ("how long does a brake job take, can I wait for it", "takes about"),  # the tester's
        ("could I just wait there while you do it?", ""),
        ("is it ok if I wait for the oil change, how much is it", "$"),
    ],
)
async def test_can_i_wait_for_it_is_answered(agent_ctx, maria, customers_may_wait, line, more):
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    said = agent_lines(transcript)[1]
    assert said.startswith("Yes, you're welcome to wait while we work on it.")
    assert more in said
    assert "We do A/C service" not in said


async def test_waiting_said_as_a_question_while_booking_is_noted_as_waiting(
    agent_ctx, maria, agent_now, customers_may_wait
):
    from scheduling.models import Appointment

    lines = ["I need an oil change Friday at 10", "can I wait for it?", "yes"]
    _ctx, transcript = await talk(agent_ctx, lines, customer=maria)
    assert agent_lines(transcript)[2].startswith("Sure, you can wait at the shop while we work on it. So")
    visit = await in_db_thread(lambda: Appointment.objects.get(customer=maria))
    assert visit.transport == "waiter"


SERVICE_LIST = "We do A/C service, battery test and replacement"


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("do you guys do body work? I got a dent in my door", "Sorry, we don't do body work here."),  # the tester's
        ("hey do you replace windshields", "Sorry, we don't do windshields here."),
    ],
)
async def test_work_we_dont_do_is_said_so_without_the_service_list(agent_ctx, maria, line, answer):
    _ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    assert agent_lines(transcript)[1].startswith(answer)
    assert SERVICE_LIST not in agent_lines(transcript)[1]


@pytest.mark.parametrize(
    "line",
    ["ok what about a timing belt, how much is that", "how much would a new clutch run me"],  # the tester's first
)
async def test_a_price_for_work_without_a_service_is_left_with_an_advisor(agent_ctx, maria, line):
    from calls.models import Call

    ctx, transcript = await talk(agent_ctx, [line], customer=maria)
    said = agent_lines(transcript)[1]
    assert "I've asked a service advisor to call you back with a quote." in said and SERVICE_LIST not in said
    assert await in_db_thread(lambda: Call.objects.get(pk=ctx.call_id).callback_requested)


async def test_the_service_list_is_read_out_once_a_call(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["what kind of services do you offer?", "hmm, and what services do you have?"], customer=maria
    )
    said = " ".join(agent_lines(transcript))
    assert said.count(SERVICE_LIST) == 1


@pytest.mark.parametrize(
    ("first", "said"),
    [
        ("hi, is this the service department?", "How can I help you today?"),  # the tester's
        ("hello, did I reach Bart's service? I need an oil change", "What day works best for you?"),
    ],
)
async def test_is_this_the_service_department_is_yes_and_the_call_goes_on(agent_ctx, maria, first, said):
    _ctx, transcript = await talk(agent_ctx, [first], customer=maria)
    reply = agent_lines(transcript)[1]
    assert reply.startswith("Yes, this is the service department at") and reply.endswith(said)


# --- one service of a visit cancelled ---------------------------------------------------------------------------


def visit_for(customer, codes, start):
    from scheduling.models import ServiceType

    visit = book(customer, codes[0], start, minutes=120)
    visit.service_types.set(ServiceType.objects.filter(code__in=codes))
    return visit


def services_and_status(visit):
    visit.refresh_from_db()
    return sorted(visit.service_types.values_list("code", flat=True)), visit.status


@pytest.mark.parametrize(
    ("line", "codes", "left"),
    [
        ("cancel my oil change", ["oil-change", "brake-pads"], ["brake-pads"]),  # the lead's words
        ("can you cancel the tire rotation on Thursday", ["oil-change", "tire-rotation"], ["oil-change"]),
    ],
)
async def test_cancelling_one_service_of_a_visit_takes_only_that_one_off(
    agent_ctx, maria, agent_now, line, codes, left
):
    visit = await in_db_thread(visit_for, maria, codes, agent_local(day(agent_now, 3), 10))
    _ctx, transcript = await talk(agent_ctx, [line, "yes"], customer=maria)
    said = agent_lines(transcript)
    assert said[1].startswith(f"Your visit on {label(day(agent_now, 3))} at 10:00 AM is for ")
    assert "Shall I take off the" in said[1]
    assert said[2].startswith("Done. I've taken off the")
    assert await in_db_thread(services_and_status, visit) == (left, "scheduled")


async def test_the_whole_visit_is_cancelled_when_they_say_so(agent_ctx, maria, agent_now):
    visit = await in_db_thread(visit_for, maria, ["oil-change", "brake-pads"], agent_local(day(agent_now, 3), 10))
    await talk(agent_ctx, ["cancel my oil change", "no, cancel the whole appointment"], customer=maria)
    assert (await in_db_thread(services_and_status, visit))[1] == "cancelled"


async def test_a_visit_for_that_service_alone_is_asked_to_be_cancelled(agent_ctx, maria, agent_now):
    visit = await in_db_thread(book, maria, "oil-change", agent_local(day(agent_now, 3), 10))
    _ctx, transcript = await talk(agent_ctx, ["cancel my oil change", "yes"], customer=maria)
    assert agent_lines(transcript)[1].endswith("Do you want me to cancel it?")
    assert (await in_db_thread(services_and_status, visit))[1] == "cancelled"
