"""--from-db: confirmed clinic images join the training data, each lesion in one split."""

from __future__ import annotations

from collections import Counter

import pytest

from training.db_samples import DIAGNOSIS_FIELD, confirmed_samples, split_for_lesion


def test_lesion_split_is_stable_and_roughly_70_15_15():
    splits = [split_for_lesion(f"db-lesion-{i}") for i in range(3000)]
    assert splits == [split_for_lesion(f"db-lesion-{i}") for i in range(3000)]
    counts = Counter(splits)
    assert 0.12 < counts["test"] / 3000 < 0.18 and 0.12 < counts["val"] / 3000 < 0.18


@pytest.mark.django_db
def test_from_db_reads_only_images_of_lesions_with_a_confirmed_diagnosis(tmp_path):
    from lesions.models import Lesion
    from lesions.tests.factories import LesionImageFactory

    image = LesionImageFactory()
    Lesion.objects.filter(pk=image.lesion_id).update(**{DIAGNOSIS_FIELD: "mel"})
    LesionImageFactory()  # a lesion without a confirmed diagnosis is left out
    data = confirmed_samples(labels="ham7", export_dir=tmp_path)
    assert [s.label for s in data.samples] == ["mel"]
    sample = data.samples[0]
    assert sample.path.is_file() and sample.group == f"db-lesion-{image.lesion_id}"


@pytest.mark.django_db
def test_a_confirmed_diagnosis_outside_the_class_set_is_left_out(tmp_path):
    from lesions.models import Lesion
    from lesions.tests.factories import LesionImageFactory

    image = LesionImageFactory()
    Lesion.objects.filter(pk=image.lesion_id).update(**{DIAGNOSIS_FIELD: "scc"})
    data = confirmed_samples(labels="ham7", export_dir=tmp_path)  # ham7 has no scc
    assert data.samples == [] and data.excluded == {"scc": 1}
    assert [s.label for s in confirmed_samples(labels="isic8", export_dir=tmp_path).samples] == [
        "scc"
    ]


@pytest.mark.django_db
def test_a_patients_lesions_share_one_split(tmp_path):
    from lesions.models import Lesion
    from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory
    from training.db_samples import split_for_patient

    patient = PatientFactory()
    for _ in range(3):
        image = LesionImageFactory(lesion=LesionFactory(patient=patient))
        Lesion.objects.filter(pk=image.lesion_id).update(**{DIAGNOSIS_FIELD: "nv"})
    data = confirmed_samples(labels="ham7", export_dir=tmp_path)
    assert {s.split for s in data.samples} == {split_for_patient(patient.pk)}
    assert len({s.group for s in data.samples}) == 3  # still one bootstrap group per lesion
