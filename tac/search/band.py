"""`score_band`: a predicted score interval whose width is earned from held-out residuals.

Split-conformal, with leave-one-out as the split: every lossy anchor is predicted by the proxy
fitted on the other anchors, and the residual r = |ln score − ln predicted| is kept. For a
stated coverage 1−α, the band's half-width (in log space) is the ⌈(n+1)(1−α)⌉-th smallest
residual; under exchangeability the true score of a new candidate falls inside with probability
at least 1−α. With too few residuals for that rank the band would be infinite, and the
predictor refuses (`insufficient_anchors`) instead of inventing a width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tac.contest import constants as C
from tac.records import Anchor
from tac.search.defaults import DEFAULT_COVERAGE, DEFAULT_MIN_ANCHORS  # noqa: F401 (re-exported)
from tac.search.proxy import Prediction, Proxy
from tac.search.refusals import CODE
from tac.search.space import CandidateTable

# open interval: at 0.5 or below a band says less than a coin flip; at 1 it needs endless anchors
COVERAGE_RANGE = (0.5, 1.0)


def coverage_problem(coverage: float) -> str:
    """Why this band coverage is not allowed, or "" (the one rule `search rank` and `loop` share)."""
    lo, hi = COVERAGE_RANGE
    return (
        ""
        if lo < coverage < hi
        else f"must be above {lo} and below {hi:g}, e.g. {DEFAULT_COVERAGE}"
    )


def predicted_score(pose: np.ndarray, seg: np.ndarray, nbytes: np.ndarray, original: int):
    return C.SEG_WEIGHT * seg + np.sqrt(C.POSE_WEIGHT * pose) + C.RATE_WEIGHT * nbytes / original


@dataclass
class Calibration:
    coverage: float
    n: int  # held-out residuals
    q_score: float  # half-width of ln score at the coverage (inf if n is too small)
    q_bytes: float  # the same for ln bytes

    @property
    def sufficient(self) -> bool:
        return math.isfinite(self.q_score)


def conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    n = len(residuals)
    k = math.ceil((n + 1) * coverage)
    return float(np.sort(residuals)[k - 1]) if 0 < k <= n else math.inf


def calibrate(anchors: list[Anchor], coverage: float = DEFAULT_COVERAGE) -> Calibration:
    """Leave-one-out residuals of the proxy over the lossy anchors."""
    lossy = [i for i, a in enumerate(anchors) if a.kind == "lossy"]
    r_score, r_bytes = [], []
    for i in lossy:
        rest = anchors[:i] + anchors[i + 1 :]
        a = anchors[i]
        pred = Proxy.fit(rest).predict(CandidateTable.from_params([a.params]))
        if np.isnan(pred.bytes[0]):
            continue  # its codec has no fit without it: nothing to learn about the error
        score = predicted_score(pred.pose, pred.seg, pred.bytes, a.original_bytes)[0]
        r_score.append(abs(math.log(max(a.score, 1e-12)) - math.log(score)))
        r_bytes.append(abs(math.log(max(a.archive_bytes, 1)) - math.log(pred.bytes[0])))
    rs, rb = np.array(r_score), np.array(r_bytes)
    return Calibration(
        coverage, len(rs), conformal_quantile(rs, coverage), conformal_quantile(rb, coverage)
    )


@dataclass
class Bands:
    """Per-candidate bands (NaN where refused) plus the proxy's terms and refusal codes."""

    lo: np.ndarray
    mid: np.ndarray
    hi: np.ndarray
    bytes_hi: np.ndarray  # pessimistic bytes at the same coverage
    prediction: Prediction
    calibration: Calibration
    original_bytes: int

    @property
    def code(self) -> np.ndarray:
        return self.prediction.code


def score_band(
    anchors: list[Anchor],
    table: CandidateTable,
    coverage: float = DEFAULT_COVERAGE,
    min_anchors: int = DEFAULT_MIN_ANCHORS,
    proxy: Proxy | None = None,
    calibration: Calibration | None = None,
) -> Bands:
    """Bands for every candidate in `table`, or a refusal code where none can be justified."""
    proxy = proxy or Proxy.fit(anchors)
    cal = calibration or calibrate(anchors, coverage)
    pred = proxy.predict(table)
    mid = predicted_score(pred.pose, pred.seg, pred.bytes, proxy.original_bytes)
    spread = math.exp(cal.q_score) if cal.sufficient else math.nan
    bands = Bands(
        mid / spread, mid, mid * spread, pred.bytes * math.exp(cal.q_bytes) if cal.sufficient else pred.bytes,
        pred, cal, proxy.original_bytes,
    )  # fmt: skip
    few = len(anchors) < min_anchors
    if few or not cal.sufficient:
        # Below the minimum this outranks every other reason: with so little calibration nothing
        # else is trustworthy. Otherwise a more specific reason (a backwards fit, which also
        # leaves no residuals) is kept.
        code = CODE["insufficient_anchors"]
        pred.code[(pred.code == 0) | few] = code
        need = max(min_anchors, math.ceil(coverage / (1 - coverage)))
        for c in range(table.n_groups):
            pred.detail[(code, c)] = (
                f"{len(anchors)} anchors ({cal.n} held-out residuals); a {coverage:.0%} band needs at least {need}"
            )
    refused = pred.code != 0
    for arr in (bands.lo, bands.mid, bands.hi):
        arr[refused] = np.nan
    return bands
