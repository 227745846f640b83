"""Everything a loop needs to know, validated, saved as RUN_DIR/config.json."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    data: Literal["demo", "challenge"] = "demo"
    challenge_dir: str | None = None
    demo_frames: int | None = Field(None, ge=2)
    weights: str  # the scorer weights every job must use
    runner_axis: Literal["cpu", "cuda"] = "cpu"
    # what to search
    generator: str = "grid"
    n: int = Field(1000, ge=1)
    seed: int = 0
    codecs: list[str] = ["hevc"]
    crfs: list[int] | None = None
    scales: list[float] = [0.35, 0.45, 0.55, 0.65, 0.75]
    presets: list[str] = ["medium"]
    filters: list[tuple[str | None, int, int]] = [(None, 0, 0)]
    train_profile: str = "smoke"
    coverage: float = Field(0.9, gt=0.5, lt=1)
    min_anchors: int = Field(8, ge=2)
    risk: float = Field(0.5, ge=0, le=1)
    # how much per cycle
    top_k: int = Field(2, ge=1)
    explore: int = Field(6, ge=0)  # jobs per cycle while the predictor refuses for lack of anchors
    # when to stop
    max_cycles: int = Field(3, ge=1)
    max_total_cost: float | None = Field(None, ge=0)
    max_cost_per_cycle: float | None = Field(None, ge=0)
    max_cost_per_job: float | None = Field(None, ge=0)
    convergence_eps: float = Field(0.0, ge=0)  # 0 = never declare convergence
    patience: int = Field(2, ge=1)
    max_bytes: float | None = None
    max_inflate_s: float | None = 900.0
    # how jobs run
    local: bool = True
    local_concurrency: int = Field(1, ge=1)
    local_price_per_hour: float = Field(0.0, ge=0)
    hosts_file: str | None = None
    job_timeout_s: float = Field(3600.0, gt=0)
    poll_s: float = Field(1.0, gt=0)
    lost_after_s: float = Field(60.0, gt=0)
    max_retries: int = Field(1, ge=0)
