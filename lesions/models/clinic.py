from django.db import models


class Clinic(models.Model):
    """A practice whose clinicians share one set of patients, and see no other."""

    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
