"""API docs pages (Swagger UI, ReDoc) from our own static files and without inline script
or style, so they work under a Content-Security-Policy of ``script-src 'self'``."""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    """The page loads its start-up script from ``?script`` (same origin), not inline."""

    template_name = "api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"
