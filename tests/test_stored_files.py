"""Stored files (certificates, pre-work, SEU evidence) reach people only through views that check
who asks, never by their address under MEDIA_URL, not even in the embedded default (DEBUG on)."""

from __future__ import annotations

import importlib

import pytest
from django.urls import Resolver404, clear_url_caches, get_resolver

import cspo.urls


@pytest.fixture
def urls_as_in_debug(settings):
    settings.DEBUG = True
    importlib.reload(cspo.urls)
    clear_url_caches()
    yield get_resolver()
    settings.DEBUG = False
    importlib.reload(cspo.urls)
    clear_url_caches()


@pytest.mark.parametrize(
    "path", ["/media/certificates/1379-9078.pdf", "/media/prework/agenda.pdf", "/media/seu-evidence/1/receipt.pdf"]
)
def test_a_stored_file_has_no_address_of_its_own_even_with_debug_on(urls_as_in_debug, path):
    with pytest.raises(Resolver404):
        urls_as_in_debug.resolve(path)
