"""Reads: who is eligible and why not, a participant's certifications, verification."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from cspo.compiled import CompiledRead, numbers
from participants.models import AttendanceMark
from participants.queries import Progress, progress
from workshops.models import Enrolment, Workshop, WorkshopSession
from workshops.templatetags.durations import hours_minutes

from .certificates import SHOWN_FIELDS, SHOWN_RELATIONS
from .models import Certification, CourseExtension, ExamResult, status_of


@dataclass
class EligibilityDecision:
    enrolment: Enrolment
    progress: Progress
    reasons: list[str] = field(default_factory=list)  # every rule that fails, in words
    override: object | None = None
    certification: Certification | None = None

    @property
    def meets_the_rules(self) -> bool:
        return not self.reasons

    @property
    def eligible(self) -> bool:
        return self.meets_the_rules or self.override is not None


def eligibility_reasons(
    *,
    attended: timedelta,
    minimum: timedelta,
    sessions_without_participation: Iterable[str] = (),
    understanding: bool | None,
    understanding_reason: str = "",
    role: str = "Product Owner",
    exam_required: bool,
    exam_passed: bool,
    prerequisite: str | None,
    holds_prerequisite: bool,
) -> list[str]:
    """Every rule of a course that an enrolment fails, in words, from plain facts: the one place the
    rules live, for the review page (``decide``) and the export. ``sessions_without_participation``
    name the sessions marked attended without participation (``session_labels``);
    ``understanding`` is None when the trainer has not confirmed it (of the course's ``role``);
    ``prerequisite`` is the kind of
    certification the course needs, if any."""
    reasons = []
    if attended < minimum:
        reasons.append(f"attended {hours_minutes(attended)} of {hours_minutes(minimum)}")
    for session in sessions_without_participation:
        reasons.append(f"no participation recorded for {session}")
    if understanding is None:
        reasons.append(f"understanding of the {role} role not confirmed by the trainer")
    elif not understanding:
        reasons.append(f"did not demonstrate understanding of the role: {understanding_reason}")
    if exam_required and not exam_passed:
        reasons.append("no passing exam result recorded")
    if prerequisite is not None and not holds_prerequisite:
        reasons.append(f"needs an active {prerequisite} certification")
    return reasons


def session_labels(sessions: list[WorkshopSession]) -> dict[int, str]:
    """Each session (in order) as a reason names it: "day 2 (Tue 3 Mar)", its day counted among the
    workshop's days in its own time zone, and "day 2 (Tue 3 Mar, 13:00)" when that day has several."""
    starts = {session.pk: session.local_starts_at for session in sessions}
    sessions_a_day = Counter(start.date() for start in starts.values())
    number = {day: n for n, day in enumerate(sessions_a_day, start=1)}
    labels = {}
    for pk, start in starts.items():
        when = f"{start:%a %-d %b, %H:%M}" if sessions_a_day[start.date()] > 1 else f"{start:%a %-d %b}"
        labels[pk] = f"day {number[start.date()]} ({when})"
    return labels


def _without_participation(sessions: list[WorkshopSession], marks: dict[int, AttendanceMark]) -> list[str]:
    lacking = {
        pk for pk, mark in marks.items() if mark.presence != AttendanceMark.Presence.ABSENT and not mark.participated
    }
    return [label for pk, label in session_labels(sessions).items() if pk in lacking] if lacking else []


def decide(
    *,
    enrolment: Enrolment,
    sessions: list[WorkshopSession],
    marks: dict[int, AttendanceMark],
    holds_prerequisite: bool,
) -> EligibilityDecision:
    """One enrolment's decision by its course's rules (``eligibility_reasons``), without a query.
    ``enrolment.workshop.course`` (and its prerequisite), the enrolment's understanding, override
    and certification are loaded, and for an exam course its exam results are prefetched."""
    course = enrolment.workshop.course
    row = progress(sessions, marks, course.minimum_contact_time)
    understanding = getattr(enrolment, "understanding", None)
    reasons = eligibility_reasons(
        attended=row.attended,
        minimum=row.minimum,
        sessions_without_participation=_without_participation(sessions, marks),
        understanding=None if understanding is None else understanding.demonstrated,
        understanding_reason=understanding.reason if understanding is not None else "",
        role=course.role,
        exam_required=course.has_exam,
        exam_passed=course.has_exam and any(result.passed for result in enrolment.exam_results.all()),
        prerequisite=course.prerequisite.kind if course.prerequisite_id else None,
        holds_prerequisite=holds_prerequisite,
    )
    return EligibilityDecision(
        enrolment=enrolment,
        progress=row,
        reasons=reasons,
        override=getattr(enrolment, "override", None),
        certification=getattr(enrolment, "certification", None),
    )


def prerequisite_holders(workshops: list[Workshop], *, today: date) -> set[tuple[int, int]]:
    """(participant id, course id) of every enrolled participant of these workshops who holds an
    active certification their course needs first, in one query (none if no course needs one).
    The workshops come with ``select_related("course")``."""
    prerequisites = {w.course.prerequisite_id for w in workshops if w.course.prerequisite_id}
    if not prerequisites:
        return set()
    with_prerequisite = [w.pk for w in workshops if w.course.prerequisite_id]
    return set(
        Certification.objects.active_on(today)
        .filter(
            course_id__in=prerequisites,
            holder_id__in=Enrolment.objects.filter(
                workshop_id__in=with_prerequisite, status=Enrolment.Status.ENROLLED
            ).values("participant_id"),
        )
        .order_by()
        .values_list("holder_id", "course_id")
    )


def batch_eligibility(
    workshops: list[Workshop], *, today: date
) -> dict[int, tuple[list[WorkshopSession], list[EligibilityDecision]]]:
    """Sessions and decisions for each workshop, by workshop id, in at most five queries whatever
    the number of workshops, participants and sessions. The workshops come with
    ``select_related("course__prerequisite")``."""
    by_id = {workshop.pk: workshop for workshop in workshops}
    sessions: dict[int, list[WorkshopSession]] = {pk: [] for pk in by_id}
    for session in WorkshopSession.objects.filter(workshop_id__in=by_id).order_by("workshop_id", "starts_at"):
        session.workshop = by_id[session.workshop_id]
        sessions[session.workshop_id].append(session)
    enrolments = list(
        Enrolment.objects.filter(workshop_id__in=by_id, status=Enrolment.Status.ENROLLED)
        .select_related("participant", "understanding", "override", "certification")
        .order_by("participant__full_name", "pk")
    )
    for enrolment in enrolments:
        enrolment.workshop = by_id[enrolment.workshop_id]
    marks: dict[int, dict[int, AttendanceMark]] = {enrolment.pk: {} for enrolment in enrolments}
    for mark in AttendanceMark.objects.filter(session__workshop_id__in=by_id):
        if mark.enrolment_id in marks:  # a cancelled enrolment's marks do not count
            marks[mark.enrolment_id][mark.session_id] = mark
    prefetch_related_objects(
        [enrolment for enrolment in enrolments if enrolment.workshop.course.has_exam],
        Prefetch("exam_results", queryset=ExamResult.objects.order_by("-score")),
    )
    holders = prerequisite_holders(workshops, today=today)
    decisions: dict[int, list[EligibilityDecision]] = {pk: [] for pk in by_id}
    for enrolment in enrolments:
        course = enrolment.workshop.course
        decisions[enrolment.workshop_id].append(
            decide(
                enrolment=enrolment,
                sessions=sessions[enrolment.workshop_id],
                marks=marks[enrolment.pk],
                holds_prerequisite=(enrolment.participant_id, course.prerequisite_id) in holders,
            )
        )
    return {pk: (sessions[pk], decisions[pk]) for pk in by_id}


def eligibility(workshop: Workshop, *, today: date | None = None) -> list[EligibilityDecision]:
    """Each enrolled participant's decision from the course's rules, in a fixed number of queries."""
    return batch_eligibility([workshop], today=today or timezone.localdate())[workshop.pk][1]


# "My certifications" reads these on every visit: compiled once (``cspo.compiled``), as compiling the
# query with its four relations cost more than running it.
_CERTIFICATIONS_OF = CompiledRead(
    lambda holder_id: (
        Certification.objects.filter(holder_id=holder_id)
        # The course's renewal level: the renewal quote picks its certifications from these.
        .select_related("course__renewal_level", "enrolment__workshop__lead_trainer")
        .order_by("-issued_on", "-created_at")
    ),
    *numbers(1),
)


def certifications_of(holder, *, today: date | None = None) -> list[Certification]:
    today = today or timezone.localdate()
    certifications = _CERTIFICATIONS_OF.objects(holder.pk)
    for certification in certifications:
        certification.current_status = certification.status(today)
        certification.current_status_label = Certification.STATUS_LABELS[certification.current_status]
    return certifications


@dataclass(frozen=True)
class VerifiedCertification:
    """What the public verification page states of a certification, and nothing more."""

    pk: int
    certificant_number: str
    state: str
    issued_on: date
    expires_on: date
    revoked_at: datetime | None
    holder_name: str
    course_title: str
    course_kind: str

    def status(self, today: date) -> str:
        return status_of(self.state, self.expires_on, today)


VERIFIED_COLUMNS = (  # VerifiedCertification's fields, in order
    "pk", "certificant_number", "state", "issued_on", "expires_on", "revoked_at",
    "holder__full_name", "course__title", "course__kind",
)  # fmt: skip

# Anyone may ask for any number at any rate: compiled once (``cspo.compiled``), the read costs the
# page 0.1 ms instead of 0.75 ms. By the unique number, so without an ORDER BY.
_VERIFIED = CompiledRead(
    lambda number: (
        Certification.objects.exclude(state=Certification.State.PENDING)
        .filter(certificant_number=number)
        .values_list(*VERIFIED_COLUMNS)
        .order_by()
    ),
    "\x00number\x00",
)


def verification(number: str) -> VerifiedCertification | None:
    """The certification the public page states, by its (unique) number; a pending one is nobody's yet."""
    rows = _VERIFIED.rows(number)
    return VerifiedCertification(*rows[0]) if rows else None


# What a certificate shows, read on each download of it: compiled once (``cspo.compiled``).
_SHOWN = CompiledRead(
    lambda pk: (
        Certification.objects.select_related(*SHOWN_RELATIONS)
        .only("holder_id", *SHOWN_FIELDS)
        .exclude(state=Certification.State.PENDING)
        .filter(pk=pk)
        .order_by()
    ),
    *numbers(1),
)


def shown_certification(pk: int) -> list[Certification]:
    """The activated certification ``pk`` with what its certificate shows (none if there is none)."""
    return _SHOWN.objects(int(pk))


def open_submission(workshop: Workshop):
    return workshop.submissions.filter(reopened_at__isnull=True).select_related("submitted_by").first()


def extended_by(certification: Certification) -> list[CourseExtension]:
    """The holder's earlier certifications that earning ``certification`` extended."""
    return list(certification.extensions_made.select_related("certification__course").order_by("certification__pk"))
