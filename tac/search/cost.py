"""Predicted job cost and inflate time: the lanes' own estimates plus the exact evaluation.

These are estimates for ranking and gating, never reported as measurements. Each lane predicts
its own job steps and inflate (`LaneTable.work_s_on` per device, `LaneTable.inflate_s`, with the
constants from this project's benchmarks); every job then runs the same exact evaluation. `scale_factor`
is where measured job times will correct them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tac.contest import constants as C
from tac.search.space import CandidateTable


@dataclass(frozen=True)
class CostModel:
    frames: int = C.CONTEST_FRAMES
    price_per_hour: float = 0.0  # the backend's price; 0 for the local machine
    device: str = "cpu"  # what the backend's jobs train on ("cpu", "cuda"): lanes' work_s_on
    eval_s_per_frame: float = 0.1  # decode + both scorers (about 2 minutes for the contest video)
    scale_factor: float = 1.0  # measured / predicted, from anchors

    def job_s(self, t: CandidateTable) -> np.ndarray:
        return self.scale_factor * (t.per_block("work_s_on", self.frames, self.device) + self.eval_s_per_frame * self.frames)  # fmt: skip

    def job_cost(self, t: CandidateTable) -> np.ndarray:
        return self.job_s(t) / 3600.0 * self.price_per_hour

    def inflate_s(self, t: CandidateTable) -> np.ndarray:
        """Inflate time on the contest's 4-core CPU runner."""
        return t.per_block("inflate_s", self.frames)
