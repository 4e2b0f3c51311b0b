"""Reads for the model page: the served model's card, and the registered versions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from classifier.artifact import read_card
from classifier.errors import ArtifactError
from classifier.model_card import ModelCard
from classifier.models import ModelVersion
from classifier.registry import served_model, version_directory

# Only these files of an artifact are ever served over HTTP (never weights or other files).
FIGURE_NAMES = (
    "confusion_matrix",
    "roc_curves",
    "reliability_diagram",
    "training_curves",
    "domain_comparison",
)


@dataclass(frozen=True)
class ModelPage:
    card: ModelCard | None
    version: ModelVersion | None
    directory: Path
    figures: tuple[str, ...]
    error: str = ""


def model_page(version: ModelVersion | None = None) -> ModelPage:
    """The card of ``version``, or of the served model when none is given."""
    served = served_model() if version is None else None
    if served is not None:
        version = served.version
    try:
        # A stored version is fetched to this machine once (its figures are files too).
        directory = served.directory if served is not None else version_directory(version)
        card = read_card(directory)
    except ArtifactError as exc:
        directory = version.directory if version else Path(settings.DERMASCAN_DEFAULT_MODEL)
        return ModelPage(
            card=None, version=version, directory=directory, figures=(), error=str(exc)
        )
    figures = tuple(name for name in FIGURE_NAMES if (directory / f"{name}.png").is_file())
    return ModelPage(card=card, version=version, directory=directory, figures=figures)


def figure_path(directory: Path, name: str) -> Path | None:
    if name not in FIGURE_NAMES:
        return None
    path = Path(directory) / f"{name}.png"
    return path if path.is_file() else None


def operating_point_sentence(card: ModelCard | None) -> str:
    """What the model can do at its served setting, in plain words, from the card's test figures.

    E.g. "At this setting the model rated about 8 in 10 melanomas of its test set High and
    flagged more than 9 in 10 malignant lesions as High or Moderate; about 8 in 10 benign
    lesions were flagged too." Empty when the card has no measured operating point.
    """
    if card is None or not card.operating_point:
        return ""
    confusion = ((card.metrics or {}).get("test") or {}).get("policy_confusion") or {}
    mel, mal, benign = (confusion.get(k) or {} for k in ("melanoma", "malignant", "benign"))
    if not (mel.get("total") and mal.get("total") and benign.get("total")):
        return ""

    def in_ten(counts: dict, *states: str) -> str:
        share = sum(counts.get(s, 0) for s in states) / counts["total"]
        if share >= 1:
            return "all"
        if share >= 0.95:
            return "more than 9 in 10"
        if share < 0.05:
            return "fewer than 1 in 10"
        return f"about {round(10 * share)} in 10"

    return (
        f"At this setting the model rated {in_ten(mel, 'high')} melanomas of its test set High "
        f"and flagged {in_ten(mal, 'high', 'moderate')} malignant lesions as High or Moderate; "
        f"{in_ten(benign, 'high', 'moderate')} benign lesions were flagged too."
    )


def served_card_of(version: ModelVersion | None) -> ModelCard | None:
    """The card of ``version`` (None: the default model), read once per file change."""
    if version is not None and version.is_stored:
        # Stored versions never change: the card recorded at registration is card.json.
        try:
            return ModelCard.from_dict(version.card)
        except (ArtifactError, TypeError, ValueError):
            return None
    directory = version.directory if version is not None else Path(settings.DERMASCAN_DEFAULT_MODEL)
    try:
        return _cached_card(directory, (directory / "card.json").stat().st_mtime_ns)
    except (OSError, ArtifactError):
        return None


@lru_cache(maxsize=16)
def _cached_card(directory: Path, mtime_ns: int) -> ModelCard:
    return read_card(directory)


def registered_versions():
    return ModelVersion.objects.newest_first()
