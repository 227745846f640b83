"""The end-to-end demo behind `make demo`: the demo clip, submissions, exact evaluations.

It builds the identity submission (the clip itself: zero distortion, the rate floor) and one
submission per codec-lane setting, preflights each with `submission check`, evaluates each with
the exact evaluator, and returns a comparison. (The search loop replaces this as the main job
once it exists.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tac.contest import constants as C
from tac.contest.evaluate import evaluate_submission, format_report
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.lanes import get_lane
from tac.lanes.codec import build_video_submission
from tac.lanes.codec.compress import downscale
from tac.lanes.codec.params import CodecParams
from tac.records import EvalResult
from tac.submission.build import build_submission
from tac.submission.check import Finding, check_submission
from tac.video.decode import iter_frames

DEMO_SETTINGS = (
    CodecParams(codec="hevc", crf=30, preset="medium", scale=0.5),
    CodecParams(codec="hevc", crf=24, preset="fast", scale=1.0),
    CodecParams(codec="av1", crf=40, preset="8", scale=0.5),
    CodecParams(codec="h264", crf=28, preset="medium", scale=0.5),
)


@dataclass
class DemoRow:
    name: str
    result: EvalResult
    findings: list[Finding]
    report: str


def downscaled_frames(video: Path, scale: float):
    """The clip at `scale` of its size (even dimensions), area-filtered, as the codec lane does."""
    params = CodecParams(scale=scale, downscale_filter="area")
    for frame in iter_frames(video):
        yield downscale(frame.numpy(), params)


def run_demo(
    work: Path, settings=DEMO_SETTINGS, log: Callable[[str], None] = print
) -> list[DemoRow]:
    originals = demo_originals()
    clip = originals.path(C.CONTEST_VIDEO_NAME)
    log(f"demo clip {clip}")
    scorer = Scorer(resolve_weights())
    log(f"scorers: {scorer.weights.describe()}")
    work.mkdir(parents=True, exist_ok=True)
    subs = [("identity", build_video_submission({C.CONTEST_VIDEO_NAME: clip}, work / "identity"))]
    for params in settings:
        name = params.short().replace(" ", "_")
        log(f"building {name}")
        subs.append(
            (params.short(), build_submission(get_lane("codec"), params, originals, work / name))
        )
    rows = []
    for name, sub in subs:
        log(f"checking and evaluating {name}")
        findings = check_submission(sub, originals)
        result = evaluate_submission(sub, originals, scorer)
        rows.append(DemoRow(name, result, findings, format_report(result, originals, scorer)))
    return rows
