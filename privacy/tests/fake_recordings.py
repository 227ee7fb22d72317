"""A local stand-in for Twilio's Recordings resource (DELETE only), on 127.0.0.1 in a thread.

DELETE /2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}.json answers 204 for a known recording, and
404 with Twilio's error body (code 20404) for an unknown one; `failing` makes every request a 500."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PATH = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Recordings/(RE\w+)\.json$")


class FakeRecordings:
    def __init__(self, account_sid: str = "AC" + "0" * 32):
        self.account_sid = account_sid
        self.recordings: set[str] = set()
        self.deleted: list[str] = []
        self.failing = False
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_DELETE(self):
                match = _PATH.match(self.path)
                if fake.failing:
                    return self._answer(500, {"code": 20500, "message": "Internal error", "status": 500})
                if match is None or match.group(2) not in fake.recordings:
                    return self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
                fake.recordings.discard(match.group(2))
                fake.deleted.append(match.group(2))
                self.send_response(204)
                self.end_headers()
                return None

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, sid: str) -> str:
        """A recording and the URL Twilio's status callback would give for it."""
        self.recordings.add(sid)
        return f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def __enter__(self) -> FakeRecordings:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
