"""A synthetic training job, labelled as such: a known learning curve instead of training.

    python -m tac.jobs.synthetic spec.json --out out [--s-per-step 0.002] [--rungs 10]

It stands where `tac job run` stands (a backend's `command`), so the real loop, backends,
ledger and pruning run around it while nothing is trained: the multi-fidelity benchmark and
the crash tests. Each candidate's curve is drawn from its id, so it is known in advance:

    score(f) = final · (1 + a · exp(−f / τ))       f = step / steps

with `final`, `a` and `τ` from a generator seeded by the id (a warm start continues its
parent's curve: it starts near the parent's final and ends a few per cent below it). The job
sleeps `s_per_step` per step, prints a rung line (`tac.records.rung_line`) at each of `rungs`
evaluations with a small checkpoint file behind it, and ends with an archive of the curve's
bytes and a result.json whose terms give its final score. Everything it writes says
`synthetic` (device, tac_version); no score from it is a measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ORIGINAL_BYTES = 37_545_489
RATE = 0.0012  # every synthetic archive's rate: the curve moves the distortion only


@dataclass(frozen=True)
class SyntheticCurve:
    final: float
    a: float  # how far above its final a curve starts, as a multiple of it
    tau: float  # the share of training over which it falls by e

    @classmethod
    def of(cls, candidate_id: str, seed: int = 0) -> SyntheticCurve:
        digest = hashlib.sha256(f"{seed}/{candidate_id}".encode()).digest()
        rng = np.random.default_rng(list(digest[:8]))
        return cls(final=float(rng.uniform(1.2, 3.2)), a=float(rng.uniform(1.0, 3.0)), tau=float(rng.uniform(0.08, 0.15)))  # fmt: skip

    def child(self, candidate_id: str) -> SyntheticCurve:
        """A warm start's curve: from just above the parent's final to a little below it."""
        gain = float(SyntheticCurve.of(candidate_id).final - 1.2) / 2.0 * 0.04  # 0..4 %
        return SyntheticCurve(final=self.final * (1 - gain), a=0.05, tau=self.tau)

    def score(self, fidelity: float) -> float:
        return self.final * (1 + self.a * math.exp(-fidelity / self.tau))


def terms(score: float, rate: float) -> tuple[float, float]:
    """(seg, pose) that, with `rate`, give `score`: half the distortion each."""
    from tac.contest import constants as C

    half = max(score - C.RATE_WEIGHT * rate, 0.0) / 2
    return min(half / C.SEG_WEIGHT, 1.0), half**2 / C.POSE_WEIGHT


def result(spec, final: float, archive: Path, wall_s: float) -> dict:
    """An EvalResult whose terms give `final`, labelled synthetic."""
    from tac.contest.score import contest_score
    from tac.records import EvalResult

    rate = archive.stat().st_size / ORIGINAL_BYTES
    seg, pose = terms(final, rate)
    r = EvalResult(
        archive_bytes=archive.stat().st_size, archive_sha256=hashlib.sha256(archive.read_bytes()).hexdigest(),
        original_bytes=ORIGINAL_BYTES, rate=rate, pose=pose, seg=seg, score=contest_score(seg, pose, rate),
        n_samples=600, n_samples_total=600, estimate=False, runner_axis=spec.runner_axis, device="synthetic",
        weights=spec.weights, videos=["synthetic"], wall_s=wall_s, tac_version="synthetic", torch_version="none",
    )  # fmt: skip
    return json.loads(r.model_dump_json())


def run(spec_path: Path, out: Path, s_per_step: float, rungs: int) -> None:
    from tac import atomic
    from tac.jobs.run import rung_reporter, warm_start_file
    from tac.records import JobSpec, load_record

    start = time.monotonic()
    spec = load_record(JobSpec, spec_path)
    out.mkdir(parents=True, exist_ok=True)
    cand = spec.candidate
    curve = SyntheticCurve.of(cand.id)
    if (warm := warm_start_file(spec, out)) is not None:  # checked like a real job's
        curve = SyntheticCurve(**json.loads(warm.read_bytes())).child(cand.id)
    steps = int(getattr(cand.params, "steps", 1000))
    report = rung_reporter(out, lambda m: print(m, flush=True))
    print(f"synthetic job {spec.job_id}: {cand.id}, {steps} steps, a known curve (no training)", flush=True)  # fmt: skip
    (out / "rungs").mkdir(exist_ok=True)
    for k in range(rungs + 1):
        step = round(steps * k / rungs)
        time.sleep(s_per_step * (step - round(steps * (k - 1) / rungs)) if k else 0.0)
        score = curve.score(step / steps)
        ckpt = atomic.write_text(
            out / "rungs" / f"step-{step:06d}.json", json.dumps({"score": score})
        )
        report(step, steps, _Evaluation(step, score), ckpt)
    final = atomic.write_text(out / "final.json", json.dumps(curve.__dict__))
    report(steps, steps, _Evaluation(steps, curve.final), final, final=True)
    archive = out / "submission" / "archive.zip"
    archive.parent.mkdir(exist_ok=True)
    seed = hashlib.sha256(cand.id.encode()).digest()
    atomic.write_bytes(archive, (seed * math.ceil(RATE * ORIGINAL_BYTES / 32))[: round(RATE * ORIGINAL_BYTES)])  # fmt: skip
    atomic.write_json(
        out / "result.json", result(spec, curve.final, archive, time.monotonic() - start)
    )


@dataclass(frozen=True)
class _Evaluation:
    """What `rung_reporter` reads of an evaluation: the curve's score at a step, its terms
    split as `result` splits them (`terms`)."""

    step: int
    score: float

    @property
    def archive_bytes(self) -> int:
        return round(RATE * ORIGINAL_BYTES)

    @property
    def seg(self) -> float:
        return terms(self.score, self.archive_bytes / ORIGINAL_BYTES)[0]

    @property
    def pose(self) -> float:
        return terms(self.score, self.archive_bytes / ORIGINAL_BYTES)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tac.jobs.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("spec", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--s-per-step", type=float, default=0.002, help="seconds slept per training step"
    )
    parser.add_argument("--rungs", type=int, default=10, help="exact evaluations after step 0")
    args = parser.parse_args(argv)
    run(args.spec, args.out, args.s_per_step, args.rungs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
