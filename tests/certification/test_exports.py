"""Eligibility lists for a certification body: columns, filters, CSV and XLSX, the command, who may."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse

from certification import services
from certification.exports import HEADER, eligibility_rows, split_name, spreadsheet_safe
from certification.models import Certification, ExamResult, Submission
from certification.queries import eligibility
from participants.services import confirm_understanding, record_mark
from tests.factories import CourseFactory, EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Enrolment, Workshop

pytestmark = pytest.mark.django_db

URL = reverse("certification:eligibility_export")
MONDAY_10_MARCH_2025 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)  # 10:00 in Toronto


def held_workshop(trainer, *, starts_at: datetime = MONDAY_10_MARCH_2025, days: int = 2, **fields) -> Workshop:
    """A workshop of ``days`` 7-hour sessions on consecutive days, over by now, so it can be marked."""
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING, **fields)
    for day in range(days):
        start = starts_at + timedelta(days=day)
        WorkshopSessionFactory(workshop=workshop, starts_at=start, ends_at=start + timedelta(hours=7))
    return workshop


def attends(enrolment, trainer, *, late_minutes: int = 0, understood: bool = True) -> None:
    """Marked on every day, participating, through the trainer's own services."""
    for number, session in enumerate(enrolment.workshop.sessions.order_by("starts_at")):
        late = late_minutes if number == 0 else 0
        record_mark(
            enrolment=enrolment, session=session, by=trainer, participated=True,
            presence="late" if late else "present", minutes=late,
        )  # fmt: skip
    if understood:
        confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)


def enrol(workshop, full_name: str, email: str | None = None):
    participant = UserFactory(full_name=full_name, **({"email": email} if email else {}))
    return EnrolmentFactory(workshop=workshop, participant=participant)


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def workshops_in(rows: list[list[str]]) -> list[str]:
    column = HEADER.index("Workshop")
    return sorted({row[column] for row in rows[1:]})


@pytest.fixture
def submitted_workshop(trainer, other_trainer):
    """Four participants: certified and active, eligible by override (pending), short of time, never marked."""
    workshop = held_workshop(trainer, title="CSPO Toronto", venue_address="100 Queen St W\nToronto, ON")
    workshop.co_trainers.add(other_trainer)
    ada = enrol(workshop, "Ada Lovelace", "ada.lovelace@example.org")
    ben = enrol(workshop, "Ben Override", "ben@example.org")
    mary = enrol(workshop, "Mary Ann Smith", "mary@example.org")
    enrol(workshop, "Cher", "cher@example.org")
    attends(ada, trainer)
    attends(ben, trainer, late_minutes=30)
    attends(mary, trainer, late_minutes=60)
    services.override_eligibility(enrolment=ben, by=trainer, justification="Made up the time in the evening")
    services.submit_workshop(workshop=workshop, by=trainer, expected={ada.pk, ben.pk})
    services.activate(certification=Certification.objects.get(enrolment=ada), accept_license=True)
    return workshop


# --- Columns and values ----------------------------------------------------------------------------


def test_rows_say_who_is_eligible_why_not_and_where_their_certification_is(submitted_workshop):
    submitted_at = Submission.objects.get().submitted_at.astimezone(submitted_workshop.zone).isoformat("T", "seconds")
    where, trainers = "100 Queen St W, Toronto, ON", "Tess Trainer; Otto Trainer"
    workshop = ["CSPO", "CSPO Toronto", "2025-03-10 – 2025-03-11", where, trainers]

    rows = list(eligibility_rows())

    assert rows == [
        HEADER,
        ["Ada", "Lovelace", "ada.lovelace@example.org", *workshop, "yes", "", "", submitted_at, "Active"],
        [
            "Ben", "Override", "ben@example.org", *workshop, "yes (override)", "attended 13 h 30 of 14 h",
            "Made up the time in the evening", submitted_at, "Pending activation",
        ],
        [
            "Cher", "", "cher@example.org", *workshop, "no",
            "attended 0 h of 14 h; understanding of the Product Owner role not confirmed by the trainer",
            "", submitted_at, "not submitted",
        ],
        ["Mary Ann", "Smith", "mary@example.org", *workshop, "no", "attended 13 h of 14 h", "", submitted_at,
         "not submitted"],
    ]  # fmt: skip
    assert HEADER == [
        "First name", "Last name", "E-mail", "Course", "Workshop", "Workshop dates", "Location", "Trainers",
        "Eligible", "Reasons", "Override justification", "Submitted at", "Certification state",
    ]  # fmt: skip


