"""Spoken forms: how dates, times, prices and lists read aloud on the phone (TTS-friendly, short)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from scheduling.hours import DayHours
from scheduling.offers import EmptyPeriod, Grid
from scheduling.wording import WEEKDAYS, slot_label, spoken_day, spoken_duration, spoken_time

__all__ = [
    "addition_read_back",
    "already_on_visit",
    "beside_visit_sentence",
    "bring_sentences",
    "day_hours_sentence",
    "empty_period_sentence",
    "grid_phrase",
    "intervals_text",
    "join_words",
    "loaner_sentences",
    "location_sentences",
    "service_answer",
    "service_contents_sentence",
    "service_phrase",
    "services_phrase",
    "shuttle_sentences",
    "slot_label",
    "spoken_day",
    "spoken_duration",
    "spoken_price",
    "spoken_time",
    "transport_sentence",
    "vehicle_label",
    "waiting_sentences",
    "weekly_hours_sentence",
]


def spoken_price(price: Decimal | float | str | None) -> str:
    if price is None or price == "":
        return ""
    value = Decimal(str(price))
    if value == value.to_integral_value():
        return f"${int(value)}"
    return f"${value:.2f}"


def join_words(items: Sequence[str], conjunction: str = "and") -> str:
    """["a"] -> "a"; ["a", "b"] -> "a or b"; ["a", "b", "c"] -> "a, b, or c"."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


# Service names that take an article when spoken ("an oil change", but "brake service").
_COUNTABLE = {
    "change",
    "rotation",
    "inspection",
    "alignment",
    "replacement",
    "check",
    "flush",
    "diagnostic",
    "tune-up",
    "tuneup",
    "repair",
    "wash",
    "detail",
    "test",
    "swap",
    "install",
    "installation",
}


def service_phrase(name: str, *, article: bool = True) -> str:
    """ "Oil change" -> "an oil change"; "AC service" -> "AC service" (acronyms keep their case)."""
    words = [w if (w.isupper() and len(w) > 1) else w.lower() for w in name.split()]
    text = " ".join(words)
    if article and words and words[-1].lower() in _COUNTABLE:
        return f"{'an' if text[0] in 'aeiou' else 'a'} {text}"
    return text


def services_phrase(names: Iterable[str], *, article: bool = True) -> str:
    return join_words([service_phrase(n, article=article) for n in names])


def service_contents_sentence(name: str, description: str) -> str:
    """What a service includes, from the shop's description: "Here's what our multi-point inspection covers: ..."."""
    text = description.strip()
    if text and not text.endswith((".", "!", "?")):
        text += "."
    lead = text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
    return f"Here's what our {service_phrase(name, article=False)} covers: {lead}"


def vehicle_label(year: int | None, make: str, model: str) -> str:
    return " ".join(str(p) for p in (year, make, model) if p)


# --- the shop's hours and openings ---------------------------------------------------------------------------


def intervals_text(intervals) -> str:
    """ "7:00 AM to 6:00 PM", "8:00 AM to noon and 1:00 PM to 5:00 PM"."""
    return " and ".join(f"{spoken_time(o)} to {spoken_time(c)}" for o, c in intervals)


def weekly_hours_sentence(hours: dict) -> str:
    """ "We're open Monday to Friday, 7:00 AM to 6:00 PM, and Saturday, 8:00 AM to 1:00 PM. We're closed on Sunday.\""""
    groups: list[tuple[int, int, list]] = []  # consecutive weekdays with the same hours
    for day in range(7):
        intervals = hours.get(day)
        if not intervals:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == intervals:
            groups[-1] = (groups[-1][0], day, intervals)
        else:
            groups.append((day, day, intervals))
    if not groups:
        return "We don't have any opening hours on file; a service advisor can help."
    parts = []
    for first, last, intervals in groups:
        days = (
            WEEKDAYS[first]
            if first == last
            else (
                f"{WEEKDAYS[first]} and {WEEKDAYS[last]}"
                if last == first + 1
                else f"{WEEKDAYS[first]} to {WEEKDAYS[last]}"
            )
        )
        parts.append(f"{days}, {intervals_text(intervals)}")
    # The parts contain commas themselves, so they are always separated by commas ("..., and Saturday, ...").
    sentence = f"We're open {parts[0]}." if len(parts) == 1 else f"We're open {', '.join(parts[:-1])}, and {parts[-1]}."
    closed = [WEEKDAYS[d] for d in range(7) if d not in hours]
    if closed:
        sentence += f" We're closed on {join_words(closed)}."
    return sentence


