"""Applying a set of field changes to a record and telling which ones really changed."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from django.db import models

RecordT = TypeVar("RecordT", bound=models.Model)


def apply_changes(
    record: RecordT, changes: Mapping[str, Any], *, editable: Collection[str]
) -> list[str]:
    """Set ``changes`` on ``record`` and return the names whose value differs from the database.

    The comparison is with the stored row, not with the instance passed in, because a
    ModelForm has already written the submitted values onto its instance.
    """
    unknown = set(changes) - set(editable)
    if unknown:
        raise TypeError(f"Not editable on {type(record).__name__}: {', '.join(sorted(unknown))}")
    stored = type(record)._default_manager.select_for_update().get(pk=record.pk)
    for name, value in changes.items():
        setattr(record, name, value)
    return [name for name in changes if getattr(stored, name) != getattr(record, name)]