def test_a_certification_past_its_expiry_date_is_exported_as_expired(submitted_workshop):
    active = Certification.objects.get(state=Certification.State.ACTIVE)
    yesterday = date.today() - timedelta(days=1)
    Certification.objects.filter(pk=active.pk).update(issued_on=yesterday - timedelta(days=730), expires_on=yesterday)

    rows = list(eligibility_rows())

    state = HEADER.index("Certification state")
    assert [row[state] for row in rows[1:]] == ["Expired", "Pending activation", "not submitted", "not submitted"]


def test_an_online_workshop_not_submitted_yet_has_no_submission_time(trainer):
    workshop = held_workshop(trainer, title="CSPO online", format=Workshop.Format.ONLINE, days=1)
    enrol(workshop, "Dee Online")

    [_, row] = list(eligibility_rows())

    assert (row[HEADER.index("Workshop dates")], row[HEADER.index("Location")]) == ("2025-03-10", "online")
    assert (row[HEADER.index("Submitted at")], row[HEADER.index("Certification state")]) == ("", "not submitted")


def test_the_reasons_are_those_of_the_review_page_for_every_kind_of_course(trainer):
    cspo = CourseFactory(kind="CSPO")
    csm = CourseFactory(kind="CSM", title="Certified ScrumMaster", has_exam=True)
    advanced = CourseFactory(kind="A-CSPO", title="Advanced CSPO", prerequisite=cspo)
    workshops = [
        held_workshop(trainer, course=cspo),
        held_workshop(trainer, course=csm, starts_at=MONDAY_10_MARCH_2025 + timedelta(days=7)),
        held_workshop(trainer, course=advanced, starts_at=MONDAY_10_MARCH_2025 + timedelta(days=14)),
    ]
    for workshop in workshops:
        attends(enrol(workshop, f"Complete {workshop.course.kind}"), trainer)
        attends(enrol(workshop, f"Late {workshop.course.kind}"), trainer, late_minutes=45, understood=False)
    failed, passed = (EnrolmentFactory(workshop=workshops[1], participant=UserFactory()) for _ in range(2))
    attends(failed, trainer)
    attends(passed, trainer)
    ExamResult.objects.create(enrolment=failed, score=30, taken_at=MONDAY_10_MARCH_2025 + timedelta(days=9))
    ExamResult.objects.create(enrolment=passed, score=45, taken_at=MONDAY_10_MARCH_2025 + timedelta(days=9))
    holder = enrol(workshops[2], "Holds CSPO")
    attends(holder, trainer)
    Certification.objects.create(
        enrolment=EnrolmentFactory(workshop=workshops[0], participant=holder.participant),
        holder=holder.participant, course=cspo,
        submission=Submission.objects.create(workshop=workshops[0], submitted_by=trainer),
        state=Certification.State.ACTIVE, certificant_number="1234-5678",
        issued_on=date(2025, 3, 11), expires_on=date(2099, 3, 11),
    )  # fmt: skip
    columns = [HEADER.index(name) for name in ("E-mail", "Eligible", "Reasons")]

    exported = [[row[i] for i in columns] for row in list(eligibility_rows(batch_size=2))[1:]]

    reviewed = [
        [d.enrolment.participant.email, "yes" if d.eligible else "no", "; ".join(d.reasons)]
        for workshop in workshops
        for d in eligibility(workshop)
    ]
    assert exported == reviewed
    assert {row[1] for row in exported} == {"yes", "no"}


