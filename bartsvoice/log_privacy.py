"""Phone numbers never reach a log whole: the last four digits are enough to tell calls apart.

Call sites mask what they log with crm.phones.mask_phone; this filter, on every handler the project sets up
(Django's LOGGING and Celery's), catches what a call site or a library lets through (an exception's message,
a library's own log line).
"""

from __future__ import annotations

import logging
import re

# E.164 ("+13125550142") and the national display form ("(312) 555-0142"), kept to their last four digits.
_NUMBERS = re.compile(r"(?<![\w+])\+\d{4,11}(\d{4})\b|\(\d{3}\)\s?\d{3}-(\d{4})\b")


def mask_numbers(text: str) -> str:
    return _NUMBERS.sub(lambda m: "***" + (m.group(1) or m.group(2)), text)


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
