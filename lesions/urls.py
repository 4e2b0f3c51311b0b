from django.urls import path

from lesions.views import analyses, follow_up, images, lesions, patients

app_name = "lesions"

# Path parameters are named for what they identify (patient_pk, lesion_pk, image_pk):
# the clinic-isolation test fills them with another clinic's records by these names.
urlpatterns = [
    path("", follow_up.home, name="home"),
    path("patients/", patients.patient_list, name="patient-list"),
    path("patients/new/", patients.patient_create, name="patient-create"),
    path("patients/<int:patient_pk>/", patients.patient_detail, name="patient-detail"),
    path("patients/<int:patient_pk>/edit/", patients.patient_edit, name="patient-edit"),
    path("patients/<int:patient_pk>/delete/", patients.patient_delete, name="patient-delete"),
    path("patients/<int:patient_pk>/lesions/new/", lesions.lesion_create, name="lesion-create"),
    path("patients/<int:patient_pk>/report/", follow_up.patient_report, name="patient-report"),
    path(
        "patients/<int:patient_pk>/report.pdf",
        follow_up.patient_report_pdf,
        name="patient-report-pdf",
    ),
    path("lesions/<int:lesion_pk>/", lesions.lesion_detail, name="lesion-detail"),
    path("lesions/<int:lesion_pk>/edit/", lesions.lesion_edit, name="lesion-edit"),
    path("lesions/<int:lesion_pk>/delete/", lesions.lesion_delete, name="lesion-delete"),
    path("lesions/<int:lesion_pk>/compare/", lesions.lesion_compare, name="lesion-compare"),
    path(
        "lesions/<int:lesion_pk>/next-review/",
        follow_up.lesion_next_review,
        name="lesion-next-review",
    ),
    path("lesions/<int:lesion_pk>/images/", images.image_upload, name="image-upload"),
    path("images/<int:image_pk>/file/", images.image_file, name="image-file"),
    path("images/<int:image_pk>/delete/", images.image_delete, name="image-delete"),
    path("images/<int:image_pk>/analyse/", analyses.image_reanalyse, name="image-reanalyse"),
    path("lesions/<int:lesion_pk>/analyses/", analyses.lesion_analyses, name="lesion-analyses"),
    path("lesions/<int:lesion_pk>/live/", lesions.lesion_live, name="lesion-live"),
    path("analyses/<int:analysis_pk>/", analyses.analysis_card, name="analysis-card"),
    path("analyses/<int:analysis_pk>/review/", follow_up.analysis_review, name="analysis-review"),
    path(
        "analyses/<int:analysis_pk>/review-panel/",
        follow_up.analysis_review_panel,
        name="analysis-review-panel",
    ),
    path("analyses/<int:analysis_pk>/heatmap/", analyses.analysis_heatmap, name="analysis-heatmap"),
]
