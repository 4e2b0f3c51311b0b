"""``/api/v1/`` routes of the interop app; path parameters named like lesions.api.urls's, so
the API isolation test fills them with another clinic's records."""

from django.urls import path

from interop.api import views

app_name = "interop-api"

urlpatterns = [
    path("patients/<int:patient_pk>/fhir/", views.PatientFhirView.as_view(), name="patient-fhir"),
    path("lesions/<int:lesion_pk>/fhir/", views.LesionFhirView.as_view(), name="lesion-fhir"),
    path(
        "analyses/<int:analysis_pk>/fhir/", views.AnalysisFhirView.as_view(), name="analysis-fhir"
    ),
    path(
        "patients/<int:patient_pk>/pacs-sends/",
        views.PatientPacsSendListView.as_view(),
        name="patient-pacs-sends",
    ),
]
