"""Who sees what in the managers' call log (calls/views.py):

- Service advisors read calls (list, detail, call-backs, live calls) and mark call-backs as made
  (`change_call`: the admin never lets anybody edit a call, so this is all it grants);
- Managers hold every calls permission, the dashboard and recordings included (as the roles migration wants).

It also fills `Call.worst_latency_ms` for calls recorded before the field existed.
"""

from django.db import migrations
from django.db.models import Max

from bartsvoice.migration_permissions import Permissions, grant_permissions, revoke_permissions

ADVISORS = "Service advisors"
MANAGERS = "Managers"
ADVISOR_CALL_PERMISSIONS = ["view_call", "view_turn", "view_toolcall", "change_call"]
ADVISOR_GRANTS = {ADVISORS: [Permissions("calls", codenames=tuple(ADVISOR_CALL_PERMISSIONS))]}
GRANTS = {**ADVISOR_GRANTS, MANAGERS: [Permissions("calls")]}


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, GRANTS, create_groups=True)

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
    revoke_permissions(apps, ADVISOR_GRANTS)  # managers keep the calls permissions the roles migration gave them


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("scheduling", "0002_roles"),
        ("calls", "0007_call_log_ui"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
