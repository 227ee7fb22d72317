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
