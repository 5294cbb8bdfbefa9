"""An administrator enrols people one by one or imports a roster file: all of it or none of it."""

from __future__ import annotations

import html
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from participants.models import OutboundEmail, User
from tests.factories import EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Enrolment, RosterImport, Workshop
from workshops.roster_import import (
    STOPPED,
    RosterRejected,
    import_roster,
    parse_roster,
    progress_of,
    run_roster_import,
    run_stranded_roster_imports,
    start_roster_import,
)
from workshops.services import cancel_workshop

pytestmark = pytest.mark.django_db

GOOD_ROSTER = b"name,e-mail\nKim Lee,kim.lee@example.org\nSam Ortiz,sam.ortiz@example.org\nAlex Chen,alex@example.org\n"


@pytest.fixture
def workshop(trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=20)
    WorkshopSessionFactory(workshop=workshop)
    return workshop


def upload(client, workshop, data: bytes, name: str = "roster.csv"):
    return client.post(
        reverse("workshops:roster_import", args=[workshop.pk]),
        {"roster": SimpleUploadedFile(name, data, content_type="text/csv")},
    )


def snapshot(workshop):
    """Everything an import could change: enrolments, people and the outbox."""
    return (
        list(Enrolment.objects.filter(workshop=workshop).order_by("pk").values()),
        list(User.objects.order_by("pk").values()),
        OutboundEmail.objects.count(),
    )


def problems_of(data: bytes) -> list[tuple[int | None, str, str]]:
    return [(p.row, p.column, p.reason) for p in parse_roster(data=data).problems]


# --- Importing a good file --------------------------------------------------------------------


def test_roster_import_good_file_enrols_everyone_and_creates_accounts(
    login, administrator, workshop, django_capture_on_commit_callbacks
):
    client = login(administrator)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, workshop, GOOD_ROSTER)

    job = RosterImport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("workshops:roster_import_status", args=[workshop.pk, job.pk])
    enrolments = Enrolment.objects.filter(workshop=workshop).select_related("participant").order_by("pk")
    assert [(e.participant.full_name, e.participant.email, e.status) for e in enrolments] == [
        ("Kim Lee", "kim.lee@example.org", Enrolment.Status.ENROLLED),
        ("Sam Ortiz", "sam.ortiz@example.org", Enrolment.Status.ENROLLED),
        ("Alex Chen", "alex@example.org", Enrolment.Status.ENROLLED),
    ]
    assert all(not e.participant.has_usable_password() for e in enrolments)
    assert sorted(message.to[0] for message in mail.outbox) == [
        "alex@example.org",
        "kim.lee@example.org",
        "sam.ortiz@example.org",
    ]
    page = client.get(response.url).content.decode()
    summary = (
        "Roster imported: 3 enrolled, 0 put on the waiting list, 0 already there (unchanged); 3 new accounts created."
    )
    assert summary in page
    assert (job.state, job.rows, job.enrolled, job.accounts_created, bytes(job.data)) == ("done", 3, 3, 3, b"")


def test_roster_import_keeps_an_existing_account_and_counts_only_new_ones(administrator, workshop):
    existing = UserFactory(email="kim.lee@example.org", full_name="Kimberly Lee")

    result = import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    assert (result.enrolled, result.waitlisted, result.already_there, result.accounts_created) == (3, 0, 0, 2)
    existing.refresh_from_db()
    assert existing.full_name == "Kimberly Lee"
    assert existing.has_usable_password()


def test_roster_import_accepts_other_header_names_in_any_case_with_a_byte_order_mark(administrator, workshop):
    data = "\ufeffE-Mail , Full Name,Company\r\nKIM.LEE@Example.ORG, Kim  Lee ,Acme\r\n".encode()

    result = import_roster(workshop=workshop, data=data, by=administrator)

    assert result.enrolled == 1
    assert User.objects.get(email="kim.lee@example.org").full_name == "Kim Lee"


