"""Speed of the offline voice stages on this machine; prints figures (the tests assert behaviour, not speed).

    .venv/bin/python bench/voice.py [--repeat 5]

Figures:
- eSpeak: seconds of 8 kHz µ-law audio produced per second of wall time (x real time), synthesising a
  long passage through EspeakTTS as a call does (sentence by sentence, off the event loop), and the
  longest the event loop went without running meanwhile;
- VAD: microseconds per 20 ms frame of SpeechDetector over eSpeak speech (a call has 50 frames a second);
- recording (RECORD_CALLS): microseconds per 20 ms frame the session spends handing both sides to the recorder
  (on the event loop; a batch is handed to the spool thread about once a second), the memory one 5-minute call
  holds meanwhile (peak, traced by tracemalloc: the batch, the spool thread's buffers) against what it held before
  spooling (all of its µ-law audio), and the time and size of writing its stereo µ-law WAV (in a worker thread,
  at the end of the call: never during a reply).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

PASSAGE = " ".join(f"Line {i} of the terms and conditions for the loaner car program." for i in range(60))


async def _espeak_once() -> tuple[float, float, float]:
    """(audio seconds, wall seconds, longest event-loop gap in seconds) for one synthesis of PASSAGE."""
    from calls.voice.providers.espeak import EspeakTTS

    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.002)
            gaps.append(time.perf_counter() - before)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    total = sum([len(chunk) async for chunk in EspeakTTS().synthesize(PASSAGE)])
    elapsed = time.perf_counter() - started
    done = True
    await tick
    return total / 8000, elapsed, max(gaps)


def bench_espeak(repeat: int) -> None:
    runs = [asyncio.run(_espeak_once()) for _ in range(repeat)]
    factors = [audio / wall for audio, wall, _ in runs]
    print(
        f"{'eSpeak, x real time':<28} n={repeat:<4} median={statistics.median(factors):7.0f} "
        f"min={min(factors):7.0f}   ({runs[0][0]:.0f} s of audio per run)"
    )
    print(f"{'event-loop gap meanwhile':<28} n={repeat:<4} max={max(g for *_, g in runs) * 1000:7.1f} ms")


def bench_vad(repeat: int) -> None:
    from calls.voice import audio
    from calls.voice.providers.espeak import synthesize_ulaw
    from calls.voice.vad import SpeechDetector

    frames = list(audio.iter_frames(synthesize_ulaw("What time do you open on Saturday morning?") * 20))
    per_frame_us = []
    for _ in range(repeat):
        detector = SpeechDetector()
        started = time.perf_counter()
        for frame in frames:
            detector.feed_frame(frame)
        per_frame_us.append((time.perf_counter() - started) / len(frames) * 1e6)
    print(
        f"{'VAD, per 20 ms frame':<28} n={repeat:<4} median={statistics.median(per_frame_us):7.1f} "
        f"max={max(per_frame_us):7.1f} µs"
    )


def _feed_recorder(recorder, minutes: int, *, each_second=None) -> float:
    """A recorded call of `minutes` through `recorder` as the session feeds it (calling `each_second` after
    each second of the call's audio); returns µs per caller frame."""
    from calls.voice.audio import ulaw_silence

    frame = ulaw_silence(20)
    agent_chunk = ulaw_silence(100)  # the session sends agent audio in 100 ms messages
    frames = minutes * 60 * 50
    started = time.perf_counter()
    for n in range(frames):
        recorder.caller(frame, at=n * 0.02)
        if n % 5 == 0 and n % 1000 < 500:  # the agent talks half the time
            recorder.agent(agent_chunk, plays_at=n * 0.02)
        if each_second is not None and n % 50 == 49:
            each_second()
    return (time.perf_counter() - started) / frames * 1e6


def bench_recording(repeat: int) -> None:
    import tempfile
    import tracemalloc

    from calls.voice.recorder import StreamRecorder, _spool_writer

    minutes = 5
    per_frame_us, write_ms = [], []
    size = 0
    for _ in range(repeat):
        recorder = StreamRecorder(started_at=0.0)
        per_frame_us.append(_feed_recorder(recorder, minutes))
        started = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            recorder.write_wav(out)
            size = out.tell()
        recorder.close()
        write_ms.append((time.perf_counter() - started) * 1000)
    # Memory, apart from the timing runs (tracing slows allocation down).
    recorder = StreamRecorder(started_at=0.0)
    tracemalloc.start()
    # Fed faster than real time, so the spool thread is let catch up once per second of audio, as it has a
    # whole second to in a call (a batch is written in microseconds).
    _feed_recorder(recorder, minutes, each_second=lambda: _spool_writer.submit(lambda: None).result())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    recorder.close()
    unspooled = minutes * 60 * 8000 * 3 // 2  # both sides' µ-law: the caller all along, the agent half the time
    print(
        f"{'recording, per 20 ms frame':<28} n={repeat:<4} median={statistics.median(per_frame_us):7.2f} "
        f"max={max(per_frame_us):7.2f} µs"
    )
    print(
        f"{f'recording, {minutes}-min call memory':<28} peak {peak / 1e3:.0f} kB held while recording "
        f"(unspooled it held its audio: {unspooled / 1e6:.1f} MB)"
    )
    print(
        f"{f'recording, {minutes}-min WAV':<28} n={repeat:<4} median={statistics.median(write_ms):7.1f} "
        f"max={max(write_ms):7.1f} ms, {size / 1e6:.1f} MB µ-law stereo"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import django

    django.setup()
    bench_espeak(args.repeat)
    bench_vad(args.repeat)
    bench_recording(args.repeat)


if __name__ == "__main__":
    main()
