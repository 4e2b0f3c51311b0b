"""Cleaning of short identifying text (names, record numbers) before it is stored."""

from __future__ import annotations

import unicodedata


def clean_name(value: str) -> str:
    """``value`` in NFC without invisible format characters, trimmed, runs of spaces joined.

    Format characters (Unicode category Cf: the bidirectional overrides and isolates such as
    U+202E, zero-width spaces and joiners, the byte-order mark, soft hyphens) let two names
    that look the same differ, or make a name display reversed. Control characters (Cc,
    e.g. a newline or tab) have no place in a one-line name either.
    """
    normalized = unicodedata.normalize("NFC", value)
    visible = "".join(
        " " if char.isspace() else char
        for char in normalized
        if unicodedata.category(char) not in ("Cf", "Cc") or char.isspace()
    )
    return " ".join(visible.split())
