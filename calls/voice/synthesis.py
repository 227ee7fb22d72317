"""The sentences of one agent reply on their way to the caller, each synthesised ahead of its turn to play.

A voice takes a while to start (a cloud voice a round trip and more, eSpeak a process): when a sentence's
synthesis only starts once the sentence before it has been sent, the caller hears that wait as a silence in the
middle of the reply. Here the next sentence is synthesised while the current one plays, so its audio is there
when the caller's buffer needs it. Only `ahead` sentences are synthesised before their turn: a reply the caller
cuts short wastes little.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from calls.voice.providers.base import TTSProvider


class Synthesis:
    """One sentence's audio, pulled from the voice into a queue as it comes: bytes, then None at the end, or the
    exception the voice raised."""

    def __init__(self, tts: TTSProvider, text: str):
        loop = asyncio.get_running_loop()
        self.tts = tts
        self.text = text
        self.asked_at = loop.time()
        self.first_audio_at: float | None = None
        self.chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._pull())

    async def _pull(self) -> None:
        audio = self.tts.synthesize(self.text)
        try:
            async for chunk in audio:
                if self.first_audio_at is None:
                    self.first_audio_at = asyncio.get_running_loop().time()
                self.chunks.put_nowait(chunk)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the player, which switches voices
            self.chunks.put_nowait(exc)
            return
        finally:
            close = getattr(audio, "aclose", None)  # an abandoned sentence stops synthesising (Deepgram: Clear)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
        self.chunks.put_nowait(None)

    def cancel(self) -> None:
        self._task.cancel()


class SentenceQueue:
    """Sentences in speaking order. `put` starts synthesising at once when fewer than `ahead` are waiting;
    `next` hands the next sentence over and starts the one after it."""

    def __init__(self, synthesize: Callable[[str], Synthesis | None], *, ahead: int = 1):
        self._synthesize = synthesize  # None: a transport without audio (the text is all there is)
        self._ahead = ahead
        self._texts: deque[str] = deque()
        self._ready: deque[tuple[str, Synthesis | None]] = deque()
        self._more = asyncio.Event()
        self._closed = False

    def put(self, text: str) -> None:
        self._texts.append(text)
        self._top_up()
        self._more.set()

    def close(self) -> None:
        """No more sentences: `next` returns None once the queue is empty."""
        self._closed = True
        self._more.set()

    async def next(self) -> tuple[str, Synthesis | None] | None:
        while not self._ready and not self._texts:
            if self._closed:
                return None
            self._more.clear()
            await self._more.wait()
        self._top_up()
        line = self._ready.popleft()
        self._top_up()  # the sentence after this one synthesises while this one plays
        return line

    def cancel(self) -> None:
        for _, synthesis in self._ready:
            if synthesis is not None:
                synthesis.cancel()
        self._ready.clear()
        self._texts.clear()

    def _top_up(self) -> None:
        while self._texts and len(self._ready) < max(1, self._ahead):
            text = self._texts.popleft()
            self._ready.append((text, self._synthesize(text)))
