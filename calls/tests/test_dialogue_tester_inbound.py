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


# --- the car's trouble, said where we asked something else ------------------------------------------------------


def last_visit_notes() -> tuple[str, str]:
    from scheduling.models import Appointment

    appt = Appointment.objects.latest("pk")
    return appt.customer.full_name, appt.notes


@pytest.mark.parametrize(
    "trouble",
    [
        "uh it's kind of squealing when I start it up in the morning",  # the tester's
        "well it's sort of grinding whenever I brake hard",
    ],
)
async def test_trouble_said_for_a_name_is_no_name_and_goes_in_the_notes(agent_ctx, demo_shop, agent_now, trouble):
    lines = ["I need to get my car looked at", trouble, "Ray Donovan", "2011 Ford Focus", "Friday at 2", "yes"]
    _ctx, transcript = await talk(agent_ctx, lines, caller=NEW_CALLER_PHONE)
    assert agent_lines(transcript)[2] == "Got it, I'll note that for the technician. What's your first and last name?"
    name, notes = await in_db_thread(last_visit_notes)
    assert name == "Ray Donovan"
    assert trouble in notes
    assert "7:00 AM" not in " ".join(agent_lines(transcript))  # the morning it squeals is no time to come in


@pytest.mark.parametrize(
    "trouble",
    [
        "oh sorry, it's making a grinding noise when she turns",  # the tester's
        "my breaks are pretty much shot I think",
    ],
)
async def test_trouble_said_after_the_first_line_goes_in_the_notes(agent_ctx, maria, trouble):
    _ctx, transcript = await talk(
        agent_ctx, ["I'd like to make an appointment", trouble, "Friday at 2", "yes"], customer=maria
    )
    assert agent_lines(transcript)[-1].startswith("You're all set")
    _name, notes = await in_db_thread(last_visit_notes)
    assert trouble in notes


# --- a name put right, an email given ---------------------------------------------------------------------------


def saved_customer() -> tuple[str, str, str]:
    customer = Customer.objects.get(phone=NEW_CALLER_PHONE)
    return customer.first_name, customer.last_name, customer.email


@pytest.mark.parametrize(
    ("said", "fix", "name"),
    [
        ("Catherine Doyle", "no no, it's Katherine with a K", ("Katherine", "Doyle")),  # the tester's
        ("John Smith", "sorry, it's spelled Jon, no h", ("Jon", "Smith")),
        ("Ana Smith", "no wait, Smyth, with a y", ("Ana", "Smyth")),
    ],
)
async def test_a_name_put_right_before_the_account_is_made(agent_ctx, demo_shop, said, fix, name):
    _ctx, transcript = await talk(
        agent_ctx, ["hi I want to book a brake check", said, fix, "2013 Toyota Camry"], caller=NEW_CALLER_PHONE
    )
    assert agent_lines(transcript)[3] == f"Sorry about that, {name[0]}. What's the year, make and model of your car?"
    assert (await in_db_thread(saved_customer))[:2] == name


async def test_a_name_put_right_after_the_account_is_made(agent_ctx, demo_shop):
    lines = ["I need an oil change", "Catherine Doyle", "2013 Toyota Camry", "oh, actually it's Katherine with a K"]
    _ctx, transcript = await talk(agent_ctx, lines, caller=NEW_CALLER_PHONE)
    assert agent_lines(transcript)[-1] == "Sorry about that, Katherine. What day works best for you?"
    assert (await in_db_thread(saved_customer))[:2] == ("Katherine", "Doyle")


async def test_a_new_callers_email_is_saved_on_the_account(agent_ctx, demo_shop):
    lines = ["I need an oil change", "Nora Quinn", "my email is nora dot quinn at gmail dot com", "2013 Toyota Camry"]
    _ctx, transcript = await talk(agent_ctx, lines, caller=NEW_CALLER_PHONE)
    assert agent_lines(transcript)[3].startswith("Thanks, I'll add that email to your account.")
    assert (await in_db_thread(saved_customer))[2] == "nora.quinn@gmail.com"


async def test_a_known_callers_email_is_saved_and_the_request_read(agent_ctx, maria):
    _ctx, transcript = await talk(
        agent_ctx, ["you can reach me at maria.d@example.com, and I need a tire rotation"], customer=maria
    )
    said = agent_lines(transcript)[1]
    assert said.startswith("Thanks, I've saved that email on your account.") and "What day" in said
    await in_db_thread(maria.refresh_from_db)
    assert maria.email == "maria.d@example.com"


async def test_an_email_that_does_not_hold_together_is_not_saved(agent_ctx, maria):
    await talk(agent_ctx, ["my email is maria at gmail dot dot com"], customer=maria)
    await in_db_thread(maria.refresh_from_db)
    assert maria.email == ""
