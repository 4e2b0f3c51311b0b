"""Several artifacts voting together (the seed's EfficientNet + ConvNeXt + Swin mode).

Each member runs its own preprocessing, input size and temperature; their
calibrated, TTA-averaged probabilities are averaged with equal weight. The
heatmap comes from the first member, for the ensemble's label.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import ArtifactError
from classifier.model_card import ModelCard
from classifier.predictor import Predictor
from classifier.preprocessing import load_rgb
from classifier.results import Prediction, build_prediction
from classifier.tta import VIEWS

if TYPE_CHECKING:
    import torch


class EnsemblePredictor:
    """Same interface as :class:`Predictor`; members must share one class list."""

    def __init__(self, members: list[Predictor]) -> None:
        if not members:
            raise ArtifactError("an ensemble needs at least one model")
        classes = members[0].classes
        for member in members[1:]:
            if member.classes != classes:
                raise ArtifactError(
                    f"ensemble members disagree on classes: {member.model_id} has "
                    f"{list(member.classes)}, {members[0].model_id} has {list(classes)}"
                )
        self.members = members
        self.classes = classes
        self.device = members[0].device
        self.model_id = "ensemble:" + "+".join(m.model_id for m in members)
        # The ensemble's thresholds are the first member's: one rule for the combined output.
        self.card: ModelCard = members[0].card

    @property
    def cards(self) -> list[ModelCard]:
        return [m.card for m in self.members]

    @classmethod
    def from_artifacts(
        cls,
        directories: list[str | Path],
        *,
        device: torch.device | str | None = None,
        backend: str = "auto",
        threads: int | None = None,
    ) -> EnsemblePredictor:
        members = [
            Predictor.from_artifact(d, device=device, backend=backend, threads=threads)
            for d in directories
        ]
        return cls(members)

    def predict(self, image, *, tta: bool = True, heatmap: bool = True) -> Prediction:
        return self.predict_batch([image], tta=tta, heatmap=heatmap)[0]

    def predict_batch(self, images, *, tta: bool = True, heatmap: bool = False) -> list[Prediction]:
        # Decode once; each member then applies its own preprocessing to the same pixels.
        rgbs = [image if isinstance(image, np.ndarray) else load_rgb(image) for image in images]
        views = VIEWS if tta else ("identity",)
        per_member = []
        first_prepared = None
        for index, member in enumerate(self.members):
            prepared = [member.prepare(rgb) for rgb in rgbs]
            outputs = member.view_outputs(prepared, views=views, features=heatmap and index == 0)
            per_member.append(outputs)
            if index == 0:
                first_prepared = prepared
        predictions = []
        for i in range(len(rgbs)):
            # (members * V, K): the spread then covers both views and models.
            stacked = np.concatenate([outputs[i][0] for outputs in per_member])
            prediction = build_prediction(
                stacked, classes=self.classes, card=self.card, model_id=self.model_id
            )
            prediction.tta_views = len(views)
            if heatmap:
                lead = self.members[0]
                overlay, raw = lead.heatmap(
                    first_prepared[i],
                    per_member[0][i][1],
                    self.classes.index(prediction.label),
                    views=views,
                )
                prediction.heatmap, prediction.heatmap_raw = overlay, raw
            predictions.append(prediction)
        return predictions
