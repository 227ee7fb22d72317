"""`manage.py seed_demo`: a demo shop to click through and call. Running it again changes nothing.

Every row has a stable natural key (service code, bay name, phone, VIN, username, weekday+hours) and the random
choices come from a fixed seed, so a second run finds everything in place. Appointments are booked through the
booking services, relative to today, and only when the demo customers have none yet.
"""

import random
from datetime import date, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from crm.models import Customer, Vehicle
from crm.services import add_vehicle
from crm.vin import compute_check_digit
from scheduling.availability import available_slots, shop_tz
from scheduling.errors import BookingError
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay, ServiceType, ShopProfile
from scheduling.services import book_appointment, set_appointment_status

SEED = 20240611
BAYS = ("Bay 1", "Bay 2", "Bay 3", "Bay 4")
WEEKDAY_HOURS = (time(7), time(18))
SATURDAY_HOURS = (time(8), time(13))
# What callers ask about besides hours and services (ShopProfile; the shop edits it in the admin).
PROFILE = {
    "phone": "+13125550100",
    "address": "1200 West Fulton Street, Chicago",
    "directions": "The service entrance is on the left side of the building, behind the showroom.",
    "loaner_cars": True,
    "loaner_terms": "We have a few, so we reserve them with the appointment.",
    "shuttle": True,
    "shuttle_area": "within five miles of the shop",
    "customers_can_wait": "yes",
    "waiting_area": "our lounge next to the service desk; there's coffee and Wi-Fi",
    "what_to_bring": "your keys, the wheel-lock key if your car has one, and any recall letter you got",
}

# code, name, minutes, price, caller keywords, description
SERVICE_TYPES = [
    (
        "oil-change",
        "Oil change",
        30,
        "59.95",
        "oil change, oil, lube, synthetic oil, oil and filter",
        "Full synthetic oil and filter, fluid top-off.",
    ),
    (
        "tire-rotation",
        "Tire rotation",
        30,
        "29.95",
        "tire rotation, rotate tires, rotation, uneven tire wear",
        "Rotate all four tires and set pressures.",
    ),
    (
        "brake-inspection",
        "Brake inspection",
        30,
        "39.95",
        "brake inspection, brake check, brakes, squeaky brakes, squeaking, grinding",
        "Measure pads and rotors, check fluid and lines.",
    ),
    (
        "brake-pads",
        "Brake pad replacement",
        90,
        "189.00",
        "brake pads, pads, brake job, front brakes, rear brakes",
        "New pads on one axle, rotors resurfaced or replaced as needed.",
    ),
    (
        "state-inspection",
        "State safety inspection",
        45,
        "35.00",
        "state inspection, safety inspection, inspection sticker, emissions",
        "Official state safety and emissions inspection.",
    ),
    (
        "battery",
        "Battery test and replacement",
        30,
        "159.00",
        "battery, dead battery, won't start, slow start",
        "Load test; replace with a 3-year battery if it fails.",
    ),
    (
        "alignment",
        "Wheel alignment",
        60,
        "99.95",
        "alignment, wheel alignment, pulls to the left, pulls to the right, crooked steering wheel",
        "Four-wheel alignment with before/after printout.",
    ),
    (
        "ac-service",
        "A/C service",
        60,
        "129.00",
        "air conditioning, a/c, ac, not blowing cold, recharge",
        "Leak check and refrigerant recharge.",
    ),
    (
        "transmission-fluid",
        "Transmission fluid service",
        60,
        "179.00",
        "transmission, transmission fluid, rough shifting, slipping",
        "Drain and fill with the manufacturer's fluid.",
    ),
    (
        "diagnostics",
        "Check engine light diagnostics",
        60,
        "119.00",
        "check engine light, engine light, diagnostic, warning light, strange noise",
        "Scan codes, pinpoint tests and a written estimate.",
    ),
    (
        "coolant-flush",
        "Coolant flush",
        60,
        "109.00",
        "coolant, antifreeze, radiator, overheating",
        "Flush and refill the cooling system.",
    ),
    (
        "multi-point",
        "Multi-point inspection",
        45,
        "49.95",
        "multi-point inspection, multipoint, check-up, checkup, road trip inspection",
        "Forty-point check of tires, brakes, fluids, belts, lights.",
    ),
    (
        "wipers-cabin-filter",
        "Wiper blades and cabin filter",
        30,
        "49.95",
        "wipers, wiper blades, cabin filter, cabin air filter",
        "New wiper blades and cabin air filter.",
    ),
]

FIRST_NAMES = [
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Patricia",
    "David",
    "Jennifer",
    "William",
    "Elizabeth",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Christopher",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
    "George",
    "Amanda",
    "Luis",
    "Melissa",
    "Edward",
    "Deborah",
    "Jose",
    "Stephanie",
    "Ryan",
    "Rebecca",
    "Jacob",
    "Laura",
    "Gary",
    "Sharon",
]
LAST_NAMES = [
    "Smith",
    "Garcia",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Kowalski",
    "Novak",
]
POSTAL_CODES = ["60601", "60605", "60607", "60611", "60614", "60618", "60622", "60625", "60640", "60657"]

