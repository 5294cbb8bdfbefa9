from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from participants.urls import account_urlpatterns
from participants.views import home

from .views import bench_baseline, healthz

admin.site.site_header = "cspo administration"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("bench/baseline", bench_baseline, name="bench_baseline"),
    path("", include(account_urlpatterns)),
    path("", include("participants.urls")),
    path("", include("workshops.urls")),
    path("", include("certification.urls")),
    path("", include("renewals.urls")),
    path("admin/", admin.site.urls),
]
# Stored files (certificates, pre-work, SEU evidence) are never served by their address, even with
# DEBUG on: each goes out through its view, which checks who asks.
