"""The media-stream socket speaking Twilio's protocol: token rules, bad frames, marks, clear, dtmf, stop.

Providers are the instant ones (calls/voice/providers/instant.py) so these tests are about the
protocol and the session, not speech quality; the VAD is the real one.
"""

import asyncio
import base64
import json
import uuid

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from bartsvoice.db import in_db_thread
from calls.media_stream import media_stream_app
from calls.models import Call
from calls.services import start_call
from calls.stream_tokens import mint_stream_token
from calls.voice.audio import ulaw_silence
from calls.voice.providers import registry

pytestmark = [pytest.mark.django_db(transaction=True)]

INSTANT = dict(VOICE_STT="instant", VOICE_TTS="instant", VOICE_BRAIN="instant", VOICE_REPROMPT_SECONDS=8.0)


@pytest.fixture(autouse=True)
def _instant_providers(settings):
    for key, value in INSTANT.items():
        setattr(settings, key, value)
    registry.stt_provider.cache_clear()
    yield
    registry.stt_provider.cache_clear()


def _new_call(transport=Call.Transport.TWILIO) -> tuple[str, str]:
    sid = f"CA{uuid.uuid4().hex}"
    start_call(
        call_sid=sid, from_number="+13125550142", to_number="+13125550100", direction="inbound", transport=transport
    )
    return sid, mint_stream_token(call_sid=sid)


def _start(sid: str, token: str | None, stream_sid: str = "MZ1") -> dict:
    params = {} if token is None else {"token": token}
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {"callSid": sid, "streamSid": stream_sid, "customParameters": params, "tracks": ["inbound"]},
    }


def _media(ulaw: bytes) -> str:
    payload = base64.b64encode(ulaw).decode()
    return json.dumps({"event": "media", "streamSid": "MZ1", "media": {"track": "inbound", "payload": payload}})


async def _connect(sid, token) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(media_stream_app, "/ws/media-stream/")
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(text_data=json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await comm.send_to(text_data=json.dumps(_start(sid, token)))
    return comm


async def _collect_until(comm, predicate, timeout=5.0) -> list[dict]:
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        # receive_output's own timeout would cancel the application: poll without it.
        if await comm.receive_nothing(timeout=0.02, interval=0.005):
            continue
        raw = await comm.receive_output()
        if raw["type"] == "websocket.close":
            seen.append({"event": "_closed", "code": raw.get("code")})
            break
        message = json.loads(raw["text"])
        seen.append(message)
        if predicate(message):
            return seen
    return seen


async def _whole_reply(comm, marks: int, timeout=5.0) -> list[dict]:
    """Everything the agent sends for one reply of `marks` sentences (each ends with a mark)."""
    seen = []
    for _ in range(marks):
        seen += await _collect_until(comm, lambda m: m.get("event") in ("mark", "_closed"), timeout=timeout)
        assert seen and seen[-1].get("event") == "mark", f"expected {marks} marks: {[m.get('event') for m in seen]}"
    return seen


async def _play_until_hung_up(comm, timeout=10.0) -> list[dict]:
    """Play the agent's audio like a phone (every mark echoed as it comes) until the agent closes the socket."""
    seen = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not seen or seen[-1].get("event") != "_closed":
        assert loop.time() < deadline, f"the agent did not hang up within {timeout} s: {[m.get('event') for m in seen]}"
        more = await _collect_until(comm, lambda m: m.get("event") == "mark", timeout=deadline - loop.time())
        await _echo_marks(comm, more)
        seen += more
    return seen


async def _hang_up(comm) -> None:
    """The phone hangs up; returns once the application has finished, the call written."""
    await comm.disconnect(timeout=10)
    assert not comm.future.cancelled(), "the media socket was still busy 10 s after the hang-up"


async def _settle(comm) -> None:
    """Until the application has taken every frame sent and what they set off has run (no wall-clock wait)."""
    while not comm.input_queue.empty():
        await asyncio.sleep(0)
    for _ in range(50):  # frame -> session event -> barge-in -> clear task -> socket: a handful of hops
        await asyncio.sleep(0)


async def _echo_marks(comm, messages):
    for message in messages:
        if message.get("event") == "mark":
            await comm.send_to(text_data=json.dumps(message))


async def _close_code(comm) -> int | None:
    raw = await comm.receive_output(timeout=5)
    assert raw["type"] == "websocket.close", raw
    return raw.get("code")


def _frames_until_speech(frames: list[bytes], speech_ms: int) -> int:
    """How many frames a call's speech detector takes to hear `speech_ms` of speech."""
    detector = registry.speech_detector_for_call()
    for n, frame in enumerate(frames, start=1):
        detector.feed(frame)
        if detector.speech_ms >= speech_ms:
            return n
    raise AssertionError(f"the clip never reaches {speech_ms} ms of speech")


def _speech(seconds: float = 1.2) -> bytes:
    from calls.voice.providers.espeak import synthesize_ulaw

    audio = synthesize_ulaw("What time do you open on Saturday morning?")
    return audio[: int(seconds * 8000)]


async def test_missing_token_is_refused_with_1008():
    sid, _ = await in_db_thread(_new_call)
    comm = await _connect(sid, None)
    assert await _close_code(comm) == 1008
    await comm.disconnect()


async def test_reused_token_is_refused():
    sid, token = await in_db_thread(_new_call)
    first = await _connect(sid, token)
    messages = await _collect_until(first, lambda m: m.get("event") == "media")
    assert any(m.get("event") == "media" for m in messages)
    second = await _connect(sid, token)
    assert await _close_code(second) == 1008
    await first.disconnect()
    await second.disconnect()


async def test_foreign_token_is_refused():
    sid, _ = await in_db_thread(_new_call)
    _, other_token = await in_db_thread(_new_call)
    comm = await _connect(sid, other_token)
    assert await _close_code(comm) == 1008


async def test_expired_token_is_refused(monkeypatch):
    import time as time_module

    sid, token = await in_db_thread(_new_call)
    real_time = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real_time() + 120)
    comm = await _connect(sid, token)
    assert await _close_code(comm) == 1008


