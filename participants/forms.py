from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.sites.shortcuts import get_current_site

from .models import AttendanceMark
from .tasks import send_password_reset


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        # The same words whether or not the address has an account, so the form reveals nothing.
        "invalid_login": "That e-mail and password do not match an account. Check both and try again.",
        "inactive": "This account is not active. Contact the training company.",
    }


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's form, but a Celery worker looks the address up and sends the link
    (``services.send_password_reset``). Every address is handed over alike, so the page answers the
    same, as fast, and fails the same with the broker away, whether or not it has an account."""

    def save(self, domain_override=None, use_https=False, request=None, **kwargs):
        domain = domain_override or get_current_site(request).domain
        send_password_reset.delay(email=self.cleaned_data["email"], domain=domain, use_https=use_https)


class MarkForm(forms.Form):
    presence = forms.ChoiceField(
        label="Attendance",
        choices=[("", "—"), *AttendanceMark.Presence.choices],
        required=False,
        error_messages={"invalid_choice": "Choose present, late, left early or absent."},
    )
    minutes = forms.IntegerField(
        label="Minutes", min_value=0, max_value=1440, required=False,
        error_messages={"min_value": "Minutes cannot be negative.", "invalid": "Minutes are a whole number."},
    )  # fmt: skip
    participated = forms.BooleanField(label="Active participation", required=False)
    note = forms.CharField(label="Note", max_length=200, required=False)
    reason = forms.CharField(label="Reason for the change", max_length=300, required=False)

    def clean_presence(self) -> str:
        if not self.cleaned_data["presence"]:
            raise forms.ValidationError("Mark attendance first: present, late, left early or absent.")
        return self.cleaned_data["presence"]


class UnderstandingForm(forms.Form):
    demonstrated = forms.TypedChoiceField(
        label="Demonstrated understanding of the role",
        choices=[("yes", "Yes"), ("no", "Not demonstrated")],
        coerce=lambda value: value == "yes",
    )
    reason = forms.CharField(label="Why not", max_length=300, required=False)
