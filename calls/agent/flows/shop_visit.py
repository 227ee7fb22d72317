"""Waiting at the shop and what to bring: the answers a reminder call, an inbound question and a booking's "I'll
wait" give, all from the shop's own facts (ShopProfile, through the get_shop_info tool's result).

What the shop has not said (waiting Unknown, nothing entered to bring) is never guessed: the caller hears that a
service advisor will confirm, and the call's summary keeps the question for the advisor.
"""

from __future__ import annotations

from typing import Any, Protocol

from calls.agent.phrases import (
    ADVISOR_CONFIRMS_BRINGING,
    ADVISOR_CONFIRMS_WAITING,
    bring_sentences,
    waiting_sentences,
)

WAIT_NOTE = "asked whether they can wait at the shop: a service advisor to confirm"
BRING_NOTE = "asked what to bring: a service advisor to confirm"


class Notes(Protocol):
    """Where a question for the advisor is kept (calls.agent.context.CallContext)."""

    def note(self, text: str) -> None: ...


def may_wait(info: dict[str, Any]) -> str:
    """ "yes", "no" or "unknown": whether customers may wait at the shop while their car is worked on."""
    value = info.get("customers_can_wait")
    return value if value in ("yes", "no") else "unknown"


def waiting_answer(info: dict[str, Any], notes: Notes) -> list[str]:
    """ "Can I wait while you do it?", "is there somewhere to sit?"."""
    sentences = [s for s in waiting_sentences(info) if s]
    if sentences:
        return sentences
    notes.note(WAIT_NOTE)
    return [ADVISOR_CONFIRMS_WAITING]


def bringing_answer(info: dict[str, Any], notes: Notes) -> list[str]:
    """ "What should I bring?"."""
    sentences = bring_sentences(info)
    if sentences:
        return sentences
    notes.note(BRING_NOTE)
    return [ADVISOR_CONFIRMS_BRINGING]
