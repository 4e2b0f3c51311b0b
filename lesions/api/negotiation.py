"""Content negotiation: DRF's browsable API only with ``DEBUG``; JSON for every other caller.

The browsable API renders forms and data as an HTML page (and with it the session's CSRF
token) for anyone who sends ``Accept: text/html``; production has no use for it. Decided per
request, not at import, so a deployment's DEBUG is what counts.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, BrowsableAPIRenderer
from rest_framework.request import Request


class JSONUnlessDebug(DefaultContentNegotiation):
    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if not settings.DEBUG:
            renderers = [r for r in renderers if not isinstance(r, BrowsableAPIRenderer)]
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            # A browser asking for HTML gets the JSON rather than a 406 it cannot show.
            return renderers[0], renderers[0].media_type
