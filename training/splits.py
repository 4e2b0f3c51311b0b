"""Train/val/test split grouped by lesion and stratified by class.

Same procedure that made the shared HAM10000 split: per class, lesion groups are
shuffled with a seeded generator and taken whole until the class's share of
images for ``test`` is reached, then ``val``; the rest is ``train``. A group is
filed under its most frequent class, so no lesion can ever sit in two splits.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

import numpy as np

from training.data import DataError, LabelledData, Sample


def make_grouped_split(
    samples: list[Sample], *, seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.15
) -> list[Sample]:
    """Return the samples with ``split`` filled in (existing values are replaced)."""
    by_group: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_group[sample.group].append(sample)
    groups_by_class: dict[str, list[str]] = defaultdict(list)
    for group, members in by_group.items():
        label = Counter(s.label for s in members).most_common(1)[0][0]
        groups_by_class[label].append(group)

    rng = np.random.default_rng(seed)
    split_of_group: dict[str, str] = {}
    for label in sorted(groups_by_class):
        groups = sorted(groups_by_class[label])
        rng.shuffle(groups)
        total = sum(len(by_group[g]) for g in groups)
        targets = (("test", test_fraction * total), ("val", val_fraction * total))
        position = 0
        for split, target in targets:
            taken = 0
            # Always take at least one group per split when the class has three or more,
            # so small data sets still get a val and test example of each class.
            while position < len(groups) and (
                taken < target - 0.5 or (taken == 0 and len(groups) - position > 1)
            ):
                taken += len(by_group[groups[position]])
                split_of_group[groups[position]] = split
                position += 1
        for group in groups[position:]:
            split_of_group[group] = "train"
    return [dataclasses.replace(s, split=split_of_group[s.group]) for s in samples]


def ensure_split(data: LabelledData, *, seed: int = 0) -> LabelledData:
    """Keep an existing split; make a grouped, stratified one where any sample lacks it."""
    if all(s.split for s in data.samples):
        leaks = leaking_groups(data.samples)
        if leaks:
            shown = ", ".join(sorted(leaks)[:5])
            raise DataError(
                f"{data.root}: the given split puts {len(leaks)} lesion(s) in more than one "
                f"split ({shown}); images of one lesion must share a split"
            )
        return data
    return dataclasses.replace(data, samples=make_grouped_split(data.samples, seed=seed))


def leaking_groups(samples: list[Sample]) -> set[str]:
    """Groups found in more than one split (must be empty)."""
    splits_of: dict[str, set[str | None]] = defaultdict(set)
    for sample in samples:
        splits_of[sample.group].add(sample.split)
    return {g for g, splits in splits_of.items() if len(splits) > 1}
