import logging
import threading
import time
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core import signing

from bartsvoice.tests.prerequisites import require
from calls.stream_tokens import mint_stream_token, redeem_stream_token

SID = "CA" + "1" * 32
OTHER_SID = "CA" + "2" * 32


@pytest.fixture
def clock(monkeypatch):
    """Moves the signer's clock only (patching time.time globally would upset Redis timeouts)."""
    state = SimpleNamespace(now=time.time())
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: state.now))
    return state


def test_token_redeems_once_for_its_call(caplog):
    token = mint_stream_token(call_sid=SID)
    assert redeem_stream_token(token, call_sid=SID) is True
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(token, call_sid=SID) is False
    assert "already used" in caplog.text


def test_each_token_is_distinct():
    first, second = mint_stream_token(call_sid=SID), mint_stream_token(call_sid=SID)
    assert first != second
    assert redeem_stream_token(first, call_sid=SID)
    assert redeem_stream_token(second, call_sid=SID)


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c", "e30:1:abc"])
def test_missing_or_garbage_token_is_refused(token, caplog):
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(token, call_sid=SID) is False
    assert "missing" in caplog.text or "bad signature" in caplog.text


def test_tampered_token_is_refused(caplog):
    token = mint_stream_token(call_sid=SID)
    payload, rest = token.split(":", 1)
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B") + ":" + rest
    forged = signing.TimestampSigner(salt="something-else").sign_object({"sid": SID, "nonce": "x", "ttl": 60})
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(flipped, call_sid=SID) is False
        assert redeem_stream_token(forged, call_sid=SID) is False
        assert redeem_stream_token(signing.dumps({"sid": SID}), call_sid=SID) is False
    assert caplog.text.count("bad signature") == 3


def test_token_bound_to_another_call_is_refused_and_not_spent(caplog):
    token = mint_stream_token(call_sid=SID)
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(token, call_sid=OTHER_SID) is False
        assert redeem_stream_token(token, call_sid="") is False
    assert "bound to another call" in caplog.text
    # A probe with the wrong CallSid must not burn the rightful call's token.
    assert redeem_stream_token(token, call_sid=SID) is True


def test_token_expires_after_its_ttl(clock, caplog):
    token = mint_stream_token(call_sid=SID)
    clock.now += 62
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(token, call_sid=SID) is False
    assert "expired" in caplog.text


def test_token_is_valid_within_its_ttl(clock):
    token = mint_stream_token(call_sid=SID, ttl=5)
    clock.now += 4
    assert redeem_stream_token(token, call_sid=SID) is True


def test_custom_ttl_is_enforced(clock):
    token = mint_stream_token(call_sid=SID, ttl=5)
    clock.now += 10
    assert redeem_stream_token(token, call_sid=SID) is False


@pytest.mark.parametrize("kwargs", [{"call_sid": ""}, {"call_sid": SID, "ttl": 0}])
def test_minting_needs_a_call_and_a_lifetime(kwargs):
    with pytest.raises(ValueError):
        mint_stream_token(**kwargs)


def test_tests_use_the_shared_redis_cache():
    # Single use across web processes relies on Redis' SET NX; the suite runs with REDIS_URL.
    require(bool(settings.REDIS_URL), "REDIS_URL not set: the cache is process-local")
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


def test_concurrent_redemption_has_exactly_one_winner():
    token = mint_stream_token(call_sid=SID)
    workers = 12
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    lock = threading.Lock()

    def redeem():
        barrier.wait(timeout=10)
        outcome = redeem_stream_token(token, call_sid=SID)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=redeem) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == workers
    assert results.count(True) == 1


def test_cache_failure_refuses_the_token(monkeypatch, caplog):
    from calls import stream_tokens

    def broken_add(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(stream_tokens, "cache", SimpleNamespace(add=broken_add))
    token = mint_stream_token(call_sid=SID)
    with caplog.at_level(logging.WARNING, logger="calls.stream_tokens"):
        assert redeem_stream_token(token, call_sid=SID) is False
    assert "cache unavailable" in caplog.text
