"""Writes to the model registry: register (store) an artifact, activate, delete a version."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from classifier import artifact_store
from classifier.artifact import read_card, sha256_of
from classifier.errors import ArtifactError
from classifier.model_card import WEIGHTS_FILE
from classifier.models import ModelVersion
from classifier.registry import version_directory


def _stored_path(directory: Path) -> str:
    """Inside the project: relative (the checkout can move); elsewhere: absolute."""
    directory = Path(directory).resolve()
    base = Path(settings.BASE_DIR).resolve()
    try:
        return str(directory.relative_to(base))
    except ValueError:
        return str(directory)


def _strict_json(value):
    """NaN/Infinity are not JSON (PostgreSQL's jsonb refuses them): store them as null."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def verify_artifact(directory: Path) -> dict:
    """card.json as a dict, after checking that the weights match its sha256."""
    try:
        card = read_card(Path(directory))
    except ArtifactError as exc:
        raise ValidationError(str(exc)) from None
    weights = Path(directory) / WEIGHTS_FILE
    if not weights.is_file():
        raise ValidationError(f"model artifact {directory} has no {WEIGHTS_FILE}")
    if sha256_of(weights) != card.weights_sha256:
        raise ValidationError(f"{weights} does not match the sha256 recorded in its card")
    return card.to_dict()


def register_model_version(
    *, artifact_dir: Path, name: str = "", activate: bool = False, activated_by=None
) -> ModelVersion:
    """Store an artifact in the model store and record it as the next version number.

    Every machine loads the version from the store (registry.version_directory), so it does
    not matter where it was trained. Optionally it becomes the active version. If storing
    fails, no version is recorded and what was stored is deleted again.
    """
    card = verify_artifact(artifact_dir)
    name = name or card.get("model_id") or Path(artifact_dir).name
    if ModelVersion.objects.filter(name=name).exists():  # before a long upload, not after
        raise ValidationError({"name": f"a model version named {name!r} exists"})
    store_path = artifact_store.new_store_path(name, card["weights_sha256"])
    try:
        manifest = artifact_store.upload_artifact(Path(artifact_dir), store_path)
    except ArtifactError as exc:
        raise ValidationError(f"the model artifact could not be stored: {exc}") from None
    try:
        version = _record_version(
            card=card,
            name=name,
            artifact_path=_stored_path(artifact_dir),
            store_path=store_path,
            manifest=manifest,
        )
    except BaseException:
        artifact_store.delete_stored([f"{store_path}/{file}" for file in manifest])
        raise
    if activate:
        version = activate_model_version(version=version, activated_by=activated_by)
    return version


def _record_version(*, card: dict, name: str, **stored) -> ModelVersion:
    for _attempt in range(3):  # two registrations at once: the loser takes the next number
        try:
            with transaction.atomic():
                number = (ModelVersion.objects.aggregate(top=Max("number"))["top"] or 0) + 1
                version = ModelVersion(
                    number=number,
                    name=name,
                    arch=card["arch"],
                    classes=list(card["classes"]),
                    metrics=_strict_json(card.get("metrics") or {}),
                    card=_strict_json(card),
                    sha256=card["weights_sha256"],
                    **stored,
                )
                version.full_clean()
                version.save()
            return version
        except IntegrityError:
            if ModelVersion.objects.filter(name=name).exists():
                raise ValidationError({"name": f"a model version named {name!r} exists"}) from None
    raise ValidationError("could not allocate a version number; try again")


# Checks other apps add from their AppConfig.ready() (monitoring's retraining guard): each is
# called as guard(version=, activated_by=) and refuses an activation with a ValidationError.
# The engine cannot import those apps; they register here instead.
ACTIVATION_GUARDS: list[Callable[..., None]] = []


def register_activation_guard(guard: Callable[..., None]) -> None:
    if guard not in ACTIVATION_GUARDS:
        ACTIVATION_GUARDS.append(guard)


def activate_model_version(*, version: ModelVersion, activated_by=None) -> ModelVersion:
    """Make ``version`` the one the workers serve; every other version is deactivated.

    Every registered activation guard is asked first (``ACTIVATION_GUARDS``).

    The rows are locked so that two activations at once serialise and exactly one
    version ends up active. The artifact is verified first (a stored version is fetched
    to this machine and every file checked): activating a version whose files are gone
    or altered would break every analysis after it.
    """
    for guard in ACTIVATION_GUARDS:
        guard(version=version, activated_by=activated_by)
    try:
        directory = version_directory(version)
    except ArtifactError as exc:
        raise ValidationError(str(exc)) from None
    verify_artifact(directory)
    with transaction.atomic():
        locked = list(ModelVersion.objects.select_for_update().order_by("pk"))
        target = next((v for v in locked if v.pk == version.pk), None)
        if target is None:
            raise ValidationError(f"model version {version.pk} no longer exists")
        for other in locked:
            if other.is_active and other.pk != target.pk:
                other.is_active = False
                other.save(update_fields=["is_active"])
        target.is_active = True
        target.activated_at = timezone.now()
        target.activated_by = activated_by
        target.full_clean()
        target.save(update_fields=["is_active", "activated_at", "activated_by"])
    return target


def deactivate_model_versions() -> int:
    """No version active: the workers fall back to the default model. Returns how many changed."""
    with transaction.atomic():
        return (
            ModelVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
        )


def delete_model_version(*, version: ModelVersion) -> None:
    """Delete a version that is not served, and once that has committed, its objects in the
    model store and this machine's copy (other machines' copies age out of their caches).

    Refused (ValidationError) for the active version, and for one that analyses were made
    with: it stays as their record.
    """
    with transaction.atomic():
        # Locked like activate_model_version's rows: an activation waits, then finds it gone.
        locked = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        if locked is None:
            raise ValidationError(f"model version {version.pk} no longer exists")
        if locked.is_active:
            raise ValidationError(
                f"{locked} is being served: activate another version (or deactivate it) first"
            )
        try:
            with transaction.atomic():
                locked.delete()
        except ProtectedError as exc:
            made = len(exc.protected_objects)
            raise ValidationError(
                f"{made} {'analysis was' if made == 1 else 'analyses were'} made with {locked}: "
                "it stays as their record"
            ) from None
        if locked.is_stored:
            store_path, manifest = locked.store_path, locked.manifest
            transaction.on_commit(lambda: _delete_stored_version(store_path, manifest))


def _delete_stored_version(store_path: str, manifest: dict) -> None:
    artifact_store.delete_artifact(store_path, manifest)
    artifact_store.forget_local_copy(store_path)
