from django.db import models

from calls.recording_storage import recordings_storage


class Call(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND = "outbound"

    class Transport(models.TextChoices):
        TWILIO = "twilio", "Phone (Twilio)"
        SOFTPHONE = "softphone", "Browser softphone"
        SIMULATOR = "simulator", "Text simulator"

    class Status(models.TextChoices):
        RINGING = "ringing"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed"
        FAILED = "failed"

    class Outcome(models.TextChoices):
        BOOKED = "booked"
        RESCHEDULED = "rescheduled"
        CANCELLED = "cancelled"
        CONFIRMED = "confirmed"
        INFO = "info"
        TRANSFERRED = "transferred"
        VOICEMAIL = "voicemail"
        WRONG_PERSON = "wrong_person", "Wrong person"  # the number is not the customer's: flagged for staff
        ABANDONED = "abandoned"
        FAILED = "failed"

    call_sid = models.CharField("call SID", max_length=64, unique=True)
    stream_sid = models.CharField(max_length=64, blank=True)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.INBOUND)
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.TWILIO)
    from_number = models.CharField(max_length=32, blank=True)
    to_number = models.CharField(max_length=32, blank=True)
    customer = models.ForeignKey("crm.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RINGING)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    recording_url = models.URLField(blank=True)
    # The reminder this outbound call is an attempt of (each attempt is its own call).
    reminder = models.ForeignKey(
        "scheduling.ReminderAttempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    # What Twilio's recording callback said about it (calls/recordings.py); played through an authenticated view.
    recording_sid = models.CharField("recording SID", max_length=64, blank=True)
    recording_seconds = models.PositiveIntegerField("recording length (s)", null=True, blank=True)
    # The caller wanted a person and none could take the call: somebody has to ring them back.
    callback_requested = models.BooleanField("call-back requested", default=False, db_index=True)
    callback_done_at = models.DateTimeField("called back at", null=True, blank=True)
    # The slowest reply to the caller (Turn.first_audio_ms of agent turns answering a caller turn), kept up to
    # date by services.record_turn so the call log can sort and filter on it without reading every turn.
    worst_latency_ms = models.PositiveIntegerField("worst reply latency (ms)", null=True, blank=True)
    # Our own recording of the media stream (calls.voice.recorder; RECORD_CALLS), in the "recordings" storage.
    recording_file = models.FileField(
        upload_to="recordings/%Y/%m/", storage=recordings_storage, max_length=200, blank=True
    )
    # What the call used of each paid service (calls.usage): totals here, per provider in usage_lines, and the
    # cost at the prices of the day it ended (null: not metered, e.g. a call that never reached the agent).
    stt_seconds = models.FloatField("speech recognised (s)", default=0)
    tts_characters = models.PositiveIntegerField("characters synthesised", default=0)
    llm_input_tokens = models.PositiveIntegerField("model input tokens", default=0)
    llm_output_tokens = models.PositiveIntegerField("model output tokens", default=0)
    telephony_minutes = models.PositiveIntegerField("billed phone minutes", default=0)
    usage_lines = models.JSONField(default=list, blank=True)
    cost_usd = models.DecimalField("cost (USD)", max_digits=10, decimal_places=5, null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            # The softphone calls the agent as any customer, who then hears that customer's appointments.
            ("use_softphone", "Can use the softphone"),
            ("view_dashboard", "Can view the calls dashboard"),
            ("listen_recording", "Can listen to call recordings"),
        ]
        # The call log's filters and sorts (calls/selectors.py); started_at has its own index. The slowest-reply
        # sort's index (DESC NULLS LAST, which SQLite cannot index) is made on PostgreSQL only, by migration 0007.
        indexes = [
            models.Index(fields=["outcome", "-started_at"], name="call_outcome_started"),
            models.Index(fields=["direction", "-started_at"], name="call_direction_started"),
            models.Index(fields=["status", "-started_at"], name="call_status_started"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.from_number} → {self.to_number} ({self.call_sid})"

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class Turn(models.Model):
    class Role(models.TextChoices):
        CALLER = "caller"
        AGENT = "agent"
        SYSTEM = "system"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    role = models.CharField(max_length=8, choices=Role.choices)
    text = models.TextField()
    interrupted = models.BooleanField(default=False, help_text="The caller barged in; text is what was played.")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Per-stage latency, each measured from the end of the caller's speech.
    stt_ms = models.PositiveIntegerField("STT final (ms)", null=True, blank=True)
    llm_first_ms = models.PositiveIntegerField("first agent text (ms)", null=True, blank=True)
    tts_first_ms = models.PositiveIntegerField("first TTS audio (ms)", null=True, blank=True)
    first_audio_ms = models.PositiveIntegerField("first audio sent (ms)", null=True, blank=True)
    # Of first_audio_ms, the time spent waiting on the recogniser, the brain and the synthesiser;
    # the rest is turn detection and our own pipeline.
    provider_ms = models.PositiveIntegerField("inside providers (ms)", null=True, blank=True)

    class Meta:
        ordering = ["call_id", "index"]
        constraints = [models.UniqueConstraint(fields=["call", "index"], name="turn_index_unique")]
        # The dashboard's reply latency over a period (calls/metrics.py): an index-only range scan of the replies.
        indexes = [
            models.Index(
                fields=["started_at", "first_audio_ms"],
                condition=models.Q(role="agent", stt_ms__isnull=False, first_audio_ms__isnull=False),
                name="turn_reply_latency",
            )
        ]

    def __str__(self):
        return f"{self.role}: {self.text[:60]}"


class ToolCall(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="tool_calls")
    turn_index = models.PositiveIntegerField(null=True, blank=True)
    name = models.CharField(max_length=60)
    arguments = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    ok = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call_id", "id"]

    def __str__(self):
        return f"{self.name}({'ok' if self.ok else 'error'})"


class TextMessage(models.Model):
    """A text to a customer (calls.texts): sent through Twilio, or kept here unsent with the reason.

    `dedupe_key` makes a text that must go once (a reminder's, a call's confirmation) go once, whoever asks twice.
    """

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booking confirmation"
        RESCHEDULED = "rescheduled", "New time"
        CANCELLED = "cancelled", "Cancellation"
        REMINDER = "reminder", "Reminder (no answer / voicemail)"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"
        NOT_SENT = "not_sent", "Not sent"

    to_number = models.CharField(max_length=32)
    body = models.CharField(max_length=480)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    status_reason = models.CharField(max_length=200, blank=True)
    customer = models.ForeignKey("crm.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="texts"
    )
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="texts")
    dedupe_key = models.CharField(max_length=80, blank=True)
    message_sid = models.CharField("message SID", max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=~models.Q(dedupe_key=""), name="text_once"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_number}: {self.status_label}"

    @property
    def status_label(self) -> str:
        label = self.get_status_display().lower()
        return f"{label}: {self.status_reason}" if self.status_reason else label
