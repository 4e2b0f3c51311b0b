"""The worker harness stops every process it started, children included, whatever happens."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from lesions.tests import workers


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(group: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not group_alive(group)


def start_family() -> subprocess.Popen:
    """A parent with a child that ignores SIGTERM (like a stuck pool process)."""
    return workers.start_process_group(
        ["sh", "-c", "trap '' TERM; (trap '' TERM; sleep 300) & sleep 300 & wait"]
    )


def test_stopping_a_group_kills_its_children_too():
    process = start_family()
    time.sleep(0.3)
    workers.stop_process_group(process)
    assert wait_gone(process.pid), "a process of the group survived"
    assert process.pid not in workers._running_groups


def test_groups_left_running_are_killed_when_the_test_process_exits():
    process = start_family()
    time.sleep(0.3)
    assert process.pid in workers._running_groups
    workers._stop_leftover_groups()  # what atexit runs
    process.wait(timeout=10)  # reap the leader (a zombie still counts as a group member)
    assert wait_gone(process.pid)


def test_a_stack_stops_its_processes_when_one_fails_to_stop(tmp_path, monkeypatch):
    stack = workers.WorkerStack(
        broker_url="redis://127.0.0.1:1/0",
        media_root=tmp_path,
        model_dir=tmp_path,
        log_dir=tmp_path,
    )
    first, second = (
        workers.CeleryProcess(["--version"], env={}, log_path=tmp_path / f"{n}.log") for n in (1, 2)
    )
    first.process, second.process = start_family(), start_family()
    groups = [first.process.pid, second.process.pid]
    stack.processes += [first, second]

    def broken_stop():
        raise OSError("stop failed")

    monkeypatch.setattr(first, "stop", broken_stop)
    stack.stop_all()
    assert all(wait_gone(group) for group in groups)


@pytest.fixture(autouse=True)
def no_leftovers(monkeypatch):
    monkeypatch.setattr(workers, "STOP_GRACE_SECONDS", 1.0)  # the families ignore SIGTERM
    yield
    for group in list(workers._running_groups):
        os.killpg(group, signal.SIGKILL)
