"""The test suite's settings: the production settings with a fast password hasher, and one Redis database per
pytest-xdist worker.

PBKDF2 at Django's iteration count costs ~0.4 s per password, paid by every test that makes a user; the
suite tests permissions, not hashing strength. Servers the tests start (calls/tests/live_daphne.py) load
this module too, so a browser logs in with the hash the test wrote. Never used outside tests.

Redis: every test flushes its database (root conftest `_clean_cache`), so two workers on one database would
wipe each other's stream tokens, locks and channel groups mid-test. Worker gwN takes the database N below the
one REDIS_URL names (`make test`: /15 for gw0, /14 for gw1...). This happens here, before the settings read
REDIS_URL, because pytest-django loads the settings before any conftest. The derived URL goes back into the
environment with the worker it was derived for, so the servers a test starts (which inherit both) use it
as it is.
"""

import os
from urllib.parse import urlsplit, urlunsplit

_DERIVED_FOR = "BARTSVOICE_REDIS_WORKER"


def redis_url_for_worker(url: str, worker: str) -> str:
    """`redis://host:port/15` for worker "gw1" -> `redis://host:port/14`."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = base - int(worker.removeprefix("gw"))
    if index < 0:
        raise RuntimeError(f"REDIS_URL {url} leaves no Redis database for xdist worker {worker}: name a higher one")
    return urlunsplit(parts._replace(path=f"/{index}"))


_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and os.environ.get("REDIS_URL") and os.environ.get(_DERIVED_FOR) != _worker:
    os.environ["REDIS_URL"] = redis_url_for_worker(os.environ["REDIS_URL"], _worker)
    os.environ[_DERIVED_FOR] = _worker

from bartsvoice.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests of the first-token wait pass their own; for every other test a fake answering at once must not be taken
# for a silent model because the CI core is busy (a 4 s wait was missed under a load of 13 on two cores).
OPENAI_FIRST_TOKEN_MS = 20_000

# PostgreSQL, tuned for databases that are thrown away: a flush between transactional tests that DELETEs and keeps
# what migrating made (bartsvoice/tests/testdb: the backend, and the app whose `flush` command goes with it), and
# commits that do not wait for the WAL to reach the disk (`synchronous_commit=off`: what other sessions see is the
# same, only a crash could lose the last commits). Per connection: the server's own settings stay as they are.
# Server processes the tests start load this module too, so they write the same way.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "bartsvoice.tests.testdb"  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c synchronous_commit=off".strip()
    INSTALLED_APPS = ["bartsvoice.tests.testdb", *INSTALLED_APPS]  # noqa: F405  # first: its `flush` wins
