"""Search ranking speed: candidates ranked per second for 1k, 10k, 100k and 1M candidates.

Run: `make bench` or `python benchmarks/bench_search.py [--anchors 40] [--repeat 3]`.
One ranking = proxy (bytes, pose, seg) → split-conformal band (including the leave-one-out
calibration over the anchors, a fixed cost) → cost model → Lagrangian key → five gates → the
full order. Candidates come from the Latin-hypercube generator (not timed) and are ranked
against anchors from the synthetic world. Target: 100,000 candidates in under one second, with
cost growing linearly (the per-candidate time column should stay flat).
"""

from __future__ import annotations

import argparse
import os
import time

from tac.search import generate, rank
from tac.search.synthetic import SyntheticWorld, sample_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    args = parser.parse_args()
    world = SyntheticWorld()
    anchors = world.anchors(sample_params(args.anchors, filters=(None, "dilated")))
    anchors.append(world.lossless_anchor())
    print(f"CPU, {os.cpu_count()} cores; {len(anchors)} anchors; best of {args.repeat}")
    print(f"{'candidates':>11}{'seconds':>10}{'cand/s':>14}{'µs/cand':>10}{'eligible':>10}")
    for n in (1_000, 10_000, 100_000, 1_000_000):
        table = generate("random", n=n, seed=0, codecs=("hevc", "av1"))
        best, ranking = float("inf"), None
        for _ in range(args.repeat):
            t = time.perf_counter()
            ranking = rank(anchors, table)
            best = min(best, time.perf_counter() - t)
        print(
            f"{n:>11,}{best:>10.3f}{n / best:>14,.0f}{best / n * 1e6:>10.2f}{ranking.eligible:>10,}"
        )


if __name__ == "__main__":
    main()
