"""What retention removed, and who exported or erased whose data: records that are never edited."""

from django.conf import settings
from django.db import models


class RetentionRun(models.Model):
    """One pass of the retention task: the cut-off dates it applied and how much it removed."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    transcripts_before = models.DateTimeField(help_text="Transcripts of calls started before this were removed.")
    recordings_before = models.DateTimeField(help_text="Recordings of calls started before this were removed.")
    turns_deleted = models.PositiveIntegerField(default=0)
    tool_calls_deleted = models.PositiveIntegerField(default=0)
    calls_cleared = models.PositiveIntegerField(
        default=0, help_text="Calls whose summary and phone numbers were cleared."
    )
    recordings_deleted = models.PositiveIntegerField(default=0)
    recordings_failed = models.PositiveIntegerField(
        default=0, help_text="Recordings that could not be deleted at Twilio; tried again on the next run."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "retention run"

    def __str__(self):
        return f"Retention run of {self.started_at:%Y-%m-%d %H:%M}"


class PrivacyRequest(models.Model):
    """Audit entry: a customer's data was exported or erased, by whom, why, and what it touched."""

    class Action(models.TextChoices):
        EXPORT = "export"
        ERASE = "erase"

    action = models.CharField(max_length=8, choices=Action.choices)
    # The customer row outlives an erasure (anonymised, so appointments keep a customer); customer_ref keeps the
    # number even if the row is ever deleted.
    customer = models.ForeignKey(
        "crm.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="privacy_requests"
    )
    customer_ref = models.PositiveBigIntegerField("customer #", db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_name = models.CharField("by", max_length=150)
    reason = models.CharField(max_length=300, help_text="Why: the customer's request and how it came in.")
    details = models.JSONField(default=dict, blank=True, help_text="What was exported or removed, counted.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "privacy request"
        permissions = [
            ("export_customer_data", "Can export a customer's data"),
            ("erase_customer_data", "Can erase a customer's data"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} of customer #{self.customer_ref} by {self.requested_by_name}"
