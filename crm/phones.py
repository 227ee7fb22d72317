"""Phone numbers: everything is stored and compared in E.164."""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

_Reason = phonenumbers.ValidationResult
_LENGTH_PROBLEMS = {
    _Reason.IS_POSSIBLE_LOCAL_ONLY: "“%(raw)s” is missing the area code — dial it like (312) 555-0142.",
    _Reason.TOO_SHORT: "“%(raw)s” is too short for a phone number — include the area code, e.g. (312) 555-0142.",
    _Reason.INVALID_LENGTH: "“%(raw)s” has the wrong number of digits for a phone number.",
    _Reason.TOO_LONG: "“%(raw)s” has too many digits for a phone number.",
    _Reason.INVALID_COUNTRY_CODE: "“%(raw)s” starts with a country code that does not exist.",
}
_SEARCHABLE = re.compile(r"[\d\s()+.\-]+")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return `raw` as E.164 ("+13125550142") or raise ValidationError with a readable message."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    region = region or settings.PHONE_DEFAULT_REGION
    parsed = _parse(text, region)
    if parsed is None and text.startswith("00"):
        # "0044 20 …": the European way of dialling abroad, typed by callers from there.
        parsed = _parse("+" + text[2:], region)
    if parsed is None:
        raise ValidationError(
            "“%(raw)s” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142.",
            code="invalid",
            params={"raw": text},
        )
    if not phonenumbers.is_valid_number(parsed):
        reason = phonenumbers.is_possible_number_with_reason(parsed)
        message = _LENGTH_PROBLEMS.get(
            reason, "“%(raw)s” is not a valid phone number: that area code or exchange is not in use."
        )
        raise ValidationError(message, code="invalid", params={"raw": text})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if text.startswith("00") and not phonenumbers.is_valid_number(parsed):
        return None  # let the caller retry "00…" as an international number
    return parsed


def validate_phone(raw: str) -> None:
    """A model field validator: `raw` is a phone number (any format; the model's clean() stores it as E.164)."""
    if (raw or "").strip():
        normalize_phone(raw)


def try_normalize_phone(raw: str) -> str | None:
    try:
        return normalize_phone(raw)
    except ValidationError:
        return None


def format_phone_national(e164: str) -> str:
    """For people: "(312) 555-0142" for home-region numbers, international format otherwise."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(parsed)
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONE_DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, fmt)


def spoken_phone(e164: str) -> str:
    """How a person reads the number out: its digits one by one, in the groups it is written in.
    +13125550100 -> "3 1 2, 5 5 5, 0 1 0 0"; a number from abroad starts with "plus" and its country code."""
    written = format_phone_national(e164)
    groups = re.findall(r"\d+", written)
    spoken = ", ".join(" ".join(group) for group in groups)
    return f"plus {spoken}" if written.startswith("+") else spoken


def phone_search_digits(term: str) -> str | None:
    """The digits of a search term that looks like (part of) a phone number, else None.

    "555-0142" → "5550142" and "020 7946 0958" → "2079460958", so a search can match stored E.164
    numbers by substring; "2003 Honda" or a four-digit year fragment is not treated as a phone.
    """
    text = (term or "").strip()
    if not _SEARCHABLE.fullmatch(text):
        return None
    # Leading zeros are trunk or international prefixes ("020 7946 0958", "0044 …"), never in E.164.
    digits = re.sub(r"\D", "", text).lstrip("0")
    return digits if len(digits) >= 5 else None


def mask_phone(raw: str | None) -> str:
    """A phone number as logs may show it: only the last four digits ("***0142"); "-" for none."""
    digits = re.sub(r"\D", "", raw or "")
    if not digits:
        return "-" if not raw else "***"
    return "***" + digits[-4:]
