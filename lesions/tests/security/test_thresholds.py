"""A low finding: the risk thresholds in ``recommended_action``, ``/api/v1/model/`` and the
README disagreed (10 % vs 14.6 %; t_mel and t_mal not exposed). The served card is the one
source now."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from classifier.artifact import read_card
from classifier.operating_point import OperatingPoint, as_percent
from classifier.risk import assess_result

pytestmark = pytest.mark.django_db
README = Path(settings.BASE_DIR) / "README.md"


def served_point() -> OperatingPoint:
    return OperatingPoint.from_card(read_card(settings.DERMASCAN_DEFAULT_MODEL).operating_point)


def test_the_model_endpoint_answers_the_cards_thresholds(api):
    point = served_point()
    thresholds = api.get(reverse("api:model")).json()["thresholds"]
    assert thresholds["t_mel"] == point.t_mel and thresholds["t_mal"] == point.t_mal
    assert thresholds["chosen_on"] == "val" and "confidence_threshold" in thresholds["uncertainty"]


def test_the_recommended_action_quotes_the_same_threshold():
    point = served_point()
    high = assess_result({"mel": 0.9, "nv": 0.1}, label="mel", operating_point=point)
    assert f"High threshold ({as_percent(point.t_mel)})" in high.action
    moderate = assess_result(
        {"mel": point.t_mel / 2, "bcc": point.t_mal, "nv": 0.9}, label="nv", operating_point=point
    )
    assert f"Moderate threshold ({as_percent(point.t_mal)})" in moderate.action


def test_the_readme_quotes_the_committed_cards_thresholds():
    point, text = served_point(), README.read_text()
    assert f"**{as_percent(point.t_mel)}** (`t_mel`)" in text
    assert f"**{as_percent(point.t_mal)}**\n  (`t_mal`)" in text
