"""The scripted caller: answers each of the agent's questions with the scenario's line for that kind of question.

Lines for a kind are used in order, one per time the agent asks; an agent that asks more often than the caller
has answers is stuck (a real caller would give up or repeat themselves). "Say that again?" repeats the last
line unless the scenario says otherwise; "anything else?" with no line for it ends the call (the caller hangs
up, as most do once they have what they called for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calls.evals import questions
from calls.evals.scenario import SPECIAL_LINES

_PRESS = re.compile(r"^<press ([0-9*#]+)>$")
MAX_REPEATS = 2
_ORDINAL = {2: "2nd", 3: "3rd"}


@dataclass(frozen=True)
class Step:
    """What the caller does next: say a line, stay silent, press keys, or hang up."""

    action: str  # say | silence | press | hangup
    text: str = ""
    asked: str = ""  # the kind of question this answers


class Stuck(Exception):
    """The conversation went somewhere the scenario has no line for."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ScriptedCaller:
    def __init__(self, talk: dict[str, list[str]]):
        self.talk = talk
        self.used: dict[str, int] = {}
        self.last_line = ""
        self.repeats = 0

    def next_step(self, agent_turn: str) -> Step:
        kind = questions.classify(agent_turn)
        question = questions.question_of(agent_turn)
        if not agent_turn.strip():
            raise Stuck("no-reply", "the agent said nothing and waited")
        if kind == "again" and "again" not in self.talk and self.last_line:
            self.repeats += 1
            if self.repeats > MAX_REPEATS:
                raise Stuck("asked-again:again", f"asked the caller to repeat {self.repeats} times in a row")
            return self._step(self.last_line, kind)
        self.repeats = 0
        if kind == "unknown":
            if not question.endswith("?"):
                raise Stuck("agent-stalled", f"the agent stopped without a question: “{_short(agent_turn)}”")
        for key in questions.answer_order(kind):
            lines = self.talk.get(key)
            if not lines:
                continue
            n = self.used.get(key, 0)
            if n >= len(lines):
                nth = _ORDINAL.get(n + 1, f"{n + 1}th")
                raise Stuck(
                    f"asked-again:{kind}",
                    f"asked for {kind} a {nth} time (“{_short(question)}”) right after "
                    f"the caller said “{_short(self.last_line, 60)}”",
                )
            self.used[key] = n + 1
            return self._step(lines[n], kind)
        if kind == "anything_else":
            return Step(action="hangup", asked=kind)  # done: most callers just say bye or hang up
        if kind == "unknown":
            raise Stuck(
                "unknown-question",
                f"asked something the suite can't classify: “{_short(question)}” "
                "(teach calls/evals/questions.py, or give the caller an `otherwise` line)",
            )
        raise Stuck(
            f"unexpected-question:{kind}",
            f"asked for {kind} (“{_short(question)}”), which this caller has no answer for",
        )

    def _step(self, line: str, kind: str) -> Step:
        if line in SPECIAL_LINES:
            return Step(action=SPECIAL_LINES[line], asked=kind)
        press = _PRESS.match(line)
        if press:
            return Step(action="press", text=press.group(1), asked=kind)
        self.last_line = line
        return Step(action="say", text=line, asked=kind)
