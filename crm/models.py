from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from crm.phones import format_phone_national, normalize_phone


class Customer(models.Model):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80, blank=True)
    phone = models.CharField(max_length=20, unique=True, help_text="Any format; stored as E.164 (+13125550142).")
    email = models.EmailField(blank=True)
    postal_code = models.CharField(max_length=12, blank=True, help_text="Used to verify a caller's identity.")
    preferred_advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    do_not_call = models.BooleanField(default=False, help_text="Never call this customer (reminders included).")
    notes = models.TextField(blank=True)
    # Whoever answered a call to this number said it is not this customer's ("wrong number", "there's no Daniel
    # here"): while it is still the number on file, no reminder call or text goes to it. Staff fix the phone (or
    # clear this) in the admin.
    wrong_number = models.CharField(
        "number reported wrong",
        max_length=20,
        blank=True,
        help_text="The number someone answering our call said is not this customer's. While it is the phone on "
        "file, reminders are not sent: correct the phone, or clear this if the number is right after all.",
    )
    wrong_number_reported_at = models.DateTimeField("reported wrong at", null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(Upper("last_name"), Upper("first_name"), name="customer_name_ci")]

    def __str__(self):
        from crm.labels import customer_label

        return customer_label(self)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def number_reported_wrong(self) -> bool:
        """The phone on file is the one reported as not this customer's (it may have been corrected since)."""
        return bool(self.wrong_number) and self.wrong_number == self.phone

    @property
    def phone_display(self) -> str:
        return format_phone_national(self.phone) if self.phone else ""

    def clean(self):
        from django.core.exceptions import ValidationError

        # clean_fields() already reports a blank phone as required; saying it twice helps nobody.
        if self.phone:
            try:
                self.phone = normalize_phone(self.phone)
            except ValidationError as exc:
                raise ValidationError({"phone": exc.error_list}) from None
        self.postal_code = (self.postal_code or "").strip().upper()


class Vehicle(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vehicles")
    vin = models.CharField("VIN", max_length=17, blank=True, help_text="17 characters; checked and decoded.")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=60, blank=True)
    model = models.CharField(max_length=60, blank=True)
    trim = models.CharField(max_length=80, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)
    plate = models.CharField("licence plate", max_length=16, blank=True)
    decoded = models.JSONField(default=dict, blank=True, help_text="What VIN decoding found.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id", "-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["vin"],
                condition=~models.Q(vin=""),
                name="vehicle_vin_unique",
                # code "unique" on a one-field constraint puts the message on the VIN field in forms.
                violation_error_code="unique",
                violation_error_message="Another vehicle on file already has this VIN.",
            ),
        ]

    def __str__(self):
        label = " ".join(str(p) for p in (self.year, self.make, self.model) if p) or "Vehicle"
        return f"{label} ({self.vin[-6:]})" if self.vin else label

    def clean(self):
        from crm.vin import apply_vin_to_vehicle

        apply_vin_to_vehicle(self)