def test_the_rows_are_the_review_pages_decisions_for_a_varied_workshop(trainer):
    cspo = CourseFactory(kind="CSPO")
    csm = CourseFactory(kind="CSM", title="Certified ScrumMaster", has_exam=True, minimum_contact_hours=Decimal("16"))
    advanced = CourseFactory(kind="A-CSPO", title="Advanced CSPO", prerequisite=cspo)
    week = timedelta(days=7)
    workshops = [
        held_workshop(trainer, course=cspo, days=3),
        held_workshop(trainer, course=csm, starts_at=MONDAY_10_MARCH_2025 + week, days=3),
        held_workshop(trainer, course=advanced, starts_at=MONDAY_10_MARCH_2025 + 2 * week),
    ]
    # A last session of 2 h 10 min 30 s: attended time is summed to the second, as on the review page.
    for workshop in workshops[:2]:
        last = workshop.sessions.order_by("starts_at").last()
        last.ends_at = last.starts_at + timedelta(hours=2, minutes=10, seconds=30)
        last.save()
    for workshop in workshops:
        sessions = list(workshop.sessions.order_by("starts_at"))

        def mark(enrolment, number, presence, minutes=0, participated=True, sessions=sessions):
            record_mark(
                enrolment=enrolment, session=sessions[number], by=trainer, presence=presence, minutes=minutes,
                participated=participated,
            )  # fmt: skip

        attends(enrol(workshop, "Anna Complete"), trainer)
        late = enrol(workshop, "Bea Late")
        attends(late, trainer, late_minutes=20)
        left = enrol(workshop, "Carl Leftearly")
        mark(left, 0, "present")
        mark(left, 1, "left_early", 130)
        confirm_understanding(enrolment=left, by=trainer, demonstrated=False, reason="Confused owner and manager")
        absent = enrol(workshop, "Dora Absent")
        mark(absent, 0, "absent", participated=False)
        mark(absent, 1, "present")
        confirm_understanding(enrolment=absent, by=trainer, demonstrated=True)
        quiet = enrol(workshop, "Eli Quiet")
        mark(quiet, 0, "present", participated=False)
        mark(quiet, 1, "late", 5, participated=False)
        overridden = enrol(workshop, "Fay Override")
        mark(overridden, 0, "present")
        services.override_eligibility(enrolment=overridden, by=trainer, justification="Caught up one to one")
        enrol(workshop, "Gus Unmarked")
        cancelled = enrol(workshop, "Hal Cancelled")
        mark(cancelled, 0, "present")
        Enrolment.objects.filter(pk=cancelled.pk).update(status=Enrolment.Status.CANCELLED)
        passed, failed = enrol(workshop, "Ivy Passed"), enrol(workshop, "Jon Failed")
        for enrolment, score in ((passed, 40), (failed, 20)):
            attends(enrolment, trainer)
            ExamResult.objects.create(enrolment=enrolment, score=score, taken_at=MONDAY_10_MARCH_2025 + 3 * week)
    holder = Enrolment.objects.get(workshop=workshops[2], participant__full_name="Ivy Passed").participant
    Certification.objects.create(
        enrolment=EnrolmentFactory(workshop=workshops[0], participant=holder), holder=holder, course=cspo,
        submission=Submission.objects.create(workshop=workshops[0], submitted_by=trainer),
        state=Certification.State.ACTIVE, certificant_number="1234-5678",
        issued_on=date(2025, 3, 11), expires_on=date(2099, 3, 11),
    )  # fmt: skip
    columns = [HEADER.index(name) for name in ("E-mail", "Eligible", "Reasons", "Override justification")]

    exported = [[row[i] for i in columns] for row in list(eligibility_rows(batch_size=2))[1:]]

    reviewed = [
        [
            d.enrolment.participant.email,
            "yes" if d.meets_the_rules else "yes (override)" if d.eligible else "no",
            "; ".join(d.reasons),
            d.override.justification if d.override else "",
        ]
        for workshop in workshops
        for d in eligibility(workshop)
    ]
    assert exported == reviewed
    assert len(exported) == 3 * 9 + 1  # nine a workshop, and the holder's own CSPO enrolment
    reasons = "; ".join(row[2] for row in exported)
    for words in (
        "attended 0 h of 14 h",
        "no participation recorded for day 2",
        "did not demonstrate understanding of the role: Confused owner and manager",
        "understanding of the Product Owner role not confirmed by the trainer",
        "no passing exam result recorded",
        "needs an active CSPO certification",
    ):
        assert words in reasons
    assert {row[1] for row in exported} == {"yes", "yes (override)", "no"}


def test_split_name_splits_at_the_last_space():
    assert [split_name(n) for n in ["Mary Ann Smith", "Cher", " Ada  Lovelace ", ""]] == [
        ("Mary Ann", "Smith"),
        ("Cher", ""),
        ("Ada", "Lovelace"),
        ("", ""),
    ]


def test_a_cell_that_looks_like_a_formula_stays_text():
    assert spreadsheet_safe(["=HYPERLINK(1)", "+1", "-2", "@SUM", "Ada", ""]) == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@SUM",
        "Ada",
        "",
    ]


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def several_workshops(trainer, other_trainer):
    """By title: Tess's CSPO in March, Otto's CSPO in April (Tess co-trains), Otto's CSM in May,
    and a draft and a cancelled workshop that are never exported."""
    csm = CourseFactory(kind="CSM", title="Certified ScrumMaster", has_exam=True)
    march = held_workshop(trainer, title="March CSPO")
    april = held_workshop(other_trainer, title="April CSPO", starts_at=datetime(2025, 4, 7, 13, tzinfo=UTC))
    april.co_trainers.add(trainer)
    may = held_workshop(other_trainer, title="May CSM", course=csm, starts_at=datetime(2025, 5, 5, 13, tzinfo=UTC))
    draft = held_workshop(trainer, title="Draft")
    cancelled = held_workshop(trainer, title="Cancelled")
    Workshop.objects.filter(pk=draft.pk).update(status=Workshop.Status.DRAFT)
    Workshop.objects.filter(pk=cancelled.pk).update(status=Workshop.Status.CANCELLED)
    for workshop in (march, april, may, draft, cancelled):
        enrol(workshop, "Someone Enrolled")
    return {"march": march, "april": april, "may": may, "csm": csm}


