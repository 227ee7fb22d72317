"""Offline streaming speech-to-text with pocketsphinx and the domain language model from `vocabulary`.

Threading: `send_audio` only appends to the stream's queue (O(1)); a shared thread pool drains each stream's
queue in order, at most one job per stream at a time. The decoder is driven through pocketsphinx's C API
with ctypes because ctypes releases the GIL for the duration of each call: the Cython `Decoder` holds the
GIL inside `process_raw`/`end_utt` (measured: a 125 ms `end_utt` froze the event loop for 125 ms), which
would stall every other call in the process. The Cython decoder remains as a fallback for a wheel that
does not export the C symbols.

Per stream, audio is gated by a `SpeechDetector`: the decoder only sees speech (plus 300 ms of pre-roll),
so silence and the agent's own talking time cost no decoding. Audio goes µ-law -> PCM16 -> soxr 8k->16k
(the bundled acoustic model is wideband) -> plus a fixed low noise floor (the empty 4-8 kHz band and
digital silence otherwise mislead the wideband model; measured +20% content words on phone audio) ->
`process_raw`. Decoders load the small domain model in ~15 ms and are pooled across calls.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from calls.voice import vocabulary
from calls.voice.audio import FRAME_BYTES, FRAME_MS, ULAW_DECODE_TABLE, StreamResampler
from calls.voice.listen_hint import ListenHint
from calls.voice.providers.base import STTProvider, STTStream, Transcript, TranscriptCallback
from calls.voice.vad import SpeechDetector

logger = logging.getLogger(__name__)

DECODER_RATE = 16000
_executor = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="sphinx")


def _noise_floor(sigma: float, seconds: int = 3) -> np.ndarray:
    rng = np.random.default_rng(20240611)  # fixed: the same input always decodes the same way
    return np.rint(rng.normal(0.0, sigma, DECODER_RATE * seconds)).astype(np.int32)


# ---------------------------------------------------------------------------------------------------------
# Decoder backends
# ---------------------------------------------------------------------------------------------------------


class _NativeApi:
    """The pocketsphinx C API exported by the wheel's extension module, bound with ctypes."""

    def __init__(self) -> None:
        import pocketsphinx._pocketsphinx as ext

        lib = ctypes.CDLL(ext.__file__)
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        signatures = {
            "ps_config_init": (vp, [vp]),
            "ps_config_set_str": (vp, [vp, cp, cp]),  # parses the string by the parameter's type
            "ps_config_free": (ctypes.c_int, [vp]),
            "ps_init": (vp, [vp]),
            "ps_free": (ctypes.c_int, [vp]),
            "ps_start_utt": (ctypes.c_int, [vp]),
            "ps_process_raw": (ctypes.c_int, [vp, vp, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]),
            "ps_end_utt": (ctypes.c_int, [vp]),
            "ps_get_hyp": (cp, [vp, ctypes.POINTER(ctypes.c_int32)]),
            "ps_add_word": (ctypes.c_int, [vp, cp, cp, ctypes.c_int]),
            "ps_reinit_feat": (ctypes.c_int, [vp, vp]),
            "ps_add_lm_file": (ctypes.c_int, [vp, cp, cp]),
            "ps_activate_search": (ctypes.c_int, [vp, cp]),
            "ps_remove_search": (ctypes.c_int, [vp, cp]),
            "ps_current_search": (cp, [vp]),
        }
        for name, (restype, argtypes) in signatures.items():
            fn = getattr(lib, name)  # AttributeError when the symbol is not exported
            fn.restype, fn.argtypes = restype, argtypes
        self.lib = lib


_native_api: _NativeApi | None = None
_native_checked = False
_native_lock = threading.Lock()


def _native() -> _NativeApi | None:
    global _native_api, _native_checked
    with _native_lock:
        if not _native_checked:
            _native_checked = True
            try:
                _native_api = _NativeApi()
            except (OSError, AttributeError) as exc:
                logger.warning("pocketsphinx C API not reachable (%s); decoding will hold the GIL", exc)
    return _native_api


