"""Speed of the offline voice stages on this machine; prints figures (the tests assert behaviour, not speed).

    .venv/bin/python bench/voice.py [--repeat 5]

Figures:
- eSpeak: seconds of 8 kHz µ-law audio produced per second of wall time (x real time), synthesising a
  long passage through EspeakTTS as a call does (sentence by sentence, off the event loop), and the
  longest the event loop went without running meanwhile;
- VAD: microseconds per 20 ms frame of SpeechDetector over eSpeak speech (a call has 50 frames a second).
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import django

    django.setup()
    bench_espeak(args.repeat)
    bench_vad(args.repeat)


if __name__ == "__main__":
    main()
