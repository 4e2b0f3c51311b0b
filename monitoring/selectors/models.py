"""Which model made an analysis, in words, and the card it was served with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from classifier.artifact import read_card
from classifier.errors import ArtifactError
from classifier.models import ModelVersion

ModelKey = tuple[int | None, str]  # (model_version_id, model_id) as an analysis records them


@dataclass(frozen=True)
class ServedModelRef:
    key: ModelKey
    label: str
    card: dict  # card.json of that model; {} when it is not known here


@lru_cache(maxsize=4)
def _default_card(directory: str) -> dict:
    try:
        return read_card(Path(directory)).to_dict()
    except ArtifactError:
        return {}


def model_refs(keys: set[ModelKey]) -> dict[ModelKey, ServedModelRef]:
    """Label and card per key: a registered version's stored card, or the default model's."""
    version_ids = {version_id for version_id, _ in keys if version_id is not None}
    versions = {
        v.pk: v
        for v in ModelVersion.objects.filter(pk__in=version_ids).only("number", "name", "card")
    }
    default = _default_card(str(settings.DERMASCAN_DEFAULT_MODEL))
    refs = {}
    for key in keys:
        version_id, model_id = key
        version = versions.get(version_id) if version_id is not None else None
        if version is not None:
            refs[key] = ServedModelRef(key, f"v{version.number} {version.name}", version.card or {})
        else:
            card = default if default.get("model_id") == model_id else {}
            refs[key] = ServedModelRef(key, f"{model_id or 'unknown'} (default)", card)
    return refs


def val_distance_quantiles(card: dict) -> dict[str, float]:
    return (card.get("gate") or {}).get("val_distance_quantiles") or {}


def val_not_assessable_rate(card: dict) -> float | None:
    return (card.get("gate") or {}).get("val_not_assessable_rate")
