"""Managers read the retention runs and the privacy log, and may export and erase customers' data; advisors may not."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGERS = "Managers"
CODENAMES = ("view_retentionrun", "view_privacyrequest", "export_customer_data", "erase_customer_data")


def grant(apps, schema_editor):
    # On a fresh database permissions are only created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("privacy")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="privacy", codename__in=CODENAMES)
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGERS):
        group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="privacy", codename__in=CODENAMES)
    for group in apps.get_model("auth", "Group").objects.filter(name=MANAGERS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("scheduling", "0002_roles"),  # the groups
    ]

    operations = [migrations.RunPython(grant, revoke)]
