"""What one cycle runs: the top K eligible candidates not measured yet, or — while the predictor
refuses every candidate — a space-filling set that calibrates it. Pure: the controller records
the ranking and the exploration it returns as ledger events, then dispatches the picks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tac.control.config import LoopConfig
from tac.control.ledger import RunState
from tac.records import Candidate
from tac.search import CostModel, MetaLagrangianSearch, generate, rank
from tac.search.generators import spread
from tac.search.hints import admitting
from tac.search.refusals import CODES
from tac.search.space import CandidateTable

EXPLORE_REASON = "the predictor refuses every candidate: calibrating with a space-filling set"
# how `tac loop` spells each setting a refusal hint may name (tac.search.hints)
LOOP_OPTIONS = {"min_anchors": "--min-anchors", "coverage": "--coverage", "max_bytes": "--max-bytes",
                "max_inflate_s": "max_inflate_s (in --config)", "max_cost": "the per-job cost cap"}  # fmt: skip


@dataclass
class Plan:
    picks: list[Candidate]
    ranked: dict | None = None  # the `ranked` event's payload, when there was a ranking
    exploring: dict | None = None  # the `exploring` event's payload, when it explores


def job_frames(config: LoopConfig) -> int:
    """Frames a job encodes and scores, for the cost model."""
    from tac.contest.constants import CONTEST_FRAMES

    return (config.demo_frames or 40) if config.data == "demo" else CONTEST_FRAMES


def candidate_space(config: LoopConfig, state: RunState) -> CandidateTable:
    c = config
    return generate(c.generator, lanes=c.lanes, options=c.space, n=c.n, seed=c.seed, anchors=state.anchors)  # fmt: skip


def _orphan(table: CandidateTable, i: int, kept: set[str]) -> bool:
    """A warm start whose parent left no checkpoint in this run."""
    parent = table.params(i).warm_from()
    return parent is not None and parent not in kept


def plan_cycle(
    config: LoopConfig,
    state: RunState,
    search: MetaLagrangianSearch,
    price_per_hour: float,
    device: str = "cpu",
) -> Plan:
    c = config
    table = candidate_space(config, state)
    done = state.dispatched_candidates | {a.id for a in state.anchors}
    # a warm start needs its parent's checkpoint from a job of this run
    kept = {j.candidate_id for j in state.jobs.values() if j.harvested and j.final_rung is not None}
    taken = np.array([table.id(i) in done or _orphan(table, i, kept) for i in range(len(table))], dtype=bool)  # fmt: skip
    axis_anchors = [a for a in state.anchors if a.weights == c.weights and a.runner_axis == c.runner_axis]  # fmt: skip
    plan = Plan(picks=[])
    if axis_anchors:
        cost = CostModel(frames=job_frames(config), price_per_hour=price_per_hour, device=device)
        ranking = rank(axis_anchors, table, search=search, cost=cost, coverage=c.coverage, min_anchors=c.min_anchors)  # fmt: skip
        counts = {CODES[k]: int(n) for k, n in zip(*np.unique(ranking.ladder.code, return_counts=True), strict=True) if k}  # fmt: skip
        for i in ranking.order:
            if len(plan.picks) == c.top_k or ranking.ladder.code[i] != 0:
                break
            if not taken[i]:
                plan.picks.append(ranking.candidate(int(i)))
        top = [{"id": p.id, "mid": p.band.mid, "lo": p.band.lo, "hi": p.band.hi} for p in plan.picks if p.band]  # fmt: skip
        hints = admitting(ranking, axis_anchors, table, coverage=c.coverage, min_anchors=c.min_anchors, cost=cost)  # fmt: skip
        plan.ranked = {"n": len(table), "eligible": ranking.eligible, "refusals": counts, "top": top, "shown": ranking.digest(),
                       "hints": [h.words(LOOP_OPTIONS) for h in hints]}  # fmt: skip
    if not plan.picks:
        plan.picks = [
            Candidate(id=table.id(int(i)), params=table.params(int(i)), runner_axis=c.runner_axis,
                      weights=c.weights, ready=True, purpose="explore")
            for i in spread(table, c.explore, exclude=taken)
        ]  # fmt: skip
        if plan.picks:
            plan.exploring = {"ids": [p.id for p in plan.picks], "params": [p.params.short() for p in plan.picks], "lanes": [p.lane for p in plan.picks], "reason": EXPLORE_REASON}  # fmt: skip
    return plan
