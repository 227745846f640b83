"""A real Ray head on 127.0.0.1 for the Ray backend's tests: `ray start --head` with two CPUs,
its dashboard (the Jobs API) on a free port, its own temp dir, stopped with `ray stop` after.

Tests skip where Ray is not installed (`pip install 'tac[ray]'`; `make test` installs it).
The head is started from the tests' environment (TAC_CACHE_DIR included), which Ray jobs inherit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sshd_fixture import free_port


@dataclass
class RayHead:
    address: str  # the dashboard: what the Jobs API client connects to
    temp_dir: Path

    def client(self):
        from ray.job_submission import JobSubmissionClient

        return JobSubmissionClient(self.address)


def _ray() -> str:
    return str(Path(sys.executable).with_name("ray"))


def start_ray_head(cpus: int = 2) -> RayHead:
    temp_dir = Path(tempfile.mkdtemp(prefix="tac-ray-", dir="/tmp"))  # short: socket paths
    port = free_port()
    argv = [_ray(), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={free_port()}",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={port}", f"--num-cpus={cpus}",
            "--num-gpus=0", "--include-dashboard=true", "--disable-usage-stats",
            f"--temp-dir={temp_dir}"]  # fmt: skip
    env = os.environ | {"RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"ray start failed: {done.stderr[-2000:]}")
    head = RayHead(f"http://127.0.0.1:{port}", temp_dir)
    deadline = time.time() + 60
    while time.time() < deadline:  # the dashboard's job module comes up a moment after
        try:
            head.client().list_jobs()
            return head
        except Exception:
            time.sleep(0.5)
    stop_ray_head(head)
    raise RuntimeError("the Ray dashboard (Jobs API) did not come up")


def stop_ray_head(head: RayHead) -> None:
    subprocess.run([_ray(), "stop", "--force"], capture_output=True, timeout=120)
    shutil.rmtree(head.temp_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def ray_head(tac_cache):
    pytest.importorskip("ray.job_submission", reason="Ray is not installed: pip install 'tac[ray]'")
    head = start_ray_head()
    try:
        yield head
    finally:
        stop_ray_head(head)
