"""Form widgets drawn by Python: Django's own markup, without the template language.

Django draws each widget with a template and two includes (``input.html``, ``attrs.html``); on the SEU
ledger its eight fields took about 2 ms, a sixth of the page (bench/findings.md). ``WidgetRenderer``
(``FORM_RENDERER``) writes the plain widgets (inputs of every type, textareas, selects of plain options,
radio buttons and checkboxes, a file input with no file yet) in Python with the same markup, byte
for byte, and leaves anything else to Django's templates (a file already uploaded, options of a
template of their own). ``tests/test_widgets.py`` holds the two equal for every form of the project.
"""

from __future__ import annotations

from collections.abc import Callable

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime

WIDGETS = "django/forms/widgets/"


def _text(value) -> str:
    """``{{ value }}``: in the reader's time zone and format, escaped unless already safe."""
    if not isinstance(value, str):
        value = localize(template_localtime(value))
    return conditional_escape(value)


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: ``stringformat`` keeps a safe value safe."""
    text = "%s" % (str(value) if isinstance(value, tuple) else value)  # as the filter formats
    return text if isinstance(value, SafeData) else conditional_escape(text)


def _attrs(attrs: dict) -> str:
    """``attrs.html``: ``True`` names the attribute alone, ``False`` leaves it out."""
    drawn = []
    for name, value in attrs.items():
        if callable(value) and not getattr(value, "do_not_call_in_templates", False):
            value = value()  # the template language calls what it is given
        if value is False:
            continue
        drawn.append(f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"')
    return "".join(drawn)


def _input(widget: dict) -> str:
    value = "" if widget["value"] is None else f' value="{_formatted(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _textarea(widget: dict) -> str:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def _option(option: dict) -> str:
    return f'<option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>{_text(option["label"])}</option>'


def _select(widget: dict) -> str | None:
    groups = []
    for group_name, options, _index in widget["optgroups"]:
        if any(option["template_name"] != f"{WIDGETS}select_option.html" for option in options):
            return None  # options of their own template: Django draws them
        drawn = "".join(f"\n  {_option(option)}\n" for option in options)  # the option's file ends in a newline
        groups.append(f'\n  <optgroup label="{_text(group_name)}">{drawn}\n  </optgroup>' if group_name else drawn)
    return f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>{"".join(groups)}\n</select>'


def _choice(option: dict) -> str:
    """``radio_option.html``/``checkbox_option.html``: ``input_option.html`` with the newline each
    included file ends with."""
    if not option["wrap_label"]:
        return f"{_input(option)}\n\n\n"
    target = f' for="{_text(option["attrs"]["id"])}"' if option["attrs"].get("id") else ""
    return f"<label{target}>{_input(option)}\n {_text(option['label'])}</label>\n\n"


def _choices(widget: dict) -> str | None:
    """``multiple_input.html``: radio buttons, or checkboxes, each in a div, grouped as the choices are."""
    attrs = widget["attrs"]
    drawn = ["<div"]
    if attrs.get("id"):
        drawn.append(f' id="{_text(attrs["id"])}"')
    if attrs.get("class"):
        drawn.append(f' class="{_text(attrs["class"])}"')
    drawn.append(">")
    for group, options, _index in widget["optgroups"]:
        if any(option["template_name"] not in CHOICE_OPTIONS for option in options):
            return None  # options of their own template: Django draws them
        if group:
            drawn.append(f"\n  <div><label>{_text(group)}</label>")
        drawn.extend(f"<div>\n    {_choice(option)}</div>" for option in options)
        if group:
            drawn.append("\n  </div>")
    drawn.append("\n</div>")
    return "".join(drawn)


CHOICE_OPTIONS = {f"{WIDGETS}radio_option.html", f"{WIDGETS}checkbox_option.html"}


def _file(widget: dict) -> str | None:
    """``clearable_file_input.html`` before a file is there (a file there: Django draws the link)."""
    if widget.get("is_initial"):
        return None
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>'


DRAWN: dict[str, Callable[[dict], str | None]] = {
    **{
        f"{WIDGETS}{name}.html": _input
        for name in ("input", "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time")
    },
    f"{WIDGETS}checkbox.html": _input,
    f"{WIDGETS}file.html": _input,
    f"{WIDGETS}textarea.html": _textarea,
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}radio.html": _choices,
    f"{WIDGETS}checkbox_select.html": _choices,
    f"{WIDGETS}clearable_file_input.html": _file,
}


class WidgetRenderer(DjangoTemplates):
    """Django's renderer, with the plain widgets written in Python. Like Django's, it finds the widget
    templates in Django's own folder before any app's, so what it writes is what they would draw."""

    def render(self, template_name, context, request=None) -> SafeString:
        draw = DRAWN.get(template_name)
        if draw is not None and "widget" in context:
            html = draw(context["widget"])
            if html is not None:
                return mark_safe(html)  # every value in it is escaped as the template escapes it
        return super().render(template_name, context, request=request)
