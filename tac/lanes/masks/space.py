"""The masks lane as the search sees it: its params record, columns, features and costs.

A setting is (mask codec, crf, renderer width, renderer bits, pose bits, rate weight, steps).
The archive is three streams — masks, renderer, poses — and the mask codec decides most of both
its bytes and the seg distortion, so the proxy fits one log-linear law per codec (the table's
groups, as the codec lane fits one per video codec); inside a law the features are the crf (lossy
codecs), the renderer's parameter count, its bits, the pose bits, the rate weight and the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np
from pydantic import Field

from tac.lanes.base import Features, LaneOptions, LaneTable
from tac.lanes.chain_costs import ROUND_TRIP_S_PER_FRAME, UPSAMPLE_S_PER_FRAME, s_per_pair_step
from tac.lanes.masks import profiles as P
from tac.records import LaneParams
from tac.registry import Registry

FEATURES = ("crf", "renderer params", "bits", "pose_bits", "rate_weight", "steps")
NO_CRF = 0  # the crf column of a lossless codec

BATCH = 8  # the contest profile's pairs per step
ROUND_TRIPS_EVERY = 2000  # the contest profile's exact round trips
# Per mask at 384×512, measured on the demo's masks (2 cores; bench_masks prints them):
ENCODE_S_PER_MASK = {"av1": 0.010, "hevc": 0.009, "brotli": 0.19, "lzma": 0.077}
DECODE_S_PER_MASK = {"av1": 0.0007, "hevc": 0.0012, "brotli": 0.0001, "lzma": 0.0002}
# Inflate: the renderer's convolutions, fitted to bench_masks (width 24 at 384×512: 5.9 frames/s
# on 2 cores); the 4-core runner should take half, which stays as the margin for a slower CPU
CPU_S_PER_MAC = 7.7e-11


class MasksParams(LaneParams):
    lane: Literal["masks"] = "masks"
    codec: str = "av1"
    crf: int | None = None  # lossy codecs; None: the codec's default
    width: int = Field(24, ge=1)
    bits: int = 8
    pose_bits: int = Field(10, ge=1)
    rate_weight: float = Field(1.0, ge=0)
    steps: int = Field(2000, ge=1)

    def id(self) -> str:
        crf = f"{self.crf:02d}" if self.crf is not None else "--"
        return f"masks-{self.codec}-q{crf}-w{self.width:03d}-b{self.bits}-p{self.pose_bits:02d}-r{self.rate_weight:07.3f}-n{self.steps:06d}"  # fmt: skip

    def short(self) -> str:
        crf = f" crf {self.crf}" if self.crf is not None else ""
        return f"masks {self.codec}{crf} w{self.width} {self.bits}b p{self.pose_bits} λ{self.rate_weight:g} {self.steps}st"  # fmt: skip


def _crf_column(p: MasksParams) -> int:
    """The crf a lossy setting runs at (its codec's default when unset); NO_CRF when lossless."""
    if p.codec not in P.LOSSY:
        return NO_CRF
    return p.crf if p.crf is not None else P.DEFAULT_CRF[p.codec]


def _natural(j: int, value: float, group: int) -> str:
    if j == 1 or j == 5:
        return f"{np.exp(value):.0f}"
    if j == 0:
        return f"crf {value:.0f}"
    return f"{value:.0f} bits" if j in (2, 3) else f"λ {value:g}"


@dataclass
class MasksTable(LaneTable):
    lane = "masks"
    group_names = P.LANE_CODECS
    invalid_reason = "a mask codec, crf, renderer shape or bit width the lane cannot ship"

    codec: np.ndarray  # index into P.LANE_CODECS (-1: a codec the lane does not ship)
    crf: np.ndarray  # NO_CRF for lossless codecs
    width: np.ndarray
    bits: np.ndarray
    pose_bits: np.ndarray
    rate_milli: np.ndarray  # rate weight × 1000, as an integer column
    steps: np.ndarray

    @classmethod
    def from_params(cls, params: Sequence[MasksParams]) -> MasksTable:
        col = lambda f: np.array([f(p) for p in params], dtype=np.int64)  # noqa: E731
        code = lambda p: P.LANE_CODECS.index(p.codec) if p.codec in P.LANE_CODECS else -1  # noqa: E731
        return cls(
            col(code), col(_crf_column), col(lambda p: p.width), col(lambda p: p.bits),
            col(lambda p: p.pose_bits), col(lambda p: round(p.rate_weight * 1000)), col(lambda p: p.steps),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.width)

    def take(self, rows: np.ndarray) -> MasksTable:
        return MasksTable(*(getattr(self, f)[rows] for f in ("codec", "crf", "width", "bits", "pose_bits", "rate_milli", "steps")))  # fmt: skip

    def params(self, i: int) -> MasksParams:
        codec = P.LANE_CODECS[self.codec[i]] if self.codec[i] >= 0 else "unknown"
        return MasksParams(
            codec=codec, crf=int(self.crf[i]) if codec in P.LOSSY else None, width=int(self.width[i]),
            bits=int(self.bits[i]), pose_bits=int(self.pose_bits[i]),
            rate_weight=int(self.rate_milli[i]) / 1000, steps=int(self.steps[i]),
        )  # fmt: skip

    def renderer_parameters(self) -> np.ndarray:
        """Parameters of each row's renderer (the contest profile's embedding and encodings)."""
        return np.array([P.renderer_parameters(max(int(w), 1)) for w in self.width], dtype=np.int64)

    def features(self) -> Features:
        n = len(self)
        return Features(
            x=np.stack(
                [
                    self.crf.astype(float),
                    np.log(self.renderer_parameters().astype(float)),
                    self.bits.astype(float),
                    self.pose_bits.astype(float),
                    self.rate_milli / 1000.0,
                    np.log(np.maximum(self.steps, 1).astype(float)),
                ],
                axis=1,
            ),
            names=FEATURES,
            # a higher crf or rate weight: fewer bytes, more distortion; a wider renderer, more
            # bits, more pose bits: the other way; more steps: either
            monotone=(1, -1, -1, -1, 1, 0),
            margin_abs=np.array([4.0, 0.3, 1.0, 1.0, 0.5, 0.7]),
            group=np.maximum(self.codec, 0),
            variant=np.zeros(n, np.int32),
            width=np.zeros(n),
            side_bytes=np.zeros(n),
            natural=_natural,
            variant_name=lambda k: "none",
        )

    def invalid(self) -> np.ndarray:
        lossy = np.isin(self.codec, [P.LANE_CODECS.index(c) for c in P.LOSSY])
        low = np.array([P.CRF_RANGE.get(c, (NO_CRF, NO_CRF))[0] for c in P.LANE_CODECS])[np.maximum(self.codec, 0)]  # fmt: skip
        high = np.array([P.CRF_RANGE.get(c, (NO_CRF, NO_CRF))[1] for c in P.LANE_CODECS])[np.maximum(self.codec, 0)]  # fmt: skip
        return (
            (self.codec < 0) | (lossy & ((self.crf < low) | (self.crf > high))) | (~lossy & (self.crf != NO_CRF))
            | (self.width < 4) | (self.width > 256) | ~np.isin(self.bits, (4, 8))
            | (self.pose_bits < 1) | (self.pose_bits > 16) | (self.rate_milli < 0) | (self.steps < 1)
        )  # fmt: skip

    def _per_mask(self, seconds: dict[str, float]) -> np.ndarray:
        return np.array([seconds[c] for c in P.LANE_CODECS])[np.maximum(self.codec, 0)]

    def work_s(self, frames: int) -> np.ndarray:
        return self.work_s_on(frames, "cpu")

    def work_s_on(self, frames: int, device: str) -> np.ndarray:
        """Coding the masks, training at the contest profile's batch on `device`, and the exact
        round trips (on the CPU runner axis whatever the device). An estimate, for ranking."""
        round_trips = self.steps // ROUND_TRIPS_EVERY + 2  # step 0 and the last
        coding = (frames // 2) * (self._per_mask(ENCODE_S_PER_MASK) + self._per_mask(DECODE_S_PER_MASK))  # fmt: skip
        return coding + self.steps * BATCH * s_per_pair_step(device) + round_trips * frames * ROUND_TRIP_S_PER_FRAME  # fmt: skip

    def inflate_s(self, frames: int) -> np.ndarray:
        """Decoding the masks, drawing every pair at 384×512 and upsampling, on the CPU runner."""
        macs = np.array([P.renderer_macs_per_pair(max(int(w), 1)) for w in self.width], dtype=float)
        pairs = frames / 2
        return pairs * (macs * CPU_S_PER_MAC + self._per_mask(DECODE_S_PER_MASK)) + frames * UPSAMPLE_S_PER_FRAME  # fmt: skip


GENERATORS: Registry = Registry("generator")


class MasksSpace(LaneOptions):
    """What a loop searches here: `tac loop --lanes codec,masks --option masks.crfs=40,50`.
    A crf applies to the lossy codecs (av1, hevc); the lossless ones appear once each."""

    codecs: list[str] = ["av1"]
    crfs: list[int] = [40, 50, 60]
    widths: list[int] = [16, 24]
    bits: list[int] = [8]
    pose_bits: list[int] = [10]
    rate_weights: list[float] = [1.0]
    steps: list[int] = [2000]


@GENERATORS.register("grid")
def grid(
    codecs: Sequence[str] = ("av1",), crfs: Sequence[int] = (40, 50, 60),
    widths: Sequence[int] = (16, 24), bits: Sequence[int] = (8,), pose_bits: Sequence[int] = (10,),
    rate_weights: Sequence[float] = (1.0,), steps: Sequence[int] = (2000,), **_,
) -> MasksTable:  # fmt: skip
    coded = [(c, q) for c in codecs for q in (crfs if c in P.LOSSY else (None,))]
    rows = product(coded, widths, bits, pose_bits, rate_weights, steps)
    return MasksTable.from_params([MasksParams(codec=c, crf=q, width=w, bits=b, pose_bits=p, rate_weight=r, steps=s) for (c, q), w, b, p, r, s in rows])  # fmt: skip
