"""The codec lane's candidate generators: "grid", "random" (a Latin hypercube) and "refine".

Each returns a `CodecTable`. They are deterministic: the same arguments (and seed) give the
same candidates in the same order. Options they do not know are ignored, so one loop
configuration can drive several lanes (`tac.search.generate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product

import numpy as np
from pydantic import ValidationInfo, field_validator

from tac.errors import TacError
from tac.lanes.base import LaneOptions
from tac.lanes.codec.encoders import ENCODERS
from tac.lanes.codec.space import CODECS, FILTERS, CodecTable
from tac.records import Anchor
from tac.registry import Registry

GENERATORS: Registry[Callable[..., CodecTable]] = Registry("generator")


class CodecSpace(LaneOptions):
    """What a loop searches in the codec lane (`tac loop --codecs --presets --filters`)."""

    codecs: list[str] = ["hevc"]
    crfs: list[int] | None = None  # None: every other crf of the codec's useful range
    scales: list[float] = [0.35, 0.45, 0.55, 0.65, 0.75]
    presets: list[str] = ["medium"]  # each must exist for at least one searched codec
    filters: list[tuple[str | None, int, int]] = [(None, 0, 0)]  # (family, hidden, bits)

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in ENCODERS]
        if unknown:
            raise ValueError(f"unknown codec {unknown[0]!r}; known: {', '.join(ENCODERS)}")
        if not value:
            raise ValueError("give at least one codec")
        return value

    @field_validator("presets")
    @classmethod
    def _presets(cls, value: list[str], info: ValidationInfo) -> list[str]:
        codecs = info.data.get("codecs") or []
        for preset in value:
            if codecs and not any(preset in ENCODERS[c].presets for c in codecs):
                allowed = "; ".join(f"{c}: {', '.join(ENCODERS[c].presets)}" for c in codecs)
                raise ValueError(f"no searched codec has preset {preset!r} ({allowed})")
        return value

    @field_validator("crfs")
    @classmethod
    def _crfs(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        codecs = info.data.get("codecs") or []
        for crf in value or []:
            if codecs and not any(
                lo <= crf <= hi for lo, hi in (ENCODERS[c].crf_range for c in codecs)
            ):
                ranges = "; ".join(f"{c}: {ENCODERS[c].crf_range[0]}..{ENCODERS[c].crf_range[1]}" for c in codecs)  # fmt: skip
                raise ValueError(f"crf {crf} is outside every searched codec's range ({ranges})")
        if value is not None and not value:
            raise ValueError("give at least one crf")
        return value

    @field_validator("scales")
    @classmethod
    def _scales(cls, value: list[float]) -> list[float]:
        bad = [s for s in value if not 0 < s <= 1]
        if bad or not value:
            raise ValueError(
                f"scale {bad[0] if bad else '(none)'}: each must be above 0 and at most 1"
            )
        return value

    def generator_kwargs(self) -> dict:
        return {
            "codecs": tuple(self.codecs), "crfs": self.crfs, "scales": tuple(self.scales),
            "presets": {c: self.presets_of(c) for c in self.codecs},
            "filters": tuple(tuple(f) for f in self.filters),
        }  # fmt: skip

    def presets_of(self, codec: str) -> tuple[str, ...]:
        """The presets given that `codec` has; its middle one where it has none of them (the
        presets are validated against the codecs together: `--codecs hevc,av1 --presets
        medium` searches hevc at medium and av1 at its middle preset)."""
        own = ENCODERS[codec].presets
        return tuple(p for p in self.presets if p in own) or (own[len(own) // 2],)


DEFAULT_FILTERS: tuple[tuple[str | None, int, int], ...] = (
    (None, 0, 0), ("dilated", 16, 8), ("dilated", 32, 8), ("psd", 16, 8), ("standard", 16, 4),
)  # fmt: skip
DEFAULT_PRESETS = {"hevc": ("fast", "medium", "slow"), "h264": ("medium", "slow"), "av1": ("4", "6", "8")}  # fmt: skip


def _filter_columns(filters: Sequence[tuple[str | None, int, int]]) -> np.ndarray:
    return np.array([(FILTERS.index(f), h if f else 0, b if f else 0) for f, h, b in filters])


@GENERATORS.register("grid")
def grid(
    codecs: Sequence[str] = ("hevc", "av1"),
    crfs: Sequence[int] | None = None,
    scales: Sequence[float] = (0.35, 0.45, 0.5, 0.6, 0.75),
    presets: dict[str, Sequence[str]] | None = None,
    filters: Sequence[tuple[str | None, int, int]] = DEFAULT_FILTERS,
    **_: object,
) -> CodecTable:
    """Every combination of codec × crf × scale × preset × (filter family, hidden, bits)."""
    presets = presets or DEFAULT_PRESETS
    rows = []
    for codec in codecs:
        spec = ENCODERS[codec]
        crf_list = crfs or range(spec.crf_range[0] + 18, spec.crf_range[1] - 8, 2)
        pidx = [
            spec.presets.index(p)
            for p in presets.get(codec, (spec.presets[len(spec.presets) // 2],))
        ]
        for crf, scale, p in product(crf_list, scales, pidx):
            rows.append((CODECS.index(codec), crf, round(scale * 1000), p))
    base = np.array(rows, dtype=np.int64).reshape(-1, 4)
    fcols = _filter_columns(filters)
    b = np.repeat(base, len(fcols), axis=0)
    f = np.tile(fcols, (len(base), 1))
    return CodecTable.from_columns(
        codec=b[:, 0], crf=b[:, 1], scale_milli=b[:, 2], preset=b[:, 3],
        filter=f[:, 0], hidden=f[:, 1], bits=f[:, 2],
    )  # fmt: skip


@GENERATORS.register("random")
def random(
    n: int = 1000,
    seed: int = 0,
    codecs: Sequence[str] = ("hevc", "av1"),
    crfs: Sequence[int] | None = None,
    scales: Sequence[float] | None = None,
    presets: dict[str, Sequence[str]] | None = None,
    scale_range: tuple[float, float] = (0.3, 1.0),
    filters: Sequence[tuple[str | None, int, int]] = DEFAULT_FILTERS,
    **_: object,
) -> CodecTable:
    """A Latin hypercube over (crf, scale, preset) per codec: space-filling, not clumped.

    Each of the n strata of every dimension holds exactly one point, so even a small sample
    covers the whole range of every knob. A loop's space narrows it: `crfs` and `presets` (per
    codec) are the values the strata fall on, `scales` the range they span (`scale_range`
    otherwise); without them, each codec's whole crf range and every preset.
    """
    rng = np.random.default_rng(seed)

    def lhs(k: int) -> np.ndarray:  # k points in [0, 1)^3, one per stratum per dimension
        u = (np.stack([rng.permutation(k) for _ in range(3)], axis=1) + rng.random((k, 3))) / k
        return u

    codec = np.sort(rng.integers(0, len(codecs), n))
    u = lhs(n)
    cidx = np.array([CODECS.index(c) for c in codecs])[codec]
    if crfs is None:
        lo = np.array([ENCODERS[c].crf_range[0] for c in CODECS])[cidx]
        hi = np.array([ENCODERS[c].crf_range[1] for c in CODECS])[cidx]
        crf = np.floor(lo + u[:, 0] * (hi - lo + 1))
    else:
        crf = np.array(sorted(crfs))[np.floor(u[:, 0] * len(crfs)).astype(int)]
    if presets is None:
        npre = np.array([len(ENCODERS[c].presets) for c in CODECS])[cidx]
        preset = np.floor(u[:, 2] * npre)
    else:  # each codec's own presets (`CodecSpace.presets_of`)
        allowed = {CODECS.index(c): [ENCODERS[c].presets.index(p) for p in presets[c]] for c in codecs}  # fmt: skip
        preset = np.array([allowed[c][int(x * len(allowed[c]))] for c, x in zip(cidx, u[:, 2], strict=True)])  # fmt: skip
    s0, s1 = (min(scales), max(scales)) if scales else scale_range
    fcols = _filter_columns(filters)[rng.integers(0, len(filters), n)]
    return CodecTable.from_columns(
        codec=cidx,
        crf=crf,
        scale_milli=np.round((s0 + u[:, 1] * (s1 - s0)) * 1000),
        preset=preset,
        filter=fcols[:, 0], hidden=fcols[:, 1], bits=fcols[:, 2],
    )  # fmt: skip


@GENERATORS.register("refine")
def refine(
    anchors: Sequence[Anchor] = (),
    best: int = 3,
    crf_steps: Sequence[int] = (-3, -2, -1, 0, 1, 2, 3),
    scale_factors: Sequence[float] = (0.9, 0.95, 1.0, 1.05, 1.1),
    preset_steps: Sequence[int] = (-1, 0, 1),
    **_: object,
) -> CodecTable:
    """Neighbours of the `best` lossy anchors by measured score (their own settings excluded)."""
    lossy = sorted((a for a in anchors if a.kind == "lossy" and a.lane == "codec"), key=lambda a: (a.score, a.id))[:best]  # fmt: skip
    if not lossy:
        raise TacError("refine needs at least one lossy anchor to refine around")
    seeds = CodecTable.from_params([a.params for a in lossy])
    rows = set()
    for i in range(len(seeds)):
        for dc, fs, dp in product(crf_steps, scale_factors, preset_steps):
            if dc == 0 and fs == 1.0 and dp == 0:
                continue
            rows.add((
                int(seeds.codec[i]), int(seeds.crf[i]) + dc,
                min(1000, round(int(seeds.scale_milli[i]) * fs)), int(seeds.preset[i]) + dp,
                int(seeds.filter[i]), int(seeds.hidden[i]), int(seeds.bits[i]),
            ))  # fmt: skip
    own = {tuple(int(getattr(seeds, c)[i]) for c in ("codec", "crf", "scale_milli", "preset", "filter", "hidden", "bits")) for i in range(len(seeds))}  # fmt: skip
    arr = np.array(sorted(rows - own), dtype=np.int64).reshape(-1, 7)
    lo = np.array([ENCODERS[c].crf_range[0] for c in CODECS])[arr[:, 0]]
    hi = np.array([ENCODERS[c].crf_range[1] for c in CODECS])[arr[:, 0]]
    npre = np.array([len(ENCODERS[c].presets) for c in CODECS])[arr[:, 0]]
    inside = (arr[:, 1] >= lo) & (arr[:, 1] <= hi) & (arr[:, 3] >= 0) & (arr[:, 3] < npre)
    arr = arr[inside]
    return CodecTable.from_columns(**{c: arr[:, j] for j, c in enumerate(("codec", "crf", "scale_milli", "preset", "filter", "hidden", "bits"))})  # fmt: skip
