"""The softphone's own permission, for the two staff roles: being staff is not enough to call the agent as a customer."""

from django.db import migrations

from bartsvoice.migration_permissions import Permissions, grant_permissions, revoke_permissions

GROUPS = ("Service advisors", "Managers")
CODENAME = "use_softphone"
GRANTS = {group: [Permissions("calls", codenames=(CODENAME,))] for group in GROUPS}


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0003_call_callback"),
        ("scheduling", "0002_roles"),  # the groups
    ]

    operations = [
        migrations.AlterModelOptions(
            name="call",
            options={"ordering": ["-started_at"], "permissions": [("use_softphone", "Can use the softphone")]},
        ),
        migrations.RunPython(grant, revoke),
    ]
