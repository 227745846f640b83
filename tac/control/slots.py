"""Where a job may start: one queue of free slots across every backend on the loop's axis.

A job waits for whichever host frees a slot first, not for the host it happened to be assigned
when it was planned; a job reattached after a restart holds a slot on the host it already runs
on, so the hosts are not oversubscribed while it finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tac.control.backends.base import Backend, BackendError


class Slots:
    def __init__(self, backends: list[Backend], runner_axis: str):
        self.backends = {b.name: b for b in backends}
        self.runner_axis = runner_axis
        self.busy = {b.name: 0 for b in backends}  # jobs each backend is running for us
        self._freed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, host: str | None = None) -> AsyncIterator[Backend]:
        """Wait for a free slot (on `host` only, if given: never waits, the job is already
        there) and hold it for the block; the backend with the most free slots wins, ties by name."""
        backend = await self._take(host)
        try:
            yield backend
        finally:
            async with self._freed:
                self.busy[backend.name] -= 1
                self._freed.notify_all()

    async def _take(self, host: str | None) -> Backend:
        if host is not None:
            candidates = [self.backends[host]]
        else:
            candidates = sorted((b for b in self.backends.values() if b.runner_axis == self.runner_axis), key=lambda b: b.name)  # fmt: skip
        if not candidates:
            raise BackendError(f"no backend runs on axis {self.runner_axis}")
        async with self._freed:
            while True:
                free = [b for b in candidates if self.busy[b.name] < b.concurrency]
                if free or host is not None:
                    chosen = max(free, key=lambda b: b.concurrency - self.busy[b.name]) if free else candidates[0]  # fmt: skip
                    self.busy[chosen.name] += 1
                    return chosen
                await self._freed.wait()
