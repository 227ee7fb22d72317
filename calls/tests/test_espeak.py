import asyncio
import threading
import time

import numpy as np
import pytest

from calls.voice import audio
from calls.voice.providers import espeak
from calls.voice.providers.espeak import EspeakTTS, split_sentences, synthesize_pcm16, synthesize_ulaw

SENTENCE = "I need an oil change next Tuesday."


def _envelope(ulaw: bytes) -> np.ndarray:
    x = audio.ulaw_to_pcm16_array(ulaw).astype(np.float64)
    n = x.size // 160
    return np.sqrt((x[: n * 160].reshape(n, 160) ** 2).mean(axis=1))


def same_speech(a: bytes, b: bytes) -> bool:
    """eSpeak carries a little state from one sentence to the next, so the same text is not bit-identical
    twice: it has the same length (within 2%) and loudness contour (best correlation within +-80 ms > 0.85;
    measured >= 0.91 for the same text, <= 0.71 for near-identical other texts)."""
    if abs(len(a) - len(b)) > 0.02 * max(len(a), len(b)):
        return False
    ea, eb = _envelope(a), _envelope(b)
    best = -1.0
    for lag in range(-4, 5):
        x, y = (ea[lag:], eb) if lag >= 0 else (ea, eb[-lag:])
        n = min(x.size, y.size)
        best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best > 0.85


def test_a_sentence_sounds_like_a_sentence():
    ulaw = synthesize_ulaw(SENTENCE)
    seconds = audio.ulaw_duration_ms(ulaw) / 1000
    assert 1.2 <= seconds <= 3.5  # seven words at ~175 words per minute
    samples = audio.ulaw_to_pcm16_array(ulaw)
    assert audio.rms_dbfs(samples) > -30  # clearly audible on a phone line
    assert np.mean(np.abs(samples) > 30000) < 0.001  # and not clipping
    assert same_speech(synthesize_ulaw(SENTENCE), ulaw)
    assert not same_speech(synthesize_ulaw("Cancel my appointment on Friday, please."), ulaw)


def test_pcm16_at_other_rates_lasts_as_long():
    ulaw = synthesize_ulaw(SENTENCE)
    pcm16k = synthesize_pcm16(SENTENCE, 16000)
    assert abs(len(pcm16k) / 2 / 16000 - len(ulaw) / 8000) < 0.05
    native = synthesize_pcm16(SENTENCE, espeak._engine.sample_rate)
    assert espeak._engine.sample_rate == 22050
    assert abs(len(native) / 2 / 22050 - len(ulaw) / 8000) < 0.05


def test_speaking_rate_changes_duration():
    slow = synthesize_ulaw(SENTENCE, rate_wpm=120)
    fast = synthesize_ulaw(SENTENCE, rate_wpm=260)
    assert len(slow) > 1.5 * len(fast)


def test_unknown_voice_is_a_clear_error():
    with pytest.raises(espeak.EspeakError, match="voice"):
        synthesize_ulaw("hello", voice="no-such-voice")
    assert len(synthesize_ulaw("hello")) > 0  # and the engine still works


def test_split_sentences():
    assert split_sentences("Hi Dr. Smith. Your car is ready at 3.5 p.m.! Anything else?  Okay") == [
        "Hi Dr. Smith.",
        "Your car is ready at 3.5 p.m.!",
        "Anything else?",
        "Okay",
    ]
    assert split_sentences("  ") == []
    long = "We have openings on " + ", ".join(f"slot number {i}" for i in range(40)) + "."
    pieces = split_sentences(long)
    assert len(pieces) > 1 and all(len(p) <= espeak.MAX_CHUNK_CHARS for p in pieces)
    assert " ".join(pieces) == long


def test_text_to_ipa():
    assert espeak.text_to_ipa("hello world") == ["h_ə_l_ˈoʊ", "w_ˈɜː_l_d"]


async def test_synthesize_streams_sentence_by_sentence():
    text = "Hello, this is the service department. How can I help you today?"
    chunks = [chunk async for chunk in EspeakTTS().synthesize(text)]
    assert len(chunks) == 2
    assert all(same_speech(c, synthesize_ulaw(s)) for c, s in zip(chunks, split_sentences(text), strict=True))


async def test_concurrent_tasks_and_threads_are_serialised_safely():
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Monday"]
    texts = [f"Your appointment number {i} is on {day} at {i + 1} o'clock." for i, day in enumerate(days)]
    reference = {t: synthesize_ulaw(t) for t in texts}
    thread_results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def in_thread(text):
        try:
            for _ in range(3):
                thread_results[text] = synthesize_ulaw(text)
        except BaseException as exc:  # reported below
            errors.append(exc)

    async def in_task(text):
        return b"".join([chunk async for chunk in EspeakTTS().synthesize(text)])

    threads = [threading.Thread(target=in_thread, args=(t,)) for t in texts[:3]]
    for thread in threads:
        thread.start()
    task_results = await asyncio.gather(*(in_task(t) for t in texts * 2))
    for thread in threads:
        thread.join()
    assert not errors
    assert all(same_speech(thread_results[t], reference[t]) for t in texts[:3])
    assert all(same_speech(got, reference[t]) for got, t in zip(task_results, texts * 2, strict=True))
    # The texts differ only in a few words: make sure the check would notice a mix-up.
    assert not same_speech(reference[texts[0]], reference[texts[3]])


async def test_closing_early_stops_synthesis(monkeypatch):
    done = []
    original = EspeakTTS._sentence_ulaw

    def counting(self, sentence, cancel):
        result = original(self, sentence, cancel)
        done.append(sentence)
        return result

    monkeypatch.setattr(EspeakTTS, "_sentence_ulaw", counting)
    text = " ".join(f"This is sentence number {i}." for i in range(30))
    stream = EspeakTTS().synthesize(text)
    first = await anext(stream)
    assert len(first) > 0
    await stream.aclose()
    await asyncio.sleep(0.1)
    assert len(done) == 1


async def test_cancelling_the_consumer_task_leaves_the_engine_usable():
    text = " ".join(f"Sentence {i} of a long answer." for i in range(200))
    got = []

    async def consume():
        async for chunk in EspeakTTS().synthesize(text):
            got.append(chunk)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < len(got) < 200
    assert len(synthesize_ulaw("still working")) > 0


def test_a_cancelled_job_returns_nothing_and_the_next_one_works():
    cancel = threading.Event()
    cancel.set()
    samples = espeak._engine.call(espeak._engine._synth, SENTENCE, "en-us", 175, cancel)
    assert samples.size == 0
    assert len(synthesize_ulaw(SENTENCE)) > 8000


async def test_the_event_loop_keeps_running_during_synthesis():
    text = " ".join(f"Line {i} of the terms and conditions for the loaner car program." for i in range(60))
    gaps = []
    stop = False

    async def ticker():
        while not stop:
            before = time.perf_counter()
            await asyncio.sleep(0.002)
            gaps.append(time.perf_counter() - before)

    tick = asyncio.create_task(ticker())
    total = sum([len(chunk) async for chunk in EspeakTTS().synthesize(text)])
    stop = True
    await tick
    assert total / 8000 > 60  # minutes of speech, all of it (how fast: bench/voice.py)
    assert len(gaps) > 5 and max(gaps) < 0.1  # never one long block: a 2 ms tick that runs late by 100 ms
