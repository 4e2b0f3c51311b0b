"""What each TTA view buys, and an early exit chosen on val, scored on test.

    python bench/tta_views.py [--data ../shared/data/ham10000] [--model DIR] [--json OUT]

Runs the served model (its own backend, preprocessing, temperature, gate and operating
point) once per image with all 8 views, keeping each view's logits and pooled
features. Every figure below is then computed from those numbers: view subsets of
1, 2, 4 and 8 views, and the early exit (run the first 4 views; stop when they agree,
i.e. the largest spread of a class probability across them is at most a threshold;
otherwise run the other 4). The threshold is the largest one whose decisions (result
state and most likely class) match the full 8 views on at least 99.5 % of val; test
then says what it gives on images it was not chosen on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from classifier.artifact import load_gate, read_card  # noqa: E402
from classifier.gate import pooled_features  # noqa: E402
from classifier.operating_point import OperatingPoint  # noqa: E402
from classifier.predictor import Predictor  # noqa: E402
from classifier.tta import VIEWS  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.evaluation import not_assessable, result_states, served_metrics  # noqa: E402
from training.served import ServedOutputs  # noqa: E402

SUBSETS = {
    "1 view (identity)": ("identity",),
    "2 views (identity, rot180)": ("identity", "rot180"),
    "4 rotations": ("identity", "rot90", "rot180", "rot270"),
    "4 flips (identity, hflip, vflip, rot180)": ("identity", "hflip", "vflip", "rot180"),
    "8 views": VIEWS,
}
AGREEMENT = 0.995
# The served views: the fewest whose val figures stay this close to all 8 views
# (the int8 export's tolerances, plus the two figures a clinician feels).
TOLERANCE = {
    "balanced_accuracy": 0.01,
    "melanoma_auc": 0.005,
    "melanoma_high_sensitivity": 0.02,
    "not_assessable_rate": -0.01,  # may rise by at most one point
}


def per_view_outputs(predictor: Predictor, paths: list[Path], desc: str) -> dict:
    """(N, 8, K) logits, (N, 8, C) pooled features and (N,) quality reasons."""
    logits, features, quality = [], [], []
    for path in tqdm(paths, desc=desc, unit="img"):
        prepared = predictor.prepare(str(path))
        [(view_logits, maps)] = predictor.view_logits([prepared], views=VIEWS, features=True)
        logits.append(view_logits.astype(np.float32))
        features.append(np.stack([pooled_features(m[None]) for m in maps]))
        quality.append(prepared.quality_problem)
    return {
        "logits": np.stack(logits),
        "features": np.stack(features),
        "quality": np.array(quality, dtype=str),
    }


def subset_outputs(raw: dict, views: tuple[str, ...], rows=slice(None)) -> ServedOutputs:
    index = [VIEWS.index(v) for v in views]
    return ServedOutputs(
        raw["logits"][rows][:, index],
        raw["features"][rows][:, index].mean(axis=1),
        raw["quality"][rows],
    )


def decisions(outputs: ServedOutputs, card, gate) -> np.ndarray:
    """Per image: "state|most likely class", what a clinician reads."""
    from classifier.calibration import combine_views

    probs = combine_views(outputs.logits, card.temperature)
    states = result_states(
        probs,
        not_assessable(outputs, gate),
        classes=list(card.classes),
        card=card,
        operating_point=OperatingPoint.from_card(card.operating_point),
    )
    labels = np.array(card.classes)[probs.argmax(axis=1)]
    return np.char.add(np.char.add(states, "|"), labels)


def spread(raw: dict, views: tuple[str, ...], temperature: float) -> np.ndarray:
    """Largest range of a class probability across ``views``, per image."""
    from classifier.calibration import softmax

    index = [VIEWS.index(v) for v in views]
    probs = softmax(raw["logits"][:, index], temperature)
    return (probs.max(axis=1) - probs.min(axis=1)).max(axis=1)


def early_exit_outputs(raw: dict, first: tuple[str, ...], exits: np.ndarray) -> ServedOutputs:
    """First-stage outputs where the exit was taken, all 8 views elsewhere."""
    full = subset_outputs(raw, VIEWS)
    quick = subset_outputs(raw, first)
    logits = np.where(
        exits[:, None, None],
        np.concatenate([quick.logits, quick.logits], axis=1),  # same mean as the 4 views
        full.logits,
    )
    features = np.where(exits[:, None], quick.features, full.features)
    return ServedOutputs(logits, features, full.quality)


def choose_threshold(raw: dict, first, card, gate) -> float:
    """Largest spread threshold whose decisions match 8 views on >= AGREEMENT of val."""
    reference = decisions(subset_outputs(raw, VIEWS), card, gate)
    quick = decisions(subset_outputs(raw, first), card, gate)
    spreads = spread(raw, first, card.temperature)
    best = 0.0
    for threshold in np.unique(np.round(spreads, 4)):
        exits = spreads <= threshold
        agree = np.where(exits, quick == reference, True).mean()
        if agree >= AGREEMENT:
            best = float(threshold)
    return best


def summary(outputs: ServedOutputs, labels, groups, card, gate, split: str) -> dict:
    metrics = served_metrics(
        outputs, labels, groups, card=card, gate=gate, split=split, bootstrap_rounds=0
    )
    return {
        "balanced_accuracy": round(metrics["balanced_accuracy"], 4),
        "melanoma_auc": round(metrics["melanoma"]["auc"], 4),
        "melanoma_high_sensitivity": round(
            metrics["operating_point"]["melanoma_high"]["sensitivity"], 4
        ),
        "melanoma_high_specificity": round(
            metrics["operating_point"]["melanoma_high"]["specificity"], 4
        ),
        "ece": round(metrics["ece_after_temperature"], 4),
        "not_assessable_rate": round(metrics["not_assessable_rate"], 4),
    }


def within_tolerance(candidate: dict, reference: dict) -> bool:
    for key, allowed in TOLERANCE.items():
        if allowed >= 0 and reference[key] - candidate[key] > allowed:
            return False
        if allowed < 0 and candidate[key] - reference[key] > -allowed:
            return False
    return True


def choose_views(subsets: dict) -> str:
    """Name of the fewest-view subset within tolerance of 8 views on val (best val BA)."""
    reference = subsets["8 views"]["val"]
    fitting = [n for n, figures in subsets.items() if within_tolerance(figures["val"], reference)]
    return min(fitting, key=lambda n: (len(SUBSETS[n]), -subsets[n]["val"]["balanced_accuracy"]))


def write_to_card(model: Path, report: dict) -> None:
    from classifier.artifact import write_card

    card = read_card(model)
    card.tta_views = list(SUBSETS[report["chosen"]])
    card.metrics = dict(card.metrics or {}) | {"tta_views": report}
    write_card(card, model)


def docs_section(report: dict, command: str) -> str:
    keys = (
        "balanced_accuracy",
        "melanoma_auc",
        "melanoma_high_sensitivity",
        "melanoma_high_specificity",
        "ece",
        "not_assessable_rate",
    )
    lines = [
        "## TTA views",
        "",
        f"`{command}` — model `{report['model']}`, backend `{report['backend']}`. Each image "
        "is run once with all 8 views; every row is computed from those outputs with the "
        "card's temperature, gate and operating point. Served views are chosen on val by "
        f"rule: {report['rule']}. **Chosen: {report['chosen']}.**",
        "",
        "| views | split | " + " | ".join(k.replace("_", " ") for k in keys) + " |",
        "| --- | --- |" + " ---: |" * len(keys),
    ]
    for name, figures in report["subsets"].items():
        for split in ("val", "test"):
            row = " | ".join(f"{figures[split][k]:.4f}" for k in keys)
            lines.append(f"| {name} | {split} | {row} |")
    early = report["early_exit"]
    lines += [
        "",
        f"Early exit, considered: run {', '.join(early['first_views'])} first and stop when no "
        f"class probability spreads more than {early['spread_threshold']} across them (the "
        f"largest threshold keeping {AGREEMENT:.1%} of val decisions as with 8 views). It "
        f"exits on {early['test']['exit_rate']:.0%} of test images (mean "
        f"{early['test']['mean_views']} views), so it saves less than serving 4 views outright, "
        "and is not used.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(REPO_ROOT.parent / "shared/data/ham10000"))
    parser.add_argument("--model", default=str(REPO_ROOT / "classifier/default_model"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None, help="write the figures here")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--write-card",
        action="store_true",
        help="serve the chosen views: set the card's tta_views and record this study in it "
        "(then refit on val with calibrate_model)",
    )
    parser.add_argument("--cache", default=str(REPO_ROOT / "runs"), help="per-view outputs")
    args = parser.parse_args()

    model = Path(args.model)
    card = read_card(model)
    gate = load_gate(model, card)
    predictor = Predictor.from_artifact(model, device="cpu", threads=args.threads)
    data = load_dataset(Path(args.data), labels="ham7")
    index = {code: i for i, code in enumerate(card.classes)}
    split_raw, split_truth = {}, {}
    for split in ("val", "test"):
        samples = data.in_split(split)
        cache = Path(args.cache) / f"tta-views-{card.weights_sha256[:12]}-{split}.npz"
        if cache.is_file():
            with np.load(cache) as stored:
                split_raw[split] = {key: stored[key] for key in stored.files}
        else:
            split_raw[split] = per_view_outputs(predictor, [s.path for s in samples], split)
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **split_raw[split])
        split_truth[split] = (
            np.array([index[s.label] for s in samples]),
            np.array([s.group for s in samples]),
        )

    report = {"model": card.model_id, "backend": predictor.backend_name, "subsets": {}}
    for name, views in SUBSETS.items():
        report["subsets"][name] = {
            split: summary(
                subset_outputs(split_raw[split], views), *split_truth[split], card, gate, split
            )
            for split in ("val", "test")
        }
        print(name, report["subsets"][name]["test"], flush=True)

    val_choice = {}
    for name in ("4 rotations", "4 flips (identity, hflip, vflip, rot180)"):
        first = SUBSETS[name]
        threshold = choose_threshold(split_raw["val"], first, card, gate)
        exits = spread(split_raw["val"], first, card.temperature) <= threshold
        val_choice[name] = (exits.mean(), threshold)
    first_name = max(val_choice, key=lambda n: val_choice[n][0])  # most exits on val
    first, threshold = SUBSETS[first_name], val_choice[first_name][1]
    early = {"first_views": list(first), "spread_threshold": threshold, "chosen_on": "val"}
    for split in ("val", "test"):
        raw = split_raw[split]
        exits = spread(raw, first, card.temperature) <= threshold
        outputs = early_exit_outputs(raw, first, exits)
        agree = decisions(outputs, card, gate) == decisions(subset_outputs(raw, VIEWS), card, gate)
        early[split] = summary(outputs, *split_truth[split], card, gate, split) | {
            "exit_rate": round(float(exits.mean()), 4),
            "decisions_as_8_views": round(float(agree.mean()), 4),
            "mean_views": round(float(4 * exits.mean() + 8 * (1 - exits.mean())), 2),
        }
    report["early_exit"] = early
    report["chosen"] = choose_views(report["subsets"])
    report["rule"] = (
        "the fewest views whose val figures stay within "
        + ", ".join(f"{k} {v:+}" for k, v in TOLERANCE.items())
        + " of 8 views"
    )
    report["card_views_when_measured"] = list(card.served_views)
    print(json.dumps(early, indent=2))
    print(f"chosen on val: {report['chosen']}")
    if args.write_card:
        write_to_card(model, report)
    if args.write_docs:
        from bench.report import command_without_notes, write_section

        command = "python " + " ".join(command_without_notes(sys.argv))
        write_section("## TTA views", docs_section(report, command))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
