"""The app's addresses, and the benchmark's floors (``bench.views``): only the benchmark routes these."""

from __future__ import annotations

from django.urls import path

from cspo.urls import urlpatterns as app_urlpatterns

from .views import write_floor

urlpatterns = [path("bench/write", write_floor, name="bench_write_floor"), *app_urlpatterns]
