"""What the dashboard knows about a run: the ledger, tailed and folded into rows for the views.

Pure Python, no Textual: a thread worker owns a `RunModel`, feeds it new events and the app reads
it under the model's lock. The loop's own fold (`tac.control.ledger.RunState`) stays the truth for
jobs, spend and anchors; this module adds what only a watcher needs — candidate rows keyed by id,
band-vs-measured pairs, the cycle timeline, per-host counts, the last log line of each job and each
training job's learning curve (its rungs with the loop's bands, pruning, warm starts).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tac.control import events as E
from tac.control.events import Event
from tac.control.ledger import LEDGER, RunState, parse_lines

FEED_BATCH = 5000  # events folded per hold of the model's lock


class LedgerTail:
    """Complete new lines of a ledger since the last read, as validated events.

    A torn last line (the writer is mid-append, or was killed there) is left for the next read;
    a line that does not read back as an event (`tac.control.events.parse_line`) is skipped and
    counted instead of stopping the dashboard; a line longer than one read is skipped whole (the
    tail moves on instead of waiting forever for its end); a file that shrank (rewritten from
    scratch) restarts the tail.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.offset = 0
        self.skipped = 0
        self._in_long_line = False  # inside a line longer than one read: drop up to its end

    def read(self, max_bytes: int = 64 << 20) -> tuple[list[Event], bool]:
        """(new events, restarted). Raises FileNotFoundError when the ledger is gone."""
        size = self.path.stat().st_size
        restarted = size < self.offset
        if restarted:
            self.offset, self._in_long_line = 0, False
        if size == self.offset:
            return [], restarted
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(max_bytes)
        end = data.rfind(b"\n") + 1
        if end == 0:
            if len(data) < max_bytes:
                return [], restarted  # a line still being written
            self.offset += len(data)  # one line fills the read: no event is that long
            if not self._in_long_line:
                self.skipped += 1
            self._in_long_line = True
            return [], restarted
        self.offset += end
        lines = data[:end].split(b"\n")
        if self._in_long_line:  # the rest of the over-long line
            lines, self._in_long_line = lines[1:], False
        read = parse_lines(lines)
        self.skipped += len(read.unreadable)
        return read.events, restarted


@dataclass
class CandidateRow:
    id: str
    lane: str = ""  # the lane the setting belongs to ("" until an event names it)
    params: str = ""  # the lane's own short label of the setting
    rank: int | None = None
    band: tuple[float, float, float] | None = None  # predicted lo, mid, hi (an estimate)
    band_at_dispatch: tuple[float, float, float] | None = (
        None  # what was predicted before measuring
    )
    bytes: int | None = None  # predicted, until measured
    bytes_measured: bool = False
    status: str = (
        "ranked"  # eligible | refused | explore | dispatched | running | ok | … | anchored
    )
    score: float | None = None  # measured, only from a harvested anchor
    refusal: str | None = None
    reason: str = ""
    job_id: str | None = None
    cycle: int | None = None


@dataclass
class CycleRow:
    cycle: int
    started: float | None = None
    finished: float | None = None
    jobs: int = 0
    best: float | None = None  # the run's best when the cycle finished
    own_best: float | None = None  # the best this cycle's own jobs measured, so far
    exploring: bool = False


@dataclass(frozen=True)
class RungPoint:
    """One exact evaluation a training job made at a checkpoint (`tac.records.Rung`), with the
    band the loop then predicted for the job's final score (an estimate), or why it had none."""

    step: int
    steps: int
    score: float
    band: tuple[float, float, float] | None  # lo, mid, hi of the final score
    note: str
    final: bool  # the checkpoint the job's submission is built from

    @property
    def fidelity(self) -> float:
        return min(1.0, self.step / self.steps)


@dataclass
class JobCurve:
    """What the curves tab and the jobs table know of one job beyond its state: its rungs in
    the order they came, whether the loop pruned it and which job's checkpoint it continued."""

    job_id: str
    tag: str  # "cycle.n": its place in the dispatch order, short enough for a plot's legend
    label: str  # the setting's own short label (the lane's)
    parent: str | None = None  # the job whose checkpoint it continued from (a warm start)
    rungs: list[RungPoint] = field(default_factory=list)
    pruned: tuple[str, int, str] | None = None  # (rule, step, reason) once the loop stopped it

    def add(self, rung: RungPoint) -> None:
        # once per (step, final), as the loop's own fold counts it: a replay adds nothing
        if not any(r.step == rung.step and r.final == rung.final for r in self.rungs):
            self.rungs.append(rung)


@dataclass
class RankingSummary:
    """How much of the latest ranking the ledger shows: the top of the eligible candidates and a
    few examples of each refusal (`tac.search.rank.Ranking.digest`), out of `n`."""

    cycle: int
    n: int
    eligible: int
    eligible_shown: int
    refused_shown: int

    def words(self) -> str:
        refused = self.n - self.eligible
        return (f"cycle {self.cycle} ranking: top {self.eligible_shown} of {self.eligible} eligible shown"
                f", {self.refused_shown} of {refused} refused as examples")  # fmt: skip


