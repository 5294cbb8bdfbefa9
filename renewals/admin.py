"""Administrators change the renewal rules here (levels, categories, the policy). Entries, renewals
and payments are shown for audits only: they change through the ledger pages and their services."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .models import Payment, Renewal, RenewalLevel, RenewalPolicy, SeuCategory, SeuEntry


@admin.register(RenewalLevel)
class RenewalLevelAdmin(admin.ModelAdmin):
    list_display = ("name", "rank", "seus_required", "fee", "currency")


@admin.register(SeuCategory)
class SeuCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "is_active", "position")
    list_editable = ("is_active", "position")


@admin.register(RenewalPolicy)
class RenewalPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "daily_cap", "seu_window_months", "grace_days", "reminder_days")

    def has_add_permission(self, request) -> bool:
        return not RenewalPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SeuEntry)
class SeuEntryAdmin(ReadOnlyAdmin):
    list_display = ("earned_on", "holder", "title", "category", "hours", "renewal", "ledger")
    list_filter = ("category",)
    list_select_related = ("holder", "category", "renewal")
    search_fields = ("holder__email", "holder__full_name", "title")
    date_hierarchy = "earned_on"

    @admin.display(description="Ledger")
    def ledger(self, entry: SeuEntry) -> str:
        return format_html('<a href="{}">Open</a>', reverse("renewals:holder_ledger", args=[entry.holder_id]))


@admin.register(Renewal)
class RenewalAdmin(ReadOnlyAdmin):
    list_display = ("renewed_on", "holder", "seus_used", "fee", "currency")
    list_select_related = ("holder",)
    search_fields = ("holder__email", "holder__full_name")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "holder", "provider", "amount", "currency", "reference", "recorded_by")
    list_select_related = ("holder", "recorded_by")
    list_filter = ("provider",)
    search_fields = ("holder__email", "reference")
