"""Who a caller is: the rules a careful service desk follows before it reads out or changes an account.

- A caller whose number is on the account (caller ID) is that customer.
- From any other number a caller gives their full name, the whole postal code on file (a ZIP+4 matches its
  ZIP) and one more fact only the customer has: the make of a car on the account, or the day of an upcoming
  appointment. Name and postal code alone never bind a call: the demo shop has ten ZIP codes.
- Attempts are counted in the shared cache, per calling number and per customer named, so the limit holds
  across calls and processes. Counting happens before the check, atomically, which also makes the limit
  fail closed: when the cache cannot count, nobody is verified by knowledge (caller ID still works).
- When a limit is reached the customer's notes say so, which is what an advisor sees on the account.
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, F, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from crm.models import Customer
from crm.phones import mask_phone, try_normalize_phone

log = logging.getLogger(__name__)

MAX_CANDIDATES = 5  # customers sharing one full name whose counters an attempt touches
KNOWLEDGE_PROOFS = ("vehicle_make", "appointment_day")
WITHHELD = "withheld"  # one bucket for callers without a number: hiding it must not lift the limit

# Spoken or typed variants of makes, keyed like _make_key; the rest compare as written.
_MAKE_ALIASES = {
    "chevy": "chevrolet", "vw": "volkswagen", "volkswagon": "volkswagen", "mercedes": "mercedesbenz",
    "benz": "mercedesbenz", "beamer": "bmw", "caddy": "cadillac", "infinity": "infiniti", "rangerover": "landrover",
    "minicooper": "mini", "hundai": "hyundai",
}  # fmt: skip
_US_ZIP = re.compile(r"^(\d{5})(\d{4})?$")


class Status:
    VERIFIED = "verified"
    NEED_MORE = "need_more"  # name and postal code given, the extra fact not yet
    NO_MATCH = "no_match"
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"  # attempts cannot be counted right now


@dataclass(frozen=True)
class Claim:
    """What a caller says about themselves."""

    first_name: str
    last_name: str
    postal_code: str
    vehicle_make: str = ""
    appointment_day: date | None = None

    @property
    def has_extra_fact(self) -> bool:
        return bool(_make_key(self.vehicle_make)) or self.appointment_day is not None


@dataclass(frozen=True)
class Verdict:
    status: str
    customer: Customer | None = None
    proof: str = ""  # "vehicle_make" or "appointment_day" when verified
    locked_now: bool = False  # this attempt used up the last one: the lock-out starts here

    @property
    def verified(self) -> bool:
        return self.status == Status.VERIFIED


# --- comparing what was said with what is on file ----------------------------------------------------------


def normalize_postal_code(raw: str) -> str:
    """US ZIPs as "60601" or "60601-9999", anything else upper case without spaces or dashes ("M5V2T6")."""
    key = "".join(ch for ch in (raw or "").upper() if ch.isalnum())
    zip_code = _US_ZIP.match(key)
    if zip_code:
        return f"{zip_code.group(1)}-{zip_code.group(2)}" if zip_code.group(2) else zip_code.group(1)
    return key


def postal_codes_match(said: str, on_file: str) -> bool:
    """The whole code must match; a ZIP+4 matches its ZIP, and two ZIP+4s must agree on all nine digits."""
    a, b = normalize_postal_code(said), normalize_postal_code(on_file)
    if not a or not b:
        return False
    if _US_ZIP.match(a.replace("-", "")) and _US_ZIP.match(b.replace("-", "")):
        zip_a, _, plus_a = a.partition("-")
        zip_b, _, plus_b = b.partition("-")
        return zip_a == zip_b and (not plus_a or not plus_b or plus_a == plus_b)
    return a == b


def name_key(raw: str) -> str:
    """ "José" and "jose", "O'Brien" and "OBrien" compare equal; nothing else is forgiven."""
    text = unicodedata.normalize("NFKD", raw or "")
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def full_name_matches(customer: Customer, first_name: str, last_name: str) -> bool:
    first, last = name_key(first_name), name_key(last_name)
    return bool(first and last) and first == name_key(customer.first_name) and last == name_key(customer.last_name)


def _make_key(raw: str) -> str:
    key = name_key(raw)
    return _MAKE_ALIASES.get(key, key)


def owns_vehicle_make(customer: Customer, make: str) -> bool:
    wanted = _make_key(make)
    return bool(wanted) and any(_make_key(m) == wanted for m in customer.vehicles.values_list("make", flat=True))


def has_appointment_on(customer: Customer, day: date, *, now: datetime) -> bool:
    """An upcoming (or today's) scheduled or confirmed appointment on `day`, in the shop's time zone."""
    from scheduling.availability import shop_tz
    from scheduling.models import Appointment

    tz = shop_tz()
    if day < now.astimezone(tz).date():
        return False
    opens = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return Appointment.objects.filter(
        customer=customer,
        status__in=(Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED),
        start__gte=opens,
        start__lt=opens + timedelta(days=1),
    ).exists()


def caller_id_matches(customer: Customer | None, number: str) -> bool:
    """The call comes from the number on the account."""
    e164 = try_normalize_phone(number or "")
    return customer is not None and e164 is not None and e164 == customer.phone


def may_change_appointments(customer: Customer, *, calling_number: str, proof: str) -> bool:
    """Cancelling or moving needs the number on the account, or a caller who proved more than name and postal
    code (whatever bound the call)."""
    return caller_id_matches(customer, calling_number) or proof in KNOWLEDGE_PROOFS


# --- counting attempts -------------------------------------------------------------------------------------


def _window_seconds() -> int:
    return int(settings.VERIFY_WINDOW_HOURS * 3600)


def _number_bucket(number: str) -> str:
    return try_normalize_phone(number or "") or WITHHELD


def _number_key(number: str) -> str:
    return f"crm:verify-attempts:v1:number:{_number_bucket(number)}"


def _customer_key(customer_id: int) -> str:
    return f"crm:verify-attempts:v1:customer:{customer_id}"


def _count(key: str) -> int | None:
    """Add one attempt to `key`'s window (opened by the first attempt); the new total, or None when the cache
    cannot count."""
    for _ in range(2):
        try:
            cache.add(key, 0, _window_seconds())
            value = cache.incr(key)
        except ValueError:  # the window closed between add and incr: open a new one
            continue
        except Exception:
            log.exception("identity: cannot count verification attempts")
            return None
        return value if isinstance(value, int) else None
    return None


def _uncount(key: str) -> None:
    with contextlib.suppress(ValueError):  # the window closed meanwhile: nothing to take back
        cache.decr(key)


def _over(count: int | None) -> bool:
    return count is None or count > settings.VERIFY_MAX_ATTEMPTS


def _peek(key: str) -> int:
    value = cache.get(key)
    return value if isinstance(value, int) else 0


def is_locked(*, number: str, customers: list[Customer] = ()) -> bool:
    """Whether the calling number, or one of these customers, has used up its failed attempts."""
    keys = [_number_key(number), *(_customer_key(c.pk) for c in customers)]
    return any(_peek(k) >= settings.VERIFY_MAX_ATTEMPTS for k in keys)


def reset_attempts(customer: Customer) -> None:
    """An advisor has checked the customer: they may verify by phone again at once."""
    cache.delete(_customer_key(customer.pk))


# --- the rule ----------------------------------------------------------------------------------------------


def _candidates(claim: Claim) -> list[Customer]:
    if not (name_key(claim.first_name) and name_key(claim.last_name)):
        return []
    rows = Customer.objects.filter(last_name__iexact=claim.last_name.strip()).order_by("pk")[:50]
    return [c for c in rows if full_name_matches(c, claim.first_name, claim.last_name)][:MAX_CANDIDATES]


def _proof(customer: Customer, claim: Claim, now: datetime) -> str:
    """The fact that proved it, or "". Every fact given must be true: two facts are not two guesses."""
    proofs = []
    if _make_key(claim.vehicle_make):
        if not owns_vehicle_make(customer, claim.vehicle_make):
            return ""
        proofs.append("vehicle_make")
    if claim.appointment_day is not None:
        if not has_appointment_on(customer, claim.appointment_day, now=now):
            return ""
        proofs.append("appointment_day")
    return proofs[0] if proofs else ""


def verify_caller(claim: Claim, *, calling_number: str, now: datetime | None = None) -> Verdict:
    """Check a caller's claim to be a customer. Every complete claim counts as an attempt against the calling
    number and every customer of that full name; a success takes it back. Never says which part was wrong."""
    now = now or timezone.now()
    candidates = _candidates(claim)
    if not claim.has_extra_fact:
        # Nothing is compared yet, so nothing is learnt: an incomplete claim neither counts nor tells.
        if is_locked(number=calling_number, customers=candidates):
            return Verdict(Status.LOCKED)
        return Verdict(Status.NEED_MORE)
    counted = {_number_key(calling_number): _count(_number_key(calling_number))}
    for customer in candidates:
        counted[_customer_key(customer.pk)] = _count(_customer_key(customer.pk))
    if any(value is None for value in counted.values()):
        return Verdict(Status.UNAVAILABLE)
    if any(_over(value) for value in counted.values()):
        return Verdict(Status.LOCKED)
    matches = [(c, _proof(c, claim, now)) for c in candidates if postal_codes_match(claim.postal_code, c.postal_code)]
    matches = [(c, proof) for c, proof in matches if proof]
    if len(matches) == 1:
        customer, proof = matches[0]
        for key in counted:  # a success is no failed attempt
            _uncount(key)
        return Verdict(Status.VERIFIED, customer=customer, proof=proof)
    limit = settings.VERIFY_MAX_ATTEMPTS
    locked_now = any(value == limit for value in counted.values())
    if locked_now:
        _leave_lockout_note(candidates, calling_number=calling_number, now=now)
    log.info(
        "identity: failed verification from %s (%d of %d)",
        mask_phone(calling_number),
        counted[_number_key(calling_number)],
        limit,
    )
    return Verdict(Status.NO_MATCH, locked_now=locked_now)


def _leave_lockout_note(customers: list[Customer], *, calling_number: str, now: datetime) -> None:
    """What the advisor sees on the account: phone verification is locked and someone may be trying it."""
    from scheduling.availability import shop_tz

    local = now.astimezone(shop_tz())
    when = f"{local:%b} {local.day}, {local:%Y} {local:%H:%M}"
    source = (
        f"a number ending {_number_bucket(calling_number)[-4:]}"
        if try_normalize_phone(calling_number or "")
        else "a withheld number"
    )
    note = (
        f"[{when}] Phone verification locked after {settings.VERIFY_MAX_ATTEMPTS} failed attempts in "
        f"{settings.VERIFY_WINDOW_HOURS} h (last from {source}). Check who is calling before changing anything."
    )
    # One UPDATE, so an advisor saving the customer meanwhile cannot lose the note or be lost by it.
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
        notes=Case(
            When(notes="", then=Value(note)),
            default=Concat(F("notes"), Value("\n" + note), output_field=TextField()),
            output_field=TextField(),
        )
    )
    log.warning(
        "identity: phone verification locked for %d customer(s) after attempts from %s",
        len(customers),
        mask_phone(calling_number),
    )
