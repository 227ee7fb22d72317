"""Back office for the service schedule. Writes go through scheduling.services, never straight to the models."""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, F, Prefetch, Value, When
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from crm.admin import StaffFilter
from crm.labels import customer_admin_link, staff_name, staff_name_order, vehicle_label
from crm.phones import phone_search_digits, try_normalize_phone
from scheduling import services
from scheduling.availability import shop_tz
from scheduling.display import clock, day_and_time
from scheduling.display import when as when_label
from scheduling.forms import AppointmentAdminForm, cancel_reason
from scheduling.models import Appointment, BusinessHours, Closure, ReminderAttempt, ServiceBay, ServiceType, ShopProfile
from scheduling.views import BookingAutocompleteView

# Column labels short enough for a 1366 px laptop with the filter panel open.
_TRANSPORT_SHORT = {
    Appointment.Transport.WAITER: "Waiter",
    Appointment.Transport.DROP_OFF: "Drop-off",
    Appointment.Transport.LOANER: "Loaner",
    Appointment.Transport.SHUTTLE: "Shuttle",
}


class DayFilter(admin.SimpleListFilter):
    """Days as the shop sees them: "today" in Chicago is not "today" in UTC after 6 pm."""

    title = "day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("tomorrow", "Tomorrow"),
            ("this_week", "This week"),
            ("next_7_days", "Next 7 days"),
        ]

    def _span(self, value: str):
        today = timezone.localdate(timezone=shop_tz())
        if value == "today":
            return today, today + timedelta(days=1)
        if value == "tomorrow":
            return today + timedelta(days=1), today + timedelta(days=2)
        if value == "this_week":
            monday = today - timedelta(days=today.weekday())
            return monday, monday + timedelta(days=7)
        if value == "next_7_days":
            return today, today + timedelta(days=7)
        return None

    def queryset(self, request, queryset):
        span = self._span(self.value() or "")
        if span is None:
            return queryset
        tz = shop_tz()
        start, end = (datetime.combine(d, time.min, tzinfo=tz) for d in span)
        return queryset.filter(start__gte=start, start__lt=end)


def _run_per_row(modeladmin, request, queryset, verb: str, apply) -> None:
    """Apply a service call to each selected appointment; one refusal does not stop the others."""
    done = 0
    for appointment in queryset.select_related("customer"):
        try:
            apply(appointment)
        except ValidationError as exc:
            modeladmin.message_user(request, f"{appointment}: {' '.join(exc.messages)}", messages.ERROR)
        else:
            done += 1
    if done:
        noun = "appointment" if done == 1 else "appointments"
        modeladmin.message_user(request, f"{done} {noun} {verb}.", messages.SUCCESS)


