from __future__ import annotations

from django.urls import path

from . import views

app_name = "renewals"

urlpatterns = [
    path("me/renewal/", views.ledger, name="ledger"),
    path("me/renewal/pay/", views.pay, name="pay"),
    path("me/renewal/entries/<int:pk>/edit/", views.edit_entry, name="edit_entry"),
    path("me/renewal/entries/<int:pk>/delete/", views.delete_entry, name="delete_entry"),
    path("renewal/entries/<int:pk>/evidence/", views.evidence, name="evidence"),
    path("renewals/people/<int:pk>/", views.holder_ledger, name="holder_ledger"),
    path("renewals/dashboard/", views.dashboard, name="dashboard"),
    path("renewals/dashboard/export.csv", views.dashboard_export, name="dashboard_export"),
]
