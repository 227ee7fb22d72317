"""The test suite's settings: the production settings with a fast password hasher.

PBKDF2 at Django's iteration count costs ~0.4 s per password, paid by every test that makes a user; the
suite tests permissions, not hashing strength. Servers the tests start (calls/tests/live_daphne.py) load
this module too, so a browser logs in with the hash the test wrote. Never used outside tests.
"""

from bartsvoice.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
