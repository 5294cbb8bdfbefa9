"""``{% form_fields form %}``: a form's fields with their labels, help and errors, linked for screen
readers, in Python. It is ``includes/form.html``'s markup, byte for byte: drawn by template nodes,
each field's dozen lookups, conditions and loops cost more than its widget (bench/findings.md).
``tests/test_widgets.py`` holds the two equal for every form of the project."""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _text(value) -> str:
    return conditional_escape(value)


def _field(field) -> str:
    errors = field.errors
    auto_id = _text(field.auto_id)
    help_text = f'<p class="help" id="{auto_id}_helptext">{field.help_text}</p>' if field.help_text else ""
    error_lines = "".join(f'<p class="error" id="{auto_id}_error">{_text(error)}</p>' for error in errors)
    return (
        f'\n  <div class="field{" has-error" if errors else ""}">\n'
        f'    <label for="{_text(field.id_for_label)}">{_text(field.label)}</label>\n'
        f"    {field}\n"
        f"    {help_text}\n"
        f"    {error_lines}\n"
        "  </div>\n"
    )


@register.simple_tag
def form_fields(form) -> SafeString:
    drawn = ["\n"]
    non_field_errors = form.non_field_errors()
    if non_field_errors:
        lines = "".join(f"<p>{_text(error)}</p>" for error in non_field_errors)
        drawn.append(f'\n  <div class="form-errors" role="alert">\n    {lines}\n  </div>\n')
    drawn.append("\n")
    drawn.extend(str(field) for field in form.hidden_fields())
    drawn.append("\n")
    drawn.extend(_field(field) for field in form.visible_fields())
    drawn.append("\n")
    return mark_safe("".join(drawn))  # every value is escaped, or safe already (widgets, help text)
