"""The nerv lane as the search sees it: its params record, columns, features and costs.

A setting is (latent size, width, bits, rate weight, steps). Width is the stem's channel count;
the up-stages narrow from it in #95's proportions (`profiles.stage_channels`), so one number
moves the decoder's parameter count — and with it the payload's bytes — along the family's
line. The proxy fits ln bytes and ln distortion log-linearly in these features, one law for
the lane; its size feature is the decoder's parameter count at the contest shape (bytes are
parameters × bits per coded weight, plus the latents), not the width it comes from.
`prior_bytes` is the same prediction before any anchor: parameter counts times the entropy
per value measured on trained representations (bench_nerv).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from typing import Literal

import numpy as np
from pydantic import Field

from tac.lanes.base import Features, LaneOptions, LaneTable
from tac.lanes.chain_costs import ROUND_TRIP_S_PER_FRAME, UPSAMPLE_S_PER_FRAME, s_per_pair_step
from tac.lanes.nerv.profiles import decoder_macs_per_pair, decoder_parameters
from tac.records import LaneParams
from tac.registry import Registry

FEATURES = ("latent_dim", "decoder params", "bits", "rate_weight", "steps")
# Coded bits per value, scales and stream headers included (bench_nerv, smoke-trained
# representations: 8.0–8.2 at 8 bits). Short runs leave the weights near PyTorch's uniform
# initialisation, which no coder shrinks; long runs peak around zero and code smaller, which
# the byte law's anchors then measure.
BITS_PER_WEIGHT = {8: 8.0, 4: 4.0}
BITS_PER_LATENT = 8.0  # uint8 per dimension; differences between pairs when smaller
HEADER_BYTES = 600  # config JSON, stream lengths, the zip entry

# Training costs what the shared chain costs (`chain_costs`): the decoder's size barely moves it.
BATCH = 8  # the contest profile's pairs per step
ROUND_TRIPS_EVERY = 2000  # the contest profile's exact round trips (eval_every), plus polish's
# Inflate, fitted to bench_nerv on 2 cores (widths 24 and 36: 28 and 14 frames/s); the 4-core
# runner should take half, which stays as the margin for a slower CPU there
CPU_S_PER_MAC = 5e-11  # the decoder's convolutions, per multiply-add


class NervParams(LaneParams):
    lane: Literal["nerv"] = "nerv"
    latent_dim: int = Field(28, ge=1)
    width: int = Field(36, ge=1)
    bits: int = 8
    rate_weight: float = Field(1.0, ge=0)
    steps: int = Field(1000, ge=1)
    # a warm start: the candidate whose final checkpoint this one fine-tunes, and the steps that
    # checkpoint was trained for already (the search sees parent_steps + steps of training)
    parent: str | None = None
    parent_steps: int = Field(0, ge=0)

    def id(self) -> str:
        own = f"nerv-z{self.latent_dim:03d}-w{self.width:03d}-b{self.bits}-r{self.rate_weight:07.3f}-n{self.steps:06d}"  # fmt: skip
        if self.parent is None:
            return own
        return f"{own}-from-{hashlib.sha256(self.parent.encode()).hexdigest()[:10]}"

    def short(self) -> str:
        warm = f" ↳{self.parent_steps}st" if self.parent is not None else ""
        return f"nerv z{self.latent_dim} w{self.width} {self.bits}b λ{self.rate_weight:g} {self.steps}st{warm}"  # fmt: skip

    def warm_from(self) -> str | None:
        return self.parent


def payload_prior(weights, latents, bits) -> np.ndarray:
    """Archive bytes of `weights` decoder parameters and `latents` latent values at `bits`:
    each at the entropy per value measured on trained representations, plus the headers."""
    per_weight = np.where(np.asarray(bits) == 4, BITS_PER_WEIGHT[4], BITS_PER_WEIGHT[8])
    return (np.asarray(weights) * per_weight + np.asarray(latents) * BITS_PER_LATENT) / 8 + HEADER_BYTES  # fmt: skip


def _natural(j: int, value: float, group: int) -> str:
    if j in (0, 1, 4):
        return f"{np.exp(value):.0f}"
    return f"{value:.0f} bits" if j == 2 else f"λ {value:g}"


@dataclass
class NervTable(LaneTable):
    lane = "nerv"
    group_names = ("nerv",)
    invalid_reason = "a decoder shape, bit width or schedule the lane cannot train"

    latent_dim: np.ndarray
    width: np.ndarray
    bits: np.ndarray
    rate_milli: np.ndarray  # rate weight × 1000, as an integer column
    steps: np.ndarray
    parent: np.ndarray | None = None  # object: the warm start's candidate id, or None
    parent_steps: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.width)
        if self.parent is None:
            self.parent = np.full(n, None, dtype=object)
        if self.parent_steps is None:
            self.parent_steps = np.zeros(n, np.int64)

    @classmethod
    def from_params(cls, params: Sequence[NervParams]) -> NervTable:
        col = lambda f: np.array([f(p) for p in params], dtype=np.int64)  # noqa: E731
        return cls(
            col(lambda p: p.latent_dim), col(lambda p: p.width), col(lambda p: p.bits),
            col(lambda p: round(p.rate_weight * 1000)), col(lambda p: p.steps),
            np.array([p.parent for p in params], dtype=object), col(lambda p: p.parent_steps),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.width)

    def take(self, rows: np.ndarray) -> NervTable:
        return NervTable(self.latent_dim[rows], self.width[rows], self.bits[rows], self.rate_milli[rows], self.steps[rows], self.parent[rows], self.parent_steps[rows])  # fmt: skip

    def params(self, i: int) -> NervParams:
        return NervParams(
            latent_dim=int(self.latent_dim[i]), width=int(self.width[i]), bits=int(self.bits[i]),
            rate_weight=int(self.rate_milli[i]) / 1000, steps=int(self.steps[i]),
            parent=self.parent[i], parent_steps=int(self.parent_steps[i]),
        )  # fmt: skip

    def features(self) -> Features:
        n = len(self)
        safe = lambda a: np.log(np.maximum(a, 1).astype(float))  # noqa: E731
        return Features(
            x=np.stack(
                [
                    safe(self.latent_dim),
                    np.log(self.decoder_parameters().astype(float)),
                    self.bits.astype(float),
                    self.rate_milli / 1000.0,
                    safe(self.steps + self.parent_steps),  # a warm start's training in all
                ],
                axis=1,
            ),  # fmt: skip
            names=FEATURES,
            # a wider decoder, larger latents, more bits: less distortion, more bytes; a larger
            # rate weight: fewer bytes, more distortion; more steps: either
            monotone=(-1, -1, -1, 1, 0),
            margin_abs=np.array([0.3, 0.3, 1.0, 0.5, 0.7]),
            group=np.zeros(n, np.int64),
            variant=np.zeros(n, np.int32),
            width=np.zeros(n),
            side_bytes=np.zeros(n),
            natural=_natural,
            variant_name=lambda k: "none",
        )

    def decoder_parameters(self) -> np.ndarray:
        """Parameters of each row's decoder at the contest shape."""
        return np.array([decoder_parameters(max(int(z), 1), max(int(w), 4)) for z, w in zip(self.latent_dim, self.width, strict=True)], dtype=np.int64)  # fmt: skip

    def prior_bytes(self, frames: int) -> np.ndarray:
        """Archive bytes before any anchor, at the contest shape (an estimate)."""
        return payload_prior(self.decoder_parameters(), (frames // 2) * self.latent_dim, self.bits)

    def invalid(self) -> np.ndarray:
        return (
            (self.latent_dim < 1) | (self.latent_dim > 256) | (self.width < 4) | (self.width > 256)
            | ~np.isin(self.bits, (4, 8)) | (self.rate_milli < 0) | (self.steps < 1)
        )  # fmt: skip

    def work_s(self, frames: int) -> np.ndarray:
        return self.work_s_on(frames, "cpu")

    def work_s_on(self, frames: int, device: str) -> np.ndarray:
        """Training at the contest profile's batch on `device`, plus its exact round trips
        (scored on the CPU runner axis whatever the device). An estimate, for ranking."""
        round_trips = self.steps // ROUND_TRIPS_EVERY + 3  # step 0, the last, the polish stages
        return (
            self.steps * BATCH * s_per_pair_step(device)
            + round_trips * frames * ROUND_TRIP_S_PER_FRAME
        )

    def inflate_s(self, frames: int) -> np.ndarray:
        macs = np.array([decoder_macs_per_pair(int(z), int(w)) for z, w in zip(self.latent_dim, self.width, strict=True)])  # fmt: skip
        return (frames / 2) * macs * CPU_S_PER_MAC + frames * UPSAMPLE_S_PER_FRAME


GENERATORS: Registry = Registry("generator")


class NervSpace(LaneOptions):
    """What a loop searches here: `tac loop --lanes codec,nerv --option nerv.widths=24,36`.

    Warm starts: the `warm_parents` best measured settings of the lane each get children that
    fine-tune their final checkpoint for `warm_steps` × its steps, at each rate weight factor
    (and at 4 bits, from 8); 0 parents: none."""

    latent_dims: list[int] = [16, 28]
    widths: list[int] = [24, 36, 48]
    bits: list[int] = [8]
    rate_weights: list[float] = [1.0]
    steps: list[int] = [2000]
    warm_parents: int = Field(2, ge=0)
    warm_rate_factors: list[float] = [0.7, 1.0, 1.4]
    warm_steps: float = Field(0.5, gt=0)


def children(anchors, parents: int = 2, rate_factors: Sequence[float] = (0.7, 1.0, 1.4), steps: float = 0.5) -> list[NervParams]:  # fmt: skip
    """Warm starts from the `parents` best lossy nerv anchors (by score): a new rate weight or
    bit width, and `steps` × the parent's steps of fine-tuning."""
    ranked = sorted((a for a in anchors if a.kind == "lossy" and isinstance(a.params, NervParams)), key=lambda a: (a.score, a.id))  # fmt: skip
    out: dict[str, NervParams] = {}
    for anchor in ranked[:parents]:
        p = anchor.params
        base = {"latent_dim": p.latent_dim, "width": p.width, "parent": anchor.id,
                "parent_steps": p.parent_steps + p.steps, "steps": max(1, round(p.steps * steps))}  # fmt: skip
        kids = [
            NervParams(**base, bits=p.bits, rate_weight=round(p.rate_weight * f, 3))
            for f in rate_factors
        ]
        if p.bits == 8:
            kids.append(NervParams(**base, bits=4, rate_weight=p.rate_weight))
        out.update({k.id(): k for k in kids})
    return list(out.values())


@GENERATORS.register("grid")
def grid(
    latent_dims: Sequence[int] = (16, 28), widths: Sequence[int] = (24, 36, 48),
    bits: Sequence[int] = (8,), rate_weights: Sequence[float] = (1.0,),
    steps: Sequence[int] = (2000,), anchors=(), warm_parents: int = 2,
    warm_rate_factors: Sequence[float] = (0.7, 1.0, 1.4), warm_steps: float = 0.5, **_,
) -> NervTable:  # fmt: skip
    """Every combination of the space's values, then the warm starts of the best anchors."""
    rows = list(product(latent_dims, widths, bits, rate_weights, steps))
    cold = [
        NervParams(latent_dim=z, width=w, bits=b, rate_weight=r, steps=s) for z, w, b, r, s in rows
    ]
    return NervTable.from_params(cold + children(anchors or (), warm_parents, warm_rate_factors, warm_steps))  # fmt: skip
