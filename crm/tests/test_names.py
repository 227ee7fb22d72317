"""Names as callers say them: particles lead the family name, the caller's own spelling is kept."""

import pytest

from crm.names import split_name, tidy_name_word


@pytest.mark.parametrize(
    ("words", "name"),
    [
        (["Johan", "van", "den", "Heuvel"], ("Johan", "van den Heuvel")),
        (["lucia", "de", "la", "vega"], ("Lucia", "de la Vega")),
        (["Anna", "Lee", "Park"], ("Anna Lee", "Park")),
        (["Von", "Miller"], ("Von", "Miller")),  # a first name that is also a particle
        (["ann-marie", "o'connor-hayes"], ("Ann-Marie", "O'Connor-Hayes")),
        (["Priya"], ("Priya", "")),
    ],
)
def test_split_name(words, name):
    assert split_name(words) == name


@pytest.mark.parametrize(
    ("word", "written"),
    [
        ("mcallister", "McAllister"),
        ("MacKenzie", "MacKenzie"),  # the caller's mixed case is theirs
        ("mackenzie", "Mackenzie"),  # Mac is no sure prefix (Mack, Macy)
        ("DeAndre", "DeAndre"),
        ("SMITH", "Smith"),
        ("d'angelo", "D'Angelo"),
    ],
)
def test_tidy_name_word(word, written):
    assert tidy_name_word(word) == written
