"""Page routes of the interop app (the patient page's buttons); the API's are in api/urls."""

from django.urls import path

from interop import views

app_name = "interop"

urlpatterns = [
    path("patients/<int:patient_pk>/fhir.json", views.patient_fhir, name="patient-fhir"),
    path("patients/<int:patient_pk>/pacs/", views.patient_pacs_send, name="patient-pacs-send"),
]