def test_roster_import_reads_a_windows_spreadsheet_export(administrator, workshop):
    data = "name,email\nRenée Côté,renee@example.org\n".encode("cp1252")

    result = import_roster(workshop=workshop, data=data, by=administrator)

    assert result.enrolled == 1
    assert User.objects.get(email="renee@example.org").full_name == "Renée Côté"


def test_roster_import_full_workshop_puts_the_overflow_on_the_waiting_list(administrator, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=2)
    WorkshopSessionFactory(workshop=workshop)

    result = import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    assert (result.enrolled, result.waitlisted, result.already_there) == (2, 1, 0)
    statuses = dict(Enrolment.objects.filter(workshop=workshop).values_list("participant__email", "status"))
    assert statuses == {
        "kim.lee@example.org": Enrolment.Status.ENROLLED,
        "sam.ortiz@example.org": Enrolment.Status.ENROLLED,
        "alex@example.org": Enrolment.Status.WAITLISTED,
    }


# --- Re-importing ----------------------------------------------------------------------------


def test_roster_reimport_of_the_same_file_changes_nothing(
    login, administrator, workshop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)
    client = login(administrator)
    before = snapshot(workshop)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, workshop, GOOD_ROSTER)

    assert response.status_code == 302
    assert snapshot(workshop) == before
    assert mail.outbox == []
    page = client.get(response.url).content.decode()
    assert (
        "Roster imported: 0 enrolled, 0 put on the waiting list, 3 already there (unchanged); 0 new accounts created."
        in page
    )


def test_roster_reimport_reports_waiting_people_as_already_there(administrator, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=1)
    WorkshopSessionFactory(workshop=workshop)
    import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    result = import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    assert (result.enrolled, result.waitlisted, result.already_there, result.accounts_created) == (0, 0, 3, 0)


# --- Files that are refused ------------------------------------------------------------------


def test_roster_import_with_two_bad_rows_reports_both_and_imports_nobody(login, administrator, workshop):
    data = b"name,email\nKim Lee,kim.lee@example.org\n,sam@example.org\nAlex Chen,alex(at)example.org\n"
    enrolments, users = Enrolment.objects.count(), User.objects.count()

    response = upload(login(administrator), workshop, data)

    assert response.status_code == 200
    assert [(p.row, p.column, p.reason) for p in response.context["problems"]] == [
        (3, "name", "The name is missing."),
        (4, "email", "“alex(at)example.org” is not a valid e-mail address."),
    ]
    assert (Enrolment.objects.count(), User.objects.count()) == (enrolments, users)
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Nothing was imported" in page


def test_roster_import_reports_an_e_mail_that_appears_twice_on_its_second_row():
    data = b"name,email\nKim Lee,kim.lee@example.org\nSam Ortiz,sam@example.org\nKim L.,Kim.Lee@Example.org\n"

    assert problems_of(data) == [
        (4, "email", "“kim.lee@example.org” is already on row 2; each person appears once."),
    ]


def test_roster_import_counts_rows_as_a_spreadsheet_does():
    data = b'name,email\n\n"Kim\nLee",kim.lee@example.org\nSam Ortiz,\n'

    assert problems_of(data) == [(4, "email", "The e-mail address is missing.")]


def test_roster_import_missing_column_is_reported_with_what_the_header_has():
    data = b"name,phone\nKim Lee,555-0100\n"

    assert problems_of(data) == [
        (
            1,
            "",
            "The header row has no e-mail column. The first row must name the columns, for example "
            "“name,e-mail”; this file’s first row has “name”, “phone”.",
        )
    ]


def test_roster_import_semicolon_separated_file_is_explained():
    first = parse_roster(data=b"name;email\nKim Lee;kim@example.org\n").problems[0]

    assert first.reason.endswith("The columns seem to be separated by semicolons: save the file as CSV with commas.")


def test_roster_import_non_utf8_garbage_is_refused_as_a_whole(login, administrator, workshop):
    garbage = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x81\x9d\xff"

    response = upload(login(administrator), workshop, garbage, name="roster.xlsx")

    assert [(p.row, p.column) for p in response.context["problems"]] == [(None, "")]
    assert response.context["problems"][0].reason.startswith("This is not a CSV file we can read")
    assert Enrolment.objects.filter(workshop=workshop).count() == 0


