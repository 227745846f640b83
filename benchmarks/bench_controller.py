"""Controller overhead: dispatch latency and ledger events per second, with trivial jobs.

Run: `make bench` or `python benchmarks/bench_controller.py [--jobs 1000] [--concurrency 16]`.
The real controller and the real local backend (detached supervisor processes, pid and exit-code
files, fsynced ledger) run N jobs whose command is `true` instead of `tac job run`, so what is
measured is tac's own overhead: from the controller deciding to dispatch to the job running, and
how many ledger events per second the loop sustains. The jobs "fail" (they write no result),
which is harvested as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from tac.control.backends.local import LocalBackend
from tac.control.config import LoopConfig
from tac.control.controller import Controller
from tac.control.ledger import Ledger, read_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--poll-s", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
        run = Path(tmp) / "run"
        config = LoopConfig(
            weights="stand-in:0:" + "0" * 16, generator="random", n=args.jobs * 2, codecs=["hevc"],
            max_cycles=1, explore=args.jobs, poll_s=args.poll_s, max_inflate_s=None,
        )  # fmt: skip
        backend = LocalBackend(run / "work", concurrency=args.concurrency, command=["true"])
        start = time.perf_counter()
        state = asyncio.run(Controller(run, config, [backend]).run())
        wall = time.perf_counter() - start
        events = read_events(run / "ledger.jsonl")
    dispatched = {e.job_id: e.ts for e in events if e.type == "dispatched"}
    first_beat: dict[str, float] = {}
    for e in events:
        if e.type in ("heartbeat", "finished") and e.job_id not in first_beat:
            first_beat[e.job_id] = e.ts
    latency = [first_beat[j] - t for j, t in dispatched.items() if j in first_beat]
    print(f"CPU, {os.cpu_count()} cores; {len(state.jobs)} trivial jobs, concurrency {args.concurrency}, poll {args.poll_s} s")  # fmt: skip
    print(f"  wall {wall:.1f} s = {len(state.jobs) / wall:.1f} jobs/s end to end")
    print(f"  ledger: {len(events):,} events, {len(events) / wall:,.0f} events/s (each fsynced)")
    with tempfile.TemporaryDirectory(prefix="tac-bench-") as tmp:
        ledger, n = Ledger(tmp, "bench"), 5000
        t = time.perf_counter()
        for i in range(n):
            ledger.append(
                "heartbeat", job_id=f"j{i % 16}", state="running", wall_s=1.0, log_bytes=0
            )
        ledger.close()
        print(f"  ledger append alone: {n / (time.perf_counter() - t):,.0f} events/s (fsync each)")
    print(f"  dispatch → first observed state: median {statistics.median(latency) * 1e3:.0f} ms, "
          f"p95 {sorted(latency)[int(0.95 * len(latency)) - 1] * 1e3:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
