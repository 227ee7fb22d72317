"""What a caller told the rule agent on an inbound call comes out right in the shop's records (issue 6, a tester's
evening of calls): names with particles, hyphens, apostrophes and their own capitals; a car's model with its
number, its make from the model alone, a year said short or corrected in the same breath, and asked when missing."""

import pytest

from bartsvoice.db import in_db_thread
from calls.tests.conftest import NEW_CALLER_PHONE
from calls.tests.test_dialogue_callers import agent_lines, talk
from crm.models import Customer

pytestmark = pytest.mark.django_db(transaction=True)


def registered() -> tuple[str, str, list[tuple]]:
    customer = Customer.objects.get(phone=NEW_CALLER_PHONE)
    cars = [(v.year, v.make, v.model) for v in customer.vehicles.all()]
    return customer.first_name, customer.last_name, cars


async def register(agent_ctx, name: str, car: str, *more: str):
    lines = ["I'd like to book an oil change", name, car, *more]
    _ctx, transcript = await talk(agent_ctx, lines, caller=NEW_CALLER_PHONE)
    return transcript, await in_db_thread(registered)


@pytest.mark.parametrize(
    ("said", "first", "last"),
    [
        ("Johan van den Heuvel", "Johan", "van den Heuvel"),
        ("it's Ann-Marie O'Connor-Hayes", "Ann-Marie", "O'Connor-Hayes"),
        ("this is Dr. Ian McAllister", "Ian", "McAllister"),
        ("lucia de la vega", "Lucia", "de la Vega"),  # as a recogniser writes it
        # the tester's
        ("Pieter van der Berg", "Pieter", "van der Berg"),
        ("Mary-Kate Olsen-Smith", "Mary-Kate", "Olsen-Smith"),
        ("this is Dr. Susan McDonald", "Susan", "McDonald"),
        ("Megan O'Neil", "Megan", "O'Neil"),
    ],
)
async def test_a_new_callers_name_is_saved_as_they_spell_it(agent_ctx, demo_shop, said, first, last):
    _transcript, (saved_first, saved_last, _cars) = await register(agent_ctx, said, "a 2019 Honda Accord")
    assert (saved_first, saved_last) == (first, last)


@pytest.mark.parametrize(
    ("said", "car"),
    [
        ("a 2019 Lexus ES 350", (2019, "Lexus", "ES 350")),
        ("2016 Mini Cooper", (2016, "MINI", "Cooper")),
        ("a 2019 Ford Escape, oh sorry, I mean 2018", (2018, "Ford", "Escape")),
        ("an '07 Accord", (2007, "Honda", "Accord")),
        # the tester's
        ("2018 Lexus RX 350", (2018, "Lexus", "RX 350")),
        ("2018 Mini Cooper", (2018, "MINI", "Cooper")),
        ("it's a 2017 Honda Pilot, no wait, sorry, it's a 2016", (2016, "Honda", "Pilot")),
        ("an '09 Civic", (2009, "Honda", "Civic")),
    ],
)
async def test_a_new_callers_car_is_saved_as_they_said_it(agent_ctx, demo_shop, said, car):
    _transcript, (_first, _last, cars) = await register(agent_ctx, "Nora Quinn", said)
    assert cars == [car]


async def test_a_car_named_without_its_year_is_asked_for_it(agent_ctx, demo_shop):
    transcript, (_first, _last, cars) = await register(agent_ctx, "Nora Quinn", "it's a Corolla", "hmm, 2014 I think")
    assert agent_lines(transcript)[3] == "And what year is your Toyota Corolla?"
    assert cars == [(2014, "Toyota", "Corolla")]


async def test_a_car_named_before_the_name_without_its_year_is_asked_for_it(agent_ctx, demo_shop):
    _ctx, transcript = await talk(
        agent_ctx, ["can I get my Outback in for an oil change", "Nora Quinn", "a 2012"], caller=NEW_CALLER_PHONE
    )
    assert agent_lines(transcript)[2].endswith("And what year is your Subaru Outback?")
    assert (await in_db_thread(registered))[2] == [(2012, "Subaru", "Outback")]