def test_every_filter_narrows_the_list(several_workshops, trainer, other_trainer):
    march = several_workshops["march"]

    assert workshops_in(list(eligibility_rows())) == ["April CSPO", "March CSPO", "May CSM"]
    assert workshops_in(list(eligibility_rows(workshop=march))) == ["March CSPO"]
    assert workshops_in(list(eligibility_rows(trainer=trainer))) == ["April CSPO", "March CSPO"]
    assert workshops_in(list(eligibility_rows(trainer=other_trainer))) == ["April CSPO", "May CSM"]
    assert workshops_in(list(eligibility_rows(course=several_workshops["csm"]))) == ["May CSM"]
    assert workshops_in(list(eligibility_rows(start=date(2025, 4, 1), end=date(2025, 4, 30)))) == ["April CSPO"]
    assert workshops_in(list(eligibility_rows(start=date(2025, 4, 8)))) == ["May CSM"]
    assert workshops_in(list(eligibility_rows(end=date(2025, 4, 7)))) == ["April CSPO", "March CSPO"]
    assert workshops_in(list(eligibility_rows(trainer=trainer, course=several_workshops["csm"]))) == []


def test_the_date_range_is_on_the_first_day_in_the_workshop_time_zone(trainer):
    # 22:00 in Toronto on 31 March is 02:00 UTC on 1 April: a March workshop.
    held_workshop(trainer, title="Late start", starts_at=datetime(2025, 4, 1, 2, tzinfo=UTC))
    enrol(Workshop.objects.get(), "Someone Enrolled")

    assert workshops_in(list(eligibility_rows(start=date(2025, 3, 1), end=date(2025, 3, 31)))) == ["Late start"]
    assert workshops_in(list(eligibility_rows(start=date(2025, 4, 1), end=date(2025, 4, 30)))) == []


@pytest.mark.parametrize(
    ("start", "end"), [(date.min, None), (None, date.max), (None, date(9999, 12, 30)), (date.min, date.max)]
)
def test_a_date_range_from_the_first_day_of_the_calendar_or_to_its_last_is_everything(several_workshops, start, end):
    assert list(eligibility_rows(start=start, end=end)) == list(eligibility_rows())


def test_the_rows_do_not_depend_on_the_batch_size(several_workshops):
    assert list(eligibility_rows(batch_size=1)) == list(eligibility_rows())


# --- The page ----------------------------------------------------------------------------------


def test_the_page_shows_the_filters_with_labels(login, administrator, trainer):
    response = login(administrator).get(URL)

    assert response.status_code == 200
    for label in ("Workshop number", "Trainer", "Course", "First day from", "First day to", "File format"):
        assert f">{label}</label>" in response.text
    assert "Tess Trainer (tess@example.org)" in response.text


def test_the_csv_download_streams_the_rows(login, administrator, submitted_workshop):
    response = login(administrator).get(URL, {"format": "csv", "workshop": submitted_workshop.pk})

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="eligibility-')
    assert csv_rows(response) == list(eligibility_rows(workshop=submitted_workshop))


def test_the_csv_download_filters_by_trainer_course_and_dates(login, administrator, several_workshops, trainer):
    client = login(administrator)

    response = client.get(
        URL, {"format": "csv", "trainer": trainer.pk, "course": "CSPO", "start": "2025-04-01", "end": "2025-12-31"}
    )

    assert workshops_in(csv_rows(response)) == ["April CSPO"]


def test_the_xlsx_download_is_a_workbook_with_the_rows(login, administrator, submitted_workshop, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    response = login(administrator).get(URL, {"format": "xlsx"})

    assert isinstance(response, FileResponse)
    assert response["Content-Disposition"].startswith('attachment; filename="eligibility-')
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone, its open handle still reads
    content = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(content)) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert [text in sheet for text in ("Lovelace", "Made up the time in the evening", "Pending activation")] == [
        True,
        True,
        True,
    ]