@dataclass
class RunModel:
    """The run as the dashboard shows it. Mutated only by `feed`, under `lock`."""

    run_dir: Path
    state: RunState = field(default_factory=RunState)
    candidates: dict[str, CandidateRow] = field(default_factory=dict)
    cycles: dict[int, CycleRow] = field(default_factory=dict)
    last_log: dict[str, str] = field(default_factory=dict)  # job id → last log line
    log_bytes: dict[str, int] = field(default_factory=dict)
    controls: list[dict] = field(default_factory=list)  # acknowledged control events, in order
    ranking: RankingSummary | None = None  # the latest ranking, in numbers
    curves: dict[str, JobCurve] = field(default_factory=dict)  # job id → its curve, from dispatch
    _tags: dict[int, int] = field(default_factory=dict, repr=False)  # cycle → jobs tagged in it
    events: int = 0
    skipped: int = 0  # events the fold could not use (malformed known types)
    skipped_lines: int = 0  # ledger lines that were not JSON
    last_ts: float | None = None
    vanished: str = ""  # why the run directory cannot be read, when it cannot
    version: int = 0  # bumped by every change: the app redraws only when it moved
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def config(self) -> dict:
        return self.state.config

    def caps(self) -> dict[str, float | None]:
        """Total, per-cycle and per-job caps as the loop now applies them (steering wins)."""
        c = self.state.config
        base = {k: c.get(k) for k in ("max_total_cost", "max_cost_per_cycle", "max_cost_per_job")}
        return base | self.state.caps

    @property
    def weights_official(self) -> bool:
        return str(self.state.config.get("weights", "")).startswith("official")

    def status(self) -> str:
        if self.vanished:
            return "vanished"
        if not self.state.run_id:
            return "waiting"
        if self.state.finished:
            return "finished"
        if self.state.stop_reason:
            return "stopping"
        return "paused" if self.state.paused else "running"

    def best(self) -> float | None:
        return next((a.score for a in self.state.measured()), None)

    # --- feeding --------------------------------------------------------------------------
    def reset(self) -> None:
        self.state, self.candidates, self.cycles = RunState(), {}, {}
        self.last_log, self.log_bytes, self.controls, self.ranking = {}, {}, [], None
        self.curves, self._tags = {}, {}
        self.events = self.skipped = 0
        self.last_ts = None

    def feed(self, events: list[Event]) -> None:
        for e in events:
            try:
                self.state.apply(e)
                self._apply(e)
            except (KeyError, TypeError, ValueError, AttributeError):
                self.skipped += 1  # well-formed, but at odds with the events before it
            self.events += 1
            self.last_ts = e.ts
        if events:
            self.version += 1

    def _row(self, cid: str) -> CandidateRow:
        row = self.candidates.get(cid)
        if row is None:
            row = self.candidates[cid] = CandidateRow(cid)
        return row

    def _apply(self, e: Event) -> None:
        match e:
            case E.CycleStarted():
                self.cycles[e.cycle] = CycleRow(e.cycle, started=e.ts)
            case E.CycleFinished():
                row = self.cycles.setdefault(e.cycle, CycleRow(e.cycle))
                row.finished, row.best = e.ts, e.best
            case E.Ranked():
                for row in self.candidates.values():
                    row.rank = None  # only the latest ranking has ranks
                for r in e.shown:
                    row = self._row(r.id)
                    # a refused candidate has no place in the order: its position is an artefact
                    row.rank = None if r.refusal else r.rank
                    row.lane, row.params = r.lane, r.params or row.params
                    row.band = tuple(r.band) if r.band else None
                    if not row.bytes_measured:
                        row.bytes = r.bytes
                    row.refusal, row.reason = r.refusal, r.reason
                    if row.job_id is None:
                        row.status = "refused" if row.refusal else "eligible"
                refused_shown = sum(r.refusal is not None for r in e.shown)
                self.ranking = RankingSummary(e.cycle, e.n, e.eligible, len(e.shown) - refused_shown, refused_shown)  # fmt: skip
            case E.Exploring():
                lanes = e.lanes or [""] * len(e.ids)  # older ledgers name no lanes here
                for cid, params, lane in zip(e.ids, e.params or [""] * len(e.ids), lanes, strict=False):  # fmt: skip
                    row = self._row(cid)
                    row.params, row.lane = row.params or params, row.lane or lane
                    if row.job_id is None:
                        row.status, row.reason = "explore", e.reason
                if e.cycle in self.cycles:
                    self.cycles[e.cycle].exploring = True
            case E.Dispatched():
                cand = e.spec.candidate
                row = self._row(cand.id)
                row.lane, row.params = row.lane or cand.lane, row.params or cand.params.short()
                if cand.band is not None:  # the band the pick was made on
                    row.band = row.band_at_dispatch = (cand.band.lo, cand.band.mid, cand.band.hi)
                elif cand.purpose != "explore":
                    row.band_at_dispatch = row.band
                row.status, row.job_id, row.cycle = "dispatched", e.job_id, e.cycle
                if e.cycle in self.cycles:
                    self.cycles[e.cycle].jobs += 1
                if e.job_id not in self.curves:  # a re-dispatch keeps the rungs already seen
                    n = self._tags[e.cycle] = self._tags.get(e.cycle, 0) + 1
                    warm = e.spec.warm_start
                    self.curves[e.job_id] = JobCurve(e.job_id, f"{e.cycle}.{n}", cand.params.short(), warm.parent_job if warm else None)  # fmt: skip
            case E.Heartbeat():
                self._job_row(e.job_id, e.state)
            case E.Finished():
                curve = self.curves.get(e.job_id)
                pruned = curve is not None and curve.pruned is not None and e.outcome == "cancelled"  # fmt: skip
                self._job_row(e.job_id, "pruned" if pruned else e.outcome)
            case E.Intermediate() if e.job_id in self.curves:
                r = e.rung
                band = (e.band[0], e.band[1], e.band[2]) if e.band else None
                self.curves[e.job_id].add(RungPoint(r.step, r.steps, r.score, band, e.note, r.final))  # fmt: skip
            case E.Pruned() if e.job_id in self.curves:
                self.curves[e.job_id].pruned = (e.rule, e.step, e.reason)
            case E.Harvested() if not e.ok:
                self._job_row(e.job_id, "rejected")
            case E.AnchorAdded():
                a = e.anchor
                row = self._row(a.id)
                row.score, row.bytes, row.bytes_measured, row.status = a.score, a.archive_bytes, True, "anchored"  # fmt: skip
                if not row.params and a.params is not None:
                    row.params = a.params.short()
                row.lane = row.lane or a.lane or ""  # None: a lossless anchor has no lane
                cycle = self.cycles.get(row.cycle) if row.cycle is not None else None
                if cycle is not None and self.state.is_measured(a) and (cycle.own_best is None or a.score < cycle.own_best):  # fmt: skip
                    cycle.own_best = a.score
            case E.Log():
                self.last_log[e.job_id] = e.last
                self.log_bytes[e.job_id] = e.bytes
            case E.Control():
                self.controls.append(e)

    def _job_row(self, job_id: str, status: str) -> None:
        job = self.state.jobs.get(job_id)
        if job is None:
            return
        row = self._row(job.candidate_id)
        if row.job_id == job_id and row.status != "anchored":
            row.status = status

    # --- derived views ----------------------------------------------------------------------
    def bands_vs_measured(self) -> list[tuple[int, str, float, float, float, float | None]]:
        """(cycle, id, lo, mid, hi, measured) for every candidate dispatched with a band: the
        prediction made before the measurement, never one made after it."""
        out = []
        for row in self.candidates.values():
            if row.cycle is not None and row.band_at_dispatch is not None:
                out.append((row.cycle, row.id, *row.band_at_dispatch, row.score))
        return sorted(out)

    def frontier(self) -> tuple[list[tuple[int, float, str]], list[tuple[int, float]]]:
        """Every lossy anchor as (bytes, score, id), and the bytes-vs-score Pareto frontier."""
        points = sorted((a.archive_bytes, a.score, a.id) for a in self.state.measured())
        front, best = [], float("inf")
        for nbytes, score, _ in points:
            if score < best:
                best = score
                front.append((nbytes, score))
        return points, front

    def learning_curves(self) -> list[JobCurve]:
        """The jobs that reported at least one rung, in dispatch order."""
        return [c for c in self.curves.values() if c.rungs]

    def hosts(self) -> list[tuple[str, int, int, float]]:
        """(host, running, finished, spent) per host that has had a job."""
        acc: dict[str, list] = {}
        for job in self.state.jobs.values():
            h = acc.setdefault(job.host, [0, 0, 0.0])
            if job.finished:
                h[1] += 1
                h[2] += job.cost or 0.0
            else:
                h[0] += 1
        return [(name, *v) for name, v in sorted(acc.items())]

    def cycle_committed(self, cycle: int) -> tuple[float, float]:
        """(spent, reserved) of one cycle."""
        return self.state.cycle_commitment(cycle)


def newest_run(root: str | os.PathLike = "runs") -> Path | None:
    """The run under `root` whose ledger changed last."""
    ledgers = sorted(Path(root).glob(f"*/{LEDGER}"), key=lambda p: p.stat().st_mtime)
    return ledgers[-1].parent if ledgers else None


def load(model: RunModel, tail: LedgerTail) -> bool:
    """Read what is new into the model; True if anything changed. Never raises for a run
    directory that vanished or a ledger that is not there yet: the model says so instead."""
    try:
        events, restarted = tail.read()
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            why = "" if model.run_dir.is_dir() else f"{model.run_dir} is gone"
        else:
            why = f"{tail.path}: {exc.strerror or exc}"
        with model.lock:
            changed = why != model.vanished
            model.vanished = why
            model.version += changed
        return changed
    with model.lock:
        was = model.vanished
        model.vanished = ""
        if restarted:
            model.reset()
        model.skipped_lines = tail.skipped
        if was:
            model.version += 1
    # a long backlog is folded in slices so the app can draw between them
    for start in range(0, len(events), FEED_BATCH):
        with model.lock:
            model.feed(events[start : start + FEED_BATCH])
    return bool(events) or restarted or bool(was)