# Initial cepstral mean for telephone audio upsampled to 16 kHz with our noise floor, measured by decoding
# eSpeak speech through exactly this path. The model's own default (40,3,-1,0...) describes wideband audio;
# with it the first utterance of a call lost a third of its content words (37 vs 57 of 73 in our set).
PHONE_CMN_INIT = "54.88,-3.33,-8.54,13.96,-2.29,-3.95,-3.67,-15.16,-3.01,-5.30,-1.22,2.77,-7.58"


def _config_values(files: vocabulary.LanguageModelFiles, options: dict[str, object]) -> dict[str, object]:
    from pocketsphinx import get_model_path

    return {
        "hmm": os.path.join(get_model_path(), "en-us", "en-us"),
        "lm": str(files.lm_path),
        "dict": str(files.dict_path),
        "samprate": DECODER_RATE,
        "cmninit": PHONE_CMN_INIT,
        "loglevel": "ERROR",
        **options,
    }


class NativeDecoder:
    """One pocketsphinx decoder driven through ctypes (GIL released during each call). One thread at a time."""

    def __init__(self, files: vocabulary.LanguageModelFiles, options: dict[str, object]) -> None:
        api = _native()
        if api is None:
            raise RuntimeError("pocketsphinx C API unavailable")
        self._lib = api.lib
        config = self._lib.ps_config_init(None)
        try:
            for key, value in _config_values(files, options).items():
                if not self._lib.ps_config_set_str(config, key.encode(), str(value).encode()):
                    raise RuntimeError(f"pocketsphinx rejected {key}={value!r}")
            self._ps = self._lib.ps_init(config)
        finally:
            self._lib.ps_config_free(config)  # the decoder keeps its own reference
        if not self._ps:
            raise RuntimeError(f"pocketsphinx failed to load {files.lm_path} / {files.dict_path}")
        self.searches: dict[str, None] = {}  # language models loaded besides the default, oldest first

    def reset_front_end(self) -> None:
        if self._lib.ps_reinit_feat(self._ps, None) < 0:  # None: from the decoder's own configuration
            raise RuntimeError("ps_reinit_feat failed")

    def start_utt(self) -> None:
        if self._lib.ps_start_utt(self._ps) < 0:
            raise RuntimeError("ps_start_utt failed")

    def process(self, samples: np.ndarray) -> None:
        samples = np.ascontiguousarray(samples, dtype=np.int16)
        if samples.size and self._lib.ps_process_raw(self._ps, samples.ctypes.data, samples.size, 0, 0) < 0:
            raise RuntimeError("ps_process_raw failed")

    def end_utt(self) -> None:
        if self._lib.ps_end_utt(self._ps) < 0:
            raise RuntimeError("ps_end_utt failed")

    def hyp(self) -> str:
        text = self._lib.ps_get_hyp(self._ps, None)
        return text.decode("utf-8") if text else ""

    def add_word(self, word: str, phones: str) -> bool:
        return self._lib.ps_add_word(self._ps, word.encode(), phones.encode(), 1) >= 0

    def add_lm_file(self, name: str, path: str) -> None:
        if self._lib.ps_add_lm_file(self._ps, name.encode(), path.encode()) < 0:
            raise RuntimeError(f"pocketsphinx could not load {path}")

    def activate_search(self, name: str) -> None:
        if self._lib.ps_activate_search(self._ps, name.encode()) < 0:
            raise RuntimeError(f"no search {name!r}")

    def remove_search(self, name: str) -> None:
        self._lib.ps_remove_search(self._ps, name.encode())

    def current_search(self) -> str:
        name = self._lib.ps_current_search(self._ps)
        return name.decode() if name else ""

    def free(self) -> None:
        if self._ps:
            self._lib.ps_free(self._ps)
            self._ps = None

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # noqa: BLE001, S110 - interpreter shutdown
            pass


