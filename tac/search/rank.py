"""`rank`: candidates in, an ordered, explained ranking out — proxy → band → Lagrangian → gates.

Pure and deterministic: the same anchors, candidates and search state give the same order.
Eligible candidates come first, by rank key; refused ones follow whatever their nominal score,
grouped by the gate that refused them in ladder order, then by nominal score; ties break by
candidate id everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tac.errors import TacError
from tac.records import Anchor, Candidate, Refusal, ScoreBand
from tac.search.band import DEFAULT_COVERAGE, DEFAULT_MIN_ANCHORS, Bands, score_band
from tac.search.cost import CostModel
from tac.search.gates import Ladder, run_ladder
from tac.search.lagrangian import MetaLagrangianSearch
from tac.search.refusals import CODES, REFUSALS, describe
from tac.search.space import CandidateTable


@dataclass(frozen=True)
class Axis:
    """Where scores were measured: runner axis and scorer weights. Never mixed."""

    runner: str
    weights: str

    def __str__(self) -> str:
        return f"{self.runner} / {self.weights}"


def anchor_axis(anchors: list[Anchor], axis: Axis | None = None) -> tuple[Axis, list[Anchor]]:
    """The axis to rank on and the anchors measured on it."""
    axes = sorted({Axis(a.runner_axis, a.weights) for a in anchors}, key=str)
    if axis is None:
        if len(axes) > 1:
            raise TacError(
                f"the anchors span {len(axes)} axes ({'; '.join(map(str, axes))}); "
                "choose one (--axis RUNNER/WEIGHTS): scores from different axes never mix"
            )
        if not axes:
            raise TacError("no anchors: the search needs authoritative evaluations to calibrate on")
        axis = axes[0]
    return axis, [a for a in anchors if Axis(a.runner_axis, a.weights) == axis]


@dataclass
class Ranking:
    table: CandidateTable
    order: np.ndarray  # row indices, best first
    key: np.ndarray  # rank key (NaN where refused)
    ladder: Ladder
    bands: Bands
    values: dict[str, np.ndarray]  # point predictions: bytes, inflate_s, cost
    axis: Axis
    search: MetaLagrangianSearch = field(repr=False, default=None)

    @property
    def eligible(self) -> int:
        return int((self.ladder.code == 0).sum())

    def refusal(self, i: int) -> Refusal | None:
        code = int(self.ladder.code[i])
        if code == 0:
            return None
        name = CODES[code]
        detail = self.ladder.detail.get((code, int(self.table.group[i])), "")
        return Refusal(code=name, gate=REFUSALS[name][0], message=describe(name, detail))

    def candidate(self, i: int) -> Candidate:
        b, pred, ready = self.bands, self.bands.prediction, bool(self.ladder.code[i] == 0)
        band = None
        if np.isfinite(b.lo[i]):
            band = ScoreBand(
                lo=float(b.lo[i]), mid=float(b.mid[i]), hi=float(b.hi[i]),
                coverage=b.calibration.coverage, n_calibration=b.calibration.n,
                pose=float(pred.pose[i]), seg=float(pred.seg[i]),
                rate=float(pred.bytes[i] / b.original_bytes),
            )  # fmt: skip
        nbytes = pred.bytes[i]
        return Candidate(
            id=self.table.id(i),
            params=self.table.params(i),
            runner_axis=self.axis.runner,
            weights=self.axis.weights,
            predicted_bytes=None if np.isnan(nbytes) else int(round(nbytes)),
            bytes_exact=bool(~np.isnan(self.table.exact_bytes[i])),
            band=band,
            refusal=self.refusal(i),
            rank_key=None if not ready else float(self.key[i]),
            ready=ready,
        )

    def top(self, k: int | None = None) -> list[Candidate]:
        rows = self.order if k is None else self.order[:k]
        return [self.candidate(int(i)) for i in rows]

    def digest(self, best: int = 40, per_refusal: int = 3) -> list[dict]:
        """A few rows to show a person (tac-dash's candidates table, via the ledger): the best
        ones, then a few of each refusal of each lane with its sentence, so every reason has an
        example, and a few of any lane the rest left out."""
        rows, seen = [int(i) for i in self.order[:best]], {}
        block = np.repeat(
            np.arange(len(self.table.blocks)), np.diff(self.table.offsets)
        )  # a lane's rows
        for i in self.order[best:]:
            key = (int(block[i]), int(self.ladder.code[i]))
            if key[1] and seen.get(key, 0) < per_refusal:
                seen[key] = seen.get(key, 0) + 1
                rows.append(int(i))
        shown = {int(block[i]) for i in rows}
        for k in range(len(self.table.blocks)):
            if k not in shown:
                rows += [int(i) for i in self.order if block[i] == k][:per_refusal]
        position = {int(i): r for r, i in enumerate(self.order, 1)}
        out = []
        for i in rows:
            c = self.candidate(i)
            out.append({
                "id": c.id, "lane": c.lane, "rank": position[i], "params": c.params.short(), "bytes": c.predicted_bytes,
                "band": [c.band.lo, c.band.mid, c.band.hi] if c.band else None,
                "refusal": c.refusal.code if c.refusal else None, "reason": c.refusal.message if c.refusal else "",
            })  # fmt: skip
        return out


def rank(
    anchors: list[Anchor],
    table: CandidateTable,
    axis: Axis | None = None,
    search: MetaLagrangianSearch | None = None,
    cost: CostModel | None = None,
    coverage: float = DEFAULT_COVERAGE,
    min_anchors: int = DEFAULT_MIN_ANCHORS,
    candidates_axis: Axis | None = None,
) -> Ranking:
    """Rank `table` against the anchors of one axis (the only axis present, or `axis`).

    `candidates_axis` is where the candidates are meant to be measured (from their records);
    if it differs from the anchors' axis every candidate is refused (`axis_mismatch`).
    """
    search = search or MetaLagrangianSearch()
    cost = cost or CostModel()
    axis, on_axis = anchor_axis(anchors, axis)
    if not on_axis:
        raise TacError(f"no anchors on axis {axis}: scores from different axes never mix")
    axis_ok = candidates_axis is None or candidates_axis == axis
    bands = score_band(on_axis, table, coverage=coverage, min_anchors=min_anchors)
    values = {
        "bytes": bands.prediction.bytes,
        "inflate_s": cost.inflate_s(table),
        "cost": cost.job_cost(table),
    }
    ladder = run_ladder(table, bands.code, bands.prediction.detail, axis_ok, values, search.caps)
    pessimistic = {
        "bytes": bands.bytes_hi,
        "inflate_s": search.pessimistic("inflate_s", values["inflate_s"]),
        "cost": search.pessimistic("cost", values["cost"]),
    }
    key = search.key(bands.mid, bands.hi, pessimistic)
    ok = ladder.code == 0
    key = np.where(ok, key, np.nan)
    # eligible first by key; refused next by gate, then nominal score; ties by id everywhere
    id_rank = np.empty(len(table), np.int64)
    id_rank[table.id_order()] = np.arange(len(table))
    secondary = np.where(ok, key, bands.mid)
    secondary = np.where(np.isnan(secondary), np.inf, secondary)
    order = np.lexsort((id_rank, secondary, ladder.gate))
    return Ranking(table, order, key, ladder, bands, values, axis, search)
