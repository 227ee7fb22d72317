"""Live calls over the real channels-redis layer (the Redis of REDIS_URL): the voice session publishes what it
writes, a broken layer costs the call nothing, and the live page's socket checks who is connecting."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from bartsvoice.db import in_db_thread
from calls import live
from calls.live import LOBBY_GROUP, LiveFeed, call_group
from calls.models import Call, Turn
from calls.routing import websocket_application
from calls.simulator import create_simulated_call, run_simulated_call
from calls.tests.call_log_fixtures import add_conversation, latency, make_call, make_people
from calls.voice.providers.instant import InstantBrain

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def redis_layer():
    if not settings.REDIS_URL:
        pytest.skip("the live feed is tested on the real channels-redis layer: set REDIS_URL")
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisChannelLayer"
    return layer


async def _lines(*lines):
    for line in lines:
        yield line


async def _drain(layer, channel: str, *, until, timeout: float = 10.0) -> list[dict]:
    """Messages on `channel` until `until(messages)` holds."""
    messages: list[dict] = []
    async with asyncio.timeout(timeout):
        while not until(messages):
            messages.append(await layer.receive(channel))
    return messages


def _ended_twice(messages):
    return sum(1 for m in messages if m.get("event") == "ended") == 2


async def test_a_call_publishes_its_start_turns_and_end(redis_layer):
    call = await in_db_thread(create_simulated_call, "+13125550142")
    channel = await redis_layer.new_channel()
    await redis_layer.group_add(LOBBY_GROUP, channel)
    await redis_layer.group_add(call_group(call.pk), channel)
    result = await run_simulated_call(call, _lines("hello there", "goodbye"), brain=InstantBrain())
    assert result.ended_normally
    messages = await _drain(redis_layer, channel, until=_ended_twice)
    assert messages[0] == {"type": "live.call", "event": "started", "call": call.pk}
    turns = [m["turn"] for m in messages if m["type"] == "live.turn"]
    assert [(t["index"], t["role"]) for t in turns] == [(0, "agent"), (1, "caller"), (2, "agent"), (3, "caller"),
                                                         (4, "agent")]  # fmt: skip
    assert turns[1]["text"] == "hello there" and turns[2]["text"].startswith("You said: hello there.")
    assert all(t["time"] and t["at"] for t in turns)
    assert messages[-1]["outcome"] == "info"
    stored = await in_db_thread(lambda: list(Turn.objects.filter(call=call).order_by("index").values_list("text")))
    assert [t[0] for t in stored] == [t["text"] for t in sorted(turns, key=lambda t: t["index"])]


class _BrokenLayer:
    def __init__(self, how: str):
        self.how = how
        self.attempts = 0

    async def group_send(self, group, message):
        self.attempts += 1
        if self.how == "hang":
            await asyncio.sleep(3600)
        raise ConnectionError("redis is down")


@pytest.mark.parametrize("how", ["raise", "hang", "no layer"])
async def test_a_broken_channel_layer_costs_the_call_nothing(monkeypatch, how, caplog):
    broken = _BrokenLayer(how)

    def layer():
        if how == "no layer":
            raise RuntimeError("CHANNEL_LAYERS is broken")
        return broken

    monkeypatch.setattr(live, "get_channel_layer", layer)
    call = await in_db_thread(create_simulated_call, "+13125550142")
    result = await run_simulated_call(call, _lines("hello there", "goodbye"), brain=InstantBrain())
    assert result.ended_normally
    call = await in_db_thread(Call.objects.get, pk=call.pk)
    assert call.ended_at is not None and call.outcome == "info"
    assert await in_db_thread(Turn.objects.filter(call=call).count) == 5
    if how != "no layer":
        assert broken.attempts >= 1


async def test_two_hundred_calls_publishing_at_once_all_reach_the_layer(redis_layer, monkeypatch):
    # Each call's feed sends on its own: at a turn peak every call of the process holds a Redis connection at the
    # same moment. redis-py's asyncio pool refuses more than 100 by default ("Too many connections"), at once; the
    # send timeout is lengthened so that opening 200 connections on a busy CI core is not what is measured.
    monkeypatch.setattr(live, "SEND_TIMEOUT_S", 60.0)
    feeds = [LiveFeed(n, layer=redis_layer) for n in range(200)]
    for feed in feeds:
        feed.turn(index=1, role="caller", text="hello", started_at=timezone.now())
    for feed in feeds:
        feed.close()
    await asyncio.wait_for(asyncio.gather(*(feed.wait_sent() for feed in feeds)), 30)
    assert sum(feed.failures for feed in feeds) == 0


async def test_a_slow_layer_drops_events_instead_of_queueing_forever():
    class Slow:
        async def group_send(self, group, message):
            await asyncio.sleep(3600)

    feed = LiveFeed(1, layer=Slow())
    for n in range(live.QUEUE_MAX + 10):
        feed.turn(index=n, role="agent", text="hi", started_at=timezone.now())
    assert feed.dropped >= 9
    feed.close()  # the queue is full: the sender is cancelled rather than waited for
    await asyncio.wait_for(feed.wait_sent(), 1)


# --------------------------------------------------------------------------------------------- the socket


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _connect(user=None, *, origin=ORIGIN):
    headers = [origin] if origin else []
    if user is not None:
        headers.append((b"cookie", await in_db_thread(_session_cookie, user)))
    communicator = WebsocketCommunicator(websocket_application, "/ws/calls/live/", headers=headers)
    # The consumer reads the session and the user's permissions before it answers: up to 10 s for that (the
    # communicator's own 1 s was exceeded on a busy machine); it returns as soon as the socket is accepted or closed.
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


@pytest.fixture
def people(transactional_db):
    return make_people()


def _live_call(n: int = 1, **fields) -> Call:
    call = make_call(n, started=timezone.now() - timedelta(minutes=1), minutes=None, status="in_progress",
                     outcome="", **fields)  # fmt: skip
    add_conversation(call, [("do you fix brakes", "Yes, we do brake service.", latency(90, 300, 100, 40))])
    return call


@pytest.mark.parametrize("who", ["anonymous", "staff", "outsider"])
async def test_the_socket_refuses_anyone_who_may_not_see_calls(people, who):
    user = None if who == "anonymous" else people[who]
    communicator, connected, code = await _connect(user)
    assert not connected
    assert code == 4403
    await communicator.disconnect()


async def test_the_socket_refuses_other_sites_pages(people):
    communicator, connected, _ = await _connect(people["manager"], origin=(b"origin", b"https://evil.example"))
    assert not connected
    await communicator.disconnect()


async def test_the_socket_sends_a_snapshot_then_turns_starts_and_ends(people):
    call = await in_db_thread(_live_call)
    communicator, connected, _ = await _connect(people["advisor"])
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    (card,) = snapshot["calls"]
    assert card["id"] == call.pk and card["url"] == f"/calls/{call.pk}/"
    assert [t["text"] for t in card["turns"]] == ["Thanks for calling Bart's.", "do you fix brakes",
                                                  "Yes, we do brake service."]  # fmt: skip

    feed = LiveFeed(call.pk)
    feed.turn(index=3, role="caller", text="can I come in tomorrow", started_at=timezone.now())
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "turn" and message["call"] == call.pk
    assert message["turn"]["text"] == "can I come in tomorrow" and message["turn"]["role"] == "caller"

    other = await in_db_thread(_live_call, 2, from_number="+16305550123")
    LiveFeed(other.pk).started()
    message = await communicator.receive_json_from(timeout=5)
    assert message["type"] == "call_started" and message["call"]["id"] == other.pk
    assert message["call"]["caller"] == "(630) 555-0123"

    feed.ended(outcome="booked")
    message = await communicator.receive_json_from(timeout=5)
    assert message == {"type": "call_ended", "call": call.pk, "outcome": "Booked", "url": f"/calls/{call.pk}/"}
    # once ended, that call's late events no longer reach the page
    LiveFeed(call.pk).turn(index=9, role="agent", text="late", started_at=timezone.now())
    LiveFeed(other.pk).turn(index=9, role="agent", text="still going", started_at=timezone.now())
    message = await communicator.receive_json_from(timeout=5)
    assert message["call"] == other.pk and message["turn"]["text"] == "still going"
    await communicator.disconnect()
