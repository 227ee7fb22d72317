"""Who sees what in the managers' call log (calls/views.py):

- Service advisors read calls (list, detail, call-backs, live calls) and mark call-backs as made
  (`change_call`: the admin never lets anybody edit a call, so this is all it grants);
- Managers hold every calls permission, the dashboard and recordings included (as the roles migration wants).

It also fills `Call.worst_latency_ms` for calls recorded before the field existed.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Max

ADVISORS = "Service advisors"
MANAGERS = "Managers"
ADVISOR_CALL_PERMISSIONS = ["view_call", "view_turn", "view_toolcall", "change_call"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("calls")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    calls_permissions = Permission.objects.filter(content_type__app_label="calls")
    advisors, _ = Group.objects.get_or_create(name=ADVISORS)
    advisors.permissions.add(*calls_permissions.filter(codename__in=ADVISOR_CALL_PERMISSIONS))
    managers, _ = Group.objects.get_or_create(name=MANAGERS)
    managers.permissions.add(*calls_permissions)

    Call = apps.get_model("calls", "Call")
    Turn = apps.get_model("calls", "Turn")
    worst = (
        Turn.objects.filter(role="agent", stt_ms__isnull=False, first_audio_ms__isnull=False)
        .values("call_id")
        .annotate(worst=Max("first_audio_ms"))
    )
    for row in worst.iterator():
        Call.objects.filter(pk=row["call_id"]).update(worst_latency_ms=row["worst"])


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    advisors = Group.objects.filter(name=ADVISORS).first()
    if advisors is not None:
        advisors.permissions.remove(
            *Permission.objects.filter(content_type__app_label="calls", codename__in=ADVISOR_CALL_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("scheduling", "0002_roles"),
        ("calls", "0007_call_log_ui"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
