"""Which call a log line belongs to: the CallSid and StreamSid of the call being served.

They live in context variables. The media-stream socket binds them once it knows its call; asyncio copies the
context into every task created afterwards, and `sync_to_async` into its threads, so everything a call's session
logs -- from any of its tasks, and from the tools and providers it calls -- carries them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

_call_sid: ContextVar[str] = ContextVar("call_sid", default="")
_stream_sid: ContextVar[str] = ContextVar("stream_sid", default="")


def bind_call(call_sid: str, stream_sid: str = "") -> None:
    """From here on, in this task and the tasks and threads it starts, log lines name this call."""
    _call_sid.set(call_sid or "")
    _stream_sid.set(stream_sid or "")


@contextlib.contextmanager
def call_logging(call_sid: str, stream_sid: str = "") -> Iterator[None]:
    """The same for a block of synchronous code (a webhook, a Celery task); restored afterwards."""
    call_token = _call_sid.set(call_sid or "")
    stream_token = _stream_sid.set(stream_sid or "")
    try:
        yield
    finally:
        _stream_sid.reset(stream_token)
        _call_sid.reset(call_token)


def current_call() -> dict[str, str]:
    """{"call_sid": ..., "stream_sid": ...} with only what is bound (empty outside a call)."""
    found = {"call_sid": _call_sid.get(), "stream_sid": _stream_sid.get()}
    return {key: value for key, value in found.items() if value}


class CallContextFilter(logging.Filter):
    """Puts the call on each record: `call_sid` and `stream_sid` (structured logs), `call_tag` (readable logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        call = current_call()
        for key, value in call.items():
            setattr(record, key, value)
        record.call_tag = " [" + " ".join(f"{key}={value}" for key, value in call.items()) + "]" if call else ""
        return True
