"""The renderer: frames drawn back from a mask and a pose, nothing else.

    mask (B, H, W) classes → embedding (E channels) ⊕ coordinates (x, y and their sin/cos at a
      few frequencies) → 3×3 conv to C → down: stride-2 conv, two dilated 3×3 convs, up
      (bilinear) + skip → two 3×3 convs (GELU) → shared features
    second frame  3×3 conv → sigmoid·255 (what SegNet sees: the mask must survive it)
    first frame   FiLM(pose): a linear map of the 6 pose targets scales and shifts the features,
                  3×3 conv → sigmoid·255 (what PoseNet compares with the second frame)
    output (B, 2, 3, H, W) in [0, 255], at the masks' size (the scorers' 384×512 for the contest)

The field's masks entries (#55 and successors, ../shared/frontier.md) share this split: the
second frame carries the classes, the first frame carries the motion. Width, embedding size and
output size are configuration, so tests run it small on the CPU.

Imports torch and the standard library only: submissions carry this file verbatim.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class RendererConfig:
    classes: int = 5
    embed: int = 8
    width: int = 24
    pose_dims: int = 6
    freqs: int = 3  # coordinate encodings: sin/cos at 1, 2, 4, … cycles across the frame
    out_size: tuple[int, int] = (384, 512)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_size", tuple(int(v) for v in self.out_size))
        if min(self.classes, self.embed, self.width, self.pose_dims) < 1 or self.freqs < 0:
            raise ValueError("classes, embed, width and pose_dims must be positive")
        if len(self.out_size) != 2 or self.out_size[0] % 2 or self.out_size[1] % 2:
            raise ValueError(f"out_size is an even (height, width), not {self.out_size}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> RendererConfig:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"renderer config: unknown field {unknown[0]!r}")
        return cls(**data)


def coordinates(height: int, width: int, freqs: int) -> torch.Tensor:
    """(2 + 4·freqs, H, W): x and y in [-1, 1], then sin and cos of π·2ᵏ·x and π·2ᵏ·y."""
    y = torch.linspace(-1.0, 1.0, height).view(height, 1).expand(height, width)
    x = torch.linspace(-1.0, 1.0, width).view(1, width).expand(height, width)
    planes = [x, y]
    for k in range(freqs):
        for v in (x, y):
            planes += [torch.sin(math.pi * 2**k * v), torch.cos(math.pi * 2**k * v)]
    return torch.stack(planes)


class Renderer(nn.Module):
    """(masks (B, H, W) int, pose (B, pose_dims) float) → pairs (B, 2, 3, H, W) in [0, 255]."""

    def __init__(self, config: RendererConfig):
        super().__init__()
        self.config = config
        c, e = config.width, config.embed
        self.embed = nn.Embedding(config.classes, e)
        self.register_buffer("coords", coordinates(*config.out_size, config.freqs), persistent=False)  # fmt: skip
        self.stem = nn.Conv2d(e + 2 + 4 * config.freqs, c, 3, padding=1)
        self.down = nn.Conv2d(c, c, 3, stride=2, padding=1)
        self.context = nn.ModuleList(nn.Conv2d(c, c, 3, padding=d, dilation=d) for d in (2, 4))
        self.mix = nn.ModuleList(nn.Conv2d(c, c, 3, padding=1) for _ in range(2))
        self.second = nn.Conv2d(c, 3, 3, padding=1)
        self.film = nn.Linear(config.pose_dims, 2 * c)
        self.first = nn.Conv2d(c, 3, 3, padding=1)

    def features(self, masks: torch.Tensor) -> torch.Tensor:
        b = masks.shape[0]
        x = self.embed(masks.long()).permute(0, 3, 1, 2)
        x = torch.cat([x, self.coords.expand(b, -1, -1, -1)], dim=1)
        x = F.gelu(self.stem(x))
        y = F.gelu(self.down(x))
        for conv in self.context:
            y = y + F.gelu(conv(y))
        x = x + F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        for conv in self.mix:
            x = x + F.gelu(conv(x))
        return x

    def forward(self, masks: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        x = self.features(masks)
        scale, shift = self.film(pose).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        first = 255.0 * torch.sigmoid(self.first(x * (1 + scale) + shift))
        second = 255.0 * torch.sigmoid(self.second(x))
        return torch.stack([first, second], dim=1)

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())
