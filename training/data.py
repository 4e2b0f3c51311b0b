"""Reading a labelled image collection into a list of samples, with clear errors.

Two layouts are understood:

- HAM10000 style: ``metadata.csv`` (``lesion_id``, ``image_id``, ``dx``, optional
  ``split``) beside an ``images/`` folder holding ``<image_id>.jpg``;
- a folder per class, optionally below ``train/``, ``val/`` and ``test/``
  (the DermaScan seed's ``balanced_dataset``).

Labels are mapped into one of the engine's class sets (``ham7``, ``isic8``,
``three``). Every problem becomes a :class:`DataError` whose message names the
file, column or value at fault.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from classifier.labels import CLASS_SETS

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
METADATA_FILE = "metadata.csv"
ISIC2019_FILE = "isic2019_labels.csv"
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx")

# HAM10000 diagnosis -> DermaScan seed scheme. akiec has no place in it (it is neither
# melanoma, BCC nor benign), so those images are left out and counted in the summary.
HAM_TO_THREE = {
    "mel": "melanoma",
    "bcc": "basal_cell_carcinoma",
    "nv": "benign",
    "bkl": "benign",
    "df": "benign",
    "vasc": "benign",
}


class DataError(Exception):
    """The data directory cannot be used; the message says what and where."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: str
    group: str  # lesion id: images of one group never land in two splits
    split: str | None
    image_id: str


@dataclass
class LabelledData:
    classes: tuple[str, ...]
    samples: list[Sample]
    layout: str
    root: str
    excluded: dict[str, int] = field(default_factory=dict)

    def in_split(self, split: str) -> list[Sample]:
        if split == "all":
            return list(self.samples)
        return [s for s in self.samples if s.split == split]

    def summary(self) -> dict:
        """Counts per split and class, for the model card."""
        counts: dict[str, dict[str, int]] = {}
        for split in SPLITS:
            samples = self.in_split(split)
            per_class = Counter(s.label for s in samples)
            counts[split] = {c: per_class.get(c, 0) for c in self.classes}
            counts[split]["total"] = len(samples)
            counts[split]["groups"] = len({s.group for s in samples})
        return {
            "layout": self.layout,
            "source": portable_path(self.root),
            "classes": list(self.classes),
            "images": len(self.samples),
            "counts": counts,
            "excluded": dict(self.excluded),
        }


def load_dataset(data_dir: str | Path, *, labels: str = "ham7") -> LabelledData:
    """Read ``data_dir`` in whichever layout it has; labels mapped into class set ``labels``."""
    if labels not in CLASS_SETS:
        raise DataError(f"unknown class set {labels!r}; choose one of {', '.join(CLASS_SETS)}")
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"data directory not found: {root}")
    if (root / METADATA_FILE).is_file():
        data = _load_metadata_layout(root, labels)
    else:
        data = _load_folder_layout(root, labels)
    if not data.samples:
        raise DataError(f"{root}: no labelled images found")
    return data


# --- HAM10000 layout ----------------------------------------------------------


