"""What a CallSession needs from the thing carrying the call (Twilio socket, softphone, simulator)."""

from __future__ import annotations

from abc import ABC, abstractmethod


class TransportClosed(ConnectionError):
    """The far end is gone (the caller hung up): nothing more can be sent. A hang-up, not a failure."""


class Transport(ABC):
    #: False for the text simulator: no audio, agent text is delivered as text.
    carries_audio: bool = True

    # The send_* methods raise TransportClosed once the far end has gone.

    @abstractmethod
    async def send_audio(self, ulaw: bytes) -> None:
        """Queue µ-law 8 kHz audio for playback to the caller."""

    @abstractmethod
    async def send_mark(self, name: str) -> None:
        """Ask to be told (CallSession.on_mark) when everything sent so far has been played."""

    @abstractmethod
    async def send_clear(self) -> None:
        """Drop audio queued for playback (barge-in)."""

    async def send_transcript(self, role: str, text: str, *, final: bool) -> None:  # noqa: B027
        """Live transcript for transports with a screen (softphone, simulator); Twilio has none."""

    @abstractmethod
    async def hangup(self) -> None:
        """End the call."""

    async def transfer(self, number: str) -> bool:
        """Hand the call to a human at `number`; False when this transport cannot."""
        return False

    async def start_recording(self) -> None:  # noqa: B027 - optional: only a carrier that records implements it
        """Ask the carrier to record the call as well (TWILIO_RECORD_CALLS)."""

    async def stop_recording(self) -> None:  # noqa: B027
        """Stop and delete the carrier's recording (the caller declined)."""
