from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("", views.index, name="index"),
    path("clinics/<int:clinic_pk>/", views.clinic_page, name="clinic"),
    path("clinics/<int:clinic_pk>/export.csv", views.clinic_export, name="clinic-export"),
]
