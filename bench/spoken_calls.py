"""Booking calls spoken by eSpeak NG through the offline recogniser into the rule brain, with the general model
and with the model of each question the brain asks (its `listening_hint`): word error rate of the caller's lines
and whether the call ended as the caller wanted (booked, right service, right day, right part of the day).

    .venv/bin/python bench/spoken_calls.py [-v]

Runs against a throw-away SQLite database seeded with `seed_demo`; every booking is undone before the next call,
so each condition meets the same free slots. The "text" condition sends the caller's lines as typed: the calls
themselves work when hearing is perfect.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

KNOWN = "+13125550142"  # a seeded customer with one car
NEW = "+13125550197"  # nobody: the agent registers the caller


@dataclass(frozen=True)
class Script:
    caller: str
    lines: tuple[str, ...]
    service: str  # service type code that must be booked
    weekday: int  # 0 = Monday
    part: str = ""  # "morning" / "afternoon": when the booking must start


SCRIPTS = [
    Script(KNOWN, ("hi, I need an oil change", "friday morning", "the first one", "yes", "no thanks, bye"),
           "oil-change", 4, "morning"),
    Script(KNOWN, ("can I bring my car in for a tire rotation", "thursday afternoon", "yeah that works",
                   "yes please", "that's all, thanks"), "tire-rotation", 3, "afternoon"),
    Script(NEW, ("I'd like to book a brake inspection", "my name is sarah johnson", "a twenty fifteen toyota camry",
                 "next wednesday", "the second one", "yes", "no that's it, goodbye"), "brake-inspection", 2),
    Script(KNOWN, ("my check engine light is on", "monday morning", "no, monday afternoon instead", "the first one",
                   "yes", "bye"), "diagnostics", 0, "afternoon"),
    Script(KNOWN, ("I need new brake pads", "tuesday morning", "the last one", "that's correct",
                   "nope, that's all"), "brake-pads", 1, "morning"),
]  # fmt: skip


async def run_call(script: Script, condition: str, stt, clips, tally, verbose: bool) -> bool:
    from django.utils import timezone
    from recognition import transcribe, words

    from bartsvoice.db import in_db_thread
    from calls.agent.policy import RuleBrain
    from calls.simulator import create_simulated_call
    from calls.voice.bootstrap import context_for_call
    from scheduling.availability import shop_tz
    from scheduling.models import Appointment

    call = await in_db_thread(create_simulated_call, script.caller)
    ctx = await in_db_thread(context_for_call, call)
    brain = RuleBrain()

    async def reply(pieces) -> tuple[str, bool]:
        """The reply's text, and whether it ended or handed over the call (a Transfer or EndCall among it)."""
        out = [p async for p in pieces]
        return "".join(p for p in out if isinstance(p, str)), any(not isinstance(p, str) for p in out)

    agent, done = await reply(brain.greet(ctx))
    if verbose:
        print(f"  agent: {agent}")
    for line in script.lines:
        if done:
            break
        if condition == "text":
            heard = line
        else:
            hint = brain.listening_hint(ctx) if condition == "hinted" else None
            heard = await transcribe(stt, clips[line], hint)
            tally.add(words(line), heard.split())
        if verbose:
            print(f"  caller: {line!r} heard {heard!r}")
        if not heard:
            continue  # the session would say "Sorry, I didn't catch that"; the caller goes on
        agent, done = await reply(brain.respond(ctx, heard))
        if verbose:
            print(f"  agent: {agent}")

    def booked():
        appt = Appointment.objects.filter(customer_id=ctx.customer_id, source="phone",
                                          created__gte=call.started_at).order_by("-id").first()  # fmt: skip
        if appt is None:
            return None
        result = (list(appt.service_types.values_list("code", flat=True)), appt.start.astimezone(shop_tz()))
        appt.delete()  # the next condition meets the same free slots
        if script.caller == NEW:
            appt.customer.delete()
        return result

    found = await in_db_thread(booked)
    if found is None:
        return False
    codes, start = found
    part_ok = {"": True, "morning": start.hour < 12, "afternoon": start.hour >= 12}[script.part]
    if verbose:
        print(f"  booked {codes} {start:%a %d %b %H:%M} ({timezone.now():%a})")
    return script.service in codes and start.weekday() == script.weekday and part_ok


async def run(args) -> None:
    from recognition import Tally

    from calls.voice import audio
    from calls.voice.providers.espeak import synthesize_ulaw
    from calls.voice.providers.sphinx import SphinxSTT

    stt = SphinxSTT()
    stt.warm_up()
    clips = {line: audio.ulaw_silence(300) + synthesize_ulaw(line) + audio.ulaw_silence(600)
             for script in SCRIPTS for line in script.lines}  # fmt: skip
    for condition in ("text", "general", "hinted"):
        tally = Tally()
        ok = 0
        for i, script in enumerate(SCRIPTS, 1):
            if args.verbose:
                print(f"[{condition}] call {i}")
            ok += await run_call(script, condition, stt, clips, tally, args.verbose)
        wer = f"caller lines {tally}" if condition != "text" else "(typed lines)"
        print(f"{condition:<8} {ok}/{len(SCRIPTS)} calls ended as the caller wanted   {wer}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="print each conversation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("seed_demo", verbosity=0)
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
