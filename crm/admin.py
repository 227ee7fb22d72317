"""Back office for customers and vehicles. Rules live in crm.phones / crm.vin; this only wires them in."""

import json

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils.html import format_html

from crm import identity
from crm.forms import CustomerAdminForm, VehicleAdminForm
from crm.labels import staff_name, staff_name_order
from crm.models import Customer, Vehicle
from crm.phones import phone_search_digits, try_normalize_phone
from privacy.admin_actions import CustomerPrivacyActions


class PhoneSearchMixin:
    """Search that also finds a phone number however the advisor types it.

    Phones are stored as E.164 ("+13125550142"), so the stock icontains search misses "312-555-0142"
    or "(312) 555 0142" (which it even splits into three terms). The stock search still runs, on a
    subquery, so its multi-valued joins (vehicles__vin) never duplicate rows or skew annotations.
    """

    phone_search_field = "phone"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matched, _ = super().get_search_results(request, self.model._default_manager.all(), term)
        condition = Q(pk__in=matched.values("pk"))
        e164 = try_normalize_phone(term)
        if e164:
            condition |= Q(**{self.phone_search_field: e164})
        digits = phone_search_digits(term)
        if digits:
            condition |= Q(**{f"{self.phone_search_field}__contains": digits})
        return queryset.filter(condition), False


class StaffFilter(admin.RelatedOnlyFieldListFilter):
    """Filter by a staff member who appears in the list, shown by full name ("Alex Rivera", not "advisor")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.empty_value_display = "Unassigned"

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).values(f"{self.field_path}__pk")
        people = get_user_model().objects.filter(pk__in=used).order_by(staff_name_order())
        return [(person.pk, staff_name(person)) for person in people]


def _warn_vin(request, vehicle) -> None:
    for warning in getattr(vehicle, "vin_warnings", None) or ():
        messages.warning(request, f"{vehicle}: {warning}")


class VehicleInline(admin.TabularInline):
    """What identifies a car at the counter; trim, mileage and the decoded data are on the vehicle's own page."""

    model = Vehicle
    form = VehicleAdminForm
    fields = ("vin", "year", "make", "model", "plate")
    extra = 0
    show_change_link = True
    classes = ("compact-vehicles",)


class NumberReportedWrongFilter(admin.SimpleListFilter):
    """Customers whose phone on file someone answering our call said is not theirs: the advisor's to-do list."""

    title = "number reported wrong"
    parameter_name = "number_reported_wrong"

    def lookups(self, request, model_admin):
        return [("yes", "Yes: check the number")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(wrong_number="").filter(wrong_number=F("phone"))
        return queryset


@admin.register(Customer)
class CustomerAdmin(CustomerPrivacyActions, PhoneSearchMixin, admin.ModelAdmin):
    form = CustomerAdminForm
    inlines = [VehicleInline]
    list_display = ("name", "phone_national", "number_flag", "postal_code", "do_not_call", "vehicle_count")
    list_filter = ("do_not_call", NumberReportedWrongFilter, ("preferred_advisor", StaffFilter))
    # Explicit: the vehicle-count GROUP BY makes Django drop Meta.ordering (autocomplete pages by it).
    ordering = ("last_name", "first_name", "pk")
    # Also what autocomplete_fields elsewhere (appointments, calls) search with.
    search_fields = ("first_name", "last_name", "email", "phone", "vehicles__vin")
    search_help_text = "Name, email, phone in any format, or VIN."
    readonly_fields = ("created", "updated", "wrong_number_reported_at")
    actions = ("allow_phone_verification",)
    fieldsets = (
        (None, {"fields": ("first_name", "last_name", "phone", "email", "postal_code")}),
        ("Service", {"fields": ("preferred_advisor", "do_not_call", "notes")}),
        (
            "Number reported wrong",
            {
                "fields": ("wrong_number", "wrong_number_reported_at"),
                "description": "Someone who answered a reminder call said the number is not this customer's. "
                "Correct the phone above, or clear this if the number is right after all.",
            },
        ),
        ("History", {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(vehicle_count=Count("vehicles"))

    @admin.display(description="name", ordering="last_name")
    def name(self, obj):
        return obj.full_name

    @admin.display(description="phone", ordering="phone")
    def phone_national(self, obj):
        return obj.phone_display

    @admin.display(description="number reported wrong", boolean=True)
    def number_flag(self, obj):
        return obj.number_reported_wrong

    @admin.display(description="vehicles", ordering="vehicle_count")
    def vehicle_count(self, obj):
        return obj.vehicle_count

    @admin.action(description="Allow phone verification again (after checking who called)", permissions=["change"])
    def allow_phone_verification(self, request, queryset):
        for customer in queryset:
            identity.reset_attempts(customer)
        self.message_user(request, f"Phone verification is open again for {queryset.count()} customer(s).")

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Vehicle:
            for vehicle_form in formset.forms:
                _warn_vin(request, vehicle_form.instance)


@admin.register(Vehicle)
class VehicleAdmin(PhoneSearchMixin, admin.ModelAdmin):
    form = VehicleAdminForm
    phone_search_field = "customer__phone"
    list_display = ("vin", "description", "plate", "mileage", "owner")
    list_select_related = ("customer",)
    list_filter = ("make",)
    search_fields = ("vin", "plate", "make", "model", "customer__first_name", "customer__last_name")
    search_help_text = "VIN, plate, make, model, or the owner's name or phone."
    autocomplete_fields = ("customer",)
    readonly_fields = ("decoded_pretty", "created", "updated")
    fieldsets = (
        (None, {"fields": ("customer", "vin", "year", "make", "model", "trim", "mileage", "plate")}),
        ("Decoded from the VIN", {"fields": ("decoded_pretty",)}),
        ("History", {"fields": ("created", "updated"), "classes": ("collapse",)}),
    )

    @admin.display(description="vehicle", ordering="year")
    def description(self, obj):
        return " ".join(str(part) for part in (obj.year, obj.make, obj.model, obj.trim) if part) or "—"

    @admin.display(description="owner", ordering="customer__last_name")
    def owner(self, obj):
        url = reverse("admin:crm_customer_change", args=[obj.customer_id])
        return format_html('<a href="{}">{}</a>', url, obj.customer.full_name)

    @admin.display(description="decoded data")
    def decoded_pretty(self, obj):
        if not obj.decoded:
            return "—"
        text = json.dumps(obj.decoded, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _warn_vin(request, obj)