def day_hours_sentence(info: DayHours) -> str:
    """ "On Saturday, December 5 we're open from 8:00 AM to 1:00 PM." or "We're closed on Thursday, ... (a holiday)."""
    if info.closed_by_closure:
        # "Closed for staff training" reads "We're closed on Monday, November 29 (staff training)."
        reason = re.sub(
            r"^\s*(shop )?closed\b[\s:,-]*((for|on|due to)\s+)?", "", info.closure_reason or "", flags=re.I
        ).strip()
        why = f" ({reason})" if reason else ""
        return f"We're closed on {spoken_day(info.day)}{why}."
    if not info.open:
        return f"We're closed on {WEEKDAYS[info.day.weekday()]}s."
    return f"On {spoken_day(info.day)} we're open from {intervals_text(info.intervals)}."


def after_hours_sentence(next_day: DayHours | None, today: date) -> str:
    """Asked about today once the shop has closed: "We're closed now; tomorrow we open at 7:00 AM." """
    if next_day is None or not next_day.intervals:
        return "We're closed now."
    opens = spoken_time(next_day.intervals[0][0])
    if next_day.day == today + timedelta(days=1):
        return f"We're closed now; tomorrow we open at {opens}."
    return f"We're closed now; we open again on {spoken_day(next_day.day)} at {opens}."


def grid_phrase(grid: Grid) -> str:
    """How the booking grid reads aloud: "on the hour and half hour", "every 20 minutes from 7:10 AM"."""
    step = grid.step
    aligned = 60 % step == 0 and all((a.hour * 60 + a.minute) % step == 0 for a in grid.anchors)
    if aligned and step == 60:
        return "on the hour"
    if aligned and step == 30:
        return "on the hour and half hour"
    if aligned and step == 15:
        return "every quarter hour"
    if aligned:
        return f"every {step} minutes"
    return f"every {spoken_duration(step)} from {join_words(sorted({spoken_time(a) for a in grid.anchors}))}"


def empty_period_sentence(empty: EmptyPeriod) -> str:
    """Why there was nothing to offer: "We're fully booked on Tuesday, December 1."."""
    if empty.reason == "past":
        return f"{spoken_day(empty.day)} has already passed."
    if empty.reason == "closed" and empty.hours is not None:
        return day_hours_sentence(empty.hours)
    if empty.reason == "today_full":
        return "There's nothing left today."
    if empty.reason == "full":
        return f"We're fully booked on {spoken_day(empty.day)}."
    return "There are no openings in that period."


# --- the shop's facts, as answers to a caller's question (scheduling.shop_facts via the get_shop_info tool) ---


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def location_sentences(info: dict) -> list[str]:
    """ "We're at 1200 West Fulton Street, Chicago." and how to find the service entrance; [] without an address."""
    if not info.get("address"):
        return []
    return [f"We're at {info['address'].rstrip('.')}.", _sentence(info.get("directions") or "")]


def phone_sentences(info: dict) -> list[str]:
    """ "You can reach us at 3 1 2, 5 5 5, 0 1 0 0." (digit by digit, in its groups); [] when the shop has none."""
    if not info.get("phone"):
        return []
    from crm.phones import spoken_phone

    return [f"You can reach us at {spoken_phone(info['phone'])}."]


