"""From the trainer's submission to a framed certificate: the worker sends the activation e-mail
(captured), the participant follows the link, activates, downloads the PDF, and the public
verification page says the certification is valid. Headless Chromium against a live server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from certification.models import Certification
from participants.services import confirm_understanding, record_mark
from tests.factories import PASSWORD, EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Workshop

pytestmark = pytest.mark.e2e


def _completed_workshop(trainer) -> Workshop:
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING, title="CSPO Toronto")
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)
    sessions = [
        WorkshopSessionFactory(
            workshop=workshop, starts_at=start + timedelta(days=d), ends_at=start + timedelta(days=d, hours=7)
        )
        for d in range(2)
    ]
    newcomer = UserFactory(email="nora@example.org", full_name="Nora Newcomer", password=None)
    newcomer.set_unusable_password()
    newcomer.save()
    enrolment = EnrolmentFactory(workshop=workshop, participant=newcomer)
    for session in sessions:
        record_mark(enrolment=enrolment, session=session, by=trainer, presence="present", participated=True)
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)
    return workshop


def _log_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_from_submission_to_a_verified_certificate(page: Page, live_server, transactional_db, trainer):
    workshop = _completed_workshop(trainer)
    _log_in(page, live_server.url, trainer.email)

    page.goto(f"{live_server.url}/trainer/workshops/{workshop.pk}/certification/")
    expect(page.get_by_role("heading", name="Eligible (1)")).to_be_visible()
    page.get_by_role("button", name="Submit 1 participant for certification").click()
    expect(page.get_by_text("Submitted: 1 participants will receive an e-mail")).to_be_visible()

    activation = next(message for message in mail.outbox if message.to == ["nora@example.org"])
    link = re.search(r"https?://\S+/activate/\S+/", activation.body).group(0)
    path = link.split("/activate/", 1)[1]
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/activate/{path}")
    page.get_by_label("I accept the license agreement").check()
    page.get_by_label("Password", exact=True).fill("a-long-Secret-2026")
    page.get_by_label(re.compile("^(Password confirmation|Confirm password|Repeat the password)")).fill(
        "a-long-Secret-2026"
    )
    page.get_by_role("button", name=re.compile("Activate")).click()

    certification = Certification.objects.get()
    expect(page.get_by_text(re.compile("certification is active until"))).to_be_visible()
    # The certificate opens inline in the browser's viewer: fetch it with the page's own session.
    href = page.get_by_role("link", name="Download certificate (PDF)").get_attribute("href")
    pdf = page.request.get(f"{live_server.url}{href}")
    assert (pdf.status, pdf.headers["content-type"], pdf.body()[:5]) == (200, "application/pdf", b"%PDF-")

    page.context.clear_cookies()  # the public, as anyone sees it
    page.goto(f"{live_server.url}/verify/{certification.certificant_number}/")
    expect(page.locator("#main").get_by_text("Nora Newcomer", exact=True)).to_be_visible()
    expect(page.locator("#main").get_by_text(re.compile(r"\bValid\b")).first).to_be_visible()
