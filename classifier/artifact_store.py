"""Model artifacts in the model store (``STORAGES["models"]``) and each machine's local copy.

Registering a version uploads its files; a machine that serves it downloads them once into
``DERMASCAN_MODEL_CACHE``, checks every file against the manifest recorded at registration
and only then renames the folder into place, so a half-downloaded or altered copy is never
loaded. The cache keeps ``DERMASCAN_MODEL_CACHE_KEEP`` copies: after each download the least
recently used others are evicted, never one in use. Deleting a version deletes its objects
from the store. File management only: what the files mean is ``classifier.artifact``'s
business.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils.text import slugify

from classifier.artifact import sha256_of
from classifier.errors import ArtifactError
from classifier.model_card import CARD_FILE, WEIGHTS_FILE

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "models"
CHUNK = 1 << 20

# Local copies whose card and weights were hashed by this process, with the (mtime, size)
# stamps they had then: the check on reuse costs two stat calls per task after the first.
_verified: dict[Path, tuple] = {}

# A copy's folder mtime says when a process on this machine last used it: each process marks
# the copies it serves at most once a MARK_INTERVAL, and no copy marked within IN_USE_SECONDS
# is evicted (a process may be loading it), so a served copy is never taken away.
MARK_INTERVAL = 60.0
IN_USE_SECONDS = 600.0
_marked: dict[Path, float] = {}  # copy -> time.monotonic() this process last marked it


def model_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def new_store_path(name: str, weights_sha256: str) -> str:
    """A prefix no other registration uses (the random part: two attempts never share one)."""
    return f"models/{slugify(name) or 'model'}-{weights_sha256[:12]}-{secrets.token_hex(4)}"


def manifest_of(directory: Path) -> dict[str, dict]:
    """{relative file name: {"sha256", "size"}} of every file of the artifact directory.

    Hidden files are left out: they are the temporary files of an interrupted write.
    """
    directory = Path(directory)
    manifest = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            manifest[relative.as_posix()] = {"sha256": sha256_of(path), "size": path.stat().st_size}
    return manifest


def upload_artifact(directory: Path, store_path: str) -> dict[str, dict]:
    """Store every file of ``directory`` under ``store_path``; returns the manifest.

    card.json goes last, so a listing that has it has everything. On any failure the objects
    stored so far are deleted (best effort) and ArtifactError is raised.
    """
    directory = Path(directory)
    storage = model_storage()
    manifest = manifest_of(directory)
    if CARD_FILE not in manifest or WEIGHTS_FILE not in manifest:
        raise ArtifactError(f"{directory} lacks {CARD_FILE} or {WEIGHTS_FILE}")
    saved: list[str] = []  # to delete on failure, with a half-written object (``saving``)
    saving = None
    try:
        for name in sorted(manifest, key=lambda n: (n == CARD_FILE, n)):
            key = saving = f"{store_path}/{name}"
            with open(directory / name, "rb") as handle:
                saved.append(storage.save(key, File(handle, name=name)))
            saving = None
            if saved[-1] != key:  # the store kept an older object there and renamed ours
                raise ArtifactError(f"the model store already holds {key}")
            if sha256_of(directory / name) != manifest[name]["sha256"]:  # rewritten meanwhile
                raise ArtifactError(f"{directory / name} changed while it was being stored")
    except Exception as exc:
        delete_stored(saved + ([saving] if saving else []))
        if isinstance(exc, ArtifactError):
            raise
        raise ArtifactError(f"cannot store {directory} in the model store: {exc}") from exc
    return manifest


def delete_stored(keys: list[str]) -> None:
    """Delete objects from the model store; what cannot be deleted is logged, not raised."""
    storage = model_storage()
    for key in keys:
        try:
            storage.delete(key)  # no error for a missing key (Storage.delete's contract)
        except Exception as exc:  # cleanup after another failure: that one is what matters
            logger.warning("could not delete %s from the model store: %s", key, exc)


def local_copy(
    store_path: str,
    manifest: dict[str, dict],
    *,
    protect: Callable[[], Iterable[str]] = tuple,
) -> Path:
    """The stored artifact as a local directory: reused when intact, else downloaded.

    After a download, copies beyond ``DERMASCAN_MODEL_CACHE_KEEP`` are evicted (see
    ``prune_cache``); ``protect`` names the store paths of other copies to keep whatever their
    age (the served version's), asked only then.
    """
    root = Path(settings.DERMASCAN_MODEL_CACHE)
    target = root / PurePosixPath(store_path).name
    if _marked_lately(target) and _intact(target, manifest):
        return target  # the common case, every task: two stat calls
    lock = root / f".{target.name}.lock"
    try:
        root.mkdir(parents=True, exist_ok=True)
        # Shared: many processes may check and mark a copy at once, but none while it is
        # downloaded or evicted (both hold the lock exclusively).
        with _locked(lock, shared=True):
            if _intact(target, manifest):
                _mark_used(target)
                return target
        with _locked(lock):  # one download per machine, not per process
            if _intact(target, manifest):
                _mark_used(target)
                return target
            for suffix in ("partial", "old"):  # left by a process that was killed
                for stale in root.glob(f".{target.name}.*.{suffix}"):
                    shutil.rmtree(stale, ignore_errors=True)
            if target.exists():
                logger.warning("%s does not match its manifest; downloading it again", target)
                _remove(target)
            _download(store_path, manifest, target)
            _mark_used(target)
    except OSError as exc:
        raise ArtifactError(f"cannot keep a copy of the model in {root}: {exc}") from exc
    try:
        kept = {target.name, *(PurePosixPath(path).name for path in protect())}
        prune_cache(keep=settings.DERMASCAN_MODEL_CACHE_KEEP, protect=kept)
    except Exception as exc:  # the download succeeded; a full cache is no reason to fail it
        logger.warning("could not prune the model cache %s: %s", root, exc)
    return target


def prune_cache(*, keep: int, protect: Iterable[str] = ()) -> list[Path]:
    """Evict the least recently used copies beyond ``keep`` (0: keep every copy).

    Copies named in ``protect`` stay and count towards ``keep``; so does any copy that a
    process on this machine used within IN_USE_SECONDS or holds locked now. Returns the
    evicted copies.
    """
    root = Path(settings.DERMASCAN_MODEL_CACHE)
    if keep <= 0 or not root.is_dir():
        return []
    for doomed in root.glob(".*.old"):  # moved aside by a process killed while deleting it
        shutil.rmtree(doomed, ignore_errors=True)
    protect = set(protect)
    copies = sorted(
        (path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=_last_used,
        reverse=True,
    )
    room = keep - sum(1 for copy in copies if copy.name in protect)
    candidates = [copy for copy in copies if copy.name not in protect]
    evicted = []
    for copy in candidates[max(room, 0) :]:
        if _evict(copy):
            evicted.append(copy)
    if evicted:
        logger.info("model cache %s: evicted %s", root, ", ".join(p.name for p in evicted))
    return evicted


def forget_local_copy(store_path: str) -> None:
    """Delete this machine's copy of a stored artifact (its version was deleted)."""
    target = Path(settings.DERMASCAN_MODEL_CACHE) / PurePosixPath(store_path).name
    if target.exists():
        lock = target.parent / f".{target.name}.lock"
        with _locked(lock):
            if target.exists():
                _remove(target)
            lock.unlink(missing_ok=True)  # as in _evict
    _marked.pop(target, None)


def _evict(copy: Path) -> bool:
    lock = copy.parent / f".{copy.name}.lock"
    with _locked(lock, wait=False) as held:
        if not held:  # being downloaded or checked right now: in use
            return False
        if time.time() - _last_used(copy) < IN_USE_SECONDS:
            return False
        _remove(copy)
        _marked.pop(copy, None)
        # Deleted while held: a process waiting on it locks the file at the path anew.
        lock.unlink(missing_ok=True)
    return True


def _last_used(copy: Path) -> float:
    try:
        return copy.stat().st_mtime
    except OSError:
        return 0.0


def _marked_lately(target: Path) -> bool:
    marked = _marked.get(target)
    return marked is not None and time.monotonic() - marked < MARK_INTERVAL


def _mark_used(target: Path) -> None:
    try:
        os.utime(target)
    except OSError as exc:  # a copy another user's process downloaded: its age stays
        logger.debug("cannot mark %s used: %s", target, exc)
    _marked[target] = time.monotonic()


def delete_artifact(store_path: str, manifest: dict[str, dict]) -> None:
    """Delete a version's objects from the model store: its manifest's files and anything
    else under its prefix (best effort: what cannot be deleted is logged)."""
    keys = {f"{store_path}/{name}" for name in manifest}
    try:
        keys |= set(_stored_under(model_storage(), store_path))
    except FileNotFoundError:  # a folder store without the prefix: nothing more to find
        pass
    except Exception as exc:  # the listing is a sweep for strays; the manifest is the record
        logger.warning("could not list %s in the model store: %s", store_path, exc)
    delete_stored(sorted(keys))
    _remove_empty_folders(model_storage(), store_path)


def _stored_under(storage: Storage, prefix: str) -> Iterator[str]:
    directories, files = storage.listdir(prefix)
    for name in files:
        yield f"{prefix}/{name}"
    for directory in directories:
        yield from _stored_under(storage, f"{prefix}/{directory}")


def _remove_empty_folders(storage: Storage, prefix: str) -> None:
    """A folder store keeps the emptied folders of a prefix; object stores have none."""
    try:
        top = Path(storage.path(prefix))
    except NotImplementedError:
        return
    if not top.is_dir():
        return
    for folder in sorted((p for p in top.rglob("*") if p.is_dir()), reverse=True) + [top]:
        with suppress(OSError):  # not empty: something was left, and delete_stored said what
            folder.rmdir()


def _download(store_path: str, manifest: dict[str, dict], target: Path) -> None:
    partial = _scratch_dir(target, ".partial")
    try:
        storage = model_storage()
        for name, entry in manifest.items():
            _download_file(storage, f"{store_path}/{name}", partial / _safe_name(name), entry)
        # mkdtemp makes 0700; the web and worker processes may run as other users.
        os.chmod(partial, 0o755)  # noqa: S103 (read-only for others, like the artifact's files)
        os.rename(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # gone already when the rename succeeded
    logger.info("model %s downloaded from the model store to %s", store_path, target)


def _download_file(storage: Storage, key: str, destination: Path, entry: dict) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    try:
        with storage.open(key, "rb") as source, open(destination, "wb") as out:
            for chunk in iter(lambda: source.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except FileNotFoundError:
        raise ArtifactError(f"{key} is missing from the model store") from None
    except Exception as exc:  # each storage backend raises its own errors
        raise ArtifactError(f"cannot download {key} from the model store: {exc}") from exc
    if digest.hexdigest() != entry["sha256"]:
        raise ArtifactError(
            f"{key} in the model store is corrupt or was replaced: sha256 "
            f"{digest.hexdigest()[:12]}… does not match the registered {entry['sha256'][:12]}…"
        )


def _intact(directory: Path, manifest: dict[str, dict]) -> bool:
    """Card and weights match the manifest (the weights' sha256 is checked again on load)."""
    try:
        stamp = tuple(
            (s.st_mtime_ns, s.st_size)
            for s in ((directory / name).stat() for name in (CARD_FILE, WEIGHTS_FILE))
        )
    except OSError:
        return False
    if _verified.get(directory) == stamp:
        return True
    for name in (CARD_FILE, WEIGHTS_FILE):
        entry = manifest.get(name) or {}
        try:
            intact = sha256_of(directory / name) == entry.get("sha256")
        except OSError:
            intact = False
        if not intact:
            _verified.pop(directory, None)
            return False
    _verified[directory] = stamp
    return True


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ArtifactError(f"the manifest names a file outside the artifact: {name!r}")
    return path


def _remove(directory: Path) -> None:
    """Move aside first: a process that lists the folder never sees it half deleted."""
    doomed = _scratch_dir(directory, ".old")
    os.rename(directory, doomed / directory.name)
    shutil.rmtree(doomed, ignore_errors=True)
    _verified.pop(directory, None)


def _scratch_dir(beside: Path, suffix: str) -> Path:
    """A new hidden folder next to ``beside`` (same file system: renames are atomic)."""
    return Path(tempfile.mkdtemp(prefix=f".{beside.name}.", suffix=suffix, dir=beside.parent))


@contextmanager
def _locked(lock_path: Path, *, shared: bool = False, wait: bool = True) -> Iterator[bool]:
    """flock ``lock_path``; yields whether it is held (False only with ``wait=False``).

    An eviction deletes a copy's lock file while holding it: a process that was waiting on
    the deleted file would hold a lock no other process sees, so it locks the file at the
    path anew.
    """
    mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if wait else fcntl.LOCK_NB)
    while True:
        with open(lock_path, "a") as handle:
            try:
                fcntl.flock(handle, mode)
            except BlockingIOError:
                yield False
                return
            if not _is_file_at(handle, lock_path):
                continue  # closing the handle releases the lock on the deleted file
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
            return


def _is_file_at(handle, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False
