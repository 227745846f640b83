"""Runs on disk, read back: what `tac runs`, `tac export` and `tac plot` show.

A run is a directory with a `ledger.jsonl`; everything here is folded from it (plus
`config.json`), read-only, so it works on a finished run, a killed one, or one still running.
Scores are compared only within one runner axis and one set of scorer weights: a run's best is
taken from its own axis and weights (`RunState.measured`), and `compare` says when two runs
were scored differently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tac.control import events as E
from tac.control.ledger import LEDGER, RunState, fold, read_ledger
from tac.errors import TacError
from tac.records import Anchor

RUNS_ROOT = Path("runs")


@dataclass
class Run:
    path: Path
    state: RunState
    unreadable: int  # ledger lines skipped
    started: float | None  # the first event's time
    updated: float | None  # the last event's time
    cycle_bests: dict[int, float | None]  # the best score after each finished cycle

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        if self.state.finished:
            return f"finished: {self.state.stop_reason}"
        if self.state.stop_reason:
            return f"stopped: {self.state.stop_reason}"
        return "running or killed"

    @property
    def scored_on(self) -> str:
        """Which scores these are: runner axis and weights."""
        return (
            f"{self.state.config.get('runner_axis', '?')}, {self.state.config.get('weights', '?')}"
        )

    def best_per_lane(self) -> dict[str, Anchor]:
        best: dict[str, Anchor] = {}
        for anchor in self.state.measured():  # best first
            best.setdefault(anchor.lane or "?", anchor)
        return best

    def jobs_by_outcome(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for job in self.state.jobs.values():
            out[job.state] = out.get(job.state, 0) + 1
        return out

    def summary(self) -> dict:
        """One run in a few numbers (`tac runs list/compare --json`)."""
        best = next(iter(self.state.measured()), None)
        return {
            "run": self.name, "path": str(self.path), "status": self.status,
            "cycles": self.state.cycles_finished, "jobs": self.jobs_by_outcome(),
            "anchors": len(self.state.anchors), "spent": self.state.spent,
            "runner_axis": self.state.config.get("runner_axis"), "weights": self.state.config.get("weights"),
            "lanes": self.state.config.get("lanes", []),
            "best": None if best is None else anchor_row(best),
            "best_per_lane": {lane: anchor_row(a) for lane, a in self.best_per_lane().items()},
            "started": self.started, "updated": self.updated, "unreadable_lines": self.unreadable,
        }  # fmt: skip


def load_run(path: str | os.PathLike) -> Run:
    path = Path(path)
    if not (path / LEDGER).is_file():
        raise TacError(f"{path}: not a tac run (no {LEDGER}); `tac runs list` shows the runs under runs/")  # fmt: skip
    read = read_ledger(path / LEDGER)
    events = read.events
    bests = {e.cycle: e.best for e in events if isinstance(e, E.CycleFinished)}
    return Run(path, fold(events), len(read.unreadable),
               events[0].ts if events else None, events[-1].ts if events else None, bests)  # fmt: skip


def find_runs(root: str | os.PathLike = RUNS_ROOT) -> list[Run]:
    """Every run directly under `root` (a directory with a ledger), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [load_run(d) for d in sorted(root.iterdir()) if (d / LEDGER).is_file()]
    return sorted(runs, key=lambda r: (r.started or 0.0, r.name))


def anchor_row(a: Anchor) -> dict:
    return {
        "id": a.id, "lane": a.lane, "kind": a.kind, "score": a.score, "seg": a.seg, "pose": a.pose,
        "archive_bytes": a.archive_bytes, "rate": a.archive_bytes / a.original_bytes,
        "runner_axis": a.runner_axis, "weights": a.weights, "archive_sha256": a.archive_sha256,
        "wall_s": a.wall_s,
    }  # fmt: skip


def anchors_table(run: Run) -> list[dict]:
    """Every anchor of the run, in ledger order (seeded ones too: their axis and weights say so)."""
    return [anchor_row(a) for a in run.state.anchors]


def jobs_table(run: Run) -> list[dict]:
    return [
        {
            "job_id": j.job_id,
            "candidate": j.candidate_id,
            "lane": j.spec.candidate.lane,
            "host": j.host,
            "cycle": j.cycle,
            "attempt": j.attempt,
            "state": j.state,
            "cost": j.cost,
            "wall_s": j.wall_s,
            "reserved": j.reserved,
            "harvested": j.harvested,
            "detail": j.detail,
        }  # fmt: skip
        for j in run.state.jobs.values()
    ]


def cycles_table(run: Run) -> list[dict]:
    """Per finished cycle: the best score after it (the run's own axis and weights) and spend."""
    return [
        {"cycle": cycle, "best": best, "spent": run.state.cycle_spent.get(cycle, 0.0)}
        for cycle, best in sorted(run.cycle_bests.items())
    ]
