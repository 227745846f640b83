"""The lane contract: everything the search, the loop, the jobs and the dashboard know of a lane.

A lane is a way to turn a video into an archive and back. It plugs in by subclassing `Lane`
and registering (`tac.lanes.register_lane`); nothing above this folder names a lane.

    search side (numpy only)           job side (torch, codecs: imported inside the methods)
    ------------------------           ------------------------------------------------------
    params_type   its params record    prepare   params → the lane's full settings (validated)
    table         params → LaneTable   train     optional: fit what ships beside the payload
    generators    candidate spaces     compress  frames → payload files, one set per original
    options_type  a loop's space knobs
    LaneTable.features   proxy inputs  payload   extra archive members and the inflate config
    LaneTable.work_s     cost model    inflate_files   code shipped verbatim beside the archive
      (work_s_on: per device)          train_profiles  what `--train-profile` may name

The search fits one log-linear law per (lane, group) over the lane's `Features`; it never sees
a lane's knobs, only numbers with names, signs and margins.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import ClassVar, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from tac.errors import TacError
from tac.records import LaneParams
from tac.registry import Registry


@dataclass(frozen=True)
class Features:
    """What the proxy fits, per candidate row, in the lane's own terms.

    ln bytes      = a·[1, x] (payload; `side_bytes` are added on top)
    ln distortion = b·[1, x] + a dummy per measured `variant` (0 = the plain setting)
    """

    x: np.ndarray  # (n, d) continuous features the laws are log-linear in
    names: tuple[str, ...]  # d feature names, as a user sets them ("crf", "scale", …)
    # per feature: +1 if distortion must rise (and bytes fall) as it rises, -1 the other way,
    # 0 if either is allowed; a fit that disagrees is refused as non-monotone
    monotone: tuple[int, ...]
    margin_abs: np.ndarray  # (d,) how far beyond the anchors' range a feature may go, at least
    group: np.ndarray  # (n,) int: rows fitted together (the codec lane: one law per codec)
    variant: np.ndarray  # (n,) int: a categorical modifier of distortion; 0 = none
    width: np.ndarray  # (n,) float: the variant's size, which must stay near the measured
    side_bytes: np.ndarray  # (n,) float: bytes the variant adds beside the payload (estimate)
    natural: Callable[[int, float, int], str]  # (feature, value, group) → the user's units
    variant_name: Callable[[int], str]  # variant code → a name for messages
    variant_what: str = "variant"  # what a variant is, for "no … anchor carries this …"


class LaneTable(ABC):
    """N settings of one lane as numpy columns: what the search ranks, without a record per row."""

    lane: ClassVar[str]
    group_names: ClassVar[tuple[str, ...]]  # group code → name ("av1", "h264", "hevc")
    invalid_reason: ClassVar[str] = "a setting outside what the lane accepts"

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def take(self, rows: np.ndarray) -> LaneTable: ...

    @abstractmethod
    def params(self, i: int) -> LaneParams: ...

    def id(self, i: int) -> str:
        return self.params(i).id()

    def id_order(self) -> np.ndarray:
        """Row order by id. Lanes with many rows override it to sort columns, not strings."""
        return np.array(sorted(range(len(self)), key=self.id), dtype=np.int64)

    @abstractmethod
    def features(self) -> Features: ...

    @abstractmethod
    def invalid(self) -> np.ndarray:
        """True where the lane cannot run the setting (the params gate)."""

    @abstractmethod
    def work_s(self, frames: int) -> np.ndarray:
        """Predicted seconds of the lane's own job steps (train + compress) per row."""

    def work_s_on(self, frames: int, device: str) -> np.ndarray:
        """`work_s` on a host whose jobs train on `device` ("cpu" or "cuda"). Lanes whose cost
        does not depend on it (or that have measured it on one device only) keep `work_s`."""
        return self.work_s(frames)

    @abstractmethod
    def inflate_s(self, frames: int) -> np.ndarray:
        """Predicted inflate seconds per row on the contest's CPU runner."""


Generator = Callable[..., LaneTable]


def copied_runtime(lane_package: str, package: str, copied: Sequence[str], written: dict[str, str]) -> dict[str, bytes]:  # fmt: skip
    """What `Lane.inflate_files` returns for a lane whose inflate runs tac's own modules:
    `inflate.sh` and `inflate.py` from `lane_package`'s `inflate/`, each of `copied` (paths
    inside tac) verbatim at the same path inside `package`, and the `written` stand-ins (the
    packages' own `__init__` files, which would pull in training code)."""
    tac, templates = resources.files("tac"), resources.files(lane_package) / "inflate"
    files = {name: (templates / name).read_bytes() for name in ("inflate.sh", "inflate.py")}
    files.update({f"{package}/{path}": (tac / path).read_bytes() for path in copied})
    files.update({f"{package}/{path}": text.encode() for path, text in written.items()})
    return files


