"""Byte model and distortion proxy: log-linear power laws fitted on anchors, one per lane group.

Each lane describes its rows as features x (`tac.lanes.base.Features`: for the codec lane crf
as a fraction of its range, ln scale and preset speed, one group per codec) and an optional
variant v (the codec lane's post-filter family at its bits):

    ln payload_bytes = a·[1, x]                    (monotone in the signs the lane declares)
    ln pose          = b·[1, x] + β[v]
    ln seg           = c·[1, x] + γ[v]
    bytes            = payload_bytes + side_bytes(v)

Power laws in the knobs are what rate-distortion curves look like over a few octaves, and they
need few anchors. A fit whose slopes have the wrong sign is not used, it is refused
(`non_monotone_fit`). Distortion is floored at the best lossless/identity anchor: a prediction
that falls clearly below that floor is refused as incoherent, not clamped into plausibility.
Exact bytes replace the byte prediction once a candidate has been encoded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tac.lanes import get_lane
from tac.lanes.base import Features
from tac.records import Anchor
from tac.search.refusals import CODE
from tac.search.space import CandidateTable

# A feature may leave the anchors' range by 10 % of that range, and at least by the lane's
# absolute margin.
MARGIN_REL = 0.10
HIDDEN_MARGIN = 0.25  # a measured variant may grow or shrink its width by 25 %
RIDGE = 1e-6  # keeps constant columns (one preset everywhere) from breaking the solve
INCOHERENT_FACTOR = 0.5  # "clearly below the floor": under half of it


@dataclass
class GroupFit:
    """One (lane, group)'s three laws."""

    group: int
    n: int
    lo: np.ndarray  # feature ranges with margin
    hi: np.ndarray
    bytes_coef: np.ndarray
    pose_coef: np.ndarray
    seg_coef: np.ndarray
    keys: tuple[int, ...]  # measured variants beyond "none"
    hidden_range: dict[int, tuple[float, float]] = field(default_factory=dict)
    non_monotone: str = ""  # why the fit is unusable, or ""

    def design(self, feats: np.ndarray, key: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(feats)), *(feats[:, j] for j in range(feats.shape[1]))]
        cols += [(key == k).astype(np.float64) for k in self.keys]
        return np.stack(cols, axis=1)


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.linalg.solve(x.T @ x + RIDGE * np.eye(x.shape[1]), x.T @ y)


def n_coefficients(keys: set[int], d: int = 3) -> int:
    return 1 + d + len(keys - {0})


def fit_group(group: int, f: Features, y: dict[str, np.ndarray]) -> GroupFit:
    """Fit one group's three laws on its lossy anchors (`y`: bytes, pose, seg arrays)."""
    feats, key = f.x, f.variant
    d = feats.shape[1]
    keys = tuple(sorted(set(key.tolist()) - {0}))
    span = feats.max(axis=0) - feats.min(axis=0)
    margin = np.maximum(MARGIN_REL * span, f.margin_abs)
    fit = GroupFit(
        group, len(feats), feats.min(axis=0) - margin, feats.max(axis=0) + margin,
        np.zeros(1 + d), np.zeros(1 + d + len(keys)), np.zeros(1 + d + len(keys)), keys,
    )  # fmt: skip
    payload = np.maximum(y["bytes"] - f.side_bytes, 1.0)
    fit.bytes_coef = _solve(fit.design(feats, np.zeros_like(key)), np.log(payload))
    x = fit.design(feats, key)
    fit.pose_coef = _solve(x, np.log(np.maximum(y["pose"], 1e-12)))
    fit.seg_coef = _solve(x, np.log(np.maximum(y["seg"], 1e-12)))
    for k in keys:
        h = f.width[key == k].astype(np.float64)
        fit.hidden_range[k] = (h.min() * (1 - HIDDEN_MARGIN), h.max() * (1 + HIDDEN_MARGIN))
    varies = span > 1e-9
    wrong = []
    # a law's slope on feature j must have the declared sign: distortion +m, bytes −m
    for name, coef, sign in (("bytes", fit.bytes_coef, -1), ("pose", fit.pose_coef, 1), ("seg", fit.seg_coef, 1)):  # fmt: skip
        for j, m in enumerate(f.monotone):
            want = sign * m
            if m and varies[j] and np.sign(coef[1 + j]) != want:
                wrong.append(f"{name} {'falls' if want > 0 else 'rises'} as {f.names[j]} rises")
    fit.non_monotone = "; ".join(wrong)
    return fit


@dataclass
class Prediction:
    """Per-candidate predictions (NaN where refused) and the proxy's refusal codes (0 = none)."""

    bytes: np.ndarray
    pose: np.ndarray
    seg: np.ndarray
    code: np.ndarray  # int8 refusal code index (tac.search.refusals.CODES)
    detail: dict[tuple[int, int], str]  # (code, table group) → the anchors' side of the refusal


GroupKey = tuple[str, int]  # (lane, the lane's group)


