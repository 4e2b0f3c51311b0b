"""The model the workers serve now, for the model-versions admin list: with no registered
version active, the default model in the repository serves, and staff should see that."""

from __future__ import annotations

from django import template

from classifier.artifact import read_card
from classifier.errors import ArtifactError
from classifier.registry import served_model

register = template.Library()


@register.simple_tag
def served_model_summary() -> dict:
    served = served_model()
    summary: dict = {"version": served.version}
    try:
        summary["directory"] = str(served.directory)  # a stored version: this machine's copy
        card = read_card(served.directory)
    except ArtifactError as exc:
        summary["error"] = str(exc)
        return summary
    test = (card.metrics or {}).get("test") or {}
    summary.update(
        model_id=card.model_id,
        arch=card.arch,
        input_size=card.input_size,
        sha256=card.weights_sha256,
        balanced_accuracy=test.get("balanced_accuracy"),
    )
    return summary
