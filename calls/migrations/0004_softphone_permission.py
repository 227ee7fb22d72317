"""The softphone's own permission, for the two staff roles: being staff is not enough to call the agent as a customer."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = ("Service advisors", "Managers")
CODENAME = "use_softphone"


def grant(apps, schema_editor):
    # Permissions of a new Meta option exist only after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("calls")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="calls", codename=CODENAME)
    for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
        group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(content_type__app_label="calls", codename=CODENAME).first()
    if permission is not None:
        for group in apps.get_model("auth", "Group").objects.filter(name__in=GROUPS):
            group.permissions.remove(permission)


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
