"""MetaLagrangianSearch: rank by a risk-adjusted predicted score plus priced constraint slack.

    key(c) = mid(c) + risk·(hi(c) − mid(c))  +  Σ_j λ_j · (pessimistic_j(c) / cap_j − 1)

`mid`/`hi` are the score band; the pessimistic values are the band's upper bytes and the cost
model's inflate time and job cost inflated by their stated uncertainty. The multipliers λ_j ≥ 0
are not fixed weights: between cycles, `update` moves each one by dual (sub)gradient ascent on
what was observed — up while the dispatched jobs violated constraint j, down while they left
slack — so the search learns how hard to lean away from each cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tac.search.defaults import DEFAULT_MAX_INFLATE_S

CONSTRAINTS = ("bytes", "inflate_s", "cost")
# Relative uncertainty of the analytic inflate-time and cost models (bytes use the band).
UNCERTAINTY = {"inflate_s": 0.3, "cost": 0.3}


@dataclass(frozen=True)
class Caps:
    """Hard limits; None = unconstrained. Candidates predicted over a cap are refused (gate 5)."""

    bytes: float | None = None
    inflate_s: float | None = DEFAULT_MAX_INFLATE_S
    cost: float | None = None

    def get(self, name: str) -> float | None:
        return getattr(self, name)


@dataclass
class MetaLagrangianSearch:
    caps: Caps = field(default_factory=Caps)
    risk: float = 0.5  # 0 = rank by the band's middle, 1 = by its pessimistic end
    step: float = 1.0  # dual ascent step size (score units per unit of relative violation)
    multipliers: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CONSTRAINTS, 0.0))

    def pessimistic(self, name: str, value: np.ndarray) -> np.ndarray:
        return value * (1.0 + UNCERTAINTY.get(name, 0.0))

    def key(self, mid: np.ndarray, hi: np.ndarray, values: dict[str, np.ndarray]) -> np.ndarray:
        """The rank key (lower is better); `values[name]` are the pessimistic constraint values."""
        key = mid + self.risk * (hi - mid)
        for name in CONSTRAINTS:
            cap = self.caps.get(name)
            lam = self.multipliers[name]
            if cap and lam:
                key = key + lam * (values[name] / cap - 1.0)
        return key

    def update(self, observed: dict[str, list[float]]) -> dict[str, float]:
        """One dual ascent step from measured values of the last cycle's jobs.

        The violation of constraint j is the mean of measured/cap − 1 (positive: over the cap).
        λ_j ← max(0, λ_j + step · violation). Returns the violations used.
        """
        violations = {}
        for name, values in observed.items():
            cap = self.caps.get(name)
            if not cap or not values:
                continue
            v = float(np.mean(np.asarray(values, float) / cap - 1.0))
            violations[name] = v
            self.multipliers[name] = max(0.0, self.multipliers[name] + self.step * v)
        return violations
