"""The SEU ledger as its holder, another participant, a trainer and an administrator use it: progress,
logging (plain and htmx), evidence, editing, paying and recording a payment, and who may see what."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from certification.models import Certification
from certification.services import activate, add_months
from renewals.models import Payment, Renewal, RenewalPolicy, RenewedCertification, SeuEntry
from tests.factories import (
    CertificationFactory,
    CourseFactory,
    SeuEntryFactory,
    UserFactory,
    certification_for,
    seu_category,
)
from tests.pages import texts_of

pytestmark = pytest.mark.django_db

LEDGER = "/me/renewal/"
TITLES = {"CSPO": "Certified Scrum Product Owner", "A-CSPO": "Advanced Certified Scrum Product Owner"}
TEST_CARD = "4242 4242 4242 4242"


@pytest.fixture(autouse=True)
def _test_card_and_temporary_media(settings, tmp_path):
    settings.CSPO_PAYMENT_PROVIDERS = ["manual", "test"]
    settings.MEDIA_ROOT = tmp_path / "media"


def certification_expiring(holder, trainer, *, in_days: int, kind: str = "CSPO") -> Certification:
    """An active certification of ``holder`` expiring ``in_days`` from today, activated the day that
    makes it so."""
    expires_on = timezone.localdate() + timedelta(days=in_days)
    course = CourseFactory(kind=kind, title=TITLES[kind])
    activated_on = add_months(expires_on, -course.validity_months)
    if kind == "CSPO":
        certification = certification_for(holder, trainer, activated_on=activated_on)
    else:
        pending = CertificationFactory(
            enrolment__participant=holder, enrolment__workshop__course=course, enrolment__workshop__lead_trainer=trainer
        )
        certification = activate(certification=pending, accept_license=True, today=activated_on)
    if certification.expires_on != expires_on:  # 29 February: add_months cannot go back and forth exactly
        Certification.objects.filter(pk=certification.pk).update(expires_on=expires_on)
        certification.refresh_from_db()
    return certification


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def log_entries(holder, *hours: str) -> list[SeuEntry]:
    """Entries of these hours on consecutive past days (inside any period that started weeks ago)."""
    return [SeuEntryFactory(holder=holder, hours=Decimal(h), earned_on=days_ago(10 + n)) for n, h in enumerate(hours)]


def entry_form(**changes) -> dict:
    data = {
        "earned_on": days_ago(3).isoformat(),
        "category": seu_category().pk,
        "hours": "3",
        "title": "Read Escaping the Build Trap",
        "description": "Outcomes over outputs.",
        "evidence_url": "",
        "good_faith": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def text(fragment: str) -> str:
    """What a person reads: tags are gaps, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def facts(page: str) -> dict[str, str]:
    """The renewal's facts, each term with what a person reads next to it."""
    dl = re.search(r'<dl class="facts">(.*?)</dl>', page, re.S).group(1)
    return {text(term): text(value) for term, value in re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", dl, re.S)}


def progress(page: str) -> tuple[Decimal, Decimal]:
    found = re.search(r'<progress id="seu-progress" max="([^"]+)" value="([^"]+)"', page)
    return Decimal(found.group(1)), Decimal(found.group(2))


def covers(page: str) -> str:
    return text(re.search(r"<p>This renewal covers.*?</p>", page, re.S).group(0))


def payment_key(page: str) -> str:
    form = re.search(r'<form[^>]*id="pay".*?</form>', page, re.S).group(0)
    return html.unescape(re.search(r'name="key" value="([^"]*)"', form).group(1))


def record_key(page: str) -> str:
    form = re.search(r'<form[^>]*aria-labelledby="record-heading".*?</form>', page, re.S).group(0)
    return html.unescape(re.search(r'name="key" value="([^"]*)"', form).group(1))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def long_date(day: date) -> str:
    return f"{day:%-d %B %Y}"


# --- What the holder sees --------------------------------------------------------------------


def test_ledger_shows_progress_days_left_and_fee(login, participant, trainer):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "3", "2.5")
    client = login(participant)

    response = client.get(LEDGER)

    page = response.content.decode()
    assert response.status_code == 200
    assert facts(page) == {
        "SEUs": "5.5 of 20 (14.5 to go)",
        "Days left": f"30 (until {long_date(certification.expires_on)})",
        "Renewal fee": "100.00 USD",
        "SEUs count from": long_date(certification.issued_on),
    }
    assert progress(page) == (Decimal("20"), Decimal("5.5"))
    assert "27% of the SEUs needed." in page
    assert covers(page) == (
        f"This renewal covers CSPO ({certification.certificant_number}, expires {long_date(certification.expires_on)})."
    )
    assert 'id="pay"' not in page  # nothing to pay before the SEUs are there