class CythonDecoder:
    """The same operations through pocketsphinx's own Python binding (holds the GIL while decoding)."""

    def __init__(self, files: vocabulary.LanguageModelFiles, options: dict[str, object]) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(**_config_values(files, options))
        self.searches: dict[str, None] = {}

    def reset_front_end(self) -> None:
        self._decoder.reinit_feat()

    def start_utt(self) -> None:
        self._decoder.start_utt()

    def process(self, samples: np.ndarray) -> None:
        if samples.size:
            self._decoder.process_raw(np.ascontiguousarray(samples, dtype=np.int16).tobytes())

    def end_utt(self) -> None:
        self._decoder.end_utt()

    def hyp(self) -> str:
        hyp = self._decoder.hyp()
        return hyp.hypstr if hyp is not None else ""

    def add_word(self, word: str, phones: str) -> bool:
        try:
            self._decoder.add_word(word, phones, True)
        except RuntimeError:
            return False
        return True

    def add_lm_file(self, name: str, path: str) -> None:
        self._decoder.add_lm_file(name, path)

    def activate_search(self, name: str) -> None:
        self._decoder.activate_search(name)

    def remove_search(self, name: str) -> None:
        self._decoder.remove_search(name)

    def current_search(self) -> str:
        return self._decoder.current_search() or ""

    def free(self) -> None:
        self._decoder = None


Decoder = NativeDecoder | CythonDecoder

DEFAULT_SEARCH = "_default"  # pocketsphinx's name for the model given at start-up: the general domain model
MAX_OPTION_SEARCHES = 6  # per decoder; models of offered options differ from call to call


def use_search(decoder: Decoder, name: str, path: os.PathLike | None) -> None:
    """Make `name` the decoder's language model, loading it from `path` the first time (~5 ms).
    Only between utterances: pocketsphinx cannot change the model of an utterance in progress."""
    if name != DEFAULT_SEARCH and name not in decoder.searches:
        if path is None:
            raise ValueError(f"search {name!r} is not loaded and has no file")
        decoder.add_lm_file(name, str(path))
    decoder.searches.pop(name, None)
    if name != DEFAULT_SEARCH:
        decoder.searches[name] = None
    decoder.activate_search(name)
    options = [n for n in decoder.searches if n.startswith("options-") and n != name]
    for old in options[: max(0, len(options) - MAX_OPTION_SEARCHES + 1)]:
        del decoder.searches[old]
        decoder.remove_search(old)


# ---------------------------------------------------------------------------------------------------------
# Model: language model files + a pool of decoders, one per process and vocabulary
# ---------------------------------------------------------------------------------------------------------


class SpeechModel:
    MAX_IDLE = 16

    def __init__(
        self,
        files: vocabulary.LanguageModelFiles,
        *,
        native: bool | None = None,
        options: dict[str, object] | None = None,
    ) -> None:
        self.files = files
        self.options = dict(options or {})
        self._native = (_native() is not None) if native is None else native
        self._idle: list[Decoder] = []
        self._lock = threading.Lock()
        self.created = 0

    def acquire(self) -> Decoder:
        """A decoder not in use by anyone, in the state of a new one (reused: ~0.1 ms; new: ~15-40 ms).
        Call from a worker thread."""
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
            if decoder is None:
                self.created += 1
        if decoder is None:
            return NativeDecoder(self.files, self.options) if self._native else CythonDecoder(self.files, self.options)
        # A call starts from what a new decoder hears with, never from the previous caller's audio: the feature
        # extraction keeps state across utterances beyond the cepstral mean (ps_set_cmn alone left the same clip
        # decoding differently on a reused decoder). Rebuilding it from the configuration costs ~0.05 ms.
        decoder.reset_front_end()
        # And the general model, whatever model the previous call switched to (activating it costs nothing).
        use_search(decoder, DEFAULT_SEARCH, None)
        return decoder

    def release(self, decoder: Decoder, *, reusable: bool = True) -> None:
        """Back to the pool; a decoder that learnt call-specific words is dropped so they do not leak."""
        with self._lock:
            if reusable and len(self._idle) < self.MAX_IDLE:
                self._idle.append(decoder)
                return
        decoder.free()

    def idle_count(self) -> int:
        with self._lock:
            return len(self._idle)

    def search_for(self, hint: ListenHint | None, *, known: Iterable[str] = ()) -> tuple[str, os.PathLike | None]:
        """(search name, model file) to decode an answer to `hint`'s question with. Blocking: a worker thread."""
        if hint is None:
            return DEFAULT_SEARCH, None
        options = vocabulary.options_model(self.files, hint, known=known)
        if options is not None:
            return options.stem, options
        return f"hint-{hint.expect.value}", self.files.hint_paths[hint.expect]


