from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from dermascan_site.accounts import LoginForm
from dermascan_site.health import api_health, health
from dermascan_site.two_factor import two_factor
from lesions.api.docs import RedocView, SwaggerView
from lesions.api.errors import unknown_endpoint

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm),
        name="login",
    ),
    path("accounts/two-factor/", two_factor, name="two-factor"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/health/", api_health, name="api-health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", RedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/monitoring/", include("monitoring.api.urls")),
    path("api/v1/", include("lesions.api.urls")),
    path("api/v1/", include("interop.api.urls")),
    re_path(r"^api/", unknown_endpoint),  # JSON 404, not the pages' HTML one
    path("model/", include("classifier.urls")),
    path("interop/", include("interop.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("lesions.urls")),
]
