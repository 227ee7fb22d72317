"""Our own recording of a call's media stream: caller on the left, agent on the right, on one clock.

Works the same for every transport that carries audio (Twilio, the softphone), since it records what passes
through the session. The agent's side is placed where the caller heard it (the play clock), and what was cut by
a barge-in is removed, so the recording holds what the caller actually heard, not what was sent.

Per frame the session only appends bytes to a small batch (µ-law, 8 kB/s per side); about a second's worth at a
time is written to two temporary spool files (one per side) by a worker thread, so a long call holds little
memory and the event loop never waits on the disk. At the end of the call the sides are interleaved into a
stereo µ-law WAV (the audio arrives as µ-law: 16 kB/s, half of 16-bit PCM; Chromium, Firefox and Safari play and
seek it) and handed to Django's storage API (the "recordings" storage: MEDIA_ROOT, or any django-storages backend).
"""

from __future__ import annotations

import logging
import secrets
import struct
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO

import numpy as np
from django.core.files import File

from calls.recording_storage import recordings_storage
from calls.voice.audio import ULAW_RATE, ULAW_SILENCE, ULAW_SILENCE_BYTE

log = logging.getLogger(__name__)

RESYNC_SAMPLES = ULAW_RATE  # the caller's side this far behind the clock (frames lost, not late) is padded
FLUSH_BYTES = 16_000  # audio batched in memory before the spool thread writes it (about 1 s of both sides)
WAVE_FORMAT_MULAW = 7
_CHUNK = 64 * 1024  # samples per side interleaved at a time when the file is built

# One thread writes every call's spools: the batches of a call are then written in the order they were made
# (a barge-in's cut after the audio it cuts) without locks, and the writes are small (16 kB/s per call).
_spool_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-spool")


class StreamRecorder:
    """Collects one call's audio (batched in memory, spooled to temporary files); `write_wav()` builds the file.

    `caller`, `agent`, `cut_agent` and `discard` are called on the event loop and never block; `write_wav` and
    `close` block (a worker thread)."""

    def __init__(self, *, started_at: float):
        self._t0 = started_at  # loop time of sample 0
        self._caller_len = 0  # samples of the caller's side so far
        self._agent_len = 0  # length of the agent's side (its last audio's end, after cuts)
        # Not yet written, in order: ("caller", bytearray) | ("agent", offset, bytes) | ("cut", offset).
        self._batch: list[tuple] = []
        self._batched = 0
        self._spools: tuple[IO[bytes], IO[bytes]] | None = None  # (caller, agent): touched by the spool thread only
        self._spool_error: OSError | None = None  # the disk refused a batch: the file would have a hole
        self.discarded = False

    def _offset(self, at: float) -> int:
        return max(0, int((at - self._t0) * ULAW_RATE))

    def caller(self, ulaw: bytes, at: float) -> None:
        """An inbound frame that arrived at loop time `at`. Frames are laid end to end (the network's jitter
        is not the caller's timing); a gap of lost frames is filled with silence to stay on the clock."""
        if self.discarded:
            return
        behind = self._offset(at) - len(ulaw) - self._caller_len
        audio = ULAW_SILENCE_BYTE * behind + ulaw if behind > RESYNC_SAMPLES else ulaw
        self._caller_len += len(audio)
        if self._batch and self._batch[-1][0] == "caller":
            self._batch[-1][1].extend(audio)
        else:
            self._batch.append(("caller", bytearray(audio)))
        self._batched += len(audio)
        self._flush_if_full()

    def agent(self, ulaw: bytes, plays_at: float) -> None:
        """Agent audio that the caller's phone starts playing at loop time `plays_at`."""
        if self.discarded or not ulaw:
            return
        offset = self._offset(plays_at)
        self._agent_len = max(self._agent_len, offset + len(ulaw))
        self._batch.append(("agent", offset, bytes(ulaw)))
        self._batched += len(ulaw)
        self._flush_if_full()

    def cut_agent(self, at: float) -> None:
        """The caller's phone dropped what it had not played by `at` (a barge-in's clear, a hang-up)."""
        if self.discarded:
            return
        cut = self._offset(at)
        if cut < self._agent_len:
            self._agent_len = cut
            self._batch.append(("cut", cut))

    def discard(self) -> None:
        """The caller declined: nothing of this call is kept (the spools are closed, which deletes them)."""
        self.discarded = True
        self._batch, self._batched = [], 0
        _spool_writer.submit(self._close_spools)

    @property
    def empty(self) -> bool:
        return self.discarded or (not self._caller_len and not self._agent_len)

    @property
    def held_bytes(self) -> int:
        """Audio held in memory on the loop's side (the batch not yet handed to the spool thread)."""
        return self._batched

    @property
    def seconds(self) -> int:
        return round(max(self._caller_len, self._agent_len) / ULAW_RATE)

    def _flush_if_full(self) -> None:
        if self._batched >= FLUSH_BYTES:
            _spool_writer.submit(self._spool, self._batch)
            self._batch, self._batched = [], 0

    def _spool(self, batch: list[tuple]) -> None:
        """Spool thread: write a batch to the two side files (after a failed one, nothing more: see write_wav)."""
        if self._spool_error is not None:
            return
        try:
            self._write_batch(batch)
        except OSError as exc:  # a full or failing disk: the call goes on, its recording is lost
            log.error("recording spool failed: %s", exc)
            self._spool_error = exc

    def _write_batch(self, batch: list[tuple]) -> None:
        if self._spools is None:
            self._spools = (tempfile.TemporaryFile(prefix="call-caller-"), tempfile.TemporaryFile(prefix="call-agent-"))
        caller, agent = self._spools
        for item in batch:
            if item[0] == "caller":
                caller.write(item[1])
            elif item[0] == "agent":
                _, offset, audio = item
                end = agent.seek(0, 2)
                if offset > end:  # silence up to where this audio is heard
                    agent.write(ULAW_SILENCE_BYTE * (offset - end))
                else:  # overlapping an earlier send: the later audio wins
                    agent.seek(offset)
                agent.write(audio)
            elif agent.seek(0, 2) > item[1]:  # a cut
                agent.truncate(item[1])

    def _close_spools(self) -> None:
        if self._spools is not None:
            for spool in self._spools:
                spool.close()
            self._spools = None

    def write_wav(self, out: IO[bytes]) -> int:
        """Blocking: the stereo µ-law WAV at 8 kHz (caller left, agent right) written to `out`. Returns its length
        in samples per side."""
        batch, self._batch, self._batched = self._batch, [], 0
        _spool_writer.submit(self._spool, batch).result()  # after every batch before it
        if self._spool_error is not None:
            raise self._spool_error
        assert self._spools is not None
        caller, agent = self._spools
        length = max(caller.seek(0, 2), agent.seek(0, 2))
        out.write(wav_header(length))
        caller.seek(0)
        agent.seek(0)
        for start in range(0, length, _CHUNK):
            n = min(_CHUNK, length - start)
            stereo = np.full(2 * n, ULAW_SILENCE, dtype=np.uint8)
            for channel, spool in enumerate((caller, agent)):
                side = np.frombuffer(spool.read(n), dtype=np.uint8)
                stereo[channel : 2 * len(side) : 2] = side
            out.write(stereo.tobytes())
        return length

    def close(self) -> None:
        """Blocking: delete the spools (after any write still queued)."""
        _spool_writer.submit(self._close_spools).result()