_models: dict[tuple, SpeechModel] = {}
_models_lock = threading.Lock()


def get_model(
    extra_words: Iterable[str] = (), options: dict[str, object] | None = None, services: Iterable[str] = ()
) -> SpeechModel:
    """The process's model for this vocabulary, built on first use (blocking: call from a thread)."""
    words = tuple(sorted(set(extra_words)))
    shop = tuple(dict.fromkeys(services))
    key = (words, tuple(sorted((options or {}).items())), shop)
    with _models_lock:
        model = _models.get(key)
        if model is None:
            model = SpeechModel(vocabulary.build_language_model(words, services=shop), options=options)
            if len(_models) >= 4:  # CRM vocabulary changes over the process's life; keep the newest few
                _models.pop(next(iter(_models)))
            _models[key] = model
        return model


def shop_service_phrases() -> tuple[str, ...] | None:
    """The shop's active services as the understanding layer reads them (names and caller keywords), or None when
    the database cannot be read (a script, a test without one): the recogniser then knows our own list only."""
    try:
        from django.utils import timezone

        from calls.agent.understanding.shop_words import shop_words

        services = shop_words(timezone.localdate()).services
    except Exception as exc:  # noqa: BLE001 - no database here: hearing goes on with the built-in words
        logger.debug("shop services unavailable to the recogniser: %s", exc)
        return None
    finally:
        if threading.current_thread().name.startswith("sphinx"):
            from django.db import connections

            connections.close_all()  # a recogniser thread keeps no database connection open between calls
    phrases: list[str] = []
    for service in services:
        phrases += [service.name, *(k.strip() for k in (service.keywords or "").split(",") if k.strip())]
    return tuple(dict.fromkeys(phrases))


async def prepare(extra_words: Iterable[str] = (), options: dict[str, object] | None = None) -> SpeechModel:
    """Build/load the model and one decoder ahead of the first call (e.g. at worker start)."""
    loop = asyncio.get_running_loop()

    def warm() -> SpeechModel:
        model = get_model(extra_words, options)
        model.release(model.acquire())
        return model

    return await loop.run_in_executor(_executor, warm)


# ---------------------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------------------

_FINALIZE = object()
_CLOSE = object()
_NO_HINT_PENDING = object()


@dataclass(frozen=True)
class _Expect:
    hint: ListenHint | None


@dataclass
class StreamStats:
    audio_ms: int = 0  # µ-law received
    decoded_ms: int = 0  # audio that went through the decoder
    utterances: int = 0
    cpu_s: float = 0.0  # thread CPU spent in this stream's jobs
    finalize_latency_ms: list[float] = field(default_factory=list)  # end_utt + hyp time per final
    searches: list[str] = field(default_factory=list)  # the language model each utterance was decoded with


