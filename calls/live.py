"""Calls in progress, pushed to the managers' live page (calls/consumers.py) through the Channels layer.

Groups: `calls.live` hears calls start and end; `calls.live.<call id>` hears each turn of one call as it is
written. The voice session feeds them from its database writer through a `LiveFeed`, which never holds up
or fails a call: publishing is a queue append, a separate task sends with a timeout, and whatever the layer
does (down, slow, full) is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from channels.layers import get_channel_layer

from scheduling.display import clock

log = logging.getLogger(__name__)

LOBBY_GROUP = "calls.live"
SEND_TIMEOUT_S = 1.0
QUEUE_MAX = 200  # events of one call waiting for a slow layer; beyond that they are dropped
_LOG_FAILURES = 3  # per call, then quiet

# Messages' "type" values: the consumer's handler names with the dot read as an underscore.
CALL_EVENT = "live.call"
TURN_EVENT = "live.turn"


def call_group(call_id: int) -> str:
    return f"{LOBBY_GROUP}.{call_id}"


def turn_payload(
    *,
    index: int,
    role: str,
    text: str,
    started_at: datetime | None,
    interrupted: bool = False,
    first_audio_ms: int | None = None,
) -> dict:
    """A turn as the live page shows it; the same shape from the feed and from the database (snapshots)."""
    return {
        "index": index,
        "role": role,
        "text": text,
        "interrupted": bool(interrupted),
        "time": clock(started_at) if started_at else "",
        "at": started_at.isoformat() if started_at else "",
        "latency_ms": first_audio_ms,
    }


class LiveFeed:
    """One call's progress for the live page. Every method is synchronous, cheap and cannot raise."""

    def __init__(self, call_id: int, layer=None):
        self.call_id = call_id
        self._layer = layer if layer is not None else _default_layer()
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self.failures = 0
        self.dropped = 0

    def started(self) -> None:
        self._put(LOBBY_GROUP, {"type": CALL_EVENT, "event": "started", "call": self.call_id})

    def turn(self, **turn) -> None:
        try:
            payload = turn_payload(**turn)
        except Exception:
            log.exception("live feed of call %s: unusable turn", self.call_id)
            return
        self._put(call_group(self.call_id), {"type": TURN_EVENT, "call": self.call_id, "turn": payload})

    def ended(self, *, outcome: str = "") -> None:
        message = {"type": CALL_EVENT, "event": "ended", "call": self.call_id, "outcome": outcome}
        self._put(call_group(self.call_id), message)
        self._put(LOBBY_GROUP, message)
        self.close()

    def close(self) -> None:
        """No more events: the sending task ends once the queue is empty (or at once if it is stuck)."""
        if self._queue is None:
            return
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._task.cancel()

    async def wait_sent(self) -> None:
        """Until everything published so far is sent or dropped (tests, benchmarks)."""
        if self._task is not None:
            await asyncio.wait({self._task})

    def _put(self, group: str, message: dict) -> None:
        if self._layer is None:
            return
        try:
            if self._queue is None:
                self._queue = asyncio.Queue(maxsize=QUEUE_MAX)
                self._task = asyncio.ensure_future(self._send_all())
            self._queue.put_nowait((group, message))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("live feed of call %s: channel layer too slow, dropping events", self.call_id)
        except Exception:
            log.exception("live feed of call %s: could not queue an event", self.call_id)

    async def _send_all(self) -> None:
        while (item := await self._queue.get()) is not None:
            group, message = item
            try:
                await asyncio.wait_for(self._layer.group_send(group, message), SEND_TIMEOUT_S)
            except Exception:  # a live page missing a turn must never cost the call anything
                self.failures += 1
                if self.failures <= _LOG_FAILURES:
                    log.warning("live feed of call %s: channel layer failed", self.call_id, exc_info=True)


def _default_layer():
    try:
        return get_channel_layer()
    except Exception:
        log.exception("live feed: no channel layer")
        return None