def loaner_sentences(info: dict) -> list[str]:
    if info.get("loaner_cars"):
        return ["Yes, we have loaner cars.", _sentence(info.get("loaner_terms") or "")]
    if info.get("shuttle"):
        return [
            "We don't have loaner cars, but our shuttle can give you a ride"
            + (f" {info['shuttle_area']}." if info.get("shuttle_area") else ".")
        ]
    return ["I'm afraid we don't have loaner cars."]


# "Can't make it, I'll call you back": kept as it is, and the team told.
def will_call_back_sentence(when: str) -> str:
    return (
        f"No problem. Your appointment {when} stays booked for now, and I'll let the team know you'll call us to "
        "pick a new time. Talk to you then. Goodbye!"
    )


# The customer has died: condolences, what was done, and goodbye; nothing offered.
CONDOLENCES = (
    "I'm so sorry for your loss. I've cancelled the appointment, and we won't call this number again. "
    "Please take care. Goodbye."
)


NOT_SURE_ACK = "I've noted you'll try. If it turns out you can't make it, just give us a call."

# No English: a person, said simply (in Spanish too when they spoke Spanish); the transfer adds "One moment please."
TO_A_PERSON_ES = "Un momento, por favor. Le paso con una persona. I'll put you through to a person."
TO_A_PERSON = "Okay. I'll put you through to a person."


def call_us_to_check_sentence(shop: str, phone_spoken: str) -> str:
    """How to check that the call is really the shop's: its own number (from the shop profile) when it has one."""
    if phone_spoken:
        return f"If you'd rather check, you can hang up and call {shop} at {phone_spoken}."
    return "If you'd rather check, you can hang up and call the shop directly."


def rebook_any_time_sentence(phone_spoken: str) -> str:
    """Cancelled, and they will call to rebook: the door left open (with the shop's number when it has one)."""
    at = f" at {phone_spoken}" if phone_spoken else ""
    return f"Done, it's cancelled. Whenever you're ready to rebook, just give us a call{at}, any time."


# A loaner for the visit, reserved or given back on the call (the appointment's transport).
LOANER_RESERVED = "I've reserved a loaner car for you with this appointment."
LOANER_ALREADY = "You already have a loaner car reserved with this appointment."
LOANER_RELEASED = "Okay, I've taken the loaner off this appointment; you'll just drop the car off."
NO_LOANER_ON_IT = "There's no loaner on this appointment, so there's nothing to change."


# What a booking's read-back adds for the ways home the shop reserves with it (a loaner, a seat on the shuttle).
_WITH_TRANSPORT = {"loaner": ", with a loaner car", "shuttle": ", with a ride on our shuttle"}


def with_transport(transport: str | None) -> str:
    """ ", with a loaner car" for a read-back; "" for waiting or dropping it off."""
    return _WITH_TRANSPORT.get(transport or "", "")


# How an appointment's transport is said, when a caller asks about it ("do I have a loaner for it?").
_TRANSPORT_SAID = {
    "loaner": "a loaner car is reserved for you",
    "shuttle": "you're down for a ride on our shuttle",
    "waiter": "you're down to wait at the shop while we work on it",
    "drop_off": "you're down to drop it off",
}


def transport_sentence(transport: str, asked: str) -> str:
    """ "And yes, a loaner car is reserved for you." / "No loaner is reserved for it: you're down to drop it off." """
    said = _TRANSPORT_SAID.get(transport or "", "")
    if asked and transport == asked:
        return f"And yes, {said}."
    if asked in ("loaner", "shuttle"):
        what = "loaner" if asked == "loaner" else "shuttle ride"
        return f"No {what} is reserved for it{': ' + said if said else ''}."
    return f"For that one, {said}." if said else ""


def shuttle_sentences(info: dict) -> list[str]:
    if info.get("shuttle"):
        return [
            "Yes, our shuttle can give you a ride" + (f" {info['shuttle_area']}." if info.get("shuttle_area") else ".")
        ]
    if info.get("loaner_cars"):
        return ["We don't run a shuttle, but we do have loaner cars.", _sentence(info.get("loaner_terms") or "")]
    return ["I'm afraid we don't run a shuttle."]


