"""The command line, on good and bad files."""

import json
import subprocess
import sys

from classifier.predict import main
from classifier.tests.conftest import REPO_ROOT


def test_json_mode_reports_good_files_and_an_error_line_for_bad_ones(
    untrained_artifact, sample_images, tmp_path, capsys
):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    missing = tmp_path / "missing.png"
    heatmaps = tmp_path / "heatmaps"
    argv = [str(sample_images[0]), str(bad), str(missing), str(sample_images[1])]
    status = main([*argv, "--model", str(untrained_artifact), "--json", "--heatmap-dir",
                   str(heatmaps)])  # fmt: skip
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert status == 1
    assert [r["image"] for r in records] == argv  # the good file after the bad ones still ran
    good, broken, absent, good2 = records
    assert good["label"] in good["probabilities"] and "error" not in good
    assert {"confidence", "uncertain", "risk_level", "model_id"} <= set(good)
    assert "broken.jpg" in broken["error"] and "file not found" in absent["error"]
    assert "error: " in err and "Traceback" not in err
    assert sorted(p.name for p in heatmaps.iterdir()) == sorted(
        f"{p.stem}_heatmap.png" for p in sample_images[:2]
    )
    assert good2["heatmap_path"].endswith("_heatmap.png")


def test_text_mode_prints_label_probabilities_and_risk(untrained_artifact, sample_images, capsys):
    status = main([str(sample_images[2]), "--model", str(untrained_artifact), "--no-tta"])
    out, _ = capsys.readouterr()
    assert status == 0
    assert "risk:" in out and "probabilities:" in out and "TTA views: 1" in out
    assert "not a diagnosis" in out


def test_a_missing_model_exits_with_a_clear_message(tmp_path, sample_images, capsys):
    status = main([str(sample_images[0]), "--model", str(tmp_path / "no-model")])
    _, err = capsys.readouterr()
    assert status == 2 and "cannot load model" in err and "Traceback" not in err


def test_runs_as_a_module(untrained_artifact, sample_images, tmp_path):
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "classifier.predict",
            str(sample_images[3]),
            str(bad),
            "--model",
            str(untrained_artifact),
            "--json",
            "--no-tta",
        ],  # fmt: skip
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["tta_views"] == 1 and "empty" in lines[1]["error"]
    assert "Traceback" not in result.stderr
