"""Who may use the clinical pages: signed-in users attached to a clinic."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def clinician_required(view: View) -> View:
    """Sign-in required; a user without a clinic (staff) is sent away with 403.

    Records of other clinics are not refused here but by the clinic-scoped selectors,
    which answer 404 so that their existence is not revealed.
    """

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_clinician:
            raise PermissionDenied(
                "This account is not attached to a clinic. Staff work in the admin."
            )
        return view(request, *args, **kwargs)

    return wrapper
