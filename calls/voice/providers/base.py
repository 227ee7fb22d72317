"""The three provider interfaces of the voice pipeline. Each has a cloud and an offline implementation.

All audio crossing these interfaces is telephone audio: G.711 µ-law, 8 kHz, mono. Implementations that
need something else (pocketsphinx wants 16 kHz PCM16) convert inside, off the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from calls.voice.listen_hint import ListenHint


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    is_final: bool  # this segment's text will not change any more
    speech_final: bool = False  # the recogniser thinks the caller finished their turn
    confidence: float | None = None
    # How far into the audio sent to the stream (seconds from its first byte) the recogniser had heard when it
    # produced this result, when it says: tells a result worked out on the words so far from a late one.
    audio_end_s: float | None = None


TranscriptCallback = Callable[[Transcript], None]


class STTStream(ABC):
    """One streaming recognition per call. Callbacks run on the event loop thread."""

    # Set by the session before each frame: True while that audio cannot end the caller's turn (they are speaking,
    # or nobody is), so a recogniser may hold it back a little and send it in fewer, larger pieces; False in a
    # pause in the caller's speech, where every frame counts for the end of the turn and must go at once.
    batchable: bool = False

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    def send_audio(self, ulaw: bytes) -> None:
        """Raw µ-law 8 kHz bytes as they arrive (usually 20 ms). Called on the event loop for every frame:
        not a coroutine, must not block -- append to a buffer and let a worker decode."""

    @abstractmethod
    async def finalize(self) -> None:
        """Our VAD saw the caller stop: flush a final result for what was heard so far (may be empty)."""

    @abstractmethod
    async def close(self) -> None: ...

    def audio_seconds_by_provider(self) -> dict[str, float] | None:
        """The audio each recogniser was sent, when this stream handed some to another (a cloud stream that fell
        back to an offline one mid-call; re-sends after a drop count, as they are billed). None: all the audio
        the session sent went to this stream's own provider."""
        return None

    def expect(self, hint: ListenHint | None) -> None:  # noqa: B027 - optional: a recogniser may ignore hints
        """What the agent's last question expects (None: anything). Applies from the caller's next utterance on,
        never to one in progress. Called on the event loop: must not block."""


class STTProvider(ABC):
    name: str

    @abstractmethod
    def open_stream(self, *, on_transcript: TranscriptCallback, hints: Iterable[str] = ()) -> STTStream:
        """`hints` are call-specific words (the caller's name, their vehicle) worth recognising."""


class TTSProvider(ABC):
    name: str

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield µ-law 8 kHz audio for `text` as soon as it exists. Closing the iterator stops synthesis."""

    async def prepare(self) -> None:  # noqa: B027 - optional hook
        """Get ready to speak (open a connection) while the greeting is being worked out. Failures here surface
        again from `synthesize`, where the session falls back to the offline voice."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release per-call resources (a provider instance lives as long as one call)."""
