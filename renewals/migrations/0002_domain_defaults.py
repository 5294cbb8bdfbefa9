"""The renewal rules of DOMAIN.md as the first rows an administrator can then change."""

from __future__ import annotations

from decimal import Decimal

from django.db import migrations

LEVELS = [("Foundational", 1, "20", "100"), ("Advanced", 2, "30", "175"), ("Professional", 3, "40", "250")]
COURSE_LEVELS = {"CSM": 1, "CSPO": 1, "CSD": 1, "A-CSM": 2, "A-CSPO": 2, "CSP-SM": 3, "CSP-PO": 3}
CATEGORIES = [
    ("Events", "Conferences, gatherings, meetups such as our Lean Coffee"),
    ("Learning", "Courses, coaching, webinars, reading"),
    ("Volunteering", "Volunteer service to the Scrum community"),
    ("Other", "Other collaborative learning"),
]


def forwards(apps, schema_editor):
    RenewalLevel = apps.get_model("renewals", "RenewalLevel")
    SeuCategory = apps.get_model("renewals", "SeuCategory")
    RenewalPolicy = apps.get_model("renewals", "RenewalPolicy")
    Course = apps.get_model("workshops", "Course")
    levels = {}
    for name, rank, seus, fee in LEVELS:
        levels[rank], _ = RenewalLevel.objects.get_or_create(
            rank=rank, defaults={"name": name, "seus_required": Decimal(seus), "fee": Decimal(fee), "currency": "USD"}
        )
    categories = {}
    for position, (name, description) in enumerate(CATEGORIES):
        categories[name], _ = SeuCategory.objects.get_or_create(
            name=name, defaults={"description": description, "position": position}
        )
    RenewalPolicy.objects.get_or_create(pk=1, defaults={"community_category": categories["Events"]})
    for kind, rank in COURSE_LEVELS.items():
        Course.objects.filter(kind=kind, renewal_level__isnull=True).update(renewal_level=levels[rank])


class Migration(migrations.Migration):
    dependencies = [
        ("renewals", "0001_initial"),
        ("workshops", "0007_course_is_community_event_course_renewal_level"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
