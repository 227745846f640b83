"""How the masks lane trains: profiles (output size, schedule) and the settings a job runs.

    smoke     a few dozen CPU steps at 96×128 (masks taken every 4th label): tests, first looks
    contest   384×512, the scorers' own mask size; batch 8, the long schedule: a GPU host's job

A searched setting (`MasksParams`) says the mask codec and its crf, the renderer's width and
bits, the pose channel's bits, the rate weight and the steps; the profile says the rest.
`MasksSettings.training` joins them. pydantic only: no torch here.

Only codecs the official machine can decode (`MaskCodec.portable`) are settings: the context
coder's range coder (`constriction`) is not there, so it is measured (bench_masks) but not shipped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tac.registry import Registry

# the lane's codecs, in the order of the search table's codec column (its law groups)
LANE_CODECS = ("av1", "hevc", "brotli", "lzma")
LOSSY = ("av1", "hevc")
DEFAULT_CRF = {"av1": 50, "hevc": 30}
CRF_RANGE = {"av1": (1, 63), "hevc": (0, 51)}


class MasksTrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    codec: str = "brotli"  # a MASK_CODECS name
    crf: int | None = None  # the lossy codecs' knob (None: the codec's default)
    pose_bits: int = Field(10, ge=1, le=16)
    bits: Literal[4, 8] = 8  # the renderer's weights
    steps: int = Field(40, ge=1)
    batch: int = Field(2, ge=1)
    lr: float = Field(3e-3, gt=0)
    warmup: float = Field(0.1, ge=0, lt=1)
    clip: float = Field(1.0, gt=0)
    ema_decay: float = Field(0.9, ge=0, lt=1)
    rate_weight: float = Field(1.0, ge=0)
    eval_every: int = Field(20, ge=1)
    seed: int = 0
    # test-time optimisation (tto.py): inflate's refinement steps (0: none), its learning rate,
    # and the shipped probe's width and fitting steps
    tto_steps: int = Field(0, ge=0, le=65535)
    tto_lr: float = Field(1e-2, gt=0)
    probe_width: int = Field(8, ge=1)
    probe_steps: int = Field(200, ge=1)


class MasksProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    out_size: tuple[int, int]  # the renderer's output; must divide the scorers' 384×512
    embed: int = 8
    freqs: int = 3
    train: MasksTrainConfig


MASKS_PROFILES: Registry[MasksProfile] = Registry("masks training profile")
MASKS_PROFILES.register("smoke", MasksProfile(
    description="CPU, minutes: 96×128 renderer, batch 2, exact round trip every 20 steps",
    out_size=(96, 128), embed=6,
    train=MasksTrainConfig(steps=40, batch=2, lr=1e-2, eval_every=20),
))  # fmt: skip
MASKS_PROFILES.register("contest", MasksProfile(
    description="GPU: 384×512 renderer (the scorers' mask size), batch 8, EMA 0.999, round trip every 2000 steps",  # fmt: skip
    out_size=(384, 512),
    train=MasksTrainConfig(steps=20000, batch=8, lr=2e-3, ema_decay=0.999, eval_every=2000),
))  # fmt: skip


def renderer_parameters(width: int, embed: int = 8, freqs: int = 3, classes: int = 5, pose_dims: int = 6) -> int:  # fmt: skip
    """The renderer's parameter count (`renderer.Renderer`, checked equal in the tests)."""
    c, conv = width, lambda a, b: (a * 9 + 1) * b  # noqa: E731
    n = (
        classes * embed + conv(embed + 2 + 4 * freqs, c) + 5 * conv(c, c)
    )  # stem; down, context ×2, mix ×2
    return n + 2 * conv(c, 3) + (pose_dims + 1) * 2 * c  # the two heads, FiLM


