"""The candidate space: rows of one or more lanes, as each lane's own columns.

A `CandidateTable` is a sequence of blocks, each a `LaneTable` of one lane (`tac.lanes.base`).
The search only asks rows for numbers (features, costs, validity) through the lane contract,
so one ranking holds candidates of several lanes. Ids are formatted only for the rows a
caller looks at; ties break by id, which sorts by lane name and then as the lane says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from tac.lanes import get_lane
from tac.lanes.base import Features, LaneTable
from tac.records import LaneParams


@dataclass
class CandidateTable:
    blocks: list[LaneTable]
    exact_bytes: np.ndarray = field(default=None)  # float64, NaN until encoded

    def __post_init__(self) -> None:
        self.blocks = [b for b in self.blocks if len(b)]
        self.offsets = np.cumsum([0] + [len(b) for b in self.blocks])
        n = int(self.offsets[-1])
        if self.exact_bytes is None:
            self.exact_bytes = np.full(n, np.nan)
        elif len(self.exact_bytes) != n:
            raise ValueError(f"exact_bytes has {len(self.exact_bytes)} rows, not {n}")
        # group ids are global: each block's groups follow the previous blocks'
        starts = np.cumsum([0] + [len(b.group_names) for b in self.blocks])
        self.group_names: tuple[str, ...] = sum((tuple(b.group_names) for b in self.blocks), ())
        self.group_offsets = starts[:-1]

    @classmethod
    def from_params(cls, params: Sequence[LaneParams]) -> CandidateTable:
        """Rows from records, in their order (consecutive settings of one lane share a block)."""
        if not params:
            return cls([])
        blocks, run = [], [params[0]]
        for p in params[1:]:
            if p.lane == run[0].lane:
                run.append(p)
            else:
                blocks.append(get_lane(run[0].lane).table(run))
                run = [p]
        blocks.append(get_lane(run[0].lane).table(run))
        return cls(blocks)

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    @cached_property
    def features(self) -> list[Features]:
        """Each block's features, computed once (the proxy, the groups and `spread` read them)."""
        return [b.features() for b in self.blocks]

    def segments(self):
        """(block, its features, global row slice, group offset) per block."""
        for b, f, lo, hi, g in zip(self.blocks, self.features, self.offsets[:-1], self.offsets[1:], self.group_offsets, strict=True):  # fmt: skip
            yield b, f, slice(int(lo), int(hi)), int(g)

    def _locate(self, i: int) -> tuple[LaneTable, int]:
        k = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.blocks[k], i - int(self.offsets[k])

    def params(self, i: int) -> LaneParams:
        block, j = self._locate(int(i))
        return block.params(j)

    def id(self, i: int) -> str:
        block, j = self._locate(int(i))
        return block.id(j)

    def lane(self, i: int) -> str:
        return self._locate(int(i))[0].lane

    def take(self, rows: np.ndarray) -> CandidateTable:
        """The given rows, in that order (runs of one block stay one block)."""
        rows = np.asarray(rows, dtype=np.int64)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        blocks, start = [], 0
        for stop in [*np.flatnonzero(np.diff(which)) + 1, len(rows)]:
            if stop > start:
                k = int(which[start])
                blocks.append(self.blocks[k].take(rows[start:stop] - self.offsets[k]))
            start = stop
        return CandidateTable(blocks, exact_bytes=self.exact_bytes[rows])

    def per_block(self, method: str, *args) -> np.ndarray:
        """A lane-table method's array over every row."""
        return _cat([getattr(b, method)(*args) for b in self.blocks])

    @cached_property
    def group(self) -> np.ndarray:
        """Global group id of every row (a lane's group: the codec lane's codec)."""
        return _cat([f.group + g for _, f, _, g in self.segments()], np.int64)

    def invalid(self) -> np.ndarray:
        return _cat([b.invalid() for b in self.blocks], bool)

    def invalid_reason(self, group: int) -> str:
        """The params gate's sentence for a row of this global group: its lane's."""
        k = int(np.searchsorted(self.group_offsets, group, side="right")) - 1
        return self.blocks[k].invalid_reason

    def id_order(self) -> np.ndarray:
        """Row order by id: lanes by name, each in its own order, without formatting ids while
        every lane sits in one block; a table that interleaves lanes sorts its ids."""
        lanes = [b.lane for b in self.blocks]
        if len(set(lanes)) < len(lanes):
            return np.array(sorted(range(len(self)), key=lambda i: (self.lane(i), self.id(i))), dtype=np.int64)  # fmt: skip
        order = sorted(range(len(self.blocks)), key=lambda k: lanes[k])
        return _cat([self.blocks[k].id_order() + self.offsets[k] for k in order], np.int64)


def _cat(arrays: list[np.ndarray], dtype=None) -> np.ndarray:
    """Per-block arrays as one (an empty table: no rows)."""
    if not arrays:
        return np.zeros(0, dtype or np.float64)
    out = np.concatenate(arrays)
    return out if dtype is None else out.astype(dtype, copy=False)
