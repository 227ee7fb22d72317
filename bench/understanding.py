"""Time per caller line through the understanding layer, and through understanding + the rule policy.

    .venv/bin/python bench/understanding.py [--rounds 5]

Runs against a throw-away SQLite database (migrated and seeded with seed_demo in a temporary folder), so the
figures include the two small queries understanding makes per line (the shop's services and named closures)
and, for the policy, the tools' own queries. Prints p50/p95/max in milliseconds per line, then how many of a
set of date and time phrasings (not taken from the tests) read as a person would, then the wall time of the
scenario suite (`manage.py eval_scenarios`).

Target: p95 <= 5 ms per line, so the brain never shows in the reply latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path

# Caller lines as the recogniser hands them over: lower case, numbers as words or digits.
LINES = [
    "hi I need an oil change",
    "can I bring my car in for an oil change the day after tomorrow",
    "tomorrow at nine thirty",
    "yes",
    "no thanks",
    "the first one",
    "my brakes are squeaking",
    "do you have anything next tuesday morning",
    "what are your hours on saturday",
    "how much is a tire rotation",
    "I need to move my appointment to friday after lunch",
    "when is my appointment",
    "cancel my appointment",
    "yeah that works",
    "sure the second one",
    "10:15 in the morning",
    "quarter past 9 in the morning",
    "the 7th of this month at 5 o'clock in the evening",
    "a week from friday",
    "first thing monday",
    "end of the day friday",
    "no wait thursday instead",
    "can I talk to a real person",
    "sorry what was that",
    "I'll wait for it",
    "my name is john smith",
    "six oh six oh one",
    "it's a twenty eighteen honda civic",
    "the check engine light is on and it's making a weird noise",
    "any time after 2 on thursday",
    "yeah I have a weird",
    "this coming wednesday at half past ten",
    "are you open on christmas eve",
    "tomorrow around 3ish",
    "the 3rd of next month",
    "that's all bye",
]
CONVERSATIONS = [
    ["hi I need an oil change", "tomorrow at nine thirty", "yes", "no thanks"],
    ["can I bring my car in for an oil change the day after tomorrow", "the first one", "yes", "that's all bye"],
    ["my brakes are squeaking", "next tuesday morning", "the second one", "yes please", "no that's it"],
    ["when is my appointment", "no thanks"],
    ["what are your hours", "what about christmas eve", "bye"],
    ["I need a tire rotation", "a week from friday after lunch", "sure", "yes", "bye"],
    [
        "oil change",
        "the 7th of next month at 5 o'clock in the evening",
        "10:15 in the morning",
        "the first one",
        "yes",
        "no thanks",
    ],
]


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _report(name: str, ms: list[float]) -> None:
    print(f"{name:42} n={len(ms):4}  p50 {_pct(ms, 50):6.2f} ms  p95 {_pct(ms, 95):6.2f} ms  max {max(ms):6.2f} ms")


def _setup() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-understanding-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", verbosity=0, stdout=quiet)


def bench_understanding(rounds: int) -> None:
    from django.utils import timezone

    from calls.agent.understanding import understand, warm_up
    from scheduling.availability import shop_tz

    started = time.perf_counter()
    warm_up()
    print(f"Duckling set-up (once per process): {(time.perf_counter() - started) * 1000:.0f} ms")
    now = timezone.now().astimezone(shop_tz())
    cold: list[float] = []
    warm: list[float] = []
    cpu: list[float] = []
    for r in range(rounds):
        # A new minute each round, so Duckling's per-line cache (keyed on the reference time) does not answer.
        when = now.replace(minute=(now.minute + r + 1) % 60)
        for line in LINES:
            t0, c0 = time.perf_counter(), time.thread_time()
            understand(line, when)
            (warm if r else cold).append((time.perf_counter() - t0) * 1000)
            if r:
                cpu.append((time.thread_time() - c0) * 1000)
    _report("understand(), first round (cold lines)", cold)
    _report("understand(), later rounds", warm)
    _report("understand(), later rounds, CPU time", cpu)


def bench_policy(rounds: int) -> None:
    import calls.agent.flows.turn as turn
    from calls.agent.policy import RuleBrain
    from calls.simulator import create_simulated_call
    from calls.voice.bootstrap import context_for_call

    # The tools' own time (their queries, the ToolCall rows, a booking's writes) is measured apart: it is the
    # database's, the same whichever brain asks, and on SQLite mostly the disk's commits.
    # CPU time (this thread's) is given too: on a machine shared with other work, wall time also counts the
    # moments the scheduler gave the core to someone else.
    in_tools = [0.0, 0.0]
    run_tool = turn.run_tool

    def timed_tool(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return run_tool(*args, **kwargs)
        finally:
            in_tools[0] += (time.perf_counter() - t0) * 1000
            in_tools[1] += (time.thread_time() - c0) * 1000

    brain = RuleBrain()
    ms: list[float] = []
    brain_ms: list[float] = []
    brain_cpu: list[float] = []
    turn.run_tool = timed_tool
    try:
        for _ in range(rounds):
            for lines in CONVERSATIONS:
                ctx = context_for_call(create_simulated_call("+13125550142"))
                _, actions = brain.greet_sync(ctx)
                for line in lines:
                    if actions:  # the reply ended or handed over the call
                        break
                    in_tools[:] = [0.0, 0.0]
                    t0, c0 = time.perf_counter(), time.thread_time()
                    _, actions = brain.respond_sync(ctx, line)
                    ms.append((time.perf_counter() - t0) * 1000)
                    brain_ms.append(ms[-1] - in_tools[0])
                    brain_cpu.append((time.thread_time() - c0) * 1000 - in_tools[1])
    finally:
        turn.run_tool = run_tool
    _report("understand + rule policy (tools excluded)", brain_ms)
    _report("  the same, CPU time", brain_cpu)
    _report("understand + rule policy + tools (SQLite)", ms)


# Date and time phrasings not taken from the tests, with what a person would understand, said on
# Tuesday 2026-03-10 at 10:00. "tuned": written first and used while building; "held out": written later and
# only measured.
def _d(m: int, d: int) -> date:
    return date(2026, m, d)


TUNED = [
    ("next Tuesday morning", _d(3, 17), _d(3, 17), ("window", None, clock(12))),
    ("a week from friday", _d(3, 20), _d(3, 20), None),
    ("the twelfth", _d(3, 12), _d(3, 12), None),
    ("tomorrow around 3ish", _d(3, 11), _d(3, 11), ("exact", clock(15))),
    ("any time after 2 on Thursday", _d(3, 12), _d(3, 12), ("window", clock(14), None)),
    ("first thing Monday", _d(3, 16), _d(3, 16), ("earliest",)),
    ("end of the day Friday", _d(3, 13), _d(3, 13), ("latest",)),
    ("the 3rd of next month", _d(4, 3), _d(4, 3), None),
    ("this coming Wednesday at half past ten", _d(3, 11), _d(3, 11), ("exact", clock(10, 30))),
    ("can you do Thursday at 4:30", _d(3, 12), _d(3, 12), ("exact", clock(16, 30))),
    ("how about the 20th around noon", _d(3, 20), _d(3, 20), ("exact", clock(12))),
    ("Monday the 16th at 8 am", _d(3, 16), _d(3, 16), ("exact", clock(8))),
    ("the day after tomorrow in the afternoon", _d(3, 12), _d(3, 12), ("window", clock(12), clock(17))),
    ("next week Wednesday", _d(3, 18), _d(3, 18), None),
    ("I could do Friday morning", _d(3, 13), _d(3, 13), ("window", None, clock(12))),
    ("march 19th", _d(3, 19), _d(3, 19), None),
    ("on the 25th at 1 pm", _d(3, 25), _d(3, 25), ("exact", clock(13))),
    ("ten thirty tomorrow morning", _d(3, 11), _d(3, 11), ("exact", clock(10, 30))),
    ("tomorrow at quarter to nine", _d(3, 11), _d(3, 11), ("exact", clock(8, 45))),
    ("Saturday at 9", _d(3, 14), _d(3, 14), ("exact", clock(9))),
    ("three weeks from today", _d(3, 31), _d(3, 31), None),
    ("in a couple of days", _d(3, 12), _d(3, 12), None),
    ("Thursday after lunch", _d(3, 12), _d(3, 12), ("window", clock(12, 30), None)),
    ("first thing in the morning on Friday", _d(3, 13), _d(3, 13), ("earliest",)),
    ("at 7:15 tomorrow", _d(3, 11), _d(3, 11), ("exact", clock(7, 15))),
    ("tomorrow at 07:15", _d(3, 11), _d(3, 11), ("exact", clock(7, 15))),
    ("friday at 11 in the morning", _d(3, 13), _d(3, 13), ("exact", clock(11))),
    ("two in the afternoon on the 18th", _d(3, 18), _d(3, 18), ("exact", clock(14))),
    ("can I come in Wednesday the 18th at 9:30", _d(3, 18), _d(3, 18), ("exact", clock(9, 30))),
    ("next Friday at 2 pm", _d(3, 20), _d(3, 20), ("exact", clock(14))),
    ("early next week", _d(3, 16), _d(3, 18), None),
    ("later this week", _d(3, 12), _d(3, 14), None),
    ("the end of next week", _d(3, 19), _d(3, 21), None),
    ("today at 4", _d(3, 10), _d(3, 10), ("exact", clock(16))),
    ("this afternoon", _d(3, 10), _d(3, 10), ("window", clock(12), clock(17))),
    ("tomorrow before 11", _d(3, 11), _d(3, 11), ("window", None, clock(11))),
    ("Thursday between 1 and 3", _d(3, 12), _d(3, 12), ("window", clock(13), clock(15))),
    ("the morning of the 17th", _d(3, 17), _d(3, 17), ("window", None, clock(12))),
    ("april 2nd at noon", _d(4, 2), _d(4, 2), ("exact", clock(12))),
    ("4/2 at 10", _d(4, 2), _d(4, 2), ("exact", clock(10))),
    ("this Friday at 8 in the morning", _d(3, 13), _d(3, 13), ("exact", clock(8))),
    ("Wednesday at 3 pm", _d(3, 11), _d(3, 11), ("exact", clock(15))),
    ("tomorrow at 2 o'clock in the afternoon", _d(3, 11), _d(3, 11), ("exact", clock(14))),
    ("the 7th of next month at 5 o'clock in the evening", _d(4, 7), _d(4, 7), ("exact", clock(17))),
    ("morning 10 on Monday", _d(3, 16), _d(3, 16), ("exact", clock(10))),
    ("sometime in the late afternoon tomorrow", _d(3, 11), _d(3, 11), ("window", clock(15), None)),
    ("a week from tomorrow", _d(3, 18), _d(3, 18), None),
    ("two weeks from Monday", _d(3, 30), _d(3, 30), None),
    ("the second Tuesday of April", _d(4, 14), _d(4, 14), None),
    ("Thursday at nine fifteen", _d(3, 12), _d(3, 12), ("exact", clock(9, 15))),
    ("at a quarter past one on Friday", _d(3, 13), _d(3, 13), ("exact", clock(13, 15))),
    ("the 31st", _d(3, 31), _d(3, 31), None),
    ("next Monday first thing", _d(3, 16), _d(3, 16), ("earliest",)),
    ("wednesday or thursday afternoon", _d(3, 11), _d(3, 12), ("window", clock(12), clock(17))),
    ("the 13th at eleven fifteen", _d(3, 13), _d(3, 13), ("exact", clock(11, 15))),
]
HELD_OUT = [
    ("could you fit me in on the 16th", _d(3, 16), _d(3, 16), None),
    ("maybe thursday the 19th in the morning", _d(3, 19), _d(3, 19), ("window", None, clock(12))),
    ("how about a week from today", _d(3, 17), _d(3, 17), None),
    ("next thursday around noon", _d(3, 19), _d(3, 19), ("exact", clock(12))),
    ("tomorrow morning at 8:30", _d(3, 11), _d(3, 11), ("exact", clock(8, 30))),
    ("friday afternoon around 2", _d(3, 13), _d(3, 13), ("exact", clock(14))),
    ("the 20th at 3 pm", _d(3, 20), _d(3, 20), ("exact", clock(15))),
    ("saturday morning", _d(3, 14), _d(3, 14), ("window", None, clock(12))),
    ("monday at a quarter to ten", _d(3, 16), _d(3, 16), ("exact", clock(9, 45))),
    ("in three days", _d(3, 13), _d(3, 13), None),
    ("wednesday after 1", _d(3, 11), _d(3, 11), ("window", clock(13), None)),
    ("any time before noon on friday", _d(3, 13), _d(3, 13), ("window", None, clock(12))),
    ("the last friday of the month", _d(3, 27), _d(3, 27), None),
    ("march 24th at 11", _d(3, 24), _d(3, 24), ("exact", clock(11))),
    ("this thursday at 7 in the morning", _d(3, 12), _d(3, 12), ("exact", clock(7))),
    ("tomorrow at five thirty", _d(3, 11), _d(3, 11), ("exact", clock(17, 30))),
    ("next tuesday at 1", _d(3, 17), _d(3, 17), ("exact", clock(13))),
    ("on the 2nd of april", _d(4, 2), _d(4, 2), None),
    ("sometime this afternoon", _d(3, 10), _d(3, 10), ("window", clock(12), clock(17))),
    ("thursday first thing in the morning", _d(3, 12), _d(3, 12), ("earliest",)),
    ("the 15th", _d(3, 15), _d(3, 15), None),
    ("day after tomorrow at ten", _d(3, 12), _d(3, 12), ("exact", clock(10))),
    ("around 4 on friday", _d(3, 13), _d(3, 13), ("exact", clock(16))),
    ("this friday or next monday", _d(3, 13), _d(3, 16), None),
    ("next week on wednesday", _d(3, 18), _d(3, 18), None),
    ("tomorrow between 10 and noon", _d(3, 11), _d(3, 11), ("window", clock(10), clock(12))),
    ("wednesday evening", _d(3, 11), _d(3, 11), ("latest",)),
    ("two weeks from tomorrow", _d(3, 25), _d(3, 25), None),
    ("thursday at 4 in the afternoon", _d(3, 12), _d(3, 12), ("exact", clock(16))),
    ("the morning of march 20th", _d(3, 20), _d(3, 20), ("window", None, clock(12))),
    ("can I come at 8 tomorrow", _d(3, 11), _d(3, 11), ("exact", clock(8))),
    ("friday at noon", _d(3, 13), _d(3, 13), ("exact", clock(12))),
    ("on monday the 23rd", _d(3, 23), _d(3, 23), None),
    ("a quarter after eleven tomorrow", _d(3, 11), _d(3, 11), ("exact", clock(11, 15))),
    ("tuesday at 2:45", _d(3, 17), _d(3, 17), ("exact", clock(14, 45))),
]


def _time_reading(tp) -> tuple | None:
    if tp is None:
        return None
    if tp.exact:
        return ("exact", tp.exact)
    if tp.earliest:
        return ("earliest",)
    if tp.latest:
        return ("latest",)
    return ("window", tp.start, tp.end)


def hit_rate(name: str, phrasings: list) -> None:
    from zoneinfo import ZoneInfo

    from calls.agent.understanding import parse_date, parse_time

    now = datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
    hits = 0
    for text, first, last, expected in phrasings:
        day = parse_date(text, now)
        ok = (day.start, day.end) == (first, last) if day else False
        ok = ok and _time_reading(parse_time(text, now=now)) == expected
        hits += ok
        if not ok:
            print(f"  miss: {text!r}")
    print(f"{name}: {hits}/{len(phrasings)} read as a person would ({100 * hits / len(phrasings):.0f}%)")


def bench_eval_suite() -> None:
    """Wall time of the whole text scenario suite (its own SQLite database, as the before-stop hook runs it)."""
    import json
    import subprocess

    folder = Path(tempfile.mkdtemp(prefix="bench-evals-"))
    report = folder / "evals.json"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'evals.sqlite3'}"}
    root = Path(__file__).resolve().parent.parent
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "eval_scenarios", "--json", str(report)],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - started
    data = json.loads(report.read_text())
    print(
        f"{'scenario suite (text), wall time':42} {wall:6.1f} s  ({data['passed']}/{data['total']} passed, "
        f"{data['seconds']:.1f} s inside the runner, the rest is start-up and migrations)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-evals", action="store_true", help="skip timing the scenario suite")
    args = parser.parse_args()
    _setup()
    bench_understanding(args.rounds)
    bench_policy(args.rounds)
    hit_rate("date/time phrasings, tuned", TUNED)
    hit_rate("date/time phrasings, held out", HELD_OUT)
    if not args.no_evals:
        bench_eval_suite()


if __name__ == "__main__":
    main()