def test_a_name_like_a_formula_is_text_in_the_workbook(login, administrator, trainer):
    enrol(held_workshop(trainer), "=HYPERLINK(1) Mallory")

    response = login(administrator).get(URL, {"format": "xlsx"})

    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
    assert ("=HYPERLINK(1)" in sheet, "<f>" in sheet) == (True, False)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"workshop": "999999"}, "There is no workshop number 999999."),
        ({"workshop": "abc"}, "Enter a whole number."),
        ({"course": "NOPE"}, "Select a valid choice."),
        ({"trainer": "999999"}, "Select a valid choice."),
        ({"start": "2025-02-30"}, "Enter a valid date."),
        ({"start": "2025-05-01", "end": "2025-04-01"}, "The end of the range is before its start."),
        ({"format": "pdf"}, "Select a valid choice."),
    ],
)
def test_a_wrong_filter_is_explained_on_the_page(login, administrator, query, message):
    response = login(administrator).get(URL, {"format": "csv", **query})

    assert response.status_code == 200
    assert "Nothing was exported: correct the filters below." in response.text
    assert message in response.text


def test_only_administrators_export(client, login, participant, trainer):
    assert client.get(URL, {"format": "csv"}).url.startswith(reverse("login"))
    assert login(participant).get(URL, {"format": "csv"}).status_code == 403
    assert login(trainer).get(URL, {"format": "csv"}).status_code == 403
    assert login(trainer).get(URL).status_code == 403


def arrange_workshops(trainer, other_trainer, count: int) -> None:
    """``count`` submitted workshops of four participants, two of them certified, with a co-trainer."""
    for number in range(count):
        workshop = held_workshop(trainer, starts_at=MONDAY_10_MARCH_2025 + timedelta(days=3 * number))
        workshop.co_trainers.add(other_trainer)
        enrolments = [EnrolmentFactory(workshop=workshop) for _ in range(4)]
        for enrolment in enrolments[:2]:
            attends(enrolment, trainer)
        services.submit_workshop(workshop=workshop, by=trainer)


@pytest.mark.parametrize("workshops", [3, 15])
def test_csv_export_query_count_stays_flat(
    login, administrator, trainer, other_trainer, django_assert_num_queries, workshops
):
    arrange_workshops(trainer, other_trainer, workshops)
    client = login(administrator)

    # session, user; workshop ids; then for the batch: workshops, co-trainers, open submissions,
    # sessions, attended time, enrolments (prerequisites only for courses that have them)
    with django_assert_num_queries(9):
        response = client.get(URL, {"format": "csv"})
        rows = csv_rows(response)

    assert len(rows) == 1 + 4 * workshops


# --- The command -------------------------------------------------------------------------------


def test_the_command_writes_the_rows_of_the_page(submitted_workshop):
    out, err = io.StringIO(), io.StringIO()

    call_command("export_eligibility", "--workshop", str(submitted_workshop.pk), stdout=out, stderr=err)

    assert list(csv.reader(io.StringIO(out.getvalue()))) == list(eligibility_rows(workshop=submitted_workshop))
    assert err.getvalue() == "4 participants exported.\n"


def test_the_command_filters_and_writes_files(several_workshops, trainer, tmp_path):
    target = tmp_path / "april.csv"

    call_command(
        "export_eligibility", "--trainer", "TESS@example.org", "--course", "cspo", "--from", "2025-04-01",
        "--to", "2025-04-30", "--output", str(target), stdout=io.StringIO(),
    )  # fmt: skip
    call_command("export_eligibility", "--format", "xlsx", "--output", str(tmp_path / "all.xlsx"), stdout=io.StringIO())

    with target.open(newline="", encoding="utf-8") as file:
        assert workshops_in(list(csv.reader(file))) == ["April CSPO"]
    with zipfile.ZipFile(tmp_path / "all.xlsx") as workbook:
        assert "May CSM" in workbook.read("xl/worksheets/sheet1.xml").decode()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["all.xlsx", "april.csv"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--trainer", "nobody@example.org"], "Nobody has the e-mail address nobody@example.org."),
        (["--course", "XYZ"], "There is no course XYZ; the courses are CSPO."),
        (["--workshop", "999999"], "There is no workshop number 999999."),
        (["--from", "2025-13-01"], "“2025-13-01” is not a date such as 2025-03-31."),
        (["--from", "2025-05-01", "--to", "2025-04-01"], "--to is before --from."),
        (["--format", "xlsx"], "An XLSX export needs --output PATH."),
    ],
)
def test_the_command_explains_a_wrong_argument(arguments, message):
    CourseFactory(kind="CSPO")

    with pytest.raises(CommandError) as error:
        call_command("export_eligibility", *arguments, stdout=io.StringIO())

    assert str(error.value) == message
