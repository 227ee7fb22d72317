import time

import numpy as np
import pytest

from calls.voice import audio
from calls.voice.providers.espeak import synthesize_ulaw
from calls.voice.vad import SPEECH_ENDED, SPEECH_STARTED, SpeechDetector

RNG_SEED = 3


def _ulaw(samples) -> bytes:
    return audio.pcm16_to_ulaw(np.clip(np.rint(samples), -32768, 32767).astype(np.int16))


def _run(detector: SpeechDetector, ulaw: bytes):
    flags, events = [], []
    for frame in audio.iter_frames(ulaw):
        event = detector.feed_frame(frame)
        flags.append(detector.last_is_speech)
        if event is not None:
            events.append(event)
    return flags, events


@pytest.fixture(scope="module")
def sentence() -> bytes:
    return synthesize_ulaw("My brakes are squeaking, can I bring my car in tomorrow morning?")


def test_silence_is_never_speech():
    flags, events = _run(SpeechDetector(aggressiveness=0), audio.ulaw_silence(3000))
    assert not any(flags) and events == []


def test_energy_gate_keeps_line_noise_out():
    hiss = np.random.default_rng(RNG_SEED).normal(0, 60, 8000 * 3)  # about -55 dBFS
    flags, events = _run(SpeechDetector(aggressiveness=0), _ulaw(hiss))
    assert not any(flags) and events == []
    # Without the gates webrtcvad alone calls some of that hiss speech while its noise model settles.
    ungated = SpeechDetector(aggressiveness=0, min_rms=0, noise_rise_ms=0)
    assert any(_run(ungated, _ulaw(hiss))[0])


def test_steady_tone_stops_counting_once_the_noise_floor_adapts():
    t = np.arange(8000 * 10) / 8000
    tone = audio.ulaw_silence(1000) + _ulaw(8000 * np.sin(2 * np.pi * 440 * t))
    flags, events = _run(SpeechDetector(), tone)
    assert any(flags[50:75])  # a new loud sound is speech-like at first...
    assert not any(flags[-250:])  # ...but five seconds of the same hum are not
    assert [e.kind for e in events] == [SPEECH_STARTED, SPEECH_ENDED]
    # With the adaptive floor off, webrtcvad keeps calling the tone speech.
    assert all(_run(SpeechDetector(noise_rise_ms=0), tone)[0][-250:])
    # A line that opens on the hum never counts it at all.
    assert not any(_run(SpeechDetector(), tone[8000:])[0])


def test_speech_start_and_end_events_follow_the_audio(sentence):
    lead_ms, tail_ms = 800, 1500
    detector = SpeechDetector(start_ms=100, end_ms=600)
    flags, events = _run(detector, audio.ulaw_silence(lead_ms) + sentence + audio.ulaw_silence(tail_ms))
    speech_end_ms = lead_ms + audio.ulaw_duration_ms(sentence)
    assert [e.kind for e in events] == [SPEECH_STARTED, SPEECH_ENDED]
    started, ended = events
    assert lead_ms + 100 <= started.at_ms <= lead_ms + 400
    assert started.speech_ms >= 100
    # The sentence ends in a fade; speech_ended comes 600 ms after the last voiced frame.
    assert speech_end_ms + 200 <= ended.at_ms <= speech_end_ms + 700
    assert 1000 <= ended.speech_ms <= audio.ulaw_duration_ms(sentence)
    assert not detector.in_speech and detector.silence_ms >= 600
    assert sum(flags) * 20 >= 1000


def test_odd_sized_chunks_give_the_same_events_as_frames(sentence):
    ulaw = audio.ulaw_silence(500) + sentence + audio.ulaw_silence(900)
    expected = _run(SpeechDetector(), ulaw)[1]
    detector, got, pos = SpeechDetector(), [], 0
    sizes = [1, 77, 333, 160, 4, 1000]
    i = 0
    while pos < len(ulaw):
        got += detector.feed(ulaw[pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    assert got == expected and len(got) == 2


def test_barge_in_threshold_starts_later_than_turn_threshold(sentence):
    ulaw = audio.ulaw_silence(400) + sentence
    quick = _run(SpeechDetector(start_ms=60), ulaw)[1][0]
    barge = _run(SpeechDetector(start_ms=250), ulaw)[1][0]
    assert quick.kind == barge.kind == SPEECH_STARTED
    assert barge.at_ms - quick.at_ms >= 150
    # The threshold can change on a live detector (the session does so when the agent starts talking).
    detector = SpeechDetector(start_ms=1000)
    detector.start_ms = 250
    assert _run(detector, ulaw)[1][0].at_ms == barge.at_ms


def test_short_gaps_do_not_break_a_speech_run():
    t = np.arange(8000) / 8000
    voiced = 6000 * np.sign(np.sin(2 * np.pi * 150 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    burst = _ulaw(voiced[:1600])  # 200 ms
    detector = SpeechDetector(hangover_ms=100, start_ms=10_000, noise_rise_ms=0)
    flags, _ = _run(detector, burst)
    assert all(flags), "this buzz must read as speech for the test to mean anything"
    _run(detector, audio.ulaw_silence(60))
    assert detector.silence_ms == 60 and detector.speech_ms == 200
    _run(detector, burst)
    assert detector.speech_ms == 400
    _run(detector, audio.ulaw_silence(200))
    assert detector.speech_ms == 0 and detector.silence_ms == 200


def test_speech_over_background_noise_is_still_found(sentence):
    rng = np.random.default_rng(RNG_SEED)
    clean = audio.ulaw_to_pcm16_array(audio.ulaw_silence(1000) + sentence + audio.ulaw_silence(1000))
    noisy = _ulaw(clean.astype(np.float64) + rng.normal(0, 400, clean.size))
    flags, events = _run(SpeechDetector(), noisy)
    assert [e.kind for e in events] == [SPEECH_STARTED, SPEECH_ENDED]
    assert not any(flags[:40])  # the noise before the sentence stays silence


def test_reset_and_validation():
    detector = SpeechDetector()
    detector.feed(b"\xff" * 100)
    detector.reset()
    assert detector.position_ms == 0 and detector.feed(b"\xff" * 60) == ()
    with pytest.raises(ValueError):
        SpeechDetector(aggressiveness=4)
    with pytest.raises(ValueError):
        detector.feed_frame(b"\xff" * 80)


def test_per_frame_cost_is_small(sentence):
    frames = list(audio.iter_frames(sentence * 5))
    detector = SpeechDetector()
    started = time.perf_counter()
    for frame in frames:
        detector.feed_frame(frame)
    per_frame_us = (time.perf_counter() - started) / len(frames) * 1e6
    print(f"VAD: {per_frame_us:.1f} µs per 20 ms frame")
    assert per_frame_us < 200  # ~5-10 µs here; 20 ms of audio per frame
