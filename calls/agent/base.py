"""The brain interface: given the call so far, produce what the agent says next, calling tools as needed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from calls.agent.actions import ReplyPiece
from calls.agent.context import CallContext
from calls.voice.listen_hint import ListenHint


class Brain(ABC):
    name: str

    @abstractmethod
    def greet(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        """The opening line(s), streamed in pieces (sentences or smaller)."""

    @abstractmethod
    def respond(self, ctx: CallContext, caller_text: str) -> AsyncIterator[ReplyPiece]:
        """The reply to what the caller just said, streamed in pieces of text. Tools run inside this call
        (through calls.agent.tools.run_tool); a Transfer or EndCall among the pieces asks the session to hand the
        call over or hang up once the reply has been spoken."""

    def listening_hint(self, ctx: CallContext) -> ListenHint | None:
        """What the reply just produced asks the caller for, so the recogniser can listen for it (None: anything).
        Read by the session after each reply, before the caller's next turn."""
        return None

    def interrupted(self, ctx: CallContext, spoken_text: str) -> None:  # noqa: B027 - optional hook
        """The caller cut the last reply short; only `spoken_text` of it was heard."""

    def token_usage(self) -> tuple[int, int]:
        """Language-model tokens this brain has used in the call so far: (input, output). None for a rule brain."""
        return 0, 0
