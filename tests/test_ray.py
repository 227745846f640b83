"""The Ray backend against a real Ray head on 127.0.0.1 (tests/ray_fixture.py).

First the backend alone with trivial jobs: each job is a Ray job (Jobs API) whose submission id
is derived from its job directory, submit is idempotent, results come through the shared
storage, cancel stops the Ray job, a job stopped behind tac's back is lost with Ray's word for
it, and the budget lease is enforced on the node. Then a real `tac loop` on the demo clip with a
job killed on the engine (retried) and the controller SIGKILLed and resumed.
"""

import asyncio
import json
import sys
from collections import Counter

import pytest

from tac.control.backends import backend_for
from tac.control.hosts import RayCluster
from tac.jobs.engines.ray_jobs import submission_id
from tac.records import JobLimits
from tests.conftest import run_tac
from tests.engine_loop import assert_each_job_once_within_the_caps, kill_retry_sigkill_resume
from tests.ray_fixture import ray_head  # noqa: F401
from tests.test_control_units import spec
from tests.test_slurm import RESULT, until

pytestmark = pytest.mark.slow


def cluster(head, storage, **over) -> RayCluster:
    fields = {"kind": "ray", "name": "testray", "address": head.address, "storage": str(storage),
              "cpus_per_job": 1, "concurrency": 2, "price_per_cpu_hour": 36.0, "runner_axis": "cpu"}  # fmt: skip
    return RayCluster.model_validate(fields | over)


def test_ray_backend_runs_cancels_loses_and_leases_jobs(ray_head, tmp_path):  # noqa: F811
    storage = tmp_path / "shared"
    client = ray_head.client()

    async def scenario():
        b = backend_for(cluster(ray_head, storage))
        assert b.price_per_hour == 36.0

        def job(job_id: str, command: list[str], lease: float | None = None):
            b.command = command
            return spec(job_id).model_copy(update={"limits": JobLimits(timeout_s=600, max_cost=1, max_wall_s=lease)})  # fmt: skip

        ok = job("ok", [sys.executable, "-c", RESULT])
        assert (await b.submit(ok)).state == "running"
        assert (await b.submit(ok)).state in ("running", "ok")  # idempotent: one Ray job
        done = await until(b, "ok", ("ok",))
        assert done.exit_code == 0 and (await b.fetch("ok")).result == {"hello": "slurm"}
        ours = [j for j in client.list_jobs() if j.submission_id == submission_id(storage / "jobs" / "ok")]  # fmt: skip
        assert len(ours) == 1 and ours[0].metadata["tac_job"] == "ok"
        assert "tac.jobs.supervise" in ours[0].entrypoint

        sleeper = job("sleeper", ["sleep", "60"])
        await b.submit(sleeper)
        await until(b, "sleeper", ("running",))
        assert (await b.cancel("sleeper")).state == "cancelled"
        assert str(client.get_job_status(submission_id(storage / "jobs" / "sleeper")).value) == "STOPPED"  # fmt: skip

        victim = job("victim", ["sleep", "60"])
        await b.submit(victim)
        while not (storage / "jobs" / "victim" / "started").exists():
            await asyncio.sleep(0.1)
        client.stop_job(submission_id(storage / "jobs" / "victim"))  # behind tac's back
        lost = await until(b, "victim", ("lost",), timeout=30)
        assert "Ray job" in lost.detail and "STOPPED" in lost.detail

        broken = backend_for(
            cluster(ray_head, storage, name="broken", python="/nonexistent/python")
        )
        broken.command = ["true"]
        await broken.submit(spec("broken"))
        never = await until(broken, "broken", ("lost",), timeout=60)  # Ray's own words say why
        assert "FAILED" in never.detail and "exit code" in never.detail.lower(), never.detail

        leased = job("leased", ["sleep", "60"], lease=1.0)
        await b.submit(leased)
        stopped = await until(b, "leased", ("cancelled",), timeout=40)
        assert 1.0 <= stopped.wall_s < 10  # by the supervisor on the node, from the lease file
        assert "budget lease of 1.0 s ran out" in await b.logs("leased")

    asyncio.run(scenario())


def test_hosts_check_runs_tac_on_the_ray_cluster(ray_head, tmp_path):  # noqa: F811
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[[backend]]\nkind = "ray"\nname = "rc"\naddress = "{ray_head.address}"\nstorage = "{tmp_path}/s"\n'
                     '[[backend]]\nkind = "ray"\nname = "down"\naddress = "http://127.0.0.1:9"\nstorage = "/s"\n')  # fmt: skip
    done = run_tac("hosts", "check", "--hosts", str(hosts), "--json")
    assert done.returncode == 1  # one backend is unreachable
    reports = {r["name"]: r for r in json.loads(done.stdout)}
    assert reports["rc"]["reachable"] and reports["rc"]["tac"] and reports["rc"]["error"] is None
    assert reports["rc"]["tac_version"] and reports["rc"]["free_bytes"] > 0
    assert not reports["down"]["reachable"] and "unreachable" in reports["down"]["error"]


def test_a_loop_on_ray_retries_a_job_killed_there_and_resumes_after_sigkill(ray_head, tmp_path):  # noqa: F811
    run, storage = tmp_path / "run", tmp_path / "shared"
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[[backend]]\nkind = "ray"\nname = "rc"\naddress = "{ray_head.address}"\nstorage = "{storage}"\n'
                     'concurrency = 2\nprice_per_cpu_hour = 36.0\nrunner_axis = "cpu"\n')  # fmt: skip
    client = ray_head.client()
    victim, evs = kill_retry_sigkill_resume(run, storage, hosts, lambda job: client.stop_job(submission_id(storage / "jobs" / job)))  # fmt: skip
    ids = Counter(j.submission_id for j in client.list_jobs())
    assert_each_job_once_within_the_caps(run, evs, victim, "STOPPED", lambda job: ids[submission_id(storage / "jobs" / job)])  # fmt: skip
