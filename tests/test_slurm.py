"""The Slurm backend against a real single-node Slurm (tests/slurm_fixture.py).

First the backend alone with trivial jobs (fast): submit is idempotent, state, logs and results
come through the shared job directory, cancel ends the Slurm job, a job scancelled behind tac's
back is lost with Slurm's word for it, and the budget lease is enforced on the node. Then a real
`tac loop` on the demo clip: a job killed on the engine is retried, the controller is SIGKILLed
and resumed, and every job runs once and is harvested once, with spend equal to metered cost.
"""

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from tac.control.backends import backend_for
from tac.control.backends.base import BackendError
from tac.control.hosts import SlurmCluster, load_backends
from tac.jobs.engines import engine_name
from tac.records import JobLimits
from tests.conftest import run_tac
from tests.engine_loop import assert_each_job_once_within_the_caps, kill_retry_sigkill_resume
from tests.slurm_fixture import slurm  # noqa: F401
from tests.sshd_fixture import sshd  # noqa: F401
from tests.test_control_units import spec

pytestmark = pytest.mark.slow

RESULT = "import json, pathlib; o = pathlib.Path('out'); o.mkdir(exist_ok=True); (o / 'result.json').write_text(json.dumps({'hello': 'slurm'}))"  # fmt: skip


def cluster(workdir, **over) -> SlurmCluster:
    fields = {"kind": "slurm", "name": "testslurm", "workdir": str(workdir), "cpus_per_job": 1,
              "concurrency": 2, "price_per_cpu_hour": 36.0, "runner_axis": "cpu"}  # fmt: skip
    return SlurmCluster.model_validate(fields | over)


def slurm_id(workdir, job_id: str) -> str:
    return (workdir / "jobs" / job_id / "slurm_job_id").read_text().strip()


