"""`tac loop --hosts`: the whole loop dispatching to a real sshd on 127.0.0.1.

The host vanishes mid-job (sshd and its connections stopped): the controller settles the job as
lost, dispatches it again once the host is back, harvests the retry over SSH and stops the
orphaned first attempt if its host has not already stopped it (its budget lease ran out while
nobody could extend it).
"""

import json
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.sshd_fixture import processes, sshd  # noqa: F401
from tests.test_loop import events, start_loop, wait_for

pytestmark = pytest.mark.slow


def hosts_toml(path: Path, sshd, workdir: Path, tac_cache: Path) -> Path:  # noqa: F811
    # JSON strings and lists are valid TOML values
    fields = {
        "name": "loopback", "destination": sshd.destination, "port": sshd.port, "workdir": str(workdir),
        "tac": ["env", f"TAC_CACHE_DIR={tac_cache}", sys.executable, "-m", "tac.cli"],
        "runner_axis": "cpu", "price_per_hour": 36.0, "concurrency": 1,
        "identity_file": str(sshd.identity_file), "known_hosts_file": str(sshd.known_hosts),
    }  # fmt: skip
    path.write_text("[[host]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))
    return path


def live(pid: int) -> bool:
    return any(p == pid and state != "Z" for p, state, _ppid, _pgrp in processes())


def test_loop_over_ssh_retries_a_job_lost_with_its_host(tmp_path, sshd, tac_cache):  # noqa: F811
    run, workdir = tmp_path / "run", tmp_path / "host-workdir"
    hosts = hosts_toml(tmp_path / "hosts.toml", sshd, workdir, tac_cache)
    proc = start_loop(
        run, "--hosts", str(hosts), "--no-local", "--max-cycles", "1", "--explore", "1",
        "--lost-after", "2", "--max-retries", "1",
    )  # fmt: skip
    try:
        evs = wait_for(run, lambda evs: any(e.type == "dispatched" for e in evs), timeout=60)
        first = next(e.job_id for e in evs if e.type == "dispatched")
        pid_file = workdir / "jobs" / first / "pid"
        deadline = time.time() + 60
        while not pid_file.exists() and time.time() < deadline:
            time.sleep(0.1)
        orphan = int(pid_file.read_text())
        sshd.stop()  # the host vanishes with the job running on it
        try:
            wait_for(run, lambda evs: any(e.type == "finished" and e.job_id == first for e in evs), timeout=60)  # fmt: skip
        finally:
            sshd.start()
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    evs = events(run)
    finished = {e.job_id: e for e in evs if e.type == "finished"}
    retry = f"{first}-r1"
    assert finished[first].outcome == "lost" and "unreachable" in finished[first].detail
    assert finished[retry].outcome == "ok"
    dispatched = Counter(e.job_id for e in evs if e.type == "dispatched")
    assert dispatched == {first: 1, retry: 1}
    assert {e.job_id: e.host for e in evs if e.type == "dispatched"} == {first: "loopback", retry: "loopback"}  # fmt: skip
    [harvest] = [e for e in evs if e.type == "harvested"]
    assert harvest.job_id == retry and harvest.ok, harvest
    [anchor] = [e.anchor for e in evs if e.type == "anchor_added"]
    assert anchor.runner_axis == "cpu" and anchor.kind == "lossy"
    # the first attempt is stopped: by its host when its lease ran out, or by the controller
    # when the retry reached the host again; either way it is not running and not paid twice
    assert [(e.job_id, e.state) for e in evs if e.type == "orphan_cancelled"] == [(first, "cancelled")]  # fmt: skip
    assert not live(orphan)
    # a lost job is charged its whole reservation: its host could have run it that long
    reserved = sum(e.amount for e in evs if e.type == "reserved" and e.job_id == first)
    assert finished[first].cost == pytest.approx(reserved) and "charged its whole reservation" in finished[first].detail  # fmt: skip
    summary = json.loads((run / "summary.json").read_text())
    assert summary["jobs"]["lost"] == 1 and summary["jobs"]["ok"] == 1
    # both attempts were paid for, once each
    assert summary["spent"] == pytest.approx(sum(e.cost for e in finished.values()))
    assert finished[first].cost > 0 and finished[retry].cost > 0
    assert "loopback" in out or "loopback" in err
