"""Demo certificants at every stage of renewal: SEUs under way, ready to pay, renewed (a payment an
administrator recorded), expired within the grace period; and a Lean Coffee that credited SEUs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from participants.demo import DemoPeople
from participants.services import record_mark
from workshops.models import Enrolment, Workshop

from .models import Renewal, SeuCategory, SeuEntry
from .queries import quote
from .services import SeuActivity, log_seu_entry, renew

# participant index → (what the demo shows, [(days ago, category, hours, title)])
STAGES = {
    12: ("SEUs under way", [
        (60, "Events", "8", "Scrum Gathering, day one"),
        (59, "Events", "4", "Scrum Gathering, day two"),
        (20, "Learning", "2", "Webinar: writing good user stories"),
    ]),
    13: ("ready to pay", [
        (300, "Learning", "8", "Read “Product Mastery”"),
        (200, "Events", "6.5", "Agile Toronto meetup"),
        (90, "Volunteering", "6", "Mentored a new Product Owner"),
    ]),
    14: ("renewed", [
        (400, "Learning", "8", "Online course: product discovery"),
        (250, "Events", "8", "Product conference"),
        (100, "Other", "5", "Coaching circle"),
    ]),
    18: ("expired, in the grace period", [
        (120, "Learning", "3", "Read “Inspired”"),
        (70, "Events", "3", "Product meetup"),
    ]),
    0: ("newly certified", [(5, "Learning", "1.5", "Webinar: backlog refinement")]),
}  # fmt: skip


def _lean_coffee_attendance(workshops: list[Workshop], trainer) -> None:
    """Mark the Lean Coffee's attendance as its host would: the credits follow after commit."""
    lean_coffee = next(w for w in workshops if w.course.is_community_event)
    session = lean_coffee.sessions.first()
    for enrolment in lean_coffee.enrolments.filter(status=Enrolment.Status.ENROLLED).order_by("pk"):
        record_mark(
            enrolment=enrolment, session=session, by=trainer, presence="present", participated=True,
            reason="Entered from the meetup's attendee list", now=session.ends_at,
        )  # fmt: skip


def seed_renewals(people: DemoPeople, workshops: list[Workshop]) -> int:
    if SeuEntry.objects.filter(source_session__isnull=True).exists() or Renewal.objects.exists():
        return 0
    today = timezone.localdate()
    categories = {category.name: category for category in SeuCategory.objects.all()}
    for index, (_, entries) in STAGES.items():
        holder = people.participants[index]
        starts = quote(holder, today=today).window_starts_on
        for days_ago, category, hours, title in entries:
            earned_on = max(today - timedelta(days=days_ago), starts) if starts else None
            if earned_on is None:
                continue
            log_seu_entry(
                holder=holder, today=today,
                activity=SeuActivity(earned_on=earned_on, category=categories[category], hours=Decimal(hours),
                                     title=title, good_faith=True),
            )  # fmt: skip
    renewed = people.participants[14]
    current = quote(renewed, today=today)
    if current.requirement_met:
        renew(
            holder=renewed, by=people.administrator, provider_name="manual", expected_key=current.key,
            details={"reference": "INV-2026-0042 (bank transfer)"}, today=today,
        )  # fmt: skip
    _lean_coffee_attendance(workshops, people.trainers[1])
    return SeuEntry.objects.count()
