import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

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


@pytest.fixture
def advisor(db):
    """A staff user holding exactly the crm view/add/change permissions (no delete, no superuser)."""
    user = get_user_model().objects.create_user("advisor", password="pw-advisor-1", is_staff=True)
    codenames = [f"{action}_{model}" for action in ("view", "add", "change") for model in ("customer", "vehicle")]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))
    return user


@pytest.fixture
def advisor_client(client, advisor):
    client.force_login(advisor)
    return client
