from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views
from .forms import EmailAuthenticationForm

app_name = "participants"

urlpatterns = [
    path("me/", views.my_home, name="my_home"),
    path("trainer/workshops/<int:pk>/sheet/", views.sheet, name="sheet"),
    path("trainer/workshops/<int:pk>/sheet/<int:enrolment_pk>/<int:session_pk>/", views.save_mark, name="save_mark"),
    path(
        "trainer/workshops/<int:pk>/sheet/sessions/<int:session_pk>/present/",
        views.mark_session_present,
        name="mark_session_present",
    ),
    path(
        "trainer/workshops/<int:pk>/sheet/<int:enrolment_pk>/understanding/",
        views.save_understanding,
        name="save_understanding",
    ),
    path("trainer/workshops/<int:pk>/sheet/<int:enrolment_pk>/history/", views.mark_history, name="mark_history"),
]

# Django's auth views under their usual names (login, logout, password_reset…), with our templates.
account_urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=EmailAuthenticationForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password-reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
