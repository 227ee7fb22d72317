"""The two staff roles as groups: Service advisors (day-to-day booking) and Managers (everything, call logs too)."""

from django.db import migrations

from bartsvoice.migration_permissions import create_permissions_now

ADVISORS = "Service advisors"
MANAGERS = "Managers"

ADVISOR_PERMISSIONS = [
    *(f"{action}_{model}" for model in ("crm.customer", "crm.vehicle", "scheduling.appointment")
      for action in ("view", "add", "change")),
    *(f"view_{model}" for model in ("scheduling.servicetype", "scheduling.businesshours", "scheduling.closure",
                                    "scheduling.servicebay", "scheduling.reminderattempt")),
]
MANAGER_APPS = ("crm", "scheduling", "calls")


def _permission(Permission, dotted):
    action, _, rest = dotted.partition("_")
    app_label, model = rest.split(".")
    return Permission.objects.get(
        content_type__app_label=app_label, content_type__model=model, codename=f"{action}_{model}"
    )


def create_roles(apps, schema_editor):
    # On a fresh database permissions are only created after all migrations (post_migrate); create them now.
    create_permissions_now(apps, schema_editor, "auth", "contenttypes", *MANAGER_APPS)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    advisors, _ = Group.objects.get_or_create(name=ADVISORS)
    advisors.permissions.set([_permission(Permission, p) for p in ADVISOR_PERMISSIONS])

    managers, _ = Group.objects.get_or_create(name=MANAGERS)
    managers.permissions.set(Permission.objects.filter(content_type__app_label__in=MANAGER_APPS))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[ADVISORS, MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("crm", "0001_initial"),
        ("calls", "0001_initial"),
        ("scheduling", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
