"""The split made when the data has none: grouped by lesion, stratified by class."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from training.data import DataError, LabelledData, Sample, load_dataset
from training.splits import ensure_split, leaking_groups, make_grouped_split


def synthetic_samples(seed: int = 0) -> list[Sample]:
    """Lesions with 1-4 images each, every class; like HAM10000's structure."""
    import numpy as np

    rng = np.random.default_rng(seed)
    samples = []
    for cls, lesions in (("nv", 300), ("mel", 80), ("bkl", 60), ("df", 9), ("vasc", 3)):
        for lesion in range(lesions):
            for image in range(int(rng.integers(1, 5))):
                group = f"{cls}-L{lesion}"
                samples.append(Sample(Path(f"{group}-{image}.jpg"), cls, group, None, group))
    return samples


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_lesion_is_in_two_splits(seed):
    split = make_grouped_split(synthetic_samples(seed), seed=seed)
    assert leaking_groups(split) == set()
    assert {s.split for s in split} == {"train", "val", "test"}


def test_each_class_is_split_in_roughly_its_proportions():
    split = make_grouped_split(synthetic_samples(), seed=0)
    for cls in ("nv", "mel", "bkl"):
        counts = Counter(s.split for s in split if s.label == cls)
        total = sum(counts.values())
        assert 0.10 <= counts["test"] / total <= 0.22, (cls, counts)
        assert 0.10 <= counts["val"] / total <= 0.22, (cls, counts)
    # even a class of 9 lesions gets a test and a val lesion
    assert {s.split for s in split if s.label == "df"} == {"train", "val", "test"}


def test_same_seed_same_split_other_seed_other_split():
    first = make_grouped_split(synthetic_samples(), seed=5)
    again = make_grouped_split(synthetic_samples(), seed=5)
    other = make_grouped_split(synthetic_samples(), seed=6)
    assert [s.split for s in first] == [s.split for s in again]
    assert [s.split for s in first] != [s.split for s in other]


def test_real_metadata_without_split_column_gets_a_leak_free_split(tmp_path, tiny_rows):
    from training.tests.conftest import write_ham_dir

    data_dir = write_ham_dir(tmp_path / "d", tiny_rows, columns=["lesion_id", "image_id", "dx"])
    data = ensure_split(load_dataset(data_dir), seed=0)
    assert all(s.split in ("train", "val", "test") for s in data.samples)
    assert leaking_groups(data.samples) == set()


def test_a_given_split_that_leaks_a_lesion_is_refused():
    samples = [
        Sample(Path("a.jpg"), "nv", "L1", "train", "a"),
        Sample(Path("b.jpg"), "nv", "L1", "test", "b"),
    ]
    data = LabelledData(classes=("nv",), samples=samples, layout="x", root="here")
    with pytest.raises(DataError, match="1 lesion\\(s\\) in more than one split \\(L1\\)"):
        ensure_split(data)
