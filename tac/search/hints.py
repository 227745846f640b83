"""Refusals that help: when a ranking admits nothing, which one setting, changed alone, would.

Each refusal that a setting causes is tried relaxed — fewer anchors required, a cap lifted, a
lower band coverage — by ranking the same candidates again; a relaxation that admits any becomes
a hint with the setting, its value and how many it admits. Each command words the hint with its
own option names (`tac loop --max-cost-per-job`, `tac search rank --max-cost`). Refusals no
setting can lift (extrapolation, a missing distortion model, invalid settings) get none: more
anchors, from exploration, are what admits those.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tac.records import Anchor
from tac.search.rank import Ranking, rank
from tac.search.refusals import CODES
from tac.search.space import CandidateTable

RELAXED_COVERAGE = 0.8


@dataclass(frozen=True)
class Hint:
    setting: str  # min_anchors | coverage | max_bytes | max_inflate_s | max_cost
    value: float | None  # None: the cap lifted
    admitted: int

    def words(self, option: dict[str, str]) -> str:
        """`--min-anchors 6 would admit 40`, with `option` naming each setting's flag."""
        flag = option.get(self.setting, "--" + self.setting.replace("_", "-"))
        what = f"{flag} {self.value:g}" if self.value is not None else f"without {flag}"
        return f"{what} would admit {self.admitted:,}"


def admitting(
    ranking: Ranking,
    anchors: list[Anchor],
    table: CandidateTable,
    *,
    coverage: float,
    min_anchors: int,
    **rank_kwargs,
) -> list[Hint]:
    """Hints for a ranking that admits nothing (empty when it admits some)."""
    if ranking.eligible:
        return []
    codes = {CODES[c] for c in np.unique(ranking.ladder.code) if c}
    on_axis = sum(a.runner_axis == ranking.axis.runner and a.weights == ranking.axis.weights for a in anchors)  # fmt: skip
    caps = ranking.search.caps
    tries: list[tuple[str, float | None, dict]] = []
    if "insufficient_anchors" in codes and 2 <= on_axis < min_anchors:
        tries.append(("min_anchors", on_axis, {"min_anchors": on_axis}))
    if "insufficient_anchors" in codes and coverage > RELAXED_COVERAGE:
        tries.append(("coverage", RELAXED_COVERAGE, {"coverage": RELAXED_COVERAGE}))
    for code, setting, cap in (("over_bytes_cap", "max_bytes", "bytes"),
                               ("over_inflate_time_cap", "max_inflate_s", "inflate_s"),
                               ("over_cost_cap", "max_cost", "cost")):  # fmt: skip
        if code in codes and caps.get(cap) is not None:
            tries.append((setting, None, {"caps": {cap: None}}))
    hints = []
    for setting, value, change in tries:
        search = ranking.search
        if "caps" in change:
            search = dataclasses.replace(search, caps=dataclasses.replace(caps, **change["caps"]))
        relaxed = rank(
            anchors, table, search=search,
            coverage=change.get("coverage", coverage), min_anchors=change.get("min_anchors", min_anchors),
            **rank_kwargs,
        )  # fmt: skip
        if relaxed.eligible:
            hints.append(Hint(setting, value, relaxed.eligible))
    return hints