async def test_greeting_comes_with_marks_and_bad_frames_are_skipped(caplog):
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    # Garbage of every kind: the call must go on.
    await comm.send_to(text_data="{not json")
    await comm.send_to(text_data=json.dumps({"event": "wobble"}))
    await comm.send_to(text_data=json.dumps({"no": "event"}))
    await comm.send_to(
        text_data=json.dumps({"event": "media", "media": {"track": "inbound", "payload": "!!!notbase64"}})
    )
    await comm.send_to(text_data="x" * (70 * 1024))
    await comm.send_to(bytes_data=b"\x00\x01")
    messages = await _collect_until(comm, lambda m: m.get("event") == "mark")
    events = [m["event"] for m in messages]
    assert "media" in events and events[-1] == "mark"
    assert all(m["streamSid"] == "MZ1" for m in messages)
    assert "skipped frame" in caplog.text
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": sid}}))
    await comm.disconnect()


async def test_caller_turn_gets_a_reply_and_stop_finalises_the_call(quick_voice):
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    greeting = await _whole_reply(comm, marks=2)
    await _echo_marks(comm, greeting)
    # Caller speaks, then silence: the VAD ends the turn, the (instant) recogniser gives the text.
    speech = _speech()
    for i in range(0, len(speech), 160):
        await comm.send_to(text_data=_media(speech[i : i + 160]))
    for _ in range(40):  # 800 ms of silence, as Twilio would keep streaming
        await comm.send_to(text_data=_media(ulaw_silence(20)))
    reply = await _whole_reply(comm, marks=2)  # "You said: what are your hours." "Anything else?"
    assert any(m.get("event") == "media" for m in reply)
    await _echo_marks(comm, reply)
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZ1", "stop": {"callSid": sid}}))
    await _hang_up(comm)
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    turns = await in_db_thread(lambda: list(call.turns.order_by("index").values_list("role", "text")))
    assert call.ended_at is not None
    assert call.stream_sid == "MZ1"
    assert turns[0][0] == "agent"
    assert ("caller", "what are your hours") in turns
    assert any(role == "agent" and "You said" in text for role, text in turns)
    agent_turn = await in_db_thread(lambda: call.turns.filter(role="agent", stt_ms__isnull=False).first())
    assert agent_turn.first_audio_ms is not None and agent_turn.first_audio_ms >= agent_turn.stt_ms


