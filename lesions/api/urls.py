"""``/api/v1/`` routes. Path parameters are named for what they identify (patient_pk,
lesion_pk, image_pk, analysis_pk, device_key, job_id): the API isolation test fills them
with another clinic's records by these names. A new resource: a views module and its lines.
"""

from django.urls import path

from lesions.api.views import (
    analyses,
    auth,
    images,
    lesions,
    model,
    patients,
    predict,
    reports,
    reviews,
    worklist,
)

app_name = "api"

urlpatterns = [
    path("auth/login/", auth.LoginView.as_view(), name="login"),
    path("auth/login/otp/", auth.LoginOTPView.as_view(), name="login-otp"),
    path("auth/logout/", auth.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", auth.LogoutAllView.as_view(), name="logout-all"),
    path("auth/devices/", auth.DeviceListView.as_view(), name="device-list"),
    path("auth/devices/<str:device_key>/", auth.DeviceDetailView.as_view(), name="device-detail"),
    path("patients/", patients.PatientListView.as_view(), name="patient-list"),
    path("patients/<int:patient_pk>/", patients.PatientDetailView.as_view(), name="patient-detail"),
    path(
        "patients/<int:patient_pk>/lesions/",
        lesions.PatientLesionListView.as_view(),
        name="patient-lesions",
    ),
    path(
        "patients/<int:patient_pk>/report.pdf",
        reports.PatientReportView.as_view(),
        name="patient-report-pdf",
    ),
    path("lesions/<int:lesion_pk>/", lesions.LesionDetailView.as_view(), name="lesion-detail"),
    path(
        "lesions/<int:lesion_pk>/history/",
        lesions.LesionHistoryView.as_view(),
        name="lesion-history",
    ),
    path(
        "lesions/<int:lesion_pk>/next-review/",
        lesions.LesionNextReviewView.as_view(),
        name="lesion-next-review",
    ),
    path(
        "lesions/<int:lesion_pk>/images/",
        images.LesionImageListView.as_view(),
        name="lesion-images",
    ),
    path("images/<int:image_pk>/", images.LesionImageDetailView.as_view(), name="image-detail"),
    path("images/<int:image_pk>/file/", images.LesionImageFileView.as_view(), name="image-file"),
    path(
        "images/<int:image_pk>/analyses/",
        analyses.ImageAnalysisListView.as_view(),
        name="image-analyses",
    ),
    path(
        "analyses/<int:analysis_pk>/",
        analyses.AnalysisDetailView.as_view(),
        name="analysis-detail",
    ),
    path(
        "analyses/<int:analysis_pk>/heatmap/",
        analyses.AnalysisHeatmapView.as_view(),
        name="analysis-heatmap",
    ),
    path(
        "analyses/<int:analysis_pk>/reviews/",
        reviews.AnalysisReviewListView.as_view(),
        name="analysis-reviews",
    ),
    path("reviews/", reviews.ReviewListView.as_view(), name="review-list"),
    path("worklist/", worklist.WorklistView.as_view(), name="worklist"),
    path(
        "worklist/<str:section>/",
        worklist.WorklistSectionView.as_view(),
        name="worklist-section",
    ),
    path("model/", model.ModelView.as_view(), name="model"),
    path("predict/", predict.PredictView.as_view(), name="predict"),
    path("predict/<uuid:job_id>/", predict.PredictStatusView.as_view(), name="predict-status"),
]
