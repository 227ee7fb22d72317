"""Offers that answer a time the shop cannot do: "after six" when we close at six is told so, with the latest
opening as a yes/no question (the earliest for "before seven" when we open at seven)."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from calls.agent.phrases import spoken_time

if TYPE_CHECKING:
    from calls.agent.flows.state import RuleState


class PreferenceFlow:
    if TYPE_CHECKING:  # provided by the policy's turn (flows.turn.Turn)
        st: RuleState

        def ask(self, prompt: str, expect: str, phase: str) -> None: ...
        def propose_one(self, said: str, best: dict, rest: list[dict]) -> None: ...

    def offer_within_hours(self, data: dict) -> bool:
        """True when the window asked for lies outside opening hours and the nearest opening was proposed."""
        edge = data.get("closes_at") or data.get("opens_at")
        task = self.st.task
        if not edge or not data.get("slots") or task is None:
            return False
        closing = bool(data.get("closes_at"))
        best = data["slots"][0]
        hour = spoken_time(time.fromisoformat(edge))
        if closing:
            said = f"We close at {hour}, so the latest I have is {best['label']}."
        else:
            said = f"We open at {hour}, so the earliest I have is {best['label']}."
        self.propose_one(said, best, data["slots"][1:])
        return True
