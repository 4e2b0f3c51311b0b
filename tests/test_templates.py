"""Template hygiene that the template engine does not check itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = sorted((Path(__file__).resolve().parents[1] / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_no_multi_line_short_comment(template):
    # Django's {# #} comment ends at the line: a multi-line one is printed on the page.
    for match in re.finditer(r"\{#(.*?)#\}", template.read_text(), re.S):
        assert "\n" not in match.group(1), f"{template}: use {{% comment %}} for several lines"
