from __future__ import annotations

from django.contrib import admin

from .models import Certification, CourseExtension, EligibilityOverride, ExamResult, Submission


class CourseExtensionInline(admin.TabularInline):
    """When another course this holder took moved the expiry date (a record: read only)."""

    model = CourseExtension
    fk_name = "certification"
    fields = ("earned", "previous_expiry", "new_expiry", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("earned__course", "earned__holder")


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    inlines = [CourseExtensionInline]
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
