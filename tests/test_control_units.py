"""Ledger, harvest verification and the budget rules, without running jobs."""

import hashlib
import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tac.control import budget as B
from tac.control import events as E
from tac.control.backends.base import Fetched
from tac.control.harvest import verify
from tac.control.ledger import Ledger, fold, load_state, read_events, read_ledger
from tac.lanes.codec import CodecSearchParams
from tac.records import Candidate, JobLimits, JobSpec
from tac.search.synthetic import SyntheticWorld

WORLD = SyntheticWorld()
PARAMS = CodecSearchParams(codec="hevc", crf=30, preset="medium", scale=0.5)


def spec(job_id="j1", weights=WORLD.weights):
    cand = Candidate(id=PARAMS.id(), params=PARAMS, runner_axis="cpu", weights=weights, ready=True)  # fmt: skip
    return JobSpec(job_id=job_id, candidate=cand, data="demo", weights=weights, runner_axis="cpu",
                   limits=JobLimits(timeout_s=60, max_cost=1), out_dir="/tmp/x")  # fmt: skip


def test_ledger_appends_folds_and_survives_a_torn_line(tmp_path):
    led = Ledger(tmp_path, "r1")
    led.append("run_started", config={"a": 1})
    led.append("dispatched", job_id="j1", host="local", cycle=1, reserved=0.5, spec=json.loads(spec().model_dump_json()))  # fmt: skip
    led.append("finished", job_id="j1", outcome="ok", cost=0.25, wall_s=10.0)
    led.append(
        "finished", job_id="j1", outcome="ok", cost=0.25, wall_s=10.0
    )  # a replayed duplicate
    led.close()
    with open(tmp_path / "ledger.jsonl", "a") as f:
        f.write(
            '{"v":1,"seq":5,"ts":1.0,"run_id":"r1","type":"something_new","x":1}\n'
        )  # a newer writer's type
        f.write('{"v": 1, "seq": 6, "type": "finis')  # killed mid-write
    state = load_state(tmp_path)
    assert state.run_id == "r1" and state.spent == 0.25 and state.jobs["j1"].state == "ok"
    assert [e.seq for e in read_events(tmp_path / "ledger.jsonl")] == [1, 2, 3, 4, 5]
    # the next writer repairs the torn line and continues the sequence on a line of its own
    led = Ledger(tmp_path, "r1")
    led.append("run_finished", reason="done", spent=0.25)
    led.close()
    events = read_events(tmp_path / "ledger.jsonl")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6] and fold(events).finished


def test_ledger_skips_damage_in_the_middle_and_says_where(tmp_path):
    envelope = '"v":1,"ts":1.0,"run_id":"r"'
    (tmp_path / "ledger.jsonl").write_text(f'{{{envelope},"seq":1,"type":"a"}}\nnot json\n{{{envelope},"seq":3,"type":"b"}}\n')  # fmt: skip
    read = read_ledger(tmp_path / "ledger.jsonl")
    assert [e.seq for e in read.events] == [1, 3] and read.unreadable == [2]
    assert read.note(tmp_path / "ledger.jsonl").endswith(
        "skipped 1 unreadable line (first: line 2)"
    )


def fetched_for(r, **change):
    data = json.loads(r.model_dump_json())
    return Fetched(
        result={**data, **change.get("result", {})},
        archive_sha256=change.get("sha", r.archive_sha256),
        archive_bytes=change.get("bytes", r.archive_bytes),
    )  # fmt: skip


def test_harvest_accepts_only_consistent_authoritative_results():
    [r] = WORLD.results([PARAMS])
    anchor, why = verify(spec(), fetched_for(r))
    assert why == "" and anchor.score == r.score and anchor.params == PARAMS
    bad = {
        "estimate": fetched_for(r, result={"estimate": True, "n_samples": 10}),
        "not what its terms give": fetched_for(r, result={"score": r.score - 0.5}),
        "does not hash": fetched_for(r, sha=hashlib.sha256(b"other").hexdigest()),
        "bytes": fetched_for(r, bytes=r.archive_bytes + 1),
        "axis": fetched_for(r, result={"runner_axis": "cuda"}),
        "scored with": fetched_for(r, result={"weights": "official"}),
        "not a valid EvalResult": fetched_for(r, result={"pose": -1}),
        "rate": fetched_for(r, result={"rate": r.rate * 2}),
    }
    for expected, fetched in bad.items():
        anchor, why = verify(spec(), fetched)
        assert anchor is None and expected in why, (expected, why)


# --- budget: the rules the controller applies, over random jobs -----------------------------------


