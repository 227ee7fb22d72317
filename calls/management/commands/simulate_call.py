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
        parser.add_argument("--caller", help="Caller ID, e.g. +13125550142")
        parser.add_argument("--script", help="File with one caller turn per line (default: stdin)")
        parser.add_argument(
            "--reminder",
            type=int,
            metavar="APPOINTMENT_ID",
            help="The shop calls the customer about this appointment (the reminder dialer's path; you are the "
            "customer). Its result goes on the appointment's reminder, as a phone call's would.",
        )
        parser.add_argument(
            "--answer",
            choices=["human", "machine", "none"],
            default="human",
            help="With --reminder: who picks up (an answering machine gets the voicemail message; none: no answer).",
        )

    def handle(self, *args, caller=None, script=None, reminder=None, answer="human", **options):
        if reminder is not None:
            self._reminder(reminder, answer, script)
            return
        if not caller:
            raise CommandError("Give --caller (the number calling the shop) or --reminder (an appointment id).")
        try:
            call = create_simulated_call(caller)
        except ValidationError as exc:
            raise CommandError(f"--caller: {' '.join(exc.messages)}") from None
        if not self._converse(call, script):
            raise CommandError("the conversation did not end normally (no goodbye or transfer)", returncode=1)

    def _reminder(self, appointment_id: int, answer: str, script: str | None) -> None:
        from calls.telephony import dialer
        from scheduling.models import ReminderAttempt

        try:
            call = dialer.simulate_reminder(appointment_id)
        except ValueError as exc:
            raise CommandError(f"--reminder: {exc}") from None
        ended_normally = True
        if answer == "machine":
            self.stdout.write(f"VOICEMAIL: {dialer.simulate_machine(call)}")
        elif answer == "none":
            dialer.simulate_no_answer(call)
            self.stdout.write("(nobody answers)")
        else:
            ended_normally = self._converse(call, script)
        reminder = ReminderAttempt.objects.get(pk=call.reminder_id)
        self.stderr.write(
            f"reminder #{reminder.pk}: {reminder.get_status_display().lower()}"
            f"{' (' + reminder.get_outcome_display().lower() + ')' if reminder.outcome else ''}: "
            f"{reminder.result or '-'}"
        )
        for text in call.texts.order_by("pk"):
            self.stderr.write(f"text to {text.to_number} ({text.status_label}): {text.body}")
        if not ended_normally:
            raise CommandError("the conversation did not end normally (no goodbye or transfer)", returncode=1)

    def _converse(self, call, script: str | None) -> bool:
        """Talk; True when the conversation ended normally (goodbye or transfer)."""

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
        return result.ended_normally
