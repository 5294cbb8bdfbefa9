from __future__ import annotations

from django.urls import path, register_converter

from .views import exports, participant, public, review


class CertificantNumber:
    """Eight digits in two groups (``models.new_certificant_number``); anything else is no page."""

    regex = "[0-9]{4}-[0-9]{4}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CertificantNumber, "certificant_number")

app_name = "certification"

urlpatterns = [
    # Trainers: review eligibility and submit
    path("trainer/workshops/<int:pk>/certification/", review.review, name="review"),
    path("trainer/workshops/<int:pk>/certification/override/<int:enrolment_pk>/", review.override, name="override"),
    path("trainer/workshops/<int:pk>/certification/submit/", review.submit, name="submit"),
    path("trainer/workshops/<int:pk>/certification/reopen/", review.reopen, name="reopen"),
    # Participants
    path("me/certifications/", participant.my_certifications, name="my_certifications"),
    path("me/certifications/<int:pk>/certificate.pdf", public.certificate_pdf, name="certificate_pdf"),
    path("activate/<str:token>/", participant.activate, name="activate"),
    path("activate/<str:token>/new-link/", participant.new_link, name="new_link"),
    # Anyone
    path("verify/<certificant_number:number>/", public.verify, name="verify"),
    # Administrators
    path("certifications/<int:pk>/revoke/", public.revoke, name="revoke"),
    path("exports/eligibility/", exports.eligibility_export, name="eligibility_export"),
]
