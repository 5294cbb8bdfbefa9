"""Administrators download eligibility lists, as CSV (streamed) or XLSX."""

from __future__ import annotations

from django import forms
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from participants.models import User
from participants.permissions import administrator_required
from workshops.models import Course, Workshop

from .. import exports

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class EligibilityExportForm(forms.Form):
    workshop = forms.IntegerField(
        label="Workshop number", required=False, min_value=1, help_text="One workshop only; leave empty for all."
    )
    trainer = forms.ModelChoiceField(
        queryset=User.objects.filter(is_trainer=True).order_by("full_name", "email"),
        required=False,
        empty_label="Any trainer",
        help_text="Workshops this trainer leads or co-trains.",
    )
    course = forms.ModelChoiceField(
        queryset=Course.objects.order_by("kind"), to_field_name="kind", required=False, empty_label="Any course"
    )
    start = forms.DateField(
        label="First day from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Workshops whose first day, in the workshop’s time zone, is on or after this date.",
    )
    end = forms.DateField(
        label="First day to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="…and on or before this date.",
    )
    format = forms.ChoiceField(
        label="File format",
        initial="csv",
        choices=[("csv", "CSV (any size, downloads as it is made)"), ("xlsx", "Excel (XLSX)")],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["trainer"].label_from_instance = lambda user: f"{user.full_name} ({user.email})"

    def clean_workshop(self) -> Workshop | None:
        number = self.cleaned_data["workshop"]
        if number is None:
            return None
        workshop = Workshop.objects.filter(pk=number).first()
        if workshop is None:
            raise forms.ValidationError(f"There is no workshop number {number}.")
        return workshop

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", "The end of the range is before its start.")
        return cleaned


@administrator_required
def eligibility_export(request):
    if "format" not in request.GET:
        return render(request, "certification/export.html", {"form": EligibilityExportForm()})
    form = EligibilityExportForm(request.GET)
    if not form.is_valid():
        return render(request, "certification/export.html", {"form": form})
    filters = {name: form.cleaned_data[name] for name in ("workshop", "trainer", "course", "start", "end")}
    rows = exports.eligibility_rows(**filters)
    filename = f"eligibility-{timezone.localdate():%Y-%m-%d}"
    if form.cleaned_data["format"] == "xlsx":
        path = exports.xlsx_file(rows)
        handle = path.open("rb")
        path.unlink()  # the open handle keeps the file readable until the response closes it
        response = FileResponse(handle, as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE)
    else:
        response = StreamingHttpResponse(
            exports.csv_chunks(rows),
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )
    response["Cache-Control"] = "private, no-store"  # names and e-mail addresses
    return response
