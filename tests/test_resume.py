"""Runs that can be continued: every finished job harvested once after a resume, lost reattached
jobs retried, Ctrl-C resumable, --max-cycles extending, --anchors seeding, --json one document."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tac.control.ledger import fold, read_events
from tests.conftest import REPO, run_tac
from tests.test_loop import FAST, events, start_loop, wait_for


def cut_after_first(run: Path, type: str) -> None:
    """The ledger as a SIGKILL right after the first `type` event would have left it."""
    lines = (run / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if f'"type":"{type}"'.encode() in line)
    (run / "ledger.jsonl").write_bytes(b"".join(lines[: first + 1]))
    for name in ("summary.json", "anchors.json"):
        (run / name).unlink(missing_ok=True)


def test_resume_harvests_a_job_that_finished_just_before_the_kill(tmp_path):
    run = tmp_path / "run"
    done = run_tac("loop", "--run-dir", str(run), *FAST, "--max-cycles", "1", "--explore", "2")
    assert done.returncode == 0, done.stderr
    cut_after_first(run, "finished")
    cut = fold(events(run))
    [finished] = [j for j in cut.jobs.values() if j.finished]
    assert finished.state == "ok" and finished.harvested is None
    # --json: exactly one JSON document on stdout, whatever else the loop says
    resumed = run_tac("loop", "--resume", str(run), "--max-cycles", "1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    evs = events(run)
    state = fold(evs)
    harvested = Counter(e.job_id for e in evs if e.type == "harvested")
    assert harvested == {job_id: 1 for job_id in state.jobs}  # each job exactly once
    assert all(j.harvested for j in state.jobs.values()) and len(state.anchors) == 2
    assert summary["anchors"] == 2 and summary["jobs"]["ok"] == 2
    # paid once: the finished job's cost is not charged again
    assert Counter(e.job_id for e in evs if e.type == "finished") == {j: 1 for j in state.jobs}
    # --anchors seeds a new run with them: it ranks in its first cycle instead of exploring
    seeded = tmp_path / "seeded"
    proc = run_tac("loop", "--run-dir", str(seeded), *FAST, "--anchors", str(run / "anchors.json"),
                   "--max-cycles", "1", "--explore", "0", "--min-anchors", "2", "--coverage", "0.6")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    evs = events(seeded)
    added = [e for e in evs if e.type == "anchor_added"]
    assert [e.job_id for e in added[:2]] == [None, None]
    assert {e.source for e in added[:2]} == {str((run / "anchors.json").resolve())}
    assert {e.anchor.id for e in added[:2]} == {a.id for a in state.anchors}
    first_cycle = [e.type for e in evs if e.type in ("ranked", "exploring")]
    assert first_cycle[:1] == ["ranked"]


SLOW_JOB = ["sh", "-c", f"sleep 8; exec {sys.executable} -m tac.cli job run spec.json --out out"]
START_SLOW_LOOP = """
import asyncio, sys
from tac.control.backends.local import LocalBackend
from tac.control.config import LoopConfig
from tac.control.controller import Controller

run, config = sys.argv[1], LoopConfig.model_validate_json(sys.argv[2])
backend = LocalBackend(run + "/work", concurrency=1, command=SLOW_JOB)
asyncio.run(Controller(run, config, [backend]).run())
""".replace("SLOW_JOB", repr(SLOW_JOB))


def test_a_reattached_job_without_a_pid_file_is_retried_and_its_late_result_harvested(tmp_path):
    from tac.contest.weights import resolve_weights
    from tac.control.backends.local import LocalBackend
    from tac.control.config import LoopConfig
    from tac.control.controller import Controller

    run = tmp_path / "run"
    config = LoopConfig(weights=resolve_weights().weights_id, demo_frames=8, presets=["ultrafast"],
                        max_cycles=1, explore=1, poll_s=0.3, max_retries=1)  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", START_SLOW_LOOP, str(run), config.model_dump_json()],
                            cwd=REPO, env=os.environ.copy(), start_new_session=True)  # fmt: skip
    jobs = run / "work" / "jobs"
    deadline = time.time() + 120
    while not list(jobs.glob("c01-*/log.txt")) and time.time() < deadline:  # its supervisor
        time.sleep(0.1)  # wrote its pid file, then opened the log: started for good
    [pid_file] = list(jobs.glob("c01-*/pid"))
    proc.send_signal(signal.SIGKILL)  # the controller dies; its job goes on, detached …
    proc.wait(timeout=30)
    pid_file.unlink()  # … but nobody can find it any more
    spec = pid_file.parent / "spec.json"
    while time.time() - spec.stat().st_mtime < 6:  # past the start-up grace: it reads as lost
        time.sleep(0.2)
    assert not (pid_file.parent / "exit_code").exists(), "the job ended before the resume"
    state = asyncio.run(Controller(run, config, [LocalBackend(run / "work", 1, command=SLOW_JOB)]).run())  # fmt: skip
    [first] = [j for j in state.jobs if not j.endswith("-r1")]
    assert {k: j.state for k, j in state.jobs.items()} == {first: "lost", f"{first}-r1": "ok"}
    evs = read_events(run / "ledger.jsonl")
    harvested = {e.job_id: e for e in evs if e.type == "harvested"}
    assert Counter(e.job_id for e in evs if e.type == "harvested") == {first: 1, f"{first}-r1": 1}
    assert harvested[first].late  # its host ran it to the end after all: harvested, once
    assert len(state.anchors) == 1  # one candidate, one anchor, whichever attempt measured it


def test_ctrl_c_leaves_a_run_that_resumes_and_extends(tmp_path):
    run = tmp_path / "run"
    proc = start_loop(run, "--max-cycles", "1", "--explore", "2")
    wait_for(run, lambda evs: sum(e.type == "dispatched" for e in evs) == 2, timeout=120)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"--resume {run}" in out  # says how to go on
    interrupted = fold(events(run))
    assert interrupted.finished and interrupted.stop_reason == "interrupted"
    cancelled = {j.candidate_id for j in interrupted.jobs.values() if j.state == "cancelled"}
    assert cancelled
    resumed = run_tac("loop", "--resume", str(run), "--max-cycles", "2")
    assert resumed.returncode == 0, resumed.stderr
    evs = events(run)
    state = fold(evs)
    assert state.finished and state.cycles_finished == 2 and state.config["max_cycles"] == 2
    assert json.loads((run / "config.json").read_text())["max_cycles"] == 2
    assert [e.max_cycles for e in evs if e.type == "resumed"] == [2]
    # what Ctrl-C cancelled is measured in the continued run
    measured = {a.id for a in state.anchors}
    assert cancelled <= measured | {j.candidate_id for j in state.jobs.values() if j.cycle == 2}
    # a run at its --max-cycles is not restarted by a plain --resume
    again = run_tac("loop", "--resume", str(run))
    assert again.returncode == 0 and "already finished" in again.stderr
    assert len(events(run)) == len(evs)


def test_resume_refuses_options_it_would_ignore(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    proc = run_tac("loop", "--resume", str(run), "--top-k", "5")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: --resume {run}: --top-k cannot change in a resumed run (only --max-cycles and "
        f"--json can); start a new run with --anchors {run / 'anchors.json'} to build on it"
    ]
