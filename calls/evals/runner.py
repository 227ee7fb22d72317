"""Run scenarios: a clean database per scenario, the call, the checks; the pass rate and what failed most."""

from __future__ import annotations

import asyncio
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.test import override_settings

from calls.evals import checks, driver, world
from calls.evals.checks import Failure
from calls.evals.hearing import Hearing
from calls.evals.scenario import EVALS_DIR, Scenario

THRESHOLDS_FILE = EVALS_DIR / "thresholds.toml"
SILENCE_S = {"text": 0.3, "audio": 3.0}  # "are you still there?" comes this fast in silence scenarios


@dataclass
class ScenarioResult:
    scenario: Scenario
    failures: list[Failure]
    transcript: list[tuple[str, str]] = field(default_factory=list)
    said: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def line(self) -> str:
        sc = self.scenario
        if self.passed:
            return f"PASS  {sc.id}"
        return f"FAIL  {sc.id} ({sc.where}): " + " | ".join(f.message for f in self.failures)

    def to_dict(self) -> dict:
        sc = self.scenario
        return {
            "id": sc.id,
            "file": str(sc.path),
            "line": sc.line,
            "caller": sc.caller.label,
            "now": sc.now.isoformat(),
            "passed": self.passed,
            "failures": [f.to_dict() for f in self.failures],
            "transcript": [{"speaker": who, "text": text} for who, text in self.transcript],
            "heard": [{"said": s, "heard": h} for s, h in self.said],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class SuiteResult:
    results: list[ScenarioResult]
    brain: str
    audio: bool
    wer: float | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def pass_rate(self) -> float:
        return self.passed / len(self.results) if self.results else 0.0

    def failure_groups(self) -> list[tuple[str, int, list[str]]]:
        """(failure code, scenarios with it, their ids), most frequent first."""
        ids: dict[str, list[str]] = {}
        for r in self.results:
            for code in dict.fromkeys(f.code for f in r.failures):
                ids.setdefault(code, []).append(r.scenario.id)
        counts = Counter({code: len(v) for code, v in ids.items()})
        return [(code, n, ids[code]) for code, n in counts.most_common()]

    def summary(self) -> str:
        mode = "audio" if self.audio else "text"
        line = f"{mode} pass rate: {self.passed}/{len(self.results)} = {self.pass_rate:.1%} (brain {self.brain}"
        if self.wer is not None:
            line += f", word error rate {self.wer:.1%}"
        return line + f", {self.seconds:.1f} s)"

    def to_dict(self) -> dict:
        return {
            "mode": "audio" if self.audio else "text",
            "brain": self.brain,
            "passed": self.passed,
            "total": len(self.results),
            "pass_rate": round(self.pass_rate, 4),
            "word_error_rate": None if self.wer is None else round(self.wer, 4),
            "seconds": round(self.seconds, 2),
            "failure_groups": [{"code": c, "scenarios": n, "ids": i} for c, n, i in self.failure_groups()],
            "scenarios": [r.to_dict() for r in self.results],
        }


def make_brain(name: str):
    """A brain as a call would get it, by registry name (rules, openai, instant)."""
    from calls.voice.providers import registry

    with override_settings(VOICE_BRAIN=name):
        return registry.brain_for_call()


def run_scenario(sc: Scenario, *, brain: str = "rules", hearing: Hearing | None = None) -> ScenarioResult:
    """One scenario on a freshly wiped database (the caller must not be inside a transaction)."""
    started = time.perf_counter()
    world.wipe()
    cache.clear()  # cached caller-ID lookups belong to the previous scenario's customers
    built = world.build(sc)
    silence = SILENCE_S["audio" if hearing else "text"]
    reminder_of = built.appointments[sc.reminder].pk if sc.reminder else None
    record = asyncio.run(
        driver.drive(sc, make_brain(brain), hearing=hearing, silence_s=silence, reminder_of=reminder_of)
    )
    failures = checks.check(sc, built, record)
    return ScenarioResult(
        scenario=sc,
        failures=failures,
        transcript=record.transcript,
        said=record.said,
        seconds=time.perf_counter() - started,
    )


def run_suite(
    scenarios: list[Scenario],
    *,
    brain: str = "rules",
    audio: bool = False,
    progress: Callable[[ScenarioResult], None] | None = None,
) -> SuiteResult:
    started = time.perf_counter()
    hearing = Hearing() if audio else None
    if hearing is not None:
        hearing.warm_up()
    results = []
    for sc in scenarios:
        result = run_scenario(sc, brain=brain, hearing=hearing)
        results.append(result)
        if progress is not None:
            progress(result)
    world.wipe()
    return SuiteResult(
        results=results,
        brain=brain,
        audio=audio,
        wer=hearing.word_error_rate() if hearing else None,
        seconds=time.perf_counter() - started,
    )


def thresholds() -> dict[str, float]:
    """The pass-rate floors kept in the repository (calls/evals/thresholds.toml): CI fails below them."""
    with THRESHOLDS_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    return {mode: float(data[mode]) for mode in ("text", "audio") if mode in data}
