"""The scheduling tests use the shared fixtures of the root conftest.py (`shop`, `customer`, `vehicle`,
`place_appointment`); `local` moved to bartsvoice/tests/factories.py and is kept importable from here."""

from bartsvoice.tests.factories import local

__all__ = ["local"]
