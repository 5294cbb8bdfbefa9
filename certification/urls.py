from __future__ import annotations

from django.urls import path

from .views import exports, participant, public, review

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
    path("verify/<str:number>/", public.verify, name="verify"),
    # Administrators
    path("certifications/<int:pk>/revoke/", public.revoke, name="revoke"),
    path("exports/eligibility/", exports.eligibility_export, name="eligibility_export"),
]
