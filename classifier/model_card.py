"""The model card: everything needed to rebuild, preprocess, calibrate and serve a model, as JSON
beside its weights."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields

from classifier.errors import ArtifactError
from classifier.preprocessing import DataConfig, PreprocessConfig
from classifier.tta import VIEWS

FORMAT_VERSION = 1


WEIGHTS_FILE = "weights.safetensors"


CARD_FILE = "card.json"


ONNX_FILE = "model.onnx"


INT8_ONNX_FILE = "model.int8.onnx"


DEFAULT_UNCERTAINTY = {"confidence_threshold": 0.6, "entropy_threshold": 0.9}


@dataclass
class ModelCard:
    arch: str
    classes: list[str]
    input_size: int
    mean: list[float]
    std: list[float]
    interpolation: str = "bicubic"
    preprocessing: dict = field(default_factory=lambda: PreprocessConfig().to_dict())
    temperature: float = 1.0
    uncertainty: dict = field(default_factory=lambda: dict(DEFAULT_UNCERTAINTY))
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    model_id: str = ""
    created_at: str = ""
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    # Added by this engine (optional for readers): the ONNX export of the same weights,
    # {"file", "sha256", "weights_sha256", "opset", "fast_cam", "head_weight_key",
    # "reference"}; {} when the artifact has none. "reference" holds the logits the export
    # must reproduce on seeded inputs (classifier.export_check); older cards lack it.
    onnx: dict = field(default_factory=dict)
    # The int8 export (training.quantize): the same keys as ``onnx`` plus the calibration
    # images, the fp32-vs-int8 comparison on test and ``served`` (int8 is served only when
    # it stays within the tolerances of fp32; ``reason`` says why not otherwise).
    onnx_int8: dict = field(default_factory=dict)
    # The operating point (classifier.operating_point): t_mel, t_mal, their targets and the
    # sensitivity/specificity they give on val and test; {} = not measured (0.5 / 0.5).
    operating_point: dict = field(default_factory=dict)
    # The not-assessable gate (classifier.gate): {"file", "sha256", "threshold", ...} and its
    # measured rejection rates; {} = quality checks only.
    gate: dict = field(default_factory=dict)
    # The TTA views the model is served with (classifier.tta names), chosen on val by
    # bench/tta_views.py; older cards: all 8 symmetries of the square.
    tta_views: list[str] = field(default_factory=lambda: list(VIEWS))

    @classmethod
    def for_model(
        cls,
        arch: str,
        classes: list[str] | tuple[str, ...],
        *,
        preprocessing: PreprocessConfig | None = None,
        input_size: int | None = None,
        **extra,
    ) -> ModelCard:
        """A card whose size/mean/std come from timm's config for ``arch``."""
        from classifier.factory import model_data_config

        data = model_data_config(arch, input_size=input_size)
        return cls(
            arch=arch,
            classes=list(classes),
            input_size=data.input_size,
            mean=list(data.mean),
            std=list(data.std),
            interpolation=data.interpolation,
            preprocessing=(preprocessing or PreprocessConfig()).to_dict(),
            **extra,
        )

    @property
    def data_config(self) -> DataConfig:
        return DataConfig(
            input_size=int(self.input_size),
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in self.std),
            interpolation=self.interpolation,
        )

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return PreprocessConfig.from_dict(self.preprocessing)

    @property
    def served_views(self) -> tuple[str, ...]:
        return tuple(self.tta_views)

    @property
    def confidence_threshold(self) -> float:
        return float(self.uncertainty.get("confidence_threshold", 0.6))

    @property
    def entropy_threshold(self) -> float:
        return float(self.uncertainty.get("entropy_threshold", 0.9))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        if not isinstance(data, dict):
            raise ArtifactError("model card must be a JSON object")
        names = {f.name for f in fields(cls)}
        required = {
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        }
        missing = sorted(required - set(data))
        if missing:
            raise ArtifactError(f"model card lacks required keys: {', '.join(missing)}")
        # Unknown keys are ignored: newer writers may add information we do not use.
        card = cls(**{k: v for k, v in data.items() if k in names})
        card.classes = list(card.classes)
        card.validate()
        return card

    def validate(self) -> None:
        """Raise ArtifactError if the card cannot describe a usable model."""
        problems = []
        if int(self.format_version) > FORMAT_VERSION:
            problems.append(
                f"format_version {self.format_version} is newer than this code ({FORMAT_VERSION})"
            )
        if not self.classes or len(set(self.classes)) != len(self.classes):
            problems.append("classes must be a non-empty list without duplicates")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean and std need three values each, std > 0")
        if int(self.input_size) < 16:
            problems.append(f"input_size {self.input_size} is too small")
        if (
            not self.tta_views
            or set(self.tta_views) - set(VIEWS)
            or "identity" not in self.tta_views
        ):
            problems.append(f"tta_views must be views of {', '.join(VIEWS)}, identity among them")
        if not float(self.temperature) > 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        try:
            PreprocessConfig.from_dict(self.preprocessing)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
        if problems:
            raise ArtifactError("invalid model card: " + "; ".join(problems))
