"""Speed of the offline voice stages on this machine; prints figures (the tests assert behaviour, not speed).

    .venv/bin/python bench/voice.py [--repeat 5]

Figures:
- eSpeak: seconds of 8 kHz µ-law audio produced per second of wall time (x real time), synthesising a
  long passage through EspeakTTS as a call does (sentence by sentence, off the event loop), and the
  longest the event loop went without running meanwhile;
- VAD: microseconds per 20 ms frame of SpeechDetector over eSpeak speech (a call has 50 frames a second);
- recording (RECORD_CALLS): microseconds per 20 ms frame the session spends handing both sides to the recorder
  (on the event loop), and the time and size of writing a 5-minute call's stereo WAV (in a worker thread, at the
  end of the call: never during a reply).
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


def bench_recording(repeat: int) -> None:
    from calls.voice.audio import ulaw_silence
    from calls.voice.recorder import StreamRecorder

    minutes = 5
    frame = ulaw_silence(20)
    agent_chunk = ulaw_silence(100)  # the session sends agent audio in 100 ms messages
    frames = minutes * 60 * 50
    per_frame_us, write_ms = [], []
    size = held = 0
    for _ in range(repeat):
        recorder = StreamRecorder(started_at=0.0)
        started = time.perf_counter()
        for n in range(frames):
            recorder.caller(frame, at=n * 0.02)
            if n % 5 == 0 and n % 1000 < 500:  # the agent talks half the time
                recorder.agent(agent_chunk, plays_at=n * 0.02)
        per_frame_us.append((time.perf_counter() - started) / frames * 1e6)
        started = time.perf_counter()
        size, held = len(recorder.to_wav()), recorder.held_bytes
        write_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"{'recording, per 20 ms frame':<28} n={repeat:<4} median={statistics.median(per_frame_us):7.2f} "
        f"max={max(per_frame_us):7.2f} µs"
    )
    print(
        f"{f'recording, {minutes}-min WAV':<28} n={repeat:<4} median={statistics.median(write_ms):7.1f} "
        f"max={max(write_ms):7.1f} ms, {size / 1e6:.1f} MB (held in memory as µ-law: {held / 1e6:.1f} MB)"
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