def test_ledger_names_both_certifications_a_renewal_covers(login, participant, trainer):
    # The A-CSPO first: earned later, it would have extended the CSPO to its own expiry date.
    advanced = certification_expiring(participant, trainer, in_days=200, kind="A-CSPO")
    cspo = certification_expiring(participant, trainer, in_days=30)
    client = login(participant)

    page = client.get(LEDGER).content.decode()

    assert covers(page) == (
        f"This renewal covers CSPO ({cspo.certificant_number}, expires {long_date(cspo.expires_on)}) "
        f"and A-CSPO ({advanced.certificant_number}, expires {long_date(advanced.expires_on)}). "
        "Several certifications renew together: the SEUs of the highest level, plus half of their own "
        "level’s SEUs for each other one, and one fee."
    )
    # A-CSPO's 30 SEUs and half of CSPO's 20; the fee of A-CSPO, the higher level, once.
    assert progress(page) == (Decimal("40"), Decimal("0"))
    assert facts(page) == {
        "SEUs": "0 of 40 (40 to go)",
        "Days left": f"30 (until {long_date(cspo.expires_on)})",
        "Renewal fee": "175.00 USD",
        "SEUs count from": long_date(cspo.issued_on),
    }


def test_ledger_without_a_certification_says_there_is_nothing_to_renew(login, participant):
    client = login(participant)

    page = client.get(LEDGER).content.decode()

    assert texts_of(page, "empty")[0].startswith("You hold no active certification to renew.")
    assert "seu-progress" not in page


# --- Logging an entry ------------------------------------------------------------------------


def test_ledger_plain_post_logs_the_entry_and_redirects(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    client = login(participant)

    response = client.post(LEDGER, entry_form())
    page = client.get(LEDGER)

    entry = SeuEntry.objects.get()
    assert (response.status_code, response["Location"]) == (302, LEDGER)
    assert (entry.holder, entry.earned_on, entry.hours, entry.title, entry.description) == (
        participant,
        days_ago(3),
        Decimal("3"),
        "Read Escaping the Build Trap",
        "Outcomes over outputs.",
    )
    assert messages_of(page) == ["Logged 3 SEUs for “Read Escaping the Build Trap”."]
    row = re.search(rf'<tr id="entry-{entry.pk}">.*?</tr>', page.content.decode(), re.S).group(0)
    assert text(row) == (
        f"{days_ago(3):%-d %b %Y} Read Escaping the Build Trap Outcomes over outputs. Learning 3 Counts "
        "Edit Read Escaping the Build Trap · Delete Read Escaping the Build Trap"
    )
    assert progress(page.content.decode()) == (Decimal("20"), Decimal("3"))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        pytest.param(
            {"earned_on": (timezone.localdate() + timedelta(days=1)).isoformat()},
            "earned_on",
            "The date cannot be in the future: log an activity once you have done it.",
            id="future-date",
        ),
        pytest.param({"hours": "9"}, "hours", "At most 8 SEUs count per day.", id="over-the-daily-cap"),
        pytest.param(
            {"good_faith": None},
            "good_faith",
            "Confirm that you completed this activity as described.",
            id="no-good-faith",
        ),
    ],
)
def test_ledger_invalid_post_answers_400_with_the_message_and_saves_nothing(
    login, participant, trainer, changes, field, message
):
    certification_expiring(participant, trainer, in_days=30)
    client = login(participant)

    response = client.post(LEDGER, entry_form(**changes))

    page = response.content.decode()
    assert response.status_code == 400
    assert texts_of(page, "error") == [message]
    assert f'<p class="error" id="id_{field}_error">' in page
    assert "Nothing was saved: correct the fields below." in page
    assert SeuEntry.objects.count() == 0


