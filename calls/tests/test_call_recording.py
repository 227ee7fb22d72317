"""Recording calls (RECORD_CALLS): the notice first, our own stereo recording of the media stream on the play
clock, Twilio asked to record too (a local fake of its REST API), a caller who declines is not recorded, managers
play the file through a permission-checked view with Range requests, and retention deletes it."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.urls import reverse
from django.utils import timezone

from bartsvoice.db import in_db_thread
from bartsvoice.tests.media_call import agent_reply, caller_speech, open_instant_call, say
from calls.models import Call, Turn
from calls.recording_consent import RECORDING_DECLINED_TEXT, RECORDING_NOTICE, declined_request
from calls.recording_storage import recordings_storage
from calls.tests import call_log_fixtures
from calls.tests.call_log_fixtures import make_call
from calls.tests.fake_twilio import FakeTwilio
from calls.voice.audio import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16_array
from calls.voice.providers import registry
from calls.voice.recorder import FLUSH_BYTES, StreamRecorder, save_recording

people = call_log_fixtures.people


# --------------------------------------------------------------------------------------------- the recorder


def _tone(samples: int) -> bytes:
    return pcm16_to_ulaw((8000 * np.sin(np.arange(samples) / 3)).astype(np.int16))


def _channels(wav_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Both sides of a stereo µ-law WAV, decoded to 16-bit samples (the wave module reads PCM only)."""
    assert wav_bytes[:4] == b"RIFF" and wav_bytes[8:12] == b"WAVE"
    assert struct.unpack("<I", wav_bytes[4:8])[0] == len(wav_bytes) - 8
    chunks, at = {}, 12
    while at < len(wav_bytes):
        kind, size = wav_bytes[at : at + 4], struct.unpack("<I", wav_bytes[at + 4 : at + 8])[0]
        chunks[kind] = wav_bytes[at + 8 : at + 8 + size]
        at += 8 + size
    tag, channels, rate, byte_rate, block, bits = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
    assert (tag, channels, rate, byte_rate, block, bits) == (7, 2, 8000, 16000, 2, 8)  # µ-law, 16 kB/s
    frames = ulaw_to_pcm16_array(chunks[b"data"])
    assert struct.unpack("<I", chunks[b"fact"])[0] == len(frames) // 2
    return frames[0::2], frames[1::2]


def _wav(rec: StreamRecorder) -> bytes:
    out = io.BytesIO()
    rec.write_wav(out)
    rec.close()
    return out.getvalue()


