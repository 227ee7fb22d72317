"""Writes and cached reads for customers and vehicles."""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat

from crm.models import Customer, Vehicle
from crm.phones import format_phone_national, normalize_phone, try_normalize_phone
from crm.vin import normalize_vin

_MISS = 0  # cached "no such customer", so unknown callers don't hit the database every time
_PHONE_TAKEN = "Another customer already has this phone number."


def _phone_cache_key(e164: str) -> str:
    return f"crm:customer-by-phone:v1:{e164}"


def invalidate_customer_phone(e164: str) -> None:
    if e164:
        cache.delete(_phone_cache_key(e164))


def find_customer_by_phone(raw: str) -> Customer | None:
    """The customer whose phone is `raw` in any format, or None. Cached; invalidated on change.

    Changes made with QuerySet.update()/bulk_update() send no signals and so are not seen until the
    entry expires (settings.CUSTOMER_LOOKUP_CACHE_SECONDS): save customers one by one.
    """
    e164 = try_normalize_phone(raw)
    if e164 is None:
        return None
    key = _phone_cache_key(e164)
    cached = cache.get(key)
    if cached is not None:
        if cached == _MISS:
            return None
        # from_db marks the instance as loaded (not "adding") from the right database, like a query would.
        return Customer.from_db(router.db_for_read(Customer), list(cached), list(cached.values()))
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
        raise ValidationError({"first_name": "A first name is needed."})
    try:
        e164 = normalize_phone(phone)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.error_list}) from None
    if Customer.objects.filter(phone=e164).exists():
        raise ValidationError({"phone": _PHONE_TAKEN})
    customer = Customer(
        first_name=first_name,
        last_name=(last_name or "").strip(),
        phone=e164,
        postal_code=postal_code or "",
        email=(email or "").strip(),
    )
    customer.full_clean()
    try:
        # A savepoint, so that losing a race for the phone leaves the caller's transaction usable.
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise ValidationError({"phone": _PHONE_TAKEN}) from None
    return customer


@transaction.atomic
def update_contact_details(
    *, customer: Customer, first_name: str | None = None, last_name: str | None = None, email: str | None = None
) -> Customer:
    """A customer's name put right, or the email they give us; validated like any other write (None: unchanged)."""
    changed = []
    for field, value in (("first_name", first_name), ("last_name", last_name), ("email", email)):
        if value is not None and value.strip() != getattr(customer, field):
            setattr(customer, field, value.strip())
            changed.append(field)
    if not changed:
        return customer
    if not customer.first_name:
        raise ValidationError({"first_name": "A first name is needed."})
    customer.full_clean(validate_unique=False)
    customer.save(update_fields=[*changed, "updated"])
    return customer


@transaction.atomic
def add_vehicle(
    *, customer: Customer, year: int | None = None, make: str = "", model: str = "", vin: str = "", **extra
) -> Vehicle:
    """Attach a vehicle; a VIN is validated and decoded, and fills in what the caller did not say.

    `extra` takes the other Vehicle fields (trim, mileage, plate).
    """
    vehicle = Vehicle(
        customer=customer,
        year=year,
        make=(make or "").strip(),
        model=(model or "").strip(),
        # Normalised before validation, or "1HG CM826 …" would fail the 17-character field limit first.
        vin=normalize_vin(vin),
        **extra,
    )
    vehicle.full_clean()
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError:
        raise ValidationError({"vin": "Another vehicle on file already has this VIN."}) from None
    return vehicle


MAX_VEHICLES_BY_PHONE = 10  # beyond this a person adds cars: nobody drives more through a phone line


def add_caller_vehicle(
    *, customer: Customer, year: int | None = None, make: str = "", model: str = "", vin: str = ""
) -> tuple[Vehicle, bool]:
    """A car a caller says is theirs, added to their account; (vehicle, created).

    The same car said twice (its VIN, or year, make and model all alike) is the one already on file, not a second
    row. A VIN is decoded by add_vehicle and fills in what the caller did not say."""
    wanted_vin = normalize_vin(vin)
    vehicles = list(customer.vehicles.all())
    for vehicle in vehicles:
        if wanted_vin and vehicle.vin == wanted_vin:
            return vehicle, False
        said = (year, (make or "").strip().casefold(), (model or "").strip().casefold())
        on_file = (vehicle.year, vehicle.make.casefold(), vehicle.model.casefold())
        if not wanted_vin and said[1:] == on_file[1:] and said[2] and (year is None or said[0] == on_file[0]):
            return vehicle, False
    if len(vehicles) >= MAX_VEHICLES_BY_PHONE:
        raise ValidationError("There are already many cars on this account; a service advisor can add this one.")
    return add_vehicle(customer=customer, year=year, make=make, model=model, vin=wanted_vin), True


def set_do_not_call(customer: Customer, value: bool) -> Customer:
    """The customer asked (not) to be called: the reminder dialer skips them while it is set."""
    if customer.do_not_call != value:
        customer.do_not_call = value
        customer.save(update_fields=["do_not_call", "updated"])
    return customer


def flag_wrong_number(customer: Customer, *, number: str, now: datetime, context: str = "") -> bool:
    """Whoever answered a call to `number` said it is not this customer's: the number is flagged for staff (reminders
    to it stop while it is the phone on file, scheduling.reminders) and the customer's notes say what happened.
    False when the number is no longer the customer's phone (staff corrected it meanwhile): nothing to flag."""
    if not number or number != customer.phone:
        return False
    from scheduling.availability import shop_tz

    local = now.astimezone(shop_tz())
    note = (
        f"[{local:%b} {local.day}, {local:%Y} {local:%H:%M}] The person who answered {format_phone_national(number)}"
        f"{' (' + context + ')' if context else ''} said it is not this customer's number: reminder calls to it "
        "are stopped. Please check the phone number."
    )
    # One UPDATE: an advisor saving the customer meanwhile cannot lose the note or the flag, nor be lost by them.
    Customer.objects.filter(pk=customer.pk, phone=number).update(
        wrong_number=number,
        wrong_number_reported_at=now,
        notes=Case(
            When(notes="", then=Value(note)),
            default=Concat(F("notes"), Value("\n" + note), output_field=TextField()),
            output_field=TextField(),
        ),
    )
    customer.refresh_from_db(fields=["wrong_number", "wrong_number_reported_at", "notes"])
    return customer.number_reported_wrong
