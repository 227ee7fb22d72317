"""Our own recording of a call's media stream: caller on the left, agent on the right, on one clock.

Works the same for every transport that carries audio (Twilio, the softphone), since it records what passes
through the session. The agent's side is placed where the caller heard it (the play clock), and what was cut by
a barge-in is removed, so the recording holds what the caller actually heard, not what was sent.

Per frame the session only appends bytes (µ-law, 8 kB/s per side); the stereo file is built and stored at the
end of the call in a worker thread, through Django's storage API (MEDIA_ROOT, or any django-storages backend).
The file is 16-bit PCM WAV, which every browser's audio element plays and seeks in.
"""

from __future__ import annotations

import io
import logging
import secrets
import wave
from datetime import UTC, datetime

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from calls.voice.audio import ULAW_RATE, ULAW_SILENCE, ulaw_to_pcm16_array

log = logging.getLogger(__name__)

RESYNC_SAMPLES = ULAW_RATE  # the caller's side this far behind the clock (frames lost, not late) is padded


class StreamRecorder:
    """Collects one call's audio in memory; `to_wav()` mixes it into a stereo file."""

    def __init__(self, *, started_at: float):
        self._t0 = started_at  # loop time of sample 0
        self._caller = bytearray()
        self._agent: list[tuple[int, bytes]] = []  # (sample offset, µ-law audio), in sending order
        self.discarded = False

    def _offset(self, at: float) -> int:
        return max(0, int((at - self._t0) * ULAW_RATE))

    def caller(self, ulaw: bytes, at: float) -> None:
        """An inbound frame that arrived at loop time `at`. Frames are laid end to end (the network's jitter
        is not the caller's timing); a gap of lost frames is filled with silence to stay on the clock."""
        if self.discarded:
            return
        behind = self._offset(at) - len(ulaw) - len(self._caller)
        if behind > RESYNC_SAMPLES:
            self._caller += bytes([ULAW_SILENCE]) * behind
        self._caller += ulaw

    def agent(self, ulaw: bytes, plays_at: float) -> None:
        """Agent audio that the caller's phone starts playing at loop time `plays_at`."""
        if not self.discarded:
            self._agent.append((self._offset(plays_at), ulaw))

    def cut_agent(self, at: float) -> None:
        """The caller's phone dropped what it had not played by `at` (a barge-in's clear, a hang-up)."""
        cut = self._offset(at)
        kept: list[tuple[int, bytes]] = []
        for offset, audio in self._agent:
            if offset >= cut:
                continue
            kept.append((offset, audio[: cut - offset]) if offset + len(audio) > cut else (offset, audio))
        self._agent = kept

    def discard(self) -> None:
        """The caller declined: nothing of this call is kept."""
        self.discarded = True
        self._caller = bytearray()
        self._agent = []

    @property
    def empty(self) -> bool:
        return self.discarded or (not self._caller and not self._agent)

    def to_wav(self) -> bytes:
        """Stereo 16-bit PCM WAV at 8 kHz: caller left, agent right (later audio wins where sends overlap)."""
        length = max([len(self._caller)] + [offset + len(audio) for offset, audio in self._agent])
        left = np.full(length, ULAW_SILENCE, dtype=np.uint8)
        left[: len(self._caller)] = np.frombuffer(self._caller, dtype=np.uint8)
        right = np.full(length, ULAW_SILENCE, dtype=np.uint8)
        for offset, audio in self._agent:
            right[offset : offset + len(audio)] = np.frombuffer(audio, dtype=np.uint8)
        stereo = np.empty(length * 2, dtype=np.int16)
        stereo[0::2] = ulaw_to_pcm16_array(left.tobytes())
        stereo[1::2] = ulaw_to_pcm16_array(right.tobytes())
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(2)
            wav.setsampwidth(2)
            wav.setframerate(ULAW_RATE)
            wav.writeframes(stereo.astype("<i2").tobytes())
        return out.getvalue()

    @property
    def held_bytes(self) -> int:
        """Audio held in memory so far (µ-law, both sides)."""
        return len(self._caller) + sum(len(audio) for _, audio in self._agent)

    @property
    def seconds(self) -> int:
        length = max([len(self._caller)] + [offset + len(audio) for offset, audio in self._agent])
        return round(length / ULAW_RATE)


def save_recording(call_id: int, recorder: StreamRecorder) -> str | None:
    """Write the call's recording to storage and link it to the call (blocking: run in a worker thread).
    Returns the stored name, or None when there is nothing to keep."""
    from calls.models import Call

    if recorder.empty:
        return None
    now = datetime.now(UTC)
    # An unguessable name: storage backends may serve files by name, and the call ids are sequential.
    name = f"recordings/{now:%Y/%m}/call-{call_id}-{secrets.token_hex(8)}.wav"
    stored = default_storage.save(name, ContentFile(recorder.to_wav()))
    updated = Call.objects.filter(pk=call_id).update(recording_file=stored, recording_seconds=recorder.seconds)
    if not updated:  # the call row is gone (erased meanwhile): keep no orphan audio
        default_storage.delete(stored)
        return None
    log.info("call %s: recording stored (%s s)", call_id, recorder.seconds)
    return stored
