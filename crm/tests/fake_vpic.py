"""A stand-in for NHTSA vPIC on 127.0.0.1: answers DecodeVinValues like the real API, or fails on cue."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def vpic_payload(vin: str, **values) -> dict:
    """The DecodeVinValues body shape: one flat row of strings under Results."""
    row = {"VIN": vin, "ErrorCode": "0", "ErrorText": "0 - VIN decoded clean. Check Digit (9th position) is correct"}
    row.update(values)
    return {
        "Count": 1,
        "Message": "Results returned successfully. NOTE: Any missing decoded values should be interpreted as "
        "NHTSA does not have data on the specific variable.",
        "SearchCriteria": f"VIN:{vin}",
        "Results": [row],
    }


class FakeVpic:
    def __init__(self):
        self.requests: list[str] = []  # request paths with query string, in arrival order
        self._routes: dict[str, tuple[int, bytes, float]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.requests.append(self.path)
                vin = urlsplit(self.path).path.rstrip("/").rsplit("/", 1)[-1]
                status, body, delay = fake._routes.get(vin, (404, b'{"Message": "not found"}', 0.0))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api"

    def respond(self, vin: str, payload=None, *, status: int = 200, raw: bytes | None = None, delay: float = 0.0):
        body = raw if raw is not None else json.dumps(payload).encode()
        self._routes[vin] = (status, body, delay)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
