from __future__ import annotations

from django.contrib import admin
from django.db import models

from . import catalogue
from .models import Course, Enrolment, RosterImport, Workshop, WorkshopSession
from .services import has_begun


class ChangesTheCatalogue:
    """What the admin site saves or deletes here is in the public catalogue: its kept pages are
    dropped at once (workshops/catalogue.py), as the services do, rather than within a minute."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        catalogue.changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalogue.changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalogue.changed()


@admin.register(Course)
class CourseAdmin(ChangesTheCatalogue, admin.ModelAdmin):
    list_display = ("kind", "title", "minimum_contact_hours", "has_exam", "validity_months", "prerequisite")


# Links typed without a scheme are https (Django 6's default; saying so silences its warning).
HTTPS_LINKS = {models.URLField: {"assume_scheme": "https"}}


class WorkshopSessionInline(admin.TabularInline):
    model = WorkshopSession
    extra = 0


class EnrolmentInline(admin.TabularInline):
    model = Enrolment
    extra = 0
    autocomplete_fields = ("participant",)


@admin.register(Workshop)
class WorkshopAdmin(ChangesTheCatalogue, admin.ModelAdmin):
    list_display = ("__str__", "course", "lead_trainer", "format", "time_zone", "capacity", "status")
    list_filter = ("status", "format", "course")
    list_select_related = ("course", "lead_trainer")
    search_fields = ("title", "lead_trainer__full_name")
    autocomplete_fields = ("lead_trainer", "co_trainers")
    inlines = (WorkshopSessionInline, EnrolmentInline)
    formfield_overrides = HTTPS_LINKS

    def get_readonly_fields(self, request, obj=None):
        """A workshop that has begun keeps its course and time zone, here as on the trainer's page
        (services.update_workshop)."""
        return ("course", "time_zone") if obj is not None and has_begun(obj) else ()


@admin.register(Enrolment)
class EnrolmentAdmin(ChangesTheCatalogue, admin.ModelAdmin):
    list_display = ("participant", "workshop", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("participant", "workshop__course")
    autocomplete_fields = ("participant", "workshop")
    search_fields = ("participant__email", "participant__full_name")


@admin.register(RosterImport)
class RosterImportAdmin(admin.ModelAdmin):
    """Roster imports, for a look at what happened: they change through the import page only."""

    list_display = ("created_at", "workshop", "filename", "rows", "state", "enrolled", "uploaded_by")
    list_filter = ("state",)
    list_select_related = ("workshop__course", "uploaded_by")
    exclude = ("data",)  # names and addresses, until imported

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
