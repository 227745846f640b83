"""A test-only lane: every frame shrunk to a thumbnail `side` pixels wide, quantized to `bits`
per channel, stored zlib-compressed; inflate blows it back up (nearest neighbour).

It plugs in through the lane contract and registration alone (`TAC_PLUGINS=tests.lanes.flat`):
nothing in tac.search, tac.control, tac.jobs or tui names it. Its inflate runs where tac is not
installed (numpy and zlib only).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tac.contest import constants as C
from tac.errors import TacError
from tac.lanes import LANES, Features, Lane, LaneOptions, LaneTable, register_lane
from tac.records import LaneParams
from tac.registry import Registry

SIDES = (6, 12, 24, 48, 96)  # thumbnail widths the lane can store (height keeps the aspect)


class FlatParams(LaneParams):
    lane: Literal["flat"] = "flat"
    side: int = Field(ge=1)
    bits: int = Field(ge=1)

    def id(self) -> str:
        return f"flat-w{self.side:03d}-b{self.bits}"

    def short(self) -> str:
        return f"thumb {self.side}px {self.bits}bit"


class FlatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    side: int = Field(ge=2, le=C.CAMERA_WIDTH)
    bits: int = Field(ge=1, le=8)

    @property
    def size(self) -> tuple[int, int]:
        return self.side, max(1, round(self.side * C.CAMERA_HEIGHT / C.CAMERA_WIDTH))

    def short(self) -> str:
        return f"thumb {self.side}px {self.bits}bit"


def _natural(j: int, value: float, group: int) -> str:
    return f"{np.exp(value):.1f}px" if j == 0 else f"{value:.0f} bits"


@dataclass
class FlatTable(LaneTable):
    lane = "flat"
    group_names = ("flat",)

    side: np.ndarray
    bits: np.ndarray

    def __len__(self) -> int:
        return len(self.side)

    def take(self, rows: np.ndarray) -> FlatTable:
        return FlatTable(self.side[rows], self.bits[rows])

    def params(self, i: int) -> FlatParams:
        return FlatParams(side=int(self.side[i]), bits=int(self.bits[i]))

    def features(self) -> Features:
        n = len(self)
        return Features(
            x=np.stack([np.log(np.maximum(self.side, 1)), self.bits.astype(float)], axis=1),
            names=("side", "bits"),
            monotone=(-1, -1),  # more pixels and more bits: less distortion, more bytes
            margin_abs=np.array([0.2, 0.5]),
            group=np.zeros(n, np.int64),
            variant=np.zeros(n, np.int32),
            width=np.zeros(n),
            side_bytes=np.zeros(n),
            natural=_natural,
            variant_name=lambda k: "none",
        )

    def invalid(self) -> np.ndarray:
        return (self.side < 2) | (self.side > C.CAMERA_WIDTH) | (self.bits < 1) | (self.bits > 8)

    def work_s(self, frames: int) -> np.ndarray:
        return np.full(len(self), 0.002 * frames)

    def inflate_s(self, frames: int) -> np.ndarray:
        return np.full(len(self), 0.01 * frames)


GENERATORS: Registry = Registry("generator")


class FlatSpace(LaneOptions):
    """What a loop searches here: `tac loop --option flat.sides=6,12`."""

    sides: list[int] = list(SIDES)
    bit_depths: list[int] = [3, 5, 8]


@GENERATORS.register("grid")
def grid(sides: Sequence[int] = SIDES, bit_depths: Sequence[int] = (3, 5, 8), **_) -> FlatTable:
    rows = np.array(list(product(sides, bit_depths)), dtype=np.int64).reshape(-1, 2)
    return FlatTable(rows[:, 0], rows[:, 1])


INFLATE_SH = b"""#!/usr/bin/env bash
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$HERE/inflate.py" "$@"
"""

INFLATE_PY = b'''"""Inflate a flat-lane submission: thumbnails -> camera-size frames (nearest neighbour)."""
import json, sys, zlib
from pathlib import Path
import numpy as np

W, H = 1164, 874
archive, output, names = (Path(a) for a in sys.argv[1:4])
output.mkdir(parents=True, exist_ok=True)
for name in names.read_text().split():
    stem = Path(name).stem
    head, blob = (archive / f"{stem}.flat").read_bytes().split(b"\\n", 1)
    n, h, w, bits = json.loads(head)
    thumbs = np.frombuffer(zlib.decompress(blob), np.uint8).reshape(n, h, w, 3)
    step = 256 // (1 << bits)
    rows, cols = (np.arange(H) * h) // H, (np.arange(W) * w) // W
    with open(output / f"{stem}.raw", "wb") as out:
        for t in thumbs:
            out.write((t.astype(np.uint16) * step + step // 2).clip(0, 255).astype(np.uint8)[rows][:, cols].tobytes())
'''


@register_lane
class FlatLane(Lane):
    name = "flat"
    params_type = FlatParams
    generators = GENERATORS
    options_type = FlatSpace

    def table(self, params: Sequence[FlatParams]) -> FlatTable:
        return FlatTable(np.array([p.side for p in params], np.int64), np.array([p.bits for p in params], np.int64))  # fmt: skip

    def prepare(self, params: FlatParams) -> FlatSettings:
        try:
            return FlatSettings(side=params.side, bits=params.bits)
        except ValueError as exc:
            raise TacError(f"{params.id()}: {exc}") from None

    def compress(self, frames: Iterable, settings: FlatSettings, out: Path) -> list[Path]:
        import torch
        import torch.nn.functional as F

        w, h = settings.size
        thumbs = []
        for f in frames:
            x = torch.as_tensor(np.asarray(f)).permute(2, 0, 1)[None].float()
            thumbs.append(F.interpolate(x, size=(h, w), mode="area")[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy())  # fmt: skip
        q = (np.stack(thumbs) >> (8 - settings.bits)).astype(np.uint8)
        path = Path(out).with_suffix(".flat")
        head = f"[{len(q)}, {h}, {w}, {settings.bits}]\n".encode()
        path.write_bytes(head + zlib.compress(q.tobytes(), 9))
        return [path]

    def inflate(self, payload: list[Path], settings: FlatSettings) -> Iterator[np.ndarray]:
        raise NotImplementedError("the flat lane inflates only through its submission")

    def inflate_files(self) -> dict[str, bytes]:
        return {"inflate.sh": INFLATE_SH, "inflate.py": INFLATE_PY}


assert "flat" in LANES
