"""Learning curves: where a running job's final score can still land, and successive halving.

A training job reports exact scores at checkpoints (fidelity = the share of its steps done).
Jobs that ran to the end leave curves; how much each still improved after fidelity f — the
ratio final / score(f) — bounds what a running job at f can still gain:

    band(f) = score(f) · [ r_min − (SLACK / n)·(1 − r_min),  median r,  r_max ]

from the n curves that reach back to f. The lower edge is the most improvement any of them made
after f, widened: a new curve from the same family beats the best of n with chance 1/(n+1), so
the widening starts at double (n = 2) and shrinks as curves accumulate (about one curve in 25
of a family improves past it: tests/test_fidelity.py measures it). A job is pruned only when
even the lower edge cannot beat the best measured score. With fewer than
`min_curves` curves reaching back to f there is no band: the predictor refuses, and nothing is
pruned on it. Successive halving (ASHA's asynchronous rule) needs no curves: at rungs
fidelity = η⁻ᵏ a job goes on only while it is among the best 1/η of the jobs that reached the
rung. Pure numpy; the loop records every judgement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SLACK = 2.0  # the lower edge's widening, over the number of curves (2 curves: double)
MIN_CURVES = 2


@dataclass(frozen=True)
class Curve:
    """One finished job: its exact scores by fidelity (increasing) and its measured final."""

    fidelity: np.ndarray
    score: np.ndarray
    final: float

    def at(self, f: float) -> float:
        """The curve's score at fidelity `f` (linear between its rungs)."""
        return float(np.interp(f, self.fidelity, self.score))


@dataclass(frozen=True)
class RungBand:
    lo: float
    mid: float
    hi: float
    n_curves: int

    def words(self) -> str:
        return f"final in [{self.lo:.4g}, {self.hi:.4g}] from {self.n_curves} finished curves"


def rung_band(curves: list[Curve], fidelity: float, score: float, min_curves: int = MIN_CURVES, slack: float = SLACK) -> RungBand | str:  # fmt: skip
    """The band of the final score of a job at `fidelity` with `score`, or why there is none."""
    usable = [c for c in curves if len(c.fidelity) and c.fidelity[0] <= fidelity + 1e-9 and c.at(fidelity) > 0]  # fmt: skip
    if len(usable) < min_curves:
        return f"{len(usable)} finished curve{'s' * (len(usable) != 1)} reach fidelity {fidelity:.2f}; a band needs {min_curves}"  # fmt: skip
    ratios = np.array([c.final / c.at(fidelity) for c in usable])
    low = ratios.min()
    lo = score * max(0.0, low - slack / len(usable) * (1.0 - low))
    return RungBand(lo=float(lo), mid=float(score * np.median(ratios)), hi=float(score * ratios.max()), n_curves=len(usable))  # fmt: skip


def halving_rung(fidelity: float, eta: int, rungs: int = 4) -> int | None:
    """The halving rung a result at `fidelity` stands for: the largest k (1..rungs) with
    η⁻ᵏ ≤ fidelity < 1, counted from the end (k = 1 is the last rung before the finish);
    None below the first rung or at the end."""
    if fidelity >= 1.0:
        return None
    reached = [k for k in range(1, rungs + 1) if fidelity >= eta**-k - 1e-9]
    return min(reached) if reached else None


def halving_keeps(score: float, at_rung: list[float], eta: int) -> bool:
    """ASHA's rule: go on while `score` is among the best max(1, n // η) of the `n` scores
    recorded at this rung (itself included); with fewer than η recorded, go on."""
    n = len(at_rung)
    if n < eta:
        return True
    keep = max(1, n // eta)
    return score <= sorted(at_rung)[keep - 1]
