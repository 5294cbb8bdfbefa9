"""Taking another certification course extends the earlier ones (DOMAIN): activating a new
certification moves each of the holder's current certifications to its expiry date, once, recorded."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from certification import services
from certification.models import Certification, CourseExtension
from tests.factories import CertificationFactory, CourseFactory, UserFactory, certification_for

pytestmark = pytest.mark.django_db

EARNED_ON = date(2026, 6, 1)  # the new course's activation day
NEW_EXPIRY = date(2028, 6, 1)


def advanced_certification(holder, trainer) -> Certification:
    """An A-CSPO of ``holder``, pending activation."""
    course = CourseFactory(kind="A-CSPO", title="Advanced Certified Scrum Product Owner")
    return CertificationFactory(
        enrolment__participant=holder, enrolment__workshop__course=course, enrolment__workshop__lead_trainer=trainer
    )


def expiry_of(certification: Certification) -> date:
    return Certification.objects.get(pk=certification.pk).expires_on


def test_activating_a_new_certification_extends_a_current_one_to_its_expiry(participant, trainer):
    cspo = certification_for(participant, trainer, activated_on=date(2025, 1, 10))  # until 10 January 2027

    advanced = services.activate(
        certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON
    )

    assert advanced.expires_on == NEW_EXPIRY
    cspo.refresh_from_db()
    assert (cspo.expires_on, cspo.membership_until) == (NEW_EXPIRY, NEW_EXPIRY)
    extension = CourseExtension.objects.get()
    assert (extension.certification, extension.earned) == (cspo, advanced)
    assert (extension.previous_expiry, extension.new_expiry) == (date(2027, 1, 10), NEW_EXPIRY)


def test_a_certification_expired_beyond_the_grace_period_or_revoked_is_not_extended(
    participant, trainer, administrator
):
    # The later one first: earned after the other, it would have extended it.
    revoked = certification_for(participant, trainer, activated_on=date(2025, 3, 1))
    expired = certification_for(participant, trainer, activated_on=date(2024, 3, 1))  # 92 days before EARNED_ON
    services.revoke(certification=revoked, by=administrator, reason="Misrepresentation")

    services.activate(certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON)

    assert (expiry_of(expired), expiry_of(revoked)) == (date(2026, 3, 1), date(2027, 3, 1))
    assert not CourseExtension.objects.exists()


def test_a_certification_in_its_grace_period_is_extended_so_it_is_not_renewed_with_the_new_one(participant, trainer):
    """Expired 1 May 2026, renewable until 30 July (90 days' grace): the new course renews it, as a late
    renewal would. Otherwise the next renewal would take it with the new certification, for the higher
    level's SEUs and fee, and push the new one two more years out."""
    in_grace = certification_for(participant, trainer, activated_on=date(2024, 5, 1))

    services.activate(certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON)

    assert expiry_of(in_grace) == NEW_EXPIRY
    extension = CourseExtension.objects.get()
    assert (extension.certification, extension.previous_expiry) == (in_grace, date(2026, 5, 1))


def test_a_certification_running_longer_than_the_new_one_is_left_as_it_is(participant, trainer):
    renewed = certification_for(participant, trainer, activated_on=date(2025, 1, 10))
    Certification.objects.filter(pk=renewed.pk).update(expires_on=date(2029, 1, 10))  # renewed already

    services.activate(certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON)

    assert expiry_of(renewed) == date(2029, 1, 10)
    assert not CourseExtension.objects.exists()


def test_someone_elses_certification_is_not_extended(participant, trainer):
    other = certification_for(UserFactory(email="sam@example.org"), trainer, activated_on=date(2025, 1, 10))

    services.activate(certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON)

    assert expiry_of(other) == date(2027, 1, 10)


def test_revoking_the_new_certification_puts_the_earlier_one_back_to_its_own_dates(participant, trainer, administrator):
    cspo = certification_for(participant, trainer, activated_on=date(2025, 1, 10))
    membership = cspo.membership_until
    advanced = services.activate(
        certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON
    )

    services.revoke(certification=advanced, by=administrator, reason="Misrepresentation")

    cspo.refresh_from_db()
    assert (cspo.expires_on, cspo.membership_until) == (date(2027, 1, 10), membership)
    assert not CourseExtension.objects.exists()


def test_revoking_the_new_certification_leaves_an_earlier_one_renewed_since(participant, trainer, administrator):
    cspo = certification_for(participant, trainer, activated_on=date(2025, 1, 10))
    advanced = services.activate(
        certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON
    )
    services.extend(certification=Certification.objects.get(pk=cspo.pk))  # renewed and paid: to 1 June 2030

    services.revoke(certification=advanced, by=administrator, reason="Misrepresentation")

    assert expiry_of(cspo) == date(2030, 6, 1)


def test_the_activation_page_says_which_certifications_now_run_longer(client, participant, trainer):
    today = date.today()
    cspo = certification_for(participant, trainer, activated_on=today - timedelta(days=200))
    token = services.activation_token(advanced_certification(participant, trainer))

    response = client.post(f"/activate/{token}/", {"accept": "on"}, follow=True)

    advanced = Certification.objects.get(course__kind="A-CSPO")
    assert expiry_of(cspo) == advanced.expires_on
    assert f"Your CSPO now runs until {advanced.expires_on:%-d %B %Y} as well." in response.content.decode()


def test_an_administrator_sees_the_extension_on_the_certification(client, administrator, participant, trainer):
    cspo = certification_for(participant, trainer, activated_on=date(2025, 1, 10))
    services.activate(certification=advanced_certification(participant, trainer), accept_license=True, today=EARNED_ON)
    administrator.is_superuser = True  # the admin site's permissions
    administrator.save()
    client.force_login(administrator)

    page = client.get(f"/admin/certification/certification/{cspo.pk}/change/").content.decode()

    assert "Course extensions" in page
    assert "Jan. 10, 2027" in page  # the expiry it had before


def test_the_activation_page_names_every_certification_it_extended(client, participant, trainer):
    today = date.today()
    certification_for(participant, trainer, activated_on=today - timedelta(days=300))
    csm = CertificationFactory(
        enrolment__participant=participant,
        enrolment__workshop__course=CourseFactory(kind="CSM", title="Certified ScrumMaster"),
        enrolment__workshop__lead_trainer=trainer,
    )
    services.activate(certification=csm, accept_license=True, today=today - timedelta(days=200))  # extends the CSPO
    token = services.activation_token(advanced_certification(participant, trainer))

    page = client.post(f"/activate/{token}/", {"accept": "on"}, follow=True).content.decode()

    advanced = Certification.objects.get(course__kind="A-CSPO")
    assert f"Your CSPO and CSM now run until {advanced.expires_on:%-d %B %Y} as well." in page
