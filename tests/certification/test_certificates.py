"""The certificate: a real PDF, rendered once and stored, rendered again when what it shows changes,
and downloaded only by its holder (or an administrator)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.certificates import certificate_file, certificate_fingerprint
from certification.models import Certification
from tests.factories import UserFactory, certification_for

pytestmark = pytest.mark.django_db

PNG = Path("/tmp/cspo-certificate.png")


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def download_url(certification: Certification) -> str:
    return reverse("certification:certificate_pdf", args=[certification.pk])


@pytest.fixture
def active(participant, trainer):
    return certification_for(participant, trainer, activated_on=timezone.localdate())


def test_certificate_is_a_pdf_named_after_the_number(active):
    pdf = certificate_file(certification=active)

    content = Path(pdf.path).read_bytes()
    assert content[:5] == b"%PDF-"
    assert len(content) > 5_000
    assert pdf.name == f"certificates/{active.certificant_number}.pdf"
    active.refresh_from_db()
    assert active.certificate_fingerprint == certificate_fingerprint(active)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm, pdfinfo) is not installed")
def test_certificate_is_one_a4_landscape_page(active):
    path = certificate_file(certification=active).path

    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    pages = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith(("Pages:", "Page size:"))]
    # Page one, for a person to look at: /tmp/cspo-certificate.png
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-singlefile", path, str(PNG.with_suffix(""))], check=True)
    assert pages == ["1", "841.89 x 595.276 pts (A4)"]
    assert PNG.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_certificate_is_rendered_once(active):
    first = Path(certificate_file(certification=active).path)
    rendered_at, content = first.stat().st_mtime_ns, first.read_bytes()

    again = Path(certificate_file(certification=active).path)

    assert (again, again.stat().st_mtime_ns) == (first, rendered_at)
    assert again.read_bytes() == content


def test_certificate_is_rendered_again_when_the_holder_name_changes(active):
    first = Path(certificate_file(certification=active).path)
    old_content, old_fingerprint = first.read_bytes(), Certification.objects.get(pk=active.pk).certificate_fingerprint
    active.holder.full_name = "Patricia Participant"
    active.holder.save(update_fields=["full_name"])

    again = Path(certificate_file(certification=active).path)

    active.refresh_from_db()
    assert again == first  # the same name: the new file replaced the old one
    assert [path.name for path in first.parent.iterdir()] == [f"{active.certificant_number}.pdf"]
    assert again.read_bytes() != old_content
    assert active.certificate_fingerprint not in {"", old_fingerprint}


def test_certificate_is_rendered_again_when_the_stored_file_is_gone(active):
    first = Path(certificate_file(certification=active).path)
    first.unlink()

    again = Path(certificate_file(certification=active).path)

    assert again == first
    assert again.read_bytes()[:5] == b"%PDF-"


def test_certificate_fingerprint_follows_the_dates_and_the_name(active):
    before = certificate_fingerprint(active)

    same = certificate_fingerprint(Certification.objects.get(pk=active.pk))
    active.expires_on += timedelta(days=1)
    later_expiry = certificate_fingerprint(active)
    active.expires_on -= timedelta(days=1)
    active.holder.full_name = "Someone Else"
    other_name = certificate_fingerprint(active)

    assert same == before
    assert len({before, later_expiry, other_name}) == 3


def test_certificate_of_an_expiring_certification_is_rendered(participant, trainer):
    expiring = certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=700))
    assert expiring.status(timezone.localdate()) == "expiring"

    assert Path(certificate_file(certification=expiring).path).read_bytes()[:5] == b"%PDF-"


def test_certificate_of_a_pending_certification_is_refused(participant, trainer):
    pending = certification_for(participant, trainer)

    with pytest.raises(ValidationError) as error:
        certificate_file(certification=pending)

    assert error.value.messages == ["There is no certificate for a certification that is pending activation."]


def test_certificate_of_an_expired_certification_is_refused(participant, trainer):
    expired = certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=800))

    with pytest.raises(ValidationError) as error:
        certificate_file(certification=expired)

    assert error.value.messages == ["There is no certificate for a certification that is expired."]
    expired.refresh_from_db()
    assert expired.certificate_pdf.name == ""


def test_certificate_download_by_the_holder_is_an_inline_pdf(active, participant, login):
    response = login(participant).get(download_url(active))

    content = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="CSPO-certificate-{active.certificant_number}.pdf"'
    assert content[:5] == b"%PDF-"


def test_certificate_download_once_stored_reads_one_row_and_takes_no_lock(
    active, participant, login, django_assert_num_queries
):
    client = login(participant)
    b"".join(client.get(download_url(active)).streaming_content)  # drawn and stored

    # session, user, the certification with what it shows: no lock, no deferred column read later
    with django_assert_num_queries(3) as captured:
        response = client.get(download_url(active))
        content = b"".join(response.streaming_content)

    assert content[:5] == b"%PDF-"
    assert not any("FOR UPDATE" in query["sql"] for query in captured.captured_queries)


def test_certificate_download_by_an_administrator_is_allowed(active, administrator, login):
    response = login(administrator).get(download_url(active))

    content = b"".join(response.streaming_content)
    assert (response.status_code, content[:5]) == (200, b"%PDF-")


def test_certificate_download_by_another_participant_is_not_found(active, login):
    response = login(UserFactory(full_name="Nosy Neighbour")).get(download_url(active))

    assert response.status_code == 404


def test_certificate_download_by_the_trainer_is_not_found(active, trainer, login):
    response = login(trainer).get(download_url(active))

    assert response.status_code == 404


def test_certificate_download_anonymous_goes_to_login(active, client):
    url = download_url(active)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


def test_certificate_download_of_a_pending_certification_is_not_found(participant, trainer, login):
    pending = certification_for(participant, trainer)

    response = login(participant).get(download_url(pending))

    assert response.status_code == 404


def test_certificate_download_of_a_revoked_certification_explains_why(active, participant, administrator, login):
    services.revoke(certification=active, by=administrator, reason="Certified by mistake.")

    response = login(participant).get(download_url(active))

    assert response.status_code == 302
    assert response["Location"] == reverse("certification:my_certifications")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "There is no certificate for a certification that is revoked."
    ]


def test_certificate_download_of_an_expired_certification_explains_why(participant, trainer, login):
    expired = certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=800))
    client = login(participant)

    response = client.get(download_url(expired))

    assert response.status_code == 302
    assert response["Location"] == reverse("certification:my_certifications")
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "There is no certificate for a certification that is expired."
    ]
