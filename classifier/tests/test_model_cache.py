"""Each machine's model cache is bounded: after a download, the least recently used copies
beyond DERMASCAN_MODEL_CACHE_KEEP are evicted, never the served version's nor one in use.

"Used an hour ago" is a copy's folder mtime set back, as a process that last used it then
would have left it; "in use" is a lock held on it, as a process checking it holds one."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

import pytest

from classifier import artifact_store
from classifier.models import ModelVersion
from classifier.registry import version_directory
from classifier.services import activate_model_version, register_model_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(store, untrained_artifact) -> list[ModelVersion]:
    return [
        register_model_version(artifact_dir=untrained_artifact, name=f"v{n}") for n in range(1, 5)
    ]


@pytest.fixture
def cache(settings, another_machine) -> Path:
    """A worker machine's empty cache; this process has marked nothing yet."""
    artifact_store._marked.clear()
    return another_machine()


def copies(cache: Path) -> set[str]:
    return {p.name for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")}


def name_of(version: ModelVersion) -> str:
    return Path(version.store_path).name


def last_used(directory: Path, *, hours_ago: float) -> None:
    """As if the copy was last used that long ago (by any process on the machine)."""
    then = time.time() - hours_ago * 3600
    os.utime(directory, (then, then))
    artifact_store._marked.pop(directory, None)


def test_the_cache_keeps_the_most_recently_used_copies(settings, versions, cache):
    settings.DERMASCAN_MODEL_CACHE_KEEP = 2
    v1, v2, v3, v4 = versions
    first, second = version_directory(v1), version_directory(v2)
    last_used(first, hours_ago=3)
    last_used(second, hours_ago=2)

    third = version_directory(v3)  # a third copy: the least recently used one goes
    assert copies(cache) == {name_of(v2), name_of(v3)}
    assert not (cache / f".{name_of(v1)}.lock").exists()  # nothing of it is left behind

    last_used(third, hours_ago=1)
    last_used(second, hours_ago=4)
    version_directory(v2)  # used again now: v3 is now the least recently used
    version_directory(v4)
    assert copies(cache) == {name_of(v2), name_of(v4)}

    # An evicted version is downloaded again, whole and checked, when it is needed.
    last_used(cache / name_of(v2), hours_ago=2)
    last_used(cache / name_of(v4), hours_ago=1)
    again = version_directory(v1)
    for name, entry in v1.manifest.items():
        assert artifact_store.sha256_of(again / name) == entry["sha256"]
    assert copies(cache) == {name_of(v4), name_of(v1)}


def test_a_copy_used_lately_is_not_evicted(settings, versions, cache):
    """Another process may be loading it: the cache runs over its bound until it is idle."""
    settings.DERMASCAN_MODEL_CACHE_KEEP = 1
    v1, v2, v3, _ = versions
    version_directory(v1)
    version_directory(v2)
    assert copies(cache) == {name_of(v1), name_of(v2)}

    last_used(cache / name_of(v1), hours_ago=1)
    last_used(cache / name_of(v2), hours_ago=1)
    version_directory(v3)
    assert copies(cache) == {name_of(v3)}


def test_a_copy_locked_by_another_process_is_not_evicted(settings, versions, cache):
    settings.DERMASCAN_MODEL_CACHE_KEEP = 1
    v1, v2, _, _ = versions
    last_used(version_directory(v1), hours_ago=1)
    with open(cache / f".{name_of(v1)}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # as a process checking the copy holds it
        version_directory(v2)
        assert copies(cache) == {name_of(v1), name_of(v2)}
    assert artifact_store.prune_cache(keep=1, protect={name_of(v2)}) == [cache / name_of(v1)]
    assert copies(cache) == {name_of(v2)}


def test_the_served_version_is_never_evicted_for_another(settings, versions, cache):
    """The web machine shows an old version's page: the active version's copy stays."""
    settings.DERMASCAN_MODEL_CACHE_KEEP = 1
    v1, v2, v3, _ = versions
    activate_model_version(version=v1)
    last_used(cache / name_of(v1), hours_ago=5)
    last_used(version_directory(v2), hours_ago=1)

    version_directory(v3)
    assert copies(cache) == {name_of(v1), name_of(v3)}


def test_keep_zero_keeps_every_copy(settings, versions, cache):
    settings.DERMASCAN_MODEL_CACHE_KEEP = 0
    for version in versions:
        last_used(version_directory(version), hours_ago=1)
    assert copies(cache) == {name_of(v) for v in versions}


def test_a_process_waiting_on_an_evicted_lock_file_takes_the_new_one(tmp_path):
    """Eviction deletes a copy's lock file while holding it. A process that was waiting on
    the old file must not think it holds the lock while another holds the new file."""
    lock = tmp_path / ".copy.lock"
    events: list[str] = []
    with artifact_store._locked(lock):
        waiter = threading.Thread(target=lambda: _take(lock, events))
        waiter.start()
        time.sleep(0.3)  # the waiter is blocked on the old file
        lock.unlink()
        newcomer = open(lock, "a")  # noqa: SIM115 (held across the release below)
        fcntl.flock(newcomer, fcntl.LOCK_EX)
    time.sleep(0.3)  # the old file is released: the waiter wakes, sees it deleted, waits again
    events.append("newcomer releases")
    fcntl.flock(newcomer, fcntl.LOCK_UN)
    newcomer.close()
    waiter.join(timeout=10)
    assert events == ["newcomer releases", "waiter holds"]


def _take(lock: Path, events: list[str]) -> None:
    with artifact_store._locked(lock):
        events.append("waiter holds")
