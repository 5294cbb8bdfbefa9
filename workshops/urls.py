from __future__ import annotations

from django.urls import path

from .views import participant, public, roster, trainer

app_name = "workshops"

urlpatterns = [
    # Trainers and administrators
    path("trainer/", trainer.trainer_home, name="trainer_home"),
    path("trainer/workshops/new/", trainer.workshop_create, name="workshop_create"),
    path("trainer/workshops/<int:pk>/", trainer.workshop_detail, name="workshop_detail"),
    path("trainer/workshops/<int:pk>/edit/", trainer.workshop_edit, name="workshop_edit"),
    path("trainer/workshops/<int:pk>/sessions/", trainer.session_add, name="session_add"),
    path("trainer/workshops/<int:pk>/sessions/<int:session_pk>/", trainer.session_update, name="session_update"),
    path(
        "trainer/workshops/<int:pk>/sessions/<int:session_pk>/delete/",
        trainer.session_delete,
        name="session_delete",
    ),
    path("trainer/workshops/<int:pk>/publish/", trainer.workshop_publish, name="workshop_publish"),
    path("trainer/workshops/<int:pk>/cancel/", trainer.workshop_cancel, name="workshop_cancel"),
    path("trainer/workshops/<int:pk>/prework/", trainer.prework_add, name="prework_add"),
    path("trainer/workshops/<int:pk>/prework/<int:item_pk>/delete/", trainer.prework_delete, name="prework_delete"),
    path("trainer/workshops/<int:pk>/enrol/", roster.admin_enrol, name="admin_enrol"),
    path("trainer/workshops/<int:pk>/roster/import/", roster.roster_import, name="roster_import"),
    path(
        "trainer/workshops/<int:pk>/roster/import/<int:import_pk>/",
        roster.roster_import_status,
        name="roster_import_status",
    ),
    path("overview/", trainer.overview, name="overview"),
    # Anyone
    path("workshops/", public.catalogue, name="catalogue"),
    path("workshops/<int:pk>/", public.public_detail, name="public_detail"),
    path("workshops/<int:pk>/calendar.ics", public.calendar, name="calendar"),
    path("workshops/<int:pk>/enrol/", public.enrol, name="enrol"),
    path("time-zone/", public.choose_time_zone, name="choose_time_zone"),
    path("offers/<str:token>/", participant.offer, name="offer"),
    # The participant's own enrolments
    path("me/enrolments/<int:pk>/", participant.my_enrolment, name="my_enrolment"),
    path("me/enrolments/<int:pk>/cancel/", participant.cancel, name="cancel_enrolment"),
    path("me/enrolments/<int:pk>/prework/<int:item_pk>/", participant.prework_file, name="prework_file"),
]