class LaneOptions(BaseModel):
    """The part of the candidate space a loop sets for one lane (`tac loop --option
    LANE.KEY=VALUE`, and a lane's own shorthands such as `--codecs`), validated by the lane and
    handed to its generators. A lane without options keeps this empty record."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _one_value_is_a_list(cls, data):
        """`--option nerv.steps=4` means [4]: a single value where the space takes a list."""
        if isinstance(data, dict):
            lists = {n for n, f in cls.model_fields.items() if get_origin(f.annotation) is list}
            data = {k: [v] if k in lists and not isinstance(v, list | tuple) else v for k, v in data.items()}  # fmt: skip
        return data

    def generator_kwargs(self) -> dict:
        """What the lane's generators receive."""
        return self.model_dump()


@dataclass
class Trained:
    """What a lane's train step leaves for its payload step: a file and what to say of it."""

    path: Path
    label: str = ""


class Lane(ABC):
    """One way to compress. Subclasses set `name`, `params_type` and `generators`."""

    name: ClassVar[str]
    params_type: ClassVar[type[LaneParams]]
    generators: ClassVar[Registry[Generator]]
    options_type: ClassVar[type[LaneOptions]] = LaneOptions

    # --- search side -------------------------------------------------------------------------
    @abstractmethod
    def table(self, params: Sequence[LaneParams]) -> LaneTable:
        """Columns from records. A value the lane cannot represent at all is a ValueError."""

    def generate(self, name: str, options: dict | None = None, **kw) -> LaneTable:
        """Candidates from one of the lane's generators. `options` (a loop's, for this lane) are
        validated by `options_type` and override `kw`; keywords a generator does not know are
        ignored (the common ones — n, seed, anchors — go to every lane)."""
        if options is not None:
            kw = {**kw, **self.options_type.model_validate(options).generator_kwargs()}
        return self.generators.get(name)(**kw)

    # --- job side ----------------------------------------------------------------------------
    @abstractmethod
    def prepare(self, params: LaneParams) -> BaseModel:
        """The lane's full, validated settings for a searched setting (TacError if impossible)."""

    def train(self, settings: BaseModel, params: LaneParams, originals, work: Path, job) -> Trained | None:  # fmt: skip
        """Fit what ships with the payload (a post-filter, a renderer), or None. `job` gives
        `log`, `device`, `scorer()`, `profile`, `warm_start` (the checkpoint to continue from
        when `params.warm_from()` names one) and `rung(step, steps, evaluation, checkpoint,
        final=False)`: report each exact evaluation made at a kept checkpoint, so the loop can
        prune the job and warm-start children from it."""
        return None

    @abstractmethod
    def compress(self, frames: Iterable[np.ndarray], settings: BaseModel, out: Path) -> list[Path]:
        """Encode one original's frames; returns its payload files (named from `out`)."""

    @abstractmethod
    def inflate(self, payload: list[Path], settings: BaseModel) -> Iterator[np.ndarray]:
        """Camera-size uint8 frames, exactly as the submission's inflate writes them."""

    def payload(self, settings: BaseModel, trained: Trained | None, log=None) -> tuple[dict[str, bytes], dict, dict]:  # fmt: skip
        """(extra archive members, inflate config, manifest entries) beside the compressed
        originals. The config lives outside the archive, where it costs no bytes."""
        return {}, {}, {}

    @abstractmethod
    def inflate_files(self) -> dict[str, bytes]:
        """{path in the submission: content}: inflate.sh, inflate.py and the runtime modules
        they import, copied verbatim from tac so the contest machine runs what tac evaluated."""

    def train_profiles(self) -> tuple[str, ...]:
        """The training profiles a job of this lane may name (`tac loop --train-profile`);
        empty for a lane without a train step."""
        return ()

    def train_by_hand(
        self, profile: str, options: dict, originals, scorer, out: Path, **kw
    ) -> dict:
        """`tac lossy train --lane NAME`: the lane's train step outside a job, with its own
        settings from `options` (`--option KEY=VALUE`); returns what to print ({"checkpoint",
        "summary"}). `kw`: device, log, init_from, max_steps."""
        raise TacError(f"the {self.name} lane has no training of its own to run by hand")

    def settings_from_trained(self, path: Path) -> BaseModel:
        """The settings behind what this lane's train step wrote at `path`, for lanes whose
        submission is the trained artefact itself (`tac submission build --lane L --checkpoint`)."""
        raise TacError(f"the {self.name} lane builds submissions from its settings, not from a checkpoint")  # fmt: skip

    def params_from_manifest(self, manifest: dict) -> LaneParams:
        """The searched setting behind a submission this lane built (`tac search anchor`)."""
        raise ValueError(f"the {self.name} lane cannot read a setting back from a submission")

    def label(self, settings: BaseModel) -> str:
        short = getattr(settings, "short", None)
        return short() if callable(short) else self.name