def test_roster_import_empty_file_is_refused(login, administrator, workshop):
    response = upload(login(administrator), workshop, b"")

    assert [p.reason for p in response.context["problems"]] == [
        "The file is empty: it needs a header row (for example “name,e-mail”) and one row per person."
    ]


def test_roster_import_header_without_people_is_refused():
    assert problems_of(b"name,email\n\n") == [
        (None, "", "The file has a header row but nobody in it: add one row per person.")
    ]


def test_roster_import_more_than_two_thousand_people_is_refused():
    data = b"name,email\n" + b"".join(f"P {n},p{n}@example.org\n".encode() for n in range(2001))

    assert problems_of(data) == [
        (None, "", "The file has 2,001 people; a roster can have at most 2,000. Split it into smaller files.")
    ]


def test_roster_import_into_a_draft_workshop_is_refused_with_a_clear_message(login, administrator, workshop):
    Workshop.objects.filter(pk=workshop.pk).update(status=Workshop.Status.DRAFT)

    response = upload(login(administrator), workshop, GOOD_ROSTER)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This workshop is a draft: publish it before importing its roster."
    ]
    assert Enrolment.objects.filter(workshop=workshop).count() == 0


@pytest.mark.parametrize("status", [Workshop.Status.RUNNING, Workshop.Status.COMPLETED, Workshop.Status.CANCELLED])
def test_roster_import_into_a_closed_workshop_is_refused(administrator, workshop, status):
    Workshop.objects.filter(pk=workshop.pk).update(status=status)

    with pytest.raises(ValidationError) as refused:
        import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    assert refused.value.messages == [
        f"This workshop is {status.label.lower()}, so nobody can be enrolled in it any more; "
        "a roster can only be imported into a published workshop."
    ]


def test_roster_import_refused_enrolment_rolls_back_and_names_the_row(administrator, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer)
    WorkshopSessionFactory(workshop=workshop, starts_at=timezone.now() - timedelta(hours=1))
    before = snapshot(workshop)

    with pytest.raises(RosterRejected) as rejected:
        import_roster(workshop=workshop, data=GOOD_ROSTER, by=administrator)

    assert [(p.row, p.reason) for p in rejected.value.problems] == [
        (
            2,
            "kim.lee@example.org could not be enrolled: This workshop has started; enrolment is closed. "
            "Nothing was imported.",
        )
    ]
    assert snapshot(workshop) == before


def test_roster_import_file_over_the_size_limit_is_refused(login, administrator, workshop):
    data = b"name,email\n" + b"x" * (1024 * 1024)

    response = upload(login(administrator), workshop, data)

    assert response.context["form"].errors["roster"] == [
        "This file is larger than 1 MB, the most a roster file can be. Split it into smaller files."
    ]


# --- The pages and who may use them ----------------------------------------------------------


