"""An iCalendar (.ics) file of a workshop's sessions (RFC 5545).

Times are written in UTC (``…Z``): unambiguous on both sides of a daylight-saving change, and every
calendar shows them in its owner's zone. The workshop's zone is named for calendars that use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from .models import Workshop, WorkshopSession

ICS_MIMETYPE = "text/calendar"


def _escape(text: str) -> str:
    # A browser's textarea sends CRLF; a raw CR inside a content line breaks the line for calendars.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, start = [], 0
    while start < len(encoded):
        end = min(start + (75 if not parts else 74), len(encoded))
        while end < len(encoded) and (encoded[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        parts.append(encoded[start:end].decode())
        start = end
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def workshop_calendar(
    workshop: Workshop, sessions: Iterable[WorkshopSession], *, url: str = "", include_meeting_link: bool = False
) -> str:
    """``include_meeting_link=True`` only for someone enrolled: the link goes to enrolled people only."""
    sessions = list(sessions)
    if workshop.format == Workshop.Format.IN_PERSON:
        location = workshop.venue_address
    elif include_meeting_link:
        location = workshop.meeting_url
    else:
        location = "Live online (the link is sent to enrolled participants)"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//cspo//workshops//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(str(workshop))}",
        f"X-WR-TIMEZONE:{workshop.time_zone}",
    ]
    stamp = _utc(datetime.now(UTC))
    for number, session in enumerate(sessions, start=1):
        lines += [
            "BEGIN:VEVENT",
            f"UID:workshop-{workshop.pk}-session-{session.pk}@cspo",
            f"DTSTAMP:{stamp}",
            # Calendars replace an event only by one with a higher SEQUENCE.
            f"SEQUENCE:{workshop.schedule_version}",
            f"DTSTART:{_utc(session.starts_at)}",
            f"DTEND:{_utc(session.ends_at)}",
            f"SUMMARY:{_escape(f'{workshop} (session {number} of {len(sessions)})')}",
        ]
        if location:
            lines.append(f"LOCATION:{_escape(location)}")
        if url:
            lines.append(f"URL:{url}")
        if workshop.status == Workshop.Status.CANCELLED:
            lines.append("STATUS:CANCELLED")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"


def calendar_filename(workshop: Workshop) -> str:
    return f"{workshop.course.kind.lower()}-workshop-{workshop.pk}.ics"
