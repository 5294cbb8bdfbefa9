"""The rows of the SEU ledger and of the expiry dashboard, written by Python rather than by template
nodes: fifty rows of a dozen filters, ``{% url %}`` tags and conditions each were most of those pages'
time (bench/findings.md). The markup is the one the pages always had."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from cspo.rows import escape, short_date, url_of

from ..models import seus

register = template.Library()


@register.simple_tag(takes_context=True)
def seu_entry_rows(context, entries, administering=False) -> SafeString:
    """The ledger's rows, one ``seu_entry_row`` each: one tag, not a template loop of fifty."""
    return mark_safe("\n".join(seu_entry_row(context, entry, administering) for entry in entries))


def seu_entry_row(context, entry, administering=False) -> SafeString:
    """One entry of the ledger (a ``LedgerEntry``): its date, activity with description and evidence, category, SEUs,
    whether it counts, and (for its holder) the links to edit and delete it."""
    title = escape(entry.title)
    activity = title
    if entry.description:
        activity += f' <span class="muted">{escape(Truncator(entry.description).chars(120))}</span>'
    if entry.evidence_url:
        activity += (
            f' <span class="muted"><a href="{escape(entry.evidence_url)}" rel="noopener noreferrer">'
            "Evidence link</a></span>"
        )
    if entry.evidence_file:
        url = url_of(context, "renewals:evidence", entry.pk)
        activity += f' <span class="muted"><a href="{escape(url)}">Evidence file</a></span>'
    if entry.renewal_id is not None:
        counts = f"Used by the renewal of {short_date(context, entry.renewed_on)}"
    elif entry.counts:
        counts = '<span class="ok">Counts</span>'
    else:
        counts = '<span class="muted">Outside the current period</span>'
    actions = ""
    if not administering:
        if entry.renewal_id is None and not entry.is_credited:
            edit = escape(url_of(context, "renewals:edit_entry", entry.pk))
            delete = escape(url_of(context, "renewals:delete_entry", entry.pk))
            actions = (
                f'<td><a href="{edit}">Edit<span class="visually-hidden"> {title}</span></a> · '
                f'<a href="{delete}">Delete<span class="visually-hidden"> {title}</span></a></td>'
            )
        else:
            actions = '<td><span class="muted">Kept as it is</span></td>'
    return mark_safe(  # every value above is escaped, a number, or markup of this function
        f'<tr id="entry-{entry.pk}"><td>{short_date(context, entry.earned_on)}</td>'
        f'<th scope="row">{activity}</th>'
        f"<td>{escape(entry.category)}</td>"
        f'<td class="num">{seus(entry.hours)}</td>'
        f"<td>{counts}</td>{actions}</tr>"
    )


@register.simple_tag(takes_context=True)
def expiring_rows(context, rows) -> SafeString:
    """The dashboard's rows, one ``expiring_row`` per certification and quote: one tag, not a loop."""
    return mark_safe("\n".join(expiring_row(context, certification, quote) for certification, quote in rows))


def expiring_row(context, certification, quote) -> SafeString:
    """One certification of the expiry dashboard (an ``ExpiringCertification``) with its holder's SEUs
    and a link to their ledger."""
    name = escape(certification.holder_name or certification.holder_email)
    email = escape(certification.holder_email)
    if quote.requirement_met:
        enough = '<span class="ok">Yes</span>'
    else:
        enough = f'<span class="warn">{seus(quote.seus_missing)} missing</span>'
    ledger = escape(url_of(context, "renewals:holder_ledger", certification.holder_id))
    return mark_safe(  # every value above is escaped, a number, or markup of this function
        f"<tr><td>{short_date(context, certification.expires_on)}</td>"
        f'<th scope="row">{name}<span class="muted">{email}</span></th>'
        f"<td>{escape(certification.course_kind)} · {escape(certification.certificant_number)}</td>"
        f'<td class="num">{seus(quote.seus_earned)} / {seus(quote.seus_required)}</td>'
        f"<td>{enough}</td>"
        f'<td><a href="{ledger}">Open<span class="visually-hidden"> the ledger of {name}</span></a></td></tr>'
    )
