"""Word error rate of the offline recogniser on caller answers, with the general model and with the model of
the question that was asked.

    .venv/bin/python bench/recognition.py            # all conditions
    .venv/bin/python bench/recognition.py --general  # the general domain model only (the "before" figure)

Each answer is spoken by eSpeak NG, goes through a µ-law 8 kHz round trip (a phone line) and is fed to a
pocketsphinx stream frame by frame, exactly as a call's audio is. Conditions:
- general: no listening hint (the domain model alone);
- hinted: the hint of the question the answer replies to (`STTStream.expect`) before the answer;
- off-question: answers that do not reply to the question asked (an advisor request after "what day?"),
  decoded with that question's hint, to check that the blend lets any answer through.
The answers below were written for this benchmark, not taken from the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import defaultdict
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

# (question kind, what the caller says). Kinds are calls.voice.listen_hint.Expect names; "" = open question.
ANSWERS: list[tuple[str, str]] = [
    ("CHOICE", "the first one"),
    ("CHOICE", "yeah that works"),
    ("CHOICE", "no, thursday afternoon instead"),
    ("CHOICE", "the second one please"),
    ("CHOICE", "the last one works for me"),
    ("CHOICE", "eleven thirty is good"),
    ("CHOICE", "sure, the earlier one"),
    ("CHOICE", "two p.m. please"),
    ("CONFIRM", "yes please go ahead"),
    ("CONFIRM", "nope, that's not right"),
    ("CONFIRM", "yeah that's correct"),
    ("CONFIRM", "no, i said friday"),
    ("CONFIRM", "sounds good to me"),
    ("WHEN", "next wednesday morning"),
    ("WHEN", "how about friday at two thirty"),
    ("WHEN", "the day after tomorrow"),
    ("WHEN", "monday afternoon if you have it"),
    ("WHEN", "the twelfth at nine a.m."),
    ("WHEN", "first thing tomorrow morning"),
    ("NAME", "my name is sarah johnson"),
    ("NAME", "it's mike peterson"),
    ("NAME", "robert garcia"),
    ("NAME", "this is linda nguyen"),
    ("NAME", "kevin murphy"),
    ("VEHICLE", "it's a twenty eighteen honda civic"),
    ("VEHICLE", "a twenty fifteen toyota camry"),
    ("VEHICLE", "chevy silverado twenty twenty"),
    ("VEHICLE", "twenty twelve ford escape"),
    ("VEHICLE", "one h g c m eight two six"),
    ("VEHICLE", "the vin is j t d k b three"),
    ("POSTAL_CODE", "six oh six one four"),
    ("POSTAL_CODE", "my zip is four six two zero one"),
    ("POSTAL_CODE", "it's nine oh two one oh"),
    ("POSTAL_CODE", "seven five two oh one"),
    ("SERVICE", "tire rotation"),
    ("SERVICE", "my check engine light is on"),
    ("SERVICE", "i need new brake pads"),
    ("SERVICE", "an oil change and a tire rotation"),
    ("REQUEST", "i'd like to talk to a service advisor"),
    ("REQUEST", "when do you close on saturday"),
    ("REQUEST", "i need to book an appointment for my truck"),
    # Added with the request and anything-else models (the figures before them: the first 41 answers).
    ("REQUEST", "hi, i need to cancel my appointment for tuesday"),
    ("REQUEST", "can you move my oil change to next friday"),
    ("REQUEST", "my battery keeps dying, could somebody look at it this week"),
    ("REQUEST", "i'm calling to see when my appointment is"),
    ("REQUEST", "do you have any openings monday morning for an alignment"),
    ("REQUEST", "hello, my a/c is blowing warm air and i'd like to bring it in"),
    ("ANYTHING_ELSE", "no, that's everything"),
    ("ANYTHING_ELSE", "nope, all good, thanks"),
    ("ANYTHING_ELSE", "that's all for today"),
    ("ANYTHING_ELSE", "no thanks, bye"),
    ("ANYTHING_ELSE", "yes, can i also get a tire rotation"),
    ("ANYTHING_ELSE", "actually what time do you open tomorrow"),
]
ORIGINAL = 41  # the answers the first figures were measured on
# (question asked, an answer to something else)
OFF_QUESTION: list[tuple[str, str]] = [
    ("WHEN", "i'd like to talk to a service advisor"),
    ("NAME", "cancel my appointment"),
    ("VEHICLE", "how much is an oil change"),
    ("CHOICE", "can i get a loaner"),
    ("POSTAL_CODE", "i need to reschedule my appointment"),
    ("CONFIRM", "what time do you close"),
    ("SERVICE", "do you have anything tomorrow morning"),
    ("WHEN", "my brakes are squeaking"),
]
# What the agent offered before the CHOICE answers ("I have Thursday at 9:00 AM, 11:30 AM or 2:00 PM").
OFFERED_TIMES = (clock(9, 0), clock(11, 30), clock(14, 0))


def hint_for(kind: str, *, options: bool = True):
    from calls.voice.listen_hint import Expect, ListenHint

    if not kind or kind not in Expect.__members__:  # a kind this version has no model for: the general one
        return None
    expect = Expect[kind]
    if expect is Expect.CHOICE and options:
        return ListenHint(expect, times=OFFERED_TIMES, weekdays=(3,))
    return ListenHint(expect)


def words(text: str) -> list[str]:
    from calls.voice.vocabulary import normalize_text

    return normalize_text(text).split()


class Tally:
    def __init__(self) -> None:
        self.errors = 0
        self.words = 0
        self.utterances = 0
        self.exact = 0

    def add(self, ref: list[str], hyp: list[str]) -> int:
        from rapidfuzz.distance import Levenshtein

        errors = Levenshtein.distance(ref, hyp)
        self.errors += errors
        self.words += len(ref)
        self.utterances += 1
        self.exact += errors == 0
        return errors

    def __str__(self) -> str:
        wer = 100.0 * self.errors / self.words if self.words else float("nan")
        return f"WER {wer:5.1f}%  ({self.errors}/{self.words} words, {self.exact}/{self.utterances} exact)"


async def transcribe(stt, ulaw: bytes, hint) -> str:
    from calls.voice.audio import iter_frames

    done = asyncio.Event()
    finals: list[str] = []

    def sink(transcript) -> None:
        if transcript.is_final:
            finals.append(transcript.text)
            if transcript.speech_final:
                done.set()

    stream = stt.open_stream(on_transcript=sink)
    await stream.start()
    if hint is not None:
        stream.expect(hint)
    for frame in iter_frames(ulaw):
        stream.send_audio(frame)
    await stream.finalize()
    await asyncio.wait_for(done.wait(), 30)
    await stream.close()
    STREAM_STATS.append(stream.stats)
    return " ".join(f for f in finals if f)


STREAM_STATS: list = []  # per utterance: the stream's decoding CPU and end-of-utterance latency


async def run(args) -> None:
    import django

    django.setup()
    from calls.voice import audio, vocabulary
    from calls.voice.providers.espeak import synthesize_ulaw
    from calls.voice.providers.sphinx import SphinxSTT

    if args.hint_share is not None:
        vocabulary.HINT_SHARE = args.hint_share  # part of the cache key: a separate set of model files
    if args.options_share is not None:
        vocabulary.OPTIONS_SHARE = args.options_share
    started = time.perf_counter()
    options: dict[str, object] = dict(o.split("=", 1) for o in args.decoder_option)
    stt = SphinxSTT(decoder_options=options)
    stt.warm_up()
    print(
        f"models ready in {time.perf_counter() - started:.1f} s (hint share {vocabulary.HINT_SHARE}, "
        f"options share {vocabulary.OPTIONS_SHARE})"
    )

    rates = [int(r) for r in args.rates.split(",")]
    answers = [(kind, text, rate) for rate in rates for kind, text in ANSWERS]
    original = {(text, rate) for rate in rates for _kind, text in ANSWERS[:ORIGINAL]}
    off_question = [(kind, text, rate) for rate in rates for kind, text in OFF_QUESTION]
    clips = {}
    for _kind, text, rate in answers + off_question:
        if (text, rate) not in clips:
            clips[(text, rate)] = (audio.ulaw_silence(300) + synthesize_ulaw(text, rate_wpm=rate)
                                   + audio.ulaw_silence(600))  # fmt: skip

    conditions = ["general"] if args.general else ["general", "hinted"]
    by_kind: dict[tuple[str, str], Tally] = defaultdict(Tally)
    total: dict[str, Tally] = defaultdict(Tally)
    cpu: dict[str, float] = defaultdict(float)
    audio_s = sum(len(clips[(text, rate)]) for _k, text, rate in answers) / 8000
    rows = []
    per_utterance: dict[str, list] = {}
    for condition in conditions:
        STREAM_STATS.clear()
        t0 = time.process_time()
        for kind, text, rate in answers:
            hint = hint_for(kind, options=not args.no_options) if condition == "hinted" else None
            hyp = await transcribe(stt, clips[(text, rate)], hint)
            ref = words(text)
            errors = by_kind[(kind or "open", condition)].add(ref, hyp.split())
            total[condition].add(ref, hyp.split())
            if (text, rate) in original:
                total[f"{condition} (first {ORIGINAL})"].add(ref, hyp.split())
            rows.append((condition, kind or "open", text, hyp, errors))
        cpu[condition] = time.process_time() - t0
        per_utterance[condition] = list(STREAM_STATS)
    if not args.general:
        for asked, text, rate in off_question:
            for condition, hint in (("off-question general", None), ("off-question hinted", hint_for(asked))):
                hyp = await transcribe(stt, clips[(text, rate)], hint)
                errors = total[condition].add(words(text), hyp.split())
                rows.append((condition, asked, text, hyp, errors))

    if args.verbose:
        for condition, kind, text, hyp, errors in rows:
            print(f"{condition:<21} {kind:<12} {errors:>2}  {text!r:<42} -> {hyp!r}")
        print()
    print(
        f"{len(ANSWERS)} answers x {len(rates)} speaking rates ({audio_s:.0f} s of audio), "
        "eSpeak NG -> µ-law 8 kHz -> pocketsphinx"
    )
    kinds = sorted({k for k, _c in by_kind}, key=lambda k: (k == "open", k))
    for kind in kinds:
        cells = "   ".join(f"{c}: {by_kind[(kind, c)]}" for c in conditions)
        print(f"  {kind:<12} {cells}")
    for condition, tally in total.items():
        print(f"{condition:<24} {tally}")
    for condition in conditions:
        stats = per_utterance[condition]
        cpu_ms = sorted(1000 * st.cpu_s for st in stats)
        final_ms = sorted(ms for st in stats for ms in st.finalize_latency_ms)
        print(
            f"per utterance {condition:<8} decoder CPU mean {sum(cpu_ms) / len(cpu_ms):.0f} ms, "
            f"p95 {cpu_ms[int(0.95 * (len(cpu_ms) - 1))]:.0f} ms; end of utterance to final text mean "
            f"{sum(final_ms) / len(final_ms):.1f} ms, max {final_ms[-1]:.1f} ms"
        )
    for condition in conditions:
        print(
            f"decode CPU {condition:<8} {cpu[condition]:.2f} s for {audio_s:.0f} s of audio "
            f"(real-time factor {cpu[condition] / audio_s:.3f}, whole process)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--general", action="store_true", help="only the general domain model")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    parser.add_argument("--rates", default="175", help="eSpeak speaking rates, words a minute (e.g. 150,175,210)")
    parser.add_argument("--hint-share", type=float, help="share of a question's answers in its model (a sweep)")
    parser.add_argument("--options-share", type=float, help="further share of the options a hint names")
    parser.add_argument("--no-options", action="store_true", help="hints without the offered times")
    parser.add_argument("--decoder-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a pocketsphinx parameter for the decoder, e.g. lw=9 (repeatable)")  # fmt: skip
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
