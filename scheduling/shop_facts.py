"""What the shop tells callers about itself, as structured values: its number, where it is, loaner cars, the
shuttle, whether customers can wait at the shop (and where), what to bring.

Hours live in scheduling.hours and services (duration, price) in ServiceType; this module reads the one
ShopProfile row the shop edits in the admin. A shop that has not filled it in has no address and offers no
loaners, and whether customers can wait is unknown: the agent then says an advisor can help (or will confirm)
rather than inventing an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from crm.phones import try_normalize_phone
from scheduling.models import ShopProfile


@dataclass(frozen=True)
class ShopFacts:
    phone: str = ""  # E.164; "" when the profile has none (shop_phone() then falls back to the Twilio number)
    address: str = ""
    directions: str = ""
    loaner_cars: bool = False
    loaner_terms: str = ""
    shuttle: bool = False
    shuttle_area: str = ""
    customers_can_wait: str = ShopProfile.Waiting.UNKNOWN.value  # "yes", "no" or "unknown"
    waiting_area: str = ""
    what_to_bring: str = ""  # "": not said; an advisor confirms


def shop_facts() -> ShopFacts:
    """The shop's profile (one query); empty facts when it has none yet."""
    row = ShopProfile.objects.order_by("pk").first()
    if row is None:
        return ShopFacts()
    return ShopFacts(
        phone=try_normalize_phone(row.phone) or "",
        address=row.address.strip(),
        directions=row.directions.strip(),
        loaner_cars=row.loaner_cars,
        loaner_terms=row.loaner_terms.strip(),
        shuttle=row.shuttle,
        shuttle_area=row.shuttle_area.strip(),
        customers_can_wait=row.customers_can_wait or ShopProfile.Waiting.UNKNOWN.value,
        waiting_area=row.waiting_area.strip(),
        what_to_bring=row.what_to_bring.strip(),
    )


def shop_phone() -> str:
    """The number customers call the shop on (E.164): the profile's, else TWILIO_PHONE_NUMBER, else ""."""
    return shop_facts().phone or try_normalize_phone(settings.TWILIO_PHONE_NUMBER or "") or ""
