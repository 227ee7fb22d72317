from django.db import models


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
    # What Twilio's recording callback said about it (calls/recordings.py); played through an authenticated view.
    recording_sid = models.CharField("recording SID", max_length=64, blank=True)
    recording_seconds = models.PositiveIntegerField("recording length (s)", null=True, blank=True)
    # The caller wanted a person and none could take the call: somebody has to ring them back.
    callback_requested = models.BooleanField("call-back requested", default=False, db_index=True)
    callback_done_at = models.DateTimeField("called back at", null=True, blank=True)
    # The slowest reply to the caller (Turn.first_audio_ms of agent turns answering a caller turn), kept up to
    # date by services.record_turn so the call log can sort and filter on it without reading every turn.
    worst_latency_ms = models.PositiveIntegerField("worst reply latency (ms)", null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        permissions = [
            ("view_dashboard", "Can view the calls dashboard"),
            ("listen_recording", "Can listen to call recordings"),
        ]
        # The call log's filters and sorts (calls/selectors.py); started_at has its own index. The slowest-reply
        # sort's index (DESC NULLS LAST, which SQLite cannot index) is made on PostgreSQL only, by migration 0004.
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
