"""TrainConfig: every knob of a post-filter training run, validated; unknown keys are errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tac.errors import TacError
from tac.records import first_error


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    arch: str = "dilated"
    hidden: int = Field(16, ge=1, le=512)
    epochs: int = Field(1, ge=1, description="passes over the training pairs")
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    batch_size: int = Field(1, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    loss: Literal["standard", "ste"] = "standard"
    alpha: float = Field(0.0, ge=0, description="saliency emphasis: weight = 1 + alpha·saliency")
    recon_weight: float = Field(0.0, ge=0, description="weight of the saliency-weighted pixel MSE")
    feature_weight: float = Field(0.0, ge=0, description="weight of PoseNet feature matching")
    ema_decay: float = Field(0.997, ge=0, lt=1, description="0 disables the EMA")
    swa_start: float = Field(
        0.75, gt=0, le=1, description="fraction of steps after which SWA averages"
    )
    qat: bool = True
    lsq: bool = False
    bits: Literal[4, 8] = 8
    evals: int = Field(2, ge=1, description="exact evaluations of the quantized EMA over the run")
    max_wall_s: float | None = Field(
        None, gt=0, description="stop training after this many seconds"
    )
    seed: int = 0
    tag: str = Field("run", pattern=r"^[A-Za-z0-9_.-]+$")
    out_dir: str = "runs/train"
    progress: bool = True

    @classmethod
    def parse(cls, **kw) -> TrainConfig:
        """Like TrainConfig(**kw) but a mistake is one TacError line."""
        try:
            return cls(**kw)
        except ValidationError as exc:
            raise TacError(f"invalid training config: {first_error(exc)}") from None
