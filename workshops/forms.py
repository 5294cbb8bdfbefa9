from __future__ import annotations

from django import forms

from participants.models import User

from .models import PreworkItem, Workshop, time_zone_names

TIME_ZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(time_zone_names())]


class WorkshopForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=TIME_ZONE_CHOICES,
        help_text=(
            "Session times are entered in this zone. Changing it keeps their clock times (09:00 stays 09:00, "
            "in the new zone), and everyone enrolled is sent the new times."
        ),
    )
    meeting_url = forms.URLField(label="Meeting link", required=False, assume_scheme="https")

    class Meta:
        model = Workshop
        fields = [
            "course",
            "title",
            "description",
            "co_trainers",
            "format",
            "venue_address",
            "meeting_url",
            "time_zone",
            "capacity",
            "price",
            "currency",
            "prework_days_before",
            "offer_hours",
        ]
        widgets = {
            "co_trainers": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 4}),
            "venue_address": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, lead_trainer: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["co_trainers"].queryset = User.objects.trainers().exclude(pk=lead_trainer.pk)
        self.fields["co_trainers"].required = False


class SessionForm(forms.Form):
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(label="Starts", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    ends = forms.TimeField(label="Ends", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


PREWORK_FILE_MAX_MB = 25


class PreworkItemForm(forms.ModelForm):
    url = forms.URLField(label="Link", required=False, assume_scheme="https")

    class Meta:
        model = PreworkItem
        fields = ["title", "file", "url"]
        help_texts = {"url": "A link, or upload a file instead."}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > PREWORK_FILE_MAX_MB * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is larger than {PREWORK_FILE_MAX_MB} MB, the most a pre-work file can be: "
                "link to it instead."
            )
        return upload
