"""`run_job`: one candidate, end to end, on whatever host runs it — through its lane's steps.

    candidate → lane.prepare → lane.train (if any) → lane.compress + lane.payload (submission)
      → exact evaluation → result.json

Everything it writes lives under `out`; `result.json` (an EvalResult) is written last and
atomically, so its presence means the job finished. Failures raise TacError with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tac.errors import TacError
from tac.records import EvalResult, JobSpec, save_record


@dataclass
class JobContext:
    """What a lane's train step may use: where to log, the device to train on (the host's: CUDA
    where it has one), the training profile, the job's scorers (on the runner axis, which is
    what its exact scores are measured on), the checkpoint to start from (a warm start), and
    `rung` to report each exact evaluation it makes at a checkpoint it keeps."""

    log: Callable[[str], None]
    device: str
    profile: str
    scorer: Callable[[], object]
    warm_start: Path | None = None
    rung: Callable[..., None] = lambda *a, **kw: None


def rung_reporter(out: Path, log: Callable[[str], None]) -> Callable[..., None]:
    """`JobContext.rung`: print a rung line (what the loop reads from the job's log) for an
    exact evaluation `ev` at `step` of `steps`, whose checkpoint is `checkpoint` (under `out`)."""
    import hashlib

    from tac.records import Rung, rung_line

    def report(step: int, steps: int, ev, checkpoint: Path, final: bool = False) -> None:
        sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
        card = Path(checkpoint).with_suffix(".json")  # tac.checkpoints keeps a card there
        rung = Rung(step=step, steps=steps, score=ev.score, seg=ev.seg, pose=ev.pose, archive_bytes=ev.archive_bytes,
                    checkpoint=Path(checkpoint).relative_to(out).as_posix(), checkpoint_sha256=sha(Path(checkpoint)),
                    card_sha256=sha(card) if card.is_file() else None, final=final)  # fmt: skip
        log(rung_line(rung))

    return report


def warm_start_file(spec: JobSpec, out: Path) -> Path | None:
    """The checkpoint the spec's warm start names, placed in `out` by the loop and checked."""
    import hashlib

    from tac.records import WARM_START_FILE

    if spec.warm_start is None:
        return None
    path = out / WARM_START_FILE
    warm = spec.warm_start
    for file, sha in ((path, warm.sha256), (path.with_suffix(".json"), warm.card_sha256)):
        if sha is None:
            continue
        if not file.is_file():
            raise TacError(f"{file}: the warm start from {warm.parent_job} is not here; the loop places it before it submits the job")  # fmt: skip
        if hashlib.sha256(file.read_bytes()).hexdigest() != sha:
            raise TacError(f"{file}: not the checkpoint of {warm.parent_job} this job continues from (sha256 differs)")  # fmt: skip
    return path


def train_device(asked: str | None) -> str:
    """What this job trains on: the device its spec names (the host's configured device), or
    this host's GPU if torch sees one. A CUDA job on a host without CUDA is refused, not slowed."""
    import torch

    if asked == "cuda" and not torch.cuda.is_available():
        raise TacError("this job trains on cuda but torch sees no CUDA device here; set device = \"cpu\" for this host in hosts.toml, or fix its driver")  # fmt: skip
    return asked or ("cuda" if torch.cuda.is_available() else "cpu")


class Stages:
    """Wall time per stage of a job, logged as one line at the end (where a job's time goes)."""

    def __init__(self) -> None:
        self.start = self.mark = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self.mark
        self.mark = now

    def line(self) -> str:
        parts = " · ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())
        return f"stages: {parts} · total {time.perf_counter() - self.start:.1f} s"


SPEEDUPS_ENV = "TAC_JOB_SPEEDUPS"


def speedups_on() -> bool:
    """False with TAC_JOB_SPEEDUPS=0: the job runs as it did before its speed-ups (timm imported
    at start-up, glibc's default malloc, no decoding ahead, the networks built after inflate,
    a full exit), which benchmarks/bench_jobs.py measures side by side. Same results either way."""
    return os.environ.get(SPEEDUPS_ENV, "1") != "0"


def _load_quietly(scorer) -> None:
    """Build the scorer's networks ahead of time; a failure is raised again, with its reason,
    when scoring first uses them."""
    with contextlib.suppress(Exception):
        scorer.load()


def share_cores(threads: int | None) -> None:
    """Use `threads` CPU threads here and in the processes this job starts (inflate)."""
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)  # read when torch first loads
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)


def run_job(spec: JobSpec, out: Path, log: Callable[[str], None] = print) -> EvalResult:
    stages = Stages()
    speedups = speedups_on()
    share_cores(spec.cpu_threads)
    if not speedups:
        import timm  # noqa: F401 - at start-up, as tac.contest.networks imported it
    from tac.contest.evaluate import evaluate_submission
    from tac.contest.originals import demo_originals, resolve_originals
    from tac.contest.scorer import Scorer
    from tac.contest.weights import resolve_weights
    from tac.lanes import get_lane
    from tac.submission.build import build_submission

    stages.done("imports")
    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cand = spec.candidate
    log(f"job {spec.job_id}: {cand.id} on {spec.data} ({spec.runner_axis})")
    # data and weights come from the spec alone, never from this host's environment
    if spec.data == "demo":
        originals = demo_originals(frames=spec.demo_frames)
    else:
        originals = resolve_originals(challenge_dir=spec.challenge_dir)
    weights = resolve_weights(challenge_dir=spec.challenge_dir)
    if weights.weights_id != spec.weights:
        raise TacError(
            f"this host scores with {weights.weights_id}, the job asks for {spec.weights}; "
            "install the same weights (or stand-ins from the same torch) on every host"
        )
    axis = "cuda" if spec.runner_axis == "cuda" else "cpu"
    stages.done("data")
    lane = get_lane(cand.lane)
    settings = lane.prepare(cand.params)
    job = JobContext(
        log,
        train_device(spec.train_device),
        spec.train_profile,
        cache(lambda: Scorer(weights, axis)),
        warm_start=warm_start_file(spec, out),
        rung=rung_reporter(out, log),
    )
    trained = lane.train(settings, cand.params, originals, out, job)
    stages.done("train")
    label = lane.label(settings) + (f" + {trained.label}" if trained and trained.label else "")
    log(f"building the submission ({label})")
    sub = build_submission(lane, settings, originals, out / "submission", log=log, trained=trained, decode_ahead=speedups)  # fmt: skip
    stages.done("build")
    scorer = job.scorer()
    if speedups:
        # inflate is a process of its own that spends its first seconds starting python and
        # torch on one core: the networks (timm's imports, their weights) load on the other
        threading.Thread(target=_load_quietly, args=(scorer,), daemon=True).start()
    log("evaluating exactly (all samples)")

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "inflate frames" and done == total and "inflate" not in stages.seconds:
            stages.done("inflate")  # unpacking and inflate.sh, until every frame is written

    result = evaluate_submission(sub, originals, scorer, out_dir=out / "eval", progress=progress)
    stages.done("score")
    # The inflated frames are large and reproducible from the archive: do not keep them.
    for bulky in ("inflated", "archive"):
        shutil.rmtree(out / "eval" / bulky, ignore_errors=True)
    log(f"score {result.score:.4f} (seg {result.seg:.6f}, pose {result.pose:.6f}, {result.archive_bytes:,} bytes) in {time.perf_counter() - start:.0f} s")  # fmt: skip
    log(stages.line())
    save_record(result, out / "result.json")
    return result
