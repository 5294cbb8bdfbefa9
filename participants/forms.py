from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

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
    """Finds the accounts as Django does, but hands the sending to a Celery worker."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **kwargs):
        send_password_reset.delay_on_commit(
            user_id=context["user"].pk, domain=context["domain"], use_https=context["protocol"] == "https"
        )


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
        label="Demonstrated understanding of the Product Owner role",
        choices=[("yes", "Yes"), ("no", "Not demonstrated")],
        coerce=lambda value: value == "yes",
    )
    reason = forms.CharField(label="Why not", max_length=300, required=False)