def simulate(jobs, caps: B.Caps, poll: float, cycle_size: int):
    """The controller's money rules in discrete time, one job at a time: reserve before dispatch
    (or stop); at each poll, when the next poll could pass the reservation, top it up (doubling,
    up to the per-job cap, if the caps allow) or cancel (a cancel lands within one poll)."""
    spent, per_cycle = 0.0, {}
    for n, (duration, rate, predicted) in enumerate(jobs):
        cycle = n // cycle_size
        amount = B.reservation(predicted / 3600 * rate, caps)
        committed = per_cycle.get(cycle, 0.0)
        if not B.fits(amount, spent, 0.0, committed, caps):
            break
        if not B.can_run(amount, rate, poll):
            continue  # refused: it would have to be cancelled before it could be watched
        t, cost = 0.0, None
        while cost is None:
            if t >= duration:
                cost = B.metered(duration, rate)  # it ended between two polls: its true wall time
            elif B.must_cancel(t, rate, amount, poll):
                extra = min(amount, caps.per_job - amount)
                if extra > 0 and B.fits(extra, spent, amount, committed + amount, caps):
                    amount += extra
                    continue
                cost = B.metered(min(duration, t + poll), rate)
            t += poll
        assert cost <= amount + 1e-12  # a job never costs more than it reserved
        spent += cost
        per_cycle[cycle] = committed + cost
    return spent, per_cycle


@settings(max_examples=200, deadline=None)
@given(
    jobs=st.lists(st.tuples(st.floats(1, 20_000), st.floats(0, 50), st.floats(1, 20_000)), min_size=1, max_size=40),
    total=st.floats(0.01, 100), per_cycle=st.floats(0.01, 50), per_job=st.floats(0.001, 20),
    poll=st.floats(0.5, 30), cycle_size=st.integers(1, 5),
)  # fmt: skip
def test_spend_never_exceeds_the_caps(jobs, total, per_cycle, per_job, poll, cycle_size):
    caps = B.Caps(total=total, per_cycle=per_cycle, per_job=per_job)
    spent, by_cycle = simulate(jobs, caps, poll, cycle_size)
    assert spent <= total + 1e-9
    assert all(v <= per_cycle + 1e-9 for v in by_cycle.values())


def test_reservation_respects_the_per_job_cap():
    assert B.reservation(10.0, B.Caps(per_job=4.0)) == 4.0
    assert B.reservation(1.0, B.Caps()) == 1.5
    assert not B.fits(1.0, spent=9.5, reserved=0.0, cycle_committed=0.0, caps=B.Caps(total=10))
    assert math.isclose(B.metered(3600, 2.5), 2.5)


def test_jobs_wait_in_one_queue_for_whichever_host_frees_first(tmp_path):
    """Two hosts, one slot and two: a job goes to the first free slot anywhere, and no host ever
    runs more jobs than its concurrency (checked from the ledger's own timeline)."""
    import asyncio

    from tac.control.backends.local import LocalBackend
    from tac.control.config import LoopConfig
    from tac.control.controller import Controller

    run = tmp_path / "run"
    config = LoopConfig(weights="stand-in:0:" + "0" * 16, generator="random", n=40, max_cycles=1, explore=9,
                        poll_s=0.05, max_inflate_s=None)  # fmt: skip
    slow = LocalBackend(run / "a", concurrency=1, name="a", command=["sleep", "1.0"])
    fast = LocalBackend(run / "b", concurrency=2, name="b", command=["sleep", "0.2"])
    asyncio.run(Controller(run, config, [slow, fast]).run())
    evs = read_events(run / "ledger.jsonl")
    hosts = {e.job_id: e.host for e in evs if e.type == "dispatched"}
    assert len(hosts) == 9
    per_host = {h: sum(v == h for v in hosts.values()) for h in ("a", "b")}
    # the fast host drains the queue while the slow one holds its single slot
    assert per_host["b"] > 2 * per_host["a"] >= 2, per_host
    running = {"a": 0, "b": 0}
    for e in evs:
        if e.type == "dispatched":
            running[e.host] += 1
            assert running["a"] <= 1 and running["b"] <= 2
        elif e.type == "finished":
            running[hosts[e.job_id]] -= 1


def test_the_host_stops_a_job_when_its_budget_lease_runs_out_unless_extended(tmp_path):
    """The supervisor enforces JobLimits.max_wall_s by itself: spend holds even with no
    controller watching. `extend` moves the limit; the job is recorded as cancelled."""
    import time

    from tac.jobs import worker
    from tac.jobs.engines.process import alive

    def submit(job_id: str, lease: float) -> None:
        s = spec(job_id).model_copy(update={"limits": JobLimits(timeout_s=60, max_cost=1, max_wall_s=lease)})  # fmt: skip
        worker.submit(tmp_path, s.model_dump_json(), command=["sleep", "30"])

    def final(job_id: str) -> dict:  # generous: a loaded CI host starts the supervisor slowly
        for _ in range(600):
            info = worker.status(tmp_path, job_id)
            if info["state"] != "running":
                return info
            time.sleep(0.05)
        raise AssertionError(f"{job_id} still running")

    submit("short", 0.5)
    submit("extended", 0.5)
    assert worker.extend(tmp_path, "extended", 1.5)["lease_s"] == 1.5
    assert worker.extend(tmp_path, "extended", 1.0)["lease_s"] == 1.5  # never shortened
    short = final("short")
    # wall_s counts from the supervisor's start; well short of the 30 s sleep
    assert short["state"] == "cancelled" and 0.5 <= short["wall_s"] < 0.5 + 10
    assert "budget lease of 0.5 s ran out" in worker.logs(tmp_path, "short")
    extended = final("extended")
    assert extended["state"] == "cancelled" and 1.5 <= extended["wall_s"] < 1.5 + 10
    # `cancelled` is written just before the supervisor kills its group (worker.py's protocol),
    # so on a loaded host the processes may take a moment longer to be gone
    deadline = time.monotonic() + 10
    while (alive(short["pid"]) or alive(extended["pid"])) and time.monotonic() < deadline:  # fmt: skip
        time.sleep(0.05)
    assert not alive(short["pid"]) and not alive(extended["pid"])


