"""At most OUTBOUND_CALLS_PER_SECOND new calls across every worker (Twilio refuses faster dialling).

Each dial reserves the next free slot and sleeps until it: with Redis one Lua script keeps the shared "next free
slot" on the Redis server's own clock (workers' clocks may disagree), so any number of worker processes and
threads space their calls evenly; nobody polls. Without Redis (the embedded default: one worker process) the
same reservation is kept in the process.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

KEY = "dial-rate:next-slot"

# KEYS[1]: the next free slot (ms, Redis clock); ARGV[1]: spacing in ms. Returns the ms to wait for our slot.
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local spacing = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(t, free)
redis.call('SET', KEYS[1], slot + spacing, 'PX', slot - t + spacing + 1000)
return slot - t
"""

_local_lock = threading.Lock()
_local_next = 0.0


def spacing_seconds() -> float:
    return 1.0 / settings.OUTBOUND_CALLS_PER_SECOND


def reserve_slot() -> float:
    """Reserve the next dial slot; returns the seconds to wait for it (0 when it is now)."""
    spacing = spacing_seconds()
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        waited_ms = redis.eval(_RESERVE, 1, f"{prefix}:{KEY}", max(1, round(spacing * 1000)))
        return int(waited_ms) / 1000
    global _local_next
    with _local_lock:
        now = time.monotonic()
        slot = max(now, _local_next)
        _local_next = slot + spacing
        return slot - now


def wait_for_slot(sleep=time.sleep) -> float:
    """Block until this worker may dial; returns how long it waited."""
    wait = reserve_slot()
    if wait > 0:
        sleep(wait)
    return wait
