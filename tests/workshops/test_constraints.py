"""The database itself refuses bad rows, whatever code tries to write them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import CourseFactory, EnrolmentFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Enrolment, WorkshopSession

pytestmark = pytest.mark.django_db


def test_session_ending_before_it_starts_is_refused():
    workshop = WorkshopFactory()
    first = WorkshopSessionFactory(workshop=workshop)

    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopSession.objects.create(
            workshop=workshop, starts_at=first.starts_at + timedelta(days=1), ends_at=first.starts_at
        )

    assert WorkshopSession.objects.filter(workshop=workshop).count() == 1


def test_session_ending_when_it_starts_is_refused():
    session = WorkshopSessionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopSession.objects.filter(pk=session.pk).update(ends_at=session.starts_at)


def test_overlapping_sessions_of_one_workshop_are_refused():
    day_one = WorkshopSessionFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopSession.objects.create(
            workshop=day_one.workshop,
            starts_at=day_one.starts_at + timedelta(hours=7),
            ends_at=day_one.ends_at + timedelta(hours=7),
        )

    assert day_one.workshop.sessions.count() == 1


def test_moving_a_session_onto_another_is_refused():
    day_one = WorkshopSessionFactory()
    day_two = WorkshopSessionFactory(workshop=day_one.workshop, starts_at=day_one.starts_at + timedelta(days=1))

    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopSession.objects.filter(pk=day_two.pk).update(starts_at=day_one.starts_at + timedelta(hours=1))


def test_back_to_back_sessions_and_other_workshops_at_the_same_time_are_allowed():
    morning = WorkshopSessionFactory()
    afternoon = WorkshopSession.objects.create(
        workshop=morning.workshop, starts_at=morning.ends_at, ends_at=morning.ends_at + timedelta(hours=2)
    )
    elsewhere = WorkshopSessionFactory(starts_at=morning.starts_at)

    assert morning.workshop.sessions.count() == 2
    assert afternoon.pk is not None
    assert elsewhere.workshop != morning.workshop


def test_an_overlapping_session_gets_a_friendly_message_before_the_database():
    day_one = WorkshopSessionFactory()
    clash = WorkshopSession(
        workshop=day_one.workshop, starts_at=day_one.starts_at + timedelta(hours=1), ends_at=day_one.ends_at
    )

    with pytest.raises(ValidationError) as error:
        clash.full_clean()

    assert error.value.messages == ["This session overlaps another session of the same workshop."]


def test_enrolling_the_same_person_twice_in_a_workshop_is_refused():
    enrolment = EnrolmentFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(participant=enrolment.participant, workshop=enrolment.workshop)

    assert Enrolment.objects.count() == 1


def test_workshop_without_a_seat_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkshopFactory(capacity=0)


def test_a_course_cannot_be_its_own_prerequisite():
    course = CourseFactory(kind="A-CSPO")
    course.prerequisite = course

    with pytest.raises(IntegrityError), transaction.atomic():
        course.save()


def test_a_time_zone_must_be_a_real_iana_name():
    workshop = WorkshopFactory.build(time_zone="Mars/Olympus_Mons", course=CourseFactory())

    with pytest.raises(ValidationError) as error:
        workshop.full_clean(exclude=["lead_trainer"])

    assert "time_zone" in error.value.message_dict
