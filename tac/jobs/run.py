"""`run_job`: one candidate, end to end, on whatever host runs it.

    candidate → codec lane (→ post-filter training) → submission → exact evaluation → result.json

Everything it writes lives under `out`; `result.json` (an EvalResult) is written last and
atomically, so its presence means the job finished. Failures raise TacError with the reason.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from tac.errors import TacError
from tac.records import EvalResult, JobSpec, save_record


def run_job(spec: JobSpec, out: Path, log: Callable[[str], None] = print) -> EvalResult:
    from tac.contest.evaluate import evaluate_submission
    from tac.contest.originals import demo_originals, resolve_originals
    from tac.contest.scorer import Scorer
    from tac.contest.weights import resolve_weights
    from tac.lanes.codec_params import CodecParams
    from tac.submission.build import build_submission

    start = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = spec.candidate.params
    log(f"job {spec.job_id}: {spec.candidate.id} on {spec.data} ({spec.runner_axis})")
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
    device = "cuda" if spec.runner_axis == "cuda" else "cpu"
    params = CodecParams(codec=p.codec, crf=p.crf, preset=p.preset, scale=p.scale)
    checkpoint = None
    if p.filter:
        checkpoint = _train_filter(spec, params, originals, out, device, log)
    log(f"building the submission ({params.short()}{' + filter' if checkpoint else ''})")
    sub = build_submission("codec", params, originals, out / "submission", log=log, filter_checkpoint=checkpoint)  # fmt: skip
    log("evaluating exactly (all samples)")
    result = evaluate_submission(sub, originals, Scorer(weights, device), out_dir=out / "eval")
    # The inflated frames are large and reproducible from the archive: do not keep them.
    for bulky in ("inflated", "archive"):
        shutil.rmtree(out / "eval" / bulky, ignore_errors=True)
    log(f"score {result.score:.4f} (seg {result.seg:.6f}, pose {result.pose:.6f}, {result.archive_bytes:,} bytes) in {time.perf_counter() - start:.0f} s")  # fmt: skip
    save_record(result, out / "result.json")
    return result


def _train_filter(spec, params, originals, out: Path, device: str, log) -> Path:
    from tac.contest.scorer import Scorer
    from tac.contest.weights import resolve_weights
    from tac.train.profiles import profile_config
    from tac.train.run import prepare_frames, train

    p = spec.candidate.params
    config = profile_config(
        spec.train_profile, tag="filter", out_dir=str(out / "train"), arch=p.filter, hidden=p.hidden, bits=p.bits
    )  # fmt: skip
    frames = out / "train" / "frames"
    prepare_frames(originals, params, frames, log)
    scorer = Scorer(resolve_weights(challenge_dir=spec.challenge_dir), device)
    log(f"training {p.filter} h{p.hidden} int{p.bits} ({spec.train_profile})")
    summary = train(config, frames, scorer)
    shutil.rmtree(frames, ignore_errors=True)
    return summary.checkpoint
