from __future__ import annotations

from django.conf import settings
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

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
