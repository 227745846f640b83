"""Candidates from the lanes' generators, by name: `generate("grid", lanes=("codec",), …)`.

Each lane has its own generators (the codec lane: "grid", "random", "refine"); `generate`
asks every named lane for its candidates and returns one table that holds them all. They are
deterministic: the same arguments (and seed) give the same candidates in the same order.
`spread` picks a space-filling subset when the predictor has too little to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tac.lanes import get_lane
from tac.lanes.base import Features, LaneTable
from tac.search.space import CandidateTable


def generate(
    name: str, lanes: Sequence[str] = ("codec",), options: dict[str, dict] | None = None, **kw
) -> CandidateTable:
    """One table of every lane's candidates from its generator `name` (lanes in name order,
    so ids sort by lane first). `options[lane]` is that lane's part of a loop's space (validated
    by the lane); keywords a lane's generator does not know are ignored by it."""
    opts = options or {}
    return CandidateTable([get_lane(lane).generate(name, opts.get(lane), **kw) for lane in sorted(set(lanes))])  # fmt: skip


def register_generator(name: str, lane: str = "codec") -> Callable:
    """Decorator: add a generator to a lane (`fn(**options) -> LaneTable`)."""

    def decorate(fn: Callable[..., LaneTable]) -> Callable[..., LaneTable]:
        return get_lane(lane).generators.register(name, fn)

    return decorate


def spread(table: CandidateTable, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """k rows far apart in each lane's feature space: greedy farthest-point selection, starting
    from the row nearest the centre. What the loop evaluates when the predictor has too little
    to go on. With several lanes each gets an equal share (the first lanes any remainder).
    Deterministic; `exclude` masks rows that may not be picked."""
    blocks = list(table.segments())
    picked, left = [], k
    for n, (block, f, span, _) in enumerate(blocks):
        share = -(-left // (len(blocks) - n))  # ceil: the remainder goes to the first lanes
        mask = None if exclude is None else exclude[span]
        rows = _spread_block(block, f, share, mask) + span.start
        picked.append(rows)
        left -= len(rows)
    return np.concatenate(picked) if picked else np.zeros(0, np.int64)


def _spread_block(block: LaneTable, f: Features, k: int, exclude: np.ndarray | None) -> np.ndarray:
    ok = ~block.invalid() if exclude is None else ~block.invalid() & ~exclude
    rows = np.flatnonzero(ok)
    if len(rows) == 0 or k <= 0:
        return rows[:0]
    x = np.concatenate([f.x, (f.variant > 0)[:, None]], axis=1)[rows]
    span = np.ptp(x, axis=0)
    x = (x - x.min(axis=0)) / np.where(span > 0, span, 1.0)
    picked = [int(np.argmin(((x - x.mean(axis=0)) ** 2).sum(axis=1)))]
    dist = ((x - x[picked[0]]) ** 2).sum(axis=1)
    while len(picked) < min(k, len(rows)):
        nxt = int(np.argmax(dist))  # ties → lowest row, which is deterministic
        picked.append(nxt)
        dist = np.minimum(dist, ((x - x[nxt]) ** 2).sum(axis=1))
    return rows[picked]
