"""The helper the permission migrations share (bartsvoice/migration_permissions.py), on the historical models."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from bartsvoice.migration_permissions import Permissions, grant_permissions, revoke_permissions

pytestmark = pytest.mark.django_db


@pytest.fixture
def apps():
    return MigrationLoader(connection).project_state(("privacy", "0002_manager_permissions")).apps


def codenames(name: str) -> set[str]:
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_grants_only_to_roles_that_exist_unless_asked_to_create_them(apps):
    editor = SimpleNamespace(connection=connection)
    grants = {"Night shift": [Permissions("calls", model="textmessage", codenames=("view_textmessage",))]}
    grant_permissions(apps, editor, grants)
    assert not Group.objects.filter(name="Night shift").exists()

    grant_permissions(apps, editor, grants, create_groups=True)
    assert codenames("Night shift") == {"view_textmessage"}
    grant_permissions(apps, editor, {"Night shift": [Permissions("privacy", model="retentionrun")]})
    retention = {f"{action}_retentionrun" for action in ("view", "add", "change", "delete")}  # all of the model's
    assert codenames("Night shift") == {"view_textmessage"} | retention  # added to, never replaced

    revoke_permissions(apps, grants)
    assert codenames("Night shift") == retention


def test_a_misspelt_permission_is_an_error_not_a_silent_nothing(apps):
    editor = SimpleNamespace(connection=connection)
    with pytest.raises(LookupError, match="view_textmesage"):
        grant_permissions(apps, editor, {"Managers": [Permissions("calls", codenames=("view_textmesage",))]})
