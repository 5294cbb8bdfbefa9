from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import factory
from django.utils import timezone

from certification.models import Certification, Submission
from certification.services import activate
from participants.models import User
from participants.services import confirm_understanding, record_mark
from renewals.models import RenewalLevel, SeuCategory, SeuEntry
from workshops.models import Course, Enrolment, Workshop, WorkshopSession

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("kind",)

    kind = "CSPO"
    title = "Certified Scrum Product Owner"
    minimum_contact_hours = Decimal("14")
    renewal_level = factory.LazyAttribute(lambda course: renewal_level(COURSE_LEVELS.get(course.kind)))
    role = factory.LazyAttribute(lambda course: COURSE_ROLES.get(course.kind, "Product Owner"))


# The course kinds and their renewal levels, as the data migration writes them (tests/conftest.py
# writes its rows again after a transactional test empties the tables).
COURSE_LEVELS = import_module("renewals.migrations.0002_domain_defaults").COURSE_LEVELS
COURSE_ROLES = import_module("workshops.migrations.0009_course_role").ROLES


def renewal_level(rank: int | None) -> RenewalLevel | None:
    return RenewalLevel.objects.get(rank=rank) if rank is not None else None


def seu_category(name: str = "Learning") -> SeuCategory:
    return SeuCategory.objects.get_or_create(name=name)[0]


class WorkshopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workshop

    course = factory.SubFactory(CourseFactory)
    lead_trainer = factory.SubFactory(UserFactory, is_trainer=True, is_participant=False)
    title = factory.Sequence(lambda n: f"CSPO workshop {n}")
    format = Workshop.Format.IN_PERSON
    venue_address = "100 Queen St W, Toronto"
    time_zone = "America/Toronto"
    capacity = 20
    price = Decimal("1295.00")
    status = Workshop.Status.PUBLISHED


class WorkshopSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopSession

    workshop = factory.SubFactory(WorkshopFactory)
    starts_at = factory.Sequence(lambda n: timezone.now().replace(microsecond=0) + timedelta(days=7 + n))
    ends_at = factory.LazyAttribute(lambda session: session.starts_at + timedelta(hours=8))


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    participant = factory.SubFactory(UserFactory)
    workshop = factory.SubFactory(WorkshopFactory)
    status = Enrolment.Status.ENROLLED


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    workshop = factory.SubFactory(WorkshopFactory)
    submitted_by = factory.SelfAttribute("workshop.lead_trainer")


class CertificationFactory(factory.django.DjangoModelFactory):
    """Pending activation; ``certification_for`` makes an active one the way people do."""

    class Meta:
        model = Certification

    enrolment = factory.SubFactory(EnrolmentFactory)
    holder = factory.SelfAttribute("enrolment.participant")
    course = factory.SelfAttribute("enrolment.workshop.course")
    submission = factory.SubFactory(SubmissionFactory, workshop=factory.SelfAttribute("..enrolment.workshop"))


def certification_for(holder, trainer, *, activated_on: date | None = None) -> Certification:
    """A certification from a workshop ``trainer`` led, pending unless ``activated_on`` is given."""
    certification = CertificationFactory(enrolment__participant=holder, enrolment__workshop__lead_trainer=trainer)
    if activated_on is not None:
        certification = activate(certification=certification, accept_license=True, today=activated_on)
    return certification


class SeuEntryFactory(factory.django.DjangoModelFactory):
    """An entry as the ledger stores it; the rules are the service's (``log_seu_entry``)."""

    class Meta:
        model = SeuEntry

    holder = factory.SubFactory(UserFactory)
    earned_on = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=30))
    category = factory.LazyFunction(seu_category)
    hours = Decimal("2")
    title = factory.Sequence(lambda n: f"Product discovery webinar {n}")
    confirmed_at = factory.LazyFunction(timezone.now)


def workshop_with_daily_sessions(*hours: float, days_from_now: int = -10, status=Workshop.Status.RUNNING, **fields):
    """A workshop with one session a day, each lasting ``hours``, the first ``days_from_now`` away."""
    workshop = WorkshopFactory(status=status, **fields)
    first = timezone.now().replace(microsecond=0) + timedelta(days=days_from_now)
    sessions = [
        WorkshopSessionFactory(
            workshop=workshop, starts_at=first + timedelta(days=day), ends_at=first + timedelta(days=day, hours=length)
        )
        for day, length in enumerate(hours)
    ]
    return workshop, sessions


def marked_sheet(trainer, participants: int, sessions: int) -> Workshop:
    """A running workshop of ``trainer`` with a 7-hour session a day: marks in most cells (one in three
    left empty), and half the rows with understanding confirmed, all through the services."""
    workshop, days = workshop_with_daily_sessions(*[7] * sessions, lead_trainer=trainer)
    presences = [("present", 0), ("late", 15), ("left_early", 30), ("absent", 0)]
    for row, enrolment in enumerate(EnrolmentFactory.create_batch(participants, workshop=workshop)):
        for column, session in enumerate(days):
            if (row + column) % 3:
                presence, minutes = presences[(row + column) % 4]
                record_mark(enrolment=enrolment, session=session, by=trainer, presence=presence, minutes=minutes)
        if row % 2:
            confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)
    return workshop