def renderer_macs_per_pair(width: int, out_size=(384, 512), embed: int = 8, freqs: int = 3) -> int:
    """Multiply-adds to draw one pair (the features are shared by both heads): what inflate spends."""
    c, full = width, out_size[0] * out_size[1]
    per_full = (embed + 2 + 4 * freqs) * c * 9 + 2 * c * c * 9 + 2 * c * 3 * 9  # stem, mix, heads
    return (
        full * per_full + (full // 4) * 3 * c * c * 9
    )  # down and the dilated context, at half size


class MasksSettings(BaseModel):
    """A masks job's searched knobs, validated (what `Lane.prepare` returns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: str = "av1"
    crf: int | None = None  # lossy codecs only; None: the codec's default
    width: int = Field(24, ge=4, le=256)
    bits: Literal[4, 8] = 8
    pose_bits: int = Field(10, ge=1, le=16)
    rate_weight: float = Field(1.0, ge=0)
    steps: int | None = Field(None, ge=1)  # None: the profile's
    # test-time optimisation's steps at inflate (0: none); shipped only if it lowers the exact score
    tto_steps: int = Field(0, ge=0, le=65535)
    # where a submission's inflate draws: cpu (what tac scored, bit for bit) or auto (CUDA when
    # the evaluation machine has it: the T4 runner; frames then differ by float rounding)
    inflate_device: Literal["cpu", "auto"] = "cpu"

    @field_validator("codec")
    @classmethod
    def _shippable(cls, codec: str) -> str:
        if codec == "context":
            raise ValueError("the context coder's range coder (constriction) is not on the official machine, so its masks cannot ship; choose av1, hevc (lossy) or brotli, lzma (lossless)")  # fmt: skip
        if codec not in LANE_CODECS:
            raise ValueError(f"no mask codec {codec!r}; the lane's are {', '.join(LANE_CODECS)}")
        return codec

    @field_validator("crf")
    @classmethod
    def _crf_in_range(cls, crf: int | None, info) -> int | None:
        codec = info.data.get("codec")
        if crf is None or codec is None:
            return crf
        if codec not in LOSSY:
            raise ValueError(f"{codec} is lossless: it takes no crf")
        low, high = CRF_RANGE[codec]
        if not low <= crf <= high:
            raise ValueError(f"{codec} crf is {low}–{high}, not {crf}")
        return crf

    @classmethod
    def from_card(cls, card: dict) -> MasksSettings:
        """The settings behind a checkpoint (its card)."""
        t = card["train"]
        return cls(codec=t["codec"], crf=t["crf"], width=card["config"]["width"], bits=t["bits"], pose_bits=t["pose_bits"], rate_weight=t["rate_weight"], steps=t["steps"], tto_steps=t.get("tto_steps", 0))  # fmt: skip

    def short(self) -> str:
        knob = f" crf {self.crf if self.crf is not None else DEFAULT_CRF[self.codec]}" if self.codec in LOSSY else ""  # fmt: skip
        tto = f" tto {self.tto_steps}" if self.tto_steps else ""
        return f"masks {self.codec}{knob} w{self.width} {self.bits}b p{self.pose_bits} λ{self.rate_weight:g}{tto}"  # fmt: skip

    def training(self, profile: MasksProfile, **overrides):
        """(RendererConfig, MasksTrainConfig) under `profile`."""
        from tac.lanes.masks.renderer import RendererConfig

        config = RendererConfig(embed=profile.embed, width=self.width, freqs=profile.freqs, out_size=profile.out_size)  # fmt: skip
        mine = {"codec": self.codec, "crf": self.crf, "bits": self.bits, "pose_bits": self.pose_bits, "rate_weight": self.rate_weight, "tto_steps": self.tto_steps}  # fmt: skip
        if self.steps is not None:
            mine["steps"] = self.steps
        train = profile.train.model_copy(update={**mine, **{k: v for k, v in overrides.items() if v is not None}})  # fmt: skip
        return config, MasksTrainConfig.model_validate(train.model_dump())
