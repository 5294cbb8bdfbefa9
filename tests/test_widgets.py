"""Widgets drawn by Python (cspo/widgets.py) are Django's own markup, byte for byte: every field of
every form of the project, empty, filled in and refused, and the widgets' awkward values. The
form's fields with their labels, help and errors (cspo/form_fields.py) are the markup of the
template that drew them before, kept here as the reference."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test.signals import template_rendered
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from certification.views.exports import EligibilityExportForm
from certification.views.participant import ActivationForm
from cspo.widgets import WidgetRenderer
from participants.forms import EmailAuthenticationForm, MarkForm, QueuedPasswordResetForm, UnderstandingForm
from renewals.forms import PaymentForm, RecordPaymentForm, SeuEntryForm
from tests.factories import CourseFactory, SeuEntryFactory, UserFactory, WorkshopFactory
from workshops.forms import PreworkItemForm, SessionForm, WorkshopForm
from workshops.forms_public import CatalogueFilterForm, EnrolmentForm, TimeZoneForm
from workshops.views.roster import EnrolPersonForm, RosterUploadForm

pytestmark = pytest.mark.django_db

DJANGO, PYTHON = DjangoTemplates(), WidgetRenderer()


def drawn_by_both(build) -> tuple[list[str], list[str]]:
    """Each field of the form ``build(renderer)`` makes, drawn by Django's templates, then by Python."""
    return tuple([str(field) for field in build(renderer)] for renderer in (DJANGO, PYTHON))


def project_forms():
    """Every form a page of the project draws: empty, filled in, and refused."""
    trainer = UserFactory(is_trainer=True, full_name='Tess "<Trainer>"')
    workshop = WorkshopFactory(lead_trainer=trainer, title="Product <Ownership> & more")
    entry = SeuEntryFactory(title="A <b>book</b>", description="Read it\nall")
    bad_upload = {"evidence_file": SimpleUploadedFile("notes.exe", b"MZ")}
    return {
        "log in": lambda r: EmailAuthenticationForm(data={"username": "x@"}, renderer=r),
        "password reset": lambda r: QueuedPasswordResetForm(renderer=r),
        "new password": lambda r: SetPasswordForm(trainer, data={"new_password1": "a"}, renderer=r),
        "mark, empty": lambda r: MarkForm(renderer=r),
        "mark, refused": lambda r: MarkForm(
            data={"presence": "gone", "minutes": "-3", "participated": "on"}, renderer=r
        ),
        "understanding": lambda r: UnderstandingForm(initial={"demonstrated": "no"}, renderer=r),
        "SEU entry, new": lambda r: SeuEntryForm(initial={"earned_on": date(2026, 11, 24)}, renderer=r),
        "SEU entry, edited": lambda r: SeuEntryForm(entry=entry, renderer=r),
        "SEU entry, refused": lambda r: SeuEntryForm(
            data={"hours": "1.333", "title": '"><script>', "earned_on": "soon"}, files=bad_upload, renderer=r
        ),
        "payment": lambda r: PaymentForm(initial={"key": "renewal:1:2@2027-01-01"}, renderer=r),
        "record payment": lambda r: RecordPaymentForm(data={"key": "k", "reference": "<INV-1>"}, renderer=r),
        "workshop, new": lambda r: WorkshopForm(lead_trainer=trainer, renderer=r),
        "workshop, edited": lambda r: WorkshopForm(instance=workshop, lead_trainer=trainer, renderer=r),
        "workshop, refused": lambda r: WorkshopForm(data={"capacity": "0"}, lead_trainer=trainer, renderer=r),
        "session": lambda r: SessionForm(data={"starts_at": "2026-13-01T09:00"}, renderer=r),
        "pre-work": lambda r: PreworkItemForm(renderer=r),
        "catalogue filters": lambda r: CatalogueFilterForm(data={"course": "NOPE", "month": "2027-3"}, renderer=r),
        "enrolment": lambda r: EnrolmentForm(user=trainer, renderer=r),
        "time zone": lambda r: TimeZoneForm(current="Asia/Kolkata", renderer=r),
        "activation, new password": lambda r: ActivationForm(
            data={"password": "short", "password_again": "other"},
            holder=UserFactory(password=None),
            course=workshop.course,
            renderer=r,
        ),
        "activation": lambda r: ActivationForm(holder=trainer, course=workshop.course, renderer=r),
        "activation, work experience": lambda r: ActivationForm(
            data={"experience_months": "61"},
            holder=trainer,
            renderer=r,
            course=CourseFactory(kind="A-CSPO", title="Advanced CSPO", experience_months=12),
        ),
        "eligibility export": lambda r: EligibilityExportForm(data={"workshop": "0", "start": "no"}, renderer=r),
        "enrol a person": lambda r: EnrolPersonForm(data={"email": "<not an address>"}, renderer=r),
        "roster upload": lambda r: RosterUploadForm(renderer=r),
    }


def test_every_field_of_every_form_is_drawn_as_django_draws_it():
    for name, build in project_forms().items():
        by_django, by_python = drawn_by_both(build)
        assert by_python == by_django, name


