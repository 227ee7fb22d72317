"""Preemptive generation: the brain starts on the caller's words while the end of their turn is being confirmed.

The recogniser's interim results give the words before its final result does, and our VAD knows when the caller
went quiet. Once the caller has paused long enough that the end of the turn is about to be called, and the interim
words are stable (the recogniser had heard some of the pause when it produced them, by the audio time it reports;
else, for a recogniser that reports none, the result arrived after the pause began), the brain is asked to
anticipate its reply (`Brain.anticipate`). When the turn ends with the same words, the reply takes over that work,
so the brain's latency overlaps the end-of-turn wait instead of following it; when the words differ, the work is
discarded and nothing of it is ever said. Brains decide what is safe to do ahead (calls.agent.base.Anticipation):
no history or state changes, no tool with side effects.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

from bartsvoice import metrics
from calls.agent.actions import ReplyPiece
from calls.agent.base import Anticipation, Brain
from calls.agent.context import CallContext

log = logging.getLogger(__name__)

PAUSE_S = 0.15  # caller silence before the words are worth starting on (the recogniser ends turns at ~0.3 s)

_NOT_WORD = re.compile(r"[^\w']+")


def same_words(a: str, b: str) -> bool:
    """The same words, whatever the punctuation and case (interim and final results format alike, not identically)."""
    return _NOT_WORD.sub(" ", a.lower()).split() == _NOT_WORD.sub(" ", b.lower()).split()


class Anticipator:
    """One per call. The session feeds it interim words and pauses; at the end of the turn it asks for the reply."""

    def __init__(self, brain: Brain, ctx: CallContext, *, enabled: bool = True):
        self._enabled = enabled
        self._brain = brain
        self._ctx = ctx
        self._words = ""  # the caller's words so far, by the latest interim result
        self._heard_at = 0.0
        self._heard_upto: float | None = None  # audio time (s) the recogniser had heard for that result, if known
        self._current: Anticipation | None = None
        self.counts = {"started": 0, "used": 0, "discarded": 0}

    def _count(self, result: str) -> None:
        self.counts[result] += 1
        metrics.reply_anticipated(result)

    @property
    def pending(self) -> bool:
        """Words heard that no anticipation has been tried on yet (checked on every silent frame: keep it cheap)."""
        return bool(self._words)

    def heard(self, words: str, now: float, audio_end_s: float | None = None) -> None:
        """An interim result: `words` is everything the caller has said in this turn so far; `audio_end_s` how far
        into the call's audio the recogniser had heard when it produced them (None: it does not say)."""
        if not self._enabled:
            return
        if self._current is not None:
            if same_words(self._current.caller_text, words):
                return
            self._drop()  # they went on talking: that reply would answer half a sentence
        self._words, self._heard_at, self._heard_upto = words, now, audio_end_s

    def paused(self, now: float, silent_since: float | None, speech_end_s: float | None = None) -> None:
        """The caller has said nothing since `silent_since` (our VAD, loop time; `speech_end_s`: the same moment in
        audio time, the end of their last speech frame): start on the words if they are stable."""
        if not self._words or self._current is not None or silent_since is None or now - silent_since < PAUSE_S:
            return
        if self._heard_upto is not None and speech_end_s is not None:
            # A result that arrives after the pause began may still have been worked out on audio from before it
            # (a busy server, a slow network): only one that heard some of the pause has all the words.
            if self._heard_upto <= speech_end_s:
                return
        elif self._heard_at < silent_since:
            return  # heard while the caller still spoke: the last words may be missing, wait for the next result
        words, self._words = self._words, ""
        try:
            self._current = self._brain.anticipate(self._ctx, words)
        except Exception:
            log.exception("call %s: anticipating a reply failed", self._ctx.call_id)
            self._current = None
        if self._current is not None:
            self._count("started")

    def reply_to(self, final_words: str) -> AsyncIterator[ReplyPiece] | None:
        """At the end of the turn: the anticipated reply if the caller's final words are those it was started on,
        else None (and whatever was started is discarded)."""
        current, self._current = self._current, None
        self.reset()
        if current is None:
            return None
        if final_words and same_words(current.caller_text, final_words):
            self._count("used")
            return current.respond(self._ctx)
        self._discard(current)
        return None

    def reset(self) -> None:
        """The turn is over (answered or not): its interim words are history."""
        self._words = ""

    def drop(self) -> None:
        """Discard any work under way (the turn was not answered, or the call ended)."""
        self.reset()
        self._drop()

    def _drop(self) -> None:
        current, self._current = self._current, None
        if current is not None:
            self._discard(current)

    def _discard(self, current: Anticipation) -> None:
        self._count("discarded")
        try:
            current.discard()
        except Exception:
            log.exception("call %s: discarding an anticipated reply failed", self._ctx.call_id)
