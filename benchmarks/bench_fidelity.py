"""Multi-fidelity loop: spend to the same best with pruning, against every job run to the end.

SYNTHETIC: no job here trains anything. Each candidate is a nerv setting whose job is
`tac.jobs.synthetic`, a known learning curve (score(f) = final·(1 + a·exp(−f/τ)), drawn from
the candidate's id) that sleeps per step and prints a rung line at each tenth of its training,
as a real nerv job prints its exact round trips. Around it everything is real: the controller,
the local backend's detached jobs, the ledger, the bands learned from finished curves, the
cancels, the metered spend (wall time × the host's price).

Side by side in one run, on the same candidates in the same order (one cycle that explores
every one of them, --concurrency jobs at once):

  off       every job runs to the end
  band      a job stops when the band of its final score (from this run's finished curves)
            cannot beat the best measured so far
  halving   successive halving, η = 3: only the best third go on at each rung

For each: spend, spend against `off`, jobs pruned, the best score found and whether it is the
best of all the candidates' known finals. The benchmark fails if band pruning misses the
best; halving may (it ranks jobs at a rung against each other, not against what a curve can
still gain), which is why it is the option and band the default.

Run: `make bench` or `python benchmarks/bench_fidelity.py [--candidates 36] [--concurrency 2]
[--s-per-step 0.003]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tac.control.backends.local import LocalBackend
from tac.control.config import LoopConfig
from tac.control.controller import Controller
from tac.jobs.synthetic import SyntheticCurve
from tac.lanes.nerv.space import grid

PRICE_PER_HOUR = 3.6  # a GPU host's price: spend = wall seconds / 1000
WIDTHS, LATENTS, RATES = [16, 24, 36, 48, 64, 96], [8, 16, 28], [1.0, 2.0]


def arm(tmp: Path, rule: str, n: int, concurrency: int, s_per_step: float) -> dict:
    command = [sys.executable, "-m", "tac.jobs.synthetic", "spec.json", "--out", "out", "--s-per-step", str(s_per_step)]  # fmt: skip
    config = LoopConfig(
        weights="stand-in:0:" + "0" * 16, lanes=["nerv"], max_cycles=1, explore=n, poll_s=0.1,
        space={"nerv": {"widths": WIDTHS, "latent_dims": LATENTS, "rate_weights": RATES, "steps": [1000], "warm_parents": 0}},
        max_inflate_s=None, prune=rule, local_price_per_hour=PRICE_PER_HOUR,
    )  # fmt: skip
    backend = LocalBackend(tmp / rule / "work", concurrency, price_per_hour=PRICE_PER_HOUR, command=command)  # fmt: skip
    start = time.perf_counter()
    state = asyncio.run(Controller(tmp / rule, config, [backend]).run())
    best = state.measured()[0]
    return {
        "spent": state.spent, "wall": time.perf_counter() - start, "jobs": len(state.jobs),
        "pruned": sum(bool(j.pruned) for j in state.jobs.values()), "best": best.score, "best_id": best.id,
        "candidates": [j.candidate_id for j in state.jobs.values()],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=len(WIDTHS) * len(LATENTS) * len(RATES))
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--s-per-step", type=float, default=0.003)
    args = parser.parse_args()
    table = grid(latent_dims=LATENTS, widths=WIDTHS, rate_weights=RATES, steps=[1000])
    n = min(args.candidates, len(table))
    print(f"SYNTHETIC learning curves (tac.jobs.synthetic), {n} nerv candidates of 1000 steps "
          f"({args.s_per_step * 1000:.1f} s each to the end), {args.concurrency} at once, priced {PRICE_PER_HOUR}/h")  # fmt: skip
    failed = False
    with tempfile.TemporaryDirectory(prefix="tac-bench-fidelity-") as tmp:
        results = {rule: arm(Path(tmp), rule, n, args.concurrency, args.s_per_step) for rule in ("off", "band", "halving")}  # fmt: skip
    ran = results["off"]["candidates"]
    truth = min((SyntheticCurve.of(c).final, c) for c in ran)
    print(f"  best of the {len(ran)} candidates' known finals: {truth[0]:.4f} ({truth[1]})")
    print(f"  {'rule':8} {'spend':>8} {'vs off':>7} {'pruned':>7} {'wall s':>7}  best found")
    for rule, r in results.items():
        same = r["best_id"] == truth[1]
        failed |= rule == "band" and not same  # halving trades that guarantee for speed
        print(f"  {rule:8} {r['spent']:8.4f} {r['spent'] / results['off']['spent']:7.0%} {r['pruned']:>4}/{r['jobs']:<2} {r['wall']:7.1f}  "
              f"{r['best']:.4f} {'= the best' if same else 'MISSED the best: ' + r['best_id']}")  # fmt: skip
    if failed:
        sys.exit("band pruning missed the best candidate")


if __name__ == "__main__":
    main()
