"""Phone numbers appear in logs as their last four digits only."""

import io
import logging

import pytest

from bartsvoice.log_privacy import MaskPhoneNumbers, mask_handlers, mask_numbers
from crm.phones import mask_phone


def test_mask_phone_keeps_the_last_four_digits():
    assert mask_phone("+13125550142") == "***0142"
    assert mask_phone("(312) 555-0142") == "***0142"
    assert mask_phone("") == "-" and mask_phone(None) == "-"
    assert mask_phone("anonymous") == "***"


def test_mask_numbers_in_free_text():
    text = "call CA0123 from +13125550142 to (312) 555-0100 at 2026-12-01 10:30, reminder #15, 40 digits 123456789"
    assert mask_numbers(text) == (
        "call CA0123 from ***0142 to ***0100 at 2026-12-01 10:30, reminder #15, 40 digits 123456789"
    )
    assert mask_numbers("+442079460958 and +13125550142.") == "***0958 and ***0142."


@pytest.mark.parametrize(
    "number",
    ["312-555-0142", "312.555.0142", "312 555 0142", "(312)555-0142", "+1 312 555 0142", "+1 (312) 555-0142",
     "1-312-555-0142", "3125550142", "13125550142", "+1-312-555-0142"],
)  # fmt: skip
def test_numbers_typed_or_said_the_national_way_are_masked_too(number):
    """What staff type into a search or a library puts in its message is rarely E.164."""
    assert mask_numbers(f"no customer with {number}, sorry") == "no customer with ***0142, sorry"


def test_other_numbers_are_left_alone():
    for text in (
        "epoch 1733010000 s",
        "took 1234567890123 ms",
        "2026-12-01 10:30:15",
        "order 0125550142",
        "v1.312.555",
    ):
        assert mask_numbers(text) == text


def test_the_configured_handler_masks_what_call_sites_let_through():
    # settings.LOGGING's console handler (an in-process Celery worker may have added its own to the root logger)
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert any(isinstance(f, MaskPhoneNumbers) for f in console.filters)
    buffer = io.StringIO()
    previous = console.setStream(buffer)
    try:
        log = logging.getLogger("somewhere.else")
        log.warning("Twilio refused the call to %s", "+13125550142")
        try:
            raise RuntimeError("could not reach +13125550199")
        except RuntimeError:
            log.exception("dialling failed")
    finally:
        console.setStream(previous)
    err = buffer.getvalue()
    assert "***0142" in err and "***0199" in err
    assert "5550142" not in err and "5550199" not in err


def test_celery_handlers_get_the_filter_too():
    logger = logging.getLogger("celery-like")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        mask_handlers(logger)
        mask_handlers(logger)  # idempotent
        assert sum(isinstance(f, MaskPhoneNumbers) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db
def test_identity_logs_mask_the_caller(caplog):
    from crm import identity
    from crm.models import Customer

    Customer.objects.create(first_name="Maria", last_name="Garcia", phone="+13125550142", postal_code="60601")
    with caplog.at_level(logging.INFO):
        identity.verify_caller(
            identity.Claim("Maria", "Garcia", "60601", vehicle_make="Ford"), calling_number="+13125550177"
        )
    assert "***0177" in caplog.text and "5550177" not in caplog.text
