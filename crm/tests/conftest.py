import pytest

from crm.tests.fake_vpic import FakeVpic


@pytest.fixture(autouse=True)
def _no_real_vpic(settings):
    """Whatever the environment says, no crm test may reach the real NHTSA host."""
    settings.VIN_ONLINE_LOOKUP = False
    settings.NHTSA_VPIC_BASE_URL = "http://127.0.0.1:9/api"  # discard port: refused at once


@pytest.fixture
def fake_vpic(settings):
    server = FakeVpic().start()
    settings.NHTSA_VPIC_BASE_URL = server.base_url
    yield server
    server.stop()
