"""Forms of the public pages: the catalogue filter, the enrolment form and the time-zone choice."""

from __future__ import annotations

import re
from datetime import date
from html import escape

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from participants.models import User

from .models import CALENDAR_FROM, CALENDAR_UNTIL, Course, Workshop, time_zone_names, validate_time_zone

# Offered in the time-zone menu; the visitor's current zone is added when it is not one of them.
COMMON_TIME_ZONES = [
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Vancouver",
    "America/Edmonton",
    "America/Winnipeg",
    "America/Mexico_City",
    "America/Toronto",
    "America/Halifax",
    "America/St_Johns",
    "America/Bogota",
    "America/Sao_Paulo",
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
]

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII)


def is_time_zone(name: str) -> bool:
    return name in time_zone_names()


class CourseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Course) -> str:
        return f"{obj.kind} — {obj.title}"


class PlainSelect(forms.Select):
    """A select whose options are written in Python. Django draws each option through a template
    of its own, which made the catalogue's time-zone menu its costliest part (bench/findings.md).
    Flat choices only, no option groups."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = {str(v) for v in self.format_value(value)}
        # The standard library's escape: Django's wraps every call for lazy strings, which cost more
        # than the escaping for the time-zone menu's six hundred options.
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>{escape(str(label))}</option>'
            for v, label in self.choices
        )
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe(options))  # escaped above


class CatalogueFilterForm(forms.Form):
    """Every filter is optional; one that does not make sense is reported and left out."""

    course = CourseChoiceField(
        queryset=Course.objects.order_by("kind"),
        to_field_name="kind",
        required=False,
        empty_label="Any course",
        widget=PlainSelect,
        error_messages={"invalid_choice": "There is no course “%(value)s”; showing every course."},
    )
    format = forms.ChoiceField(
        choices=[("", "Any format"), *Workshop.Format.choices],
        required=False,
        widget=PlainSelect,
        error_messages={"invalid_choice": "There is no format “%(value)s”; showing every format."},
    )
    month = forms.CharField(
        required=False,
        help_text="The month of the first session, as YYYY-MM (2027-03 for March 2027).",
        # No max_length: any text gets the one message below, not a message about its length.
        widget=forms.TextInput(
            attrs={"type": "month", "placeholder": "YYYY-MM", "pattern": r"\d{4}-\d{1,2}", "maxlength": 7}
        ),
    )

    def clean_month(self) -> date | None:
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        match = MONTH_PATTERN.match(value)
        problem = f"“{value}” is not a month such as 2027-03; showing every month."
        if match is None:
            raise forms.ValidationError(problem, code="invalid")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise forms.ValidationError(problem, code="invalid")
        first_day = date(year, month, 1)
        if not CALENDAR_FROM <= first_day <= CALENDAR_UNTIL:
            raise forms.ValidationError(
                f"Choose a month between {CALENDAR_FROM:%Y} and {CALENDAR_UNTIL:%Y}; showing every month.",
                code="invalid",
            )
        return first_day

    def filters(self) -> dict:
        """The filters that passed validation, ready for ``queries.catalogue``; call after ``is_valid()``."""
        course = self.cleaned_data.get("course")
        return {
            "course": course.kind if course else "",
            "format": self.cleaned_data.get("format") or "",
            "month": self.cleaned_data.get("month"),
        }


class EnrolmentForm(forms.Form):
    full_name = forms.CharField(
        label="Full name",
        max_length=User._meta.get_field("full_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="E-mail",
        max_length=User._meta.get_field("email").max_length,  # an account's, not e-mail's 320
        help_text="The confirmation and the calendar file go to this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None and user.is_authenticated:
            self.initial.setdefault("full_name", user.full_name)
            self.initial["email"] = user.email
            self.fields["email"].widget.attrs["readonly"] = True
            self.fields["email"].help_text = "You are signed in with this address; log out first to enrol someone else."


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(
        label="Show times in",
        max_length=64,
        validators=[validate_time_zone],
        error_messages={"required": "Choose a time zone."},
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, current: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        zones = COMMON_TIME_ZONES if not current or current in COMMON_TIME_ZONES else [current, *COMMON_TIME_ZONES]
        choices = [("", "Choose a time zone"), *((zone, zone.replace("_", " ")) for zone in zones)]
        self.fields["time_zone"].widget = PlainSelect(choices=choices, attrs={"autocomplete": "off"})
        self.initial.setdefault("time_zone", current or "")
