"""Steering a real local loop through RUN_DIR/control.jsonl (`tac steer`): pause, caps, cancel,
resume, stop — each acknowledged in the ledger and acted on."""

import json
import time

import pytest

from tac.control.ledger import fold
from tac.control.steering import ControlReader, check, send
from tests.conftest import run_tac
from tests.test_loop import events, start_loop, wait_for


def test_commands_are_checked_before_they_are_written(tmp_path):
    assert "unknown command" in check({"command": "explode"})
    assert "job_id" in check({"command": "cancel"})
    assert "at least one" in check({"command": "caps"})
    assert "≥ 0" in check({"command": "caps", "max_total_cost": -1})
    assert check({"command": "caps", "max_total_cost": None}) == ""
    with pytest.raises(ValueError):
        send(tmp_path, "caps", max_total_cost="lots")
    assert not (tmp_path / "control.jsonl").exists()


def test_reader_returns_whole_lines_once_and_waits_for_a_torn_one(tmp_path):
    reader = ControlReader(tmp_path)
    assert reader.read() == []  # no file yet
    a = send(tmp_path, "pause")
    with open(tmp_path / "control.jsonl", "a") as f:
        f.write('{"id": "x", "comm')  # a writer caught mid-line
    assert [e["id"] for e in reader.read()] == [a["id"]]
    with open(tmp_path / "control.jsonl", "a") as f:
        f.write('and": "resume"}\n')
    assert reader.read() == [{"id": "x", "command": "resume"}]
    assert reader.read() == []


def acks(run):
    return [e for e in events(run) if e.type == "control"]


@pytest.mark.slow
def test_steer_pauses_changes_caps_cancels_resumes_and_stops_a_real_loop(tmp_path):
    run = tmp_path / "run"
    proc = start_loop(run, "--max-cycles", "3", "--explore", "3", "--local-concurrency", "1",
                      "--local-price", "36")  # fmt: skip
    try:
        wait_for(run, lambda evs: any(e.type == "dispatched" for e in evs), timeout=120)
        paused = run_tac("steer", str(run), "pause")
        assert paused.returncode == 0, paused.stderr
        assert "applied; paused" in paused.stdout
        # the job already running goes on; nothing new is dispatched while paused
        evs = wait_for(run, lambda evs: any(e.type == "finished" for e in evs), timeout=120)
        n_dispatched = sum(e.type == "dispatched" for e in evs)
        time.sleep(3)
        assert sum(e.type == "dispatched" for e in events(run)) == n_dispatched
        caps = run_tac("steer", str(run), "caps", "--max-total-cost", "50", "--json")
        assert caps.returncode == 0 and json.loads(caps.stdout)["caps"]["max_total_cost"] == 50.0, (
            caps.stdout
        )
        bad = run_tac("steer", str(run), "cancel", "no-such-job", "--json")
        answer = json.loads(bad.stdout)
        assert bad.returncode == 1 and not answer["ok"] and "not running" in answer["detail"]
        resumed = run_tac("steer", str(run), "resume")
        assert resumed.returncode == 0 and "dispatching" in resumed.stdout
        evs = wait_for(run, lambda evs: sum(e.type == "dispatched" for e in evs) > n_dispatched, timeout=60)  # fmt: skip
        victim = [e.job_id for e in evs if e.type == "dispatched"][-1]
        cancelled = run_tac("steer", str(run), "cancel", victim)
        assert cancelled.returncode == 0, cancelled.stderr
        wait_for(run, lambda evs: any(e.type == "finished" and e.job_id == victim for e in evs), timeout=60)  # fmt: skip
        stopped = run_tac("steer", str(run), "stop")
        assert stopped.returncode == 0, stopped.stderr
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    evs = events(run)
    finished = {e.job_id: e for e in evs if e.type == "finished"}
    assert finished[victim].outcome == "cancelled" and finished[victim].detail == "cancelled by request"  # fmt: skip
    assert [(a.command, a.ok) for a in acks(run)] == [
        ("pause", True), ("caps", True), ("cancel", False), ("resume", True), ("cancel", True), ("stop", True),
    ]  # fmt: skip
    assert acks(run)[1].caps["max_total_cost"] == 50.0
    [end] = [e for e in evs if e.type == "run_finished"]
    assert end.reason == "stopped by request"
    # what a resumed loop would skip when it re-reads control.jsonl: every id, acknowledged
    written = [e["id"] for e in ControlReader(run).read()]
    assert len(written) == 6 and fold(evs).control_acked == set(written)


def test_caps_must_be_finite_numbers():
    from tac.control.steering import check

    for bad in (float("nan"), float("inf"), -1, "5", True):
        assert "finite number" in check({"command": "caps", "max_total_cost": bad}), bad
    assert check({"command": "caps", "max_total_cost": None, "max_cost_per_job": 2.5}) == ""