# Real WMI+VDS prefixes (positions 1-8), the model-year letter and the plant letter of common cars, so the
# offline decoder recognises every generated VIN; positions 12-17 are a random serial, position 9 is computed.
VIN_PATTERNS = [
    ("1HGCV1F3", "K", "A"),  # 2019 Honda Accord
    ("2HGFC2F5", "J", "H"),  # 2018 Honda Civic
    ("5J6RW2H5", "L", "L"),  # 2020 Honda CR-V
    ("4T1B11HK", "K", "U"),  # 2019 Toyota Camry
    ("2T3P1RFV", "L", "W"),  # 2020 Toyota RAV4
    ("5TDDZRFH", "J", "S"),  # 2018 Toyota Highlander
    ("JTDKN3DU", "F", "0"),  # 2015 Toyota Prius
    ("1FTEW1EP", "K", "F"),  # 2019 Ford F-150
    ("1FMCU9GD", "H", "U"),  # 2017 Ford Escape
    ("1GCUYDED", "L", "Z"),  # 2020 Chevrolet Silverado
    ("2GNAXSEV", "K", "6"),  # 2019 Chevrolet Equinox
    ("1G1ZD5ST", "J", "F"),  # 2018 Chevrolet Malibu
    ("1N4AL3AP", "F", "C"),  # 2015 Nissan Altima
    ("5N1AT2MV", "L", "C"),  # 2020 Nissan Rogue
    ("5NPE24AF", "H", "H"),  # 2017 Hyundai Sonata
    ("5XXGT4L3", "L", "G"),  # 2020 Kia Optima
    ("JM1BN1V7", "H", "1"),  # 2017 Mazda Mazda3
    ("1C4RJFAG", "K", "C"),  # 2019 Jeep Grand Cherokee
    ("3VWC57BU", "K", "M"),  # 2019 Volkswagen Jetta
    ("4S4BSANC", "J", "3"),  # 2018 Subaru Outback
]

PLATE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
DEMO_APPOINTMENTS = 120  # booking attempts; those landing on a closed or full day are skipped
# Common visits first: the weights make oil changes and rotations the bulk of the book, as in a real shop.
SERVICE_WEIGHTS = {
    "oil-change": 10,
    "tire-rotation": 5,
    "brake-inspection": 4,
    "state-inspection": 3,
    "multi-point": 3,
    "battery": 2,
    "alignment": 2,
    "diagnostics": 3,
    "brake-pads": 2,
}

USERS = [
    # username, password, first name, last name, group, superuser
    ("advisor", "advisor-demo-1", "Alex", "Rivera", "Service advisors", False),
    ("manager", "manager-demo-1", "Morgan", "Blake", "Managers", False),
    ("admin", "admin-demo-1", "Admin", "", None, True),
]


def demo_phone(index: int) -> str:
    """+1 312 555-0100 ... -0199: the range reserved for fiction, and valid for phonenumbers."""
    return f"+13125550{100 + index:03d}"


def make_vin(prefix: str, year_char: str, plant: str, serial: str) -> str:
    draft = f"{prefix}0{year_char}{plant}{serial}"
    return draft[:8] + compute_check_digit(draft) + draft[9:]


def _us_holidays(year: int) -> dict[date, str]:
    def nth_weekday(month, weekday, n):
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))

    def last_weekday(month, weekday):
        last = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
        return last - timedelta(days=(last.weekday() - weekday) % 7)

    return {
        date(year, 1, 1): "New Year's Day",
        last_weekday(5, 0): "Memorial Day",
        date(year, 7, 4): "Independence Day",
        nth_weekday(9, 0, 1): "Labor Day",
        nth_weekday(11, 3, 4): "Thanksgiving",
        date(year, 12, 25): "Christmas Day",
    }


def pick_closure(today: date) -> tuple[date, str]:
    """The next holiday on a working day within two weeks, else a training day ten days out (on a weekday)."""
    holidays = {**_us_holidays(today.year), **_us_holidays(today.year + 1)}
    for day in sorted(holidays):
        if today < day <= today + timedelta(days=14) and day.weekday() < 6:
            return day, holidays[day]
    day = today + timedelta(days=10)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day, "Staff training day"


