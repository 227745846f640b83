"""Build a submission from the demo clip and score it with the exact evaluator.

    python examples/score_a_submission.py [--scale 0.5]

It scores with the seeded stand-in scorers, and every output says so. `--challenge-dir DIR`
(default: $TAC_CHALLENGE_DIR, read here at the edge) scores the demo clip with that checkout's
weights instead: a mixed setup, asked for explicitly, whose numbers are no contest score.
"""

import argparse
import os
import tempfile
from pathlib import Path

from tac.contest.evaluate import evaluate_submission, format_report
from tac.contest.originals import demo_originals
from tac.contest.scorer import Scorer
from tac.contest.weights import resolve_weights
from tac.demo import downscaled_frames
from tac.lanes.codec import build_video_submission
from tac.video.encode import encode_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5, help="downscale factor before encoding")
    parser.add_argument("--crf", type=int, default=24, help="x265 constant rate factor")
    parser.add_argument("--challenge-dir", default=os.environ.get("TAC_CHALLENGE_DIR"),
                        help="score with this checkout's weights (a mixed setup)")  # fmt: skip
    args = parser.parse_args()

    originals = demo_originals()
    clip = originals.path("0.mkv")
    work = Path(tempfile.mkdtemp(prefix="tac-example-"))
    video = encode_frames(downscaled_frames(clip, args.scale), work / "small.mkv", crf=args.crf)
    submission = build_video_submission({"0.mkv": video}, work / "submission")

    scorer = Scorer(resolve_weights(challenge_dir=args.challenge_dir))
    result = evaluate_submission(submission, originals, scorer)
    print(format_report(result, originals, scorer))
    print("provenance:", result.provenance())


if __name__ == "__main__":
    main()
