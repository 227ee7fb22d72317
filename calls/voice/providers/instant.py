"""Providers that answer at once. They let benchmarks measure the pipeline's own overhead
(framing, VAD, turn-taking, pacing, marks) with the speech and language work taken out."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable

from django.conf import settings

from calls.agent.actions import EndCall, ReplyPiece
from calls.agent.base import Brain
from calls.agent.context import CallContext
from calls.voice.providers.base import STTProvider, STTStream, Transcript, TranscriptCallback, TTSProvider

MS_PER_CHAR = 60  # roughly a talker's pace, so played audio lasts as long as real speech would


def _tone(ms: int) -> bytes:
    """µ-law 8 kHz, 440 Hz at moderate level: audible, non-silent test audio."""
    import numpy as np

    from calls.voice.audio import pcm16_to_ulaw

    n = ms * 8
    samples = (6000 * np.sin(2 * math.pi * 440 * np.arange(n) / 8000)).astype(np.int16)
    return pcm16_to_ulaw(samples)


_TONE_CACHE: dict[int, bytes] = {}


class InstantSTTStream(STTStream):
    def __init__(self, on_transcript: TranscriptCallback, text: str):
        self._on_transcript = on_transcript
        self._text = text
        self._heard = 0

    async def start(self) -> None:
        return None

    def send_audio(self, ulaw: bytes) -> None:
        self._heard += len(ulaw)

    async def finalize(self) -> None:
        text, self._heard = (self._text if self._heard else ""), 0
        self._on_transcript(Transcript(text=text, is_final=True, speech_final=True, confidence=1.0))

    async def close(self) -> None:
        return None


class InstantSTT(STTProvider):
    name = "instant"

    def __init__(self, text: str | None = None):
        self.text = text if text is not None else settings.VOICE_INSTANT_TRANSCRIPT

    def open_stream(self, *, on_transcript: TranscriptCallback, hints: Iterable[str] = ()) -> STTStream:
        return InstantSTTStream(on_transcript, self.text)


class InstantTTS(TTSProvider):
    name = "instant"

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        ms = min(10_000, max(200, len(text) * MS_PER_CHAR)) // 20 * 20
        audio = _TONE_CACHE.get(ms)
        if audio is None:
            audio = _TONE_CACHE[ms] = _tone(ms)
        yield audio


class InstantBrain(Brain):
    """Echoes the caller; says goodbye and ends the call when asked to."""

    name = "instant"

    async def greet(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        yield "Thanks for calling. How can I help you today?"

    async def respond(self, ctx: CallContext, caller_text: str) -> AsyncIterator[ReplyPiece]:
        if "goodbye" in caller_text.lower() or "bye" in caller_text.lower().split():
            yield "Goodbye!"
            yield EndCall("caller said goodbye")
            return
        yield f"You said: {caller_text}. "
        yield "Anything else?"
