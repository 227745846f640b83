"""From a network's pairs to what a .raw file holds: the one definition every drawing lane uses.

    draw(pairs i…j) → (B, 2, 3, h, w) float → bicubic up to 874×1164
      → clamp to [0, 255], round → uint8 frames (H, W, 3), pair by pair

Training's exact evaluation and the submissions' inflate both call `draw_frames` with the same
batch size, so they compute the same operations on the same tensors: what tac scores is, bit
for bit, what the contest machine writes. Training's differentiable path shares `upsample`.

`write_raw` is how both lanes' inflate writes them. Imports torch and the standard library only:
submissions carry this file verbatim (the nerv and masks runtimes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

CAMERA_HEIGHT, CAMERA_WIDTH = 874, 1164
DRAW_BATCH = 4  # pairs per network call when drawing frames (both sides: same numbers)


def upsample(pairs: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3, h, w) float → (B, 2, 3, 874, 1164) float, bicubic (not yet clamped)."""
    b = pairs.shape[0]
    flat = pairs.reshape(b * 2, 3, *pairs.shape[-2:])
    up = F.interpolate(flat, size=(CAMERA_HEIGHT, CAMERA_WIDTH), mode="bicubic", align_corners=False)  # fmt: skip
    return up.reshape(b, 2, 3, CAMERA_HEIGHT, CAMERA_WIDTH)


def to_uint8(frames: torch.Tensor) -> torch.Tensor:
    """(…, 3, H, W) float → (…, H, W, 3) uint8: clamp, round to nearest (half to even)."""
    return frames.clamp(0.0, 255.0).round().to(torch.uint8).movedim(-3, -1)


@torch.no_grad()
def draw_pairs(draw: Callable[[slice], torch.Tensor], pairs: int, batch: int = DRAW_BATCH) -> Iterator[torch.Tensor]:  # fmt: skip
    """uint8 pairs (B, 2, 874, 1164, 3) of `draw(slice of pairs)`, `batch` pairs at a time."""
    for first in range(0, pairs, batch):
        yield to_uint8(upsample(draw(slice(first, min(first + batch, pairs)))))


def draw_frames(draw: Callable[[slice], torch.Tensor], pairs: int, batch: int = DRAW_BATCH) -> Iterator[torch.Tensor]:  # fmt: skip
    """Every frame, (874, 1164, 3) uint8, in order: frames 2i and 2i+1 from pair i."""
    for drawn in draw_pairs(draw, pairs, batch):
        yield from drawn.reshape(-1, CAMERA_HEIGHT, CAMERA_WIDTH, 3)


def write_raw(frames: Iterable[torch.Tensor], path: Path, count: int) -> int:
    """Write exactly `count` frames to `path` (a .raw file): the first `count` of `frames`, the
    last repeated for an odd trailing frame, which no sample scores. Through a temporary file
    renamed at the end, so a failed inflate leaves no half-written output; returns `count`."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    written, last = 0, None
    with open(tmp, "wb") as out:
        for frame in frames:
            if written == count:
                break
            out.write(frame.cpu().numpy().tobytes())
            written, last = written + 1, frame
        while written < count:
            out.write(last.cpu().numpy().tobytes())
            written += 1
    tmp.replace(path)
    return written
