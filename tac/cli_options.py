"""Options and consoles shared by every `tac` sub-command, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tac import cli_style
from tac.errors import TacError

cli_style.apply()  # flags without a type, POSIX usage lines (see tac/cli_style.py)

CHALLENGE_ENV = "TAC_CHALLENGE_DIR"
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ChallengeDir = Annotated[
    Path | None,
    typer.Option(
        "--challenge-dir",
        envvar=CHALLENGE_ENV,  # read here, once, where options are parsed: never by the library
        show_envvar=False,
        help="Checkout of the challenge repository: official weights (models/) and videos (videos/). "
        f"Defaults to ${CHALLENGE_ENV}; without it tac uses the demo clip and stand-in scorers.",
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
Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="demo (the synthetic clip, stand-in scorers) or challenge (the checkout's video and "
        "weights). Default: challenge when a checkout is given (--challenge-dir or "
        f"${CHALLENGE_ENV}), else demo.",
    ),
]
AllowMixed = Annotated[
    bool,
    typer.Option(
        "--allow-mixed",
        help="Score the demo clip with the checkout's weights: numbers that match neither the "
        "contest nor the stand-in demo.",
    ),
]


def given_by(ctx: typer.Context, name: str) -> str:
    """Where an option's value came from: COMMANDLINE, ENVIRONMENT, DEFAULT, … (by name: typer
    vendors its own click, whose enum is not click's)."""
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else "DEFAULT"


def data_choice(
    ctx: typer.Context, data: str | None, challenge_dir: Path | None, allow_mixed: bool
) -> tuple[str, Path | None]:
    """(data, checkout) for a command with --data: one rule for all of them, applied here.

    The demo clip is scored with stand-ins; a checkout given on the command line with
    `--data demo` is refused unless --allow-mixed asks for the mix, and one that only comes
    from the environment is a default for checkout runs, not a reason to mix.
    """
    if data is None:
        data = "challenge" if challenge_dir else "demo"
    if data not in ("demo", "challenge"):
        raise TacError(f"--data {data}: use demo or challenge")
    if data == "challenge" and challenge_dir is None:
        raise TacError(
            f"--data challenge: no challenge checkout; give --challenge-dir DIR or set ${CHALLENGE_ENV}"
        )
    if data == "demo" and challenge_dir is not None and not allow_mixed:
        if given_by(ctx, "challenge_dir") == "ENVIRONMENT":
            return data, None
        raise TacError(
            f"--data demo with --challenge-dir {challenge_dir}: the demo clip scored with the "
            "checkout's weights is a mixed setup; drop --challenge-dir (stand-in scorers), use "
            "--data challenge, or ask for the mix with --allow-mixed"
        )
    return data, challenge_dir


SubmissionDir = Annotated[Path, typer.Argument(help="Directory with archive.zip and inflate.sh.")]
Device = Annotated[
    str, typer.Option("--device", help="Where the scorer networks run: cpu or cuda.")
]
PoseNetPath = Annotated[
    Path | None, typer.Option("--posenet", help="PoseNet safetensors (with --segnet).")
]
SegNetPath = Annotated[
    Path | None, typer.Option("--segnet", help="SegNet safetensors (with --posenet).")
]
MaxSamples = Annotated[
    int | None,
    typer.Option(
        "--max-samples",
        min=1,
        help="Score only the first K samples of each video: the result is an ESTIMATE.",
    ),
]
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Recompute the original's scorer outputs.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


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


def in_panel(option, panel: str):
    """A shared `Annotated[type, typer.Option(…)]` shown under `panel` of a command's --help."""
    import copy
    from typing import get_args

    kind, info, *rest = get_args(option)
    info = copy.copy(info)
    info.rich_help_panel = panel
    return Annotated[kind, info, *rest]
