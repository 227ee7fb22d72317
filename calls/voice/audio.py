"""Telephone audio helpers: G.711 µ-law <-> PCM16, resampling, 20 ms framing, durations.

Everything here is plain numpy/soxr and cheap enough to call per frame; nothing touches the event loop.
µ-law follows ITU-T G.711 (as in the G.191 reference code): 14-bit magnitude, bias 33 (132 on the 16-bit
scale), negative samples use the one's complement, all bits inverted on the wire. The encoder is a
65536-entry lookup table indexed by the int16 sample viewed as uint16; the decoder a 256-entry table.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import soxr

ULAW_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = ULAW_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = FRAME_SAMPLES  # one byte per µ-law sample
ULAW_SILENCE = 0xFF  # µ-law code of 0 (0x7F is "negative zero" and decodes to 0 too)
ULAW_SILENCE_BYTE = bytes([ULAW_SILENCE])

_BIAS = 0x84
_CLIP = 32635


def _build_decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _build_encode_table() -> np.ndarray:
    samples = np.arange(65536, dtype=np.int32).astype(np.uint16).view(np.int16).astype(np.int32)
    negative = samples < 0
    magnitude = np.where(negative, ~samples, samples)  # one's complement, as G.711 does
    magnitude = np.minimum(magnitude, _CLIP) + _BIAS
    # Segment = position of the highest set bit of magnitude >> 7 (1..255 -> 0..7).
    exponent = np.floor(np.log2(magnitude >> 7)).astype(np.int32)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    code = np.where(negative, 0x80, 0x00) | (exponent << 4) | mantissa
    return (~code & 0xFF).astype(np.uint8)


ULAW_DECODE_TABLE: np.ndarray = _build_decode_table()  # int16[256]
ULAW_ENCODE_TABLE: np.ndarray = _build_encode_table()  # uint8[65536], index = int16 sample as uint16
ULAW_DECODE_TABLE.flags.writeable = False
ULAW_ENCODE_TABLE.flags.writeable = False


def ulaw_to_pcm16_array(ulaw: bytes | bytearray | memoryview) -> np.ndarray:
    """µ-law bytes -> int16 samples."""
    return ULAW_DECODE_TABLE[np.frombuffer(ulaw, dtype=np.uint8)]


def ulaw_to_pcm16(ulaw: bytes | bytearray | memoryview) -> bytes:
    """µ-law bytes -> little-endian PCM16 bytes (twice as long)."""
    return ulaw_to_pcm16_array(ulaw).tobytes()


def pcm16_to_ulaw(pcm: bytes | bytearray | memoryview | np.ndarray) -> bytes:
    """PCM16 (bytes, or an int16 array) -> µ-law bytes."""
    samples = pcm if isinstance(pcm, np.ndarray) else np.frombuffer(pcm, dtype=np.int16)
    if samples.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {samples.dtype}")
    return ULAW_ENCODE_TABLE[samples.view(np.uint16)].tobytes()


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> int16, clipped."""
    return np.clip(np.rint(samples * 32767.0), -32768, 32767).astype(np.int16)


def resample_pcm16(samples: np.ndarray, in_rate: int, out_rate: int, *, quality: str = "HQ") -> np.ndarray:
    """One-shot resampling of a whole int16 signal (a sentence of TTS, a test clip)."""
    if in_rate == out_rate:
        return samples
    if samples.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {samples.dtype}")
    if samples.size == 0:
        return samples
    return soxr.resample(samples, in_rate, out_rate, quality=quality)


class StreamResampler:
    """Chunked int16 resampling that keeps filter state across chunks (no clicks at chunk joins).

    Not thread-safe: one instance per stream, used from one thread at a time.
    """

    def __init__(self, in_rate: int, out_rate: int, *, quality: str = "HQ") -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._quality = quality
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality=quality)

    def process(self, samples: np.ndarray, *, last: bool = False) -> np.ndarray:
        if samples.dtype != np.int16:
            raise TypeError(f"expected int16 samples, got {samples.dtype}")
        return self._stream.resample_chunk(samples, last=last)

    def flush(self) -> np.ndarray:
        """Emit the samples still inside the filter; the resampler is ready for a new signal after this."""
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        self.reset()
        return tail

    def reset(self) -> None:
        self._stream = soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="int16", quality=self._quality)


def split_frames(data: bytes, frame_bytes: int = FRAME_BYTES) -> tuple[list[bytes], bytes]:
    """Cut `data` into whole frames; return (frames, remainder shorter than one frame)."""
    whole = len(data) - len(data) % frame_bytes
    frames = [data[i : i + frame_bytes] for i in range(0, whole, frame_bytes)]
    return frames, data[whole:]


def iter_frames(data: bytes, frame_bytes: int = FRAME_BYTES, *, pad: bool = True) -> Iterator[bytes]:
    """Yield fixed-size µ-law frames; the last partial frame is padded with µ-law silence (or dropped)."""
    frames, rest = split_frames(data, frame_bytes)
    yield from frames
    if rest and pad:
        yield rest + ULAW_SILENCE_BYTE * (frame_bytes - len(rest))


class FrameBuffer:
    """Accepts µ-law bytes of any size, hands out whole frames (Twilio does not promise 160-byte payloads)."""

    __slots__ = ("_buf", "frame_bytes")

    def __init__(self, frame_bytes: int = FRAME_BYTES) -> None:
        self.frame_bytes = frame_bytes
        self._buf = bytearray()

    def push(self, data: bytes) -> list[bytes]:
        if not self._buf and len(data) == self.frame_bytes:
            return [bytes(data)]  # the usual case: no copying into the buffer
        self._buf += data
        n = len(self._buf) - len(self._buf) % self.frame_bytes
        if n == 0:
            return []
        chunk = bytes(self._buf[:n])
        del self._buf[:n]
        return [chunk[i : i + self.frame_bytes] for i in range(0, n, self.frame_bytes)]

    def pending(self) -> int:
        return len(self._buf)

    def clear(self) -> None:
        self._buf.clear()


def ulaw_silence(ms: int) -> bytes:
    return ULAW_SILENCE_BYTE * ulaw_bytes_for_ms(ms)


def ulaw_bytes_for_ms(ms: float) -> int:
    return round(ms * ULAW_RATE / 1000)


def ulaw_duration_ms(ulaw: bytes | int) -> float:
    """Duration of µ-law 8 kHz audio (bytes or a byte count) in milliseconds."""
    n = ulaw if isinstance(ulaw, int) else len(ulaw)
    return n * 1000.0 / ULAW_RATE


def pcm16_duration_ms(pcm: bytes | int, rate: int) -> float:
    n = pcm if isinstance(pcm, int) else len(pcm)
    return (n // 2) * 1000.0 / rate


def rms(samples: np.ndarray) -> float:
    """Root mean square of int16 samples (0 for an empty array)."""
    if samples.size == 0:
        return 0.0
    x = samples.astype(np.float64)
    return float(np.sqrt(np.dot(x, x) / x.size))


def rms_dbfs(samples: np.ndarray) -> float:
    value = rms(samples)
    return -120.0 if value <= 0 else 20.0 * float(np.log10(value / 32768.0))
