"""Byte model and distortion proxy: log-linear power laws fitted on anchors, one per codec.

For a codec-lane setting with quality q (crf as a fraction of the codec's range), log scale s and
preset speed v, and an optional post-filter of family f at b bits:

    ln payload_bytes = a0 + a1·q + a2·s + a3·v              (a1 < 0, a2 > 0: monotone)
    ln pose          = b0 + b1·q + b2·s + b3·v + β[f,b]     (b1 > 0, b2 < 0)
    ln seg           = c0 + c1·q + c2·s + c3·v + γ[f,b]     (c1 > 0, c2 < 0)
    bytes            = payload_bytes + filter_bytes(f, hidden, b)

Power laws in the knobs are what rate-distortion curves look like over a few octaves, and they
need few anchors. A fit whose slopes have the wrong sign is not used, it is refused
(`non_monotone_fit`). Distortion is floored at the best lossless/identity anchor: a prediction
that falls clearly below that floor is refused as incoherent, not clamped into plausibility.
Exact bytes replace the byte prediction once a candidate has been encoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tac.records import Anchor
from tac.search.refusals import CODE
from tac.search.space import CODECS, CRF_MAX, FILTERS, CandidateTable

FEATURES = ("crf", "scale", "preset speed")
# A feature may leave the anchors' range by 10 % of that range, and at least by this much:
# about 1.5 crf steps, 5 % of scale, a sixth of the preset ladder.
MARGIN_REL = 0.10
MARGIN_ABS = np.array([0.03, 0.05, 0.06])
HIDDEN_MARGIN = 0.25  # a measured filter family may grow or shrink its width by 25 %
RIDGE = 1e-6  # keeps constant columns (one preset everywhere) from breaking the solve
INCOHERENT_FACTOR = 0.5  # "clearly below the floor": under half of it


def filter_bytes(table: CandidateTable) -> np.ndarray:
    """What a shipped filter adds to the archive (estimate): its codes, a scale and bias per
    channel, a JSON header and the zip entry. Zero without a filter."""
    params = table.filter_params()
    est = params * table.bits / 8.0 + 8.0 * table.hidden + 400.0
    return np.where(table.filter > 0, est, 0.0)


def _natural(j: int, value: float, codec: int) -> str:
    """A feature value in the units a user sets: crf, scale, preset speed 0 (slow)..1 (fast)."""
    if j == 0:
        return f"{value * CRF_MAX[codec]:.1f}"
    return f"{np.exp(value):.3f}" if j == 1 else f"{value:.2f}"


def features(table: CandidateTable) -> np.ndarray:
    return np.stack([table.quality(), table.log_scale(), table.speed()], axis=1)


def _filter_key(table: CandidateTable) -> np.ndarray:
    return table.filter.astype(np.int32) * 16 + np.where(table.filter > 0, table.bits, 0)


@dataclass
class CodecFit:
    codec: int
    n: int
    lo: np.ndarray  # feature ranges with margin
    hi: np.ndarray
    bytes_coef: np.ndarray
    pose_coef: np.ndarray
    seg_coef: np.ndarray
    keys: tuple[int, ...]  # measured (family, bits) keys beyond "no filter"
    hidden_range: dict[int, tuple[float, float]] = field(default_factory=dict)
    non_monotone: str = ""  # why the fit is unusable, or ""

    def design(self, feats: np.ndarray, key: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(feats)), feats[:, 0], feats[:, 1], feats[:, 2]]
        cols += [(key == k).astype(np.float64) for k in self.keys]
        return np.stack(cols, axis=1)


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y)


def n_coefficients(keys: set[int]) -> int:
    return 4 + len(keys - {0})


def fit_codec(codec: int, table: CandidateTable, y: dict[str, np.ndarray]) -> CodecFit:
    """Fit one codec's three laws on its lossy anchors (`y`: bytes, pose, seg arrays)."""
    feats = features(table)
    key = _filter_key(table)
    keys = tuple(sorted(set(key.tolist()) - {0}))
    span = feats.max(axis=0) - feats.min(axis=0)
    margin = np.maximum(MARGIN_REL * span, MARGIN_ABS)
    fit = CodecFit(
        codec, len(table), feats.min(axis=0) - margin, feats.max(axis=0) + margin,
        np.zeros(4), np.zeros(4 + len(keys)), np.zeros(4 + len(keys)), keys,
    )  # fmt: skip
    payload = np.maximum(y["bytes"] - filter_bytes(table), 1.0)
    fit.bytes_coef = _solve(fit.design(feats, np.zeros_like(key)), np.log(payload))
    x = fit.design(feats, key)
    fit.pose_coef = _solve(x, np.log(np.maximum(y["pose"], 1e-12)))
    fit.seg_coef = _solve(x, np.log(np.maximum(y["seg"], 1e-12)))
    for k in keys:
        h = table.hidden[key == k].astype(np.float64)
        fit.hidden_range[k] = (h.min() * (1 - HIDDEN_MARGIN), h.max() * (1 + HIDDEN_MARGIN))
    varies = span > 1e-9
    wrong = []
    # (coefficient index, must be positive?, law) for quality (1) and scale (2)
    for name, coef, sign_q in (("bytes", fit.bytes_coef, -1), ("pose", fit.pose_coef, 1), ("seg", fit.seg_coef, 1)):  # fmt: skip
        if varies[0] and np.sign(coef[1]) != sign_q:
            wrong.append(f"{name} {'falls' if sign_q > 0 else 'rises'} as crf rises")
        if varies[1] and np.sign(coef[2]) != -sign_q:
            wrong.append(f"{name} {'rises' if sign_q > 0 else 'falls'} as scale rises")
    fit.non_monotone = "; ".join(wrong)
    return fit