class Command(BaseCommand):
    help = "Create (or complete) the demo shop: hours, bays, services, customers, vehicles, appointments, logins."

    def handle(self, *args, **options):
        rng = random.Random(SEED)
        with transaction.atomic():
            self._shop()
            services = self._service_types()
            users = self._users()
            customers = self._customers(rng, users["advisor"])
            self._vehicles(rng, customers)
            closure = self._closure()
            booked = self._appointments(rng, customers, services, users["advisor"])
        self._report(closure, booked)

    def _shop(self):
        for weekday in range(5):
            BusinessHours.objects.get_or_create(weekday=weekday, opens=WEEKDAY_HOURS[0], closes=WEEKDAY_HOURS[1])
        BusinessHours.objects.get_or_create(weekday=5, opens=SATURDAY_HOURS[0], closes=SATURDAY_HOURS[1])
        if not ShopProfile.objects.exists():
            ShopProfile.objects.create(**PROFILE)
        for name in BAYS:
            ServiceBay.objects.get_or_create(name=name)

    def _service_types(self) -> dict[str, ServiceType]:
        found = {}
        for code, name, minutes, price, keywords, description in SERVICE_TYPES:
            found[code], _ = ServiceType.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "duration_minutes": minutes,
                    "price": Decimal(price),
                    "keywords": keywords,
                    "description": description,
                },
            )
        return found

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        for username, password, first, last, group, superuser in USERS:
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
            )
            changed = not (user.is_staff and user.is_active and user.is_superuser == superuser)
            user.is_staff, user.is_active, user.is_superuser = True, True, superuser
            # Hashing again would give a new salt each run; only reset a password that no longer matches.
            if not user.check_password(password):
                user.set_password(password)
                changed = True
            if changed:
                user.save()
            if group:
                try:
                    user.groups.add(Group.objects.get(name=group))
                except Group.DoesNotExist:
                    raise CommandError(
                        f"The group “{group}” is missing: run `manage.py migrate` (scheduling's roles migration "
                        "creates it) before seeding."
                    ) from None
            users[username] = user
        return users

    def _customers(self, rng: random.Random, advisor) -> list[Customer]:
        last_names = LAST_NAMES[:]
        rng.shuffle(last_names)
        customers = []
        for i, (first, last) in enumerate(zip(FIRST_NAMES, last_names, strict=True)):
            postal = rng.choice(POSTAL_CODES)
            customer, _ = Customer.objects.get_or_create(
                phone=demo_phone(i),
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}@example.com".lower(),
                    "postal_code": postal,
                    "preferred_advisor": advisor if i % 3 == 0 else None,
                    "do_not_call": i % 17 == 16,
                },
            )
            customers.append(customer)
        return customers

    def _vehicles(self, rng: random.Random, customers: list[Customer]) -> None:
        for i, customer in enumerate(customers):
            # Every fourth household has a second car.
            for _ in range(2 if i % 4 == 0 else 1):
                prefix, year_char, plant = rng.choice(VIN_PATTERNS)
                vin = make_vin(prefix, year_char, plant, f"{rng.randrange(10**6):06d}")
                mileage = rng.randrange(8_000, 140_000, 100)
                plate = f"{rng.choice(PLATE_LETTERS)}{rng.choice(PLATE_LETTERS)} {rng.randrange(10000, 99999)}"
                if not Vehicle.objects.filter(vin=vin).exists():
                    add_vehicle(customer=customer, vin=vin, mileage=mileage, plate=plate)

    def _closure(self) -> Closure:
        day, reason = pick_closure(timezone.localdate(timezone=shop_tz()))
        closure, _ = Closure.objects.get_or_create(date=day, defaults={"reason": reason})
        return closure

    def _appointments(self, rng, customers, services, advisor) -> int:
        if Appointment.objects.filter(customer__in=customers).exists():
            return 0
        today = timezone.localdate(timezone=shop_tz())
        codes = list(SERVICE_WEIGHTS)
        weights = [SERVICE_WEIGHTS[c] for c in codes]
        extras = [c for c in services if c not in codes]
        booked = 0
        for _ in range(DEMO_APPOINTMENTS):
            customer = rng.choice(customers)
            vehicle = customer.vehicles.order_by("id").first()
            chosen = [rng.choices(codes, weights)[0]]
            if rng.random() < 0.3:
                second = rng.choice(codes + extras)
                if second not in chosen:
                    chosen.append(second)
            types = [services[c] for c in chosen]
            day = today + timedelta(days=rng.randrange(0, 14))
            slots = available_slots(service_types=types, start_date=day)
            if not slots:
                continue  # closed, full, or too late today
            try:
                appointment = book_appointment(
                    customer=customer,
                    vehicle=vehicle,
                    service_types=types,
                    start=rng.choice(slots),
                    transport=rng.choice(Appointment.Transport.values),
                    advisor=advisor if rng.random() < 0.7 else None,
                    source=rng.choice([Appointment.Source.PHONE, Appointment.Source.PHONE, Appointment.Source.ADMIN]),
                )
            except BookingError:
                continue
            if rng.random() < 0.4:
                set_appointment_status(appointment=appointment, status=Appointment.Status.CONFIRMED)
            booked += 1
        return booked

    def _report(self, closure: Closure, booked: int) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS("Demo shop ready."))
        out.write(
            f"  {ServiceType.objects.count()} service types, {ServiceBay.objects.filter(active=True).count()} bays, "
            f"{Customer.objects.count()} customers, {Vehicle.objects.count()} vehicles, "
            f"{Appointment.objects.count()} appointments ({booked} booked now)"
        )
        out.write(f"  Closed on {closure.date:%a %b %d, %Y}: {closure.reason}")
        out.write("  Logins (demo passwords, change them anywhere real):")
        for username, password, _first, _last, group, superuser in USERS:
            role = "superuser" if superuser else group
            out.write(f"    {username:<8} / {password:<15} {role}")
