"""The run's memory: an append-only `ledger.jsonl` and the state folded from it.

Every step of the loop appends one event — {v, seq, ts, run_id, type, …} — flushed and fsynced
before the step counts as done, so a controller killed at any instant leaves a ledger that
replays to exactly what had happened. A torn last line (the kill landed mid-write) is ignored
on read; unknown event types are kept but change nothing, so older readers survive newer writers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tac.records import Anchor, JobSpec

LEDGER = "ledger.jsonl"
VERSION = 1


class Ledger:
    """Append events to RUN_DIR/ledger.jsonl; one writer (the controller), any number of readers."""

    def __init__(self, run_dir: str | os.PathLike, run_id: str):
        self.path = Path(run_dir) / LEDGER
        self.run_id = run_id
        events = read_events(self.path)
        self.seq = events[-1]["seq"] if events else 0
        self._repair()
        self._f = open(self.path, "a", encoding="utf-8")

    def _repair(self) -> None:
        """Cut a torn last line so the next append starts on a line of its own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())

    def append(self, type: str, **payload) -> dict:
        self.seq += 1
        event = {"v": VERSION, "seq": self.seq, "ts": time.time(), "run_id": self.run_id, "type": type, **payload}  # fmt: skip
        self._f.write(json.dumps(event, separators=(",", ":")) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        return event

    def close(self) -> None:
        self._f.close()


def read_events(path: str | os.PathLike) -> list[dict]:
    """Every complete event; a torn or garbled last line is skipped (it never finished)."""
    path = Path(path)
    if not path.exists():
        return []
    events = []
    lines = path.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # the last (possibly unterminated) line: a torn write
                break
            raise ValueError(f"{path}: line {i + 1} is not JSON; the ledger is damaged") from None
    return events


@dataclass
class JobState:
    job_id: str
    candidate_id: str
    host: str
    cycle: int
    spec: dict
    reserved: float = 0.0
    state: str = "dispatched"  # dispatched | running | ok | failed | lost | cancelled
    cost: float | None = None  # metered, set when finished
    wall_s: float = 0.0
    detail: str = ""
    harvested: bool | None = None  # None: not judged yet
    attempt: int = 0

    @property
    def finished(self) -> bool:
        return self.cost is not None


@dataclass
class RunState:
    """What the ledger says happened, folded event by event."""

    run_id: str = ""
    config: dict = field(default_factory=dict)
    cycle: int = 0
    cycles_finished: int = 0
    jobs: dict[str, JobState] = field(default_factory=dict)
    anchors: list[Anchor] = field(default_factory=list)
    spent: float = 0.0
    cycle_spent: dict[int, float] = field(default_factory=dict)
    best: list[float] = field(default_factory=list)  # best score after each finished cycle
    multipliers: dict[str, float] = field(default_factory=dict)
    paused: bool = False
    caps: dict[str, float | None] = field(
        default_factory=dict
    )  # set by steering, over the config's
    control_acked: set[str] = field(default_factory=set)  # control.jsonl ids already applied
    stop_reason: str = ""
    finished: bool = False
    refusals: dict[str, int] = field(default_factory=dict)  # last ranking's counts by code
    last_ranked: list[dict] = field(default_factory=list)

    @property
    def reserved(self) -> float:
        return sum(j.reserved for j in self.jobs.values() if not j.finished)

    @property
    def running(self) -> list[JobState]:
        return [j for j in self.jobs.values() if not j.finished]

    @property
    def dispatched_candidates(self) -> set[str]:
        return {j.candidate_id for j in self.jobs.values()}

    def apply(self, e: dict) -> None:
        t = e.get("type")
        if t == "run_started":
            self.run_id, self.config = e["run_id"], e.get("config", {})
        elif t == "cycle_started":
            self.cycle = e["cycle"]
        elif t == "ranked":
            self.refusals = e.get("refusals", {})
            self.last_ranked = e.get("top", [])
        elif t == "dispatched":
            spec = JobSpec.model_validate(e["spec"])
            self.jobs[e["job_id"]] = JobState(
                e["job_id"], spec.candidate.id, e["host"], e["cycle"], e["spec"],
                reserved=e.get("reserved", 0.0), attempt=e.get("attempt", 0),
            )  # fmt: skip
        elif t == "reserved" and e.get("job_id") in self.jobs:  # a top-up while running
            self.jobs[e["job_id"]].reserved += e["amount"]
        elif t == "heartbeat" and e["job_id"] in self.jobs:
            job = self.jobs[e["job_id"]]
            job.state, job.wall_s = e.get("state", job.state), e.get("wall_s", job.wall_s)
        elif t == "finished" and e["job_id"] in self.jobs:
            job = self.jobs[e["job_id"]]
            if not job.finished:  # counted once, whatever a replay does
                job.state, job.cost, job.wall_s = e["outcome"], e["cost"], e.get("wall_s", 0.0)
                job.detail = e.get("detail", "")
                self.spent += e["cost"]
                self.cycle_spent[job.cycle] = self.cycle_spent.get(job.cycle, 0.0) + e["cost"]
        elif t == "harvested" and e["job_id"] in self.jobs:
            self.jobs[e["job_id"]].harvested = e["ok"]
            if not e["ok"]:
                self.jobs[e["job_id"]].detail = e.get("reason", "")
        elif t == "anchor_added":
            self.anchors.append(Anchor.model_validate(e["anchor"]))
        elif t == "multipliers":
            self.multipliers = e["values"]
        elif t == "cycle_finished":
            self.cycles_finished = e["cycle"]
            if e.get("best") is not None:
                self.best.append(e["best"])
        elif t == "control":
            self.paused = e.get("paused", self.paused)
            self.caps = e.get("caps", self.caps) if e.get("ok") else self.caps
            if e.get("id"):
                self.control_acked.add(e["id"])
        elif t in ("converged", "stopping"):
            self.stop_reason = e.get("reason", t)
        elif t == "run_finished":
            self.finished, self.stop_reason = True, e.get("reason", self.stop_reason)


def fold(events: list[dict]) -> RunState:
    state = RunState()
    for e in events:
        state.apply(e)
    return state


def load_state(run_dir: str | os.PathLike) -> RunState:
    return fold(read_events(Path(run_dir) / LEDGER))
