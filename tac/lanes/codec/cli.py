"""The codec lane's commands: `tac submission build` (the codec flags) and `tac lossy`.

They live with the lane because every flag is a codec-lane setting; `tac.cli` attaches them
to the `submission` and `lossy` groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from tac.cli_options import AsJson, ChallengeDir, Originals, VideoNames, console, err
from tac.errors import TacError
from tac.lanes.codec.params import CodecParams, setting_problem


def codec_params(**kw) -> CodecParams:
    """Validated CodecParams, with pydantic's complaint turned into one line."""
    try:
        return CodecParams(**{k: v for k, v in kw.items() if v is not None})
    except ValidationError as exc:
        raise TacError(f"invalid codec setting{setting_problem(exc)}") from None


def build(
    out: Annotated[Path, typer.Option("--out", help="The submission directory to write.")],
    lane: Annotated[
        str,
        typer.Option(
            help="codec (the flags below), or a lane whose submission is a trained checkpoint "
            "(nerv, masks: with --checkpoint)."
        ),
    ] = "codec",
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="For --lane nerv or masks: the checkpoint `tac lossy train --lane LANE` wrote; "
            "what it represents is packed into the archive.",
        ),
    ] = None,
    inflate_device: Annotated[
        str,
        typer.Option(
            "--inflate-device",
            help="For --lane masks: where inflate draws. cpu (default): the frames tac scored, bit "
            "for bit. auto: CUDA when the evaluation machine has it (the T4 runner), else the CPU; "
            "CUDA frames differ from the CPU's by float rounding, so the score tac measured holds "
            "on the CPU runner axis only.",
        ),
    ] = "cpu",
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
    as_json: AsJson = False,
) -> None:
    """Compress the originals through the codec lane and write a complete, deterministic submission."""
    from tac.contest.originals import resolve_originals
    from tac.lanes import get_lane
    from tac.submission.build import build_submission

    if lane != "codec":
        _build_from_checkpoint(lane, checkpoint, out, resolve_originals(originals, video_names, challenge_dir), inflate_device, as_json)  # fmt: skip
        return
    if checkpoint is not None:
        raise TacError("--checkpoint: the codec lane ships a post-filter with --filter")
    if inflate_device != "cpu":
        raise TacError("--inflate-device: the codec lane's inflate decodes and filters on the CPU")
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
        get_lane("codec"),
        params,
        origs,
        out,
        log=lambda m: err.print(f"[dim]{escape(m)}[/]"),
        trained=filter_checkpoint,
    )
    size = (sub / "archive.zip").stat().st_size
    if as_json:
        _built_json(sub, "codec", params.short(), size, origs)
        return
    shipped = f" + filter {filter_checkpoint.name}" if filter_checkpoint else ""
    console.print(
        f"built {sub} ({params.short()}{shipped}): archive.zip {size:,} bytes, rate {size / origs.total_bytes:.8f}",
        highlight=False,
    )


def _built_json(sub: Path, lane: str, label: str, size: int, origs) -> None:
    """`submission build --json`: what was built, its bytes, rate and archive sha256."""
    import json

    from tac.hashing import sha256_file

    typer.echo(json.dumps({"submission": str(sub), "lane": lane, "label": label, "archive_bytes": size,
                           "rate": size / origs.total_bytes, "archive_sha256": sha256_file(sub / "archive.zip")}))  # fmt: skip


def _build_from_checkpoint(lane: str, checkpoint: Path | None, out: Path, origs, inflate_device: str = "cpu", as_json: bool = False) -> None:  # fmt: skip
    from tac.lanes import Trained, get_lane
    from tac.submission.build import build_submission

    if checkpoint is None:
        raise TacError(f"--lane {lane}: name the trained representation with --checkpoint")
    target = get_lane(lane)
    settings = target.settings_from_trained(checkpoint)
    if inflate_device != "cpu":
        if "inflate_device" not in type(settings).model_fields:
            raise TacError(f"--inflate-device: the {lane} lane's inflate draws on the CPU only")
        if inflate_device != "auto":
            raise TacError(f"--inflate-device {inflate_device}: cpu or auto")
        settings = settings.model_copy(update={"inflate_device": inflate_device})
    log = lambda m: err.print(f"[dim]{escape(m)}[/]")  # noqa: E731
    sub = build_submission(target, settings, origs, out, log=log, trained=Trained(checkpoint, lane))  # fmt: skip
    size = (sub / "archive.zip").stat().st_size
    if as_json:
        _built_json(sub, lane, target.label(settings), size, origs)
        return
    console.print(
        f"built {sub} ({target.label(settings)} from {checkpoint}): archive.zip {size:,} bytes, rate {size / origs.total_bytes:.8f}",
        highlight=False,
    )
