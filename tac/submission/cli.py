"""`tac submission build` and `tac submission check`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from tac.cli_options import ChallengeDir, Originals, SubmissionDir, VideoNames, console, err
from tac.errors import TacError

app = typer.Typer(help="Build and preflight contest submissions.", no_args_is_help=True)


def codec_params(**kw):
    """Validated CodecParams, with pydantic's complaint turned into one line."""
    from tac.lanes.codec_params import CodecParams

    try:
        return CodecParams(**{k: v for k, v in kw.items() if v is not None})
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        raise TacError(f"invalid codec setting{' ' + where if where else ''}: {msg}") from None


@app.command("build")
def build(
    out: Annotated[Path, typer.Option("--out", help="The submission directory to write.")],
    lane: Annotated[str, typer.Option(help="Compression lane.")] = "codec",
    codec: Annotated[
        str, typer.Option(help="hevc (libx265), av1 (libsvtav1) or h264 (libx264).")
    ] = "hevc",
    crf: Annotated[int, typer.Option(help="Constant rate factor (hevc/h264 0-51, av1 1-63).")] = 30,
    preset: Annotated[
        str | None,
        typer.Option(
            help="Encoder preset (x26x: ultrafast..placebo; av1: 0..13). Default: medium / 8."
        ),
    ] = None,
    scale: Annotated[
        float, typer.Option(help="Encode at this fraction of 1164x874 (kept even).")
    ] = 1.0,
    downscale_filter: Annotated[str, typer.Option(help="area, bilinear or bicubic.")] = "area",
    upscale_filter: Annotated[
        str, typer.Option(help="bicubic, bilinear or nearest (in inflate).")
    ] = "bicubic",
    keyint: Annotated[int | None, typer.Option(help="GOP length (default: the encoder's).")] = None,
    bframes: Annotated[int | None, typer.Option(help="B-frames (hevc/h264).")] = None,
    film_grain: Annotated[int, typer.Option(help="AV1 film-grain synthesis, 0-50.")] = 0,
    pix_fmt: Annotated[
        str, typer.Option(help="yuv420p (8-bit) or yuv420p10le (10-bit).")
    ] = "yuv420p",
    filter_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--filter",
            help="A post-filter checkpoint (from `tac lossy train`) to ship: its quantized "
            "weights go into the archive and inflate applies it on the CPU.",
        ),
    ] = None,
    originals: Originals = None,
    video_names: VideoNames = None,
    challenge_dir: ChallengeDir = None,
) -> None:
    """Compress the originals through a lane and write a complete, deterministic submission."""
    from tac.contest.originals import resolve_originals
    from tac.submission.build import build_submission

    if preset is None:
        preset = "8" if codec == "av1" else "medium"
    params = codec_params(
        codec=codec,
        crf=crf,
        preset=preset,
        scale=scale,
        downscale_filter=downscale_filter,
        upscale_filter=upscale_filter,
        keyint=keyint,
        bframes=bframes,
        film_grain=film_grain,
        pix_fmt=pix_fmt,
    )
    origs = resolve_originals(originals, video_names, challenge_dir)
    sub = build_submission(
        lane,
        params,
        origs,
        out,
        log=lambda m: err.print(f"[dim]{escape(m)}[/]"),
        filter_checkpoint=filter_checkpoint,
    )
    size = (sub / "archive.zip").stat().st_size
    shipped = f" + filter {filter_checkpoint.name}" if filter_checkpoint else ""
    console.print(
        f"built {sub} ({params.short()}{shipped}): archive.zip {size:,} bytes, rate {size / origs.total_bytes:.8f}",
        highlight=False,
    )


@app.command("check")
def check(
    submission_dir: SubmissionDir,
    originals: Originals = None,
    video_names: VideoNames = None,
    challenge_dir: ChallengeDir = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Do not run inflate to time it.")
    ] = False,
) -> None:
    """Preflight a submission: archive hygiene, inflate imports, size, rate, inflate time."""
    from tac.contest.originals import resolve_originals
    from tac.submission.check import check_submission

    origs = resolve_originals(originals, video_names, challenge_dir)
    findings = check_submission(submission_dir, origs, run_inflate=not no_run)
    colors = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in findings:
        console.print(f"[{colors[f.severity]}]{escape(f.line())}[/]", highlight=False)
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    console.print(f"{errors} error(s), {warnings} warning(s)", highlight=False)
    if errors:
        sys.exit(1)
