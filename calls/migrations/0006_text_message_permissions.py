"""Who sees the texts outbox: advisors read it (they see reminders too), managers have everything on it."""

from django.db import migrations

from bartsvoice.migration_permissions import Permissions, grant_permissions, revoke_permissions

GRANTS = {
    "Managers": [Permissions("calls", model="textmessage")],
    "Service advisors": [Permissions("calls", model="textmessage", codenames=("view_textmessage",))],
}
# Undone: every texts permission, from both roles.
REVOKES = {group: [Permissions("calls", model="textmessage")] for group in GRANTS}


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, REVOKES)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_call_reminder_and_text_messages"),
        ("scheduling", "0002_roles"),  # the groups
    ]

    operations = [migrations.RunPython(grant, revoke)]
