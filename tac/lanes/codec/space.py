"""The codec lane's candidate space as columns: one numpy array per knob, so ranking is vectorised.

A `CodecTable` holds N codec-lane settings. Strings (codec, preset, filter family) are small
integer codes into fixed vocabularies; ids are formatted only for the rows a caller looks at,
and sort exactly like the column tuple (see `CodecSearchParams.id`), which is how ties break.
Besides the columns it knows what the search asks of a lane: the proxy's features and byte
model, which settings the encoder refuses, and the job-time and inflate-time estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tac.contest import constants as C
from tac.lanes.base import Features, LaneTable
from tac.lanes.codec.encoders import ENCODERS, INVALID_PRESET, preset_index
from tac.lanes.codec.params import CodecSearchParams

CODECS: tuple[str, ...] = tuple(sorted(ENCODERS))  # av1, h264, hevc: id (alphabetical) order
# Post-filter families, known here without importing torch (a test checks this list against
# tac.postfilter's registry). Index 0 is "no filter": ids without a filter sort first.
FILTERS: tuple[str | None, ...] = (
    None, "depthwise_separable", "dilated", "film", "gated_dilated", "luma_only",
    "pixel_shuffle", "psd", "standard",
)  # fmt: skip
# Parameter count of each family as a polynomial in `hidden` (a·h² + b·h + c), exact for every
# hidden size (tested against tac.postfilter): filter bytes without building a network.
FILTER_PARAMS: dict[str, tuple[int, int, int]] = {
    "depthwise_separable": (2, 53, 3), "dilated": (27, 58, 3), "film": (13, 67, 3),
    "gated_dilated": (54, 61, 3), "luma_only": (9, 20, 1), "pixel_shuffle": (9, 218, 12),
    "psd": (27, 220, 12), "standard": (9, 56, 3),
}  # fmt: skip
CRF_LO = np.array([ENCODERS[c].crf_range[0] for c in CODECS])
CRF_HI = np.array([ENCODERS[c].crf_range[1] for c in CODECS])
CRF_MAX = CRF_HI.astype(np.float64)
N_PRESETS = np.array([len(ENCODERS[c].presets) for c in CODECS])
PRESET_COUNT = N_PRESETS.astype(np.float64)
# x26x presets run slow → fast as the index falls (ultrafast = 0); SVT-AV1's run fast as it rises.
PRESET_FAST_LOW = np.array([c != "av1" for c in CODECS])
MIN_SIDE = 16  # the lane refuses frames smaller than 16x16

FEATURES = ("crf", "scale", "preset speed")
# A feature may leave the anchors' range by 10 % of that range (the proxy's rule), and at
# least by this much: about 1.5 crf steps, 5 % of scale, a sixth of the preset ladder.
MARGIN_ABS = np.array([0.03, 0.05, 0.06])

# --- cost constants: from benchmarks/bench_codec.py and bench_train.py on a 2-core CPU -------
CAMERA_MPIX = C.CAMERA_WIDTH * C.CAMERA_HEIGHT / 1e6
# Encode seconds per megapixel at the slowest preset; presets speed this up by up to e^3.
ENCODE_S_PER_MPIX = {"av1": 0.6, "h264": 0.15, "hevc": 0.8}
TRAIN_STEPS = 2000
TRAIN_STEP_S = 0.05  # per step at hidden 16 on a GPU; grows with hidden
SHUFFLE_FAMILIES = {"pixel_shuffle", "psd"}  # run at half resolution: a quarter of the pixels

COLUMNS = ("codec", "crf", "scale_milli", "preset", "filter", "hidden", "bits")
DTYPES = {"codec": np.int8, "crf": np.int16, "scale_milli": np.int16, "preset": np.int8,
          "filter": np.int8, "hidden": np.int16, "bits": np.int8}  # fmt: skip


def _natural(j: int, value: float, codec: int) -> str:
    """A feature value in the units a user sets: crf, scale, preset speed 0 (slow)..1 (fast)."""
    if j == 0:
        return f"{value * CRF_MAX[codec]:.1f}"
    return f"{np.exp(value):.3f}" if j == 1 else f"{value:.2f}"


def _variant_name(key: int) -> str:
    return str(FILTERS[key // 16])


@dataclass
class CodecTable(LaneTable):
    """N codec-lane candidates as parallel integer columns (scale in thousandths, so ids and
    ties are exact)."""

    lane = "codec"
    group_names = CODECS
    invalid_reason = "crf, preset, scale or filter outside what the lane accepts"

    codec: np.ndarray  # int8 index into CODECS
    crf: np.ndarray  # int16
    scale_milli: np.ndarray  # int16, 1..1000
    preset: np.ndarray  # int8 index into the codec's presets (INVALID_PRESET if unknown)
    filter: np.ndarray  # int8 index into FILTERS
    hidden: np.ndarray  # int16
    bits: np.ndarray  # int8
    _n: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._n = n = len(self.codec)
        for name in COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, not {n}")

    def __len__(self) -> int:
        return self._n

    @classmethod
    def from_columns(cls, **cols) -> CodecTable:
        return cls(**{k: np.asarray(cols[k], dtype=DTYPES[k]) for k in COLUMNS})

    @classmethod
    def from_params(cls, params: list[CodecSearchParams]) -> CodecTable:
        """Columns from records. An unknown codec or family is a ValueError naming it: the
        search can refuse a bad setting, but it cannot represent a codec it has never heard of."""
        for p in params:
            if p.codec not in CODECS:
                raise ValueError(f"unknown codec {p.codec!r}; known: {', '.join(CODECS)}")
            if p.filter not in FILTERS:
                raise ValueError(f"unknown post-filter family {p.filter!r}")
        return cls.from_columns(
            codec=[CODECS.index(p.codec) for p in params],
            crf=[p.crf for p in params],
            scale_milli=[round(p.scale * 1000) for p in params],
            preset=[preset_index(p.codec, p.preset) for p in params],
            filter=[FILTERS.index(p.filter) for p in params],
            hidden=[p.hidden if p.filter else 0 for p in params],
            bits=[p.bits if p.filter else 0 for p in params],
        )

    def take(self, rows: np.ndarray) -> CodecTable:
        return CodecTable(*(getattr(self, c)[rows] for c in COLUMNS))

    def params(self, i: int) -> CodecSearchParams:
        codec = CODECS[self.codec[i]]
        presets = ENCODERS[codec].presets
        p = int(self.preset[i])
        family = FILTERS[self.filter[i]]
        return CodecSearchParams(
            codec=codec,
            crf=int(self.crf[i]),
            preset=presets[p] if p != INVALID_PRESET and p < len(presets) else "?",
            scale=int(self.scale_milli[i]) / 1000,
            filter=family,
            hidden=int(self.hidden[i]) if family else 0,
            bits=int(self.bits[i]) if family else 8,
        )

    def id_order(self) -> np.ndarray:
        """Row order by id, without formatting ids (they sort like the column tuple)."""
        return np.lexsort(tuple(getattr(self, c) for c in reversed(COLUMNS)))

    # --- what the proxy fits -----------------------------------------------------------------
    def quality(self) -> np.ndarray:
        """crf as a fraction of the codec's range: 0 = best quality, 1 = worst."""
        return self.crf / CRF_MAX[self.codec]

    def log_scale(self) -> np.ndarray:
        return np.log(np.maximum(self.scale_milli, 1) / 1000.0)

    def speed(self) -> np.ndarray:
        """Preset as encode speed in [0, 1] (0 = slowest, best compression)."""
        frac = self.preset / np.maximum(PRESET_COUNT[self.codec] - 1, 1)
        return np.where(PRESET_FAST_LOW[self.codec], 1.0 - frac, frac)

    def filter_params(self) -> np.ndarray:
        coeffs = np.array([(0, 0, 0)] + [FILTER_PARAMS[f] for f in FILTERS[1:]], dtype=np.float64)
        a, b, c = coeffs[self.filter].T
        h = self.hidden.astype(np.float64)
        return a * h * h + b * h + c

    def filter_bytes(self) -> np.ndarray:
        """What a shipped filter adds to the archive (estimate): its codes, a scale and bias per
        channel, a JSON header and the zip entry. Zero without a filter."""
        est = self.filter_params() * self.bits / 8.0 + 8.0 * self.hidden + 400.0
        return np.where(self.filter > 0, est, 0.0)

    def features(self) -> Features:
        """Power laws in crf (as a fraction of its range), ln scale and preset speed, one law
        per codec; a post-filter (family × bits) shifts distortion and adds its bytes."""
        return Features(
            x=np.stack([self.quality(), self.log_scale(), self.speed()], axis=1),
            names=FEATURES,
            monotone=(1, -1, 0),  # distortion rises with crf, falls with scale
            margin_abs=MARGIN_ABS,
            group=self.codec.astype(np.int64),
            variant=self.filter.astype(np.int32) * 16 + np.where(self.filter > 0, self.bits, 0),
            width=self.hidden,
            side_bytes=self.filter_bytes(),
            natural=_natural,
            variant_name=_variant_name,
            variant_what="filter family at these bits",
        )

    # --- gates and costs ---------------------------------------------------------------------
    def invalid(self) -> np.ndarray:
        """True where the encoder (or the post-filter) cannot run the setting."""
        c = self.codec.astype(np.int64)
        bad = (self.crf < CRF_LO[c]) | (self.crf > CRF_HI[c])
        bad |= (self.preset == INVALID_PRESET) | (self.preset < 0) | (self.preset >= N_PRESETS[c])
        bad |= (self.scale_milli <= 0) | (self.scale_milli > 1000)
        bad |= np.round(874 * self.scale_milli.astype(np.float64) / 1000.0) < MIN_SIDE
        bad |= (self.filter > 0) & ((self.hidden < 1) | ~np.isin(self.bits, (4, 8)))
        return bad

    def encode_s(self, frames: int) -> np.ndarray:
        base = np.array([ENCODE_S_PER_MPIX[c] for c in CODECS])[self.codec]
        mpix = CAMERA_MPIX * (self.scale_milli / 1000.0) ** 2
        return frames * mpix * base * np.exp(-3.0 * self.speed())

    def train_s(self) -> np.ndarray:
        return np.where(self.filter > 0, TRAIN_STEPS * TRAIN_STEP_S * self.hidden / 16.0, 0.0)

    def work_s(self, frames: int) -> np.ndarray:
        """Encode plus filter training. Encoding is CPU-bound on every host; the training
        constant was measured on a GPU, so a CPU-only host trains slower than this says."""
        return self.encode_s(frames) + self.train_s()

    def inflate_s(self, frames: int) -> np.ndarray:
        """Inflate time on the contest's 4-core CPU: decode + upscale, then the filter.

        Measured here (2 cores): decode + upscale ≈ 0.02 s/frame; a filter costs about 0.16 s
        per frame per 16 channels of width (activation traffic) plus 7 µs per parameter
        (arithmetic), a quarter of that for the half-resolution families. Halved for 4 cores.
        """
        shuffle = np.array([f in SHUFFLE_FAMILIES for f in FILTERS])[self.filter]
        res = np.where(shuffle, 0.25, 1.0)
        per_frame = 0.02 + np.where(
            self.filter > 0, res * (0.16 * self.hidden / 16.0 + 7e-6 * self.filter_params()), 0.0
        )
        return frames * per_frame / 2.0
