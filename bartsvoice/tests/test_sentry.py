"""Sentry gets errors with the call they happened in, and numbers masked; with no SENTRY_DSN nothing is sent.

Each case runs in its own process (Sentry is set up once per process, from settings) against a fake Sentry on
127.0.0.1 that records the envelopes it receives."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings

SCRIPT = """
import logging, django
django.setup()
import sentry_sdk
from bartsvoice.log_context import call_logging
with call_logging("CA" + "7" * 32, "MZ" + "8" * 32):
    try:
        raise RuntimeError("Twilio refused +13125550199")
    except RuntimeError:
        logging.getLogger("calls.x").exception("dialling %s failed", "+13125550142")
print("active" if sentry_sdk.get_client().is_active() else "inactive")
sentry_sdk.flush(5)
"""


@pytest.fixture
def fake_sentry():
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            elif self.headers.get("Content-Encoding") == "br":
                import brotli

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def _run(tmp_path, **env) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DATABASE_URL", "REDIS_URL"))}
    full_env.update(DJANGO_SETTINGS_MODULE="bartsvoice.settings", VAR_DIR=str(tmp_path), VOICE_WARMUP="false", **env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _events(received: list[bytes]) -> list[dict]:
    events = []
    for envelope in received:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                events.append(json.loads(payload))
    return events


def test_errors_reach_sentry_with_the_call_and_masked_numbers(tmp_path, fake_sentry):
    port, received = fake_sentry
    assert _run(tmp_path, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/1") == "active"
    (event,) = _events(received)
    assert event["tags"]["call_sid"] == "CA" + "7" * 32
    assert event["tags"]["stream_sid"] == "MZ" + "8" * 32
    assert event["environment"] == "production"
    everything = json.dumps(event)
    assert "***0142" in everything and "***0199" in everything
    assert "5550142" not in everything and "5550199" not in everything
    assert "vars" not in json.dumps(event["exception"])  # no local variables


def test_without_a_dsn_nothing_is_sent(tmp_path, fake_sentry):
    _port, received = fake_sentry
    assert _run(tmp_path) == "inactive"
    assert received == []


def test_numbers_in_the_request_address_are_masked_too():
    """A failing softphone search or call-log filter: Sentry sends the request's address and query string."""
    from bartsvoice.sentry import before_send

    event = {
        "request": {
            "url": "https://shop.example.com/calls/softphone/customers/",
            "query_string": "q=%2B13125550142",
            "method": "GET",
        },
        "transaction": "/calls/?phone=312-555-0199",
    }
    everything = json.dumps(before_send(event, {}))
    assert "5550142" not in everything and "5550199" not in everything
    assert "***0142" in everything and "***0199" in everything
