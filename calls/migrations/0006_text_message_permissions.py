"""Who sees the texts outbox: advisors read it (they see reminders too), managers have everything on it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    # Permissions of a new model exist only after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("calls")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    texts = Permission.objects.filter(content_type__app_label="calls", content_type__model="textmessage")
    for group in Group.objects.filter(name="Managers"):
        group.permissions.add(*texts)
    for group in Group.objects.filter(name="Service advisors"):
        group.permissions.add(*texts.filter(codename="view_textmessage"))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    texts = Permission.objects.filter(content_type__app_label="calls", content_type__model="textmessage")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=("Managers", "Service advisors")):
        group.permissions.remove(*texts)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_call_reminder_and_text_messages"),
        ("scheduling", "0002_roles"),  # the groups
    ]

    operations = [migrations.RunPython(grant, revoke)]
