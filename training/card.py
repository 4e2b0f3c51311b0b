"""The model card: what the training records in card.json, and its markdown rendering."""

from __future__ import annotations

from pathlib import Path

from classifier.artifact import ModelCard
from classifier.labels import display_name
from training import plots

CARD_MD_FILE = "card.md"
HISTORY_FILE = "history.json"

# Floor measured in DESIGN.md on the same test split (frozen ImageNet features + logistic
# regression); a trained model that does not beat it is not worth serving.
FLOOR = {"balanced_accuracy": 0.575, "melanoma_auc": 0.82}
# What the default model must reach on the lesion-grouped test split (8-view TTA) to be
# shipped as the default, and the longer-term goal.
TARGETS = {
    "balanced_accuracy": 0.75,
    "melanoma_auc": 0.90,
    "melanoma_sensitivity_at_specificity_80": 0.80,
    "ece_after_temperature": 0.05,
}
GOALS = {
    "balanced_accuracy": 0.80,
    "melanoma_auc": 0.93,
    "melanoma_sensitivity_at_specificity_80": 0.85,
}

LIMITATIONS = [
    "Not a diagnostic device: the output supports, and never replaces, a clinician's judgement.",
    "Trained on HAM10000 only: two sites (Vienna, Queensland), dermoscopic images, mostly light "
    "skin types. Expect lower performance on other devices, clinics, skin types and on "
    "clinical (non-dermoscopic) photographs.",
    "Images were downscaled to about 150 px of real detail before training, so fine "
    "dermoscopic structures (dots, streaks, network) are partly lost.",
    "Rare classes (df, vasc, akiec) have few test images; their per-class figures carry wide "
    "confidence intervals.",
    "Diagnoses outside the class set (e.g. SCC in ham7) are still forced into one of the "
    "classes. Non-lesion and poor images are caught by the not-assessable gate, which was "
    "measured on a synthetic corpus and on HAM10000 only; a clinical (non-dermoscopic) photo "
    "is at best Inconclusive.",
]

PUBLISHED_COMPARISON = (
    "Published HAM10000 numbers are mostly higher, for reasons that do not transfer here. "
    "The ISIC 2018 challenge leaders reached a balanced multi-class accuracy of about 0.85-0.89 "
    "on the official test set with ensembles at 450-600 px, often with external data. "
    "DermaMNIST (MedMNIST v2, the same 10,015 images at 28 px; 224 px in MedMNIST+) reports "
    "accuracies of about 0.73-0.80 and mean AUCs of about 0.91-0.93, but its split is by image, "
    "not by lesion: images of the same mole fall into train and test, which inflates the "
    "scores. This model sees images with about 150 px of real detail, is a single "
    "EfficientNet-Lite0 trained for a short CPU budget, and is scored on a split in which no "
    "lesion of the test set was seen in training."
)


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(card: ModelCard) -> str:
    """card.md: the human-readable card, from card.json's content."""
    training = card.training or {}
    metrics = card.metrics or {}
    test = metrics.get("test") or {}
    data = training.get("data") or {}
    recipe = training.get("recipe") or {}
    lines = [
        f"# Model card: {card.model_id}",
        "",
        "> **Not a diagnostic device.** DermaScan's classifier assists clinicians; every "
        "result must be confirmed by a qualified dermatologist.",
        "",
        "## Summary",
        "",
        f"- Architecture: `{card.arch}`, input {card.input_size} px, "
        f"{len(card.classes)} classes: {', '.join(card.classes)}",
        f"- Temperature (fitted on val): {card.temperature:.3f}",
        f"- Created: {card.created_at}; weights sha256 `{card.weights_sha256[:16]}…`",
        f"- Trained on {training.get('device', 'n/a')} in "
        f"{_fmt(training.get('train_seconds'), 0)} s; best epoch {training.get('best_epoch')} "
        f"of {training.get('epochs_run')} run"
        f"{' (early stopping)' if training.get('stopped_early') else ''}",
        "",
    ]
    lines += _operating_point_section(card, test)
    if test:
        lines += _metrics_section(test, card.classes)
    lines += ["## Data", ""]
    if data:
        lines += [f"- Source: {data.get('source_name', data.get('layout'))}", ""]
        lines += [f"- Split: {data.get('split_method', 'n/a')}", ""]
        counts = data.get("counts", {})
        header = "| split | " + " | ".join(card.classes) + " | images | lesions |"
        lines += [header, "| --- |" + " ---: |" * (len(card.classes) + 2)]
        for split in ("train", "val", "test"):
            row = counts.get(split, {})
            cells = " | ".join(str(row.get(c, 0)) for c in card.classes)
            lines.append(f"| {split} | {cells} | {row.get('total', 0)} | {row.get('groups', 0)} |")
        if data.get("excluded"):
            lines += ["", f"Left out (no class in this set): {data['excluded']}"]
        lines.append("")
    lines += ["## Recipe", ""]
    for key, value in recipe.items():
        if key in ("preprocessing",):
            continue
        lines.append(f"- `{key}`: {value}")
    for item in training.get("notes", []):
        lines.append(f"- {item}")
    for item in training.get("augmentations", []):
        lines.append(f"- augmentation: {item}")
    for item in training.get("speed_choices", []):
        lines.append(f"- CPU budget choice: {item}")
    first = training.get("first_stage") or {}
    if first:
        recipe = first.get("recipe", {})
        lines += [
            "",
            f"First stage (warm start): run `{first.get('run')}` at {recipe.get('img_size')} px, "
            f"{len(first.get('history', []))} epochs (early stopping), best val balanced "
            f"accuracy {_fmt(first.get('best_val_balanced_accuracy'))} at epoch "
            f"{first.get('best_epoch')}, lr {recipe.get('lr')}; its per-epoch history is in "
            "card.json under training.first_stage.",
        ]
    if training.get("balance_rationale"):
        lines += ["", f"Class balance: {training['balance_rationale']}"]
    lines += ["", f"Preprocessing (same at inference): `{card.preprocessing}`", ""]
    if test:
        lines += ["## Comparison", ""]
        bal, mel_auc = test.get("balanced_accuracy"), (test.get("melanoma") or {}).get("auc")
        lines += [
            "| | balanced accuracy | melanoma AUC |",
            "| --- | ---: | ---: |",
            f"| this model (test, TTA) | {_fmt(bal)} | {_fmt(mel_auc)} |",
            f"| floor: frozen ImageNet lite0 + logistic regression | {FLOOR['balanced_accuracy']}"
            f" | {FLOOR['melanoma_auc']} |",
            f"| quality target | {TARGETS['balanced_accuracy']} | {TARGETS['melanoma_auc']} |",
            f"| longer-term goal | {GOALS['balanced_accuracy']} | {GOALS['melanoma_auc']} |",
            "",
            training.get("published_comparison", PUBLISHED_COMPARISON),
            "",
        ]
    lines += _exports_section(card)
    for title, key in (("Ablations", "ablations"), ("What a further step would need", "next")):
        if training.get(key):
            lines += [f"## {title}", ""] + [f"- {item}" for item in training[key]] + [""]
    lines += ["## Limitations", ""]
    lines += [f"- {item}" for item in LIMITATIONS]
    lines += ["", "## Figures", ""]
    for name in plots.FIGURE_FILES:
        lines.append(f"![{name.removesuffix('.png').replace('_', ' ')}]({name})")
    lines.append("")
    return "\n".join(lines)


