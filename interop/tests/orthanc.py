"""A real Orthanc PACS (Debian's ``orthanc`` + ``orthanc-dicomweb``) for the tests.

Started on free loopback ports with a throwaway storage folder and a generated JSON
configuration, in its own process group (lesions.tests.workers), waited for on the common
deadline, and always stopped by the fixture that started it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from lesions.tests.workers import (
    PROCESS_DEADLINE,
    free_port,
    start_process_group,
    stop_process_group,
    wait_until,
)

ORTHANC = shutil.which("Orthanc") or (
    "/usr/sbin/Orthanc" if Path("/usr/sbin/Orthanc").exists() else None
)
PLUGIN_DIRS = ("/usr/share/orthanc/plugins", "/usr/lib/orthanc")


def dicomweb_plugin() -> str | None:
    for folder in PLUGIN_DIRS:
        found = sorted(Path(folder).glob("libOrthancDicomWeb.so*"))
        if found:
            return str(found[0])
    return None


def requires_orthanc() -> pytest.MarkDecorator:
    """Skipped where Orthanc is not installed; in CI (.ci/run installs it) the test runs and
    fails instead, so a missing PACS is never a silent skip."""
    missing = ORTHANC is None or dicomweb_plugin() is None
    return pytest.mark.skipif(
        missing and not os.environ.get("CI"),
        reason="orthanc and orthanc-dicomweb are not installed (apt-get install both)",
    )


class OrthancServer:
    def __init__(self, directory: Path, *, users: dict[str, str] | None = None) -> None:
        self.directory = directory
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.users = users or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def config(self) -> dict:
        return {
            "Name": "DermaScanTestPACS",
            "StorageDirectory": str(self.directory / "storage"),
            "IndexDirectory": str(self.directory / "storage"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,  # loopback only
            "AuthenticationEnabled": bool(self.users),
            "RegisteredUsers": self.users,
            "Plugins": [dicomweb_plugin()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
            "SaveJobs": False,
            "HttpTimeout": 30,
        }

    def start(self) -> None:
        config = self.directory / "orthanc.json"
        config.write_text(json.dumps(self.config()))
        log = (self.directory / "orthanc.log").open("ab")
        self.process = start_process_group(
            [ORTHANC, str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until(self.answers, timeout=PROCESS_DEADLINE, interval=0.2)
        except BaseException:
            self.stop()
            raise

    def answers(self) -> bool:
        """Orthanc answers its REST API"""
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"Orthanc exited:\n{(self.directory / 'orthanc.log').read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/system", auth=self.auth, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def auth(self) -> tuple[str, str] | None:
        return next(iter(self.users.items())) if self.users else None

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", auth=self.auth, timeout=30)

    def post(self, path: str, body: str) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", content=body, auth=self.auth, timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None
