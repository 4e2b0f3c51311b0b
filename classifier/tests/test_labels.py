import pytest

from classifier.labels import (
    CLASS_SETS,
    DISPLAY_NAMES,
    HAM7,
    ISIC8,
    MALIGNANT,
    THREE,
    display_name,
    resolve_class_set,
)


def test_class_sets_are_alphabetical_codes_except_the_seed_scheme():
    assert list(HAM7) == sorted(HAM7)
    assert list(ISIC8) == sorted(ISIC8)
    assert THREE == ("melanoma", "basal_cell_carcinoma", "benign")
    assert CLASS_SETS == {"ham7": HAM7, "isic8": ISIC8, "three": THREE}


def test_every_class_has_a_display_name():
    for classes in CLASS_SETS.values():
        for code in classes:
            assert DISPLAY_NAMES[code]
    assert display_name("mel") == "Melanoma"
    assert display_name("unknown-code") == "unknown-code"


def test_malignant_classes_are_the_cancers_and_precursors():
    assert {"mel", "bcc", "akiec", "scc", "melanoma", "basal_cell_carcinoma"} <= MALIGNANT
    assert not {"nv", "bkl", "df", "vasc", "benign"} & MALIGNANT


def test_resolve_class_set_by_name_or_list():
    assert resolve_class_set("HAM7") is HAM7
    assert resolve_class_set(["a", "b"]) == ("a", "b")
    with pytest.raises(ValueError, match="Unknown class set"):
        resolve_class_set("ham9")
    with pytest.raises(ValueError, match="duplicates"):
        resolve_class_set(["a", "a"])
