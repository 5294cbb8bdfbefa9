from django.db import migrations, models
from django.db.models import F


def tried_no_later_than_written(apps, schema_editor):
    """Messages tried before this field: their last attempt came after they were written, which is
    enough for the periodic job to find one whose retry was lost (``stranded_emails``)."""
    OutboundEmail = apps.get_model("participants", "OutboundEmail")
    OutboundEmail.objects.filter(attempts__gt=0, last_attempt_at__isnull=True).update(last_attempt_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0006_mark_credit_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundemail",
            name="last_attempt_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(tried_no_later_than_written, migrations.RunPython.noop),
    ]
