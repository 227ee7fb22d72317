"""Lines of inbound callers the rules misread (issue 6, a tester's Tuesday evening): a recogniser's spelling of the
brakes, and what those lines ask for."""

import pytest

from calls.tests.test_understanding_callers import codes


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("my breaks are making a racket", ["brake-inspection"]),
        ("could you look at the breaks", ["brake-inspection"]),
        ("I think I need a break job", ["brake-pads"]),
        ("new break pads and an oil change", ["brake-pads", "oil-change"]),
        ("I'll come by on my lunch break", []),  # a pause, no car part
        ("can I take a break", []),
    ],
)
def test_breaks_as_a_recogniser_spells_them_are_the_brakes(said, expected):
    assert codes(said) == expected


@pytest.mark.parametrize(
    ("said", "email"),
    [
        ("my email is dana dot reyes at gmail dot com", "dana.reyes@gmail.com"),
        ("you can email me at d underscore reyes at outlook dot com and that's it", "d_reyes@outlook.com"),
        ("it's Dana.Reyes@Example.org", "dana.reyes@example.org"),
        ("I'll be there at noon, see you", None),
        ("my email is dana at gmail", None),  # no domain ending: nothing saved
    ],
)
def test_an_email_address_said_or_typed(said, email):
    from calls.agent import nlu

    assert nlu.parse_email(said) == email
