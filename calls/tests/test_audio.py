import warnings

import numpy as np
import pytest

from calls.voice import audio

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def test_decode_known_g711_values():
    table = audio.ULAW_DECODE_TABLE
    assert table[0xFF] == 0 and table[0x7F] == 0  # positive and negative zero
    assert table[0x80] == 32124 and table[0x00] == -32124  # loudest codes
    assert table[0xFE] == 8 and table[0x7E] == -8  # smallest steps
    assert table[0xF0] == 120 and table[0xEF] == 132  # top of segment 0, bottom of segment 1
    assert table.dtype == np.int16 and table.shape == (256,)


def test_encode_known_g711_values():
    def enc(*samples):
        return list(audio.pcm16_to_ulaw(np.array(samples, dtype=np.int16)))

    assert enc(0, 32767, -32768, 8, -8, 120, 132) == [0xFF, 0x80, 0x00, 0xFE, 0x7E, 0xF0, 0xEF]
    assert audio.ULAW_ENCODE_TABLE.shape == (65536,)


def test_decode_matches_the_stdlib_reference_where_it_exists():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
        reference = np.frombuffer(audioop.ulaw2lin(bytes(range(256)), 2), dtype=np.int16)
    assert np.array_equal(reference, audio.ULAW_DECODE_TABLE)


def test_every_code_survives_decode_then_encode():
    again = np.frombuffer(audio.pcm16_to_ulaw(audio.ULAW_DECODE_TABLE), dtype=np.uint8)
    expected = np.arange(256, dtype=np.uint8)
    expected[0x7F] = 0xFF  # negative zero comes back as the canonical zero
    assert np.array_equal(again, expected)


def test_round_trip_error_is_within_half_a_quantisation_step():
    decoded = audio.ulaw_to_pcm16_array(audio.pcm16_to_ulaw(ALL_SAMPLES)).astype(np.int32)
    x = ALL_SAMPLES.astype(np.int32)
    err = np.abs(decoded - x)
    in_range = np.abs(x) <= 32635  # above this G.711 clips
    # In segment e the step is 8 << e and |x| + 132 < 264 << e, so half a step <= (|x| + 132) / 32.
    assert np.all(err[in_range] <= (np.abs(x[in_range]) + 132) / 32 + 1)
    assert err.max() <= 32767 - 32124 + 1
    # Monotonic: a louder sample never decodes quieter.
    assert np.all(np.diff(decoded) >= 0)


def test_sine_through_ulaw_keeps_telephone_quality():
    t = np.arange(8000) / 8000
    sine = (12000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    back = audio.ulaw_to_pcm16_array(audio.pcm16_to_ulaw(sine))
    noise = back.astype(np.float64) - sine
    snr_db = 10 * np.log10(np.mean(sine.astype(np.float64) ** 2) / np.mean(noise**2))
    assert snr_db > 33  # G.711 µ-law gives ~38 dB on a loud sine


def test_silence_helpers():
    assert audio.ULAW_SILENCE == 0xFF
    assert audio.ulaw_silence(20) == b"\xff" * 160
    assert audio.ulaw_to_pcm16(audio.ulaw_silence(100)) == b"\x00" * 1600
    assert audio.rms(audio.ulaw_to_pcm16_array(audio.ulaw_silence(100))) == 0
    assert audio.rms_dbfs(np.zeros(10, dtype=np.int16)) == -120.0


def test_durations():
    assert audio.ulaw_duration_ms(160) == 20
    assert audio.ulaw_duration_ms(b"\xff" * 8000) == 1000
    assert audio.ulaw_bytes_for_ms(20) == 160
    assert audio.pcm16_duration_ms(b"\x00" * 32000, 16000) == 1000
    assert audio.pcm16_duration_ms(44100, 22050) == 1000


def test_pcm16_to_ulaw_rejects_other_sample_types():
    with pytest.raises(TypeError):
        audio.pcm16_to_ulaw(np.zeros(10, dtype=np.float32))


def test_split_and_iter_frames():
    data = bytes(range(256)) * 2  # 512 bytes: 3 frames + 32
    frames, rest = audio.split_frames(data)
    assert [len(f) for f in frames] == [160, 160, 160] and rest == data[480:]
    padded = list(audio.iter_frames(data))
    assert len(padded) == 4 and padded[-1] == data[480:] + b"\xff" * 128
    assert list(audio.iter_frames(data, pad=False)) == frames


def test_frame_buffer_regroups_odd_sizes():
    data = np.random.default_rng(1).integers(0, 256, 3333, dtype=np.uint8).tobytes()
    buffer = audio.FrameBuffer()
    out, pos = [], 0
    for size in [1, 159, 160, 7, 400, 33, 160, 1000, 3, 1410]:
        out += buffer.push(data[pos : pos + size])
        pos += size
    assert pos == len(data)
    assert out == audio.split_frames(data)[0]
    assert buffer.pending() == len(data) % 160


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[np.argmax(spectrum)])


def test_one_shot_resampling_keeps_length_and_pitch():
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    up = audio.resample_pcm16(tone, 8000, 16000)
    assert up.dtype == np.int16 and abs(up.size - 16000) <= 2
    assert abs(_dominant_hz(up, 16000) - 440) < 3

    t22 = np.arange(22050) / 22050
    voice_band = (8000 * np.sin(2 * np.pi * 1000 * t22)).astype(np.int16)
    down = audio.resample_pcm16(voice_band, 22050, 8000)
    assert abs(down.size - 8000) <= 2 and abs(_dominant_hz(down, 8000) - 1000) < 3


def test_downsampling_removes_what_8k_cannot_carry():
    t22 = np.arange(22050) / 22050
    high = (8000 * np.sin(2 * np.pi * 6000 * t22)).astype(np.int16)  # would alias to 2 kHz unfiltered
    down = audio.resample_pcm16(high, 22050, 8000)
    assert audio.rms(down[400:-400]) < 80


def test_stream_resampler_matches_one_shot_in_20ms_chunks():
    rng = np.random.default_rng(7)
    t = np.arange(16000) / 8000
    signal = (6000 * np.sin(2 * np.pi * 300 * t) + rng.normal(0, 500, t.size)).astype(np.int16)
    resampler = audio.StreamResampler(8000, 16000)
    pieces = [resampler.process(signal[i : i + 160]) for i in range(0, signal.size, 160)]
    pieces.append(resampler.flush())
    streamed = np.concatenate(pieces)
    one_shot = audio.resample_pcm16(signal, 8000, 16000)
    assert abs(streamed.size - one_shot.size) <= 2
    n = min(streamed.size, one_shot.size)
    assert np.max(np.abs(streamed[:n].astype(np.int32) - one_shot[:n])) <= 2
    # After flush() it is ready for a new signal.
    assert resampler.process(signal[:1600]).size > 0
