from django.db import migrations, models

# The role each known course's trainer confirms understanding of; any other course: Product Owner.
ROLES = {"CSM": "Scrum Master", "A-CSM": "Scrum Master", "CSP-SM": "Scrum Master", "CSD": "Developer"}


def name_the_roles(apps, schema_editor):
    Course = apps.get_model("workshops", "Course")
    for kind, role in ROLES.items():
        Course.objects.filter(kind=kind).update(role=role)


class Migration(migrations.Migration):
    dependencies = [("workshops", "0008_bounded_prework_and_offer_times")]

    operations = [
        migrations.AddField(
            model_name="course",
            name="role",
            field=models.CharField(
                default="Product Owner",
                help_text="The role whose understanding the trainer confirms at the end of a workshop "
                "(“understanding of the Product Owner role”).",
                max_length=60,
            ),
        ),
        migrations.RunPython(name_the_roles, migrations.RunPython.noop),
    ]
