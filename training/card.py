"""The model card: what the training records in card.json, and its markdown rendering."""

from __future__ import annotations

from pathlib import Path

from classifier.labels import display_name
from classifier.model_card import ModelCard
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
    lines += _external_section(metrics)
    lines += _exports_section(card)
    lines += _tta_section(card)
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


def _tta_section(card: ModelCard) -> list[str]:
    """Which TTA views are served and the study they were chosen by (bench/tta_views.py)."""
    study = (card.metrics or {}).get("tta_views")
    lines = ["## TTA views", "", f"Served views: {', '.join(card.served_views)}."]
    if not study:
        return [*lines, ""]
    lines += [
        f"Chosen on val ({study['rule']}): **{study['chosen']}**. Each row below comes from one "
        "pass over val and test with all 8 views, scored with the card's temperature, gate and "
        "operating point as they were before the refit on val for the chosen views.",
        "",
        "| views | split | balanced accuracy | melanoma AUC | melanoma → High sensitivity | "
        "not assessable |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, figures in study["subsets"].items():
        for split in ("val", "test"):
            row = figures[split]
            lines.append(
                f"| {name} | {split} | {row['balanced_accuracy']:.4f} | "
                f"{row['melanoma_auc']:.4f} | {row['melanoma_high_sensitivity']:.4f} | "
                f"{row['not_assessable_rate']:.4f} |"
            )
    return [*lines, ""]


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


# The external report's figures (training.external), in the order the card shows them.
EXTERNAL_ROWS = (
    ("melanoma_auc", "melanoma AUC (melanoma probability as the score)"),
    ("sensitivity_at_specificity_80", "melanoma sensitivity at specificity 0.80"),
    ("melanoma_high", "melanomas High"),
    ("melanoma_high_or_moderate", "melanomas High or Moderate"),
    ("nevus_high", "nevi High (false alarms)"),
    ("nevus_high_or_moderate", "nevi High or Moderate"),
    ("nevus_low", "nevi Low"),
    ("not_assessable", "not assessable"),
    ("inconclusive", "inconclusive"),
)


def _external_section(metrics: dict) -> list[str]:
    """Melanoma vs nevus on other clinics' images, and how those images differ from HAM's."""
    external = metrics.get("external") or {}
    if not external:
        return []
    domain = metrics.get("domain_comparison") or {}
    lines = [
        "## Images from other clinics",
        "",
        "Melanoma vs nevus on images from other clinics and dermatoscopes, scored as served "
        "(the backend a worker uses, TTA, the card's temperature, thresholds and gate); "
        "nothing was fitted on these images. A not-assessable image counts as not "
        "flagged. Intervals: 95 %, bootstrap by image for the external sets (each image is a "
        "different lesion), by lesion for HAM10000.",
        "",
    ]
    for name, entry in external.items():
        same_set = domain.get("external") == name
        reference = domain.get("reference_melanoma_vs_nevus") if same_set else None
        header = f"| figure | {name} ({_counts(entry)}) |"
        if reference:
            header += f" {domain['reference']}, melanomas and nevi ({_counts(reference)}) |"
        lines += [header, "| --- | ---: |" + (" ---: |" if reference else "")]
        for key, label in EXTERNAL_ROWS:
            cells = [_cell(entry, key)] + ([_cell(reference, key)] if reference else [])
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"Backend {entry.get('backend')}, {entry.get('tta_views')} TTA views; measured "
            f"{entry.get('measured_at', 'n/a')} with "
            f"`{entry.get('command', 'manage.py evaluate_model --external')}`.",
            "",
        ]
    if domain:
        lines += _domain_lines(domain)
    return lines


def _domain_lines(domain: dict) -> list[str]:
    ref, ext = domain["reference"], domain["external"]
    lines = [
        "### How the images differ",
        "",
        f"The same measurements on the melanomas and nevi of {ref} and on {ext}, on the stored "
        "images before the model's preprocessing (training/domain.py). KS: "
        "Kolmogorov-Smirnov statistic (0: same distribution, 1: disjoint); SMD: standardised "
        f"mean difference, {ext} minus {ref}.",
        "",
        f"| figure | {ref} mean (sd) | {ext} mean (sd) | KS | SMD |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    rows = list(domain.get("figures") or [])
    gate = domain.get("gate_distance")
    if gate:
        rows.append(
            {"label": "served gate: feature distance", "reference_mel_nv": gate["reference_mel_nv"]}
            | {"external": gate["external"], "ks": gate["ks"], "smd": gate["smd"]}
        )
    for row in rows:
        a, b = row["reference_mel_nv"], row["external"]
        lines.append(
            f"| {row['label']} | {_fmt(a.get('mean'), 2)} ({_fmt(a.get('sd'), 2)}) | "
            f"{_fmt(b.get('mean'), 2)} ({_fmt(b.get('sd'), 2)}) | {_fmt(row['ks'], 2)} | "
            f"{_fmt(row['smd'], 2)} |"
        )
    lines.append("")
    vignetted = domain.get("vignetted_share") or {}
    mix = domain.get("case_mix") or {}
    check = domain.get("segmentation_check") or {}
    if vignetted:
        lines.append(
            f"- Vignetted (more than half of the corners dark): {_pct(vignetted.get('external'))} "
            f"of {ext} against {_pct(vignetted.get('reference_mel_nv'))} of {ref}'s melanomas "
            "and nevi."
        )
    if check:
        lines.append(
            f"- Lesion fraction from {ref}'s hand masks: mean "
            f"{_fmt(check['lesion_fraction_mask_mel_nv'].get('mean'))} (melanomas and nevi). "
            f"The Otsu segmentation used on both sets agrees with them at a median Dice of "
            f"{_fmt(check.get('dice_median'))} (mean {_fmt(check.get('dice_mean'))}; correlation "
            f"of the fractions {_fmt(check.get('correlation'))}); it leaves out the faint rim "
            "the hand masks include, so only Otsu is compared with Otsu."
        )
    if mix:
        share = {side: _pct(mix[side].get("melanoma_share_of_mel_nv")) for side in mix}
        counts = mix["reference"].get("counts") or {}
        others = sum(n for code, n in counts.items() if code not in ("mel", "nv"))
        lines.append(
            f"- Case mix: melanomas are {share['external']} of {ext}'s melanomas and nevi, "
            f"{share['reference']} of {ref}'s; {ref} also holds {others} images of other "
            "classes, which the image figures above leave out."
        )
    if gate:
        lines.append(
            f"- The gate's feature distance (threshold {_fmt(gate.get('threshold'))}): median "
            f"{_fmt(gate['external'].get('median'))} on {ext} against "
            f"{_fmt(gate['reference_mel_nv'].get('median'))}; above the threshold (not "
            f"assessable): {_pct(gate['external'].get('above_threshold'))} against "
            f"{_pct(gate['reference_mel_nv'].get('above_threshold'))}."
        )
    if domain.get("figure"):
        lines += ["", f"![domain comparison]({domain['figure']})"]
    return [*lines, ""]


def _counts(entry: dict) -> str:
    return f"{entry.get('images')} images: {entry.get('melanomas')} mel, {entry.get('nevi')} nv"


def _cell(entry: dict, key: str) -> str:
    return f"{_fmt(entry.get(key))}{_interval(entry.get('intervals_95') or {}, key)}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


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
