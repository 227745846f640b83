"""The real-loop scenario the Ray and Slurm tests share: a job killed on the engine, the
controller SIGKILLed right after the retry is dispatched, then `--resume`; and what must hold."""

import json
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tac.control.ledger import fold
from tests.conftest import run_tac
from tests.test_loop import events, start_loop, wait_for


def kill_retry_sigkill_resume(run: Path, shared: Path, hosts: Path, kill: Callable[[str], None]) -> tuple[str, list]:  # fmt: skip
    """Run the scenario; (the killed job's id, the ledger's events after the resume)."""
    proc = start_loop(run, "--hosts", str(hosts), "--no-local", "--max-cycles", "1", "--explore", "1",
                      "--max-retries", "1", "--max-total-cost", "5", "--max-cost-per-job", "2")  # fmt: skip
    try:
        evs = wait_for(run, lambda evs: any(e.type == "dispatched" for e in evs), timeout=120)
        victim = next(e.job_id for e in evs if e.type == "dispatched")
        deadline = time.time() + 60
        while not (shared / "jobs" / victim / "started").exists() and time.time() < deadline:
            time.sleep(0.1)
        kill(victim)  # killed on the engine
        wait_for(run, lambda evs: any(e.type == "dispatched" and e.job_id == f"{victim}-r1" for e in evs), timeout=120)  # fmt: skip
        proc.send_signal(signal.SIGKILL)  # the controller dies with the retry just dispatched
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not fold(events(run)).finished
    resumed = run_tac("loop", "--resume", str(run))
    assert resumed.returncode == 0, resumed.stderr
    return victim, events(run)


def assert_each_job_once_within_the_caps(run: Path, evs: list, victim: str, engine_word: str, submissions: Callable[[str], int]) -> dict:  # fmt: skip
    """Lost with the engine's word, retried, finished and harvested once, submitted to the
    engine once (`submissions(job_id)`), spend = Σ metered costs, caps held. Returns `finished`."""
    assert fold(evs).finished
    finished = {e.job_id: e for e in evs if e.type == "finished"}
    assert Counter(e.job_id for e in evs if e.type == "finished") == Counter(set(finished))
    assert finished[victim].outcome == "lost" and engine_word in finished[victim].detail
    ok = sorted(j for j, e in finished.items() if e.outcome == "ok")
    assert ok == [f"{victim}-r1"]
    assert Counter(e.job_id for e in evs if e.type == "harvested") == Counter(ok)  # once each
    assert all(submissions(job) == 1 for job in finished)  # resume reattached, never re-ran
    summary = json.loads((run / "summary.json").read_text())
    assert summary["spent"] == pytest.approx(sum(e.cost for e in finished.values()))
    assert 0 < summary["spent"] <= 5  # the caps hold: in all, and per job (reservations too)
    reserved = Counter()
    for e in evs:
        if e.type == "reserved":
            reserved[e.job_id] += e.amount
    assert all(
        e.cost <= reserved[j] + 1e-9 and reserved[j] <= 2 + 1e-9 for j, e in finished.items()
    )
    return finished
