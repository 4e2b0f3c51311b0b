"""Template helpers of the follow-up pages: the navigation's worklist count, dict lookup."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def worklist_count(context: template.Context) -> int | None:
    """Items on the signed-in clinician's worklist (None for others: no badge)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_clinician", False):
        return None
    sections = context.get("sections")
    if sections is not None:  # the worklist page itself has counted already
        return sum(section.count for section in sections)
    from lesions.follow_up.worklist import worklist_counts

    return sum(worklist_counts(user).values())


@register.filter
def lookup(mapping: dict, key: Any) -> Any:
    """``mapping|lookup:key`` (templates cannot index with a variable)."""
    return mapping.get(key) if mapping else None
