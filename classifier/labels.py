"""Class sets the engine knows, their display names, and which of them are malignant.

Class codes are stored lower-case in artifacts and API responses; the order of a
class set is the order of the model's output logits.
"""

from __future__ import annotations

HAM7: tuple[str, ...] = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
ISIC8: tuple[str, ...] = ("ak", "bcc", "bkl", "df", "mel", "nv", "scc", "vasc")
THREE: tuple[str, ...] = ("melanoma", "basal_cell_carcinoma", "benign")

CLASS_SETS: dict[str, tuple[str, ...]] = {"ham7": HAM7, "isic8": ISIC8, "three": THREE}

DISPLAY_NAMES: dict[str, str] = {
    "akiec": "Actinic keratosis / intraepithelial carcinoma",
    "ak": "Actinic keratosis",
    "bcc": "Basal cell carcinoma",
    "bkl": "Benign keratosis-like lesion",
    "df": "Dermatofibroma",
    "mel": "Melanoma",
    "nv": "Melanocytic nevus",
    "scc": "Squamous cell carcinoma",
    "vasc": "Vascular lesion",
    "melanoma": "Melanoma",
    "basal_cell_carcinoma": "Basal cell carcinoma",
    "benign": "Benign",
}

# scc and akiec (which includes Bowen's disease, an in-situ SCC) count as malignant:
# the summed probability is a "needs a dermatologist" signal, not a histology claim.
MALIGNANT: frozenset[str] = frozenset(
    {"mel", "bcc", "akiec", "scc", "ak", "melanoma", "basal_cell_carcinoma"}
)


def display_name(code: str) -> str:
    """Human-readable name of a class code; unknown codes are shown as given."""
    return DISPLAY_NAMES.get(code, code)


def resolve_class_set(name_or_classes: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Accept a class-set name ("ham7") or an explicit list of codes; return the codes."""
    if isinstance(name_or_classes, str):
        try:
            return CLASS_SETS[name_or_classes.lower()]
        except KeyError:
            known = ", ".join(sorted(CLASS_SETS))
            raise ValueError(f"Unknown class set {name_or_classes!r}; known: {known}") from None
    classes = tuple(name_or_classes)
    if len(set(classes)) != len(classes) or not classes:
        raise ValueError(f"Class list must be non-empty and without duplicates: {classes!r}")
    return classes


def class_set_of(classes: list[str] | tuple[str, ...]) -> str:
    """The name of the known class set with exactly these codes, in this order."""
    for name, codes in CLASS_SETS.items():
        if list(codes) == list(classes):
            return name
    raise ValueError(
        f"the model's classes {list(classes)} are none of the known class sets "
        f"({', '.join(CLASS_SETS)}); cannot map the data's labels onto them"
    )
