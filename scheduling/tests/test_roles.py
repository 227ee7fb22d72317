"""The staff roles the roles migration creates."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

roles = import_module("scheduling.migrations.0002_roles")
softphone = import_module("calls.migrations.0004_softphone_permission")
privacy = import_module("privacy.migrations.0002_manager_permissions")
PRIVACY_CODES = {f"privacy.{code}" for code in privacy.CODENAMES}
text_messages = import_module("calls.migrations.0006_text_message_permissions")
call_log_roles = import_module("calls.migrations.0008_call_log_roles")


def codes(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


ADVISOR_CODES = {
    "crm.view_customer", "crm.add_customer", "crm.change_customer",
    "crm.view_vehicle", "crm.add_vehicle", "crm.change_vehicle",
    "scheduling.view_appointment", "scheduling.add_appointment", "scheduling.change_appointment",
    "scheduling.view_servicetype", "scheduling.view_businesshours", "scheduling.view_closure",
    "scheduling.view_servicebay", "scheduling.view_reminderattempt",
    "calls.use_softphone",  # calls.0004_softphone_permission
    "calls.view_textmessage",  # calls.0006_text_message_permissions
    # the call log (calls/migrations/0008_call_log_roles.py): read calls, mark call-backs made
    "calls.view_call", "calls.view_turn", "calls.view_toolcall", "calls.change_call",
}  # fmt: skip


@pytest.mark.django_db
def test_service_advisors_can_book_but_not_configure_or_delete():
    assert codes(Group.objects.get(name="Service advisors")) == ADVISOR_CODES


@pytest.mark.django_db
def test_managers_hold_every_permission_of_the_shop_apps():
    managers = codes(Group.objects.get(name="Managers"))
    expected = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label__in=["crm", "scheduling", "calls"])
    }
    assert managers == expected | PRIVACY_CODES  # reading the privacy logs, exporting and erasing customers' data
    assert {
        "calls.view_call",
        "calls.view_turn",
        "calls.view_toolcall",
        "scheduling.delete_appointment",
        "scheduling.change_servicetype",
        "crm.delete_customer",
    } <= managers
    assert not any(code.startswith("auth.") for code in managers)


@pytest.mark.django_db
def test_roles_migration_is_idempotent_and_reversible():
    state_apps = MigrationLoader(connection).project_state(("scheduling", "0002_roles")).apps
    editor = SimpleNamespace(connection=connection)
    call_log_apps = MigrationLoader(connection).project_state(("calls", "0008_call_log_roles")).apps
    before = {g.name: codes(g) for g in Group.objects.all()}

    later_apps = MigrationLoader(connection).project_state(("calls", "0004_softphone_permission")).apps
    privacy_apps = MigrationLoader(connection).project_state(("privacy", "0002_manager_permissions")).apps
    texts_apps = MigrationLoader(connection).project_state(("calls", "0006_text_message_permissions")).apps

    def migrate_roles():
        roles.create_roles(state_apps, editor)
        softphone.grant(later_apps, editor)
        privacy.grant(privacy_apps, editor)
        text_messages.grant(texts_apps, editor)
        call_log_roles.grant(call_log_apps, editor)  # read calls, mark call-backs made

    migrate_roles()
    assert {g.name: codes(g) for g in Group.objects.all()} == before

    softphone.revoke(later_apps, editor)
    text_messages.revoke(texts_apps, editor)
    assert not {"calls.use_softphone", "calls.view_textmessage"} & codes(Group.objects.get(name="Service advisors"))
    roles.remove_roles(state_apps, editor)
    assert not Group.objects.filter(name__in=["Service advisors", "Managers"]).exists()

    migrate_roles()
    assert {g.name: codes(g) for g in Group.objects.all()} == before
