"""What only a person at the shop can settle, taken to one the right way: a car broken down on the road (urgently,
to an advisor) and a recall notice (the VIN taken for the advisor, who checks the recall before anything is booked).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from calls.agent import nlu
from calls.agent.flows.common import ANYTHING_ELSE
from calls.agent.flows.state import Expect
from calls.agent.spoken_vin import find_vin

if TYPE_CHECKING:
    from calls.agent.flows.state import RuleState
    from calls.agent.tools import ToolResult

# "I need a tow", "broke down on the highway", "I'm stranded on the side of the road": on the road now.
_ROADSIDE = re.compile(
    r"\b(tow|tow truck|towing|towed|roadside)\b|"
    r"\b(broke down|broken down|stranded|stuck|died|dead|wont start|wont move|overheated|blew a tire|flat tire)\b"
    r".{0,40}\b(highway|freeway|interstate|expressway|road|side of|shoulder|parking lot|right now|middle of)\b"
)
_RECALL = re.compile(r"\brecall(s|ed)?\b")
_NO_VIN = re.compile(r"\b(dont have|do not have|not with me|cant find|dont know|no idea|not sure|later|no)\b")


def roadside(text: str) -> bool:
    return bool(_ROADSIDE.search(nlu.normalize(text)))


def recall_said(text: str) -> bool:
    return bool(_RECALL.search(nlu.normalize(text)))


class AdvisorMattersFlow:
    if TYPE_CHECKING:  # provided by the policy's turn (flows.turn.Turn)
        st: RuleState

        def say(self, *texts: str) -> None: ...
        def ask(self, prompt: str, expect: str, phase: str) -> None: ...
        def tool(self, name: str, **args: Any) -> ToolResult: ...
        def transfer(self, reason: str, sentence: str) -> None: ...
        def anything_else(self) -> None: ...

    def on_roadside(self) -> None:
        """Broken down on the road: safety first, then a person at once (the shop's towing is theirs to arrange)."""
        self.transfer(
            "urgent: caller broke down on the road and needs a tow",
            "I'm sorry, that sounds stressful. If you're somewhere unsafe, please call 911 first. "
            "Let me get a service advisor on the line right away to help with the tow.",
        )

    def start_recall(self) -> None:
        """A recall notice: the advisor checks the VIN against the recall before it is booked. Their VIN now, or a
        person."""
        self.st.task = None
        self.ask(
            "Recall work starts with a service advisor checking your car's VIN against the recall. If you have the "
            "VIN handy, read it to me and I'll pass it on, and an advisor will call you back to set it up. "
            "Or I can put you through to an advisor now.",
            Expect.RECALL_VIN,
            "intent",
        )

    def on_recall_vin(self, u: nlu.Understanding) -> bool:
        vin = find_vin(u.text)
        if vin is not None:
            self.tool("note_for_advisor", note=f"recall notice: check VIN {vin} and call back to book")
            self.say(
                f"Thanks. I've passed the VIN ending in {' '.join(vin[-4:])} to a service advisor, who'll call you "
                "back about the recall."
            )
            self.anything_else()
            return True
        norm = nlu.normalize(u.text)
        if u.intent == "human" or u.yes_no == "yes" or re.search(r"\b(put me through|connect|advisor|person)\b", norm):
            self.transfer("recall notice: VIN check", "Sure, let me connect you with a service advisor.")
            return True
        if _NO_VIN.search(norm):
            self.tool("note_for_advisor", note="recall notice: call back for the VIN and to book the recall work")
            self.say(
                "No problem. I've asked a service advisor to call you back about the recall. The VIN is on your "
                "registration, or on the driver's side of the windshield."
            )
            self.ask(ANYTHING_ELSE, Expect.ANYTHING_ELSE, "intent")
            return True
        return False
