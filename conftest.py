"""Fixtures for every test directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture(scope="session", autouse=True)
def model_store(tmp_path_factory) -> Iterator[Path]:
    """Registered model versions go to a temporary model store and cache, never into var/."""
    root = tmp_path_factory.mktemp("models")
    store = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root / "store")},
    }
    with override_settings(
        STORAGES={**settings.STORAGES, "models": store}, DERMASCAN_MODEL_CACHE=root / "cache"
    ):
        yield root / "store"


@pytest.fixture(scope="session", autouse=True)
def fresh_cache() -> None:
    """A new test database reuses record ids: no cached figure (the worklist counts are cached
    per clinic id) of an earlier run may answer for this one."""
    from django.core.cache import cache

    cache.clear()
