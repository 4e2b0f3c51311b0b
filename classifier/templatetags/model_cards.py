"""Template tags for pages that show a prediction: what its model can do at its setting."""

from __future__ import annotations

from django import template

from classifier import selectors

register = template.Library()


@register.simple_tag
def operating_point_sentence(model_version=None) -> str:
    """The plain-words operating point of the model that made a result (None: the default)."""
    return selectors.operating_point_sentence(selectors.served_card_of(model_version))
