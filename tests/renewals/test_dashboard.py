"""The administrators' expiry dashboard: how many certifications expire within 30, 60 and 90 days and
how many of their holders could renew today, the list for one window, and its CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from certification.models import Certification
from certification.services import activate, add_months
from renewals.models import RenewalPolicy
from tests.factories import CertificationFactory, CourseFactory, SeuEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/renewals/dashboard/"
EXPORT = "/renewals/dashboard/export.csv"
HEADER = [
    "Certificant number", "Name", "E-mail", "Course", "Expires on", "Days left",
    "SEUs logged", "SEUs required", "Enough SEUs", "Fee", "Currency",
]  # fmt: skip


def certification_expiring(holder, trainer, *, in_days: int, kind: str = "CSPO") -> Certification:
    """An active certification of ``holder`` expiring ``in_days`` from today (negative: expired),
    activated the day that makes it so."""
    expires_on = timezone.localdate() + timedelta(days=in_days)
    course = CourseFactory(kind=kind, title=f"{kind} course")
    pending = CertificationFactory(
        enrolment__participant=holder, enrolment__workshop__course=course, enrolment__workshop__lead_trainer=trainer
    )
    certification = activate(
        certification=pending, accept_license=True, today=add_months(expires_on, -course.validity_months)
    )
    if certification.expires_on != expires_on:  # 29 February: add_months cannot go back and forth exactly
        Certification.objects.filter(pk=certification.pk).update(expires_on=expires_on)
        certification.refresh_from_db()
    return certification


def log_seus(holder, *hours: str) -> None:
    """Entries of these hours on consecutive days a week or more ago, inside the current period."""
    today = timezone.localdate()
    for n, h in enumerate(hours):
        SeuEntryFactory(holder=holder, hours=Decimal(h), earned_on=today - timedelta(days=7 + n))


@pytest.fixture
def expiring(trainer) -> dict[int, Certification]:
    """Certifications expiring in 10, 45 and 80 days; only the 45-day holder logged the 20 SEUs, the
    80-day one 12. Around them, what the dashboard leaves out: a certification expiring in 120 days,
    one expired five days ago, one of a course that does not renew, and one never activated."""
    holders = {
        10: UserFactory(email="ten@example.org", full_name="Tina Ten"),
        45: UserFactory(email="fortyfive@example.org", full_name="Felix Fortyfive"),
        80: UserFactory(email="eighty@example.org", full_name="Erin Eighty"),
    }
    made = {days: certification_expiring(holder, trainer, in_days=days) for days, holder in holders.items()}
    log_seus(holders[45], "8", "8", "4")
    log_seus(holders[80], "8", "4")
    certification_expiring(UserFactory(full_name="Later Larry"), trainer, in_days=120)
    certification_expiring(UserFactory(full_name="Expired Ed"), trainer, in_days=-5)
    certification_expiring(UserFactory(full_name="Coffee Cat"), trainer, in_days=20, kind="LEAN")
    CertificationFactory(enrolment__participant=UserFactory(full_name="Pending Pia"))
    return made


def holders_expiring(trainer, count: int) -> None:
    """``count`` holders, one certification each expiring a day or so apart; every other one has
    logged enough SEUs to renew."""
    for number in range(count):
        holder = UserFactory()
        certification_expiring(holder, trainer, in_days=1 + number * 2)
        if number % 2:
            log_seus(holder, "8", "8", "4")


def text(fragment: str) -> str:
    """What a person reads: tags are gaps, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def summary(page: str) -> dict[str, tuple[str, str, str, str]]:
    """Each window of the summary table: certifications, enough SEUs, not yet, the meter's percent."""
    table = re.search(r'<table class="summary">.*?</table>', page, re.S).group(0)
    rows = {}
    for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S):
        cells = [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        meter = re.search(r'<meter [^>]*value="(\d+)"', row).group(1)
        rows[cells[0]] = (cells[1], cells[2], cells[3], meter)
    return rows


def listed(page: str) -> list[str]:
    section = re.search(r'<section aria-labelledby="list-heading">.*?</section>', page, re.S).group(0)
    return [text(row) for row in re.findall(r"<tr><td>.*?</tr>", section, re.S)]


def short_date(day: date) -> str:
    return f"{day:%-d %b %Y}"


def test_dashboard_summary_counts_expiring_certifications_and_holders_ready(login, administrator, expiring):
    client = login(administrator)

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert summary(response.content.decode()) == {
        "30 days": ("1", "0", "1", "0"),
        "60 days": ("2", "1", "1", "50"),
        "90 days": ("3", "1", "2", "33"),
    }


def test_dashboard_summary_is_counted_every_ten_minutes_and_the_list_is_current(
    login, administrator, trainer, expiring
):
    client = login(administrator)
    client.get(DASHBOARD)
    newcomer = certification_expiring(UserFactory(), trainer, in_days=5)

    page = client.get(DASHBOARD, {"days": 30}).content.decode()

    assert summary(page)["30 days"][0] == "1"  # as counted a moment ago
    assert newcomer.certificant_number in " ".join(listed(page))
    assert "the counts are refreshed every ten minutes" in text(page)


def test_dashboard_sixty_days_lists_the_certifications_expiring_within_them(login, administrator, expiring):
    client = login(administrator)

    response = client.get(DASHBOARD, {"days": 60})

    page = response.content.decode()
    ten, fortyfive = expiring[10], expiring[45]
    assert '<h2 id="list-heading">Expiring within 60 days</h2>' in page
    assert [certification.pk for certification, _ in response.context["rows"]] == [ten.pk, fortyfive.pk]
    assert listed(page) == [
        f"{short_date(ten.expires_on)} Tina Ten ten@example.org CSPO · {ten.certificant_number} 0 / 20 "
        "20 missing Open the ledger of Tina Ten",
        f"{short_date(fortyfive.expires_on)} Felix Fortyfive fortyfive@example.org CSPO · "
        f"{fortyfive.certificant_number} 20 / 20 Yes Open the ledger of Felix Fortyfive",
    ]
    assert f'href="{reverse("renewals:holder_ledger", args=[fortyfive.holder_id])}"' in page
    assert f'href="{EXPORT}?days=60"' in page


def test_dashboard_window_it_does_not_offer_shows_the_default_one(login, administrator, expiring):
    client = login(administrator)

    default = client.get(DASHBOARD)
    unknown = client.get(DASHBOARD, {"days": "365"})

    assert default.context["days"] in (30, 60, 90)
    assert unknown.context["days"] == default.context["days"]
    assert listed(unknown.content.decode()) == listed(default.content.decode())


def test_dashboard_export_has_a_header_and_one_row_per_expiring_certification(login, administrator, expiring):
    client = login(administrator)

    response = client.get(EXPORT, {"days": 90})

    content = b"".join(response.streaming_content).decode()
    today = timezone.localdate()

    def row(days: int, seus: str, enough: str) -> list[str]:
        c = expiring[days]
        expires_on = c.expires_on.isoformat()
        return [c.certificant_number, c.holder.full_name, c.holder.email, "CSPO", expires_on, str(days), seus, "20",
                enough, "100.00", "USD"]  # fmt: skip

    rows = [row(10, "0", "no"), row(45, "20", "yes"), row(80, "12", "no")]
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="expiring-90-days-{today:%Y-%m-%d}.csv"'
    assert list(csv.reader(io.StringIO(content))) == [HEADER, *rows]


@pytest.mark.parametrize("url", [DASHBOARD, EXPORT])
@pytest.mark.parametrize("who", ["trainer", "participant"])
def test_dashboard_is_forbidden_to_anyone_but_administrators(login, request, expiring, url, who):
    client = login(request.getfixturevalue(who))

    response = client.get(url)

    assert response.status_code == 403


@pytest.mark.parametrize("url", [DASHBOARD, EXPORT])
def test_dashboard_sends_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("count", [3, 40])
def test_dashboard_query_count_is_flat(login, administrator, trainer, django_assert_num_queries, count):
    holders_expiring(trainer, count)
    client = login(administrator)
    RenewalPolicy.current()  # read once, then from the cache

    # the session, the user; the list's page (not counted: the summary counts), and for its quotes the
    # renewable certifications and the SEU entries; the summary, counted by one query on PostgreSQL
    # (in Python elsewhere: the holders' renewable certifications, their SEU entries, the expiry dates)
    with django_assert_num_queries(6 if connection.vendor == "postgresql" else 8):
        response = client.get(DASHBOARD, {"days": 90})
    # within ten minutes: the summary comes from the cache
    with django_assert_num_queries(5):
        again = client.get(DASHBOARD, {"days": 90})

    assert len(response.context["rows"]) == count
    assert summary(response.content.decode())["90 days"][0] == str(count)
    assert summary(again.content.decode()) == summary(response.content.decode())


@pytest.mark.parametrize("count", [3, 40])
def test_dashboard_export_query_count_is_flat(login, administrator, trainer, django_assert_num_queries, count):
    holders_expiring(trainer, count)
    client = login(administrator)
    RenewalPolicy.current()  # read once, then from the cache

    # the session, the user; a batch of certifications with holder and course, the
    # holders' renewable certifications and SEU entries; the empty next batch
    with django_assert_num_queries(6):
        response = client.get(EXPORT, {"days": 90})
        lines = b"".join(response.streaming_content).decode().splitlines()

    assert len(lines) == 1 + count


def test_dashboard_list_pages_through_every_certification_due_soonest_first(login, administrator, trainer):
    for number in range(52):
        certification_expiring(UserFactory(), trainer, in_days=1 + number % 26)  # two a day
    client = login(administrator)

    first = client.get(DASHBOARD, {"days": 90})
    second = client.get(DASHBOARD, {"days": 90, "page": 2})

    listed_pks = [c.pk for c, _ in first.context["rows"]] + [c.pk for c, _ in second.context["rows"]]
    due = Certification.objects.filter(expires_on__lte=timezone.localdate() + timedelta(days=90))
    assert listed_pks == list(due.order_by("expires_on", "pk").values_list("pk", flat=True))
    assert len(first.context["rows"]) == 50
    assert len(listed_pks) == 52
    assert pager(first) == ("Page 1", None, "?days=90&page=2")
    assert pager(second) == ("Page 2", "?days=90&page=1", None)
    assert '<p class="muted">51–52, soonest first.</p>' in second.content.decode()


def pager(response) -> tuple[str, str | None, str | None]:
    """What the list's pager says, and where its previous and next links go."""
    nav = re.search(
        r'<nav aria-label="Pages of expiring certifications" class="pager">(.*?)</nav>', response.content.decode(), re.S
    ).group(1)
    links = {rel: html.unescape(href) for href, rel in re.findall(r'<a href="([^"]*)" rel="(\w+)"', nav)}
    return re.search(r"<span>(.*?)</span>", nav).group(1), links.get("prev"), links.get("next")


def test_dashboard_page_beyond_the_end_shows_the_last_page(login, administrator, trainer, django_assert_num_queries):
    for number in range(53):
        certification_expiring(UserFactory(), trainer, in_days=1 + number % 26)
    client = login(administrator)
    client.get(DASHBOARD)  # the summary counted, then kept ten minutes

    # the session, the user, the page asked for (empty), the number due, the last page, its quotes
    with django_assert_num_queries(7):
        response = client.get(DASHBOARD, {"days": 90, "page": 9})

    assert len(response.context["rows"]) == 3
    assert pager(response) == ("Page 2", "?days=90&page=1", None)


@pytest.mark.parametrize("asked", ["abc", "0", "-3", "", "99999999999999999999999999"])
def test_dashboard_page_number_that_is_no_page_number_shows_a_page(login, administrator, trainer, asked):
    for number in range(51):
        certification_expiring(UserFactory(), trainer, in_days=1 + number % 26)
    client = login(administrator)

    response = client.get(DASHBOARD, {"days": 90, "page": asked})

    assert response.status_code == 200
    if asked.startswith("9999"):  # beyond the end: the last page
        assert pager(response) == ("Page 2", "?days=90&page=1", None)
    else:
        assert pager(response) == ("Page 1", None, "?days=90&page=2")


def test_dashboard_with_nothing_due_says_so_in_three_queries(login, administrator, django_assert_num_queries):
    client = login(administrator)
    client.get(DASHBOARD)  # the summary counted, then kept ten minutes

    # the session, the user, the list's first page (empty: no quotes to make)
    with django_assert_num_queries(3):
        response = client.get(DASHBOARD, {"days": 90})

    assert response.context["rows"] == []
    assert summary(response.content.decode())["90 days"][0] == "0"
    assert "No certification expires within 90 days." in response.content.decode()


def test_dashboard_page_beyond_the_end_of_nothing_due_says_so(login, administrator, django_assert_num_queries):
    client = login(administrator)
    client.get(DASHBOARD)

    # the session, the user, the page asked for (empty), the number due (none: nothing more to read)
    with django_assert_num_queries(4):
        response = client.get(DASHBOARD, {"days": 90, "page": 2})

    assert response.context["rows"] == []
    assert "No certification expires within 90 days." in response.content.decode()