def test_ledger_post_over_the_days_room_says_how_much_more_fits(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    SeuEntryFactory(holder=participant, earned_on=days_ago(3), hours=Decimal("6"), title="Conference day")
    client = login(participant)

    response = client.post(LEDGER, entry_form(hours="3"))

    assert response.status_code == 400
    assert texts_of(response.content.decode(), "error") == [
        f"At most 8 SEUs count per day; you logged 6 on {long_date(days_ago(3))} already, so 2 more fit."
    ]
    assert list(SeuEntry.objects.values_list("title", flat=True)) == ["Conference day"]


def test_ledger_htmx_post_returns_only_the_ledger_region(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    client = login(participant)

    response = client.post(LEDGER, entry_form(), HTTP_HX_REQUEST="true")

    region = response.content.decode().strip()
    assert response.status_code == 200
    assert region.startswith('<div id="ledger">')
    assert region.endswith("</div>")
    assert "<html" not in region
    assert "<h1>" not in region
    assert texts_of(region, "messages") == ["Logged 3 SEUs for “Read Escaping the Build Trap”."]
    assert progress(region) == (Decimal("20"), Decimal("3"))
    assert f'<tr id="entry-{SeuEntry.objects.get().pk}">' in region
    assert 'name="title" value=' not in region  # a blank form for the next entry


def test_ledger_htmx_invalid_post_returns_the_region_with_the_errors(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    client = login(participant)

    response = client.post(LEDGER, entry_form(hours="9"), HTTP_HX_REQUEST="true")

    region = response.content.decode().strip()
    assert response.status_code == 200  # htmx swaps only 2xx answers; a plain post gets 400
    assert region.startswith('<div id="ledger">')
    assert texts_of(region, "error") == ["At most 8 SEUs count per day."]
    assert SeuEntry.objects.count() == 0


# --- Evidence files --------------------------------------------------------------------------

EVIDENCE = b"%PDF-1.4\n% certificate of attendance\n"


def download(client, url: str):
    """The response and its content; reading the content to the end closes the file (the test client
    closes a streamed response once it is read)."""
    response = client.get(url)
    content = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, content


def test_ledger_evidence_file_is_stored_and_downloadable_by_its_holder_and_administrators(
    client, login, participant, trainer, administrator
):
    certification_expiring(participant, trainer, in_days=30)
    login(participant)
    upload = SimpleUploadedFile("attendance.pdf", EVIDENCE, content_type="application/pdf")

    posted = client.post(LEDGER, entry_form(evidence_file=upload))

    entry = SeuEntry.objects.get()
    url = reverse("renewals:evidence", args=[entry.pk])
    assert posted.status_code == 302
    assert re.fullmatch(r"seu-evidence/\d{4}/attendance(_\w+)?\.pdf", entry.evidence_file.name)
    assert f'href="{url}"' in client.get(LEDGER).content.decode()
    own, own_content = download(client, url)
    assert (own.status_code, own_content) == (200, EVIDENCE)
    assert own["Content-Disposition"].startswith("attachment;")
    assert own["Cache-Control"] == "private, no-store"

    login(administrator)
    audited, audited_content = download(client, url)
    assert (audited.status_code, audited_content) == (200, EVIDENCE)

    login(UserFactory(email="sam@example.org"))
    other, _ = download(client, url)
    assert other.status_code == 404


def test_ledger_evidence_of_an_entry_without_a_file_is_not_found(login, participant):
    entry = SeuEntryFactory(holder=participant)
    client = login(participant)

    response = client.get(reverse("renewals:evidence", args=[entry.pk]))

    assert response.status_code == 404


# --- Editing and deleting --------------------------------------------------------------------


def test_ledger_edit_own_entry_saves_the_change(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    entry = SeuEntryFactory(holder=participant, earned_on=days_ago(5), hours=Decimal("2"), title="Webinar")
    url = reverse("renewals:edit_entry", args=[entry.pk])
    client = login(participant)

    shown = client.get(url)
    saved = client.post(url, entry_form(earned_on=days_ago(4).isoformat(), hours="2.5", title="Webinar on roadmaps"))

    entry.refresh_from_db()
    assert shown.status_code == 200
    assert shown.context["form"].initial["title"] == "Webinar"
    assert (saved.status_code, saved["Location"]) == (302, LEDGER)
    assert (entry.earned_on, entry.hours, entry.title) == (days_ago(4), Decimal("2.5"), "Webinar on roadmaps")


def test_ledger_edit_own_entry_keeps_the_rules(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    entry = SeuEntryFactory(holder=participant, earned_on=days_ago(5), hours=Decimal("2"), title="Webinar")
    client = login(participant)

    response = client.post(
        reverse("renewals:edit_entry", args=[entry.pk]), entry_form(earned_on=days_ago(5).isoformat(), hours="9")
    )

    entry.refresh_from_db()
    assert response.status_code == 400
    assert texts_of(response.content.decode(), "error") == ["At most 8 SEUs count per day."]
    assert (entry.hours, entry.title) == (Decimal("2"), "Webinar")


def test_ledger_delete_own_entry_removes_it(login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    entry = SeuEntryFactory(holder=participant, title="Webinar")
    url = reverse("renewals:delete_entry", args=[entry.pk])
    client = login(participant)

    asked = client.get(url)
    deleted = client.post(url, follow=True)

    assert asked.status_code == 200
    assert "Delete “Webinar”?" in asked.content.decode()
    assert deleted.redirect_chain == [(LEDGER, 302)]
    assert messages_of(deleted) == ["Deleted “Webinar”."]
    assert SeuEntry.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "method"),
    [("edit_entry", "get"), ("edit_entry", "post"), ("delete_entry", "get"), ("delete_entry", "post")],
)
def test_ledger_entry_of_another_participant_is_not_found(login, participant, trainer, name, method):
    certification_expiring(participant, trainer, in_days=30)
    theirs = SeuEntryFactory(holder=participant, earned_on=days_ago(5), hours=Decimal("2"), title="Webinar")
    client = login(UserFactory(email="sam@example.org"))

    response = getattr(client, method)(reverse(f"renewals:{name}", args=[theirs.pk]), entry_form(title="Mine now"))

    unchanged = SeuEntry.objects.get(pk=theirs.pk)
    assert response.status_code == 404
    assert (unchanged.holder, unchanged.earned_on, unchanged.hours, unchanged.title) == (
        participant,
        days_ago(5),
        Decimal("2"),
        "Webinar",
    )


def test_ledger_entry_used_by_a_renewal_is_kept_as_it_is(client, login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    used = log_entries(participant, "8", "8", "4")[0]
    login(participant)
    key = payment_key(client.get(LEDGER).content.decode())
    client.post(reverse("renewals:pay"), {"key": key, "provider": "test", "card_number": TEST_CARD})
    edit_url = reverse("renewals:edit_entry", args=[used.pk])
    delete_url = reverse("renewals:delete_entry", args=[used.pk])

    page = client.get(LEDGER).content.decode()
    edit_page = client.get(edit_url)
    edit_post = client.post(edit_url, entry_form(earned_on=used.earned_on.isoformat(), title="Changed"))
    delete_post = client.post(delete_url, follow=True)

    row = text(re.search(rf'<tr id="entry-{used.pk}">.*?</tr>', page, re.S).group(0))
    assert f"Used by the renewal of {timezone.localdate():%-d %b %Y}" in row
    assert row.endswith("Kept as it is")
    assert f'href="{edit_url}"' not in page
    assert f'href="{delete_url}"' not in page
    assert edit_page.status_code == 200
    assert texts_of(edit_page.content.decode(), "form-errors") == ["This entry is kept as it is: a renewal used it."]
    assert 'name="title"' not in edit_page.content.decode()
    assert texts_of(edit_post.content.decode(), "form-errors") == ["This entry is kept as it is: a renewal used it."]
    assert messages_of(delete_post) == ["This entry was used by a renewal; it is kept as it is."]
    kept = SeuEntry.objects.get(pk=used.pk)
    assert (kept.title, kept.hours, kept.renewal_id) == (used.title, Decimal("8"), Renewal.objects.get().pk)


# --- Paying --------------------------------------------------------------------------------


def test_ledger_pay_with_the_test_card_renews_and_shows_the_new_expiry(client, login, participant, trainer):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    login(participant)
    page = client.get(LEDGER).content.decode()
    new_expiry = add_months(certification.expires_on, 24)

    response = client.post(
        reverse("renewals:pay"),
        {"key": payment_key(page), "provider": "test", "card_number": TEST_CARD},
        follow=True,
    )

    certification.refresh_from_db()
    assert "Pay 100.00 USD and renew" in page
    assert response.redirect_chain == [(reverse("certification:my_certifications"), 302)]
    assert messages_of(response) == [
        f"Thank you: renewed CSPO until {long_date(new_expiry)}. Your new certificate is ready."
    ]
    section = re.search(
        rf'<section[^>]*id="certification-{certification.pk}".*?</section>', response.content.decode(), re.S
    ).group(0)
    assert f"Valid until {long_date(new_expiry)}" in text(section)
    assert certification.expires_on == new_expiry
    payment = Payment.objects.get()
    assert (payment.provider, payment.amount, payment.holder, payment.recorded_by) == (
        "test",
        Decimal("100.00"),
        participant,
        participant,
    )


def test_ledger_pay_posted_twice_renews_once(client, login, participant, trainer):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    login(participant)
    form = {"key": payment_key(client.get(LEDGER).content.decode()), "provider": "test", "card_number": TEST_CARD}

    first = client.post(reverse("renewals:pay"), form)
    second = client.post(reverse("renewals:pay"), form)  # a double click, or the back button and again

    certification.refresh_from_db()
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == reverse("certification:my_certifications")
    assert (Renewal.objects.count(), Payment.objects.count()) == (1, 1)
    assert certification.expires_on == add_months(certification.issued_on, 48)
    assert list(certification.renewals.values_list("previous_expiry", flat=True)) == [
        add_months(certification.issued_on, 24)
    ]


def test_ledger_pay_with_a_declined_card_answers_400_and_renews_nothing(client, login, participant, trainer):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    login(participant)
    key = payment_key(client.get(LEDGER).content.decode())

    response = client.post(
        reverse("renewals:pay"), {"key": key, "provider": "test", "card_number": "4000 0000 0000 0002"}
    )

    assert response.status_code == 400
    assert "The card was declined. Nothing was charged." in texts_of(response.content.decode(), "form-errors")
    assert Renewal.objects.count() == 0
    assert Certification.objects.get(pk=certification.pk).expires_on == certification.expires_on


def test_ledger_pay_before_the_seus_are_logged_says_why_it_is_refused(client, login, participant, trainer):
    # The pay form of another tab, from before an entry was deleted here.
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8")
    login(participant)
    key = f"renewal:{participant.pk}:{certification.pk}@{certification.expires_on.isoformat()}"

    response = client.post(reverse("renewals:pay"), {"key": key, "provider": "test", "card_number": TEST_CARD})

    assert response.status_code == 400
    assert Renewal.objects.count() == 0
    assert "12 more SEUs are needed before renewing (8 of 20)." in text(response.content.decode())


# --- Trainers and administrators ---------------------------------------------------------------


def test_ledger_of_another_person_is_forbidden_to_a_trainer(client, login, participant, trainer):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    url = reverse("renewals:holder_ledger", args=[participant.pk])
    login(participant)
    key = payment_key(client.get(LEDGER).content.decode())
    login(trainer)

    opened = client.get(url)
    recorded = client.post(url, {"key": key, "reference": "INV-1"})

    assert (opened.status_code, recorded.status_code) == (403, 403)
    assert Renewal.objects.count() == 0
    assert Certification.objects.get(pk=certification.pk).expires_on == certification.expires_on


def test_ledger_of_another_person_is_forbidden_to_a_participant(login, participant):
    client = login(UserFactory(email="sam@example.org"))

    response = client.get(reverse("renewals:holder_ledger", args=[participant.pk]))

    assert response.status_code == 403


def test_ledger_of_anyone_is_shown_to_an_administrator(login, participant, trainer, administrator):
    certification_expiring(participant, trainer, in_days=30)
    entry = SeuEntryFactory(holder=participant, title="Lean Coffee Toronto", hours=Decimal("1.5"))
    client = login(administrator)

    response = client.get(reverse("renewals:holder_ledger", args=[participant.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>SEU ledger of Pat Participant</h1>" in page
    assert facts(page)["SEUs"] == "1.5 of 20 (18.5 to go)"
    assert f'<tr id="entry-{entry.pk}">' in page
    assert reverse("renewals:edit_entry", args=[entry.pk]) not in page  # the holder's word is the holder's
    assert "Log an activity" not in page


def test_ledger_administrator_records_a_payment_with_a_reference_and_renews(
    client, login, participant, trainer, administrator
):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    url = reverse("renewals:holder_ledger", args=[participant.pk])
    login(administrator)
    page = client.get(url).content.decode()

    response = client.post(url, {"key": record_key(page), "reference": "INV-2026-0042"}, follow=True)

    certification.refresh_from_db()
    payment = Payment.objects.get()
    assert "Record a payment of 100.00 USD" in page
    assert response.redirect_chain == [(url, 302)]
    assert messages_of(response) == ["Payment recorded; Pat Participant is renewed."]
    assert certification.expires_on == add_months(certification.issued_on, 48)
    assert (payment.provider, payment.reference, payment.holder, payment.recorded_by) == (
        "manual",
        "INV-2026-0042",
        participant,
        administrator,
    )


def test_ledger_administrator_payment_without_a_reference_is_refused(
    client, login, participant, trainer, administrator
):
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    url = reverse("renewals:holder_ledger", args=[participant.pk])
    login(administrator)
    key = record_key(client.get(url).content.decode())

    response = client.post(url, {"key": key, "reference": ""})

    assert response.status_code == 400
    assert texts_of(response.content.decode(), "error") == ["This field is required."]
    assert Renewal.objects.count() == 0
    assert Certification.objects.get(pk=certification.pk).expires_on == certification.expires_on


def test_ledger_administrator_cannot_pay_with_the_holders_card(client, login, participant, trainer, administrator):
    """renewals:pay renews the signed-in person's own certifications only."""
    certification = certification_expiring(participant, trainer, in_days=30)
    log_entries(participant, "8", "8", "4")
    login(participant)
    key = payment_key(client.get(LEDGER).content.decode())
    login(administrator)

    response = client.post(reverse("renewals:pay"), {"key": key, "provider": "test", "card_number": TEST_CARD})

    assert response.status_code == 400
    assert Renewal.objects.count() == 0
    assert Certification.objects.get(pk=certification.pk).expires_on == certification.expires_on


# --- Anonymous ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("ledger", "get"),
        ("ledger", "post"),
        ("pay", "post"),
        ("edit_entry", "get"),
        ("delete_entry", "post"),
        ("evidence", "get"),
        ("holder_ledger", "get"),
        ("holder_ledger", "post"),
        ("dashboard", "get"),
        ("dashboard_export", "get"),
    ],
)
def test_ledger_urls_send_anonymous_visitors_to_log_in(client, participant, name, method):
    entry = SeuEntryFactory(holder=participant)
    args = {"edit_entry": [entry.pk], "delete_entry": [entry.pk], "evidence": [entry.pk]}
    args["holder_ledger"] = [participant.pk]
    url = reverse(f"renewals:{name}", args=args.get(name, []))

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"
    assert SeuEntry.objects.count() == 1


# --- Query counts -------------------------------------------------------------------------------


def test_ledger_lists_fifty_entries_a_page_newest_first(client, login, participant, trainer):
    certification_expiring(participant, trainer, in_days=30)
    for number in range(60):
        SeuEntryFactory(holder=participant, earned_on=days_ago(1 + number), hours=Decimal("1"))
    login(participant)

    first = client.get(LEDGER)
    second = client.get(LEDGER, {"page": 2})

    assert [e.earned_on for e in first.context["entries"]] == [days_ago(1 + n) for n in range(50)]
    assert [e.earned_on for e in second.context["entries"]] == [days_ago(1 + n) for n in range(50, 60)]
    assert "1–50 of 60, newest first" in first.content.decode()
    assert first.context["quote"].seus_earned == 60  # the quote counts every entry, not one page


@pytest.mark.parametrize("count", [5, 200])
def test_ledger_query_count_is_flat(client, login, participant, trainer, django_assert_num_queries, count):
    cspo = certification_expiring(participant, trainer, in_days=30)
    certification_expiring(participant, trainer, in_days=200, kind="A-CSPO")
    renewal = Renewal.objects.create(
        holder=participant,
        renewed_on=days_ago(400),
        seus_required=Decimal("20"),
        seus_used=Decimal("20"),
        fee=Decimal("100"),
        currency="USD",
    )
    RenewedCertification.objects.create(
        renewal=renewal,
        certification=cspo,
        previous_expiry=add_months(cspo.expires_on, -24),
        new_expiry=cspo.expires_on,
    )
    for number in range(count):
        SeuEntryFactory(
            holder=participant,
            earned_on=days_ago(1 + number % 300),
            hours=Decimal("1.25"),
            renewal=renewal if number % 3 == 0 else None,
            evidence_file="seu-evidence/2026/receipt.pdf" if number % 4 == 0 else "",
            evidence_url="https://example.org/webinar" if number % 5 == 0 else "",
        )
    login(participant)
    RenewalPolicy.current()  # read once, then from the cache

    # the session, the user; the renewable certifications with their level; the number of entries
    # with the SEUs that count, added up; the page of entries with their category and renewal; the
    # past renewals with their payment, their items, the items' certifications and courses; the
    # form's categories
    with django_assert_num_queries(10):
        response = client.get(LEDGER)

    assert response.status_code == 200
    assert len(response.context["entries"]) == min(count, 50)  # fifty a page
    assert response.context["entries_page"].paginator.count == count
