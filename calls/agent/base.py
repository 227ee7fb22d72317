"""The brain interface: given the call so far, produce what the agent says next, calling tools as needed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from calls.agent.actions import ReplyPiece
from calls.agent.context import CallContext
from calls.voice.listen_hint import ListenHint


class Anticipation(ABC):
    """Work a brain started on words the caller may be about to finish their turn with (a stable interim transcript),
    while the end of the turn is still being confirmed. Until `respond` it has changed nothing: not the history, not
    the dialogue state, and no tool has run (tools with side effects never run ahead; a brain may at most read)."""

    caller_text: str

    @abstractmethod
    def respond(self, ctx: CallContext) -> AsyncIterator[ReplyPiece]:
        """The reply to `caller_text`, taking over the work already done, exactly as `Brain.respond` would give it.
        Only called when the caller's turn ended with these very words."""

    @abstractmethod
    def discard(self) -> None:
        """The caller said something else (or more): the work is thrown away, nothing of it is ever spoken."""


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

    def anticipate(self, ctx: CallContext, caller_text: str) -> Anticipation | None:
        """Start on the reply to `caller_text` before the caller's turn has ended, if this brain has slow work that is
        safe to do ahead. None (the default): nothing worth starting early -- the rule brain answers in milliseconds
        and its flows write as they decide, so it waits for the final words like any brain without this."""
        return None

    def listening_hint(self, ctx: CallContext) -> ListenHint | None:
        """What the reply just produced asks the caller for, so the recogniser can listen for it (None: anything).
        Read by the session after each reply, before the caller's next turn."""
        return None

    def interrupted(self, ctx: CallContext, spoken_text: str) -> None:  # noqa: B027 - optional hook
        """The caller cut the last reply short; only `spoken_text` of it was heard."""

    def token_usage(self) -> tuple[int, int]:
        """Language-model tokens this brain has used in the call so far: (input, output). None for a rule brain."""
        return 0, 0
