"""The end-to-end demo behind `make demo`: the demo clip, two submissions, two exact evaluations.

(The search loop replaces this as the main job once it exists.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from tac.contest import constants as C
from tac.contest.evaluate import evaluate_submission, format_report
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.submission.build import build_video_submission
from tac.video.decode import iter_frames
from tac.video.encode import encode_frames


def even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def downscaled_frames(video: Path, scale: float):
    """The clip at `scale` of its size (even dimensions), area-filtered."""
    size = (even(C.CAMERA_HEIGHT * scale), even(C.CAMERA_WIDTH * scale))
    for frame in iter_frames(video):
        x = frame.permute(2, 0, 1)[None].float()
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        yield x[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def run_demo(work: Path, scale: float = 0.5, log: Callable[[str], None] = print) -> list[str]:
    originals = demo_originals()
    clip = originals.path(C.CONTEST_VIDEO_NAME)
    log(f"demo clip {clip}")
    scorer = Scorer(resolve_weights())
    log(f"scorers: {scorer.weights.describe()}")
    work.mkdir(parents=True, exist_ok=True)
    identity = build_video_submission({C.CONTEST_VIDEO_NAME: clip}, work / "identity")
    small = encode_frames(downscaled_frames(clip, scale), work / f"scaled-{scale:g}.mkv", crf=18)
    scaled = build_video_submission({C.CONTEST_VIDEO_NAME: small}, work / f"scaled-{scale:g}")
    reports = []
    for sub in (identity, scaled):
        log(f"evaluating {sub}")
        result = evaluate_submission(sub, originals, scorer)
        reports.append(f"--- {sub.name} ---\n" + format_report(result, originals, scorer))
    return reports
