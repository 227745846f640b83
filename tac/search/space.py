"""The candidate space as columns: one numpy array per parameter, so ranking is vectorised.

A `CandidateTable` holds N codec-lane settings. Strings (codec, preset, filter family) are small
integer codes into fixed vocabularies; ids are formatted only for the rows a caller looks at,
and sort exactly like the column tuple (see `tac.records.params_id`), which is how ties break.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tac.lanes.encoders import ENCODERS, INVALID_PRESET, preset_index
from tac.records import CandidateParams, params_id

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
CRF_MAX = np.array([ENCODERS[c].crf_range[1] for c in CODECS], dtype=np.float64)
PRESET_COUNT = np.array([len(ENCODERS[c].presets) for c in CODECS], dtype=np.float64)
# x26x presets run slow → fast as the index falls (ultrafast = 0); SVT-AV1's run fast as it rises.
PRESET_FAST_LOW = np.array([c != "av1" for c in CODECS])

COLUMNS = ("codec", "crf", "scale_milli", "preset", "filter", "hidden", "bits")


@dataclass
class CandidateTable:
    """N candidates as parallel integer columns (scale in thousandths, so ids and ties are exact)."""

    codec: np.ndarray  # int8 index into CODECS
    crf: np.ndarray  # int16
    scale_milli: np.ndarray  # int16, 1..1000
    preset: np.ndarray  # int8 index into the codec's presets (INVALID_PRESET if unknown)
    filter: np.ndarray  # int8 index into FILTERS
    hidden: np.ndarray  # int16
    bits: np.ndarray  # int8
    exact_bytes: np.ndarray = field(default=None)  # float64, NaN until encoded

    def __post_init__(self) -> None:
        n = len(self.codec)
        for name in COLUMNS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"column {name} has {len(getattr(self, name))} rows, not {n}")
        if self.exact_bytes is None:
            self.exact_bytes = np.full(n, np.nan)

    def __len__(self) -> int:
        return len(self.codec)

    @classmethod
    def from_columns(cls, **cols) -> CandidateTable:
        dtypes = {"codec": np.int8, "crf": np.int16, "scale_milli": np.int16, "preset": np.int8,
                  "filter": np.int8, "hidden": np.int16, "bits": np.int8}  # fmt: skip
        arrays = {k: np.asarray(cols[k], dtype=dtypes[k]) for k in COLUMNS}
        exact = cols.get("exact_bytes")
        return cls(**arrays, exact_bytes=None if exact is None else np.asarray(exact, float))

    @classmethod
    def from_params(cls, params: list[CandidateParams]) -> CandidateTable:
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

    def take(self, rows: np.ndarray) -> CandidateTable:
        return CandidateTable(
            *(getattr(self, c)[rows] for c in COLUMNS), exact_bytes=self.exact_bytes[rows]
        )

    def params(self, i: int) -> CandidateParams:
        codec = CODECS[self.codec[i]]
        presets = ENCODERS[codec].presets
        p = int(self.preset[i])
        family = FILTERS[self.filter[i]]
        return CandidateParams(
            codec=codec,
            crf=int(self.crf[i]),
            preset=presets[p] if p != INVALID_PRESET and p < len(presets) else "?",
            scale=int(self.scale_milli[i]) / 1000,
            filter=family,
            hidden=int(self.hidden[i]) if family else 0,
            bits=int(self.bits[i]) if family else 8,
        )

    def id(self, i: int) -> str:
        return params_id(self.params(i))

    def id_order(self) -> np.ndarray:
        """Row order by id, without formatting ids (they sort like the column tuple)."""
        return np.lexsort(tuple(getattr(self, c) for c in reversed(COLUMNS)))

    # --- features the models use --------------------------------------------------------
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
