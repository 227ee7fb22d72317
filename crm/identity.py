"""Who a caller is: the rules a careful service desk follows before it reads out or changes an account.

- A caller whose number is on the account (caller ID) is that customer.
- From any other number a caller gives their full name, the whole postal code on file (a ZIP+4 matches its
  ZIP) and one more fact only the customer has: the make of a car on the account, or the day of an upcoming
  appointment. Name and postal code alone never bind a call: the demo shop has ten ZIP codes.
- Failed attempts are counted in the shared cache, per calling number and per full name claimed, so the limit
  holds across calls and processes (VERIFY_MAX_ATTEMPTS in VERIFY_WINDOW_HOURS).
- The extra fact is guessable (an appointment next week is on one of six open days), so a name and postal code
  get a much smaller budget of wrong facts (VERIFY_MAX_WRONG_FACTS, across all numbers); then phone
  verification for them stays locked until an advisor reopens it, and the customer's notes say what happened.
- Every counter is keyed by what the caller said, never by what is on file: a lock-out is the same for a name
  (and postal code) that is a customer and one that is not, so it tells a prober nothing.
- Counting happens before the check, atomically, which also makes the limits fail closed: when the cache
  cannot count, nobody is verified by knowledge (caller ID still works).
"""

from __future__ import annotations

import contextlib
import hashlib
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
    # Every day said in one answer to "what day is your appointment?". More than one is a guess at several
    # days: one wrong answer, whichever they are.
    days_said: tuple[date, ...] = ()
    # A weekday said alone ("it's on Saturday"), 0 = Monday: the caller knows their day, not which week we mean.
    appointment_weekday: int | None = None

    @property
    def has_extra_fact(self) -> bool:
        return (
            bool(_make_key(self.vehicle_make))
            or self.appointment_day is not None
            or bool(self.days_said)
            or self.appointment_weekday is not None
        )

    @property
    def guesses_several_days(self) -> bool:
        return len(set(self.days_said) | ({self.appointment_day} if self.appointment_day else set())) > 1

    @property
    def day(self) -> date | None:
        """The one day said, if exactly one was."""
        if self.guesses_several_days:
            return None
        return self.appointment_day or (self.days_said[0] if self.days_said else None)


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


def has_appointment_on_weekday(customer: Customer, weekday: int, *, now: datetime) -> bool:
    """An upcoming (or today's) scheduled or confirmed appointment on that weekday (0 = Monday), any week."""
    from scheduling.availability import shop_tz
    from scheduling.models import Appointment

    tz = shop_tz()
    today = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    starts = Appointment.objects.filter(
        customer=customer,
        status__in=(Appointment.Status.SCHEDULED, Appointment.Status.CONFIRMED),
        start__gte=today,
    ).values_list("start", flat=True)
    return any(start.astimezone(tz).weekday() == weekday for start in starts)


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


