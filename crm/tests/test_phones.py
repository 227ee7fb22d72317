import pytest
from django.core.exceptions import ValidationError

from crm.phones import (
    format_phone_national,
    normalize_phone,
    phone_search_digits,
    spoken_phone,
    try_normalize_phone,
    validate_phone,
)


@pytest.mark.parametrize(
    "raw",
    [
        "(312) 555-0142",
        "312.555.0142",
        "312-555-0142",
        "3125550142",
        "+1 312 555 0142",
        "+1 (312) 555-0142",
        "13125550142",
        "1-312-555-0142",
        "  312 555 0142  ",
        "00 1 312 555 0142",
        "tel:+1-312-555-0142",
    ],
)
def test_us_formats_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+13125550142"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),  # European international prefix
        ("011 44 20 7946 0958", "+442079460958"),  # North American international prefix
        ("+49 30 901820", "+4930901820"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+52 55 1234 5678", "+525512345678"),
    ],
)
def test_international_numbers(raw, e164):
    assert normalize_phone(raw) == e164


def test_region_argument_reads_national_numbers_of_that_country():
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a phone number."),
        ("   ", "Enter a phone number."),
        ("hello", "“hello” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142."),
        ("555-0142", "“555-0142” is missing the area code — dial it like (312) 555-0142."),
        ("12345", "“12345” is too short for a phone number — include the area code, e.g. (312) 555-0142."),
        ("(312) 555-01422", "“(312) 555-01422” has too many digits for a phone number."),
        (
            "+1 123 456 7890",
            "“+1 123 456 7890” is not a valid phone number: that area code or exchange is not in use.",
        ),
        (
            "+999 123 4567",
            "“+999 123 4567” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142.",
        ),
    ],
)
def test_invalid_numbers_explain_themselves(raw, message):
    with pytest.raises(ValidationError) as exc_info:
        normalize_phone(raw)
    assert exc_info.value.messages == [message]


def test_try_normalize_returns_none_instead_of_raising():
    assert try_normalize_phone("not a number") is None
    assert try_normalize_phone("312.555.0142") == "+13125550142"


def test_national_format_for_home_numbers_international_otherwise():
    assert format_phone_national("+13125550142") == "(312) 555-0142"
    assert format_phone_national("+442079460958") == "+44 20 7946 0958"
    assert format_phone_national("garbage") == "garbage"


@pytest.mark.parametrize(
    ("term", "digits"),
    [
        ("312-555-0142", "3125550142"),
        ("(312) 555 0142", "3125550142"),
        ("555-0142", "5550142"),
        ("020 7946 0958", "2079460958"),
        ("+44 20", None),
        ("0001", None),
    ],
)
def test_search_digits_for_phone_like_terms(term, digits):
    assert phone_search_digits(term) == digits


@pytest.mark.parametrize("term", ["2003 Honda", "Smith", "1HGCM82633A004352", "2003", ""])
def test_search_digits_ignore_other_terms(term):
    assert phone_search_digits(term) is None


def test_a_number_is_spoken_digit_by_digit_in_its_written_groups():
    assert spoken_phone("+13125550100") == "3 1 2, 5 5 5, 0 1 0 0"
    assert spoken_phone("+442079460958") == "plus 4 4, 2 0, 7 9 4 6, 0 9 5 8"


def test_the_field_validator_accepts_any_format_and_explains_a_bad_number():
    validate_phone("(312) 555-0100")
    validate_phone("")  # blank fields are the field's business
    with pytest.raises(ValidationError, match="too short"):
        validate_phone("555-01")
