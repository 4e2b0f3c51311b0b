"""Deleting a model version (service and admin) deletes its files from the model store and
this machine's cache; the served version cannot be deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from classifier.models import ModelVersion
from classifier.registry import version_directory
from classifier.services import (
    activate_model_version,
    delete_model_version,
    register_model_version,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(store, untrained_artifact) -> list[ModelVersion]:
    return [register_model_version(artifact_dir=untrained_artifact, name=n) for n in ("a", "b")]


@pytest.fixture
def admin_client(django_user_model) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.org"))
    return client


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_deleting_a_version_deletes_its_files_from_the_store_and_the_cache(
    store, versions, settings, django_capture_on_commit_callbacks
):
    doomed, kept = versions
    copy = version_directory(doomed)
    kept_files = files_under(store / kept.store_path)

    with django_capture_on_commit_callbacks(execute=True):
        delete_model_version(version=doomed)

    assert not ModelVersion.objects.filter(pk=doomed.pk).exists()
    assert not (store / doomed.store_path).exists()  # its files and its folder
    assert not copy.exists()
    assert [p.name for p in copy.parent.iterdir()] == []  # nor its lock file
    assert files_under(store / kept.store_path) == kept_files
    assert sorted(p.parent.name for p in files_under(store)) == [Path(kept.store_path).name] * len(
        kept_files
    )


def test_files_stay_until_the_deletion_commits(store, versions, django_capture_on_commit_callbacks):
    doomed, _ = versions
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delete_model_version(version=doomed)
    assert len(files_under(store / doomed.store_path)) == len(doomed.manifest)
    callbacks[0]()
    assert files_under(store / doomed.store_path) == []


def test_the_active_version_cannot_be_deleted(store, versions, django_capture_on_commit_callbacks):
    active, _ = versions
    activate_model_version(version=active)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError, match="is being served"),
    ):
        delete_model_version(version=active)
    assert ModelVersion.objects.filter(pk=active.pk).exists()
    assert len(files_under(store / active.store_path)) == len(active.manifest)


def test_stray_files_under_the_prefix_are_deleted_too(
    store, versions, django_capture_on_commit_callbacks
):
    """E.g. left by an upload that failed and could not clean up after itself."""
    doomed, _ = versions
    stray = store / doomed.store_path / "figures" / "old.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"png")
    with django_capture_on_commit_callbacks(execute=True):
        delete_model_version(version=doomed)
    assert not (store / doomed.store_path).exists()


def test_the_admin_deletes_a_version_with_its_files(
    admin_client, store, versions, django_capture_on_commit_callbacks
):
    doomed, kept = versions
    url = reverse("admin:classifier_modelversion_delete", args=[doomed.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not ModelVersion.objects.filter(pk=doomed.pk).exists()
    assert files_under(store / doomed.store_path) == []
    assert len(files_under(store / kept.store_path)) == len(kept.manifest)


def test_the_admin_bulk_delete_prunes_each_version(
    admin_client, store, versions, django_capture_on_commit_callbacks
):
    url = reverse("admin:classifier_modelversion_changelist")
    selected = [str(v.pk) for v in versions]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            url, {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
        )
    assert not ModelVersion.objects.exists()
    assert files_under(store) == []


def test_the_admin_refuses_to_delete_the_active_version(admin_client, store, versions):
    active, _ = versions
    activate_model_version(version=active)
    url = reverse("admin:classifier_modelversion_delete", args=[active.pk])
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:classifier_modelversion_changelist")
    response = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [str(active.pk)], "post": "yes"},
    )
    assert response.status_code == 403
    assert ModelVersion.objects.filter(pk=active.pk).exists()
    assert len(files_under(store / active.store_path)) == len(active.manifest)
