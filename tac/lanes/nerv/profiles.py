"""How the nerv lane trains: profiles (schedule and output size), and the settings a job runs.

    smoke     a few hundred CPU steps at a small output size: tests and first looks
    tiny      a few steps, a round trip every two: the loop's tests (pruning, warm starts)
    contest   384×512 output, batch 8, the long schedule: a GPU host's job

A searched setting (`NervParams`) says the decoder's latent size, width, bits, rate weight and
steps; the profile says everything else. `NervSettings.training` joins them into the decoder's
shape (`NervConfig`) and the trainer's configuration. pydantic only: no torch here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tac.registry import Registry

# #95's up-stage widths as fractions of its stem (36: 36, 36, 36, 27, 20, 18); a decoder with
# fewer stages keeps the last ones
STAGE_RATIOS = (1.0, 1.0, 1.0, 0.75, 0.56, 0.5)


def stage_channels(width: int, stages: int) -> tuple[int, ...]:
    """(stem, stage 1, …, stage n) channels for a stem of `width`."""
    if not 1 <= stages <= len(STAGE_RATIOS):
        raise ValueError(f"a nerv decoder has 1 to {len(STAGE_RATIOS)} up-stages, not {stages}")
    return (width, *(max(4, round(width * r)) for r in STAGE_RATIOS[-stages:]))


def decoder_macs_per_pair(latent_dim: int, width: int, grid=(6, 8), stages: int = 6, refine: int = 2) -> int:  # fmt: skip
    """Multiply-adds to draw one pair at the contest's shape (what inflate spends)."""
    c = stage_channels(width, stages)
    h, w = grid
    macs = latent_dim * c[0] * h * w
    for a, b in zip(c, c[1:], strict=False):
        macs += a * 4 * b * 9 * h * w
        h, w = 2 * h, 2 * w
    return macs + refine * c[-1] ** 2 * 9 * h * w + 2 * c[-1] * 3 * 9 * h * w


def decoder_parameters(latent_dim: int, width: int, grid=(6, 8), stages: int = 6, refine: int = 2) -> int:  # fmt: skip
    """The decoder's parameter count at the contest's shape (what its payload's bytes scale with)."""
    c = stage_channels(width, stages)
    n = (latent_dim + 1) * c[0] * grid[0] * grid[1]
    n += sum((a * 9 + 1) * 4 * b for a, b in zip(c, c[1:], strict=False))
    return n + refine * (c[-1] * 9 + 1) * c[-1] + 2 * (c[-1] * 9 + 1) * 3


class NervTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(1000, ge=1)
    batch: int = Field(8, ge=1)
    lr: float = Field(2e-3, gt=0)
    latent_lr_scale: float = Field(10.0, gt=0)  # each latent sees 1/pairs of the steps
    weight_decay: float = Field(0.0, ge=0)
    warmup: float = Field(0.05, ge=0, lt=1)  # fraction of the steps
    clip: float = Field(1.0, gt=0)
    ema_decay: float = Field(0.99, ge=0, lt=1)
    bits: int = 8
    rate_weight: float = Field(1.0, ge=0)  # × the score's own weight on archive bytes
    eval_every: int = Field(250, ge=1)  # steps between exact archive round trips
    log_every: int = Field(25, ge=1)
    seed: int = 0
    # refinement after training (polish.py): steps per stage, 0 = none; its learning rate
    polish_steps: int = Field(0, ge=0)
    polish_lr: float | None = Field(None, gt=0)  # None: lr


class NervProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    grid: tuple[int, int]
    stages: int
    refine: int = 2
    train: NervTrainConfig

    @property
    def out_size(self) -> tuple[int, int]:
        return self.grid[0] * 2**self.stages, self.grid[1] * 2**self.stages


NERV_PROFILES: Registry[NervProfile] = Registry("nerv training profile")
NERV_PROFILES.register("smoke", NervProfile(
    description="CPU, minutes: 24×32 output, batch 2, exact round trip every 20 steps",
    grid=(3, 4), stages=3,
    train=NervTrainConfig(steps=40, batch=2, lr=1e-2, warmup=0.1, eval_every=20, log_every=5, polish_steps=4),
))  # fmt: skip
NERV_PROFILES.register("tiny", NervProfile(
    description="tests of the loop: 12×16 output, batch 1, an exact round trip every 2 steps",
    grid=(3, 4), stages=2,
    train=NervTrainConfig(steps=6, batch=1, lr=4e-2, warmup=0.1, eval_every=2, log_every=2),
))  # fmt: skip
NERV_PROFILES.register("contest", NervProfile(
    description="GPU: 384×512 output (#95's shape), batch 8, EMA 0.999, round trip every 2000 steps",
    grid=(6, 8), stages=6,
    train=NervTrainConfig(steps=30000, batch=8, lr=2e-3, ema_decay=0.999, eval_every=2000, log_every=50, polish_steps=300, polish_lr=5e-4),
))  # fmt: skip


class NervSettings(BaseModel):
    """A nerv job's searched knobs, validated (what `Lane.prepare` returns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latent_dim: int = Field(28, ge=1, le=256)
    width: int = Field(36, ge=4, le=256)
    bits: Literal[4, 8] = 8
    rate_weight: float = Field(1.0, ge=0)
    steps: int | None = Field(None, ge=1)  # None: the profile's

    @classmethod
    def from_params(cls, params) -> NervSettings:
        if params.bits not in (4, 8):
            raise ValueError(f"bits: nerv weights are 8- or 4-bit, not {params.bits}")
        return cls(latent_dim=params.latent_dim, width=params.width, bits=params.bits, rate_weight=params.rate_weight, steps=params.steps)  # fmt: skip

    @classmethod
    def from_card(cls, card: dict) -> NervSettings:
        """The settings behind a checkpoint (its card)."""
        c, t = card["config"], card["train"]
        return cls(latent_dim=c["latent_dim"], width=c["channels"][0], bits=t["bits"], rate_weight=t["rate_weight"], steps=t["steps"])  # fmt: skip

    def short(self) -> str:
        return f"nerv z{self.latent_dim} w{self.width} {self.bits}b λ{self.rate_weight:g}"

    def training(self, pairs: int, profile: NervProfile, **overrides):
        """(NervConfig, NervTrainConfig) for a video of `pairs` pairs under `profile`."""
        from tac.lanes.nerv.model import NervConfig

        config = NervConfig(
            pairs=pairs, latent_dim=self.latent_dim, grid=profile.grid,
            channels=stage_channels(self.width, profile.stages), refine=profile.refine,
            out_size=profile.out_size,
        )  # fmt: skip
        mine = {"bits": self.bits, "rate_weight": self.rate_weight}
        if self.steps is not None:
            mine["steps"] = self.steps
        train = profile.train.model_copy(update={**mine, **{k: v for k, v in overrides.items() if v is not None}})  # fmt: skip
        return config, NervTrainConfig.model_validate(train.model_dump())
