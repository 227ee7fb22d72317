"""The one error booking rules raise: its text is read to callers and shown to advisors as is."""

from django.core.exceptions import ValidationError


class BookingError(ValidationError):
    """A booking rule refused the request; str(error) is fit to read to a caller or show an advisor.

    `code` is one of: "past", "lead_time", "closed_day", "outside_hours", "full", "unknown_service",
    "inactive_service", "no_service", "wrong_vehicle", "not_active", "too_far", "overlap", "invalid",
    "not_yours", "not_on_appointment", "last_service", "not_offered" (a loaner or shuttle the shop does not have).
    """

    CODES = frozenset(
        {
            "past",
            "lead_time",
            "closed_day",
            "outside_hours",
            "full",
            "unknown_service",
            "inactive_service",
            "no_service",
            "wrong_vehicle",
            "not_active",
            "too_far",
            "overlap",
            "invalid",
            "not_yours",  # another customer's appointment
            "not_on_appointment",  # a service to take off that the appointment does not have
            "last_service",  # taking off every service: that is a cancellation, asked as one
            "not_offered",  # a loaner or shuttle the shop does not have
        }
    )

    # Same positional shape as ValidationError, so the error survives pickling (Celery results, caches).
    def __init__(self, message: str, code: str | None = None, params=None):
        if code not in self.CODES:
            raise ValueError(f"unknown BookingError code {code!r}")
        super().__init__(message, code=code, params=params)

    def __str__(self) -> str:
        # ValidationError prints a list repr ("['...']"); callers hear the sentence itself.
        return self.message