# includes/form.html as the template language drew it, before cspo/form_fields.py.
FIELDS_TEMPLATE = """{# a form's fields with their labels, help and errors, linked for screen readers #}
{% if form.non_field_errors %}
  <div class="form-errors" role="alert">
    {% for error in form.non_field_errors %}<p>{{ error }}</p>{% endfor %}
  </div>
{% endif %}
{% for field in form.hidden_fields %}{{ field }}{% endfor %}
{% for field in form.visible_fields %}
  <div class="field{% if field.errors %} has-error{% endif %}">
    <label for="{{ field.id_for_label }}">{{ field.label }}</label>
    {{ field }}
    {% if field.help_text %}<p class="help" id="{{ field.auto_id }}_helptext">{{ field.help_text|safe }}</p>{% endif %}
    {% for error in field.errors %}<p class="error" id="{{ field.auto_id }}_error">{{ error }}</p>{% endfor %}
  </div>
{% endfor %}
"""


def test_every_form_s_fields_are_drawn_as_the_template_drew_them():
    reference = Template(FIELDS_TEMPLATE)
    refused_login = EmailAuthenticationForm(data={"username": "nobody@example.org", "password": "wrong"})
    refused_login.is_valid()  # a non-field error: the e-mail and password do not match
    forms_drawn = {name: build(None) for name, build in project_forms().items()} | {"refused log-in": refused_login}

    for name, form in forms_drawn.items():
        assert render_to_string("includes/form.html", {"form": form}) == reference.render(Context({"form": form})), name
    assert "form-errors" in render_to_string("includes/form.html", {"form": refused_login})


def test_the_project_draws_its_forms_with_the_python_widgets():
    assert isinstance(get_default_renderer(), WidgetRenderer)


class Awkward(forms.Form):
    """Values and attributes where the template language's rules show."""

    escaped = forms.CharField(initial='"quoted" <b>&amp;</b>', widget=forms.TextInput(attrs={"data-x": "<&>"}))
    safe = forms.CharField(initial=mark_safe("<i>kept</i>"), widget=forms.TextInput(attrs={"title": mark_safe("&")}))
    flags = forms.CharField(required=False, widget=forms.TextInput(attrs={"autofocus": True, "hidden": False}))
    called = forms.CharField(required=False, widget=forms.TextInput(attrs={"data-n": lambda: "<called>"}))
    number = forms.DecimalField(initial=Decimal("1234.50"), widget=forms.NumberInput(attrs={"min": 0, "step": 0.25}))
    day = forms.DateField(initial=date(2026, 2, 3))
    empty = forms.CharField(initial="", required=False)
    checked = forms.BooleanField(initial=True, required=False)
    unchecked = forms.BooleanField(initial=False, required=False)
    note = forms.CharField(initial="\nfirst line kept <x>", widget=forms.Textarea(attrs={"rows": 2, "cols": 5}))
    blank_note = forms.CharField(required=False, widget=forms.Textarea)
    grouped = forms.ChoiceField(
        initial=2,
        choices=[("", "—"), ("Odd <1>", [(1, "one"), (3, "three")]), ("Even", [(2, lazy(str, str)("two & a half"))])],
    )
    many = forms.MultipleChoiceField(initial=["a", "c"], choices=[("a", "A"), ("b", "B"), ("c", 3)])
    disabled = forms.ChoiceField(choices=[("x", "X")], disabled=True)
    upload = forms.FileField(required=False)
    radio = forms.ChoiceField(initial="s", choices=[("r", "R <&>"), ("s", "S")], widget=forms.RadioSelect)
    grouped_radio = forms.ChoiceField(
        choices=[("Odd", [(1, "one")]), ("Even", [(2, "two")])], widget=forms.RadioSelect(attrs={"class": "x<"})
    )
    boxes = forms.MultipleChoiceField(
        initial=["b"], choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple
    )
    unlabelled = forms.ChoiceField(choices=[("u", "U")], widget=forms.RadioSelect, label="")
    hidden = forms.CharField(initial=42, widget=forms.HiddenInput)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="s3cr<t")


def templates_drawing(build) -> set[str]:
    """The templates Django renders while Python draws the form ``build(renderer)`` makes."""
    names = set()

    def seen(sender, template, **kwargs):
        names.add(template.name)

    template_rendered.connect(seen)
    try:
        [str(field) for field in build(PYTHON)]
    finally:
        template_rendered.disconnect(seen)
    return names


def test_awkward_values_are_drawn_as_django_draws_them():
    by_django, by_python = drawn_by_both(lambda r: Awkward(renderer=r))

    assert by_python == by_django
    assert any("<optgroup" in html for html in by_python)  # the cases are there to be compared
    assert templates_drawing(lambda r: Awkward(renderer=r)) == set()  # Python drew every one


def test_a_file_already_uploaded_is_drawn_by_django_with_its_link():
    class WithFile(forms.Form):
        evidence = forms.FileField(required=False)

    stored = type("Stored", (), {"url": "/media/a&b.pdf", "__str__": lambda self: "a&b.pdf"})()
    by_django, by_python = drawn_by_both(lambda r: WithFile(initial={"evidence": stored}, renderer=r))

    assert by_python == by_django
    assert 'href="/media/a&amp;b.pdf"' in by_python[0]
    assert "django/forms/widgets/clearable_file_input.html" in templates_drawing(
        lambda r: WithFile(initial={"evidence": stored}, renderer=r)
    )
