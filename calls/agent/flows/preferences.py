"""Offers that answer a time the shop cannot do: "after six" when we close at six is told so, with the latest
opening as a yes/no question (the earliest for "before seven" when we open at seven)."""

from __future__ import annotations

from datetime import time

from calls.agent.flows.state import Expect
from calls.agent.phrases import spoken_time


class PreferenceFlow:

    def offer_within_hours(self, data: dict) -> bool:
        """True when the window asked for lies outside opening hours and the nearest opening was proposed."""
        edge = data.get("closes_at") or data.get("opens_at")
        if not edge or not data.get("slots"):
            return False
        task = self.st.task
        closing = bool(data.get("closes_at"))
        best, task.more = data["slots"][0], sorted(data["slots"][1:], key=lambda s: s["start"])
        task.offers = [best]
        hour = spoken_time(time.fromisoformat(edge))
        if closing:
            said = f"We close at {hour}, so the latest I have is {best['label']}."
        else:
            said = f"We open at {hour}, so the earliest I have is {best['label']}."
        self.ask(f"{said} Does that work for you?", Expect.SLOT_CHOICE, "slot_collection")
        return True
