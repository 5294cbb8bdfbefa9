"""Demo people: an administrator, two trainers and forty participants, the same on every run."""

from __future__ import annotations

from dataclasses import dataclass

from .models import User

DEMO_PASSWORD = "cspo-demo"

FIRST_NAMES = [
    "Amara", "Ben", "Chloé", "Dev", "Elif", "Farah", "Gabriel", "Hana", "Ines", "Jonas",
    "Kofi", "Lena", "Mateo", "Noor", "Olu", "Paula", "Quentin", "Rosa", "Sami", "Tara",
]  # fmt: skip
LAST_NAMES = ["Okafor", "Lindqvist", "Tremblay", "Nakamura", "Haddad", "Kowalski", "Moreau", "Singh"]


@dataclass
class DemoPeople:
    administrator: User
    trainers: list[User]
    participants: list[User]


def _person(email: str, full_name: str, **roles) -> User:
    user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name, **roles})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def seed_people() -> DemoPeople:
    administrator = _person(
        "admin@cspo.example", "Alex Administrator", is_staff=True, is_superuser=True, is_participant=False
    )
    trainers = [
        _person("trainer@cspo.example", "Jordan Reyes", is_trainer=True, is_participant=False),
        # A trainer who also takes a course: both roles in one account.
        _person("trainer2@cspo.example", "Priya Natarajan", is_trainer=True, is_participant=True),
    ]
    participants = [
        _person(
            f"participant{n:02d}@cspo.example",
            f"{FIRST_NAMES[(n - 1) % len(FIRST_NAMES)]} {LAST_NAMES[(n - 1) % len(LAST_NAMES)]}",
        )
        for n in range(1, 41)
    ]
    return DemoPeople(administrator=administrator, trainers=trainers, participants=participants)


def seed_marks(workshop, trainer: User) -> int:
    """Half a sheet for the running workshop: its first session marked (mostly present, two late,
    one absent), later sessions left for the trainer. Only once: a sheet with marks is left alone."""
    from workshops.models import Enrolment

    from .models import AttendanceMark
    from .services import record_mark

    first = workshop.sessions.order_by("starts_at").first()
    if first is None or AttendanceMark.objects.filter(session__workshop=workshop).exists():
        return 0
    enrolments = list(workshop.enrolments.filter(status=Enrolment.Status.ENROLLED).order_by("pk"))
    for number, enrolment in enumerate(enrolments):
        presence, minutes = {3: ("late", 20), 7: ("late", 45), 11: ("absent", 0)}.get(number, ("present", 0))
        record_mark(
            enrolment=enrolment, session=first, by=trainer, presence=presence, minutes=minutes,
            participated=presence != "absent" and number % 5 != 4, now=first.ends_at,
        )  # fmt: skip
    return len(enrolments)
