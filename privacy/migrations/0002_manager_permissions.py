"""Managers read the retention runs and the privacy log, and may export and erase customers' data; advisors may not."""

from django.db import migrations

from bartsvoice.migration_permissions import Permissions, grant_permissions, revoke_permissions

MANAGERS = "Managers"
CODENAMES = ("view_retentionrun", "view_privacyrequest", "export_customer_data", "erase_customer_data")
GRANTS = {MANAGERS: [Permissions("privacy", codenames=CODENAMES)]}


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("scheduling", "0002_roles"),  # the groups
    ]

    operations = [migrations.RunPython(grant, revoke)]
