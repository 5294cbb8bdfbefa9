"""Reading pages as a person does, for tests."""

from __future__ import annotations

import html
import re


def texts_of(page: str, css_class: str) -> list[str]:
    """What a person reads in each element marked with ``css_class``: whitespace collapsed, table
    cells separated by " | "."""
    elements = re.findall(rf'<(\w+) class="{css_class}"[^>]*>(.*?)</\1>', page, re.S)
    texts = []
    for _, inner in elements:
        text = re.sub(r"<[^>]+>", "", re.sub(r"</t[dh]>\s*(?=<t[dh])", " | ", inner))
        texts.append(" ".join(html.unescape(text).split()))
    return texts
