"""/readyz of a real daphne turns 503 when its Redis stops and 200 again when Redis is back.

The Redis here is one this test starts and stops itself on another loopback port, so the shared test Redis is
never touched."""

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from bartsvoice.tests.servers import free_port
from calls.tests.live_daphne import INSTANT_PROVIDERS, live_daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def own_redis(port: int, workdir):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def readyz(base_url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=15) as response:  # noqa: S310 (127.0.0.1)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(base_url: str, status: int, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, body = readyz(base_url)
        if code == status or time.monotonic() > deadline:
            assert code == status, body
            return body
        time.sleep(0.3)


def test_readiness_follows_redis(tmp_path):
    port = free_port()
    with own_redis(port, tmp_path) as first:
        env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "VOICE_WARMUP": "false"}
        with live_daphne(tmp_path / "daphne.log", providers=INSTANT_PROVIDERS, env=env) as base_url:
            body = wait_for(base_url, 200)
            assert all(check["ok"] for check in body["checks"].values())

            first.terminate()
            first.wait(10)
            body = wait_for(base_url, 503)
            checks = body["checks"]
            assert checks["database"]["ok"]
            assert not checks["cache"]["ok"] and not checks["channel_layer"]["ok"] and not checks["broker"]["ok"]

            with own_redis(port, tmp_path):
                body = wait_for(base_url, 200)
                assert all(check["ok"] for check in body["checks"].values())
