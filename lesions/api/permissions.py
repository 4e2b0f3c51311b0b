from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsClinician(BasePermission):
    """Signed in (token or session) and attached to a clinic.

    Records of other clinics are not refused here but by the clinic-scoped selectors,
    which answer 404 so that their existence is not revealed.
    """

    message = "This account is not attached to a clinic. Staff work in the admin."

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_clinician)
