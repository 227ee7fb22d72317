import pytest
from django.core.exceptions import ValidationError

from crm.models import Customer, Vehicle
from crm.vin import apply_vin_to_vehicle, check_digit_required, compute_check_digit, decode_vin, validate_vin

# Real VINs whose check digit is right (decoded details from NHTSA vPIC).
ACCORD_2003 = "1HGCM82633A004352"  # 2003 Honda Accord EX-V6, built in the US
PILOT_2017 = "5FNYF5H59HB011946"  # 2017 Honda Pilot EXL
C1500_1995 = "2GCEC19Z0S1245490"  # 1995 Chevrolet pickup, built in Canada
NIRO_2020 = "KNDCE3LG2L5073161"  # 2020 Kia Niro, built in Korea (check digit used anyway)
# Commonly quoted as real, but position 9 does not satisfy 49 CFR 565: these must be refused.
F150_QUOTED = "1FTFW1ET5DFC10312"  # check digit should be 9
MODEL3_QUOTED = "5YJ3E1EA7JF000316"  # check digit should be 2
# European-market VINs: position 9 is not a check digit there.
BMW_EUROPE = "WBA3A5C51CF256651"  # 2012 BMW 328i; formula gives 7
GOLF_EUROPE = "WVWZZZ1JZXW000001"  # VW Golf IV, "Z" filler in position 9


@pytest.mark.parametrize("vin", [ACCORD_2003, PILOT_2017, C1500_1995, NIRO_2020, "1FTFW1ET9DFC10312"])
def test_valid_vins_pass_without_warnings(vin):
    check = validate_vin(vin)
    assert check.vin == vin
    assert check.check_digit_ok
    assert check.warnings == ()


def test_case_spaces_and_dashes_are_normalised():
    assert validate_vin(" 1hg cm826 33a-004352 ").vin == ACCORD_2003


@pytest.mark.parametrize(
    ("vin", "actual", "expected"),
    [(F150_QUOTED, "5", "9"), (MODEL3_QUOTED, "7", "2"), ("1HGCM82653A004352", "5", "3")],
)
def test_wrong_check_digit_on_north_american_vin_is_an_error(vin, actual, expected):
    with pytest.raises(ValidationError) as exc_info:
        validate_vin(vin)
    assert exc_info.value.messages == [
        f"VIN check digit is {actual} but should be {expected} — a character was probably mistyped."
    ]
    assert exc_info.value.error_list[0].code == "vin_check_digit"


def test_one_mistyped_character_is_caught_by_the_check_digit():
    typo = ACCORD_2003[:12] + "5" + ACCORD_2003[13:]  # 004352 -> 005352
    with pytest.raises(ValidationError, match="check digit is 3 but should be"):
        validate_vin(typo)


@pytest.mark.parametrize(("vin", "actual", "expected"), [(BMW_EUROPE, "1", "7"), (GOLF_EUROPE, "Z", "0")])
def test_wrong_check_digit_elsewhere_is_only_a_warning(vin, actual, expected):
    check = validate_vin(vin)
    assert not check.check_digit_required
    assert not check.check_digit_ok
    assert len(check.warnings) == 1
    assert f"is {actual}, where the standard formula gives {expected}" in check.warnings[0]


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        ("1HGCM82633A00435", "A VIN has exactly 17 characters, but 16 were given."),
        ("1HGCM82633A0043521", "A VIN has exactly 17 characters, but 18 were given."),
        ("1", "A VIN has exactly 17 characters, but 1 was given."),
        ("", "A VIN has exactly 17 characters, but 0 were given."),
    ],
)
def test_wrong_length_says_how_many_characters(vin, message):
    with pytest.raises(ValidationError) as exc_info:
        validate_vin(vin)
    assert exc_info.value.messages == [message]


@pytest.mark.parametrize(
    ("vin", "message"),
    [
        (
            "1HGCM82633AOO4352",
            "Character 12 is the letter O, which never appears in a VIN — it is probably the digit 0.",
        ),
        (
            "IHGCM82633A004352",
            "Character 1 is the letter I, which never appears in a VIN — it is probably the digit 1.",
        ),
        (
            "1HGCM82633A00435Q",
            "Character 17 is the letter Q, which never appears in a VIN — it is probably the digit 0.",
        ),
        (
            "1HGCM82633A00435*",
            "Character 17 is “*”, which cannot be part of a VIN (only the letters A–Z except I, O, Q, "
            "and the digits 0–9).",
        ),
        (
            "1HGCM82633Ä004352",
            "Character 11 is “Ä”, which cannot be part of a VIN (only the letters A–Z except I, O, Q, "
            "and the digits 0–9).",
        ),
    ],
)
def test_bad_characters_are_named_with_their_position(vin, message):
    with pytest.raises(ValidationError) as exc_info:
        validate_vin(vin)
    assert message in exc_info.value.messages
    assert {e.code for e in exc_info.value.error_list} == {"vin_character"}


def test_all_problems_are_reported_together():
    with pytest.raises(ValidationError) as exc_info:
        validate_vin("1HGOM82633A0043Q")
    assert [e.code for e in exc_info.value.error_list] == ["vin_length", "vin_character", "vin_character"]


def test_check_digit_formula_including_x():
    assert compute_check_digit(ACCORD_2003) == "3"
    # Remainder 10 is written X: vary the serial until it happens and confirm the VIN then validates.
    serials = (f"{ACCORD_2003[:11]}{n:06d}" for n in range(1000))
    vin = next(v for v in serials if compute_check_digit(v) == "X")
    assert validate_vin(vin[:8] + "X" + vin[9:]).check_digit == "X"