# The shop has not said (ShopProfile: waiting Unknown, nothing to bring entered): never a made-up answer.
ADVISOR_CONFIRMS_WAITING = "I'm not sure whether you can wait at the shop; I'll have a service advisor confirm that."
ADVISOR_CONFIRMS_BRINGING = "I don't have a list of what to bring here; I'll have a service advisor confirm that."


def waiting_sentences(info: dict) -> list[str]:
    """ "Can I wait while you do it?", "is there somewhere to sit?": from get_shop_info's customers_can_wait and
    waiting_area; [] when the shop has not said (the caller of this says an advisor will confirm)."""
    can = info.get("customers_can_wait")
    if can == "yes":
        area = (info.get("waiting_area") or "").strip().rstrip(".")
        return ["Yes, you're welcome to wait while we work on it.", f"You can wait in {area}." if area else ""]
    if can == "no":
        if info.get("shuttle"):
            other = "but our shuttle can give you a ride" + (
                f" {info['shuttle_area']}." if info.get("shuttle_area") else "."
            )
        elif info.get("loaner_cars"):
            other = "but we do have loaner cars."
        else:
            other = "so it's best to drop the car off."
        return [f"I'm afraid customers can't wait at the shop while we work on the car, {other}"]
    return []


def bring_sentences(info: dict) -> list[str]:
    """ "What should I bring?": get_shop_info's what_to_bring; [] when the shop has not said."""
    what = (info.get("what_to_bring") or "").strip().rstrip(".")
    return [f"Please bring {what}."] if what else []


def service_answer(item: dict, asks: str | None) -> str:
    """The answer to a question about one service, from get_services' fields: its duration ("how long"), its
    price ("how much": only a price the shop entered; otherwise an advisor quotes), or both."""
    phrase = service_phrase(item["name"])
    subject = phrase[0].upper() + phrase[1:]
    price = spoken_price(item.get("price"))
    takes = f"{subject} takes about {spoken_duration(item['duration_minutes'])}."
    if asks == "duration":
        return takes
    if asks == "price":
        if price:
            return f"{subject} is {price}."
        return (
            f"The price of {service_phrase(item['name'], article=False)} depends on the car; a service advisor "
            "can give you a quote."
        )
    return item["sentence"]


def addition_read_back(names: Sequence[str], appt: dict) -> str:
    """ "So I'll add a tire rotation to your oil change on Thursday, May 14 at 9:00 AM. Is that right?" """
    visit = services_phrase(appt["services"], article=False)
    return f"So I'll add {services_phrase(names)} to your {visit} on {appt['label']}. Is that right?"


def removal_read_back(removed: Sequence[str], kept: Sequence[str], appt: dict) -> str:
    """ "Your visit on Friday, May 15 at 10:00 AM is for an oil change and a brake pad replacement. Shall I take off
    the oil change and keep the brake pad replacement?" """
    visit = services_phrase(appt["services"])
    gone, stays = services_phrase(removed, article=False), services_phrase(kept, article=False)
    return f"Your visit on {appt['label']} is for {visit}. Shall I take off the {gone} and keep the {stays}?"


def removal_done(removed: Sequence[str], appt: dict) -> str:
    """ "Done. I've taken off the oil change; your brake pad replacement on Friday, ... stays." """
    gone, stays = services_phrase(removed, article=False), services_phrase(appt["services"], article=False)
    return f"Done. I've taken off the {gone}; your {stays} on {appt['label']} stays."


def already_on_visit(appt: dict) -> str:
    """The services asked for are on that visit already."""
    return f"Your visit on {appt['label']} already includes {services_phrase(appt['services'])}."


def beside_visit_sentence(appt: dict) -> str:
    """Whose visit the new one goes beside: "Your Outback's state safety inspection is on Friday, May 15 at ..." """
    car = f"{appt['vehicle'].split()[-1]}'s " if appt.get("vehicle") else ""
    return f"Your {car}{services_phrase(appt['services'], article=False)} is on {appt['label']}."
