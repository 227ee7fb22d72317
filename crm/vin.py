"""VIN validation (49 CFR 565) and decoding: offline from the bundled vPIC snapshot, optionally online.

validate_vin() is the rulebook: it raises ValidationError for what cannot be a VIN and returns
warnings for what is merely unusual. decode_vin() says which vehicle a valid VIN belongs to.
"""

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass
from importlib.metadata import version as _package_version

import requests
import vin as vinlib
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

log = logging.getLogger(__name__)

VIN_LENGTH = 17
CHECK_DIGIT_INDEX = 8  # position 9
# 49 CFR 565.15: letters are transliterated to numbers, multiplied by the position weight (X = 10),
# summed, and the remainder modulo 11 is the check digit (10 is written X).
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
# I, O and Q are never used because they look like 1 and 0.
_LOOKALIKES = {"I": "the digit 1", "O": "the digit 0", "Q": "the digit 0"}
_SEPARATORS = re.compile(r"[\s\-]+")

VPIC_TIMEOUT_SECONDS = 3
VPIC_CACHE_SECONDS = 7 * 24 * 3600
# Serialises access to the vin package's single shared SQLite connection across threads.
_OFFLINE_LOCK = threading.Lock()


@dataclass(frozen=True)
class VinCheck:
    vin: str
    check_digit: str
    expected_check_digit: str
    check_digit_required: bool
    warnings: tuple[str, ...] = ()

    @property
    def wmi(self) -> str:
        return self.vin[:3]

    @property
    def check_digit_ok(self) -> bool:
        return self.check_digit == self.expected_check_digit


def normalize_vin(raw: str | None) -> str:
    """Upper case without spaces or dashes, the way VINs are printed and stored."""
    return _SEPARATORS.sub("", raw or "").upper()


