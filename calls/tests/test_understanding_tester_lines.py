"""Lines an independent tester said to the rule agent that it did not understand (issue 6): contractions of
question words, openings that only say what the call is about, symptoms."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calls.agent import understanding
from calls.agent.understanding.questions import shop_question
from calls.agent.understanding.text import normalize
from calls.tests.test_understanding_callers import codes

# The tester's shop clock: Monday 2026-11-30, 22:15 in Chicago
NOW = datetime(2026, 11, 30, 22, 15, tzinfo=ZoneInfo("America/Chicago"))


def intent(text):
    return understanding.understand(text, NOW, services=False, named_days={}).intent


@pytest.mark.parametrize(
    ("said", "read"),
    [
        ("When's my appointment", "when is my appointment"),
        ("where's the shop", "where is the shop"),
        ("how'd it go", "how did it go"),
        # the rules spell these glued: they stay so
        ("what's your hours", "whats your hours"),
        ("I can't make it, I won't be there", "i cant make it i wont be there"),
    ],
)
def test_question_words_are_opened_up_other_contractions_stay_glued(said, read):
    assert normalize(said) == read


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("When's my appointment", "check"),
        ("when's my appointment again?", "check"),
        ("what's my appointment", "check"),
        ("I'm calling about my appointment", "check"),
        ("I'm calling about my appointment, I need to move it to Friday", "reschedule"),
        ("I'd like to book an oil change", "book"),
        ("I can't make my appointment", "cancel"),
        ("could you move my Thursday thing to first thing Monday", "reschedule"),
        ("can I move the Saturday one to first thing tomorrow", "reschedule"),
        ("can you move my Saturday stuff to next Saturday, same times", "reschedule"),
        ("hi, this is Maria Lee, I'm calling from my work phone", "other"),  # an introduction, no request yet
    ],
)
def test_contracted_openings(said, expected):
    assert intent(said) == expected


def test_where_is_the_shop_contracted_is_the_location_question():
    assert shop_question("where's your shop?") == "location"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("my tire pressure light is on", ["tire-rotation"]),  # the demo shop sets the pressures in a rotation
        ("it's leaking some green stuff under the front", ["coolant-flush"]),
        ("there's a clunking sound in the front when I go over bumps", ["multi-point"]),  # not the check engine light
        ("won't start, it just clicks", ["battery"]),  # the click is the battery's, not a noise to diagnose
        ("it just clicks when I try to start it", ["battery"]),
        # a click that is no starting trouble is still a noise to diagnose
        ("the car makes a clicking noise when I turn", ["diagnostics"]),
        ("the check engine light is on", ["diagnostics"]),
    ],
)
def test_symptoms_the_tester_described_find_the_demo_shops_services(said, expected):
    assert codes(said) == expected


@pytest.mark.parametrize("said", ["a couple hours later", "a couple of hours later", "two hours later", "a few hours"])
def test_an_amount_of_hours_is_no_question_about_the_opening_hours(said):
    assert intent(said) != "hours"


@pytest.mark.parametrize("said", ["what are your hours", "what are your hours on Saturday", "hours of operation?"])
def test_the_opening_hours_are_still_asked_for(said):
    assert intent(said) == "hours"
