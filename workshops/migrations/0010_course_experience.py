from django.db import migrations, models

# Months of work in the role, within five years, each advanced course needs before its certification is
# activated (DOMAIN: A-CSPO 12 months, CSP-PO 24).
EXPERIENCE_MONTHS = {"A-CSPO": 12, "A-CSM": 12, "CSP-PO": 24, "CSP-SM": 24}


def set_the_experience(apps, schema_editor):
    Course = apps.get_model("workshops", "Course")
    for kind, months in EXPERIENCE_MONTHS.items():
        Course.objects.filter(kind=kind).update(experience_months=months)


class Migration(migrations.Migration):
    dependencies = [("workshops", "0009_course_role")]

    operations = [
        migrations.AddField(
            model_name="course",
            name="experience_months",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Months of work in the role, within the last “experience years”, that a participant "
                "states before the certification is activated (A-CSPO: 12, CSP-PO: 24). Until then it stays "
                "pending. 0: none.",
            ),
        ),
        migrations.AddField(
            model_name="course",
            name="experience_years",
            field=models.PositiveSmallIntegerField(default=5, help_text="The years back in which that work counts."),
        ),
        migrations.RunPython(set_the_experience, migrations.RunPython.noop),
    ]