class SphinxStream(STTStream):
    def __init__(self, provider: SphinxSTT, on_transcript: TranscriptCallback, hints: Iterable[str]) -> None:
        self._provider = provider
        self._on_transcript = on_transcript
        self._hints = [h for h in hints if h]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque = deque()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._scheduled = False
        self._started = False
        self._closed = False
        self._job: Future | None = None
        self.stats = StreamStats()
        # Worker-thread state (only touched inside _drain, which never runs twice at once for a stream).
        self._model: SpeechModel | None = None
        self._decoder: Decoder | None = None
        self._reusable = True
        self._detector = SpeechDetector(
            aggressiveness=provider.vad_aggressiveness, start_ms=provider.gate_start_ms,
            end_ms=provider.endpoint_ms, hangover_ms=200,
        )  # fmt: skip
        self._preroll: deque[bytes] = deque(maxlen=max(1, provider.preroll_ms // FRAME_MS))
        self._pending_frame = bytearray()
        self._in_utt = False
        self._utt_ms = 0
        self._last_partial_ms = 0
        self._last_partial = ""
        self._resampler = StreamResampler(8000, DECODER_RATE, quality="MQ")
        self._noise_pos = 0
        self._learnt: set[str] = set()  # call hint words added to the decoder's dictionary
        self._pending_hint: object = _NO_HINT_PENDING  # a hint that arrived mid-utterance waits for its end
        self.search = DEFAULT_SEARCH

    # -- event-loop side --
    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(_executor, self._open)
        self._started = True
        self._schedule()

    def send_audio(self, ulaw: bytes) -> None:
        if self._closed or not ulaw:
            return
        self._queue.append(ulaw)
        self._queued_bytes += len(ulaw)
        if self._queued_bytes >= self._provider.batch_bytes:
            self._schedule()

    async def finalize(self) -> None:
        if self._closed:
            return
        self._queue.append(_FINALIZE)
        self._schedule()

    def expect(self, hint: ListenHint | None) -> None:
        """Decode from the next utterance on with the model of this question (None: the general model).
        Queued in order with the audio, so it never changes the utterance the caller is saying now."""
        if self._closed:
            return
        self._queue.append(_Expect(hint))
        self._schedule()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.append(_CLOSE)
        job = self._schedule()
        if job is not None:
            await asyncio.wrap_future(job)  # the decoder goes back to the pool before we return

    def _schedule(self) -> Future | None:
        if not self._started and not self._closed:
            return None
        with self._lock:
            if self._scheduled:
                return self._job
            self._scheduled = True
            self._queued_bytes = 0
            self._job = _executor.submit(self._drain)
            return self._job

    def _emit(self, transcript: Transcript) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._deliver, transcript)

    def _deliver(self, transcript: Transcript) -> None:
        if self._closed and not transcript.is_final:
            return
        try:
            self._on_transcript(transcript)
        except Exception:
            logger.exception("transcript callback failed")

    # -- worker side --
    def _open(self) -> None:
        self._model = self._provider.model()
        self._decoder = self._model.acquire()  # as new: the general model, no trace of the previous call
        unknown = [w for h in self._hints for w in vocabulary.normalize_text(h).split()
                   if w not in self._model.files.words]  # fmt: skip
        if unknown:
            prons, missing = vocabulary.pronunciations(unknown)
            for word, variants in prons.items():
                if self._decoder.add_word(word, variants[0]):
                    self._reusable = False
                    self._learnt.add(word)
            if missing:
                logger.info("hint words without pronunciation: %s", missing)

    def _drain(self) -> None:
        started = time.thread_time()
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        self._scheduled = False
                        return
                    # popleft, not list()+clear(): send_audio appends without taking the lock
                    items = [self._queue.popleft() for _ in range(len(self._queue))]
                audio = bytearray()
                for item in items:
                    if item is not _FINALIZE and item is not _CLOSE and not isinstance(item, _Expect):
                        audio += item
                        continue
                    if audio:
                        self._guarded(self._process_audio, bytes(audio))
                        audio.clear()
                    if isinstance(item, _Expect):
                        self._pending_hint = item.hint
                        if not self._in_utt:
                            self._apply_hint()
                    elif item is _FINALIZE:
                        self._finish_utterance(reason="finalize")
                    else:
                        self._guarded(self._shutdown)
                        with self._lock:
                            self._queue.clear()
                            self._scheduled = False
                        return
                if audio:
                    self._guarded(self._process_audio, bytes(audio))
        finally:
            self.stats.cpu_s += time.thread_time() - started

    def _guarded(self, step, *args) -> None:
        """A decoder error costs this call its recognition (finals come back empty), never the worker."""
        try:
            step(*args)
        except Exception:
            logger.exception("speech recognition failed; this call continues without it")
            self._fail()

    def _fail(self) -> None:
        decoder, self._decoder = self._decoder, None
        self._in_utt = False
        if decoder is not None:
            try:
                decoder.free()  # never back to the pool: its state is unknown
            except Exception:
                logger.exception("could not free a failed decoder")

    def _process_audio(self, ulaw: bytes) -> None:
        if self._decoder is None:
            return
        if self._pending_frame:
            ulaw = bytes(self._pending_frame) + ulaw
            self._pending_frame.clear()
        whole = len(ulaw) - len(ulaw) % FRAME_BYTES
        self.stats.audio_ms += whole // FRAME_BYTES * FRAME_MS
        if whole < len(ulaw):
            self._pending_frame += ulaw[whole:]
        to_decode: list[bytes] = []
        detector = self._detector
        for offset in range(0, whole, FRAME_BYTES):
            frame = ulaw[offset : offset + FRAME_BYTES]
            detector.feed_frame(frame)
            if not self._in_utt:
                self._preroll.append(frame)
                if detector.speech_ms >= detector.start_ms:
                    self._begin_utterance()
                    to_decode.extend(self._preroll)
                    self._preroll.clear()
                continue
            to_decode.append(frame)
            if detector.silence_ms >= self._provider.endpoint_ms:
                # Nobody called finalize(): end the turn ourselves, as a cloud recogniser's endpointing would.
                self._decode(to_decode)
                to_decode = []
                self._finish_utterance(reason="endpoint")
            elif self._utt_ms + len(to_decode) * FRAME_MS >= self._provider.max_utterance_ms:
                self._decode(to_decode)
                to_decode = []
                self._finish_utterance(reason="max_length")
                self._begin_utterance()
        if to_decode:
            self._decode(to_decode)
        if self._in_utt and self._utt_ms - self._last_partial_ms >= self._provider.partial_interval_ms:
            self._last_partial_ms = self._utt_ms
            text = self._decoder.hyp()
            if text and text != self._last_partial:
                self._last_partial = text
                self._emit(Transcript(text=text, is_final=False))

    def _apply_hint(self) -> None:
        """Switch to the pending hint's model. Between utterances only; a failure keeps the current model."""
        hint, self._pending_hint = self._pending_hint, _NO_HINT_PENDING
        if hint is _NO_HINT_PENDING or self._decoder is None or self._model is None:
            return
        assert not self._in_utt
        try:
            name, path = self._model.search_for(hint, known=self._learnt)
            if name != self.search:
                use_search(self._decoder, name, path)
                self.search = name
        except Exception:
            logger.exception("could not switch to the language model of %s; keeping %s", hint, self.search)

    def _begin_utterance(self) -> None:
        assert self._decoder is not None
        self._resampler.reset()
        self._decoder.start_utt()
        self.stats.searches.append(self.search)
        self._in_utt = True
        self._utt_ms = 0
        self._last_partial_ms = 0
        self._last_partial = ""

    def _decode(self, frames: list[bytes], *, last: bool = False) -> None:
        assert self._decoder is not None
        pcm8 = ULAW_DECODE_TABLE[np.frombuffer(b"".join(frames), dtype=np.uint8)]
        pcm16k = self._resampler.process(pcm8, last=last)
        self._decoder.process(self._add_noise_floor(pcm16k))
        self._utt_ms += len(frames) * FRAME_MS
        self.stats.decoded_ms += len(frames) * FRAME_MS

    def _add_noise_floor(self, samples: np.ndarray) -> np.ndarray:
        noise = self._provider.noise
        if noise is None or samples.size == 0:
            return samples
        out = samples.astype(np.int32)
        pos, n = self._noise_pos, samples.size
        while n:
            take = min(n, noise.size - pos)
            out[samples.size - n : samples.size - n + take] += noise[pos : pos + take]
            pos = (pos + take) % noise.size
            n -= take
        self._noise_pos = pos
        return np.clip(out, -32768, 32767).astype(np.int16)

    def _finish_utterance(self, *, reason: str) -> None:
        """End the current utterance and report it; on finalize always report (empty text when nothing)."""
        text = ""
        if self._in_utt and self._decoder is not None:
            started = time.perf_counter()
            try:
                self._decode([], last=True)  # the resampler's tail
                self._decoder.end_utt()
                text = self._decoder.hyp()
            except Exception:
                logger.exception("speech recognition failed; this call continues without it")
                self._fail()
            self._in_utt = False
            self.stats.utterances += 1
            self.stats.finalize_latency_ms.append((time.perf_counter() - started) * 1000)
        if reason == "finalize":
            self._emit(Transcript(text=text, is_final=True, speech_final=True))
        elif reason == "endpoint":
            if text:
                self._emit(Transcript(text=text, is_final=True, speech_final=True))
        elif text:  # max_length: a segment of a long turn
            self._emit(Transcript(text=text, is_final=True, speech_final=False))
        if self._pending_hint is not _NO_HINT_PENDING:
            self._apply_hint()  # after the final is out: switching never delays the caller's turn

    def _shutdown(self) -> None:
        decoder = self._decoder
        if decoder is None or self._model is None:
            return
        if self._in_utt:
            decoder.end_utt()  # raises into _guarded -> _fail if the decoder is broken
            self._in_utt = False
        self._decoder = None
        self._model.release(decoder, reusable=self._reusable)


class SphinxSTT(STTProvider):
    """pocketsphinx with the domain model. Cheap to create (the model is shared per process and vocabulary)."""

    name = "sphinx"

    def __init__(
        self,
        *,
        extra_words: Iterable[str] = (),
        partial_interval_ms: int = 300,
        endpoint_ms: int = 1500,
        max_utterance_ms: int = 20000,
        gate_start_ms: int = 40,
        preroll_ms: int = 300,
        vad_aggressiveness: int = 1,
        noise_sigma: float = 100.0,
        batch_ms: int = 100,
        decoder_options: dict[str, object] | None = None,
        services: Iterable[str] | None = None,
    ) -> None:
        self.extra_words = tuple(sorted(set(extra_words)))
        # The shop's service names and keywords; None: read them from the database when a stream opens (kept
        # per process by shop_words), so a service added in the admin is heard from the next call on.
        self.services = None if services is None else tuple(services)
        self.partial_interval_ms = partial_interval_ms
        self.endpoint_ms = endpoint_ms  # our own end of turn when nobody calls finalize()
        self.max_utterance_ms = max_utterance_ms
        self.gate_start_ms = gate_start_ms
        self.preroll_ms = preroll_ms
        self.vad_aggressiveness = vad_aggressiveness
        self.noise = _noise_floor(noise_sigma) if noise_sigma > 0 else None
        self.batch_bytes = max(FRAME_BYTES, batch_ms * 8)
        self.decoder_options = dict(decoder_options or {})  # pocketsphinx parameters, e.g. {"lw": 7.0}
        self._model: SpeechModel | None = None

    def model(self) -> SpeechModel:
        """The model for the shop's current services (a new one is built, ~1-2 s, the first time they change)."""
        services = self.services if self.services is not None else shop_service_phrases()
        if self._model is None or (services is not None and self._model.files.services != services):
            self._model = get_model(self.extra_words, self.decoder_options, services or ())
        return self._model

    def warm_up(self) -> None:
        """Build or load the language model and one decoder now (blocking: at process start, not per call)."""
        model = self.model()
        model.release(model.acquire())
        vocabulary.prepare_options(model.files)  # so the first offer of the process builds its model quickly

    def open_stream(self, *, on_transcript: TranscriptCallback, hints: Iterable[str] = ()) -> SphinxStream:
        return SphinxStream(self, on_transcript, hints)
