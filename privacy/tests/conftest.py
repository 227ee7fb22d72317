import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Call, ToolCall, Turn
from crm.models import Customer, Vehicle
from privacy.tests.fake_recordings import FakeRecordings

_sids = itertools.count(1)


@pytest.fixture
def recordings(settings):
    with FakeRecordings() as fake:
        settings.TWILIO_ACCOUNT_SID = fake.account_sid
        settings.TWILIO_AUTH_TOKEN = "fake-auth-token"
        settings.TWILIO_API_BASE_URL = fake.base_url
        yield fake


def recording_sid() -> str:
    return "RE" + uuid.uuid4().hex


@pytest.fixture
def make_call():
    def make(
        *,
        days_ago: float,
        customer=None,
        number="+13125550142",
        direction="inbound",
        recording_url="",
        turns=2,
        summary="booked oil change Tue 9:00",
    ):
        started = timezone.now() - timedelta(days=days_ago)
        call = Call.objects.create(
            call_sid=f"CA{uuid.uuid4().hex}",
            direction=direction,
            from_number=number if direction == "inbound" else "+13125550100",
            to_number="+13125550100" if direction == "inbound" else number,
            customer=customer,
            started_at=started,
            ended_at=started + timedelta(minutes=2),
            status=Call.Status.COMPLETED,
            outcome=Call.Outcome.BOOKED,
            summary=summary,
            recording_url=recording_url,
        )
        for index in range(turns):
            Turn.objects.create(
                call=call,
                index=index,
                role="caller" if index % 2 else "agent",
                text=f"turn {index} of {call.call_sid}",
                started_at=started,
            )
        ToolCall.objects.create(
            call=call, turn_index=1, name="lookup_customer", arguments={"phone": number}, result={"name": "Maria"}
        )
        return call

    return make


@pytest.fixture
def maria(db):
    customer = Customer.objects.create(
        first_name="Maria",
        last_name="Lopez",
        phone="+13125550142",
        email="maria@example.com",
        postal_code="60614",
        notes="prefers mornings",
    )
    Vehicle.objects.create(
        customer=customer, vin="1HGCM82633A004352", year=2003, make="Honda", model="Accord", plate="ABC123"
    )
    return customer
