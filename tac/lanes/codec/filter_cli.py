"""`tac lossy train` and `tac lossy eval`: the codec lane's post-filters, trained through the frozen
scorers (the lane's train step, run by hand). `train --lane L` runs another lane's own training
through the lane contract (`Lane.train_by_hand`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tac.cli_options import (
    AllowMixed,
    AsJson,
    ChallengeDir,
    Data,
    Device,
    Originals,
    console,
    data_choice,
    err,
    scorer_on,
)

app = typer.Typer(
    help="Training through the frozen scorers: the codec lane's post-filters (train, eval), and "
    "lanes with training of their own (train --lane nerv, --lane masks).",
    no_args_is_help=True,
)


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    profile: Annotated[
        str,
        typer.Option(
            help="codec: smoke, proven_baseline or compact_int4; nerv, masks: smoke or contest."
        ),
    ] = "smoke",
    lane: Annotated[
        str,
        typer.Option(
            help="codec (a post-filter for a codec setting) or another lane with training of its "
            "own (nerv: the whole video as a small decoder + latents; masks: coded SegNet masks, "
            "a pose channel and a renderer)."
        ),
    ] = "codec",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="KEY=VALUE setting of a non-codec lane (nerv: latent_dim, width, bits, "
            "rate_weight, steps; masks: codec, crf, width, bits, pose_bits, rate_weight, steps, "
            "tto_steps). Repeatable.",
        ),
    ] = None,
    init_from: Annotated[
        Path | None,
        typer.Option(
            "--init-from",
            help="Warm start (non-codec lanes): a checkpoint of the same lane and shape to "
            "resume or fine-tune, e.g. with another --option rate_weight or bits.",
        ),
    ] = None,
    data: Data = None,
    demo_frames: Annotated[
        int | None,
        typer.Option(
            help="With --data demo: a shorter demo clip (frames), for quick looks.", min=2
        ),
    ] = None,
    challenge_dir: ChallengeDir = None,
    allow_mixed: AllowMixed = False,
    precomputed: Annotated[
        Path | None,
        typer.Option(
            "--precomputed",
            help="Directory with comp.raw, gt.raw, meta.json from an earlier run: skip encoding.",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Run directory: frames, checkpoint, telemetry.")
    ] = Path("runs/train"),
    tag: Annotated[str | None, typer.Option(help="Run name (default: the profile).")] = None,
    codec: Annotated[str, typer.Option(help="Codec of the lane the filter corrects.")] = "hevc",
    crf: Annotated[int, typer.Option(help="Its crf.")] = 30,
    preset: Annotated[str | None, typer.Option(help="Its preset (default medium / 8).")] = None,
    scale: Annotated[float, typer.Option(help="Its scale.")] = 0.5,
    max_steps: Annotated[
        int | None, typer.Option(help="Override the profile's step budget.")
    ] = None,
    max_wall_s: Annotated[
        float | None, typer.Option(help="Stop training after this many seconds.")
    ] = None,
    device: Device = "cpu",
    resume: Annotated[
        bool, typer.Option(help="Continue a stopped run with the same --out and --tag.")
    ] = False,
) -> None:
    """Train through the frozen scorers and write a checkpoint: the codec lane's post-filter
    (encode, then train a filter on the decoded frames), or another lane's own training (--lane)."""
    from tac.lanes.codec.cli import codec_params
    from tac.lanes.codec.filter_training import load_precomputed, prepare_frames, train
    from tac.train.profiles import profile_config

    data, challenge_dir = data_choice(ctx, data, challenge_dir, allow_mixed)
    if lane != "codec":
        origs = _originals(data, challenge_dir, demo_frames)
        _train_other_lane(lane, profile, option or [], init_from, out, max_steps, device, origs, challenge_dir)  # fmt: skip
        return
    config = profile_config(
        profile, tag=tag or profile, out_dir=str(out), max_steps=max_steps, max_wall_s=max_wall_s
    )
    data_dir = precomputed
    if data_dir is not None:
        load_precomputed(data_dir)  # fail on a bad directory before loading any scorer
    else:
        params = codec_params(
            codec=codec,
            crf=crf,
            preset=preset or ("8" if codec == "av1" else "medium"),
            scale=scale,
        )
        data_dir = out / "frames"
        prepare_frames(
            _originals(data, challenge_dir, demo_frames),
            params,
            data_dir,
            lambda m: err.print(f"[dim]{escape(m)}[/]"),
        )
    scorer = scorer_on(device, challenge_dir)
    err.print(
        f"[dim]training {config.arch} h{config.hidden} ({profile}) with {scorer.weights.describe()}[/]"
    )
    try:
        s = train(config, data_dir, scorer, resume=resume)
    except KeyboardInterrupt:
        err.print(f"interrupted: the training state is saved in {out}; the same command with --resume continues it")  # fmt: skip
        raise
    if s.after >= s.before:
        err.print(
            "[yellow]no improvement:[/] the quantized filter does not beat the unfiltered frames; "
            "ship without it (or train longer / change the profile)"
        )
    console.print(
        f"100·seg + √(10·pose): {s.before:.4f} → {s.after:.4f} (quantized int{config.bits}, {s.steps} steps, {s.wall_s:.0f} s)\n"
        f"score with bytes:    {s.score_before:.4f} → {s.score_after:.4f} (filter adds {s.filter_bytes:,} bytes)\n"
        f"checkpoint: {s.checkpoint}  (weights {scorer.weights.weights_id}, axis cpu, exact metric over all samples)",
        highlight=False,
    )