def _loud(channel: np.ndarray) -> np.ndarray:
    """Indexes of the 10 ms blocks with sound in them."""
    blocks = channel[: len(channel) // 80 * 80].reshape(-1, 80)
    return np.flatnonzero(np.abs(blocks.astype(np.int32)).max(axis=1) > 1000)


def test_caller_left_agent_right_on_the_play_clock():
    rec = StreamRecorder(started_at=100.0)
    for i in range(50):  # 1 s of caller silence, frames arriving on time
        rec.caller(bytes([ULAW_SILENCE]) * 160, at=100.0 + (i + 1) * 0.02)
    rec.agent(_tone(800), plays_at=100.5)  # 100 ms of agent audio heard from 0.5 s
    rec.caller(_tone(160), at=101.04)  # the caller speaks at 1.0 s
    left, right = _channels(_wav(rec))
    assert list(_loud(right)) == list(range(50, 60))
    assert list(_loud(left)) == [100, 101]
    assert rec.seconds == 1


def test_lost_caller_frames_leave_silence_not_a_shift():
    rec = StreamRecorder(started_at=0.0)
    rec.caller(bytes([ULAW_SILENCE]) * 160, at=0.02)
    rec.caller(_tone(160), at=2.02)  # two seconds of frames never arrived
    rec.caller(_tone(160), at=2.5)  # late (network jitter): laid after the one before, no gap added
    left, _ = _channels(_wav(rec))
    assert list(_loud(left)) == [200, 201, 202, 203]


def test_a_barge_in_cuts_what_the_caller_never_heard():
    rec = StreamRecorder(started_at=0.0)
    rec.agent(_tone(800), plays_at=0.0)
    rec.agent(_tone(800), plays_at=0.1)
    rec.agent(_tone(800), plays_at=0.2)  # sent ahead of the play clock
    rec.cut_agent(at=0.15)  # the clear: the phone dropped everything not played by 150 ms
    _, right = _channels(_wav(rec))
    assert list(_loud(right)) == list(range(15))
    rec.discard()
    assert rec.empty


def test_a_long_call_is_spooled_not_held_in_memory():
    """A minute of both sides: the loop's side never holds more than a batch; a cut reaches audio already
    written to the spool (the agent's audio is sent seconds ahead of the play clock)."""
    rec = StreamRecorder(started_at=0.0)
    held = []
    rec.agent(_tone(5 * 8000), plays_at=10.0)  # 5 s sent at once, heard from 10 s
    for i in range(3000):  # 60 s of caller frames, speech at 30 s
        rec.caller(_tone(160) if i == 1500 else bytes([ULAW_SILENCE]) * 160, at=(i + 1) * 0.02)
        if i == 600:
            rec.cut_agent(at=12.0)  # a barge-in at 12 s, long after that audio was spooled
        held.append(rec.held_bytes)
    assert max(held) < FLUSH_BYTES + 160
    left, right = _channels(_wav(rec))
    assert len(left) == 60 * 8000 and rec.seconds == 60
    assert list(_loud(right)) == list(range(1000, 1200))
    assert list(_loud(left)) == [3000, 3001]


def test_a_full_disk_loses_the_recording_not_the_call(monkeypatch):
    """Audio the disk refused leaves a hole: even when the disk recovers, no shifted recording is stored."""
    import tempfile

    disk_full = True
    real = tempfile.TemporaryFile

    def temporary_file(**kwargs):
        if disk_full:
            raise OSError(28, "No space left on device")
        return real(**kwargs)

    monkeypatch.setattr("calls.voice.recorder.tempfile.TemporaryFile", temporary_file)
    rec = StreamRecorder(started_at=0.0)
    for i in range(500):  # 10 s: batches handed over, refused by the disk; the call goes on
        rec.caller(_tone(160), at=(i + 1) * 0.02)
    rec.close()  # (waits for the spool thread)
    disk_full = False
    for i in range(500, 1000):
        rec.caller(_tone(160), at=(i + 1) * 0.02)
    with pytest.raises(OSError, match="No space left"):
        rec.write_wav(io.BytesIO())


def test_a_declined_recording_leaves_nothing_to_store():
    rec = StreamRecorder(started_at=0.0)
    for i in range(200):
        rec.caller(_tone(160), at=(i + 1) * 0.02)
    rec.discard()
    rec.caller(_tone(160), at=5.0)
    assert rec.empty and rec.held_bytes == 0


@pytest.mark.parametrize(
    ("said", "rest"),
    [("please don't record this call", ""), ("I don't want to be recorded", ""), ("stop the recording", ""),
     ("I do not consent", ""), ("I'd rather not be recorded, thanks", ""),
     ("don't record me, I want to book an oil change for Tuesday", "I want to book an oil change for Tuesday"),
     ("I want to book an oil change", None), ("do you record the mileage?", None), ("no", None),
     ("no, that's all", None), ("is my appointment not recorded?", None), ("no recording please", ""),
     ("I'd prefer not to be recorded", ""), ("I don't want this call recorded", "")],
)  # fmt: skip
def test_a_decline_is_heard_and_the_rest_of_the_turn_kept(said, rest):
    assert declined_request(said) == rest


# --------------------------------------------------------------------------------------------- a real call


@pytest.fixture
def recording_setup(settings, tmp_path):
    with FakeTwilio() as twilio:
        settings.TWILIO_ACCOUNT_SID = twilio.account_sid
        settings.TWILIO_AUTH_TOKEN = twilio.auth_token
        settings.TWILIO_API_BASE_URL = twilio.base_url
        settings.PUBLIC_BASE_URL = "https://voice.example.com"
        settings.MEDIA_ROOT = str(tmp_path / "media")
        settings.RECORD_CALLS = True
        settings.TWILIO_RECORD_CALLS = True
        settings.VOICE_REPROMPT_SECONDS = 30.0
        yield twilio
    registry.stt_provider.cache_clear()


async def _call(
    settings, twilio: FakeTwilio, *, caller_says: str, speech: bytes = b"", real_time: bool = False
) -> Call:
    """A phone call over the media stream: greeting, one caller turn answered, hang-up. Returns the stored call."""
    settings.VOICE_INSTANT_TRANSCRIPT = caller_says
    sid = twilio.add_call(f"CA{uuid.uuid4().hex}")
    comm, sid = await open_instant_call(settings, "MZm", sid=sid)
    greeting_audio = await agent_reply(comm, timeout=20)  # the notice makes it a long one
    await say(comm, speech or caller_speech(), real_time=real_time)
    reply_audio = await agent_reply(comm)
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZm", "stop": {"callSid": sid}}))
    await comm.disconnect()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:  # the session's last writes follow the socket's close
        call = await in_db_thread(Call.objects.get, call_sid=sid)
        if call.cost_usd is not None:
            break
        await asyncio.sleep(0.05)
    call.agent_audio = (greeting_audio, reply_audio)  # bytes the caller's phone received, per reply
    return call


@pytest.mark.django_db(transaction=True)
async def test_a_recorded_call_is_announced_recorded_and_played_to_managers(settings, recording_setup, client):
    twilio = recording_setup
    speech = caller_speech()  # (eSpeak's output differs slightly from run to run)
    call = await _call(settings, twilio, caller_says="what are your hours", speech=speech, real_time=True)
    turns = await in_db_thread(lambda: list(Turn.objects.filter(call=call).order_by("index")))
    assert turns[0].text.startswith(RECORDING_NOTICE), turns[0].text
    assert call.recording_file.name.startswith("recordings/") and call.recording_file.name.endswith(".wav")

    # Twilio was asked to record both channels, reporting to our signed callback.
    asked = [r for r in twilio.requests if r.path.endswith(f"/Calls/{call.call_sid}/Recordings.json")]
    assert len(asked) == 1
    assert asked[0].value("RecordingChannels") == "dual"
    assert asked[0].value("RecordingStatusCallback") == "https://voice.example.com/twilio/voice/recording/"

    # Our file: the agent on the right (all the audio the caller's phone received, nothing cut: no barge-in), the
    # caller on the left, speaking once the greeting is over and before the reply.
    data = await in_db_thread(lambda: recordings_storage().open(call.recording_file.name).read())
    left, right = _channels(data)
    loud_left, loud_right = _loud(left), _loud(right)
    greeting, reply = (audio // 80 for audio in call.agent_audio)  # in 10 ms blocks
    assert abs(len(loud_right) - (greeting + reply)) <= 4
    assert greeting - 20 <= loud_left[0] <= loud_right[-reply]
    words = ulaw_to_pcm16_array(speech).astype("<i2").tobytes()  # all of them, unaltered
    found = left.tobytes().find(words)
    assert found >= 0 and found // 160 in range(loud_left[0] - 5, loud_left[0] + 1)

    # Managers play it with Range requests; advisors may not.
    people = await in_db_thread(call_log_fixtures.make_people)
    url = reverse("calls:recording", args=[call.pk])
    await in_db_thread(client.force_login, people["manager"])
    whole = await in_db_thread(client.get, url)
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and body == data and whole["Content-Type"] == "audio/wav"
    part = await in_db_thread(lambda: client.get(url, headers={"Range": "bytes=0-11"}))
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 0-11/{len(data)}"
    assert b"".join(part.streaming_content) == data[:12] and data[:4] == b"RIFF"
    page = await in_db_thread(client.get, reverse("calls:detail", args=[call.pk]))
    assert f'src="{url}"'.encode() in page.content
    await in_db_thread(client.force_login, people["advisor"])
    assert (await in_db_thread(client.get, url)).status_code == 403
    page = await in_db_thread(client.get, reverse("calls:detail", args=[call.pk]))
    assert f'src="{url}"'.encode() not in page.content


@pytest.mark.django_db(transaction=True)
async def test_a_caller_who_declines_is_not_recorded(settings, recording_setup):
    twilio = recording_setup
    call = await _call(settings, twilio, caller_says="please don't record this call")
    turns_by_role = await in_db_thread(lambda: list(Turn.objects.filter(call=call).values_list("role", "text")))
    turns = [text for _, text in turns_by_role]
    assert turns[2] == RECORDING_DECLINED_TEXT
    assert not call.recording_file
    assert not list(Path(settings.MEDIA_ROOT).rglob("*.wav"))
    # Twilio's recording was stopped and deleted.
    [recording] = twilio.recordings.values()
    assert recording["status"] == "stopped" and recording["deleted"]
    # Usage, metered by the session with the instant (offline, free) providers: only the phone line costs.
    assert call.stt_seconds == (len(caller_speech()) + 800 * 8) / 8000  # all the caller's audio, silence too
    agent_text = sum(len(text) for role, text in turns_by_role if role == "agent")
    assert agent_text - 5 <= call.tts_characters <= agent_text  # sentence by sentence: no joining spaces
    assert call.telephony_minutes == 1 and call.cost_usd == Decimal("0.00850")


# --------------------------------------------------------------------------------------------- serving, retention


@pytest.fixture
def stored(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call = make_call(1)
    name = recordings_storage().save("recordings/2026/01/call-1-test.wav", ContentFile(b"RIFF" + bytes(range(96))))
    Call.objects.filter(pk=call.pk).update(recording_file=name, started_at=timezone.now() - timedelta(days=40))
    call.refresh_from_db()
    return call


@pytest.mark.parametrize(
    ("asked", "status", "content_range", "body"),
    [("bytes=-10", 206, "bytes 90-99/100", slice(90, 100)), ("bytes=95-", 206, "bytes 95-99/100", slice(95, 100)),
     ("bytes=98-1000", 206, "bytes 98-99/100", slice(98, 100)), ("bytes=100-", 416, "bytes */100", slice(0, 0)),
     ("bytes=5-2", 416, "bytes */100", slice(0, 0)), ("bytes=0-1,5-6", 416, "bytes */100", slice(0, 0))],
)  # fmt: skip
def test_ranges_of_our_own_file(client, people, stored, asked, status, content_range, body):
    client.force_login(people["manager"])
    response = client.get(reverse("calls:recording", args=[stored.pk]), headers={"Range": asked})
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    assert b"".join(response.streaming_content) == (b"RIFF" + bytes(range(96)))[body]


def test_a_file_gone_from_storage_is_explained(client, people, stored):
    recordings_storage().delete(stored.recording_file.name)
    client.force_login(people["manager"])
    response = client.get(reverse("calls:recording", args=[stored.pk]))
    assert response.status_code == 502 and b"missing from storage" in response.content


@pytest.mark.django_db
def test_recordings_go_through_the_configured_storage(client, people, settings, tmp_path):
    """RECORDINGS_STORAGE_BACKEND names the "recordings" storage (an S3 one in production): the file is written
    there, not to MEDIA_ROOT, and the view serves it back from there."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {**settings.STORAGES, "recordings": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    call = make_call(3)
    rec = StreamRecorder(started_at=0.0)
    rec.agent(_tone(8000), plays_at=0.5)
    name = save_recording(call.pk, rec)
    assert isinstance(recordings_storage(), InMemoryStorage) and recordings_storage().exists(name)
    assert not (tmp_path / "media").exists()
    data = recordings_storage().open(name).read()
    assert list(_loud(_channels(data)[1])) == list(range(50, 150))
    client.force_login(people["manager"])
    response = client.get(reverse("calls:recording", args=[call.pk]), headers={"Range": "bytes=4-"})
    assert response.status_code == 206 and b"".join(response.streaming_content) == data[4:]


def test_retention_deletes_our_recordings(stored, settings):
    from privacy.retention import RetentionPolicy, purge_old_call_data

    recent = make_call(2)
    name = recordings_storage().save("recordings/2026/01/call-2-test.wav", ContentFile(b"RIFF"))
    Call.objects.filter(pk=recent.pk).update(recording_file=name)
    run = purge_old_call_data(policy=RetentionPolicy(transcript_days=365, recording_days=30))
    assert (run.recordings_deleted, run.recordings_failed) == (1, 0)
    stored.refresh_from_db()
    assert not stored.recording_file and not recordings_storage().exists("recordings/2026/01/call-1-test.wav")
    assert recordings_storage().exists(name)
