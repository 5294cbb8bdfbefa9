from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from certification.demo import seed_certifications
from certification.models import Certification
from participants.demo import DEMO_PASSWORD, seed_marks, seed_people
from renewals.demo import seed_renewals
from workshops.demo import seed_workshops


class Command(BaseCommand):
    help = "Load demo data that makes the app feel alive. Safe to run again: nothing is duplicated."

    def handle(self, *args, **options) -> None:
        # Demo e-mails (pre-work already released) are kept in memory, not printed or sent.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"), transaction.atomic():
            people = seed_people()
            workshops = seed_workshops(people)
            running = next(w for w in workshops if w.status == w.Status.RUNNING)
            seed_marks(running, people.trainers[0])
            seed_certifications(people, workshops)
            seed_renewals(people, workshops)
        certifications = Certification.objects.count()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready: {len(workshops)} workshops, {certifications} certifications.")
        )
        self.stdout.write(f"Log in at http://127.0.0.1:8000/login/ with password “{DEMO_PASSWORD}”:")
        self.stdout.write(f"  administrator  {people.administrator.email}")
        for trainer in people.trainers:
            self.stdout.write(f"  trainer        {trainer.email}")
        self.stdout.write(f"  participant    {people.participants[0].email} (certified; participant01…40 all work)")
        self.stdout.write(
            f"  renewal stages {people.participants[12].email} (SEUs under way), {people.participants[13].email}"
            f" (ready to pay), {people.participants[14].email} (renewed), {people.participants[18].email} (expired)"
        )
