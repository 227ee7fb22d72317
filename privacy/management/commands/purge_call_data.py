from django.core.management.base import BaseCommand

from privacy.retention import purge_old_call_data


class Command(BaseCommand):
    help = "Apply RETENTION_DAYS / RECORDING_RETENTION_DAYS now (beat does it daily)."

    def handle(self, *args, **options):
        run = purge_old_call_data()
        self.stdout.write(
            f"Removed {run.turns_deleted} turns and {run.tool_calls_deleted} tool calls of calls before "
            f"{run.transcripts_before:%Y-%m-%d}, cleared {run.calls_cleared} calls, deleted {run.recordings_deleted} "
            f"recordings of calls before {run.recordings_before:%Y-%m-%d} ({run.recordings_failed} could not be)."
        )
