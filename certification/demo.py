"""Demo certifications in every state, made the way real ones are: marks on the sheet, the
trainer's submission, then activation (on a date in the past for the older workshops)."""

from __future__ import annotations

from datetime import timedelta

from participants.demo import DemoPeople
from participants.services import confirm_understanding, record_mark
from workshops.models import Enrolment, Workshop

from .models import Certification
from .services import activate, revoke, submit_workshop

# title → (activated, revoked): how many of the submitted participants activated, and were revoked
PLANS = {
    "CSPO · Toronto, in person": (8, 1),  # the rest stay pending activation
    "CSPO · Toronto, in person (two years ago)": (6, 0),  # expiring within 90 days
    "CSPO · Live online (two years ago)": (4, 0),  # expired
}


def _complete_the_sheet(workshop: Workshop, trainer, *, absent_on_day_two: int | None) -> None:
    sessions = list(workshop.sessions.order_by("starts_at"))
    enrolments = list(workshop.enrolments.filter(status=Enrolment.Status.ENROLLED).order_by("pk"))
    for number, enrolment in enumerate(enrolments):
        for day, session in enumerate(sessions):
            absent = day == 1 and number == absent_on_day_two
            record_mark(
                enrolment=enrolment, session=session, by=trainer, presence="absent" if absent else "present",
                participated=not absent, reason="Entered from the paper sheet", now=session.ends_at,
            )  # fmt: skip
        if number != absent_on_day_two:
            confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True, now=sessions[-1].ends_at)


def seed_certifications(people: DemoPeople, workshops: list[Workshop]) -> int:
    if Certification.objects.exists():
        return 0
    by_title = {w.title: w for w in workshops}
    for title, (activated, revoked) in PLANS.items():
        workshop = by_title[title]
        trainer = workshop.lead_trainer
        _complete_the_sheet(workshop, trainer, absent_on_day_two=2 if activated == 8 else None)
        submit_workshop(workshop=workshop, by=trainer)
        last_day = workshop.sessions.order_by("-ends_at").first().ends_at.date()
        pending = Certification.objects.filter(enrolment__workshop=workshop).select_related("holder").order_by("pk")
        for certification in list(pending)[:activated]:
            certification.holder.set_password("cspo-demo")
            certification.holder.save(update_fields=["password"])
            activate(certification=certification, accept_license=True, today=last_day + timedelta(days=2))
        for certification in Certification.objects.filter(enrolment__workshop=workshop, state="active")[:revoked]:
            revoke(certification=certification, by=people.administrator, reason="Demo: certified by mistake")
    return Certification.objects.count()
