"""The neural representation: a latent per frame pair and one small decoder that draws the pair.

    latent (L) → linear stem → C0 × gh × gw grid
      → stage × n: 3×3 conv to 4·Cᵢ → PixelShuffle(2) → sin, plus the input upsampled (bilinear)
        and cut to Cᵢ channels as a skip, so every stage only learns a correction
      → refinement: two dilated 3×3 convs (dilation 1, 2), residual, sin
      → two heads, 3×3 conv → sigmoid·255: frame 0 and frame 1 of the pair
    output (B, 2, 3, H, W) float in [0, 255] with H = gh·2ⁿ, W = gw·2ⁿ

The field's HNeRV entries (#95 and successors, see ../shared/frontier.md) share this shape: the
whole video is the decoder's weights plus 600 latents; sin activations let a small network draw
fine periodic detail; the skip keeps deep stacks trainable. Widths, latent size, grid and output
size are all configuration, so the search can trade bytes against distortion.

Imports torch and the standard library only: submissions carry this file verbatim (the
contest machine has torch and numpy, not tac or pydantic).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class NervConfig:
    """The decoder's shape. Defaults: the contest's scorer size, about #95's widths."""

    pairs: int = 600
    latent_dim: int = 28
    grid: tuple[int, int] = (6, 8)
    channels: tuple[int, ...] = (36, 36, 36, 36, 27, 20, 18)  # stem, then one per up-stage
    refine: int = 2  # dilated refinement convs (0: none)
    out_size: tuple[int, int] = (384, 512)

    def __post_init__(self) -> None:
        for name in ("grid", "channels", "out_size"):  # JSON gives lists
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        if len(self.grid) != 2 or len(self.out_size) != 2:
            raise ValueError("grid and out_size are (height, width)")
        if self.pairs < 1 or self.latent_dim < 1 or min(self.grid) < 1 or min(self.channels) < 1:
            raise ValueError("pairs, latent_dim, grid and channels must be positive")
        if not 0 <= self.refine <= 2:
            raise ValueError(f"refine is 0, 1 or 2 dilated convs, not {self.refine}")
        if len(self.channels) < 2:
            raise ValueError("channels: the stem's width and at least one up-stage's")
        if any(b > a for a, b in zip(self.channels, self.channels[1:], strict=False)):
            raise ValueError(f"channels {self.channels} must not grow (the skips cut channels)")
        scale = 2 ** (len(self.channels) - 1)
        drawn = (self.grid[0] * scale, self.grid[1] * scale)
        if drawn != tuple(self.out_size):
            raise ValueError(
                f"grid {self.grid} with {len(self.channels) - 1} up-stages draws {drawn[0]}×"
                f"{drawn[1]}, not out_size {self.out_size[0]}×{self.out_size[1]}"
            )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> NervConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"nerv config: unknown field {unknown[0]!r}")
        return cls(**data)


class _Up(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1)
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = F.interpolate(x[:, : self.c_out], scale_factor=2, mode="bilinear", align_corners=False)  # fmt: skip
        return skip + torch.sin(F.pixel_shuffle(self.conv(x), 2))


class NervDecoder(nn.Module):
    """latents (B, L) → pairs (B, 2, 3, H, W) in [0, 255]."""

    def __init__(self, config: NervConfig):
        super().__init__()
        self.config = config
        c = config.channels
        gh, gw = config.grid
        self.stem = nn.Linear(config.latent_dim, c[0] * gh * gw)
        self.stages = nn.ModuleList(_Up(a, b) for a, b in zip(c, c[1:], strict=False))
        self.refine = nn.ModuleList(
            nn.Conv2d(c[-1], c[-1], 3, padding=d, dilation=d) for d in (1, 2)[: config.refine]
        )
        self.heads = nn.ModuleList(nn.Conv2d(c[-1], 3, 3, padding=1) for _ in range(2))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        gh, gw = self.config.grid
        x = self.stem(latents).view(len(latents), self.config.channels[0], gh, gw)
        for stage in self.stages:
            x = stage(x)
        for conv in self.refine:
            x = x + torch.sin(conv(x))
        return torch.stack([255.0 * torch.sigmoid(head(x)) for head in self.heads], dim=1)


class NervRepresentation(nn.Module):
    """The whole video: one latent per pair (a parameter, trained with its own learning rate)
    and the decoder. `forward(idx)` draws pairs `idx`."""

    def __init__(self, config: NervConfig, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.latents = nn.Parameter(0.1 * torch.randn(config.pairs, config.latent_dim, generator=gen))  # fmt: skip
        with torch.random.fork_rng(devices=[]):  # the decoder's init from `seed`, not global state
            torch.manual_seed(seed)
            self.decoder = NervDecoder(config)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.latents[idx])

    def decoder_parameters(self) -> int:
        return sum(p.numel() for p in self.decoder.parameters())
