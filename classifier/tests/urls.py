"""The site's URLs plus the model page, whether or not the site already includes it."""

from django.urls import include, path

from dermascan_site.urls import urlpatterns as site_patterns

_included = any(getattr(p, "namespace", None) == "classifier" for p in site_patterns)
urlpatterns = list(site_patterns) + (
    [] if _included else [path("model/", include("classifier.urls"))]
)
