"""Every ledger event as a record: one schema for the writer and for every reader.

The controller builds each event through `make` (a typo or a wrong type fails where it is
written, not in a reader days later); the loop's fold, `tac steer`, the loop's event lines and
tac-dash read lines through `parse_line`, which returns a validated record or None. A line that
is not JSON, not an object, deeper than the parser allows, not UTF-8, or whose fields have the
wrong types (`"cost": "abc"`, `"ts": NaN`, `"cycle": "three"`) is unreadable: readers count it
and skip it, the way Optuna's journal skips operations it cannot apply. A well-formed event of a
type this version does not know is kept as an `UnknownEvent` and changes nothing, so an older
reader survives a newer writer.

Fields are strict (no "3" for 3) and numbers finite; nested records (`JobSpec`, `Anchor`) are
validated by their own models in `tac.records`.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tac.records import Anchor, JobSpec, Rung

VERSION = 1

Num = Annotated[float, Field(allow_inf_nan=False)]
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Cycle = Annotated[int, Field(ge=1)]
JobStateName = Literal["dispatched", "running", "ok", "failed", "lost", "cancelled", "unknown"]
Outcome = Literal["ok", "failed", "lost", "cancelled"]


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    v: Literal[1] = VERSION
    seq: Annotated[int, Field(ge=1)]
    ts: Num
    run_id: str
    type: str


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- the run ----------------------------------------------------------------------------------
class RunStarted(Event):
    type: Literal["run_started"]
    config: dict[str, Any]


class Resumed(Event):
    type: Literal["resumed"]
    running: list[str]  # jobs reattached
    max_cycles: Cycle | None = None  # the run's new --max-cycles, when the resume changed it


class RunFinished(Event):
    type: Literal["run_finished"]
    reason: str
    spent: Cost
    best: Num | None = None


class Stopping(Event):
    type: Literal["stopping", "converged"]
    reason: str


# --- cycles and ranking -------------------------------------------------------------------------
class CycleStarted(Event):
    type: Literal["cycle_started"]
    cycle: Cycle


class CycleFinished(Event):
    type: Literal["cycle_finished"]
    cycle: Cycle
    best: Num | None = None


class TopRow(_Row):
    id: str
    lo: Num
    mid: Num
    hi: Num


class ShownRow(_Row):
    """One candidate as a watcher sees it (`Ranking.digest`)."""

    id: str
    lane: str = "codec"  # ledgers written before lanes were plug-ins had only the codec lane
    rank: Annotated[int, Field(ge=1)] | None
    params: str  # the lane's own short label of the setting
    bytes: Count | None
    band: Annotated[list[Num], Field(min_length=3, max_length=3)] | None
    refusal: str | None
    reason: str


class Ranked(Event):
    type: Literal["ranked"]
    cycle: Cycle
    n: Count
    eligible: Count
    refusals: dict[str, Count]
    top: list[TopRow]
    shown: list[ShownRow] = []
    hints: list[str] = []  # when none is eligible: which option would admit some


class Exploring(Event):
    type: Literal["exploring"]
    cycle: Cycle
    ids: list[str]
    params: list[str]
    reason: str
    lanes: list[str] = []  # one per id; absent in ledgers written before lanes were plug-ins


class Multipliers(Event):
    type: Literal["multipliers"]
    values: dict[str, Num]


# --- jobs ----------------------------------------------------------------------------------------
class Refused(Event):
    type: Literal["refused"]
    job_id: str
    candidate: str
    reason: str


class Reserved(Event):
    type: Literal["reserved"]
    job_id: str
    amount: Cost
    cycle: Cycle


class Dispatched(Event):
    type: Literal["dispatched"]
    job_id: str
    host: str
    cycle: Cycle
    attempt: Count = 0
    reserved: Cost
    spec: JobSpec


class Heartbeat(Event):
    type: Literal["heartbeat"]
    job_id: str
    state: JobStateName
    wall_s: Cost
    log_bytes: Count


class Log(Event):
    type: Literal["log"]
    job_id: str
    bytes: Count
    last: str


class Finished(Event):
    type: Literal["finished"]
    job_id: str
    outcome: Outcome
    cost: Cost
    wall_s: Cost
    detail: str = ""


class Intermediate(Event):
    """A running job's exact evaluation at a checkpoint (`Rung`), with the loop's judgement:
    the band its final score is expected in (from earlier jobs' learning curves), or why there
    is none, and whether it was pruned on it. Counted once per (job, step) on every replay."""

    type: Literal["intermediate"]
    job_id: str
    rung: Rung
    band: Annotated[list[Num], Field(min_length=3, max_length=3)] | None = None  # lo, mid, hi
    note: str = ""  # how the band was learned, or why there is none


class Pruned(Event):
    """The loop stops a job whose intermediate result cannot win (`rule`: band or halving)."""

    type: Literal["pruned"]
    job_id: str
    step: Count
    rule: Literal["band", "halving"]
    reason: str


class OrphanCancelled(Event):
    type: Literal["orphan_cancelled"]
    job_id: str
    state: JobStateName


class Harvested(Event):
    type: Literal["harvested"]
    job_id: str
    ok: bool
    reason: str
    late: bool = False  # the result of a job settled as lost, found on its host afterwards


class AnchorAdded(Event):
    type: Literal["anchor_added"]
    job_id: str | None  # None: seeded from a file (`tac loop --anchors`)
    anchor: Anchor
    source: str | None = None  # the file a seeded anchor came from


class Budget(Event):
    type: Literal["budget"]
    spent: Cost
    reserved: Cost
    total_cap: Cost | None


# --- steering ------------------------------------------------------------------------------------
class Control(Event):
    type: Literal["control"]
    id: str
    command: str | None
    ok: bool
    detail: str
    paused: bool
    caps: dict[str, Cost | None]
    job_id: str | None = None


class UnknownEvent(Event):
    """A well-formed event of a type this version does not know: kept, changes nothing."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


KNOWN = (
    RunStarted, Resumed, RunFinished, Stopping, CycleStarted, CycleFinished, Ranked, Exploring,
    Multipliers, Refused, Reserved, Dispatched, Heartbeat, Log, Finished, Intermediate, Pruned, OrphanCancelled,
    Harvested, AnchorAdded, Budget, Control,
)  # fmt: skip
# one validation call per line, dispatched on `type`
_ANY = TypeAdapter(Annotated[Union[KNOWN], Field(discriminator="type")])  # noqa: UP007


def make(seq: int, run_id: str, type: str, **payload) -> Event:
    """A new event, validated as it will be read back (raises ValidationError on a bad one)."""
    data = {"v": VERSION, "seq": seq, "ts": time.time(), "run_id": run_id, "type": type, **payload}
    return _ANY.validate_python(data)


def parse_line(line: bytes) -> Event | None:
    """One ledger line as a validated event, or None if it is unreadable (see the module doc)."""
    try:
        return _ANY.validate_json(line)
    except ValidationError as exc:
        if exc.errors()[0]["type"] != "union_tag_invalid":
            return None
    try:  # a type this version does not know: keep it if the envelope is sound
        return UnknownEvent.model_validate_json(line)
    except ValidationError:
        return None
