"""Everything a loop needs to know, validated, saved as RUN_DIR/config.json.

Validation happens here, once, for the CLI, `--resume` and library callers alike; `tac loop`
turns the first problem into one line naming the option (`OPTION`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tac.lanes import LANES
from tac.records import first_error
from tac.search.band import coverage_problem
from tac.search.defaults import DEFAULT_COVERAGE, DEFAULT_MAX_INFLATE_S, DEFAULT_MIN_ANCHORS

Finite = Annotated[float, Field(allow_inf_nan=False)]
Cost = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]

# the `tac loop` option behind a config field, where its name is not --field-name
OPTION = {"local_price_per_hour": "--local-price", "job_timeout_s": "--job-timeout",
          "lost_after_s": "--lost-after", "hosts_file": "--hosts", "local": "--no-local",
          "anchors_file": "--anchors", "train_profiles": "--train-profile"}  # fmt: skip


# the `tac loop` shorthand behind a lane's space option; any other is `--option LANE.KEY=VALUE`
SPACE_OPTION = {("codec", "codecs"): "--codecs", ("codec", "presets"): "--presets",
                ("codec", "filters"): "--filters", ("codec", "crfs"): "--crfs",
                ("codec", "scales"): "--scales"}  # fmt: skip
# v1 configs (and library callers) name the codec lane's space at the top level
V1_CODEC_SPACE = ("codecs", "crfs", "scales", "presets", "filters")


def option_of(field: str) -> str:
    return OPTION.get(field, "--" + field.replace("_", "-"))


def space_option_of(lane: str, key: str) -> str:
    return SPACE_OPTION.get((lane, key), f"--option {lane}.{key}")


class LoopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[2] = 2
    data: Literal["demo", "challenge"] = "demo"
    challenge_dir: str | None = None  # also where the weights come from, whatever `data` is
    allow_mixed: bool = False  # the demo clip scored with a checkout's (non-stand-in) weights
    demo_frames: int | None = Field(None, ge=2)
    weights: str  # the scorer weights every job must use
    runner_axis: Literal["cpu", "cuda"] = "cpu"
    # what to search
    lanes: list[str] = ["codec"]  # one ranking holds candidates of every lane named here
    generator: str = "grid"
    n: int = Field(1000, ge=1)
    seed: int = 0
    # each searched lane's part of the space, validated by the lane (`Lane.options_type`) and
    # written out whole: {"codec": {"codecs": ["hevc"], "presets": ["medium"], …}}
    space: dict[str, dict] = {}
    train_profile: str = "smoke"  # the training profile of every lane's jobs …
    train_profiles: dict[str, str] = {}  # … unless its lane names another: {"nerv": "contest"}
    coverage: float = DEFAULT_COVERAGE
    min_anchors: int = Field(DEFAULT_MIN_ANCHORS, ge=2)
    risk: float = Field(0.5, ge=0, le=1)
    # how much per cycle
    top_k: int = Field(2, ge=1)
    explore: int = Field(6, ge=0)  # jobs per cycle while the predictor refuses for lack of anchors
    # when to stop
    max_cycles: int = Field(3, ge=1)
    max_total_cost: Cost | None = None
    max_cost_per_cycle: Cost | None = None
    max_cost_per_job: Cost | None = None
    currency: str = Field("$", min_length=1, max_length=3)  # what prices count in: only shown
    convergence_eps: Cost = 0.0  # 0 = never declare convergence
    patience: int = Field(2, ge=1)
    max_bytes: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    max_inflate_s: Seconds | None = DEFAULT_MAX_INFLATE_S
    anchors_file: str | None = None  # the anchors this run was seeded with (`--anchors`)
    # how jobs run
    local: bool = True
    local_concurrency: int = Field(1, ge=1)
    local_price_per_hour: Cost = 0.0
    local_device: Literal["cpu", "cuda"] | None = (
        None  # what local jobs train on (None: CUDA if torch sees it)
    )
    hosts_file: str | None = None
    job_timeout_s: Seconds = 3600.0
    poll_s: Seconds = 1.0
    lost_after_s: Seconds = 60.0
    max_retries: int = Field(1, ge=0)
    # multi-fidelity (tac.control.fidelity): stop a job whose intermediate result cannot win
    prune: Literal["off", "band", "halving"] = "band"
    prune_eta: int = Field(3, ge=2)  # halving keeps the best 1/η at each rung

    def profile_for(self, lane: str) -> str:
        """The training profile a job of `lane` runs under."""
        return self.train_profiles.get(lane, self.train_profile)

    @field_validator("coverage")
    @classmethod
    def _coverage(cls, value: float) -> float:
        if problem := coverage_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, value: list[str]) -> list[str]:
        known = LANES.names()
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown lane {unknown[0]!r}; known: {', '.join(known)}")
        if not value:
            raise ValueError("give at least one lane")
        return sorted(set(value))

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data):
        """v1 (before lanes were plug-ins) kept the codec lane's space at the top level."""
        if isinstance(data, dict):
            codec = {k: data[k] for k in V1_CODEC_SPACE if k in data}
            if codec or data.get("v", 2) == 1:
                space = {**data.get("space", {})}
                space["codec"] = {**codec, **space.get("codec", {})}
                data = {k: v for k, v in data.items() if k not in V1_CODEC_SPACE} | {"v": 2, "space": space}  # fmt: skip
        return data

    @model_validator(mode="after")
    def _consistent(self) -> LoopConfig:
        unknown = sorted(set(self.space) - set(self.lanes))
        if unknown:
            raise ValueError(f"--option {unknown[0]}.…: {unknown[0]!r} is not a searched lane (--lanes {','.join(self.lanes)})")  # fmt: skip
        space = {}
        for name in self.lanes:  # every searched lane: its generator, and its space validated
            lane = LANES.get(name)
            if self.generator not in lane.generators:
                raise ValueError(f"generator {self.generator!r}: the {name} lane has no such generator (it has {', '.join(lane.generators.names())})")  # fmt: skip
            given = self.space.get(name, {})
            try:
                space[name] = lane.options_type.model_validate(given).model_dump(mode="json")
            except ValidationError as exc:
                err = exc.errors()[0]
                key = str(err["loc"][0]) if err["loc"] else ""
                if err["type"] == "extra_forbidden":
                    raise ValueError(f"--option {name}.{key}: the {name} lane has no such option (it has {', '.join(lane.options_type.model_fields) or 'none'})") from None  # fmt: skip
                value = given.get(key)
                shown = ",".join(map(str, value)) if isinstance(value, list) else value
                what = first_error(exc).partition(": ")[2]
                raise ValueError(f"{space_option_of(name, key)} {shown}: {what}") from None
        self.space = space
        for name in self.lanes:  # a lane that trains must know the profile its jobs will name
            known = LANES.get(name).train_profiles()
            profile = self.profile_for(name)
            if known and profile not in known:
                given = f"{name}={profile}" if name in self.train_profiles else profile
                raise ValueError(f"--train-profile {given}: the {name} lane's profiles are {', '.join(known)} (name one per lane: --train-profile {name}=NAME)")  # fmt: skip
        unknown = sorted(set(self.train_profiles) - set(self.lanes))
        if unknown:
            raise ValueError(f"--train-profile {unknown[0]}=…: {unknown[0]!r} is not a searched lane (--lanes {','.join(self.lanes)})")  # fmt: skip
        if self.data == "challenge" and not self.challenge_dir:
            raise ValueError("--data challenge: needs a challenge checkout (--challenge-dir DIR)")
        if self.data == "demo" and self.challenge_dir and not self.allow_mixed:
            raise ValueError(
                "--data demo: the demo clip with a challenge checkout's weights is a mixed setup "
                "whose numbers match neither the contest nor the stand-in demo; drop "
                "--challenge-dir, use --data challenge, or ask for it with --allow-mixed"
            )
        return self
