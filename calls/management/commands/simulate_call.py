import asyncio
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from calls.simulator import create_simulated_call, run_simulated_call


async def _lines_from(stream):
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, stream.readline)
        if not line:
            return
        yield line


class Command(BaseCommand):
    help = (
        "Talk to the agent in text: each line of --script (or stdin) is one caller turn; "
        "'/dtmf 0' presses keys (0 asks for an advisor)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--caller", required=True, help="Caller ID, e.g. +13125550142")
        parser.add_argument("--script", help="File with one caller turn per line (default: stdin)")

    def handle(self, *args, caller, script=None, **options):
        try:
            call = create_simulated_call(caller)
        except ValidationError as exc:
            raise CommandError(f"--caller: {' '.join(exc.messages)}") from None

        def echo(speaker: str, text: str) -> None:
            self.stdout.write(f"{speaker}: {text}")
            self.stdout.flush()

        try:
            stream = open(script, encoding="utf-8") if script else sys.stdin
        except OSError as exc:
            raise CommandError(f"--script: cannot read {script}: {exc.strerror}") from None
        try:
            result = asyncio.run(run_simulated_call(call, _lines_from(stream), echo=echo))
        finally:
            if script:
                stream.close()
        call = result.call
        self.stderr.write(f"call {call.call_sid}: outcome={call.outcome or '-'} summary={call.summary or '-'}")
        if not result.ended_normally:
            raise CommandError("the conversation did not end normally (no goodbye or transfer)", returncode=1)
