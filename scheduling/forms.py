"""Admin form for appointments: every save goes through the booking services, so an advisor meets the
same rules as a caller (hours, closures, capacity, the vehicle belonging to the customer)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from crm.labels import customer_label
from scheduling import services
from scheduling.errors import BookingError
from scheduling.models import Appointment, ServiceType

# Which form field a refusal is about, so the message appears next to it.
_ERROR_FIELD = {
    "past": "start",
    "lead_time": "start",
    "closed_day": "start",
    "outside_hours": "start",
    "full": "start",
    "too_far": "start",
    "unknown_service": "service_types",
    "inactive_service": "service_types",
    "no_service": "service_types",
    "wrong_vehicle": "vehicle",
}

# Fields the services own on a change; everything else on the form is plain data. `source` is not on the form:
# what an advisor books here is an admin booking, and where a booking came from is history, not an input.
_EDITABLE = ("vehicle", "service_types", "start", "transport", "advisor", "notes")


class AppointmentAdminForm(forms.ModelForm):
    class Meta:
        model = Appointment
        fields = ("customer", "vehicle", "service_types", "start", "transport", "advisor", "notes", "status")

    def __init__(self, *args, request_user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request_user = request_user
        # Set once the services have written the appointment; the admin then must not save it again.
        self.saved_by_service = False
        if "customer" in self.fields:
            self.fields["customer"].label_from_instance = customer_label
        elif "vehicle" in self.fields and self.instance.customer_id:
            # The customer is fixed (read-only): the vehicle autocomplete offers theirs only.
            _inner(self.fields["vehicle"].widget).attrs["data-customer"] = str(self.instance.customer_id)
        if "start" in self.fields:
            for widget in getattr(self.fields["start"].widget, "widgets", ()):
                if isinstance(widget, forms.TimeInput):
                    widget.format = "%H:%M"  # "07:30", not "07:30:00": bookings are to the minute
        if "service_types" in self.fields:
            # Offer what can be booked, plus whatever this appointment already has.
            active = Q(active=True)
            if self.instance.pk:
                active |= Q(pk__in=self.instance.service_types.values("pk"))
            field = self.fields["service_types"]
            field.queryset = ServiceType.objects.filter(active)
            field.label_from_instance = _service_label
        if "status" in self.fields:
            # A new appointment is always "scheduled"; cancelling from the form asks for nothing else.
            self.fields["status"].help_text = "Choosing “Cancelled” frees the slot and records who cancelled it."

    def _post_clean(self):
        # The services validate and write in one locked transaction, so the write happens here, as the very
        # last validation step: a refusal becomes a form error and nothing is saved.
        super()._post_clean()
        if self.errors:
            return
        try:
            self.instance = self._book() if self.instance.pk is None else self._update()
        except BookingError as exc:
            field = _ERROR_FIELD.get(exc.code)
            self.add_error(field if field in self.fields else None, str(exc))
            return
        except ValidationError as exc:
            self.add_error(None, exc)
            return
        self.saved_by_service = True

    def _book(self) -> Appointment:
        data = self.cleaned_data
        return services.book_appointment(
            customer=data["customer"],
            vehicle=data.get("vehicle"),
            service_types=list(data["service_types"]),
            start=data["start"],
            transport=data.get("transport") or Appointment.Transport.DROP_OFF,
            advisor=data.get("advisor"),
            notes=data.get("notes", ""),
            source=Appointment.Source.ADMIN,
        )

    def _update(self) -> Appointment:
        data = self.cleaned_data
        # A fresh copy: construct_instance() has already put the new values on self.instance, and the
        # services decide what changed by comparing with what is stored.
        appointment = Appointment.objects.get(pk=self.instance.pk)
        new_status = data.get("status", appointment.status)
        if new_status == Appointment.Status.CANCELLED and appointment.status != Appointment.Status.CANCELLED:
            return services.cancel_appointment(appointment=appointment, reason=cancel_reason(self.request_user))
        changes = {name: data[name] for name in _EDITABLE if name in self.changed_data}
        if changes:
            appointment = services.update_appointment(appointment=appointment, **changes)
        if new_status != appointment.status:
            appointment = services.set_appointment_status(appointment=appointment, status=new_status)
        return appointment


def _inner(widget):
    """The widget itself, not the admin's wrapper that adds the add/change links beside it."""
    return getattr(widget, "widget", widget)


def _service_label(service: ServiceType) -> str:
    price = f", ${service.price}" if service.price is not None else ""
    return f"{service.name} ({service.duration_minutes} min{price})"


def cancel_reason(user) -> str:
    who = (user.get_username() if user is not None else "") or "staff"
    return f"Cancelled by {who} in admin"
