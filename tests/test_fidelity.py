"""The multi-fidelity loop (issue 19): intermediate exact results as ledger events, pruning on
bands learned from learning curves or by successive halving, warm starts whose checkpoint
travels to the child's host, and a controller SIGKILLed mid-rung that resumes counting each
intermediate result once. The jobs here are `tac.jobs.synthetic` (known curves, no training)
around the real controller, local backend and ledger; tests/test_nerv_lane.py runs real ones."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tac.control.ledger import fold, read_events
from tac.records import WARM_START_FILE, Rung, rung_line, rungs_in
from tac.search.curves import Curve, halving_keeps, halving_rung, rung_band
from tests.conftest import REPO

SHA = "a" * 64
SYNTHETIC = [sys.executable, "-m", "tac.jobs.synthetic", "spec.json", "--out", "out", "--s-per-step", "0.002"]  # fmt: skip


def rung(step: int, score: float, steps: int = 100, final: bool = False) -> Rung:
    return Rung(step=step, steps=steps, score=score, seg=0.01, pose=0.001, archive_bytes=1000,
                checkpoint=f"nerv/rungs/step-{step:06d}.safetensors", checkpoint_sha256=SHA, final=final)  # fmt: skip


# --- records and the pure parts -------------------------------------------------------------------
def test_rung_lines_read_back_and_a_bad_one_is_not_a_rung():
    lines = "\n".join(["nerv step 20/100: …", rung_line(rung(20, 3.5)), "tac-rung {not json", rung_line(rung(40, 2.5))])  # fmt: skip
    assert [r.step for r in rungs_in(lines)] == [20, 40]
    assert rungs_in(lines)[0].fidelity == 0.2
    with pytest.raises(ValueError):  # a checkpoint path may not climb out of the job's out dir
        Rung(**{**rung(0, 1.0).model_dump(), "checkpoint": "../../etc/passwd"})


def curve(final: float, a: float, tau: float) -> Curve:
    f = np.linspace(0, 1, 11)
    return Curve(f, final * (1 + a * np.exp(-f / tau)), final)


def family(seed: int, n: int) -> list[Curve]:
    rng = np.random.default_rng(seed)
    return [curve(rng.uniform(1, 3), rng.uniform(1, 3), rng.uniform(0.08, 0.15)) for _ in range(n)]


@pytest.mark.parametrize("learned", [2, 3, 5, 11])
def test_the_bands_lower_edge_misses_a_new_curve_of_its_family_rarely(learned):
    misses = total = 0
    for seed in range(150):
        *known, new = family(seed, learned + 1)
        for f in (0.1, 0.2, 0.3, 0.5):
            band = rung_band(known, f, new.at(f))
            assert band.lo <= band.mid <= band.hi <= new.at(f) and band.n_curves == learned
            misses += band.lo > new.final
            total += 1
    assert misses / total < 0.06  # about one in 25 (max of n alone: one in n + 1)


def test_the_band_refuses_without_curves_and_narrows_with_fidelity():
    assert "a band needs 2" in rung_band(family(0, 1), 0.3, 2.0)
    assert "0 finished curves reach fidelity 0.30" in rung_band([], 0.3, 2.0)
    c, *known = family(0, 12)
    early, late = rung_band(known, 0.1, c.at(0.1)), rung_band(known, 0.6, c.at(0.6))
    assert (late.hi - late.lo) < (early.hi - early.lo)


def test_successive_halving_keeps_the_best_third_at_each_rung():
    assert [halving_rung(f, 3) for f in (0.0, 0.05, 0.12, 0.34, 0.99, 1.0)] == [
        None,
        3,
        2,
        1,
        1,
        None,
    ]
    assert halving_keeps(5.0, [5.0, 1.0], 3)  # fewer than η at the rung: go on
    assert not halving_keeps(5.0, [5.0, 1.0, 2.0], 3)
    assert halving_keeps(1.0, [5.0, 1.0, 2.0], 3)
    assert halving_keeps(2.0, [5.0, 1.0, 2.0, 3.0, 4.0, 6.0], 3)  # best 2 of 6


def test_an_intermediate_result_is_counted_once_however_often_it_is_replayed(tmp_path):
    from tac.control.synthetic import SyntheticRun

    run = SyntheticRun(tmp_path)
    run.start_cycle()
    job = run.dispatch(30)
    for _ in range(3):  # a resumed controller re-reading a log appends nothing new, but a
        run.emit(
            "intermediate", job_id=job, rung=json.loads(rung(20, 3.0).model_dump_json())
        )  # replay may
    run.emit(
        "intermediate", job_id=job, rung=json.loads(rung(100, 2.0, final=True).model_dump_json())
    )
    run.emit("pruned", job_id=job, step=20, rule="band", reason="cannot beat the best")
    run.ledger.close()
    state = fold(read_events(tmp_path / "ledger.jsonl"))
    [j] = state.jobs.values()
    assert [(r.step, r.final) for r in j.rungs] == [(20, False), (100, True)]
    assert j.final_rung.step == 100 and j.pruned == "cannot beat the best"


# --- the loop around synthetic jobs ---------------------------------------------------------------
def loop_config(**over):
    from tac.control.config import LoopConfig

    space = {"nerv": {"widths": [16, 24, 36, 48], "latent_dims": [8, 16], "steps": [1000],
                      "warm_parents": 1, "warm_rate_factors": [1.0]}}  # fmt: skip
    base = dict(weights="stand-in:0:" + "0" * 16, lanes=["nerv"], space=space, max_cycles=2, explore=8,
                poll_s=0.1, max_inflate_s=None, local_price_per_hour=3.6)  # fmt: skip
    return LoopConfig(**(base | over))


def backend(run: Path, concurrency: int = 2):
    from tac.control.backends.local import LocalBackend

    return LocalBackend(run / "work", concurrency, price_per_hour=3.6, command=SYNTHETIC)


def test_a_loop_prunes_on_bands_and_warm_starts_a_child_with_its_parents_checkpoint(tmp_path):
    from tac.control.controller import Controller

    run = tmp_path / "run"
    state = asyncio.run(Controller(run, loop_config(), [backend(run)]).run())
    evs = read_events(run / "ledger.jsonl")
    pruned = [j for j in state.jobs.values() if j.pruned]
    assert pruned and all(
        j.state == "cancelled" and j.detail.startswith("pruned: ") for j in pruned
    )
    assert all(
        e.rule == "band" and "cannot beat the best" in e.reason for e in evs if e.type == "pruned"
    )
    # each pruned job was judged on a band learned from at least two finished curves
    judged = {
        e.job_id: e
        for e in evs
        if e.type == "intermediate" and e.job_id in {j.job_id for j in pruned}
    }
    assert all(e.band is not None and "finished curves" in e.note for e in judged.values())
    # every rung a job printed is in the ledger once, and nothing else
    for job in state.jobs.values():
        printed = rungs_in((run / "work" / "jobs" / job.job_id / "log.txt").read_text())
        assert [(r.step, r.final) for r in job.rungs] == [(r.step, r.final) for r in printed]
    # the children of the best cold job start from its final checkpoint, carried to their job dir
    children = [j for j in state.jobs.values() if j.spec.warm_start is not None]
    assert children and all(j.cycle == 2 for j in children)
    for child in children:
        parent = state.jobs[child.spec.warm_start.parent_job]
        final = parent.final_rung
        carried = run / "work" / "jobs" / child.job_id / "out" / WARM_START_FILE
        assert hashlib.sha256(carried.read_bytes()).hexdigest() == final.checkpoint_sha256 == child.spec.warm_start.sha256  # fmt: skip
        assert (run / "checkpoints" / f"{final.checkpoint_sha256}.safetensors").is_file()
        assert child.spec.candidate.params.parent == parent.candidate_id
    assert any(j.state == "ok" for j in children)
    # spend is the metered cost of every job, pruned ones included
    assert state.spent == pytest.approx(sum(j.cost for j in state.jobs.values()))
    assert all(j.cost > 0 for j in pruned)


START_LOOP = """
import asyncio, sys
from tac.control.backends.local import LocalBackend
from tac.control.config import LoopConfig
from tac.control.controller import Controller

