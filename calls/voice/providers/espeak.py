"""Offline text-to-speech with eSpeak NG, called through ctypes (the `espeakng-loader` wheel ships the library).

libespeak-ng keeps global state (one current voice, one callback, one output buffer), so every call into it
runs on ONE dedicated worker thread shared by the whole process: calls and threads queue their sentences
there and are served in order. A sentence takes a few milliseconds (eSpeak is ~500x faster than real time),
so one thread serves many calls; the event loop only awaits futures.

The same text does not come out bit-identical twice (the engine carries a little state from one
synthesis to the next; seeding its random generator does not change that), only nearly so.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import re
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from calls.voice.audio import ULAW_RATE, pcm16_to_ulaw, resample_pcm16
from calls.voice.providers.base import TTSProvider

logger = logging.getLogger(__name__)

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_CHARS_UTF8 = 1
POS_CHARACTER = 1
ESPEAK_RATE = 1  # espeak_PARAMETER values
ESPEAK_VOLUME = 2
ESPEAK_PITCH = 3
EE_OK = 0
# TextToPhonemes mode: bit 1 = IPA output, bits 8-23 = separator between phonemes ("_").
_PHONEME_MODE_IPA_SEPARATED = 0x02 | (ord("_") << 8)

DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 175
MAX_CHUNK_CHARS = 220  # longer sentences are cut at a comma/space so the first audio comes quickly

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakError(RuntimeError):
    pass


class _Job:
    """What the callback writes into for the synthesis in progress."""

    __slots__ = ("cancel", "chunks")

    def __init__(self, cancel: threading.Event | None) -> None:
        self.chunks: list[bytes] = []
        self.cancel = cancel


class _Engine:
    """The process's only handle on libespeak-ng. All methods starting with `_` run on the worker thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._thread_ident: int | None = None
        self._lib: ctypes.CDLL | None = None
        self.sample_rate = 0
        self._job: _Job | None = None
        self._callback = _SYNTH_CALLBACK(self._on_audio)  # kept referenced: the C side holds the pointer
        self._voice: str | None = None
        self._rate: int | None = None

    # -- public, any thread --
    def submit(self, fn, *args) -> Future:
        return self._executor.submit(self._run, fn, *args)

    def call(self, fn, *args):
        """Run on the worker thread and wait (directly when already on it, so nested use cannot deadlock)."""
        if threading.get_ident() == self._thread_ident:
            return self._run(fn, *args)
        return self.submit(fn, *args).result()

    # -- worker thread --
    def _run(self, fn, *args):
        if self._lib is None:
            self._initialize()
        return fn(*args)

    def _initialize(self) -> None:
        import espeakng_loader

        self._thread_ident = threading.get_ident()
        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise EspeakError(f"cannot load libespeak-ng: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]  # fmt: skip
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise EspeakError(f"espeak_Initialize failed ({rate})")
        lib.espeak_SetSynthCallback(self._callback)
        self._lib = lib
        self.sample_rate = rate
        logger.info("eSpeak NG ready at %d Hz", rate)

    def _on_audio(self, wav, numsamples, events) -> int:
        job = self._job
        if job is None:
            return 1
        if numsamples > 0 and wav:
            job.chunks.append(ctypes.string_at(wav, numsamples * 2))
        return 1 if job.cancel is not None and job.cancel.is_set() else 0

    def _configure(self, voice: str, rate_wpm: int) -> None:
        assert self._lib is not None
        if voice != self._voice:
            # Whatever a failed attempt left in eSpeak's own state, the next call sets voice and rate again.
            self._voice = self._rate = None
            if self._lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                raise EspeakError(f"unknown eSpeak voice {voice!r}")
            self._voice = voice
        if rate_wpm != self._rate:
            self._lib.espeak_SetParameter(ESPEAK_RATE, rate_wpm, 0)
            self._rate = rate_wpm

    def _synth(self, text: str, voice: str, rate_wpm: int, cancel: threading.Event | None) -> np.ndarray:
        """int16 samples at `self.sample_rate`; empty when cancelled."""
        assert self._lib is not None
        if cancel is not None and cancel.is_set():
            return np.zeros(0, dtype=np.int16)
        self._configure(voice, rate_wpm)
        data = text.encode("utf-8")
        job = _Job(cancel)
        self._job = job
        try:
            status = self._lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        finally:
            self._job = None
        if cancel is not None and cancel.is_set():
            return np.zeros(0, dtype=np.int16)
        if status != EE_OK:
            raise EspeakError(f"espeak_Synth failed ({status})")
        return np.frombuffer(b"".join(job.chunks), dtype=np.int16)

    def _phonemes(self, text: str, voice: str) -> list[str]:
        """IPA phonemes of `text`, one list entry per word, phonemes separated by '_'."""
        assert self._lib is not None
        self._configure(voice, self._rate or DEFAULT_RATE_WPM)
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        ptr = ctypes.c_char_p(ctypes.addressof(buf))
        words: list[str] = []
        while ptr.value:
            out = self._lib.espeak_TextToPhonemes(ctypes.byref(ptr), ESPEAK_CHARS_UTF8, _PHONEME_MODE_IPA_SEPARATED)
            if out:
                words.extend(out.decode("utf-8").split())
        return words


_engine = _Engine()


def _to_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    return resample_pcm16(samples, _engine.sample_rate, rate)


def synthesize_pcm16(text: str, rate: int = ULAW_RATE, *, voice: str = DEFAULT_VOICE,
                     rate_wpm: int = DEFAULT_RATE_WPM) -> bytes:  # fmt: skip
    """Speak `text` (any length) and return PCM16 at `rate`. Blocking: call from a thread, not the event loop."""
    samples = _engine.call(_engine._synth, text, voice, rate_wpm, None)
    return _to_rate(samples, rate).tobytes()


def synthesize_ulaw(text: str, *, voice: str = DEFAULT_VOICE, rate_wpm: int = DEFAULT_RATE_WPM) -> bytes:
    """Speak `text` as telephone audio (µ-law 8 kHz). Blocking: for tests, benchmarks and sync code."""
    samples = _engine.call(_engine._synth, text, voice, rate_wpm, None)
    return pcm16_to_ulaw(_to_rate(samples, ULAW_RATE))


def text_to_ipa(text: str, *, voice: str = DEFAULT_VOICE) -> list[str]:
    """eSpeak's IPA transcription, one '_'-separated phoneme string per word (for the speech dictionary)."""
    return _engine.call(_engine._phonemes, text, voice)


_ABBREVIATIONS = ("mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "approx", "no", "ave", "blvd")
_SENTENCE_END = re.compile(r"(?<=[.!?;])[\"')\]]*\s+|\n+")


def split_sentences(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Cut text into sentences to synthesise one by one (never inside a number like 3.5 or after 'Dr.')."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        last_word = candidate.rsplit(None, 1)[-1].rstrip(".").lower() if candidate else ""
        if candidate.endswith(".") and last_word in _ABBREVIATIONS:
            continue
        if candidate:
            pieces.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    out: list[str] = []
    for piece in pieces:
        out.extend(_cut_long(piece, max_chars))
    return out


def _cut_long(sentence: str, max_chars: int) -> list[str]:
    parts: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(", ", 0, max_chars)
        if cut < max_chars // 3:
            cut = sentence.rfind(" ", 0, max_chars)
        if cut <= 0:
            cut = max_chars
        parts.append(sentence[: cut + 1].strip())
        sentence = sentence[cut + 1 :].strip()
    if sentence:
        parts.append(sentence)
    return parts


class EspeakTTS(TTSProvider):
    """µ-law 8 kHz speech, sentence by sentence. Cheap to create: one per call is fine."""

    name = "espeak"

    def __init__(self, *, voice: str = DEFAULT_VOICE, rate_wpm: int = DEFAULT_RATE_WPM) -> None:
        self.voice = voice
        self.rate_wpm = rate_wpm

    def warm_up(self) -> None:
        """Load the library and the voice now rather than during the first call's greeting (blocking)."""
        _engine.call(_engine._synth, "ok", self.voice, self.rate_wpm, None)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        cancel = threading.Event()
        pending: asyncio.Future | None = None
        try:
            for sentence in split_sentences(text):
                pending = asyncio.wrap_future(_engine.submit(self._sentence_ulaw, sentence, cancel))
                ulaw = await pending
                pending = None
                if ulaw:
                    yield ulaw
        finally:
            # Consumer closed us (barge-in) or got cancelled: a queued sentence is dropped, a running one aborts
            # at eSpeak's next callback.
            cancel.set()
            if pending is not None:
                pending.cancel()

    def _sentence_ulaw(self, sentence: str, cancel: threading.Event) -> bytes:
        samples = _engine._synth(sentence, self.voice, self.rate_wpm, cancel)
        if samples.size == 0:
            return b""
        return pcm16_to_ulaw(_to_rate(samples, ULAW_RATE))
