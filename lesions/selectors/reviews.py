"""Reads of reviews: a clinic's reviews, those of an analysis, how often reviewers agreed."""

from __future__ import annotations

from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
)

from lesions.models import (
    Analysis,
    Review,
    User,
)


def reviews_prefetch() -> Prefetch:
    """For analyses: their reviews newest (the current one) first, with what each shows
    (reviewer, and whether a later review replaced it) joined in."""
    return Prefetch(
        "reviews",
        queryset=Review.objects.select_related("reviewer", "superseded_by").order_by(
            "-created_at", "-pk"
        ),
    )


def reviews_of(analysis: Analysis) -> QuerySet[Review]:
    """Every review of the analysis, newest (the current one) first."""
    return analysis.reviews.select_related("reviewer", "supersedes", "superseded_by").order_by(
        "-created_at", "-pk"
    )


def reviews_for(user: User) -> QuerySet[Review]:
    return Review.objects.visible_to(user).select_related(
        "reviewer", "superseded_by", "analysis__image__lesion__patient"
    )


def review_agreement(reviews: QuerySet[Review] | None = None) -> dict[str, list[dict]]:
    """How often reviewers agreed with the model, per model version and per predicted class.

    ``reviews`` limits what is counted (the admin passes the reviews its user may see).
    Only current reviews count (a superseded review was a reading later corrected).
    """
    from classifier.labels import display_name

    current = (Review.objects.all() if reviews is None else reviews).current()

    def rows(group_by: list[str]) -> list[dict]:
        grouped = (
            current.values(*group_by)
            .annotate(reviews=Count("pk"), agreed=Count("pk", filter=Q(agrees_with_model=True)))
            .order_by(*group_by)
        )
        return [{**row, "rate": row["agreed"] / row["reviews"]} for row in grouped]

    by_model = rows(["analysis__model_version__number", "analysis__model_id"])
    for row in by_model:
        number = row["analysis__model_version__number"]
        row["model"] = (
            f"v{number} {row['analysis__model_id']}"
            if number
            else (f"{row['analysis__model_id']} (default)")
        )
    by_class = rows(["analysis__top_class"])
    for row in by_class:
        row["class_name"] = display_name(row["analysis__top_class"])
    return {"by_model": by_model, "by_class": by_class}
