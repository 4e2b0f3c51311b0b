"""The training recipe: every knob of a run, stored verbatim in the model card."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from classifier.preprocessing import PreprocessConfig

BALANCE_CHOICES = ("undersample", "sampler", "none")


@dataclass
class TrainConfig:
    arch: str = "tf_efficientnet_lite0"
    labels: str = "ham7"
    img_size: int | None = None  # None: the architecture's own size (lite0: 224)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 4e-4
    min_lr: float = 1e-6
    weight_decay: float = 0.01
    warmup_epochs: float = 1.0
    focal_gamma: float = 2.0
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    mixup_alpha: float = 0.2
    cutmix_alpha: float = 0.2
    mix_prob: float = 0.5
    ema_decay: float = 0.998
    grad_clip: float = 1.0
    drop_rate: float = 0.3
    drop_path_rate: float = 0.2
    balance: str = "sampler"
    # Undersampling: at most this many images of a class per epoch, drawn afresh each
    # epoch, so the majority class is seen in full over several epochs.
    max_per_class: int = 1500
    patience: int = 8
    freeze_blocks: int = 0  # stem + this many first stages stay at their ImageNet weights
    pretrained: bool = True
    seed: int = 0
    num_workers: int = 0
    threads: int | None = None
    tta: bool = True
    # Appends training.augment.device_shift_transform (other dermatoscopes and clinics:
    # white balance, tone, blur, JPEG, resolution, aspect, vignetting, black corners, hair).
    device_shift: bool = False
    preprocessing: dict = field(default_factory=lambda: PreprocessConfig().to_dict())
    # Side at which the deterministic filters (CLAHE, bilateral) run; None: the network's
    # input size. Filtering at 512 px cost 8-16 ms per upload for detail the network
    # never sees once the image is shrunk to its input size.
    filter_size: int | None = None
    max_images: int | None = None  # cap per split, for smoke tests

    def __post_init__(self) -> None:
        if self.balance not in BALANCE_CHOICES:
            raise ValueError(f"balance must be one of {', '.join(BALANCE_CHOICES)}")
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError("epochs must be >= 1 and batch size >= 2")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def preprocess_config(self, input_size: int) -> PreprocessConfig:
        """The pipeline this run trains on (and the artifact will serve) at ``input_size``."""
        config = PreprocessConfig.from_dict(self.preprocessing)
        return replace(config, max_side=self.filter_size or input_size)