def test_roster_import_page_shows_the_upload_form(login, administrator, workshop):
    response = login(administrator).get(reverse("workshops:roster_import", args=[workshop.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<label for="id_roster">Roster file (CSV: name, e-mail)</label>' in page
    assert "name,e-mail\nKim Lee,kim.lee@example.org" in page
    assert "At most 2,000 people and 1 MB per file." in page


@pytest.mark.parametrize("who", ["participant", "other_trainer", "trainer"])
@pytest.mark.parametrize("url_name", ["roster_import", "admin_enrol"])
def test_roster_pages_refuse_everyone_but_administrators(request, login, workshop, who, url_name):
    client = login(request.getfixturevalue(who))
    url = reverse(f"workshops:{url_name}", args=[workshop.pk])

    responses = [client.get(url), client.post(url, {"full_name": "Kim Lee", "email": "kim@example.org"})]

    assert [r.status_code for r in responses] == [403, 403]
    assert Enrolment.objects.filter(workshop=workshop).count() == 0


def test_admin_enrol_enrols_a_person_and_says_so(login, administrator, workshop, django_capture_on_commit_callbacks):
    client = login(administrator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("workshops:admin_enrol", args=[workshop.pk]),
            {"full_name": "Kim Lee", "email": "Kim.Lee@Example.org"},
            follow=True,
        )

    assert response.redirect_chain == [(reverse("workshops:workshop_detail", args=[workshop.pk]), 302)]
    enrolment = Enrolment.objects.get(workshop=workshop)
    assert (enrolment.participant.email, enrolment.status) == ("kim.lee@example.org", Enrolment.Status.ENROLLED)
    assert [m.to for m in mail.outbox] == [["kim.lee@example.org"]]
    assert [str(m) for m in response.context["messages"]] == ["Kim Lee (kim.lee@example.org) is enrolled."]


def test_admin_enrol_into_a_full_workshop_says_the_person_is_waiting(login, administrator, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=1)
    EnrolmentFactory(workshop=workshop)

    response = login(administrator).post(
        reverse("workshops:admin_enrol", args=[workshop.pk]),
        {"full_name": "Kim Lee", "email": "kim@example.org"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "The workshop is full: Kim Lee (kim@example.org) is on the waiting list."
    ]


def test_admin_enrol_refuses_a_bad_e_mail_with_a_message(login, administrator, workshop):
    client = login(administrator)
    before = snapshot(workshop)

    response = client.post(
        reverse("workshops:admin_enrol", args=[workshop.pk]), {"full_name": "Kim Lee", "email": "kim@"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Nobody was enrolled. E-mail: Enter a valid email address."
    ]
    assert snapshot(workshop) == before


def test_admin_enrol_into_a_draft_workshop_is_refused_with_a_message(login, administrator, workshop):
    Workshop.objects.filter(pk=workshop.pk).update(status=Workshop.Status.DRAFT)

    response = login(administrator).post(
        reverse("workshops:admin_enrol", args=[workshop.pk]),
        {"full_name": "Kim Lee", "email": "kim@example.org"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Nobody was enrolled. This workshop is not open for enrolment."
    ]
    assert Enrolment.objects.filter(workshop=workshop).count() == 0


def test_roster_import_service_refuses_a_file_over_the_size_limit_by_itself():
    data = b"name,email\n" + b"x" * (1024 * 1024)

    assert problems_of(data) == [
        (None, "", "The file is larger than 1 MB, the most a roster file can be. Split it into smaller files.")
    ]


# --- A worker imports the file; the page shows how far it got --------------------------------


def started(workshop, administrator, data: bytes = GOOD_ROSTER) -> RosterImport:
    """An import checked and queued, its task not yet taken by a worker."""
    return start_roster_import(workshop=workshop, data=data, filename="roster.csv", by=administrator)


def test_an_import_waiting_for_its_worker_shows_its_progress_and_asks_again(login, administrator, workshop):
    job = started(workshop, administrator)
    status = reverse("workshops:roster_import_status", args=[workshop.pk, job.pk])

    page = login(administrator).get(status).content.decode()

    assert (job.state, job.rows, Enrolment.objects.count()) == ("queued", 3, 0)
    assert '<label for="roster-import-bar">3 people: 0 % done</label>' in page
    assert '<progress id="roster-import-bar" max="100" value="0">0 %</progress>' in page
    assert f'hx-get="{status}" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page  # without JavaScript


def test_the_worker_imports_the_file_and_the_next_look_shows_the_outcome_once(login, administrator, workshop):
    job = started(workshop, administrator)
    client = login(administrator)
    status = reverse("workshops:roster_import_status", args=[workshop.pk, job.pk])

    ran = run_roster_import(import_id=job.pk)
    again = run_roster_import(import_id=job.pk)  # the task delivered twice
    answer = client.get(status, HTTP_HX_REQUEST="true").content.decode()

    assert (ran.state, ran.enrolled, again) == ("done", 3, None)
    assert progress_of(job) == 100  # the worker's last note
    assert Enrolment.objects.filter(workshop=workshop).count() == 3
    assert "hx-trigger" not in answer  # done: no more asking
    assert '<p id="roster-import-outcome" hx-swap-oob="innerHTML">Roster imported: 3' in (answer)
    assert bytes(RosterImport.objects.get().data) == b""  # the names and addresses are not kept


def test_a_workshop_closed_between_the_upload_and_the_import_imports_nobody_and_says_why(
    login, administrator, workshop, trainer
):
    job = started(workshop, administrator)
    cancel_workshop(workshop=workshop, by=trainer)

    run_roster_import(import_id=job.pk)
    page = login(administrator).get(reverse("workshops:roster_import_status", args=[workshop.pk, job.pk]))

    job.refresh_from_db()
    assert job.state == "failed"
    assert Enrolment.objects.count() == 0
    text = html.unescape(page.content.decode())
    assert "Nothing was imported" in text
    assert "This workshop is cancelled, so nobody can be enrolled in it any more" in text
    assert "Problems in the file" not in text  # nothing was wrong with the file
    assert "Upload the file again" not in text  # it would be refused


def test_an_import_stopped_by_an_error_is_failed_not_left_waiting(administrator, workshop):
    job = started(workshop, administrator)

    def lose_the_database(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "workshops_enrolment"'):
            raise OperationalError("the server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(lose_the_database), pytest.raises(OperationalError):
        run_roster_import(import_id=job.pk)

    job.refresh_from_db()
    assert (job.state, [p["reason"] for p in job.problems], Enrolment.objects.count()) == ("failed", [STOPPED], 0)


def test_an_import_whose_task_was_lost_is_run_by_the_periodic_job(administrator, workshop):
    lost = started(workshop, administrator)
    RosterImport.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    waiting = started(workshop, administrator, data=b"name,e-mail\nNia Obi,nia@example.org\n")

    ran = run_stranded_roster_imports()

    assert ran == 1
    assert list(RosterImport.objects.order_by("pk").values_list("pk", "state")) == [
        (lost.pk, "done"),
        (waiting.pk, "queued"),
    ]


@pytest.mark.parametrize("who", ["participant", "other_trainer", "trainer"])
def test_an_import_s_progress_is_refused_to_everyone_but_administrators(request, login, workshop, administrator, who):
    job = started(workshop, administrator)

    response = login(request.getfixturevalue(who)).get(
        reverse("workshops:roster_import_status", args=[workshop.pk, job.pk])
    )

    assert response.status_code == 403


def test_an_import_is_shown_only_under_its_own_workshop(login, administrator, workshop):
    job = started(workshop, administrator)
    other = WorkshopFactory()

    response = login(administrator).get(reverse("workshops:roster_import_status", args=[other.pk, job.pk]))

    assert response.status_code == 404


def test_administrators_see_imports_in_the_admin_site_without_their_rows(login, administrator, workshop):
    job = started(workshop, administrator)
    administrator.is_superuser = True  # the admin site's own permissions, as in production
    administrator.save(update_fields=["is_superuser"])
    client = login(administrator)

    listing = client.get("/admin/workshops/rosterimport/")
    detail = client.get(f"/admin/workshops/rosterimport/{job.pk}/change/")

    assert (listing.status_code, detail.status_code) == (200, 200)
    assert "roster.csv" in listing.content.decode()
    assert "kim.lee@example.org" not in detail.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
def test_an_import_being_run_by_one_worker_is_left_alone_by_another(administrator, trainer):
    workshop = WorkshopFactory(lead_trainer=trainer, capacity=20)
    WorkshopSessionFactory(workshop=workshop)
    job = RosterImport.objects.create(
        workshop=workshop, uploaded_by=administrator, filename="roster.csv", data=GOOD_ROSTER, rows=3
    )  # checked and queued: here no commit runs its task at once
    second = []

    def another_worker() -> None:
        try:
            second.append(run_roster_import(import_id=job.pk))
        finally:
            connection.close()

    with transaction.atomic():  # the first worker has the import
        RosterImport.objects.select_for_update().get(pk=job.pk)
        other = threading.Thread(target=another_worker)
        other.start()
        other.join(timeout=10)

    assert second == [None]  # it did not wait, and did nothing
    assert (RosterImport.objects.get().state, Enrolment.objects.count()) == ("queued", 0)
