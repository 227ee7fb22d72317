"""Writes and cached reads for customers and vehicles."""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from crm.models import Customer, Vehicle
from crm.phones import normalize_phone, try_normalize_phone

_MISS = 0  # cached "no such customer", so unknown callers don't hit the database every time


def _phone_cache_key(e164: str) -> str:
    return f"crm:customer-by-phone:{e164}"


def invalidate_customer_phone(e164: str) -> None:
    if e164:
        cache.delete(_phone_cache_key(e164))


def find_customer_by_phone(raw: str) -> Customer | None:
    """The customer whose phone is `raw` in any format, or None. Cached; invalidated on change."""
    e164 = try_normalize_phone(raw)
    if e164 is None:
        return None
    key = _phone_cache_key(e164)
    cached = cache.get(key)
    if cached is not None:
        if cached == _MISS:
            return None
        customer = Customer(**cached)
        customer._state.adding = False
        return customer
    customer = Customer.objects.filter(phone=e164).first()
    if customer is None:
        cache.set(key, _MISS, settings.CUSTOMER_LOOKUP_CACHE_SECONDS)
        return None
    cache.set(key, _customer_fields(customer), settings.CUSTOMER_LOOKUP_CACHE_SECONDS)
    return customer


def _customer_fields(customer: Customer) -> dict:
    return {f.attname: getattr(customer, f.attname) for f in Customer._meta.concrete_fields}


@transaction.atomic
def register_customer(
    *, first_name: str, last_name: str = "", phone: str, postal_code: str = "", email: str = ""
) -> Customer:
    """Create a customer from a caller's details; the phone must be valid and not taken."""
    first_name = (first_name or "").strip()
    if not first_name:
        raise ValidationError("A first name is needed.")
    e164 = normalize_phone(phone)
    if Customer.objects.filter(phone=e164).exists():
        raise ValidationError("A customer with this phone number already exists.")
    customer = Customer(
        first_name=first_name, last_name=(last_name or "").strip(), phone=e164, postal_code=postal_code, email=email
    )
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def add_vehicle(
    *, customer: Customer, year: int | None = None, make: str = "", model: str = "", vin: str = "", **extra
) -> Vehicle:
    """Attach a vehicle; a VIN is validated and decoded, and fills in what the caller did not say."""
    vehicle = Vehicle(customer=customer, year=year, make=make or "", model=model or "", vin=vin or "", **extra)
    vehicle.full_clean()
    vehicle.save()
    return vehicle
