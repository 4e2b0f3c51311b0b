"""Bad data directories end in a clear message naming the problem, and write nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from training.data import PROJECT_ROOT, DataError, load_dataset
from training.tests.conftest import write_ham_dir


def run_train(data_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "model_out"
    call_command(
        "train_model",
        data=str(data_dir),
        out=str(out),
        epochs=1,
        img_size=32,
        no_register=True,
        no_progress=True,
        checkpoint_dir=str(tmp_path / "ckpt"),
    )
    return out


def test_missing_csv_column_is_named(tmp_path, tiny_rows):
    data = write_ham_dir(tmp_path / "d", tiny_rows, columns=["image_id", "dx", "split"])
    with pytest.raises(CommandError, match=r"missing column\(s\) lesion_id"):
        run_train(data, tmp_path)
    assert not (tmp_path / "model_out").exists()


def test_unknown_class_name_is_named(tmp_path, tiny_rows):
    rows = [dict(r) for r in tiny_rows]
    rows[0]["dx"] = "melanocytoma"
    data = write_ham_dir(tmp_path / "d", rows)
    with pytest.raises(CommandError, match="unknown class name.*'melanocytoma'"):
        run_train(data, tmp_path)
    assert not (tmp_path / "model_out").exists()


def test_missing_image_file_is_named(tmp_path, tiny_rows):
    data = write_ham_dir(tmp_path / "d", tiny_rows)
    missing = tiny_rows[3]["image_id"]
    (data / "images" / f"{missing}.jpg").unlink()
    with pytest.raises(CommandError, match=f"1 image file\\(s\\) missing: {missing}"):
        run_train(data, tmp_path)


def test_unreadable_image_is_named(tmp_path, tiny_rows):
    data = write_ham_dir(tmp_path / "d", tiny_rows)
    broken = tiny_rows[5]["image_id"]
    (data / "images" / f"{broken}.jpg").write_bytes(b"this is not a jpeg")
    with pytest.raises(CommandError, match=f"unreadable image: .*{broken}"):
        run_train(data, tmp_path)
    assert not (tmp_path / "model_out").exists()


def test_missing_directory_and_empty_folder(tmp_path):
    with pytest.raises(CommandError, match="data directory not found"):
        run_train(tmp_path / "nowhere", tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no metadata.csv and no class folders"):
        run_train(tmp_path / "empty", tmp_path)


def test_unknown_class_folder_is_named(tmp_path, tiny_rows):
    folder = tmp_path / "folders"
    (folder / "train" / "mel").mkdir(parents=True)
    (folder / "train" / "freckle").mkdir(parents=True)
    with pytest.raises(DataError, match=r"unknown class folder\(s\) train/freckle"):
        load_dataset(folder)


def test_folder_layout_maps_ham_codes_to_three_classes(tmp_path, tiny_ham_dir, tiny_rows):
    folder = tmp_path / "folders"
    for row in tiny_rows:
        target = folder / row["split"] / row["dx"]
        target.mkdir(parents=True, exist_ok=True)
        source = tiny_ham_dir / "images" / f"{row['image_id']}.jpg"
        (target / source.name).write_bytes(source.read_bytes())
    data = load_dataset(folder, labels="three")
    assert data.classes == ("melanoma", "basal_cell_carcinoma", "benign")
    assert {s.label for s in data.samples} == set(data.classes)
    assert data.excluded == {"akiec": 3}  # one akiec folder per split: no place in this scheme
    assert {s.split for s in data.samples} == {"train", "val", "test"}


def test_isic8_splits_akiec_using_the_isic2019_file(tmp_path, tiny_rows):
    data_dir = write_ham_dir(tmp_path / "d", tiny_rows, copy=False)
    with pytest.raises(DataError, match="isic2019_labels.csv"):
        load_dataset(data_dir, labels="isic8")
    akiec = [r["image_id"] for r in tiny_rows if r["dx"] == "akiec"]
    isic = {r["image_id"]: r["dx"].upper() for r in tiny_rows}
    isic.update({image_id: "AK" for image_id in akiec})
    isic[akiec[0]] = "SCC"
    lines = ["image_id,isic2019_dx"] + [f"{k},{v}" for k, v in isic.items()]
    (data_dir / "isic2019_labels.csv").write_text("\n".join(lines) + "\n")
    for row in tiny_rows:  # empty files are enough: isic8 loading does not decode images
        (data_dir / "images" / f"{row['image_id']}.jpg").touch()
    data = load_dataset(data_dir, labels="isic8")
    labels = {s.image_id: s.label for s in data.samples}
    assert labels[akiec[0]] == "scc"
    assert labels[akiec[1]] == "ak"
    assert "akiec" not in labels.values()


def test_the_card_names_the_data_relative_to_the_project_not_this_machine(tiny_ham_dir):
    source = load_dataset(tiny_ham_dir, labels="ham7").summary()["source"]
    assert not source.startswith("/")
    assert (PROJECT_ROOT / source).resolve() == tiny_ham_dir.resolve()