def wav_header(samples: int) -> bytes:
    """RIFF header of a stereo 8 kHz µ-law WAV holding `samples` per side (non-PCM formats carry a fact chunk)."""
    data = 2 * samples
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, 2, ULAW_RATE, 2 * ULAW_RATE, 2, 8, 0)
    chunks = b"".join((
        b"WAVE",
        b"fmt " + struct.pack("<I", len(fmt)) + fmt,
        b"fact" + struct.pack("<II", 4, samples),
        b"data" + struct.pack("<I", data),
    ))  # fmt: skip
    return b"RIFF" + struct.pack("<I", len(chunks) + data) + chunks


def save_recording(call_id: int, recorder: StreamRecorder) -> str | None:
    """Write the call's recording to storage and link it to the call (blocking: run in a worker thread).
    Returns the stored name, or None when there is nothing to keep."""
    from calls.models import Call

    if recorder.empty:
        recorder.close()
        return None
    storage = recordings_storage()
    now = datetime.now(UTC)
    # An unguessable name: storage backends may serve files by name, and the call ids are sequential.
    name = f"recordings/{now:%Y/%m}/call-{call_id}-{secrets.token_hex(8)}.wav"
    try:
        with tempfile.TemporaryFile(prefix="call-recording-") as out:
            length = recorder.write_wav(out)
            out.seek(0)
            stored = storage.save(name, File(out, name=name.rsplit("/", 1)[-1]))
    finally:
        recorder.close()
    seconds = round(length / ULAW_RATE)
    updated = Call.objects.filter(pk=call_id).update(recording_file=stored, recording_seconds=seconds)
    if not updated:  # the call row is gone (erased meanwhile): keep no orphan audio
        storage.delete(stored)
        return None
    log.info("call %s: recording stored (%s s)", call_id, seconds)
    return stored