def compute_check_digit(vin: str) -> str:
    """The check digit (0-9 or X) for a 17-character VIN made of valid VIN characters."""
    total = sum(_TRANSLITERATION[char] * weight for char, weight in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def check_digit_required(vin: str) -> bool:
    """Whether a wrong check digit makes the VIN invalid rather than just unusual.

    North American manufacturers (WMI 1-5, and 7F-7Z now allocated to the United States) always
    apply 49 CFR 565. Vehicles built for other markets follow ISO 3779, where position 9 is often
    a plain letter or filler, so a mismatch there is only worth a warning.
    """
    first = vin[:1]
    return first in "12345" or (first == "7" and vin[1:2] >= "F")


def validate_vin(raw: str | None) -> VinCheck:
    """Check `raw` as a VIN; raise ValidationError listing every problem found, in words an advisor follows."""
    vin = normalize_vin(raw)
    errors: list[ValidationError] = []
    if len(vin) != VIN_LENGTH:
        given = f"{len(vin)} was given" if len(vin) == 1 else f"{len(vin)} were given"
        errors.append(
            ValidationError(
                "A VIN has exactly 17 characters, but %(given)s.", code="vin_length", params={"given": given}
            )
        )
    for position, char in enumerate(vin, start=1):
        if char in _LOOKALIKES:
            errors.append(
                ValidationError(
                    "Character %(position)d is the letter %(char)s, which never appears in a VIN — "
                    "it is probably %(meant)s.",
                    code="vin_character",
                    params={"position": position, "char": char, "meant": _LOOKALIKES[char]},
                )
            )
        elif char not in _TRANSLITERATION:
            errors.append(
                ValidationError(
                    "Character %(position)d is “%(char)s”, which cannot be part of a VIN "
                    "(only the letters A–Z except I, O, Q, and the digits 0–9).",
                    code="vin_character",
                    params={"position": position, "char": char},
                )
            )
    if errors:
        raise ValidationError(errors)

    actual, expected = vin[CHECK_DIGIT_INDEX], compute_check_digit(vin)
    required = check_digit_required(vin)
    warnings: list[str] = []
    if actual != expected:
        if required:
            raise ValidationError(
                "VIN check digit is %(actual)s but should be %(expected)s — a character was probably mistyped.",
                code="vin_check_digit",
                params={"actual": actual, "expected": expected},
            )
        warnings.append(
            f"The check digit (character 9) is {actual}, where the standard formula gives {expected}. "
            "Vehicles built for markets outside North America often don't use a check digit, so the VIN "
            "may well be right — compare it with the registration document."
        )
    return VinCheck(
        vin=vin,
        check_digit=actual,
        expected_check_digit=expected,
        check_digit_required=required,
        warnings=tuple(warnings),
    )


# --- decoding -----------------------------------------------------------------------------------


def decode_vin(raw: str | None, *, online: bool | None = None) -> dict:
    """Which vehicle the VIN belongs to: year, make, model, trim and where that came from.

    Raises ValidationError for an invalid VIN. Offline data comes from the `vin` package's vPIC
    snapshot; with `online` (default settings.VIN_ONLINE_LOOKUP) NHTSA vPIC is asked too and its
    answer wins, but any failure there silently leaves the offline answer. Always JSON-serialisable.
    """
    check = validate_vin(raw)
    if online is None:
        online = settings.VIN_ONLINE_LOOKUP
    result = {
        "vin": check.vin,
        "found": False,
        "year": None,
        "make": "",
        "model": "",
        "trim": "",
        "series": "",
        "body_class": "",
        "vehicle_type": "",
        "manufacturer": "",
        "source": "",
        "source_detail": "",
        "warnings": list(check.warnings),
    }
    offline = _decode_offline(check.vin)
    if offline:
        result.update(offline, found=True, source="offline", source_detail=_offline_source_detail())
    remote = _decode_online(check.vin) if online else None
    if remote and (remote.get("make") or remote.get("model")):
        note = remote.pop("nhtsa_note", "")
        for key, value in remote.items():
            if value in ("", None):
                continue
            if isinstance(value, str) and str(result[key]).lower() == value.lower():
                continue  # same answer: keep the snapshot's casing ("Passenger Car", not "PASSENGER CAR")
            result[key] = value
        result.update(found=True, source="nhtsa", source_detail=_online_url(check.vin))
        if note:
            result["nhtsa_note"] = note
    result["description"] = " ".join(
        str(part)
        for part in (result["year"], result["make"], result["model"], result["trim"] or result["series"])
        if part
    )
    return result


_OFFLINE_FIELDS = {
    "year": "model_year",
    "make": "make",
    "model": "model",
    "trim": "trim",
    "series": "series",
    "body_class": "body_class",
    "vehicle_type": "vehicle_type",
    "manufacturer": "manufacturer",
}


def _decode_offline(vin: str) -> dict | None:
    # The package refuses VINs whose check digit is off (normal outside North America) and some model
    # year characters; validation already ruled on those, so ask it to look past them.
    attempts = ({"fix_check_digit": True}, {"fix_check_digit": True, "decode_model_year": False})
    for options in attempts:
        try:
            with _OFFLINE_LOCK:
                decoded = vinlib.VIN(vin, **options)
                return {ours: _vin_attribute(decoded, theirs) for ours, theirs in _OFFLINE_FIELDS.items()}
        except vinlib.DecodingError:
            continue  # not in the snapshot with this model year reading; maybe without it
        except (ValueError, AssertionError, sqlite3.Error) as exc:
            log.info("Offline VIN decoder could not read %s (%s)", vin, exc)
    return None


def _vin_attribute(decoded, name: str):
    try:
        value = getattr(decoded, name)
    except vinlib.DecodingRequiredError:  # the package's way of saying "not in the data"
        value = None
    if name == "model_year":
        # Undecidable years come back negative (or missing); don't pass a guess on as fact.
        return value if isinstance(value, int) and value > 0 else None
    return value or ""


def _offline_source_detail() -> str:
    try:
        snapshot = vinlib.VIN.vpic_version()
        return f"vin {_package_version('vin')}, NHTSA vPIC snapshot {snapshot['version']} ({snapshot['released']})"
    except (sqlite3.Error, KeyError, TypeError):
        return f"vin {_package_version('vin')}"


def _online_url(vin: str) -> str:
    return f"{settings.NHTSA_VPIC_BASE_URL}/vehicles/DecodeVinValues/{vin}?format=json"


def _decode_online(vin: str) -> dict | None:
    key = f"crm:vpic:v1:{vin}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    url = _online_url(vin)
    try:
        response = requests.get(url, timeout=VPIC_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
        response.raise_for_status()
        row = response.json()["Results"][0]
        fields = _vpic_fields(row)
    except (requests.RequestException, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # Failures are not cached: the next decode tries again.
        log.warning("NHTSA vPIC lookup for %s failed (%s: %s); using the offline decoder", vin, type(exc).__name__, exc)
        return None
    cache.set(key, fields, VPIC_CACHE_SECONDS)
    return dict(fields)


def _vpic_fields(row: dict) -> dict:
    def text(name: str) -> str:
        value = row.get(name)
        return value.strip() if isinstance(value, str) else ""

    year = text("ModelYear")
    error_code = text("ErrorCode")
    return {
        "year": int(year) if year.isdigit() else None,
        "make": _tidy_make(text("Make")),
        "model": text("Model"),
        "trim": text("Trim"),
        "series": text("Series"),
        "body_class": text("BodyClass"),
        "vehicle_type": text("VehicleType"),
        "manufacturer": text("Manufacturer"),
        "nhtsa_note": text("ErrorText") if error_code and error_code != "0" else "",
    }


def _tidy_make(make: str) -> str:
    """vPIC shouts makes ("HONDA" → "Honda"); short ones are usually acronyms and stay (BMW, GMC, RAM)."""
    if make.isupper() and len(make) > 3:
        return "-".join(part.title() for part in make.split("-"))
    return make


# --- vehicles -----------------------------------------------------------------------------------


def apply_vin_to_vehicle(vehicle) -> list[str]:
    """Validate and decode `vehicle.vin` in place (from Vehicle.clean); return the advisor's warnings.

    Fills year/make/model/trim only where they are blank — what the advisor typed wins, but a
    disagreement with the VIN is reported as a warning. The warnings are also left on
    `vehicle.vin_warnings` for the admin to show.
    """
    vehicle.vin_warnings = []
    vehicle.vin = normalize_vin(vehicle.vin)
    if not vehicle.vin:
        vehicle.decoded = {}
        return []
    try:
        check = validate_vin(vehicle.vin)
    except ValidationError as exc:
        raise ValidationError({"vin": exc.error_list}) from None
    vehicle.vin = check.vin
    decoded = vehicle.decoded if isinstance(vehicle.decoded, dict) else {}
    if decoded.get("vin") != check.vin or not decoded.get("found"):
        decoded = decode_vin(check.vin)
        vehicle.decoded = decoded
    warnings = list(check.warnings)
    if decoded.get("found"):
        warnings += _disagreements(vehicle, decoded)
        if vehicle.year is None and decoded.get("year"):
            vehicle.year = decoded["year"]
        if not vehicle.make:
            vehicle.make = decoded.get("make", "")[:60]
        if not vehicle.model:
            vehicle.model = decoded.get("model", "")[:60]
        if not vehicle.trim:
            vehicle.trim = (decoded.get("trim") or decoded.get("series") or "")[:80]
    vehicle.vin_warnings = warnings
    return warnings


def _disagreements(vehicle, decoded: dict) -> list[str]:
    found = []
    if vehicle.year and decoded.get("year") and vehicle.year != decoded["year"]:
        found.append(f"The VIN says model year {decoded['year']}, but the year entered is {vehicle.year}.")
    if vehicle.make and decoded.get("make") and vehicle.make.strip().lower() != decoded["make"].lower():
        found.append(f"The VIN says the make is {decoded['make']}, but “{vehicle.make}” was entered.")
    return found
