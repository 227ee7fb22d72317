"""Phone numbers: everything is stored and compared in E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return `raw` as E.164 ("+13125550142") or raise ValidationError with a readable message."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Enter a phone number.", code="required")
    try:
        parsed = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "“%(raw)s” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142.",
            code="invalid",
            params={"raw": text},
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            "“%(raw)s” is not a valid phone number (wrong number of digits or an unused area code).",
            code="invalid",
            params={"raw": text},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


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
