from __future__ import annotations

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_enrolments(apps, schema_editor):
    """Changes recorded before a change knew its enrolment take it from their mark."""
    MarkChange = apps.get_model("participants", "MarkChange")
    AttendanceMark = apps.get_model("participants", "AttendanceMark")
    MarkChange.objects.filter(enrolment__isnull=True).update(
        enrolment=Subquery(AttendanceMark.objects.filter(pk=OuterRef("mark_id")).values("enrolment_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("participants", "0004_history_of_a_participant"), ("workshops", "0005_workshop_schedule_version")]

    operations = [
        migrations.RunPython(fill_enrolments, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="markchange",
            name="enrolment",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE, related_name="mark_changes", to="workshops.enrolment"
            ),
        ),
    ]
