import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from calls import services
from calls.models import Call, Turn
from crm.models import Customer

SID = "CA" + "a" * 32


@pytest.fixture
def customer(db):
    return Customer.objects.create(first_name="Dana", last_name="Reyes", phone="+13125550142")


def _start(**overrides):
    kwargs = {
        "call_sid": SID,
        "from_number": "+13125550142",
        "to_number": "+13125550100",
        "direction": Call.Direction.INBOUND,
        "transport": Call.Transport.TWILIO,
    }
    kwargs.update(overrides)
    return services.start_call(**kwargs)


@pytest.mark.django_db
def test_start_call_creates_an_in_progress_call(customer):
    call = _start(customer=customer)
    call.refresh_from_db()
    assert call.call_sid == SID
    assert call.status == Call.Status.IN_PROGRESS
    assert call.direction == "inbound" and call.transport == "twilio"
    assert call.customer == customer
    assert call.started_at is not None and call.ended_at is None


@pytest.mark.django_db
def test_start_call_is_idempotent_and_only_fills_gaps(customer):
    first = _start()
    other = Customer.objects.create(first_name="Sam", phone="+17735550199")
    again = _start(customer=customer, from_number="+19999999999")
    assert again.pk == first.pk
    assert Call.objects.count() == 1
    again.refresh_from_db()
    assert again.customer == customer  # filled in: the first request had no customer
    assert again.from_number == "+13125550142"  # not overwritten
    _start(customer=other)
    again.refresh_from_db()
    assert again.customer == customer  # an existing customer is never replaced here


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [{"call_sid": ""}, {"direction": "sideways"}, {"transport": "pigeon"}, {"status": "finished"}],
)
def test_start_call_rejects_bad_input_and_writes_nothing(overrides):
    with pytest.raises(ValidationError):
        _start(**overrides)
    assert not Call.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_start_call_for_one_sid_makes_one_row():
    workers = 6
    barrier = threading.Barrier(workers)
    ids, errors = [], []

    def start():
        try:
            barrier.wait(timeout=10)
            ids.append(_start().pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == workers
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_record_turn_writes_once_and_never_overwrites():
    call = _start()
    now = timezone.now()
    turn = services.record_turn(
        call_id=call.pk,
        index=0,
        role="agent",
        text="Hello, Bart's Auto Service.",
        started_at=now,
        stt_ms=None,
        llm_first_ms=412.6,
        tts_first_ms=180,
        first_audio_ms=650.4,
    )
    assert turn.llm_first_ms == 413 and turn.first_audio_ms == 650
    # Whatever writes index 0 again (a second stream of the call, say) is refused and changes nothing.
    with pytest.raises(ValidationError, match="already recorded"):
        services.record_turn(call_id=call.pk, index=0, role="caller", text="cancel everything", started_at=now)
    stored = Turn.objects.get(call=call, index=0)
    assert stored.text == "Hello, Bart's Auto Service." and stored.role == "agent" and stored.llm_first_ms == 413
    services.record_turn(call_id=call.pk, index=1, role="caller", text="I need an oil change", started_at=now)
    assert list(call.turns.values_list("index", "role")) == [(0, "agent"), (1, "caller")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [{"role": "robot"}, {"index": -1}, {"stt_ms": -5}, {"started_at": None}, {"call_id": 999999}],
)
def test_record_turn_rejects_bad_input(overrides):
    call = _start()
    kwargs = {"call_id": call.pk, "index": 0, "role": "caller", "text": "hi", "started_at": timezone.now()}
    kwargs.update(overrides)
    with pytest.raises(ValidationError):
        services.record_turn(**kwargs)
    assert not Turn.objects.exists()


@pytest.mark.django_db
def test_finish_call_sets_end_once_and_keeps_real_outcomes():
    call = _start()
    finished = services.finish_call(call_id=call.pk, outcome="booked", summary="booked oil change Tue 9:00")
    first_end = finished.ended_at
    assert finished.status == "completed" and finished.outcome == "booked" and first_end is not None
    # Twilio's status callback arrives afterwards with its own guess.
    again = services.finish_call(call_id=call.pk, outcome="abandoned")
    assert again.ended_at == first_end
    assert again.outcome == "booked"
    assert again.summary == "booked oil change Tue 9:00"


@pytest.mark.django_db
def test_real_outcome_replaces_abandoned_whatever_the_order():
    call = _start()
    services.finish_call(call_id=call.pk, outcome="abandoned")
    assert services.finish_call(call_id=call.pk, outcome="transferred").outcome == "transferred"


@pytest.mark.django_db
def test_failed_status_sticks():
    call = _start()
    services.finish_call(call_id=call.pk, status="failed")
    assert services.finish_call(call_id=call.pk, status="completed").status == "failed"


@pytest.mark.django_db
@pytest.mark.parametrize("kwargs", [{"status": "ringing"}, {"outcome": "exploded"}, {"call_id": 999999}])
def test_finish_call_rejects_bad_input(kwargs):
    call = _start()
    with pytest.raises(ValidationError):
        services.finish_call(**{"call_id": call.pk, **kwargs})
    call.refresh_from_db()
    assert call.ended_at is None


@pytest.mark.django_db
def test_bind_customer(customer):
    call = _start()
    services.bind_customer(call_id=call.pk, customer_id=customer.pk)
    call.refresh_from_db()
    assert call.customer == customer
    with pytest.raises(ValidationError):
        services.bind_customer(call_id=call.pk, customer_id=999999)
    with pytest.raises(ValidationError):
        services.bind_customer(call_id=999999, customer_id=customer.pk)


@pytest.mark.django_db
def test_get_call_by_sid_and_claim_stream():
    call = _start(status=Call.Status.RINGING)
    assert services.get_call_by_sid(SID) == call
    assert services.get_call_by_sid("CAnope") is None
    assert services.get_call_by_sid("") is None
    assert services.may_open_stream(call)
    assert services.claim_stream(call_id=call.pk, stream_sid="MZ123") is True
    call.refresh_from_db()
    assert call.stream_sid == "MZ123" and call.status == Call.Status.IN_PROGRESS
    # One stream per call: a second one is refused and the first stays recorded.
    assert not services.may_open_stream(call)
    assert services.claim_stream(call_id=call.pk, stream_sid="MZ456") is False
    call.refresh_from_db()
    assert call.stream_sid == "MZ123"


@pytest.mark.django_db
def test_an_ended_call_gets_no_stream():
    call = _start()
    services.finish_call(call_id=call.pk)
    call.refresh_from_db()
    assert not services.may_open_stream(call)
    assert services.claim_stream(call_id=call.pk, stream_sid="MZ123") is False
    call.refresh_from_db()
    assert call.stream_sid == "" and call.status == Call.Status.COMPLETED


@pytest.mark.django_db
def test_oversized_values_are_refused_by_the_services():
    with pytest.raises(ValidationError, match="at most 64"):
        _start(call_sid="CA" + "a" * 100)
    call = _start()
    with pytest.raises(ValidationError, match="at most 200"):
        services.finish_call(call_id=call.pk, recording_url="https://api.twilio.com/" + "r" * 200)
    call.refresh_from_db()
    assert call.ended_at is None and call.recording_url == ""


@pytest.mark.django_db
def test_a_stream_binds_the_recorded_customer_only_when_the_number_is_theirs(customer):
    """The customer on a call record (caller ID at the webhook, a reminder's appointment, a caller verified on an
    earlier stream) is who the agent talks to only while the caller's number is theirs: a reminder answered
    after the customer's number changed, say, must be verified again."""
    from calls.voice.bootstrap import context_for_call

    own = context_for_call(_start(customer=customer))
    assert (own.customer_id, own.verified, own.verified_by) == (customer.pk, True, "caller_id")
    other = context_for_call(_start(call_sid="CA" + "b" * 32, from_number="+13125550177", customer=customer))
    assert (other.customer_id, other.verified, other.verified_by) == (None, False, "")
    reminder = _start(
        call_sid="CA" + "c" * 32,
        from_number="+13125550100",
        to_number="+13125550142",
        direction=Call.Direction.OUTBOUND,
        customer=customer,
    )
    assert context_for_call(reminder).customer_id == customer.pk  # the dialled party is the caller
    customer.phone = "+13125550188"
    customer.save()
    reminder.refresh_from_db()
    assert context_for_call(reminder).customer_id is None
