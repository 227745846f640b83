"""The run's memory: an append-only `ledger.jsonl` and the state folded from it.

Every step of the loop appends one event (a record of `tac.control.events`) — flushed and
fsynced before the step counts as done, so a controller killed at any instant leaves a ledger
that replays to exactly what had happened. A line that does not read back as an event (a torn
write, damage, a hostile edit) is counted and skipped by every reader; the writer cuts an
unreadable last line before appending, so its next event starts on a clean line.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tac.control import events as E
from tac.records import Anchor, JobSpec, Rung

LEDGER = "ledger.jsonl"


@dataclass
class LedgerRead:
    events: list[E.Event]
    unreadable: list[int]  # 1-based line numbers that were skipped

    def note(self, path: Path) -> str:
        """One line for a person, or "" when every line read."""
        if not self.unreadable:
            return ""
        n, first = len(self.unreadable), self.unreadable[0]
        return f"{path}: skipped {n} unreadable line{'s' * (n > 1)} (first: line {first})"


def parse_lines(lines: list[bytes], first: int = 1) -> LedgerRead:
    """Ledger lines (numbered from `first`) as events; blank lines are neither."""
    events, unreadable = [], []
    for i, line in enumerate(lines, first):
        if not line.strip():
            continue
        event = E.parse_line(line)
        if event is None:
            unreadable.append(i)
        else:
            events.append(event)
    return LedgerRead(events, unreadable)


def read_ledger(path: str | os.PathLike) -> LedgerRead:
    """Every readable event of a ledger, and which lines were not."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return LedgerRead([], [])
    return parse_lines(data.split(b"\n"))


def read_events(path: str | os.PathLike) -> list[E.Event]:
    return read_ledger(path).events


