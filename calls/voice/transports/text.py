"""A transport without audio: caller turns come in as text, agent sentences go out as text."""

from __future__ import annotations

from collections.abc import Callable

from calls.voice.transports.base import Transport


class TextTransport(Transport):
    carries_audio = False

    def __init__(self, on_agent_text: Callable[[str], None]):
        self._on_agent_text = on_agent_text
        self.hung_up = False
        self.transferred_to = ""

    async def send_audio(self, ulaw: bytes) -> None:
        return None

    async def send_mark(self, name: str) -> None:
        return None

    async def send_clear(self) -> None:
        return None

    async def send_transcript(self, role: str, text: str, *, final: bool) -> None:
        if role == "agent" and final:
            self._on_agent_text(text)

    async def hangup(self) -> None:
        self.hung_up = True
