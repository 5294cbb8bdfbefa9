"""Demo courses and workshops: past, running and upcoming, in two time zones, with enrolments.

Dates are relative to the day the command first runs; a later run finds the same workshops by
title and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import import_module
from zoneinfo import ZoneInfo

from django.utils import timezone

from participants.demo import DemoPeople
from renewals.models import RenewalLevel

from .models import Course, Enrolment, PreworkItem, Workshop, WorkshopSession
from .services import send_due_prework

COURSES = [
    # kind, title, minimum contact hours, exam, prerequisite, renewal level, community event
    ("CSPO", "Certified Scrum Product Owner", Decimal("14"), False, None, "Foundational", False),
    ("CSM", "Certified ScrumMaster", Decimal("14"), True, None, "Foundational", False),
    ("A-CSPO", "Advanced Certified Scrum Product Owner", Decimal("16"), False, "CSPO", "Advanced", False),
    ("LEAN-COFFEE", "Lean Coffee meetup", Decimal("1"), False, None, None, True),
]


@dataclass(frozen=True)
class DemoWorkshop:
    title: str
    course: str
    trainer: int  # index into the demo trainers
    co_trainer: int | None
    format: str
    time_zone: str
    status: str
    first_day: int  # days from today
    day_starts: time
    day_ends: time
    days: int
    participants: range  # indexes into the demo participants
    capacity: int = 20
    waiting: range = range(0)  # indexes of demo participants on the waiting list
    prework: bool = False


WORKSHOPS = [
    DemoWorkshop("CSPO · Toronto, in person", "CSPO", 0, None, Workshop.Format.IN_PERSON, "America/Toronto",
                 Workshop.Status.COMPLETED, -30, time(9), time(17), 2, range(0, 12)),
    # Two years ago: their certifications are expiring now, or expired already.
    DemoWorkshop("CSPO · Toronto, in person (two years ago)", "CSPO", 0, None, Workshop.Format.IN_PERSON,
                 "America/Toronto", Workshop.Status.COMPLETED, -700, time(9), time(17), 2, range(12, 18)),
    DemoWorkshop("CSPO · Live online (two years ago)", "CSPO", 1, None, Workshop.Format.ONLINE, "Europe/London",
                 Workshop.Status.COMPLETED, -780, time(9), time(17), 2, range(18, 22)),
    DemoWorkshop("CSPO · Live online, four afternoons", "CSPO", 0, 1, Workshop.Format.ONLINE, "Europe/London",
                 Workshop.Status.RUNNING, -1, time(13), time(16, 30), 4, range(10, 26), prework=True),
    DemoWorkshop("CSM · Toronto, in person", "CSM", 0, None, Workshop.Format.IN_PERSON, "America/Toronto",
                 Workshop.Status.PUBLISHED, 21, time(9), time(17), 2, range(26, 36), capacity=10,
                 waiting=range(36, 39), prework=True),
    DemoWorkshop("CSPO · Live online, next week", "CSPO", 0, None, Workshop.Format.ONLINE, "America/Toronto",
                 Workshop.Status.PUBLISHED, 5, time(10), time(17), 2, range(38, 40), prework=True),
    DemoWorkshop("CSPO · Ottawa, in person", "CSPO", 1, None, Workshop.Format.IN_PERSON, "America/Toronto",
                 Workshop.Status.PUBLISHED, 35, time(9), time(17), 2, range(30, 38)),
    DemoWorkshop("A-CSPO · Live online", "A-CSPO", 1, 0, Workshop.Format.ONLINE, "Europe/London",
                 Workshop.Status.PUBLISHED, 42, time(9), time(13), 4, range(0, 6), capacity=12),
    # The free monthly community meetup: attending credits SEUs to certificants.
    DemoWorkshop("Lean Coffee · monthly meetup", "LEAN-COFFEE", 1, None, Workshop.Format.ONLINE, "America/Toronto",
                 Workshop.Status.COMPLETED, -10, time(12), time(13), 1, range(10, 17), capacity=40),
    DemoWorkshop("CSPO · London, in person (draft)", "CSPO", 1, None, Workshop.Format.IN_PERSON, "Europe/London",
                 Workshop.Status.DRAFT, 70, time(9), time(17), 2, range(0, 0)),
]  # fmt: skip


# The role each course confirms understanding of, and the work in it an advanced course needs, as the data
# migrations set them.
COURSE_ROLES = import_module("workshops.migrations.0009_course_role").ROLES
EXPERIENCE_MONTHS = import_module("workshops.migrations.0010_course_experience").EXPERIENCE_MONTHS


def seed_courses() -> dict[str, Course]:
    courses: dict[str, Course] = {}
    levels = {level.name: level for level in RenewalLevel.objects.all()}
    for kind, title, hours, exam, prerequisite, level, community in COURSES:
        courses[kind], _ = Course.objects.get_or_create(
            kind=kind,
            defaults={
                "title": title,
                "minimum_contact_hours": hours,
                "has_exam": exam,
                "role": COURSE_ROLES.get(kind, "Product Owner"),
                "experience_months": EXPERIENCE_MONTHS.get(kind, 0),
                "prerequisite": courses.get(prerequisite) if prerequisite else None,
                "renewal_level": levels.get(level),
                "is_community_event": community,
                "validity_months": 24,
            },
        )
    return courses


def _price(plan: DemoWorkshop) -> Decimal:
    if plan.course == "LEAN-COFFEE":
        return Decimal("0.00")
    return Decimal("1295.00") if plan.format == Workshop.Format.IN_PERSON else Decimal("995.00")


def _sessions(plan: DemoWorkshop, today: date) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(plan.time_zone)
    first = today + timedelta(days=plan.first_day)
    return [
        (
            datetime.combine(first + timedelta(days=n), plan.day_starts, tzinfo=zone),
            datetime.combine(first + timedelta(days=n), plan.day_ends, tzinfo=zone),
        )
        for n in range(plan.days)
    ]


def seed_workshops(people: DemoPeople, *, today: date | None = None) -> list[Workshop]:
    today = today or timezone.localdate()
    courses = seed_courses()
    workshops = []
    for plan in WORKSHOPS:
        lead = people.trainers[plan.trainer]
        workshop, created = Workshop.objects.get_or_create(
            title=plan.title,
            lead_trainer=lead,
            defaults={
                "course": courses[plan.course],
                "format": plan.format,
                "time_zone": plan.time_zone,
                "status": plan.status,
                "capacity": plan.capacity,
                "price": _price(plan),
                "venue_address": "100 Queen St W, Toronto, ON" if plan.format == Workshop.Format.IN_PERSON else "",
                "meeting_url": "https://meet.example.com/cspo-demo" if plan.format == Workshop.Format.ONLINE else "",
                "description": f"A demo {plan.course} workshop.",
            },
        )
        if created:
            WorkshopSession.objects.bulk_create(
                WorkshopSession(workshop=workshop, starts_at=start, ends_at=end)
                for start, end in _sessions(plan, today)
            )
            if plan.co_trainer is not None:
                workshop.co_trainers.add(people.trainers[plan.co_trainer])
            if plan.prework:
                PreworkItem.objects.create(workshop=workshop, title="The Scrum Guide", url="https://scrumguides.org/")
                PreworkItem.objects.create(
                    workshop=workshop, title="Product Owner pre-reading", url="https://www.scrumalliance.org/"
                )
        for index in plan.participants:
            Enrolment.objects.get_or_create(participant=people.participants[index], workshop=workshop)
        for position, index in enumerate(plan.waiting):
            Enrolment.objects.get_or_create(
                participant=people.participants[index],
                workshop=workshop,
                defaults={
                    "status": Enrolment.Status.WAITLISTED,
                    "waitlisted_at": timezone.now() - timedelta(days=3) + timedelta(hours=position),
                },
            )
        workshops.append(workshop)
    # Pre-work whose time has come goes out as it would from the periodic job (once per enrolment).
    send_due_prework()
    return workshops