async def test_caller_speech_over_the_agent_clears_its_audio_on_the_frame_that_reaches_the_guard(settings):
    """The agent stops on the very frame that brings the caller's speech to VOICE_BARGE_IN_MS, never later
    (the latency in milliseconds is a figure of bench/calls.py)."""
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    # The greeting is still "playing" (no marks echoed): the caller talks over it.
    await _collect_until(comm, lambda m: m.get("event") == "mark")
    speech = _speech(1.0)
    frames = [speech[i : i + 160] for i in range(0, len(speech) - 159, 160)]
    # The frame at which the call's own speech detector has heard VOICE_BARGE_IN_MS of speech.
    guard_frame = _frames_until_speech(frames, settings.VOICE_BARGE_IN_MS)
    sent, cleared = 0, False
    for frame in frames:
        await comm.send_to(text_data=_media(frame))
        sent += 1
        await _settle(comm)
        while not cleared and not comm.output_queue.empty():
            cleared = json.loads((await comm.receive_output())["text"]).get("event") == "clear"
        if cleared:
            break
    assert cleared, "no clear in a whole second of caller speech over the agent"
    assert sent * 20 >= settings.VOICE_BARGE_IN_MS  # a cough does not interrupt
    assert sent == guard_frame, f"clear after {sent} frames; the guard was reached at frame {guard_frame}"
    await _hang_up(comm)
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    greeting = await in_db_thread(lambda: call.turns.get(index=0))
    assert greeting.interrupted
    assert greeting.text != "Thanks for calling. How can I help you today?"


async def test_short_backchannel_does_not_interrupt():
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    await _collect_until(comm, lambda m: m.get("event") == "mark")
    short = _speech(0.16)  # a cough / "uh-huh": under the 250 ms barge-in threshold
    for i in range(0, len(short), 160):
        await comm.send_to(text_data=_media(short[i : i + 160]))
    for _ in range(10):
        await comm.send_to(text_data=_media(ulaw_silence(20)))
    await _settle(comm)
    later = []
    while not comm.output_queue.empty():
        later.append(json.loads((await comm.receive_output())["text"]))
    assert not any(m.get("event") == "clear" for m in later)
    await _hang_up(comm)