class BookingAutocomplete(AutocompleteSelect):
    """The admin's autocomplete widget, answered by BookingAutocompleteView instead of the site-wide view; its
    script sends the chosen customer along with each vehicle search."""

    def get_url(self):
        return reverse(f"{self.admin_site.name}:scheduling_appointment_autocomplete")

    @property
    def media(self):
        # Listing jquery.init.js first orders the script after it (it needs django.jQuery).
        return super().media + forms.Media(js=["admin/js/jquery.init.js", "scheduling/appointment-form.js"])


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    form = AppointmentAdminForm
    # Fits a 1366 px screen with the filters open; end time, source and the rest are on the filters or the form.
    list_display = ("when", "customer_name", "vehicle_name", "services", "status", "transport_short", "advisor_name")
    list_display_links = ("when",)
    list_select_related = ("customer", "vehicle", "advisor")
    list_filter = (
        "status",
        DayFilter,
        ("advisor", StaffFilter),
        "service_types",
        "transport",
        "source",
    )
    date_hierarchy = "start"
    search_fields = ("customer__first_name", "customer__last_name", "customer__phone", "vehicle__vin")
    search_help_text = "Customer name, phone number in any format, or VIN."
    autocomplete_fields = ("customer", "vehicle")
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    actions = ("confirm", "mark_completed", "mark_no_show", "cancel", "send_reminder_now")
    list_per_page = 100
    # The exact total would be a second COUNT over the whole table on every filtered page.
    show_full_result_count = False
    readonly_fields = ("local_end", "calendar_event_id", "cancel_reason", "cancelled_at", "created", "updated")

    def get_urls(self):
        autocomplete = self.admin_site.admin_view(BookingAutocompleteView.as_view(admin_site=self.admin_site))
        # Before the stock routes: "<object_id>/" would otherwise take "autocomplete/".
        return [
            path("autocomplete/", autocomplete, name="scheduling_appointment_autocomplete"),
            *super().get_urls(),
        ]

    def get_ordering(self, request):
        """What is still to come first, soonest first; then the past, most recent first."""
        now = timezone.now()
        upcoming = models.Q(end__gt=now)
        return [
            Case(When(upcoming, then=Value(0)), default=Value(1)).asc(),
            Case(When(upcoming, then=F("start"))).asc(),
            Case(When(~upcoming, then=F("start"))).desc(),
        ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("service_types", queryset=ServiceType.objects.only("id", "name")))
        )

    def get_fieldsets(self, request, obj=None):
        booking = ["customer", "vehicle", "service_types", "start", "local_end", "transport", "advisor", "notes"]
        if obj is None:
            return [(None, {"fields": booking})]
        # The customer is fixed once booked: shown as a link to them, not as a field.
        booking[0] = "customer_link"
        return [
            (None, {"fields": [*booking, "status", "source"]}),
            ("History", {"fields": ["cancel_reason", "cancelled_at", "calendar_event_id", "created", "updated"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # Moving an appointment to another customer or rewriting where it came from makes no sense.
        return (*self.readonly_fields, "customer_link", "source")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class RequestForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, request_user=user, **kw)

        return RequestForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "advisor":
            staff = get_user_model().objects.filter(is_staff=True, is_active=True)
            kwargs["queryset"] = staff.order_by(staff_name_order())
        elif db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = BookingAutocomplete(db_field, self.admin_site)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "advisor" and field is not None:
            field.label_from_instance = staff_name
        return field

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("advisor", request.user.pk)
        return initial

    def save_model(self, request, obj, form, change):
        if not getattr(form, "saved_by_service", False):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # The services already set the service types; there are no inlines.
        if not getattr(form, "saved_by_service", False):
            super().save_related(request, form, formsets, change)

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        # The stock search splits "(312) 555-0142" into terms that never match the stored "+13125550142".
        e164 = try_normalize_phone(term)
        if e164:
            results = results | queryset.filter(customer__phone=e164)
        else:
            digits = phone_search_digits(term)  # part of a number: "555-0142"
            if digits:
                results = results | queryset.filter(customer__phone__contains=digits)
        return results, may_have_duplicates

    @admin.display(description="when", ordering="start")
    def when(self, obj):
        if not obj.start:
            return "-"
        # Breaks after the day, never inside it or inside the times: two short lines, not one wide column.
        day, _, times = when_label(obj.start, obj.end).partition(", ")
        return format_html('<span class="nowrap">{},</span> <span class="nowrap">{}</span>', day, times)

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_name(self, obj):
        return obj.customer.full_name

    @admin.display(description="customer")
    def customer_link(self, obj):
        return customer_admin_link(obj.customer)

    @admin.display(description="vehicle", ordering="vehicle__make")
    def vehicle_name(self, obj):
        car = obj.vehicle
        if car is None:
            return "-"
        return vehicle_label(car)

    @admin.display(description="transport", ordering="transport")
    def transport_short(self, obj):
        return _TRANSPORT_SHORT.get(obj.transport, obj.get_transport_display())

    @admin.display(description="advisor", ordering="advisor__first_name")
    def advisor_name(self, obj):
        return staff_name(obj.advisor) or "-"

    @admin.display(description="end")
    def local_end(self, obj):
        return clock(obj.end) if obj.end else "start + the services' durations"

    @admin.display(description="services")
    def services(self, obj):
        return ", ".join(st.name for st in obj.service_types.all())

    @admin.action(description="Confirm selected appointments", permissions=["change"])
    def confirm(self, request, queryset):
        _run_per_row(
            self,
            request,
            queryset,
            "confirmed",
            lambda a: services.set_appointment_status(appointment=a, status=Appointment.Status.CONFIRMED),
        )

    @admin.action(description="Mark selected appointments completed", permissions=["change"])
    def mark_completed(self, request, queryset):
        _run_per_row(
            self,
            request,
            queryset,
            "marked completed",
            lambda a: services.set_appointment_status(appointment=a, status=Appointment.Status.COMPLETED),
        )

    @admin.action(description="Mark selected appointments no-show", permissions=["change"])
    def mark_no_show(self, request, queryset):
        _run_per_row(
            self,
            request,
            queryset,
            "marked no-show",
            lambda a: services.set_appointment_status(appointment=a, status=Appointment.Status.NO_SHOW),
        )

    @admin.action(description="Cancel selected appointments", permissions=["change"])
    def cancel(self, request, queryset):
        reason = cancel_reason(request.user)
        _run_per_row(
            self, request, queryset, "cancelled", lambda a: services.cancel_appointment(appointment=a, reason=reason)
        )

    @admin.action(description="Send reminder now", permissions=["change"])
    def send_reminder_now(self, request, queryset):
        """The dialer's own path (ledger row, claim, re-check): a customer is never called twice this way either."""
        from scheduling import reminders
        from scheduling.tasks import place_reminder_call

        def send(appointment):
            try:
                reminder = reminders.send_now(appointment=appointment)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            transaction.on_commit(lambda: place_reminder_call.delay(reminder.pk))

        _run_per_row(self, request, queryset, "queued for a reminder call", send)


@admin.register(ServiceType)
class ServiceTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "duration_minutes", "price", "active", "keywords")
    list_editable = ("price", "active")
    list_filter = ("active",)
    search_fields = ("name", "code", "keywords")
    prepopulated_fields = {"code": ("name",)}


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")
    list_filter = ("weekday",)


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "reason")
    date_hierarchy = "date"
    search_fields = ("reason",)


@admin.register(ShopProfile)
class ShopProfileAdmin(admin.ModelAdmin):
    """One profile per shop: it can be edited, not duplicated or deleted (the agent reads the first row)."""

    fieldsets = (
        ("How customers reach us", {"fields": ("phone", "address", "directions")}),
        ("Getting around while the car is in", {"fields": ("loaner_cars", "loaner_terms", "shuttle", "shuttle_area")}),
        ("At the shop", {"fields": ("customers_can_wait", "waiting_area", "what_to_bring")}),
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ShopProfile.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceBay)
class ServiceBayAdmin(admin.ModelAdmin):
    list_display = ("name", "active")
    list_editable = ("active",)


class ReminderDayFilter(DayFilter):
    """The day of the appointment a reminder is about."""

    title = "appointment day"
    parameter_name = "appointment_day"

    def queryset(self, request, queryset):
        span = self._span(self.value() or "")
        if span is None:
            return queryset
        tz = shop_tz()
        start, end = (datetime.combine(d, time.min, tzinfo=tz) for d in span)
        return queryset.filter(appointment__start__gte=start, appointment__start__lt=end)


@admin.register(ReminderAttempt)
class ReminderAttemptAdmin(admin.ModelAdmin):
    """The dialer's ledger: people read it, only the dialer writes it (hand edits would break its idempotency)."""

    list_display = (
        "appointment_link",
        "customer_link",
        "status",
        "outcome",
        "attempts",
        "result",
        "call_link",
        "next_attempt_local",
    )
    list_filter = ("outcome", "status", ReminderDayFilter, "kind")
    list_select_related = ("appointment", "appointment__customer")
    search_fields = ("call_sid", "appointment__customer__last_name", "appointment__customer__phone")
    date_hierarchy = "appointment__start"
    readonly_fields = (
        "appointment",
        "kind",
        "status",
        "outcome",
        "call_sid",
        "attempts",
        "result",
        "appointment_start",
        "next_attempt_at",
        "enqueued_at",
        "claimed_at",
        "last_attempt_at",
        "superseded_at",
        "created",
        "updated",
    )

    def get_queryset(self, request):
        from calls.models import Call

        latest = Call.objects.order_by("-started_at").only("id", "reminder_id", "started_at", "outcome")
        return super().get_queryset(request).prefetch_related(Prefetch("calls", queryset=latest))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="appointment", ordering="appointment__start")
    def appointment_link(self, obj):
        url = reverse("admin:scheduling_appointment_change", args=[obj.appointment_id])
        return format_html('<a href="{}">{}</a>', url, when_label(obj.appointment.start, obj.appointment.end))

    @admin.display(description="customer", ordering="appointment__customer__last_name")
    def customer_link(self, obj):
        return customer_admin_link(obj.appointment.customer)

    @admin.display(description="call")
    def call_link(self, obj):
        calls = list(obj.calls.all())
        if not calls:
            return "-"
        url = reverse("admin:calls_call_change", args=[calls[0].pk])
        more = f" (of {len(calls)})" if len(calls) > 1 else ""
        return format_html('<a href="{}">{}</a>{}', url, calls[0].get_outcome_display() or "call", more)

    @admin.display(description="next attempt", ordering="next_attempt_at")
    def next_attempt_local(self, obj):
        return day_and_time(obj.next_attempt_at) if obj.status == obj.Status.PENDING else "-"
