"""Eligibility explained, the trainer's override, and one deliberate, idempotent submission."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from certification import services
from certification.exports import HEADER, eligibility_rows
from certification.models import Certification, EligibilityOverride, ExamResult, Submission
from certification.queries import eligibility
from participants.models import MarkChange
from participants.services import confirm_understanding, record_mark
from tests.concurrency import wait_until_another_connection_waits_for_a_lock
from tests.factories import CourseFactory, EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Enrolment, Workshop
from workshops.services import cancel_enrolment, cancel_workshop

pytestmark = pytest.mark.django_db


def two_day_workshop(trainer, **fields) -> Workshop:
    """A CSPO workshop of two 7-hour days, both over."""
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING, **fields)
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    for day in range(2):
        WorkshopSessionFactory(
            workshop=workshop, starts_at=start + timedelta(days=day), ends_at=start + timedelta(days=day, hours=7)
        )
    return workshop


def completes(enrolment, trainer, *, late_minutes: int = 0, participated_day_two: bool = True):
    sessions = list(enrolment.workshop.sessions.order_by("starts_at"))
    record_mark(
        enrolment=enrolment, session=sessions[0], by=trainer, participated=True,
        presence="late" if late_minutes else "present", minutes=late_minutes,
    )  # fmt: skip
    record_mark(
        enrolment=enrolment, session=sessions[1], by=trainer, presence="present", participated=participated_day_two
    )
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)


def reasons_of(workshop) -> dict[str, list[str]]:
    return {d.enrolment.participant.full_name: d.reasons for d in eligibility(workshop)}


def test_someone_who_completed_everything_is_eligible(trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Ada Lovelace"))
    completes(enrolment, trainer)

    assert reasons_of(workshop) == {"Ada Lovelace": []}


def test_every_failing_rule_is_explained_in_words(trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Ben Late"))
    sessions = list(workshop.sessions.order_by("starts_at"))
    record_mark(enrolment=enrolment, session=sessions[0], by=trainer, presence="late", minutes=90, participated=True)
    record_mark(enrolment=enrolment, session=sessions[1], by=trainer, presence="present", participated=False)

    day_two = sessions[1].local_starts_at.strftime("%a %-d %b")
    assert reasons_of(workshop) == {
        "Ben Late": [
            "attended 12 h 30 of 14 h",
            f"no participation recorded for day 2 ({day_two})",
            "understanding of the Product Owner role not confirmed by the trainer",
        ]
    }


def test_a_day_of_two_sessions_names_the_session_that_lacks_participation(trainer):
    """Mornings and afternoons: the reason names the afternoon by its day and time, not as "day 2"."""
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING, time_zone="Europe/Berlin")
    monday = datetime(2025, 3, 10, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    for day, (starts, hours) in itertools.product(range(2), ((0, 3.5), (4, 3.5))):
        begins = monday + timedelta(days=day, hours=starts)
        WorkshopSessionFactory(workshop=workshop, starts_at=begins, ends_at=begins + timedelta(hours=hours))
    enrolment = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Mo Mornings"))
    for number, session in enumerate(workshop.sessions.order_by("starts_at")):
        record_mark(enrolment=enrolment, session=session, by=trainer, presence="present", participated=number % 2 == 0)
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)
    lacking = [
        "no participation recorded for day 1 (Mon 10 Mar, 13:00)",
        "no participation recorded for day 2 (Tue 11 Mar, 13:00)",
    ]

    exported = [row[HEADER.index("Reasons")] for row in list(eligibility_rows())[1:]]

    assert reasons_of(workshop) == {"Mo Mornings": lacking}
    assert exported == ["; ".join(lacking)]


def test_an_exam_course_needs_a_passing_result(trainer):
    workshop = two_day_workshop(trainer, course=CourseFactory(kind="CSM", title="Certified ScrumMaster", has_exam=True))
    enrolment = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Cy Exam"))
    completes(enrolment, trainer)
    ExamResult.objects.create(enrolment=enrolment, score=30, taken_at=timezone.now())
    assert reasons_of(workshop) == {"Cy Exam": ["no passing exam result recorded"]}

    ExamResult.objects.create(enrolment=enrolment, score=41, taken_at=timezone.now())
    assert reasons_of(workshop) == {"Cy Exam": []}


def test_an_advanced_course_needs_an_active_prerequisite(trainer):
    cspo = CourseFactory(kind="CSPO")
    workshop = two_day_workshop(trainer, course=CourseFactory(kind="A-CSPO", prerequisite=cspo))
    enrolment = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Dee Advanced"))
    completes(enrolment, trainer)

    assert reasons_of(workshop) == {"Dee Advanced": ["needs an active CSPO certification"]}


def test_the_trainer_overrides_with_a_recorded_justification(trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer, late_minutes=30)

    services.override_eligibility(enrolment=enrolment, by=trainer, justification="Made up the time in the evening")

    decision = eligibility(workshop)[0]
    assert (decision.eligible, decision.meets_the_rules) == (True, False)
    assert (decision.override.decided_by, decision.override.justification) == (
        trainer,
        "Made up the time in the evening",
    )


def test_an_override_needs_a_justification(trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)

    with pytest.raises(ValidationError):
        services.override_eligibility(enrolment=enrolment, by=trainer, justification="  ")


def test_submitting_certifies_the_eligible_and_queues_their_activation_emails(
    trainer, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(trainer)
    done = EnrolmentFactory(workshop=workshop, participant=UserFactory(email="done@example.org"))
    short = EnrolmentFactory(workshop=workshop)
    completes(done, trainer)
    completes(short, trainer, late_minutes=60)

    with django_capture_on_commit_callbacks(execute=True):
        services.submit_workshop(workshop=workshop, by=trainer, expected={done.pk})

    certification = Certification.objects.get()
    workshop.refresh_from_db()
    assert (certification.enrolment, certification.state) == (done, Certification.State.PENDING)
    assert [(m.to, m.subject) for m in mail.outbox] == [(["done@example.org"], "Activate your CSPO certification")]
    assert workshop.sheet_locked_at is not None


def test_submitting_twice_creates_one_submission_and_one_certification(trainer, django_capture_on_commit_callbacks):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.submit_workshop(workshop=workshop, by=trainer, expected={enrolment.pk})
        second = services.submit_workshop(workshop=workshop, by=trainer, expected={enrolment.pk})

    assert first == second
    assert (Submission.objects.count(), Certification.objects.count(), len(mail.outbox)) == (1, 1, 1)


def test_a_lean_coffee_meetup_cannot_be_submitted_for_certification(trainer):
    lean_coffee = CourseFactory(kind="LEAN-COFFEE", title="Lean Coffee meetup", is_community_event=True)
    workshop = two_day_workshop(trainer, course=lean_coffee)
    completes(EnrolmentFactory(workshop=workshop), trainer)

    with pytest.raises(ValidationError, match="Lean Coffee meetup is a community event: it credits SEUs"):
        services.submit_workshop(workshop=workshop, by=trainer)

    assert (Submission.objects.count(), Certification.objects.count()) == (0, 0)


def test_submitting_a_list_that_changed_since_the_preview_submits_nothing(trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer)

    with pytest.raises(ValidationError) as error:
        services.submit_workshop(workshop=workshop, by=trainer, expected=set())

    assert error.value.messages == ["The list changed since you looked at it. Check the preview again, then submit."]
    assert Submission.objects.count() == 0


def test_after_submission_the_sheet_is_locked_until_an_administrator_reopens_it(trainer, administrator):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer)
    services.submit_workshop(workshop=workshop, by=trainer, expected={enrolment.pk})
    session = workshop.sessions.first()
    workshop.refresh_from_db()
    enrolment.workshop = workshop

    with pytest.raises(ValidationError):
        record_mark(enrolment=enrolment, session=session, by=trainer, presence="absent")
    with pytest.raises(ValidationError):
        services.reopen_workshop(workshop=workshop, by=trainer, reason="typo")
    services.reopen_workshop(workshop=workshop, by=administrator, reason="Day two was marked on the wrong person")

    workshop.refresh_from_db()
    assert workshop.sheet_locked_at is None
    assert Submission.objects.get().reopen_reason == "Day two was marked on the wrong person"


def test_resubmitting_after_reopening_never_certifies_an_enrolment_twice(
    trainer, administrator, django_capture_on_commit_callbacks
):
    workshop = two_day_workshop(trainer)
    first, later = EnrolmentFactory(workshop=workshop), EnrolmentFactory(workshop=workshop)
    completes(first, trainer)
    services.submit_workshop(workshop=workshop, by=trainer, expected={first.pk})
    services.reopen_workshop(workshop=workshop, by=administrator, reason="One participant was missed")
    completes(later, trainer)

    services.submit_workshop(workshop=workshop, by=trainer, expected={later.pk})

    assert sorted(Certification.objects.values_list("enrolment_id", flat=True)) == sorted([first.pk, later.pk])


# --- The pages ---------------------------------------------------------------------------------


def test_review_page_lists_eligible_and_not_eligible_with_reasons(login, trainer):
    workshop = two_day_workshop(trainer)
    completes(EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Ada Done")), trainer)
    EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Bo Absent"))

    response = login(trainer).get(f"/trainer/workshops/{workshop.pk}/certification/")

    page = response.content.decode()
    assert [d.enrolment.participant.full_name for d in response.context["to_certify"]] == ["Ada Done"]
    assert "Attended 0 h of 14 h" in page
    assert "Submit 1 participant for certification" in page


def test_submit_button_twice_makes_one_submission(login, trainer):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer)
    client = login(trainer)

    for _ in range(2):
        client.post(f"/trainer/workshops/{workshop.pk}/certification/submit/", {"expected": [enrolment.pk]})

    assert (Submission.objects.count(), Certification.objects.count()) == (1, 1)


REVIEW_URLS = [
    ("get", "/trainer/workshops/{w}/certification/"),
    ("post", "/trainer/workshops/{w}/certification/override/{e}/"),
    ("post", "/trainer/workshops/{w}/certification/submit/"),
]


@pytest.mark.parametrize(("method", "url"), REVIEW_URLS)
def test_review_urls_refuse_another_trainer_and_a_participant(
    login, client, trainer, other_trainer, participant, method, url
):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop, participant=participant)
    completes(enrolment, trainer)
    target = url.format(w=workshop.pk, e=enrolment.pk)
    data = {"justification": "x", "expected": [enrolment.pk]} if method == "post" else None

    as_trainer = getattr(login(other_trainer), method)(target, data)
    client.logout()
    as_participant = getattr(login(participant), method)(target, data)

    assert (as_trainer.status_code, as_participant.status_code) == (404, 403)
    assert Submission.objects.count() == 0


def test_only_an_administrator_reopens(login, client, trainer, administrator):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer)
    services.submit_workshop(workshop=workshop, by=trainer, expected={enrolment.pk})
    url = f"/trainer/workshops/{workshop.pk}/certification/reopen/"

    assert login(trainer).post(url, {"reason": "please"}).status_code == 403
    client.logout()
    login(administrator).post(url, {"reason": "A mark was wrong"})

    assert Submission.objects.get().reopened_by == administrator


@pytest.mark.parametrize("participants", [3, 15])
def test_review_page_query_count_stays_flat(login, trainer, django_assert_num_queries, participants):
    workshop = two_day_workshop(trainer)
    for _ in range(participants):
        completes(EnrolmentFactory(workshop=workshop), trainer)
    client = login(trainer)

    # session, user, workshop (the trainer's own), sessions, enrolments (+understanding, override,
    # certification), marks, open submission (exam results and prerequisites only for such courses)
    with django_assert_num_queries(7):
        assert client.get(f"/trainer/workshops/{workshop.pk}/certification/").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
def test_two_tabs_submitting_at_the_same_moment_make_one_submission_and_one_email_each(trainer):
    workshop = two_day_workshop(trainer)
    enrolments = [EnrolmentFactory(workshop=workshop) for _ in range(3)]
    for enrolment in enrolments:
        completes(enrolment, trainer)
    both_inside = threading.Barrier(2, timeout=10)

    def submit_from_a_tab() -> int:
        try:
            with transaction.atomic():
                assert Workshop.objects.get(pk=workshop.pk).sheet_locked_at is None
                both_inside.wait()
                return services.submit_workshop(workshop=workshop, by=trainer, expected={e.pk for e in enrolments}).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(submit_from_a_tab) for _ in range(2)]
    submissions = {future.result(timeout=30) for future in futures}  # re-raises what a tab raised

    assert len(submissions) == 1
    assert (Submission.objects.count(), Certification.objects.count()) == (1, 3)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(e.participant.email for e in enrolments)


def test_a_workshop_cancelled_after_it_began_certifies_nobody(login, trainer, django_capture_on_commit_callbacks):
    workshop = two_day_workshop(trainer)
    done, short = EnrolmentFactory.create_batch(2, workshop=workshop)
    completes(done, trainer)
    completes(short, trainer, late_minutes=60)
    cancel_workshop(workshop=workshop, by=trainer)
    client = login(trainer)

    page = client.get(f"/trainer/workshops/{workshop.pk}/certification/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        submitted = client.post(
            f"/trainer/workshops/{workshop.pk}/certification/submit/", {"expected": [done.pk]}, follow=True
        )
        overridden = client.post(
            f"/trainer/workshops/{workshop.pk}/certification/override/{short.pk}/",
            {"justification": "Made up the time"},
            follow=True,
        )

    assert "This workshop is cancelled; nobody is certified from it." in page
    assert "Submit 1 participant" not in page
    assert "Certify anyway, because" not in page
    assert [str(m) for m in submitted.context["messages"]] == [
        "This workshop is cancelled; nobody is certified from it."
    ]
    assert overridden.context["refused_override"]["errors"] == [
        "This workshop is cancelled; nobody is certified from it."
    ]
    assert (Submission.objects.count(), Certification.objects.count(), EligibilityOverride.objects.count()) == (0, 0, 0)
    assert [m.subject for m in mail.outbox if "Activate" in m.subject] == []


def test_an_override_too_long_is_refused_with_the_justification_kept_to_shorten(login, trainer):
    workshop = two_day_workshop(trainer)
    short = EnrolmentFactory(workshop=workshop, participant=UserFactory(full_name="Sam Short"))
    completes(short, trainer, late_minutes=60)
    justification = "Made up the time in the evening.\r\n" * 15  # 33 characters a line as typed, 34 as posted

    response = login(trainer).post(
        f"/trainer/workshops/{workshop.pk}/certification/override/{short.pk}/",
        {"justification": justification + "x" * 20},
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Your decision for Sam Short was not recorded:" in page
    assert "The justification is too long: 515 characters, at most 500." in page
    assert "Made up the time in the evening.\r\nMade up" in page  # in its textarea, as typed
    assert 'aria-describedby="override-refused"' in page
    assert EligibilityOverride.objects.count() == 0


def test_reopening_with_a_reason_too_long_is_refused(trainer, administrator):
    workshop = two_day_workshop(trainer)
    completes(EnrolmentFactory(workshop=workshop), trainer)
    services.submit_workshop(workshop=workshop, by=trainer)

    with pytest.raises(ValidationError, match=r"The reason for reopening is too long: 301 characters, at most 300\."):
        services.reopen_workshop(workshop=workshop, by=administrator, reason="y" * 301)

    workshop.refresh_from_db()
    assert workshop.sheet_locked_at is not None


def test_a_reopen_refused_keeps_the_reason_typed_to_shorten(login, trainer, administrator):
    workshop = two_day_workshop(trainer)
    completes(EnrolmentFactory(workshop=workshop), trainer)
    services.submit_workshop(workshop=workshop, by=trainer)
    reason = "The trainer asked to correct a mark. " * 9  # 333 characters

    response = login(administrator).post(f"/trainer/workshops/{workshop.pk}/certification/reopen/", {"reason": reason})

    page = response.content.decode()
    workshop.refresh_from_db()
    assert response.status_code == 400
    assert "<p>The workshop was not reopened:</p>" in page
    assert "The reason for reopening is too long: 332 characters, at most 300." in page
    assert f'value="{reason}"' in page
    assert workshop.sheet_locked_at is not None


# --- A co-trainer's change at the moment of submission ------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("mark", "The participants were submitted, so the sheet is locked; an administrator reopens it."),
        ("understanding", "The participants were submitted, so the sheet is locked; an administrator reopens it."),
        ("override", "The participants were submitted already; an administrator can reopen the workshop."),
    ],
)
def test_a_change_saved_while_the_participants_are_submitted_waits_for_the_submission_then_is_refused(
    trainer, other_trainer, change, refusal
):
    workshop = two_day_workshop(trainer)
    workshop.co_trainers.add(other_trainer)
    done, short = EnrolmentFactory.create_batch(2, workshop=workshop)
    completes(done, trainer)
    completes(short, trainer, late_minutes=60)
    # The co-trainer's page was read before the submission: the sheet open, the workshop running.
    seen = Workshop.objects.get(pk=workshop.pk)
    enrolment = Enrolment.objects.select_related("participant").get(pk=short.pk)
    enrolment.workshop = seen
    first_day = seen.sessions.order_by("starts_at").first()
    first_day.workshop = seen
    changes = {
        "mark": lambda: record_mark(enrolment=enrolment, session=first_day, by=other_trainer, presence="present"),
        "understanding": lambda: confirm_understanding(
            enrolment=enrolment, by=other_trainer, demonstrated=False, reason="Quiet all day"
        ),
        "override": lambda: services.override_eligibility(
            enrolment=enrolment, by=other_trainer, justification="Made up the hour after class"
        ),
    }
    history = MarkChange.objects.filter(enrolment=short).count()
    refused = []

    def co_trainer_saves() -> None:
        try:
            changes[change]()
        except ValidationError as problem:
            refused.extend(problem.messages)
        finally:
            connection.close()

    co_trainer = threading.Thread(target=co_trainer_saves)
    with transaction.atomic():
        services.submit_workshop(workshop=workshop, by=trainer, expected={done.pk})
        co_trainer.start()
        wait_until_another_connection_waits_for_a_lock()
    co_trainer.join(timeout=10)

    assert refused == [refusal]
    assert MarkChange.objects.filter(enrolment=short).count() == history
    assert not EligibilityOverride.objects.exists()
    assert list(Certification.objects.values_list("enrolment", flat=True)) == [done.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
def test_a_submission_waits_for_a_mark_being_saved_and_judges_it(trainer, other_trainer):
    workshop = two_day_workshop(trainer)
    workshop.co_trainers.add(other_trainer)
    late = EnrolmentFactory(workshop=workshop)
    completes(late, trainer, late_minutes=60)
    first_day = workshop.sessions.order_by("starts_at").first()
    submitted = []

    def trainer_submits() -> None:
        try:
            submitted.append(services.submit_workshop(workshop=workshop, by=trainer))
        finally:
            connection.close()

    submission = threading.Thread(target=trainer_submits)
    with transaction.atomic():  # the co-trainer corrects the mark: on time after all
        record_mark(enrolment=late, session=first_day, by=other_trainer, presence="present", participated=True)
        submission.start()
        wait_until_another_connection_waits_for_a_lock()
    submission.join(timeout=10)

    assert len(submitted) == 1
    assert list(Certification.objects.values_list("enrolment", flat=True)) == [late.pk]


def test_a_cancelled_enrolment_cannot_be_certified_anyway(trainer, administrator):
    workshop = two_day_workshop(trainer)
    enrolment = EnrolmentFactory(workshop=workshop)
    completes(enrolment, trainer, late_minutes=60)
    cancel_enrolment(enrolment=enrolment, by=administrator)

    with pytest.raises(ValidationError) as refused:
        services.override_eligibility(enrolment=enrolment, by=trainer, justification="Made up the hour")

    assert refused.value.messages == ["Only enrolled participants can be certified."]
    assert not EligibilityOverride.objects.exists()
