from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from .models import OutboundEmail, User
from .services import resend_email


class UserChangeFormByEmail(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationFormByEmail(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "full_name")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeFormByEmail
    add_form = UserCreationFormByEmail
    ordering = ("full_name", "email")
    list_display = ("email", "full_name", "is_trainer", "is_participant", "is_staff", "is_active")
    list_filter = ("is_trainer", "is_participant", "is_staff", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "time_zone")}),
        ("Roles", {"fields": ("is_trainer", "is_participant", "is_staff", "is_superuser", "is_active")}),
        ("Permissions", {"fields": ("groups", "user_permissions"), "classes": ("collapse",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "full_name", "password1", "password2")}),)


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    """The outbox: what was sent to whom, and what failed; failed messages can be sent again."""

    list_display = ("created_at", "purpose", "to", "subject", "state", "attempts", "last_attempt_at", "sent_at")
    list_filter = ("state", "purpose")
    search_fields = ("to", "subject")
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]
    actions = ("send_again",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Send the selected failed messages again")
    def send_again(self, request, queryset):
        failed = list(queryset.filter(state=OutboundEmail.State.FAILED))
        for message in failed:
            resend_email(message=message)
        self.message_user(request, f"{len(failed)} failed messages queued again; others were left alone.")
