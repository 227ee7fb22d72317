"""How log lines look: JSON objects in production (one per line, for a log shipper), readable text in development.

Both show the call a line belongs to (bartsvoice.log_context) and never a whole phone number
(bartsvoice.log_privacy masks messages and tracebacks).
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from bartsvoice.log_privacy import mask_numbers

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(call_tag)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class JsonFormatter(_JsonFormatter):
    """python-json-logger's formatter with our field names; tracebacks are masked like messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", JSON_FIELDS)
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "call_tag"])  # the readable tag is for text only
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)

    def formatException(self, ei: _ExcInfo) -> str:
        return mask_numbers(str(super().formatException(ei)))


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The LOGGING setting: one console handler on stderr with the call and privacy filters."""
    if fmt not in ("json", "text"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {fmt!r}")
    formatter: dict[str, Any] = (
        {"()": "bartsvoice.log_format.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"console": formatter},
        "filters": {
            "mask_phone_numbers": {"()": "bartsvoice.log_privacy.MaskPhoneNumbers"},
            "call_context": {"()": "bartsvoice.log_context.CallContextFilter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "console",
                "stream": "ext://sys.stderr",
                "filters": ["call_context", "mask_phone_numbers"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"daphne": {"level": "WARNING"}},
    }


def add_call_context(logger: logging.Logger) -> None:
    """Add the call filter to every handler of `logger` (Celery's own handlers, when it sets them up)."""
    from bartsvoice.log_context import CallContextFilter

    for handler in logger.handlers:
        if not any(isinstance(f, CallContextFilter) for f in handler.filters):
            handler.addFilter(CallContextFilter())
