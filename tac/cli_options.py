"""Options and consoles shared by every `tac` sub-command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ChallengeDir = Annotated[
    Path | None,
    typer.Option(
        "--challenge-dir",
        help="Checkout of the challenge repository: official weights (models/) and videos (videos/). "
        "Defaults to $TAC_CHALLENGE_DIR; without it tac uses the demo clip and stand-in scorers.",
    ),
]
Originals = Annotated[
    Path | None,
    typer.Option(
        "--originals",
        help="Directory of original videos (default: challenge checkout, else the demo clip).",
    ),
]
VideoNames = Annotated[
    Path | None, typer.Option("--video-names", help="Text file, one video name per line.")
]
SubmissionDir = Annotated[Path, typer.Argument(help="Directory with archive.zip and inflate.sh.")]
Device = Annotated[
    str, typer.Option("--device", help="Where the scorer networks run: cpu or cuda.")
]


def scorer_on(device: str, challenge_dir=None, posenet=None, segnet=None):
    """The scorers on a validated device, with a note when they are not the official ones."""
    from rich.markup import escape

    from tac.contest.scorer import Scorer
    from tac.contest.weights import resolve_weights
    from tac.errors import TacError

    if device not in ("cpu", "cuda"):
        raise TacError(f"--device {device}: use cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise TacError("--device cuda: no CUDA device is available here; use --device cpu")
    weights = resolve_weights(posenet, segnet, challenge_dir)
    if not weights.official:
        err.print(f"[yellow]note:[/] scoring with {escape(weights.describe())}")
    return Scorer(weights, device)
