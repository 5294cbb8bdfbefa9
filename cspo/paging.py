"""Pages of a list that is read without being counted.

Django's ``Paginator`` counts the whole list to say "page 3 of 391". On a long list whose total the page
shows elsewhere (the expiry dashboard's summary counts each window), that count is most of the page's
database time. An ``UncountedPage`` reads one row more than it shows instead: that row says whether
there is a next page. The list is counted only when a page beyond its end is asked for (an old link,
an edited address), to land on its last page as ``Paginator.get_page`` does.

``includes/pager.html`` draws either kind of page; an uncounted one says "Page 3" without "of 391".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# A page number beyond this is beyond the end of any list we page through: it is not sent to the
# database as an offset (PostgreSQL's OFFSET is a 64-bit integer).
LAST_PAGE_ASKED = 1_000_000


@dataclass(frozen=True, slots=True)
class UncountedPage:
    """What a template or a view asks of Django's ``Page``, but the number of pages."""

    number: int
    per_page: int
    object_list: Sequence
    more: bool  # a row was read beyond this page
    paginator = None  # not counted: the pager shows no number of pages

    def has_next(self) -> bool:
        return self.more

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        """The 1-based position of the page's first row (0 for an empty list), as ``Page``'s."""
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)


def page_number(value) -> int:
    """The page asked for: a whole number from 1, else the first page (``Paginator.get_page`` gives
    the first for what is not a number, but the last for a number below 1)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), LAST_PAGE_ASKED)


def uncounted_page(
    read: Callable[[int], Sequence], count: Callable[[], int], *, number, per_page: int
) -> UncountedPage:
    """Page ``number`` of a list. ``read(offset)`` gives the list's rows from ``offset``, at most
    ``per_page + 1`` of them; ``count()`` the length of the list, asked only when the page asked for is
    beyond the end (then the last page is read)."""
    number = page_number(number)
    rows = read((number - 1) * per_page)
    if not rows and number > 1:
        total = count()
        number = max(1, -(-total // per_page))
        rows = read((number - 1) * per_page) if total else rows
    return UncountedPage(number=number, per_page=per_page, object_list=rows[:per_page], more=len(rows) > per_page)