def _originals(data: str, challenge_dir, demo_frames: int | None):
    """The originals a training run uses: the checkout's videos, or the demo clip (shorter when
    --demo-frames says so)."""
    from tac.contest.originals import demo_originals, resolve_originals
    from tac.errors import TacError

    if data == "challenge":
        if demo_frames is not None:
            raise TacError("--demo-frames: only with --data demo")
        return resolve_originals(challenge_dir=challenge_dir)
    return demo_originals(frames=demo_frames) if demo_frames else resolve_originals()


def _train_other_lane(lane, profile, options, init_from, out, max_steps, device, origs, challenge_dir) -> None:  # fmt: skip
    from tac.errors import TacError
    from tac.lanes import get_lane

    settings = {}
    for item in options:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise TacError(f"--option {item}: expected KEY=VALUE")
        settings[key.strip()] = value.strip()
    target = get_lane(lane)
    scorer = scorer_on(device, challenge_dir)
    err.print(f"[dim]training the {lane} lane ({profile}) on {escape(origs.describe())} with {scorer.weights.describe()}[/]")  # fmt: skip
    done = target.train_by_hand(
        profile, settings, origs, scorer, out, device=device, init_from=init_from,
        max_steps=max_steps, log=lambda m: err.print(f"[dim]{escape(m)}[/]"),
    )  # fmt: skip
    console.print(
        f"{done['summary']}\ncheckpoint: {done['checkpoint']}  (weights {scorer.weights.weights_id}, axis cpu, "
        "exact archive round trip over all samples)",
        highlight=False,
    )


@app.command("eval")
def eval_cmd(
    checkpoint: Annotated[
        Path, typer.Option("--checkpoint", help="Filter checkpoint (.safetensors with its .json).")
    ],
    archive: Annotated[Path, typer.Option("--archive", help="A codec-lane archive.zip.")],
    upscale_filter: Annotated[
        str, typer.Option(help="The archive's inflate upscale filter.")
    ] = "bicubic",
    originals: Originals = None,
    challenge_dir: ChallengeDir = None,
    device: Device = "cpu",
    as_json: AsJson = False,
) -> None:
    """Apply a filter to an archive's decoded frames and score them exactly; the filter's bytes are
    added exactly as shipping it adds them (its zip member's cost, computed, not estimated)."""
    from tac.contest.originals import resolve_originals
    from tac.lanes.codec.filter_training import evaluate_with_filter

    origs = resolve_originals(originals, None, challenge_dir)
    scorer = scorer_on(device, challenge_dir)
    r = evaluate_with_filter(checkpoint, archive, origs, scorer, upscale_filter)
    if as_json:
        console.print_json(json.dumps(r))
        return
    console.print(
        f"pose {r['pose']:.8f}  seg {r['seg']:.8f}  bytes {r['archive_bytes']:,} (filter {r['filter_bytes']:,})  "
        f"rate {r['rate']:.8f}  score {r['score']:.4f}\n({r['n_samples']} samples, weights {r['weights']}, axis cpu)",
        highlight=False,
    )
