from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken


class DeviceToken(AbstractAuthToken):
    """A mobile device's API token (django-rest-knox: only a hash is stored, and it expires).

    One row per signed-in device, so a lost phone is signed out on its own; the name and
    the last use let the user tell their devices apart.
    """

    device_name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.device_name} ({self.user})"
