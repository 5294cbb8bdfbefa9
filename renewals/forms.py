from __future__ import annotations

from pathlib import Path

from django import forms
from django.core.validators import FileExtensionValidator
from django.forms.models import ModelChoiceIterator

from . import payments
from .models import SeuCategory, SeuEntry, seus
from .services import SeuActivity

EVIDENCE_TYPES = ["pdf", "png", "jpg", "jpeg", "txt"]
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024


class ChoicesReadOnce(ModelChoiceIterator):
    """The select widget goes through its choices twice when drawn (the options, and whether the first
    is empty); Django's iterator reads the queryset each time, through a server-side cursor. This one
    reads it once, as a plain query, and keeps the rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:  # the queryset keeps its rows for the next pass
            yield self.choice(obj)


class CategoryField(forms.ModelChoiceField):
    iterator = ChoicesReadOnce


class SeuEntryForm(forms.Form):
    earned_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    category = CategoryField(queryset=SeuCategory.objects.none(), empty_label=None)
    hours = forms.DecimalField(
        label="SEUs (hours)",
        max_digits=4,
        decimal_places=2,
        help_text="1 SEU is 1 hour of learning; quarter hours are fine (1.25, 2.5).",
        widget=forms.NumberInput(attrs={"step": "0.25", "min": "0.25", "inputmode": "decimal"}),
    )
    title = forms.CharField(max_length=200, help_text="What you did: the book, the webinar, the meetup.")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Optional: what you learned."
    )
    evidence_url = forms.URLField(label="Evidence link", required=False, assume_scheme="https")
    evidence_file = forms.FileField(
        label="Evidence file",
        required=False,
        validators=[FileExtensionValidator(EVIDENCE_TYPES)],
        help_text="Optional: a PDF or image, at most 5 MB (a certificate of attendance, a receipt).",
    )
    good_faith = forms.BooleanField(
        label="I completed this activity as described (logged on a good-faith basis; entries may be audited)",
        error_messages={"required": "Confirm that you completed this activity as described."},
    )

    def __init__(self, *args, entry: SeuEntry | None = None, **kwargs):
        if entry is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "earned_on": entry.earned_on,
                "category": entry.category_id,
                "hours": seus(entry.hours),
                "title": entry.title,
                "description": entry.description,
                "evidence_url": entry.evidence_url,
            }
        super().__init__(*args, **kwargs)
        categories = SeuCategory.objects.filter(is_active=True)
        if entry is not None:
            categories = SeuCategory.objects.filter(is_active=True) | SeuCategory.objects.filter(pk=entry.category_id)
        self.fields["category"].queryset = categories.order_by("position", "name")

    def clean_evidence_file(self):
        upload = self.cleaned_data.get("evidence_file")
        if upload and upload.size > EVIDENCE_MAX_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        if upload:
            upload.name = Path(upload.name).name[-100:]
        return upload

    def activity(self) -> SeuActivity:
        data = self.cleaned_data
        return SeuActivity(
            earned_on=data["earned_on"],
            category=data["category"],
            hours=data["hours"],
            title=data["title"],
            description=data["description"],
            evidence_url=data["evidence_url"],
            evidence_file=data.get("evidence_file"),
            good_faith=data["good_faith"],
        )


class PaymentForm(forms.Form):
    """The certificant pays through a self-service provider (today: the test card)."""

    key = forms.CharField(widget=forms.HiddenInput)
    provider = forms.ChoiceField(label="Pay with", widget=forms.RadioSelect)
    card_number = forms.CharField(
        label="Card number",
        required=False,
        max_length=23,
        help_text="Test provider: 4242 4242 4242 4242 is accepted, 4000 0000 0000 0002 is declined.",
        widget=forms.TextInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(p.name, p.label) for p in payments.enabled_providers() if p.self_service]
        self.fields["provider"].choices = choices
        if len(choices) == 1:
            self.fields["provider"].initial = choices[0][0]


class RecordPaymentForm(forms.Form):
    """An administrator records a fee paid outside cspo."""

    key = forms.CharField(widget=forms.HiddenInput)
    reference = forms.CharField(
        label="Invoice number or transfer reference", max_length=120, help_text="Shown on the payment record."
    )