def _load_metadata_layout(root: Path, labels: str) -> LabelledData:
    csv_path = root / METADATA_FILE
    rows = _read_csv(csv_path)
    columns = set(rows[0].keys()) if rows else set()
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DataError(
            f"{csv_path}: missing column(s) {', '.join(missing)} "
            f"(needs {', '.join(REQUIRED_COLUMNS)}; found {', '.join(sorted(columns)) or 'none'})"
        )
    has_split = "split" in columns
    isic = _read_isic2019(root) if labels == "isic8" else {}
    image_dir = root / "images"
    if not image_dir.is_dir():
        raise DataError(f"{root}: metadata.csv found but no images/ folder beside it")

    samples, excluded, unknown, absent = [], Counter(), Counter(), []
    for line, row in enumerate(rows, start=2):
        image_id = (row.get("image_id") or "").strip()
        dx = (row.get("dx") or "").strip().lower()
        if not image_id or not dx:
            raise DataError(f"{csv_path}, line {line}: empty image_id or dx")
        label = _map_label(dx, labels, image_id=image_id, isic=isic)
        if label is None:
            excluded[dx] += 1
            continue
        if label == "":
            unknown[dx] += 1
            continue
        split = (row.get("split") or "").strip().lower() or None if has_split else None
        if split is not None and split not in SPLITS:
            raise DataError(
                f"{csv_path}, line {line}: split {split!r} is not one of {', '.join(SPLITS)}"
            )
        path = _find_image(image_dir, image_id)
        if path is None:
            absent.append(image_id)
            continue
        group = (row.get("lesion_id") or "").strip() or image_id
        samples.append(Sample(path, label, group, split, image_id))

    if unknown:
        known = ", ".join(_accepted_names(labels))
        names = ", ".join(f"{k!r} ({v} rows)" for k, v in sorted(unknown.items()))
        raise DataError(f"{csv_path}: unknown class name(s) {names}; expected one of {known}")
    if absent:
        shown = ", ".join(absent[:5]) + (" …" if len(absent) > 5 else "")
        raise DataError(f"{image_dir}: {len(absent)} image file(s) missing: {shown}")
    if has_split and any(s.split is None for s in samples):
        raise DataError(f"{csv_path}: the split column is empty for some rows")
    return LabelledData(
        classes=CLASS_SETS[labels],
        samples=samples,
        layout="metadata.csv",
        root=str(root),
        excluded=dict(excluded),
    )


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def _read_isic2019(root: Path) -> dict[str, str]:
    path = root / ISIC2019_FILE
    if not path.is_file():
        raise DataError(
            f"--labels isic8 needs {path} (image_id,isic2019_dx) to split akiec into ak and scc"
        )
    rows = _read_csv(path)
    if not {"image_id", "isic2019_dx"} <= set(rows[0]):
        raise DataError(f"{path}: needs the columns image_id and isic2019_dx")
    return {r["image_id"].strip(): r["isic2019_dx"].strip().lower() for r in rows}


def _map_label(dx: str, labels: str, *, image_id: str, isic: dict[str, str]) -> str | None:
    """Class code in the chosen set; None = deliberately left out; "" = unknown name."""
    classes = CLASS_SETS[labels]
    if labels == "three":
        if dx in classes:
            return dx
        if dx == "akiec":
            return None
        return HAM_TO_THREE.get(dx, "")
    if labels == "isic8":
        if image_id in isic:
            dx = isic[image_id]
        elif dx == "akiec":
            raise DataError(f"{image_id}: akiec image has no ISIC 2019 label (ak or scc)")
    return dx if dx in classes else ""


def _accepted_names(labels: str) -> list[str]:
    names = list(CLASS_SETS[labels])
    if labels == "three":
        names += sorted(HAM_TO_THREE) + ["akiec (left out)"]
    return names


def _find_image(image_dir: Path, image_id: str) -> Path | None:
    for suffix in (".jpg", ".jpeg", ".png"):
        path = image_dir / f"{image_id}{suffix}"
        if path.is_file():
            return path
    return None


# --- folder per class -----------------------------------------------------------


def _load_folder_layout(root: Path, labels: str) -> LabelledData:
    split_dirs = [root / s for s in SPLITS if (root / s).is_dir()]
    parents = [(d, d.name) for d in split_dirs] if split_dirs else [(root, None)]
    samples, excluded, unknown = [], Counter(), []
    for parent, split in parents:
        class_dirs = sorted(d for d in parent.iterdir() if d.is_dir())
        if not class_dirs:
            raise DataError(
                f"{parent}: no metadata.csv and no class folders "
                "(expected metadata.csv + images/, or one folder per class)"
            )
        for class_dir in class_dirs:
            label = _map_label(class_dir.name.lower(), labels, image_id=class_dir.name, isic={})
            if label is None:
                excluded[class_dir.name] += 1
                continue
            if label == "":
                unknown.append(str(class_dir.relative_to(root)))
                continue
            for path in sorted(class_dir.iterdir()):
                if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                    # No lesion ids in this layout: every image is its own group.
                    samples.append(Sample(path, label, path.stem, split, path.stem))
    if unknown:
        raise DataError(
            f"{root}: unknown class folder(s) {', '.join(unknown)}; "
            f"expected one of {', '.join(_accepted_names(labels))}"
        )
    return LabelledData(
        classes=CLASS_SETS[labels],
        samples=samples,
        layout="folder per class" + (" with splits" if split_dirs else ""),
        root=str(root),
        excluded=dict(excluded),
    )


def portable_path(path: str | Path) -> str:
    """``path`` relative to the project root: a model card must not name one machine's folders
    (the shared data sits beside the checkout, so this reads ``../shared/data/...``)."""
    return os.path.relpath(Path(path).resolve(), PROJECT_ROOT)
