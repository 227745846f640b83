"""Weight averages kept beside the trained model: an EMA for every step, SWA over the tail."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


class ParameterAverage:
    """A shadow copy of a model whose parameters are an average of the live model's.

    `decay` > 0: exponential moving average. `decay` None: equal-weight running mean (SWA).
    Buffers are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float | None):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.count = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.count += 1
        w = (1.0 - self.decay) if self.decay is not None else 1.0 / self.count
        if self.count == 1 and self.decay is None:
            w = 1.0
        for avg, live in zip(self.model.parameters(), model.parameters(), strict=True):
            avg.lerp_(live.detach(), w)
        for avg, live in zip(self.model.buffers(), model.buffers(), strict=True):
            avg.copy_(live)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], count: int) -> None:
        self.model.load_state_dict(state)
        self.count = count