class Ledger:
    """Append events to RUN_DIR/ledger.jsonl; one writer (the controller), any number of readers.

    By default `append` returns once its line is fsynced. With `write_behind`, a thread writes
    and fsyncs the lines in order while `append` returns at once, so a slow disk never stalls
    the caller's event loop; the caller then makes what it appended durable before acting on it
    outside the process (`await synced()` before submitting, extending or cancelling a job). A
    crash loses at most events that nothing outside has acted on yet: replaying decides them
    again. A write that fails is raised by the next append or sync.
    """

    def __init__(self, run_dir: str | os.PathLike, run_id: str, write_behind: bool = False):
        self.path = Path(run_dir) / LEDGER
        self.run_id = run_id
        self._repair()
        self.seq = max((e.seq for e in read_events(self.path)), default=0)
        self._f = open(self.path, "a", encoding="utf-8")
        self._queue: queue.SimpleQueue[str | None] | None = None
        if write_behind:
            self._queue = queue.SimpleQueue()
            self._done = threading.Condition()
            self._queued = self._written = 0
            self._error: BaseException | None = None
            self._thread = threading.Thread(target=self._writer, name="tac-ledger", daemon=True)
            self._thread.start()

    def _repair(self) -> None:
        """Cut an unreadable last line (a torn write, or garbage after the last event), so the
        next append starts on a line of its own and every reader sees it."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        body = data.rstrip(b"\n")
        start = body.rfind(b"\n") + 1
        with open(self.path, "r+b") as f:
            if E.parse_line(body[start:]) is None:
                f.truncate(start)
            elif not data.endswith(b"\n"):  # a whole event that lost only its newline
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
            else:
                return
            f.flush()
            os.fsync(f.fileno())

    def append(self, type: str, **payload) -> E.Event:
        event = E.make(self.seq + 1, self.run_id, type, **payload)
        line = event.model_dump_json() + "\n"
        if self._queue is None:
            self._write(line)
        else:
            self._raise_failure()
            self._queued += 1
            self._queue.put(line)
        self.seq = event.seq
        return event

    def _write(self, line: str) -> None:
        self._f.write(line)
        self._f.flush()
        os.fsync(self._f.fileno())

    def _writer(self) -> None:
        while (line := self._queue.get()) is not None:
            try:
                if self._error is None:
                    self._write(line)
            except BaseException as exc:  # a full or failing disk: the next append raises it
                self._error = exc
            with self._done:
                self._written += 1
                self._done.notify_all()

    def _raise_failure(self) -> None:
        if self._queue is not None and self._error is not None:
            raise OSError(f"{self.path}: could not append to the ledger ({self._error})")

    def sync(self) -> None:
        """Block until every appended event is on disk."""
        if self._queue is not None:
            with self._done:
                target = self._queued
                self._done.wait_for(lambda: self._written >= target)
            self._raise_failure()

    async def synced(self) -> None:
        """`sync` without blocking the event loop (at once when nothing is pending)."""
        if self._queue is not None and self._written < self._queued:
            await asyncio.to_thread(self.sync)
        self._raise_failure()

    def close(self) -> None:
        if self._queue is not None:
            self.sync()
            self._queue.put(None)
            self._thread.join()
        self._f.close()


INTERRUPTED = "interrupted"  # the stop reason of a Ctrl-C (or SIGTERM) of the loop


@dataclass
class JobState:
    job_id: str
    candidate_id: str
    host: str
    cycle: int
    spec: JobSpec
    reserved: float = 0.0
    state: str = "dispatched"  # dispatched | running | ok | failed | lost | cancelled
    cost: float | None = None  # metered, set when finished
    wall_s: float = 0.0
    detail: str = ""
    harvested: bool | None = None  # None: not judged yet
    attempt: int = 0
    rungs: list[Rung] = field(default_factory=list)  # its intermediate results, in order
    pruned: str = ""  # why the loop stopped it early, once it decided to

    def has_rung(self, rung: Rung) -> bool:
        return any(r.step == rung.step and r.final == rung.final for r in self.rungs)

    @property
    def final_rung(self) -> Rung | None:
        """The checkpoint its submission was built from, when the job reported one."""
        return next((r for r in reversed(self.rungs) if r.final), None)

    @property
    def finished(self) -> bool:
        return self.cost is not None

    @property
    def awaits_harvest(self) -> bool:
        """Finished ok (or lost, in case its host kept it running) and not judged yet."""
        return self.finished and self.harvested is None and self.state in ("ok", "lost")


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
    last_ranked: list[E.TopRow] = field(default_factory=list)

    @property
    def reserved(self) -> float:
        return sum(j.reserved for j in self.jobs.values() if not j.finished)

    @property
    def running(self) -> list[JobState]:
        return [j for j in self.jobs.values() if not j.finished]

    def cycle_commitment(self, cycle: int) -> tuple[float, float]:
        """(spent, reserved) of one cycle: what its per-cycle cap is measured against."""
        reserved = sum(j.reserved for j in self.running if j.cycle == cycle)
        return self.cycle_spent.get(cycle, 0.0), reserved

    def measured(self) -> list[Anchor]:
        """Lossy anchors on this run's axis and weights, best first: what its scores are (seeded
        anchors from elsewhere are kept for the record, never compared with them)."""
        return sorted(filter(self.is_measured, self.anchors), key=lambda a: (a.score, a.id))

    def is_measured(self, a: Anchor) -> bool:
        """A lossy anchor on this run's axis and weights: one of `measured`."""
        axis, weights = self.config.get("runner_axis", "cpu"), self.config.get("weights")
        return a.kind == "lossy" and a.runner_axis == axis and a.weights == weights

    def summary(self) -> dict:
        """What RUN_DIR/summary.json says: the outcome, in a few numbers and the best anchor."""
        best = next(iter(self.measured()), None)
        return {
            "run_id": self.run_id, "reason": self.stop_reason, "cycles": self.cycles_finished, "spent": self.spent,
            "jobs": {st: sum(j.state == st for j in self.jobs.values()) for st in ("ok", "failed", "lost", "cancelled")},
            "anchors": len(self.anchors),
            "best": None if best is None else {"id": best.id, "score": best.score, "weights": best.weights,
                                               "runner_axis": best.runner_axis, "archive_sha256": best.archive_sha256},
        }  # fmt: skip

    def checkpoint_of(self, candidate_id: str) -> tuple[JobState, Rung] | None:
        """The job that measured `candidate_id` and the final checkpoint it kept (what a warm
        start continues from), or None when no job of this run has one."""
        for job in self.jobs.values():
            if job.candidate_id == candidate_id and job.harvested and job.final_rung is not None:
                return job, job.final_rung
        return None

    @property
    def dispatched_candidates(self) -> set[str]:
        """Candidates that need no new job: every one with a job, except those whose only jobs
        were cancelled by an interrupted loop (a resumed run may pick them again)."""
        return {
            j.candidate_id
            for j in self.jobs.values()
            if not (j.state == "cancelled" and j.detail == INTERRUPTED)
        }

    def apply(self, e: E.Event) -> None:
        match e:
            case E.RunStarted():
                self.run_id, self.config = e.run_id, dict(e.config)
            case E.Resumed():  # a finished or interrupted run goes on
                self.finished, self.stop_reason = False, ""
                if e.max_cycles is not None:
                    self.config = self.config | {"max_cycles": e.max_cycles}
            case E.CycleStarted():
                self.cycle = e.cycle
            case E.Ranked():
                self.refusals, self.last_ranked = dict(e.refusals), list(e.top)
            case E.Dispatched():
                self.jobs[e.job_id] = JobState(
                    e.job_id, e.spec.candidate.id, e.host, e.cycle, e.spec, reserved=e.reserved,
                    attempt=e.attempt,
                )  # fmt: skip
            case E.Reserved() if e.job_id in self.jobs:  # a top-up while running
                self.jobs[e.job_id].reserved += e.amount
            case E.Heartbeat() if e.job_id in self.jobs:
                job = self.jobs[e.job_id]
                job.state, job.wall_s = e.state, e.wall_s
            case E.Finished() if e.job_id in self.jobs:
                job = self.jobs[e.job_id]
                if not job.finished:  # counted once, whatever a replay does
                    job.state, job.cost, job.wall_s, job.detail = (
                        e.outcome,
                        e.cost,
                        e.wall_s,
                        e.detail,
                    )
                    self.spent += e.cost
                    self.cycle_spent[job.cycle] = self.cycle_spent.get(job.cycle, 0.0) + e.cost
            case E.Intermediate() if e.job_id in self.jobs:
                job = self.jobs[e.job_id]
                if not job.has_rung(e.rung):  # counted once, whatever a replay does
                    job.rungs.append(e.rung)
            case E.Pruned() if e.job_id in self.jobs:
                self.jobs[e.job_id].pruned = e.reason
            case E.Harvested() if e.job_id in self.jobs:
                job = self.jobs[e.job_id]
                job.harvested = e.ok
                if not e.ok:
                    job.detail = e.reason
            case E.AnchorAdded():
                self.anchors.append(e.anchor)
            case E.Multipliers():
                self.multipliers = dict(e.values)
            case E.CycleFinished():
                self.cycles_finished = e.cycle
                if e.best is not None:
                    self.best.append(e.best)
            case E.Control():
                self.paused = e.paused
                if e.ok:
                    self.caps = dict(e.caps)
                self.control_acked.add(e.id)
            case E.Stopping():
                self.stop_reason = e.reason
            case E.RunFinished():
                self.finished, self.stop_reason = True, e.reason


def fold(events: list[E.Event]) -> RunState:
    state = RunState()
    for e in events:
        state.apply(e)
    return state


def load_state(run_dir: str | os.PathLike) -> RunState:
    return fold(read_events(Path(run_dir) / LEDGER))
