from datetime import timedelta

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from crm.phones import normalize_phone, validate_phone


class ServiceType(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    duration_minutes = models.PositiveIntegerField(validators=[MinValueValidator(5)])
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    active = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated phrases callers use, e.g. “oil change, lube”."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip().lower() for k in self.keywords.split(",") if k.strip()]


class BusinessHours(models.Model):
    """One opening interval of a weekday; a day may have several (e.g. a lunch break between two)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        verbose_name_plural = "business hours"
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="hours_close_after_open"),
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Closure(models.Model):
    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.reason}".strip()


class ServiceBay(models.Model):
    """A lift/bay. Capacity is the number of active bays: that many appointments can run at once."""

    name = models.CharField(max_length=40, unique=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Appointment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"
        COMPLETED = "completed"
        NO_SHOW = "no_show", "No-show"

    class Transport(models.TextChoices):
        WAITER = "waiter", "Waits at the shop"
        DROP_OFF = "drop_off", "Drop-off"
        LOANER = "loaner", "Loaner car"
        SHUTTLE = "shuttle", "Shuttle"

    class Source(models.TextChoices):
        PHONE = "phone"
        ADMIN = "admin"
        REMINDER = "reminder"

    # Statuses that occupy a bay.
    ACTIVE_STATUSES = (Status.SCHEDULED, Status.CONFIRMED)

    customer = models.ForeignKey("crm.Customer", on_delete=models.PROTECT, related_name="appointments")
    vehicle = models.ForeignKey(
        "crm.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    service_types = models.ManyToManyField(ServiceType, related_name="appointments")
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.DROP_OFF)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments"
    )
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ADMIN)
    calendar_event_id = models.CharField(max_length=200, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the customer chose this start themselves (booked it, or moved it to it, on a call with the agent). Within
    # the reminder lead time of the start they need no reminder call: they have just agreed to it.
    time_chosen_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["status", "start", "end"], name="appointment_active_span")]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gt=models.F("start")), name="appt_end_after_start"),
        ]

    def __str__(self):
        from django.utils import timezone

        local = timezone.localtime(self.start)
        return f"{local:%a %b %-d %-I:%M %p} – {self.customer_id and self.customer.full_name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class ReminderAttempt(models.Model):
    """One current row per (appointment, kind): the dialer's idempotency key, and its ledger (scheduling.reminders).

    pending -> dialing (claimed by one worker: the only state in which a call may be placed) -> done | failed,
    or back to pending for another attempt; skipped (with the reason in `result`) when it must not call.
    A settled reminder whose appointment then moves is superseded (history, about the old time); the new time gets
    a current reminder of its own.
    """

    class Kind(models.TextChoices):
        DAY_BEFORE = "day_before", "Day before"

    class Status(models.TextChoices):
        PENDING = "pending"
        DIALING = "dialing", "Calling"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped"

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed"
        RESCHEDULED = "rescheduled", "Moved"
        CANCELLED = "cancelled"
        TRANSFERRED = "transferred", "Put through to an advisor"
        CALLBACK = "callback", "Call-back promised"
        VOICEMAIL = "voicemail"
        HUNG_UP = "hung_up", "Answered, no decision"
        WRONG_PERSON = "wrong_person", "Wrong person (number flagged)"
        NO_ANSWER = "no_answer", "No answer"
        FAILED = "failed", "Could not call"

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DAY_BEFORE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True, db_index=True)
    call_sid = models.CharField(max_length=64, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    result = models.CharField(max_length=200, blank=True)
    # The start time this reminder is about: an appointment moved after that is not called about the old time, and
    # the dashboard counts the reminder on this day (indexed: scheduling.reminders.reminders_about).
    appointment_start = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When it may be dialled next.")
    enqueued_at = models.DateTimeField(null=True, blank=True)  # the last sweep that handed it to a worker
    claimed_at = models.DateTimeField(null=True, blank=True)  # the worker's claim of the current attempt
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Set when the appointment moved after this reminder settled: it no longer stands for the appointment's time.
    superseded_at = models.DateTimeField(null=True, blank=True)
    # What the call had settled before the appointment was cancelled after it (scheduling.reminders.
    # appointment_cancelled): a cancel taken back (restore) puts it back as it was.
    outcome_before_cancel = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    result_before_cancel = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                condition=models.Q(superseded_at__isnull=True),
                name="one_current_reminder_per_kind",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="reminder_due"),
            models.Index(fields=["appointment_start"], name="reminder_about"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} reminder for #{self.appointment_id}: {self.status}"

    def save(self, *args, **kwargs):
        if self.appointment_start is None:  # a reminder is about its appointment's start when it is made
            self.appointment_start = self.appointment.start
        super().save(*args, **kwargs)


class ShopProfile(models.Model):
    """What callers ask about the shop besides its hours and services: where it is and how they get around while
    their car is in. One row, edited in the admin; the phone agent reads it (scheduling.shop_facts), never a
    sentence written in code."""

    phone = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_phone],
        help_text="The number customers call, in any format (stored as E.164, +13125550100): read out in reminder "
        "voicemails and given in texts. Empty: the Twilio number (TWILIO_PHONE_NUMBER).",
    )
    address = models.CharField(max_length=300, blank=True, help_text="Street address as it should be read out.")
    directions = models.CharField(
        max_length=300,
        blank=True,
        help_text="A landmark or how to find the service entrance, e.g. “behind the showroom”.",
    )
    loaner_cars = models.BooleanField(default=False, help_text="Loaner cars can be booked with an appointment.")
    loaner_terms = models.CharField(
        max_length=300, blank=True, help_text="Said after a yes, e.g. “they're limited, so we reserve them ahead”."
    )
    shuttle = models.BooleanField(default=False, help_text="A shuttle drives customers nearby while they wait.")
    shuttle_area = models.CharField(max_length=200, blank=True, help_text="e.g. “within five miles of the shop”.")

    class Waiting(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        UNKNOWN = "unknown", "Unknown (an advisor confirms)"

    customers_can_wait = models.CharField(
        "customers can wait",
        max_length=8,
        choices=Waiting.choices,
        default=Waiting.UNKNOWN,
        help_text="Whether customers may wait at the shop while their car is worked on. Unknown: the phone agent "
        "says a service advisor will confirm, and notes the question.",
    )
    waiting_area = models.CharField(
        max_length=200,
        blank=True,
        help_text="Said after “You can wait in”, e.g. “our lounge next to the service desk; there's coffee and Wi-Fi”.",
    )
    what_to_bring = models.CharField(
        "what to bring",
        max_length=200,
        blank=True,
        help_text="Said after “Please bring”, e.g. “your keys, the wheel-lock key if you have one, and any "
        "recall letter”. Empty: an advisor confirms.",
    )

    class Meta:
        verbose_name = "shop profile"

    def __str__(self):
        return "Shop profile"

    def clean(self):
        if self.phone.strip():
            self.phone = normalize_phone(self.phone)  # validate_phone has accepted it: E.164 from here on