@pytest.mark.parametrize(
    ("vin", "required"),
    [
        (ACCORD_2003, True),
        (C1500_1995, True),
        ("3VW2B7AJ5HM123456", True),  # Mexico
        ("7SAYGDEE0PF000000", True),  # 7F-7Z: United States
        ("7A8AB1AA0BA000000", False),  # 7A-7E: New Zealand
        (BMW_EUROPE, False),
        ("JHMCM56557C404453", False),
        (NIRO_2020, False),
    ],
)
def test_where_the_check_digit_is_mandatory(vin, required):
    assert check_digit_required(vin) is required


# --- decoding ---------------------------------------------------------------------------------


def test_decode_real_vin_offline():
    decoded = decode_vin(ACCORD_2003)
    assert decoded["found"] is True
    assert (decoded["year"], decoded["make"], decoded["model"], decoded["trim"]) == (2003, "Honda", "Accord", "EX-V6")
    assert decoded["source"] == "offline"
    assert decoded["source_detail"].startswith("vin 0.6.2, NHTSA vPIC snapshot")
    assert decoded["description"] == "2003 Honda Accord EX-V6"
    assert decoded["warnings"] == []


@pytest.mark.parametrize(
    ("vin", "year", "make", "model"),
    [
        (PILOT_2017, 2017, "Honda", "Pilot"),
        (C1500_1995, 1995, "Chevrolet", "GMT-400"),
        (NIRO_2020, 2020, "Kia", "Niro"),
        ("1FTFW1ET9DFC10312", 2013, "Ford", "F-150"),  # the quoted F-150 VIN with its check digit corrected
        ("5YJ3E1EA2JF000316", 2018, "Tesla", "Model 3"),
    ],
)
def test_decode_other_real_vins(vin, year, make, model):
    decoded = decode_vin(vin)
    assert (decoded["year"], decoded["make"], decoded["model"]) == (year, make, model)


def test_decode_european_vin_despite_check_digit():
    decoded = decode_vin(BMW_EUROPE)
    assert (decoded["year"], decoded["make"], decoded["model"]) == (2012, "BMW", "328i")
    assert len(decoded["warnings"]) == 1


def test_unknown_vehicle_decodes_to_nothing_without_raising():
    decoded = decode_vin(GOLF_EUROPE)
    assert decoded["found"] is False
    assert (decoded["year"], decoded["make"], decoded["model"], decoded["source"]) == (None, "", "", "")
    assert decoded["description"] == ""


def test_decode_refuses_invalid_vin():
    with pytest.raises(ValidationError, match="check digit"):
        decode_vin(F150_QUOTED)


# --- applying to a vehicle -------------------------------------------------------------------------


def _vehicle(**fields) -> Vehicle:
    return Vehicle(customer=Customer(first_name="Ann", phone="+13125550142"), **fields)


def test_apply_fills_blank_fields_and_stores_the_decode():
    vehicle = _vehicle(vin="1hgcm82633a004352")
    assert apply_vin_to_vehicle(vehicle) == []
    assert vehicle.vin == ACCORD_2003
    assert (vehicle.year, vehicle.make, vehicle.model, vehicle.trim) == (2003, "Honda", "Accord", "EX-V6")
    assert vehicle.decoded["vin"] == ACCORD_2003 and vehicle.decoded["found"] is True


def test_apply_keeps_what_the_advisor_typed_and_warns_on_disagreement():
    vehicle = _vehicle(vin=ACCORD_2003, year=2005, make="Acura", model="Accord Coupe", trim="")
    warnings = apply_vin_to_vehicle(vehicle)
    assert (vehicle.year, vehicle.make, vehicle.model, vehicle.trim) == (2005, "Acura", "Accord Coupe", "EX-V6")
    assert warnings == [
        "The VIN says model year 2003, but the year entered is 2005.",
        "The VIN says the make is Honda, but “Acura” was entered.",
    ]
    assert vehicle.vin_warnings == warnings


def test_apply_uses_series_when_there_is_no_trim():
    vehicle = _vehicle(vin=NIRO_2020)
    apply_vin_to_vehicle(vehicle)
    assert vehicle.trim == "EX Premium"


def test_apply_raises_on_the_vin_field():
    vehicle = _vehicle(vin=F150_QUOTED)
    with pytest.raises(ValidationError) as exc_info:
        apply_vin_to_vehicle(vehicle)
    assert exc_info.value.message_dict == {
        "vin": ["VIN check digit is 5 but should be 9 — a character was probably mistyped."]
    }


def test_blank_vin_is_allowed_and_clears_the_decode():
    vehicle = _vehicle(vin="  ", make="Ford", decoded={"vin": ACCORD_2003, "found": True})
    assert apply_vin_to_vehicle(vehicle) == []
    assert vehicle.vin == "" and vehicle.decoded == {} and vehicle.make == "Ford"


def test_european_vin_warning_is_kept_for_the_advisor():
    vehicle = _vehicle(vin=BMW_EUROPE)
    warnings = apply_vin_to_vehicle(vehicle)
    assert len(warnings) == 1 and "outside North America" in warnings[0]
    assert vehicle.make == "BMW"


def test_unchanged_vin_is_not_decoded_again(monkeypatch):
    vehicle = _vehicle(vin=ACCORD_2003)
    apply_vin_to_vehicle(vehicle)

    def fail(*args, **kwargs):
        raise AssertionError("decoded twice")

    monkeypatch.setattr("crm.vin.decode_vin", fail)
    vehicle.year = None
    apply_vin_to_vehicle(vehicle)
    assert vehicle.year == 2003  # refilled from the stored decode
