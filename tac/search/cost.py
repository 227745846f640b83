"""Predicted job cost and inflate time: simple analytic models with stated constants.

These are estimates for ranking and gating, never reported as measurements. The constants come
from this project's benchmarks (`benchmarks/bench_codec.py`, `benchmarks/bench_train.py`, on a
2-core CPU) and are scaled to the contest's 4-core CPU runner. `scale_factor` is where measured
job times will correct them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tac.contest import constants as C
from tac.search.space import CODECS, FILTERS, CandidateTable

CAMERA_MPIX = C.CAMERA_WIDTH * C.CAMERA_HEIGHT / 1e6
# Encode seconds per megapixel at the slowest preset; presets speed this up by up to e^3.
ENCODE_S_PER_MPIX = {"av1": 0.6, "h264": 0.15, "hevc": 0.8}
SHUFFLE_FAMILIES = {"pixel_shuffle", "psd"}  # run at half resolution: a quarter of the pixels


@dataclass(frozen=True)
class CostModel:
    frames: int = C.CONTEST_FRAMES
    price_per_hour: float = 0.0  # the backend's price; 0 for the local machine
    train_steps: int = 2000
    train_step_s: float = 0.05  # per step at hidden 16 on a GPU; grows with hidden
    eval_s_per_frame: float = 0.1  # decode + both scorers (about 2 minutes for the contest video)
    scale_factor: float = 1.0  # measured / predicted, from anchors

    def encode_s(self, t: CandidateTable) -> np.ndarray:
        base = np.array([ENCODE_S_PER_MPIX[c] for c in CODECS])[t.codec]
        mpix = CAMERA_MPIX * (t.scale_milli / 1000.0) ** 2
        return self.frames * mpix * base * np.exp(-3.0 * t.speed())

    def train_s(self, t: CandidateTable) -> np.ndarray:
        return np.where(t.filter > 0, self.train_steps * self.train_step_s * t.hidden / 16.0, 0.0)

    def job_s(self, t: CandidateTable) -> np.ndarray:
        return self.scale_factor * (
            self.encode_s(t) + self.train_s(t) + self.eval_s_per_frame * self.frames
        )

    def job_cost(self, t: CandidateTable) -> np.ndarray:
        return self.job_s(t) / 3600.0 * self.price_per_hour

    def inflate_s(self, t: CandidateTable) -> np.ndarray:
        """Inflate time on the contest's 4-core CPU: decode + upscale, then the filter.

        Measured here (2 cores): decode + upscale ≈ 0.02 s/frame; a filter costs about 0.16 s
        per frame per 16 channels of width (activation traffic) plus 7 µs per parameter
        (arithmetic), a quarter of that for the half-resolution families. Halved for 4 cores.
        """
        shuffle = np.array([f in SHUFFLE_FAMILIES for f in FILTERS])[t.filter]
        res = np.where(shuffle, 0.25, 1.0)
        per_frame = 0.02 + np.where(
            t.filter > 0, res * (0.16 * t.hidden / 16.0 + 7e-6 * t.filter_params()), 0.0
        )
        return self.frames * per_frame / 2.0