run, config = sys.argv[1], LoopConfig.model_validate_json(sys.argv[2])
backend = LocalBackend(run + "/work", 2, price_per_hour=3.6, command=COMMAND)
asyncio.run(Controller(run, config, [backend]).run())
"""


def test_sigkill_mid_rung_then_resume_counts_each_intermediate_once_and_runs_no_job_twice(tmp_path):
    from tac.control.controller import Controller

    run = tmp_path / "run"
    config = loop_config(max_cycles=1, space={"nerv": {"widths": [16, 24, 36], "latent_dims": [8, 16], "steps": [1500]}})  # fmt: skip
    script = START_LOOP.replace("COMMAND", repr(SYNTHETIC))
    proc = subprocess.Popen([sys.executable, "-c", script, str(run), config.model_dump_json()],
                            cwd=REPO, env=os.environ.copy(), start_new_session=True)  # fmt: skip
    deadline = time.time() + 120
    while time.time() < deadline:  # mid-rung: some intermediate results recorded, jobs running
        evs = read_events(run / "ledger.jsonl")
        if sum(e.type == "intermediate" for e in evs) >= 3 and fold(evs).running:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the controller dies; its jobs go on, detached
    proc.wait(timeout=30)
    # and as if it died just after its first intermediate event: the mirrored logs hold rungs
    # the ledger never recorded
    lines = (run / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if b'"type":"intermediate"' in line)
    (run / "ledger.jsonl").write_bytes(b"".join(lines[: first + 1]))
    assert fold(read_events(run / "ledger.jsonl")).running
    state = asyncio.run(Controller(run, config, [backend(run)]).run())
    evs = read_events(run / "ledger.jsonl")
    assert state.finished and not state.running
    recorded = Counter(
        (e.job_id, e.rung.step, e.rung.final) for e in evs if e.type == "intermediate"
    )
    assert set(recorded.values()) == {1}  # each once
    for job in state.jobs.values():  # every rung its log holds, none lost in the kill
        printed = rungs_in((run / "work" / "jobs" / job.job_id / "log.txt").read_text())
        assert {(job.job_id, r.step, r.final) for r in printed} <= set(recorded)
        log = (run / "work" / "jobs" / job.job_id / "log.txt").read_text()
        assert log.count("synthetic job ") == 1  # started once
    assert Counter(e.spec.candidate.id for e in evs if e.type == "dispatched") == {c: 1 for c in {j.candidate_id for j in state.jobs.values()}}  # fmt: skip
    assert Counter(e.job_id for e in evs if e.type == "finished") == {j: 1 for j in state.jobs}
    assert state.spent == pytest.approx(sum(e.cost for e in evs if e.type == "finished"))


@pytest.mark.slow
def test_a_real_loop_on_the_demo_prunes_a_nerv_job_and_warm_starts_a_child(tmp_path):
    from tests.conftest import run_tac

    run = tmp_path / "run"
    proc = run_tac(
        "loop", "--run-dir", str(run), "--lanes", "nerv", "--demo-frames", "4", "--train-profile", "nerv=tiny",
        "--option", "nerv.widths=16,8", "--option", "nerv.latent_dims=4", "--option", "nerv.steps=6",
        "--option", "nerv.warm_parents=1", "--option", "nerv.warm_rate_factors=1.0",
        "--max-cycles", "2", "--explore", "2", "--local-concurrency", "1", "--poll-s", "0.2",
        "--prune", "halving", "--prune-eta", "2", "--json",
    )  # fmt: skip
    # one job at a time, so the rule's decision does not hang on which job reports first: the
    # width-16 job runs to the end, the width-8 one (far behind at step 2) is stopped there
    assert proc.returncode == 0, proc.stderr[-3000:]
    evs = read_events(run / "ledger.jsonl")
    state = fold(evs)
    pruned = [j for j in state.jobs.values() if j.pruned]
    assert pruned and all(j.state == "cancelled" for j in pruned), proc.stderr[-3000:]
    assert all(r.score > 0 and not r.final for j in pruned for r in j.rungs)
    # every job's exact round trips are in the ledger, the final one with its checkpoint's card
    finished = [j for j in state.jobs.values() if j.state == "ok"]
    assert finished and all(j.final_rung is not None and j.final_rung.card_sha256 for j in finished)
    assert all([r.step for r in j.rungs if not r.final] == [0, 2, 4, 6] for j in finished if j.spec.warm_start is None)  # fmt: skip
    # a child of the best cold setting ran from its parent's checkpoint, and was measured
    children = [j for j in state.jobs.values() if j.spec.warm_start is not None]
    assert children, proc.stderr[-3000:]
    child = next(j for j in children if j.state == "ok")
    parent = state.jobs[child.spec.warm_start.parent_job]
    log = (run / "work" / "jobs" / child.job_id / "log.txt").read_text()
    assert "from warm-start.safetensors" in log and "warm start from" in log
    assert child.candidate_id in {a.id for a in state.anchors} and parent.candidate_id in {a.id for a in state.anchors}  # fmt: skip