def test_scores_of_another_axis_or_weights_never_count_as_the_runs_best(tmp_path):
    from tac.records import Anchor

    own = Anchor(id="own", kind="lossy", params=PARAMS, runner_axis="cpu", weights=WORLD.weights, archive_bytes=10,
                 archive_sha256="0" * 64, original_bytes=100, pose=0.1, seg=0.1, score=5.0)  # fmt: skip
    foreign = own.model_copy(update={"id": "foreign", "weights": "official", "score": 1.0})
    led = Ledger(tmp_path, "r")
    led.append("run_started", config={"weights": WORLD.weights, "runner_axis": "cpu"})
    for a in (own, foreign):
        led.append("anchor_added", job_id=None, anchor=a, source="seed.json")
    led.close()
    state = load_state(tmp_path)
    assert len(state.anchors) == 2 and [a.id for a in state.measured()] == ["own"]


def test_a_write_behind_ledger_keeps_order_and_raises_a_failed_write(tmp_path, monkeypatch):
    import asyncio
    import os

    import pytest

    ledger = Ledger(tmp_path, "r", write_behind=True)
    for i in range(50):
        ledger.append("heartbeat", job_id=f"j{i}", state="running", wall_s=1.0, log_bytes=0)
    asyncio.run(ledger.synced())
    assert [e.seq for e in read_events(tmp_path / "ledger.jsonl")] == list(range(1, 51))

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    ledger.append("heartbeat", job_id="j", state="running", wall_s=1.0, log_bytes=0)
    with pytest.raises(OSError, match="could not append to the ledger .*No space left"):
        ledger.sync()
    with pytest.raises(OSError, match="could not append"):  # and every append after it
        ledger.append("heartbeat", job_id="j", state="running", wall_s=1.0, log_bytes=0)


def test_on_a_slow_disk_a_job_is_on_disk_as_dispatched_before_it_is_submitted(
    tmp_path, monkeypatch
):
    """The ledger's fsyncs run behind the event loop; what a backend is asked to do must still be
    on disk first (the controller awaits the writer before submitting)."""
    import asyncio
    import os
    import time

    from tac.control.backends.local import LocalBackend
    from tac.control.config import LoopConfig
    from tac.control.controller import Controller

    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(0.03)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    run, seen = tmp_path / "run", []

    class Checking(LocalBackend):
        async def submit(self, spec):
            durable = {
                e.job_id for e in read_events(run / "ledger.jsonl") if e.type == "dispatched"
            }
            seen.append(spec.job_id in durable)
            return await super().submit(spec)

    config = LoopConfig(weights="stand-in:0:" + "0" * 16, generator="random", n=20, max_cycles=1, explore=4,
                        poll_s=0.05, max_inflate_s=None)  # fmt: skip
    asyncio.run(
        Controller(run, config, [Checking(run / "w", concurrency=4, command=["true"])]).run()
    )
    assert seen == [True] * 4
    assert fold(read_events(run / "ledger.jsonl")).finished  # and closing drained the writer


def test_a_cycle_that_admits_nothing_records_which_loop_option_would():
    """The `ranked` event carries the hints, worded with tac loop's options."""
    from tac.control.config import LoopConfig
    from tac.control.ledger import RunState
    from tac.control.plan import plan_cycle
    from tac.control.view import event_line
    from tac.search import MetaLagrangianSearch
    from tac.search.synthetic import sample_params

    anchors = WORLD.anchors(sample_params(12, seed=1))
    config = LoopConfig(weights=WORLD.weights, min_anchors=20, explore=2, n=200, generator="random")
    state = RunState(config={"runner_axis": "cpu", "weights": WORLD.weights}, anchors=anchors)
    plan = plan_cycle(config, state, MetaLagrangianSearch(), price_per_hour=0.0)
    assert plan.ranked["eligible"] == 0 and plan.exploring is not None  # it explores meanwhile
    [hint] = [h for h in plan.ranked["hints"] if h.startswith("--min-anchors")]
    assert hint.startswith("--min-anchors 12 would admit ")
    line = event_line(E.make(1, "r", "ranked", cycle=1, **plan.ranked))
    assert hint in line
