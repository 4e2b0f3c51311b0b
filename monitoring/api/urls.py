"""``/api/v1/monitoring/`` routes; ``clinic_pk`` names the clinic (404 unless monitored)."""

from django.urls import path

from monitoring.api import views

app_name = "monitoring-api"

urlpatterns = [
    path("clinics/<int:clinic_pk>/", views.ClinicSummaryView.as_view(), name="clinic-summary"),
    path(
        "clinics/<int:clinic_pk>/outcomes/",
        views.ClinicOutcomesView.as_view(),
        name="clinic-outcomes",
    ),
]
