"""A participant's certifications, and activating one from the link in the e-mail."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from renewals.queries import quote as renewal_quote

from .. import queries, services
from ..models import Certification


class ActivationForm(forms.Form):
    accept = forms.BooleanField(
        label="I accept the license agreement",
        required=True,
        error_messages={"required": "Accept the license agreement to activate."},
    )
    password = forms.CharField(label="Password", widget=forms.PasswordInput, required=False, strip=False)
    password_again = forms.CharField(
        label="Password confirmation", widget=forms.PasswordInput, required=False, strip=False
    )

    experience_months = forms.IntegerField(
        min_value=0,
        required=True,
        error_messages={"required": "Say how many months you worked in the role.", "invalid": "Give whole months."},
    )

    def __init__(self, *args, holder, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.holder = holder
        if course.experience_months:  # an advanced course: the work in its role, stated in good faith
            field = self.fields["experience_months"]
            field.max_value = course.experience_years * 12
            field.validators.append(MaxValueValidator(field.max_value))
            field.widget.attrs.update(min=0, max=field.max_value)
            field.label = f"Months you worked as a {course.role} in the last {course.experience_years} years"
            field.help_text = (
                f"The {course.kind} needs at least {course.experience_months}. You state it in good faith, "
                "as you log SEUs: it may be audited."
            )
        else:
            del self.fields["experience_months"]
        self.needs_password = not holder.has_usable_password()
        if self.needs_password:
            self.fields["password"].required = self.fields["password_again"].required = True
            self.fields["password"].help_text = password_validators_help_text_html()
            self.fields["password"].widget.attrs["autocomplete"] = "new-password"
            self.fields["password_again"].widget.attrs["autocomplete"] = "new-password"
        else:
            del self.fields["password"], self.fields["password_again"]

    def clean(self):
        data = super().clean()
        password = data.get("password")
        if self.needs_password and password:
            if password != data.get("password_again"):
                self.add_error("password_again", "The two passwords differ.")
            else:
                try:
                    validate_password(password, self.holder)
                except ValidationError as error:
                    self.add_error("password", error)
        return data


def masked_email(address: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to learn it: n…@example.org."""
    name, _, domain = address.partition("@")
    return f"{name[:1] if len(name) > 1 else ''}…@{domain}"


def _integer(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def my_certifications(request):
    if request.method == "POST":
        return _send_new_link_to_holder(request)
    certifications = queries.certifications_of(request.user)
    for certification in certifications:
        if certification.current_status == "pending":
            # The holder is signed in, so the page may carry a fresh link of the current version.
            certification.activation_path = reverse(
                "certification:activate", args=[services.activation_token(certification)]
            )
    return render(
        request,
        "certification/my_certifications.html",
        {
            "certifications": certifications,
            "link_days": services.ACTIVATION_LINK_DAYS,
            "renewal": renewal_quote(request.user, certifications=certifications),
        },
    )


def _send_new_link_to_holder(request):
    """The "send me a new activation link" button, for one's own pending certification only."""
    certification = get_object_or_404(
        Certification, pk=_integer(request.POST.get("certification")) or 0, holder=request.user
    )
    if request.POST.get("action") != "new_link":
        return HttpResponseBadRequest("Unknown action.")
    address = masked_email(request.user.email)
    try:
        sent = services.send_new_activation_link(
            certification=certification, seen_version=_integer(request.POST.get("version"))
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if sent:
            messages.success(
                request, f"A new activation link is on its way to {address}. The older links stop working."
            )
        else:
            messages.info(request, f"A new activation link was sent to {address} a moment ago. Use the newest e-mail.")
    return redirect("certification:my_certifications")


@require_http_methods(["GET", "POST"])
def activate(request, token: str):
    """Public: a new participant has no password yet; the signed link stands in for one."""
    certification, problem = services.certification_from_token(token)
    if certification is None:
        return render(request, "certification/activate.html", {"problem": problem, "token": token}, status=400)
    if certification.state != Certification.State.PENDING:
        return render(request, "certification/activate.html", {"certification": certification, "done": True})
    form = ActivationForm(request.POST or None, holder=certification.holder, course=certification.course)
    if request.method == "POST" and form.is_valid():
        try:
            certification = services.activate(
                certification=certification,
                accept_license=form.cleaned_data["accept"],
                password=form.cleaned_data.get("password", ""),
                experience_months=form.cleaned_data.get("experience_months"),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, certification.holder, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(
                request,
                f"Your {certification.course.kind} certification is active until "
                f"{certification.expires_on:%-d %B %Y}. Your certificant number is {certification.certificant_number}.",
            )
            if extended := queries.extended_by(certification):
                kinds = " and ".join(extension.certification.course.kind for extension in extended)
                runs = "run" if len(extended) > 1 else "runs"
                messages.info(request, f"Your {kinds} now {runs} until {certification.expires_on:%-d %B %Y} as well.")
            return redirect("certification:my_certifications")
    return render(request, "certification/activate.html", {"certification": certification, "form": form})


@require_POST
def new_link(request, token: str):
    """From an expired or replaced link: without a maximum age, the signature still proves which
    certification the link was for, so nobody can ask for links to certifications of their choosing."""
    try:
        value = signing.TimestampSigner(salt=services.ACTIVATION_SALT).unsign(token)
        pk, version = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError) as error:
        raise Http404("This link is not valid.") from error
    certification = get_object_or_404(Certification.objects.select_related("holder", "course"), pk=pk)
    if certification.state != Certification.State.PENDING:
        return render(request, "certification/activate.html", {"certification": certification, "done": True})
    try:
        services.send_new_activation_link(certification=certification, seen_version=version)
    except ValidationError:  # activated (or revoked) in another tab meanwhile
        certification.refresh_from_db()
        return render(request, "certification/activate.html", {"certification": certification, "done": True})
    return render(
        request, "certification/activate.html", {"sent": True, "address": masked_email(certification.holder.email)}
    )
