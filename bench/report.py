"""What every benchmark shares: its command line as run, and its section of docs/benchmarks.md."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
DOCS_INTRO = (
    "# Benchmarks\n\nMeasured figures for DermaScan's model engine, training and analysis "
    "pipeline. Each section names the command that produced it.\n\n"
)


def command_without_notes(argv: list[str]) -> list[str]:
    """The command line as run, minus the free-text --notes (printed separately)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--notes":
            skip = True
        elif not arg.startswith("--notes="):
            kept.append(arg)
    return kept


def write_section(heading: str, section: str, docs: Path = DOCS) -> None:
    """Replace the ``heading`` section of the benchmarks page (or append it), keeping the rest."""
    docs.parent.mkdir(parents=True, exist_ok=True)
    text = docs.read_text() if docs.exists() else DOCS_INTRO
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + section
    docs.write_text(text.rstrip() + "\n")
