"""An uncounted page (cspo.paging) answers as Django's Page does, but reads one row more instead of
counting the list, and counts only when asked for a page beyond the end."""

from __future__ import annotations

import pytest
from django.core.paginator import Paginator

from cspo.paging import LAST_PAGE_ASKED, page_number, uncounted_page


class Listing:
    """A list read as a database would give it, with a note of each read and count."""

    def __init__(self, length: int, per_page: int):
        self.rows, self.per_page, self.asked = list(range(length)), per_page, []

    def read(self, offset: int) -> list[int]:
        self.asked.append(("read", offset))
        return self.rows[offset : offset + self.per_page + 1]

    def count(self) -> int:
        self.asked.append(("count",))
        return len(self.rows)


@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 25, 30])
@pytest.mark.parametrize("asked", [None, "x", "1", "2", "3", "4", "7", str(10**30)])
def test_an_uncounted_page_is_the_page_django_would_give(length, asked):
    listing = Listing(length, per_page=10)

    ours = uncounted_page(listing.read, listing.count, number=asked, per_page=10)
    django = Paginator(listing.rows, 10).get_page(asked)

    assert (ours.number, list(ours.object_list)) == (django.number, list(django.object_list))
    assert (ours.has_next(), ours.has_previous(), ours.has_other_pages()) == (
        django.has_next(),
        django.has_previous(),
        django.has_other_pages(),
    )
    assert (ours.start_index(), ours.end_index(), len(ours)) == (django.start_index(), django.end_index(), len(django))
    if ours.has_next():
        assert ours.next_page_number() == django.next_page_number()
    if ours.has_previous():
        assert ours.previous_page_number() == django.previous_page_number()


@pytest.mark.parametrize("asked", ["0", "-1"])
def test_a_page_number_below_one_is_the_first_page(asked):
    listing = Listing(25, per_page=10)

    page = uncounted_page(listing.read, listing.count, number=asked, per_page=10)

    assert (page.number, list(page)) == (1, list(range(10)))  # Django's get_page would give the last
    assert listing.asked == [("read", 0)]


def test_a_page_within_the_list_is_read_once_and_never_counted():
    listing = Listing(25, per_page=10)

    page = uncounted_page(listing.read, listing.count, number="2", per_page=10)

    assert listing.asked == [("read", 10)]
    assert page.paginator is None  # the pager says "Page 2", not "of 3"


def test_a_page_beyond_the_end_counts_and_reads_the_last_page():
    listing = Listing(25, per_page=10)

    page = uncounted_page(listing.read, listing.count, number="9", per_page=10)

    assert listing.asked == [("read", 80), ("count",), ("read", 20)]
    assert (page.number, list(page)) == (3, [20, 21, 22, 23, 24])


def test_a_page_beyond_the_end_of_nothing_is_not_read_again():
    listing = Listing(0, per_page=10)

    page = uncounted_page(listing.read, listing.count, number="4", per_page=10)

    assert listing.asked == [("read", 30), ("count",)]
    assert (page.number, list(page), page.has_other_pages()) == (1, [], False)


def test_a_page_number_far_beyond_any_list_is_not_sent_as_an_offset():
    assert page_number(str(10**30)) == LAST_PAGE_ASKED
