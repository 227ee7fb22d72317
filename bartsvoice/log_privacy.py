"""Phone numbers (and payment card numbers) never reach a log whole: the last four digits are enough to tell
calls apart.

Call sites mask what they log with crm.phones.mask_phone; this filter, on every handler the project sets up
(Django's LOGGING and Celery's), catches what a call site or a library lets through (an exception's message,
a library's own log line).
"""

from __future__ import annotations

import logging
import re

# E.164 ("+13125550142") and the national display form ("(312) 555-0142"), kept to their last four digits.
_NUMBERS = re.compile(r"(?<![\w+])\+\d{4,11}(\d{4})\b|\(\d{3}\)\s?\d{3}-(\d{4})\b")
# North American numbers as people type or say them: "312-555-0142", "312.555.0142", "+1 312 555 0142",
# "13125550142". Area code and exchange never start with 0 or 1, which leaves dates, epochs and ids alone.
_NANP = re.compile(
    r"(?<![\w+.-])(?:\+?1[ .-]?)?(?:\([2-9]\d\d\) ?|[2-9]\d\d[ .-]?)[2-9]\d\d[ .-]?(\d{4})(?![\w-]|\.\d)"
)


# A card number a caller reads out: 13 to 19 digits, maybe in groups, that pass the Luhn check.
_CARDS = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?!\w)")


def mask_numbers(text: str) -> str:
    text = _NANP.sub(lambda m: "***" + m.group(1), text)  # first: "+1 (312) 555-0142" goes whole
    text = _NUMBERS.sub(lambda m: "***" + (m.group(1) or m.group(2)), text)
    return _CARDS.sub(_mask_card, text)


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "****" + digits[-4:] if _luhn_ok(digits) else match.group(0)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


class MaskPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_numbers(logging.Formatter().formatException(record.exc_info))
        return True


def mask_handlers(logger: logging.Logger) -> None:
    """Add the filter to every handler of `logger` (Celery replaces the root logger's handlers)."""
    for handler in logger.handlers:
        if not any(isinstance(f, MaskPhoneNumbers) for f in handler.filters):
            handler.addFilter(MaskPhoneNumbers())