@dataclass
class Prediction:
    """Per-candidate predictions (NaN where refused) and the proxy's refusal codes (0 = none)."""

    bytes: np.ndarray
    pose: np.ndarray
    seg: np.ndarray
    code: np.ndarray  # int8 refusal code index (tac.search.refusals.CODES)
    detail: dict[tuple[int, int], str]  # (code, codec) → the anchors' side of the refusal


@dataclass
class Proxy:
    """Everything fitted on one axis's anchors."""

    fits: dict[int, CodecFit]
    lossy_counts: dict[int, int]
    min_per_codec: dict[int, int]
    original_bytes: int
    floor_pose: float = 0.0
    floor_seg: float = 0.0
    floor_source: str = ""
    incoherent_anchor: str = ""

    @classmethod
    def fit(cls, anchors: list[Anchor]) -> Proxy:
        lossy = [a for a in anchors if a.kind == "lossy"]
        lossless = [a for a in anchors if a.kind == "lossless"]
        originals = {a.original_bytes for a in anchors}
        if len(originals) > 1:
            raise ValueError(
                f"anchors were measured on different originals ({', '.join(map(str, sorted(originals)))} bytes); "
                "calibrate on one data source"
            )
        proxy = cls({}, {}, {}, originals.pop() if originals else 1)
        if lossless:
            best = min(lossless, key=lambda a: a.pose + a.seg)
            proxy.floor_pose, proxy.floor_seg = best.pose, best.seg
            proxy.floor_source = best.id
            for a in lossy:
                if a.pose < best.pose * INCOHERENT_FACTOR and a.seg < best.seg * INCOHERENT_FACTOR:
                    proxy.incoherent_anchor = a.id
        if not lossy:
            return proxy
        table = CandidateTable.from_params([a.params for a in lossy])
        y = {k: np.array([getattr(a, "archive_bytes" if k == "bytes" else k) for a in lossy], float) for k in ("bytes", "pose", "seg")}  # fmt: skip
        key = _filter_key(table)
        for c in np.unique(table.codec):
            rows = np.flatnonzero(table.codec == c)
            need = n_coefficients(set(key[rows].tolist())) + 1
            proxy.lossy_counts[int(c)] = len(rows)
            proxy.min_per_codec[int(c)] = need
            if len(rows) >= need:
                proxy.fits[int(c)] = fit_codec(
                    int(c), table.take(rows), {k: v[rows] for k, v in y.items()}
                )
        return proxy

    def predict(self, table: CandidateTable) -> Prediction:
        n = len(table)
        out = Prediction(
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.zeros(n, np.int8),
            {},
        )
        feats = features(table)
        key = _filter_key(table)
        fb = filter_bytes(table)

        def refuse(mask: np.ndarray, code: str, detail: str) -> None:
            mask = mask & (out.code == 0)  # the first (earliest-gate) reason stands
            if mask.any():
                out.code[mask] = CODE[code]
                out.detail.setdefault((CODE[code], c), detail)

        for c in range(len(CODECS)):
            rows = table.codec == c
            if not rows.any():
                continue
            fit = self.fits.get(c)
            if fit is None:
                have = self.lossy_counts.get(c, 0)
                if have:
                    refuse(
                        rows,
                        "insufficient_anchors",
                        f"{CODECS[c]} has {have} lossy anchors, its fit needs {self.min_per_codec[c]}",
                    )
                else:
                    refuse(rows, "missing_distortion_model", f"no lossy {CODECS[c]} anchor")  # fmt: skip
                continue
            if fit.non_monotone:
                refuse(rows, "non_monotone_fit", f"{CODECS[c]}: {fit.non_monotone}")
                continue
            outside = rows & ((feats < fit.lo) | (feats > fit.hi)).any(axis=1)
            if outside.any():
                j = int(
                    ((feats[outside] < fit.lo) | (feats[outside] > fit.hi)).any(axis=0).argmax()
                )
                refuse(outside, "extrapolation", f"{FEATURES[j]} beyond the {CODECS[c]} anchors' {_natural(j, fit.lo[j], c)}..{_natural(j, fit.hi[j], c)} (with margin)")  # fmt: skip
            measured = np.isin(key, (0, *fit.keys))
            for k, (lo, hi) in fit.hidden_range.items():
                wide = rows & (key == k) & ((table.hidden < lo) | (table.hidden > hi))
                refuse(
                    wide,
                    "extrapolation",
                    f"{FILTERS[k // 16]} width beyond the measured {lo:.0f}..{hi:.0f}",
                )
            x = fit.design(feats[rows], key[rows])
            raw_pose = np.exp(x @ fit.pose_coef)
            raw_seg = np.exp(x @ fit.seg_coef)
            out.pose[rows] = np.maximum(raw_pose, self.floor_pose)
            out.seg[rows] = np.minimum(np.maximum(raw_seg, self.floor_seg), 1.0)
            payload = np.exp(
                fit.design(feats[rows], np.zeros(rows.sum(), np.int32)) @ fit.bytes_coef
            )
            out.bytes[rows] = payload + fb[rows]
            below = np.zeros(n, bool)
            below[rows] = (raw_pose < self.floor_pose * INCOHERENT_FACTOR) | (
                raw_seg < self.floor_seg * INCOHERENT_FACTOR
            )
            refuse(
                below,
                "lossy_better_than_lossless_incoherent",
                f"below the floor of lossless anchor {self.floor_source}",
            )
            refuse(
                rows & ~measured,
                "missing_distortion_model",
                f"no {CODECS[c]} anchor carries this filter family at these bits",
            )
        if self.incoherent_anchor:
            # the anchors themselves contradict each other: nothing calibrated on them is trusted
            code = CODE["lossy_better_than_lossless_incoherent"]
            out.code[out.code == 0] = code
            for c in range(len(CODECS)):
                out.detail[(code, c)] = (
                    f"lossy anchor {self.incoherent_anchor} measured better than lossless "
                    f"{self.floor_source}; are the anchors on one axis and one set of weights?"
                )
        exact = ~np.isnan(table.exact_bytes)
        out.bytes[exact] = table.exact_bytes[exact]
        return out