@dataclass
class Proxy:
    """Everything fitted on one axis's anchors, one law per (lane, group)."""

    fits: dict[GroupKey, GroupFit]
    lossy_counts: dict[GroupKey, int]
    min_per_group: dict[GroupKey, int]
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
        by_lane: dict[str, list[Anchor]] = defaultdict(list)
        for a in lossy:
            by_lane[a.lane].append(a)
        for lane, group_anchors in sorted(by_lane.items()):
            f = get_lane(lane).table([a.params for a in group_anchors]).features()
            y = {k: np.array([getattr(a, "archive_bytes" if k == "bytes" else k) for a in group_anchors], float) for k in ("bytes", "pose", "seg")}  # fmt: skip
            for c in np.unique(f.group):
                rows = np.flatnonzero(f.group == c)
                need = n_coefficients(set(f.variant[rows].tolist()), f.x.shape[1]) + 1
                gk = (lane, int(c))
                proxy.lossy_counts[gk] = len(rows)
                proxy.min_per_group[gk] = need
                if len(rows) >= need:
                    proxy.fits[gk] = fit_group(int(c), _rows(f, rows), {k: v[rows] for k, v in y.items()})  # fmt: skip
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
        for block, f, span, g0 in table.segments():
            self._predict_block(block.lane, f, span, g0, block.group_names, out)
        if self.incoherent_anchor:
            # the anchors themselves contradict each other: nothing calibrated on them is trusted
            code = CODE["lossy_better_than_lossless_incoherent"]
            out.code[out.code == 0] = code
            for g in range(table.n_groups):
                out.detail[(code, g)] = (
                    f"lossy anchor {self.incoherent_anchor} measured better than lossless "
                    f"{self.floor_source}; are the anchors on one axis and one set of weights?"
                )
        exact = ~np.isnan(table.exact_bytes)
        out.bytes[exact] = table.exact_bytes[exact]
        return out

    def _predict_block(self, lane: str, f: Features, span: slice, g0: int, names, out: Prediction) -> None:  # fmt: skip
        """Predictions for one lane's rows (`span` of the table), written into `out`."""
        n = span.stop - span.start
        feats, key, fb = f.x, f.variant, f.side_bytes
        code = out.code[span]  # views: refusals land in `out`
        cols = {k: getattr(out, k)[span] for k in ("pose", "seg", "bytes")}

        def refuse(mask: np.ndarray, name: str, detail: str) -> None:
            mask = mask & (code == 0)  # the first (earliest-gate) reason stands
            if mask.any():
                code[mask] = CODE[name]
                out.detail.setdefault((CODE[name], g0 + c), detail)

        for c in range(len(names)):
            rows = f.group == c
            if not rows.any():
                continue
            gname = names[c]
            fit = self.fits.get((lane, c))
            if fit is None:
                have = self.lossy_counts.get((lane, c), 0)
                if have:
                    refuse(
                        rows,
                        "insufficient_anchors",
                        f"{gname} has {have} lossy anchors, its fit needs {self.min_per_group[(lane, c)]}",
                    )
                else:
                    refuse(rows, "missing_distortion_model", f"no lossy {gname} anchor")  # fmt: skip
                continue
            if fit.non_monotone:
                refuse(rows, "non_monotone_fit", f"{gname}: {fit.non_monotone}")
                continue
            outside = rows & ((feats < fit.lo) | (feats > fit.hi)).any(axis=1)
            if outside.any():
                j = int(
                    ((feats[outside] < fit.lo) | (feats[outside] > fit.hi)).any(axis=0).argmax()
                )
                refuse(outside, "extrapolation", f"{f.names[j]} beyond the {gname} anchors' {f.natural(j, fit.lo[j], c)}..{f.natural(j, fit.hi[j], c)} (with margin)")  # fmt: skip
            measured = np.isin(key, (0, *fit.keys))
            for k, (lo, hi) in fit.hidden_range.items():
                wide = rows & (key == k) & ((f.width < lo) | (f.width > hi))
                refuse(
                    wide,
                    "extrapolation",
                    f"{f.variant_name(k)} width beyond the measured {lo:.0f}..{hi:.0f}",
                )
            x = fit.design(feats[rows], key[rows])
            raw_pose = np.exp(x @ fit.pose_coef)
            raw_seg = np.exp(x @ fit.seg_coef)
            cols["pose"][rows] = np.maximum(raw_pose, self.floor_pose)
            cols["seg"][rows] = np.minimum(np.maximum(raw_seg, self.floor_seg), 1.0)
            payload = np.exp(
                fit.design(feats[rows], np.zeros(rows.sum(), np.int32)) @ fit.bytes_coef
            )
            cols["bytes"][rows] = payload + fb[rows]
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
                f"no {gname} anchor carries this {f.variant_what}",
            )


def _rows(f: Features, rows: np.ndarray) -> Features:
    """The features of some rows (the anchors of one group)."""
    from dataclasses import replace

    return replace(
        f, x=f.x[rows], group=f.group[rows], variant=f.variant[rows], width=f.width[rows],
        side_bytes=f.side_bytes[rows],
    )  # fmt: skip