async def until(backend, job_id: str, states: tuple[str, ...], timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = await backend.poll(job_id)
        if status.state in states:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{job_id}: still {status.state}")


def test_slurm_backend_runs_cancels_loses_and_leases_jobs(slurm, tmp_path):  # noqa: F811
    workdir = tmp_path / "shared"

    async def scenario():
        b = backend_for(cluster(workdir))
        assert b.price_per_hour == 36.0 and b.concurrency == 2  # 1 CPU × 36 per CPU-hour

        def job(job_id: str, command: list[str], lease: float | None = None):
            s = spec(job_id).model_copy(update={"limits": JobLimits(timeout_s=600, max_cost=1, max_wall_s=lease)})  # fmt: skip
            b.command = command
            return s

        ok = job("ok", [sys.executable, "-c", RESULT])
        first = await b.submit(ok)
        assert first.state == "running"
        assert (await b.submit(ok)).state in ("running", "ok")  # idempotent: one Slurm job
        done = await until(b, "ok", ("ok",))
        assert done.exit_code == 0 and (await b.fetch("ok")).result == {"hello": "slurm"}
        assert len([j for j in slurm.squeue() if j[1] == engine_name(workdir / "jobs" / "ok")]) == 1

        sleeper = job("sleeper", ["sh", "-c", "echo started; exec sleep 60"])
        await b.submit(sleeper)
        await until(b, "sleeper", ("running",))
        deadline = time.time() + 30
        while "started" not in await b.logs("sleeper") and time.time() < deadline:
            await asyncio.sleep(0.1)
        assert "started" in await b.logs("sleeper")
        cancelled = await b.cancel("sleeper")
        assert cancelled.state == "cancelled"
        states = {j[0]: j[2] for j in slurm.squeue()}
        assert states.get(slurm_id(workdir, "sleeper"), "gone") not in ("RUNNING", "PENDING")

        victim = job("victim", ["sleep", "60"])
        await b.submit(victim)
        await until(b, "victim", ("running",))
        while not (workdir / "jobs" / "victim" / "started").exists():
            await asyncio.sleep(0.1)
        subprocess.run(["scancel", slurm_id(workdir, "victim")], check=True)  # behind tac's back
        lost = await until(b, "victim", ("lost",), timeout=30)
        assert "Slurm job" in lost.detail and "CANCELLED" in lost.detail

        leased = job("leased", ["sleep", "60"], lease=1.0)
        await b.submit(leased)
        stopped = await until(b, "leased", ("cancelled",), timeout=40)
        assert 1.0 <= stopped.wall_s < 10  # by the supervisor on the node, from the lease file
        assert "budget lease of 1.0 s ran out" in await b.logs("leased")

        refused = backend_for(cluster(workdir, name="nopart", partition="nosuchpartition"))
        refused.command = ["true"]
        with pytest.raises(BackendError, match="sbatch refused job nopart-job"):
            await refused.submit(spec("nopart-job"))
        assert not (workdir / "jobs" / "nopart-job" / "spec.json").exists()  # a retry starts it

    asyncio.run(scenario())


def test_through_a_login_node_sbatch_and_scancel_run_there_over_ssh(
    slurm,  # noqa: F811
    sshd,  # noqa: F811
    tmp_path,
    tac_cache,
):
    """`login = …`: every verb is `tac job …` on the login node, the Slurm engine named at submit."""
    workdir = tmp_path / "shared"
    login = cluster(
        workdir, login=sshd.destination, port=sshd.port, identity_file=str(sshd.identity_file),
        known_hosts_file=str(sshd.known_hosts),
        tac=["env", f"SLURM_CONF={slurm.conf}", f"TAC_CACHE_DIR={tac_cache}", sys.executable, "-m", "tac.cli"],
    )  # fmt: skip

    async def scenario():
        b = backend_for(login)
        try:
            status = await b.submit(spec("via-login"))
            assert status.state == "running" and b.name == "testslurm"
            name = engine_name(workdir / "jobs" / "via-login")
            assert [j[1] for j in slurm.squeue() if j[1] == name] == [name]
            assert (await b.cancel("via-login")).state == "cancelled"
            assert {j[1]: j[2] for j in slurm.squeue()}[name] not in ("RUNNING", "PENDING")
            report = await b.check()  # `tac hosts check`: ssh, tac there, then Slurm from there
            assert report["reachable"] and report["tac"] and report["error"] is None, report
            assert report["gpu"] == "none" and report["free_bytes"] > 0
        finally:
            await b.close()

    asyncio.run(scenario())


def test_hosts_check_reports_a_slurm_cluster(slurm, tmp_path):  # noqa: F811
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[[backend]]\nkind = "slurm"\nname = "hpc"\nworkdir = "{tmp_path}/w"\n'
                     '[[backend]]\nkind = "slurm"\nname = "bad"\nworkdir = "/w"\npartition = "nope"\n')  # fmt: skip
    done = run_tac("hosts", "check", "--hosts", str(hosts), "--json")
    reports = {r["name"]: r for r in json.loads(done.stdout)}
    assert reports["hpc"]["reachable"] and reports["hpc"]["error"] is None
    assert reports["hpc"]["free_bytes"] > 0 and reports["hpc"]["gpu"] == "none"
    assert "sbatch --test-only refused" in reports["bad"]["error"]
    assert [c.kind for c in load_backends(hosts)] == ["slurm", "slurm"]


def test_a_loop_on_slurm_retries_a_job_killed_there_and_resumes_after_sigkill(slurm, tmp_path):  # noqa: F811
    run, workdir = tmp_path / "run", tmp_path / "shared"
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[[backend]]\nkind = "slurm"\nname = "hpc"\nworkdir = "{workdir}"\n'
                     'concurrency = 2\nprice_per_cpu_hour = 36.0\nrunner_axis = "cpu"\n')  # fmt: skip

    def scancel(job_id: str) -> None:
        subprocess.run(["scancel", slurm_id(workdir, job_id)], check=True)

    victim, evs = kill_retry_sigkill_resume(run, workdir, hosts, scancel)
    names = Counter(name for _id, name, _state in slurm.squeue())
    assert_each_job_once_within_the_caps(run, evs, victim, "CANCELLED", lambda job: names[engine_name(workdir / "jobs" / job)])  # fmt: skip
    assert len([e for e in evs if e.type == "anchor_added"]) == 1
