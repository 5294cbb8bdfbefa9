from django.db import migrations, models
from django.db.models import F


def everyone_was_told(apps, schema_editor):
    """Every change before this one was told at once, as it was made."""
    apps.get_model("workshops", "Workshop").objects.update(schedule_told_version=F("schedule_version"))


class Migration(migrations.Migration):
    dependencies = [("workshops", "0011_roster_import")]

    operations = [
        migrations.AddField(
            model_name="workshop",
            name="schedule_told_version",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text="The schedule version the people enrolled and waiting were told of.",
            ),
        ),
        migrations.RunPython(everyone_was_told, migrations.RunPython.noop),
    ]
