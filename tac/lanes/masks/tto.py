"""Test-time optimisation at inflate: the renderer's second-frame head refined, on the decoded
masks alone, so that a tiny shipped probe reads those masks back from the frames it draws.

    compress (tac, tto_fit.py)  the probe — a three-layer mask classifier — is fitted to what
                                SegNet reads in the shipped renderer's second frames (and in frames
                                of the renderer with its head perturbed), so it imitates the
                                scorer around the renderer's operating point
    inflate (here, `refine`)    `steps` Adam steps on the second head only, over the pairs in
                                order, `batch` at a time: cross-entropy of the probe's reading of
                                each drawn second frame against its decoded mask

The probe lets inflate see the scorer's disagreements without the scorer (whose weights may not
ride in the archive): where SegNet would read another class than the mask, a probe that
imitates SegNet does too, and the head moves the frame toward the mask. The probe's weights are
archive bytes; the lane keeps TTO only when the exact round trip with it scores lower than
without, bytes included (`tto_fit.tto_stage`).

The budget is a number of steps, not a clock: a clock would make the frames depend on the
machine that inflates. The lane's cost model projects the steps' time. Optimisation in floating
point is deterministic on one machine and thread count; another CPU may round differently.

Imports torch only: submissions carry this file verbatim.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..draw import DRAW_BATCH


@dataclass(frozen=True)
class ProbeConfig:
    classes: int = 5
    width: int = 8

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> ProbeConfig:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"probe config: unknown field {unknown[0]!r}")
        return cls(**data)


class Probe(nn.Module):
    """frames (B, 3, H, W) in [0, 255] → class logits (B, classes, H, W)."""

    def __init__(self, config: ProbeConfig):
        super().__init__()
        self.config = config
        w = config.width
        self.a = nn.Conv2d(3, w, 3, padding=1)
        self.b = nn.Conv2d(w, w, 3, padding=2, dilation=2)
        self.out = nn.Conv2d(w, config.classes, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.a(frames / 127.5 - 1.0))
        return self.out(x + F.gelu(self.b(x)))


def refine(renderer, probe: Probe, masks: torch.Tensor, steps: int, lr: float, batch: int = DRAW_BATCH):  # fmt: skip
    """A copy of `renderer` whose second head took `steps` Adam steps toward frames the probe
    reads as `masks` (P, H, W); the pairs are visited in order, `batch` at a time."""
    refined = copy.deepcopy(renderer).eval().requires_grad_(False)
    if steps <= 0:
        return refined
    head = refined.second.requires_grad_(True)
    probe = probe.eval().requires_grad_(False)
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    pairs = len(masks)
    with torch.enable_grad():
        for step in range(steps):
            idx = (torch.arange(batch) + step * batch) % pairs
            with torch.no_grad():
                features = refined.features(masks[idx])
            second = 255.0 * torch.sigmoid(head(features))
            loss = F.cross_entropy(probe(second), masks[idx].long())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return refined.requires_grad_(False)
