from __future__ import annotations

from django.contrib import admin

from .models import Certification, EligibilityOverride, ExamResult, Submission


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ("certificant_number", "holder", "course", "state", "issued_on", "expires_on")
    list_filter = ("state", "course")
    list_select_related = ("holder", "course")
    search_fields = ("certificant_number", "holder__email", "holder__full_name")
    readonly_fields = ("enrolment", "holder", "course", "submission", "certificate_fingerprint", "created_at")


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ("workshop", "submitted_by", "submitted_at", "reopened_at")
    list_select_related = ("workshop__course", "submitted_by")


@admin.register(ExamResult)
class ExamResultAdmin(admin.ModelAdmin):
    list_display = ("enrolment", "score", "out_of", "pass_mark", "taken_at")
    autocomplete_fields = ("enrolment",)


admin.site.register(EligibilityOverride)
