"""The closed loop with real jobs (local subprocesses): crash and resume, Ctrl-C, caps, lost jobs."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tac.control.ledger import fold, read_events
from tests.conftest import REPO, run_tac

FAST = ["--demo-frames", "8", "--local-concurrency", "2", "--poll-s", "0.5", "--presets", "ultrafast"]  # fmt: skip


def events(run_dir: Path) -> list[dict]:
    return read_events(run_dir / "ledger.jsonl")


def wait_for(run_dir: Path, predicate, timeout: float = 300) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        evs = events(run_dir)
        if predicate(evs):
            return evs
        time.sleep(0.2)
    raise AssertionError(f"timed out; last events: {[e['type'] for e in events(run_dir)][-10:]}")


def start_loop(run_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tac.cli", "loop", "--run-dir", str(run_dir), *FAST, *args],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def job_pids(run_dir: Path) -> list[int]:
    return [int(p.read_text()) for p in (run_dir / "work" / "jobs").glob("*/pid")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return b"tac.jobs.supervise" in Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}").exists() else False  # fmt: skip


def test_killed_loop_resumes_and_harvests_everything_exactly_once(tmp_path):
    run = tmp_path / "run"
    args = ["--max-cycles", "2", "--explore", "3", "--local-price", "36"]
    proc = start_loop(run, *args)

    # kill it while one job has finished and another has just started (within 3 s: a demo job
    # runs longer, so it is still running when the kill lands — checking only "dispatched but
    # not finished" raced a job finishing between the check and the kill)
    def one_done_one_just_started(evs) -> bool:
        done = {e.job_id for e in evs if e.type == "finished"}
        fresh = [e for e in evs if e.type == "dispatched" and e.job_id not in done and time.time() - e.ts < 3]  # fmt: skip
        return bool(done) and bool(fresh)

    wait_for(run, one_done_one_just_started)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = fold(events(run))
    assert not before.finished and before.running
    resumed = run_tac("loop", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    evs = events(run)
    state = fold(evs)
    assert state.finished and state.cycles_finished == 2
    dispatched = [e.job_id for e in evs if e.type == "dispatched"]
    finished = Counter(e.job_id for e in evs if e.type == "finished")
    harvested = Counter(e.job_id for e in evs if e.type == "harvested")
    assert len(dispatched) == len(set(dispatched)) == 6  # nothing dispatched twice
    assert set(finished) == set(dispatched) and set(finished.values()) == {1}
    ok = [j for j in state.jobs.values() if j.state == "ok"]
    assert len(ok) == 6 and all(harvested[j.job_id] == 1 for j in ok)
    assert len({a.id for a in state.anchors}) == len(state.anchors) == 6
    costs = sum(e.cost for e in evs if e.type == "finished")
    summary = json.loads((run / "summary.json").read_text())
    assert (
        state.spent == pytest.approx(costs)
        and summary["spent"] == pytest.approx(costs)
        and costs > 0
    )
    # the running job was reattached, not started again
    reattached = next(e for e in evs if e.type == "resumed").running
    assert reattached and all(finished[j] == 1 for j in reattached)


def test_ctrl_c_cancels_running_jobs_and_records_them(tmp_path):
    run = tmp_path / "run"
    proc = start_loop(run, "--max-cycles", "1", "--explore", "2")
    wait_for(run, lambda evs: sum(e.type == "dispatched" for e in evs) == 2, timeout=120)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    evs = events(run)
    state = fold(evs)
    assert state.finished and state.stop_reason == "interrupted"
    assert {j.state for j in state.jobs.values()} <= {"cancelled", "ok"}
    assert any(j.state == "cancelled" for j in state.jobs.values())
    assert not any(alive(pid) for pid in job_pids(run))  # no orphans


SLACK = 0.5  # $ at $1/s: how late a stop may land on an overloaded machine


def test_per_job_cap_cancels_and_total_cap_is_never_passed(tmp_path):
    # $1 a second: every real job would cost ten or more; the caps must stop them
    rich = [
        "--max-cycles",
        "1",
        "--explore",
        "2",
        "--local-price",
        "3600",
        "--max-cost-per-job",
        "3",
    ]
    proc = run_tac("loop", "--run-dir", str(tmp_path / "per-job"), *FAST, *rich, "--max-total-cost", "100")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    state = fold(events(tmp_path / "per-job"))
    # stopped by the controller at the per-job cap, or by the host when the job's lease (the
    # same cap, less a margin) ran out first: which of the two acts first depends on timing
    lease = "stopped by its host: the budget lease ran out"
    assert len(state.jobs) == 2 and all(j.state == "cancelled" and j.detail in ("per-job cost cap", lease) for j in state.jobs.values())  # fmt: skip
    # at $1/s a cap of 3 leaves a 1 s lease; on a starved 2-core CI box neither the controller
    # nor the host's supervisor is always scheduled within it (0.17 s over was seen), so the
    # stop may land up to SLACK late; with real reservations (≥ 30 s of host time) the 2 s
    # lease margin absorbs such stalls
    assert all(j.cost <= 3.0 + SLACK for j in state.jobs.values())
    # a total cap below two jobs' worth: which cap cancels which job depends on timing; the
    # total is never passed either way
    proc = run_tac("loop", "--run-dir", str(tmp_path / "total"), *FAST, *rich, "--max-total-cost", "4.5")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    state = fold(events(tmp_path / "total"))
    assert state.jobs and all(j.state == "cancelled" for j in state.jobs.values())
    assert {j.detail for j in state.jobs.values()} <= {"per-job cost cap", "the total or per-cycle cost cap", lease}  # fmt: skip
    assert all(j.cost <= 3.0 + SLACK for j in state.jobs.values())
    assert 0 < state.spent <= 4.5


def test_lost_job_is_retried(tmp_path):
    from tac.contest.weights import resolve_weights
    from tac.control.backends.local import LocalBackend
    from tac.control.config import LoopConfig
    from tac.control.controller import Controller

    run = tmp_path / "run"
    config = LoopConfig(weights=resolve_weights().weights_id, demo_frames=8, presets=["ultrafast"], max_cycles=1, explore=1, poll_s=0.3)  # fmt: skip
    backend = LocalBackend(run / "work", concurrency=1)

    async def main():
        controller = Controller(run, config, [backend])
        task = asyncio.create_task(controller.run())
        pid_files = run / "work" / "jobs"
        while not list(pid_files.glob("c01-*/pid")):
            await asyncio.sleep(0.1)
        pid = int(next(pid_files.glob("c01-*/pid")).read_text())
        await asyncio.sleep(1.0)
        os.killpg(pid, signal.SIGKILL)  # the host "loses" the job: no exit code, no cancel
        return await task

    state = asyncio.run(main())
    outcomes = {j.job_id: j.state for j in state.jobs.values()}
    [first] = [k for k in outcomes if not k.endswith("-r1")]
    assert outcomes == {first: "lost", f"{first}-r1": "ok"}
    assert len(state.anchors) == 1