def _digest(*parts: str) -> str:
    """Names and postal codes as cache keys without putting them in the cache in clear."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def _claim_zip(postal_code: str) -> str:
    """The postal code a claim is counted under: a ZIP+4 under its ZIP, so "60601" and "60601-9999" share one."""
    return normalize_postal_code(postal_code).partition("-")[0]


def _number_key(number: str) -> str:
    return f"crm:verify-attempts:v1:number:{_number_bucket(number)}"


def _name_key(first_name: str, last_name: str) -> str:
    return f"crm:verify-attempts:v2:name:{_digest(name_key(first_name), name_key(last_name))}"


def _facts_key(first_name: str, last_name: str, postal_code: str) -> str:
    """Wrong extra facts for one name and postal code, in the window."""
    return f"crm:verify-facts:v1:{_digest(name_key(first_name), name_key(last_name), _claim_zip(postal_code))}"


def _facts_lock_key(first_name: str, last_name: str, postal_code: str) -> str:
    """Set when the wrong facts are used up; no expiry: only an advisor lifts it."""
    return _facts_key(first_name, last_name, postal_code) + ":locked"


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


def _peek(key: str) -> int:
    value = cache.get(key)
    return value if isinstance(value, int) else 0


def _facts_locked(first_name: str, last_name: str, postal_code: str) -> bool:
    return bool(cache.get(_facts_lock_key(first_name, last_name, postal_code)))


def _claim_locked(claim: Claim, number: str) -> bool:
    limit = settings.VERIFY_MAX_ATTEMPTS
    return (
        _peek(_number_key(number)) >= limit
        or _peek(_name_key(claim.first_name, claim.last_name)) >= limit
        or _facts_locked(claim.first_name, claim.last_name, claim.postal_code)
    )


def is_locked(*, number: str, customers: list[Customer] = ()) -> bool:
    """Whether the calling number, or a claim to be one of these customers, is refused for now."""
    return (
        any(_claim_locked(Claim(c.first_name, c.last_name, c.postal_code), number) for c in customers)
        or _peek(_number_key(number)) >= settings.VERIFY_MAX_ATTEMPTS
    )


def reset_attempts(customer: Customer) -> None:
    """An advisor has checked the customer: they may verify by phone again at once."""
    first, last, code = customer.first_name, customer.last_name, customer.postal_code
    cache.delete_many([_name_key(first, last), _facts_key(first, last, code), _facts_lock_key(first, last, code)])


# --- the rule ----------------------------------------------------------------------------------------------


def _candidates(claim: Claim) -> list[Customer]:
    if not (name_key(claim.first_name) and name_key(claim.last_name)):
        return []
    rows = Customer.objects.filter(last_name__iexact=claim.last_name.strip()).order_by("pk")[:50]
    return [c for c in rows if full_name_matches(c, claim.first_name, claim.last_name)][:MAX_CANDIDATES]


def _proof(customer: Customer, claim: Claim, now: datetime) -> str:
    """The fact that proved it, or "". Every fact given must be true: two facts are not two guesses, and
    several days said at once prove nothing."""
    if claim.guesses_several_days:
        return ""
    proofs = []
    if _make_key(claim.vehicle_make):
        if not owns_vehicle_make(customer, claim.vehicle_make):
            return ""
        proofs.append("vehicle_make")
    if claim.day is not None:
        if not has_appointment_on(customer, claim.day, now=now):
            return ""
        proofs.append("appointment_day")
    if claim.appointment_weekday is not None:
        if not has_appointment_on_weekday(customer, claim.appointment_weekday, now=now):
            return ""
        proofs.append("appointment_day")
    return proofs[0] if proofs else ""


def verify_caller(claim: Claim, *, calling_number: str, now: datetime | None = None) -> Verdict:
    """Check a caller's claim to be a customer. Every complete claim counts as a failed attempt against the
    calling number, the full name and the name with its postal code; a success takes it back. Never says which
    part was wrong, and what it answers depends only on what was said, not on who is on file."""
    now = now or timezone.now()
    if not claim.has_extra_fact:
        # Nothing is compared yet, so nothing is learnt: an incomplete claim neither counts nor tells.
        return Verdict(Status.LOCKED if _claim_locked(claim, calling_number) else Status.NEED_MORE)
    number_key = _number_key(calling_number)
    name_counter = _name_key(claim.first_name, claim.last_name)
    facts_counter = _facts_key(claim.first_name, claim.last_name, claim.postal_code)
    counted = {key: _count(key) for key in (number_key, name_counter, facts_counter)}
    if any(value is None for value in counted.values()):
        return Verdict(Status.UNAVAILABLE)
    limit, fact_budget = settings.VERIFY_MAX_ATTEMPTS, settings.VERIFY_MAX_WRONG_FACTS
    if (
        counted[number_key] > limit
        or counted[name_counter] > limit
        or counted[facts_counter] > fact_budget
        or _facts_locked(claim.first_name, claim.last_name, claim.postal_code)
    ):
        return Verdict(Status.LOCKED)
    candidates = _candidates(claim)
    holders = [c for c in candidates if postal_codes_match(claim.postal_code, c.postal_code)]
    matches = [(c, proof) for c in holders if (proof := _proof(c, claim, now))]
    if len(matches) == 1:
        customer, proof = matches[0]
        for key in counted:  # a success is no failed attempt
            _uncount(key)
        return Verdict(Status.VERIFIED, customer=customer, proof=proof)
    # Which number each wrong fact came from, masked, for the advisors' note
    source = _spoken_source(_number_bucket(calling_number))
    cache.set(f"{facts_counter}:from:{counted[facts_counter]}", source, _window_seconds())
    locked_now = False
    if counted[facts_counter] == fact_budget:
        cache.set(_facts_lock_key(claim.first_name, claim.last_name, claim.postal_code), True, None)
        numbers = [cache.get(f"{facts_counter}:from:{n}", "") for n in range(1, fact_budget + 1)]
        _leave_note(holders, _wrong_facts_note(fact_budget, numbers, now), calling_number=calling_number)
        locked_now = True
    elif limit in (counted[number_key], counted[name_counter]):
        _leave_note(candidates, _attempts_note(calling_number, now), calling_number=calling_number)
        locked_now = True
    log.info("identity: failed verification from %s (%d of %d)", mask_phone(calling_number), counted[number_key], limit)
    return Verdict(Status.NO_MATCH, locked_now=locked_now)


# --- what the advisors see ---------------------------------------------------------------------------------


def _local_stamp(now: datetime) -> str:
    from scheduling.availability import shop_tz

    local = now.astimezone(shop_tz())
    return f"{local:%b} {local.day}, {local:%Y} {local:%H:%M}"


def _spoken_source(number: str) -> str:
    return f"a number ending {number[-4:]}" if number and number != WITHHELD else "a withheld number"


def _attempts_note(calling_number: str, now: datetime) -> str:
    return (
        f"[{_local_stamp(now)}] Phone verification locked after {settings.VERIFY_MAX_ATTEMPTS} failed attempts in "
        f"{settings.VERIFY_WINDOW_HOURS} h (last from {_spoken_source(_number_bucket(calling_number))}). "
        "Check who is calling before changing anything."
    )


def _wrong_facts_note(count: int, numbers: list[str], now: datetime) -> str:
    sources = ", ".join(n for n in numbers if n) or "numbers no longer known"
    return (
        f"[{_local_stamp(now)}] Phone verification locked: {count} wrong answers to the extra question (car make "
        f"or appointment day) after the right name and postal code, within {settings.VERIFY_WINDOW_HOURS} h, "
        f"from {sources}. Someone may be guessing. It stays locked until an advisor checks who called and uses "
        '"Allow phone verification again".'
    )


def _leave_note(customers: list[Customer], note: str, *, calling_number: str) -> None:
    """What the advisor sees on the account: phone verification is locked and someone may be trying it."""
    if not customers:
        return
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
