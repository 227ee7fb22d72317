"""How people read in the back office: lists, filters, dropdowns and autocomplete results."""

from django.db.models import F, Value
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Trim


def customer_label(customer) -> str:
    """ "Maria Lee · (312) 555-0101": the national phone already has brackets, so none go around it."""
    phone = customer.phone_display
    return f"{customer.full_name} · {phone}" if phone else customer.full_name


def vehicle_label(vehicle) -> str:
    """ "2019 Honda Civic": how a car is named to callers and advisors."""
    return " ".join(str(part) for part in (vehicle.year, vehicle.make, vehicle.model) if part) or "vehicle"


def customer_admin_link(customer) -> str:
    """The customer's name and phone, linking to their page in the back office."""
    from django.urls import reverse
    from django.utils.html import format_html

    return format_html(
        '<a href="{}">{}</a>', reverse("admin:crm_customer_change", args=[customer.pk]), customer_label(customer)
    )


def staff_name(user) -> str:
    """An advisor as colleagues know them: "Alex Rivera", or the username when no name is on file."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()


def staff_name_order():
    """Sorts staff the way staff_name() shows them (the username standing in for a missing name)."""
    full_name = Trim(Concat(F("first_name"), Value(" "), F("last_name")))
    return Lower(Coalesce(NullIf(full_name, Value("")), F("username"))).asc()