async def test_dtmf_zero_transfers_the_call(quick_voice):
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    greeting = await _whole_reply(comm, marks=2)
    await _echo_marks(comm, greeting)
    await comm.send_to(
        text_data=json.dumps({"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "0"}})
    )
    # Twilio isn't configured here: the agent says an advisor will call back, then hangs up.
    await _play_until_hung_up(comm)
    await _hang_up(comm)  # the socket's end: the call is written by then
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    assert call.outcome == "transferred"
    assert call.ended_at is not None


async def test_abrupt_disconnect_finalises_the_call():
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    await _collect_until(comm, lambda m: m.get("event") == "mark")
    await _hang_up(comm)
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    assert call.ended_at is not None
    assert call.outcome == "abandoned"
    assert await in_db_thread(lambda: call.turns.filter(role="agent").exists())


@override_settings(VOICE_REPROMPT_SECONDS=0.3)
async def test_silence_reprompts_twice_then_hangs_up(settings, quick_voice):
    settings.VOICE_REPROMPT_SECONDS = 0.3
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    await _play_until_hung_up(comm)
    await _hang_up(comm)
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    texts = await in_db_thread(lambda: list(call.turns.filter(role="agent").values_list("text", flat=True)))
    assert texts.count("Are you still there?") == 2
    assert "hang up" in texts[-1]
    assert call.outcome == "abandoned"


@pytest.fixture
def fake_twilio(settings):
    from calls.tests.fake_twilio import FakeTwilio

    with FakeTwilio() as server:
        settings.TWILIO_ACCOUNT_SID = server.account_sid
        settings.TWILIO_AUTH_TOKEN = server.auth_token
        settings.TWILIO_API_BASE_URL = server.base_url
        settings.SHOP_ADVISOR_NUMBER = "+13125550199"
        yield server


async def test_dtmf_zero_dials_the_advisor_through_twilio(fake_twilio, quick_voice):
    import xml.etree.ElementTree as ET

    sid, token = await in_db_thread(_new_call)
    fake_twilio.add_call(sid)
    comm = await _connect(sid, token)
    await _echo_marks(comm, await _whole_reply(comm, marks=2))
    await comm.send_to(
        text_data=json.dumps({"event": "dtmf", "streamSid": "MZ1", "dtmf": {"track": "inbound_track", "digit": "0"}})
    )
    await _echo_marks(comm, await _whole_reply(comm, marks=1))  # "One moment, I'm transferring you..."
    for _ in range(100):
        if fake_twilio.requests:
            break
        await asyncio.sleep(0.05)
    [request] = fake_twilio.requests
    assert request.path.endswith(f"/Calls/{sid}.json")
    twiml = ET.fromstring(request.value("Twiml"))  # noqa: S314 -- TwiML we generated
    assert twiml.find("Dial").text == "+13125550199"
    await _hang_up(comm)
    call = await in_db_thread(Call.objects.get, call_sid=sid)
    assert call.outcome == "transferred" and call.ended_at is not None


async def test_goodbye_plays_to_the_end_then_twilio_hangs_up(fake_twilio, quick_voice):
    # The instant recogniser hears "goodbye" this time: the instant brain says "Goodbye!" and ends the call.
    registry.stt_provider().text = "goodbye"
    sid, token = await in_db_thread(_new_call)
    fake_twilio.add_call(sid)
    comm = await _connect(sid, token)
    await _echo_marks(comm, await _whole_reply(comm, marks=2))
    speech = _speech(0.8)
    for i in range(0, len(speech), 160):
        await comm.send_to(text_data=_media(speech[i : i + 160]))
    for _ in range(40):
        await comm.send_to(text_data=_media(ulaw_silence(20)))
    goodbye = await _collect_until(comm, lambda m: m.get("event") == "mark", timeout=5)
    assert any(m.get("event") == "media" for m in goodbye)
    await asyncio.sleep(0.3)
    assert not fake_twilio.requests, "hung up before the goodbye had played"
    await _echo_marks(comm, goodbye)
    assert await _close_code(comm) == 1000
    [request] = fake_twilio.requests
    assert request.value("Status") == "completed"


async def test_greeting_latency_counts_the_bootstrap(monkeypatch):
    import time

    import calls.media_stream as media_stream

    real = media_stream.open_stream_call

    def slow(**kwargs):
        time.sleep(0.5)  # a slow database / token check at `start`
        return real(**kwargs)

    monkeypatch.setattr(media_stream, "open_stream_call", slow)
    sid, token = await in_db_thread(_new_call)
    comm = await _connect(sid, token)
    await _collect_until(comm, lambda m: m.get("event") == "media")
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZ1"}))
    await _hang_up(comm)
    greeting = await in_db_thread(lambda: Call.objects.get(call_sid=sid).turns.get(index=0))
    # Counted from the `start` frame: the 500 ms spent at the bootstrap are in it.
    assert greeting.first_audio_ms >= 500, greeting.first_audio_ms


async def test_a_socket_that_never_starts_is_closed(monkeypatch):
    import calls.media_stream as media_stream

    monkeypatch.setattr(media_stream, "START_TIMEOUT_S", 0.5)
    comm = WebsocketCommunicator(media_stream_app, "/ws/media-stream/")
    assert (await comm.connect())[0]
    await comm.send_to(text_data=json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    assert await _close_code(comm) == 1008


class Disconnected(Exception):  # named after autobahn's
    """What daphne's WebSocket engine raises for a send between the caller's close frame and the disconnect."""


async def test_a_hang_up_while_the_agent_speaks_is_a_hang_up_not_a_synthesis_failure():
    """The race behind "speech synthesis failed" on ~1 in 160 hang-ups, made deterministic: the caller's close
    frame has arrived, so the next send raises, and daphne's disconnect event follows a moment later."""
    sid, token = await in_db_thread(_new_call)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue()
    media_sent = 0
    refused = []

    async def send(message):
        nonlocal media_sent
        if refused:
            refused.append(message)
            raise Disconnected("Attempt to send on a closed protocol")
        if message["type"] == "websocket.send" and json.loads(message["text"])["event"] == "media":
            media_sent += 1
            if media_sent == 2:
                refused.append(message)
                loop.call_later(0.3, inbox.put_nowait, {"type": "websocket.disconnect", "code": 1000})
                raise Disconnected("Attempt to send on a closed protocol")

    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": json.dumps({"event": "connected"})})
    inbox.put_nowait({"type": "websocket.receive", "text": json.dumps(_start(sid, token))})
    scope = {"type": "websocket", "path": "/ws/media-stream/", "headers": [], "query_string": b""}
    await asyncio.wait_for(media_stream_app(scope, inbox.get, send), 10)

    call = await in_db_thread(Call.objects.get, call_sid=sid)
    assert refused and call.ended_at is not None
    assert "synthesis" not in call.summary and "transferred" not in call.summary
    assert not call.callback_requested
    assert (call.status, call.outcome) == ("completed", "abandoned")
    greeting = await in_db_thread(lambda: call.turns.get(index=0))
    assert greeting.interrupted  # what the caller heard of it, before hanging up