def _exports_section(card: ModelCard) -> list[str]:
    """Which ONNX exports the artifact carries, and why workers serve the one they do."""
    int8 = card.onnx_int8 or {}
    if not card.onnx and not int8:
        return []
    lines = ["## Serving", ""]
    if card.onnx:
        lines.append(f"- fp32 ONNX export `{card.onnx['file']}` (opset {card.onnx.get('opset')})")
    if not int8:
        return [*lines, ""]
    calibration = int8.get("calibration", {})
    lines += [
        f"- int8 export `{int8['file']}`: {int8.get('method', '')}; activation ranges from "
        f"{calibration.get('images')} {calibration.get('split')} images "
        f"({calibration.get('selection')})",
        f"- {int8.get('reason', '')}",
    ]
    comparison = int8.get("comparison") or {}
    if comparison:
        lines += [
            "",
            f"Test split, {comparison['images']} images, 8-view TTA, as served "
            f"(top class agrees on {comparison['top_class_agreement']:.1%} of them):",
            "",
            "| export | balanced accuracy | melanoma AUC | ECE | melanoma → High sensitivity |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name in ("fp32", "int8"):
            row = comparison[name]
            lines.append(
                f"| {name} | {_fmt(row['balanced_accuracy'], 4)} | {_fmt(row['melanoma_auc'], 4)}"
                f" | {_fmt(row['ece_after_temperature'], 4)} | "
                f"{_fmt(row['melanoma_high_sensitivity'])} |"
            )
    return [*lines, ""]


def _interval(intervals: dict, key: str) -> str:
    values = intervals.get(key)
    return f" ({values[0]:.2f}–{values[1]:.2f})" if values else ""


def _operating_point_section(card: ModelCard, test: dict) -> list[str]:
    """Thresholds in plain words, their val/test figures, the gate's rates, the state counts."""
    point, gate = card.operating_point or {}, card.gate or {}
    if not point.get("chosen_on"):
        return [
            "## Operating point",
            "",
            "Not measured: this model escalates at a fixed 50 %. Run `manage.py calibrate_model`.",
            "",
        ]
    intervals = point.get("test_intervals_95") or {}
    lines = [
        "## Operating point",
        "",
        f"A result is **High** when the melanoma probability is at least {point['t_mel']:.1%} "
        f"and at least **Moderate** when the malignant classes together reach "
        f"{point['t_mal']:.1%}. Both thresholds were chosen on the {point['chosen_on']} split "
        f"for {point['target_melanoma_sensitivity']:.0%} of melanomas High and "
        f"{point['target_malignant_sensitivity']:.0%} of malignant lesions at least Moderate. "
        "Below both, a confident prediction is Low and an uncertain one Inconclusive. A "
        "not-assessable image counts as not flagged.",
        "",
        "| rule | split | sensitivity | specificity |",
        "| --- | --- | ---: | ---: |",
    ]
    for rule, name in (
        ("melanoma_high", "melanoma → High"),
        ("malignant_moderate_or_high", "malignant → Moderate or High"),
    ):
        for split in ("val", "test"):
            row = (point.get(split) or {}).get(rule) or {}
            ci = (
                (
                    _interval(intervals, f"{rule}_sensitivity"),
                    _interval(intervals, f"{rule}_specificity"),
                )
                if split == "test"
                else ("", "")
            )
            lines.append(
                f"| {name} | {split} | {_fmt(row.get('sensitivity'))}{ci[0]} | "
                f"{_fmt(row.get('specificity'))}{ci[1]} |"
            )
    lines += ["", "Test intervals: lesion-grouped bootstrap, 95 %.", ""]
    if gate.get("threshold") is not None:
        lines += [
            "### Not-assessable gate",
            "",
            f"- Method: quality checks ({gate.get('quality_limits')}), then {gate.get('method')}.",
            f"- Rejected: {_fmt(gate.get('val_not_assessable_rate'))} of val (target ≤ "
            f"{gate.get('target_val_reject_share')}), {_fmt(gate.get('test_not_assessable_rate'))} "
            f"of test, {_fmt(gate.get('corpus_not_assessable_rate'))} of a non-lesion corpus of "
            f"{gate.get('corpus_images')} images (uniform colours, noise, gradients, text "
            "screenshots, scikit-image photographs).",
            "",
        ]
    confusion = test.get("policy_confusion") or {}
    if confusion:
        states = ("high", "moderate", "low", "inconclusive", "not_assessable")
        lines += [
            "### Result states on test",
            "",
            "| lesions | " + " | ".join(states) + " | total |",
            "| --- |" + " ---: |" * (len(states) + 1),
        ]
        for group, counts in confusion.items():
            cells = " | ".join(str(counts.get(state, 0)) for state in states)
            lines.append(f"| {group} | {cells} | {counts.get('total', 0)} |")
        lines.append("")
    return lines


def _metrics_section(test: dict, classes: list[str]) -> list[str]:
    mel = test.get("melanoma") or {}
    lines = [
        f"## Test metrics ({test.get('images')} images, {test.get('tta_views')} TTA views)",
        "",
        "| metric | value | target |",
        "| --- | ---: | ---: |",
        f"| accuracy | {_fmt(test.get('accuracy'))} | |",
        f"| balanced accuracy | {_fmt(test.get('balanced_accuracy'))}"
        f"{_interval(test.get('intervals_95') or {}, 'balanced_accuracy')} | "
        f"≥ {TARGETS['balanced_accuracy']} |",
        f"| macro F1 | {_fmt(test.get('macro_f1'))} | |",
        f"| macro AUC | {_fmt(test.get('macro_auc'))} | |",
        f"| melanoma AUC | {_fmt(mel.get('auc'))}"
        f"{_interval(test.get('intervals_95') or {}, 'melanoma_auc')} | "
        f"≥ {TARGETS['melanoma_auc']} |",
        f"| melanoma sensitivity at specificity ≥ 0.80 | "
        f"{_fmt(mel.get('sensitivity_at_specificity_80'))} | "
        f"≥ {TARGETS['melanoma_sensitivity_at_specificity_80']} |",
        f"| melanoma specificity at sensitivity ≥ 0.90 | "
        f"{_fmt(mel.get('specificity_at_sensitivity_90'))} | |",
        f"| ECE before temperature | {_fmt(test.get('ece_before_temperature'))} | |",
        f"| ECE after temperature (T = {_fmt(test.get('temperature'), 2)}) | "
        f"{_fmt(test.get('ece_after_temperature'))} | ≤ {TARGETS['ece_after_temperature']} |",
        "",
        "| class | precision | recall | F1 | AUC | images |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for code in classes:
        row = test.get("per_class", {}).get(code, {})
        lines.append(
            f"| {code} ({display_name(code)}) | {_fmt(row.get('precision'))} | "
            f"{_fmt(row.get('recall'))} | {_fmt(row.get('f1'))} | {_fmt(row.get('auc'))} | "
            f"{row.get('support', 0)} |"
        )
    lines.append("")
    return lines


def write_markdown(card: ModelCard, directory: Path) -> Path:
    path = Path(directory) / CARD_MD_FILE
    path.write_text(render_markdown(card))
    return path
