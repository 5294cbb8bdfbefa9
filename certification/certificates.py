"""The certificate a holder downloads: rendered once and stored; rendered again when what it shows
(the name, the dates, the trainer, the verify link) changes."""

from __future__ import annotations

import hashlib

import segno
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from workshops.services import absolute_url

from .models import Certification

# Raise it when templates/certification/certificate.html changes, so stored certificates are redrawn.
CERTIFICATE_DESIGN = 1
DOWNLOADABLE = {"active", "expiring"}
SHOWN_RELATIONS = ("holder", "course", "enrolment__workshop__lead_trainer")
# The columns a stored certificate is checked against (``_shown``, the status, the file): a download
# reads these and no more. A column missing here costs a query of its own, which the tests count.
SHOWN_FIELDS = (
    "holder__full_name", "holder__email", "course__title", "course__kind",
    "enrolment__workshop__lead_trainer__full_name", "state", "issued_on", "expires_on",
    "certificant_number", "certificate_pdf", "certificate_fingerprint",
)  # fmt: skip


def verify_url(certification: Certification) -> str:
    return absolute_url(reverse("certification:verify", args=[certification.certificant_number]))


def _shown(certification: Certification) -> dict[str, str]:
    """Everything the certificate prints, as text: the fingerprint and the page are built from it."""
    course = certification.course
    return {
        "design": str(CERTIFICATE_DESIGN),
        "holder": certification.holder.full_name or certification.holder.email,
        "course_title": course.title,
        "course_kind": course.kind,
        "issued_on": certification.issued_on.isoformat(),
        "expires_on": certification.expires_on.isoformat(),
        "number": certification.certificant_number,
        "trainer": certification.enrolment.workshop.lead_trainer.full_name,
        "verify_url": verify_url(certification),
    }


def certificate_fingerprint(certification: Certification) -> str:
    shown = _shown(certification)
    return hashlib.sha256("\n".join(f"{key}={value}" for key, value in shown.items()).encode()).hexdigest()


def _points(text: str, *, largest: int, smallest: int) -> int:
    """A font size that keeps a long name or title on one line across the page: DejaVu Serif's
    letters are about 0.62 em wide on average, and the line is 225 mm (1 pt = 0.3528 mm)."""
    fits = int(225 / (0.62 * 0.3528 * max(len(text), 1)))
    return max(smallest, min(largest, fits))


def _render(certification: Certification) -> bytes:
    # Imported here: it is slow to import and only the certificate needs it.
    import weasyprint

    shown = _shown(certification)
    url = shown["verify_url"]
    qr = segno.make(url, error="m")
    html = render_to_string(
        "certification/certificate.html",
        {
            "certification": certification,
            "holder_name": shown["holder"],
            "course": certification.course,
            "trainer": certification.enrolment.workshop.lead_trainer,
            "verify_url": url,
            "qr_code": qr.svg_data_uri(border=0, dark="#1b1f24"),
            "name_size": _points(shown["holder"], largest=40, smallest=20),
            "title_size": _points(certification.course.title, largest=34, smallest=22),
        },
    )
    return weasyprint.HTML(string=html).write_pdf()


def _stored_if_current(certification: Certification) -> FieldFile | None:
    status = certification.status(timezone.localdate())
    if status not in DOWNLOADABLE:
        label = Certification.STATUS_LABELS[status].lower()
        raise ValidationError(f"There is no certificate for a certification that is {label}.")
    stored = certification.certificate_pdf
    current = certification.certificate_fingerprint == certificate_fingerprint(certification)
    return stored if stored and current and stored.storage.exists(stored.name) else None


def certificate_file(*, certification: Certification) -> FieldFile:
    """The stored PDF when it still shows the current facts, otherwise a fresh one in its place.
    Serving a stored one takes no lock (``certification`` was just read, ideally with
    ``SHOWN_RELATIONS`` and ``SHOWN_FIELDS``); drawing one locks the row, so two downloads at once draw it once."""
    return _stored_if_current(certification) or _draw(certification)


@transaction.atomic
def _draw(certification: Certification) -> FieldFile:
    certification = (
        Certification.objects.select_for_update(of=("self",)).select_related(*SHOWN_RELATIONS).get(pk=certification.pk)
    )
    stored = _stored_if_current(certification)  # drawn by another download while we waited
    if stored is not None:
        return stored
    fingerprint = certificate_fingerprint(certification)
    stored = certification.certificate_pdf
    name = f"{certification.certificant_number}.pdf"
    pdf = _render(certification)
    if stored:
        stored.storage.delete(stored.name)
    target = stored.field.generate_filename(certification, name)
    if stored.storage.exists(target):  # a file left behind by a rolled-back render; ours replaces it
        stored.storage.delete(target)
    stored.save(name, ContentFile(pdf), save=False)
    certification.certificate_fingerprint = fingerprint
    certification.save(update_fields=["certificate_pdf", "certificate_fingerprint"])
    return certification.certificate_pdf
