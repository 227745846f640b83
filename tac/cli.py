"""The `tac` command line: parse, call one library function, print.

Every user-fixable problem is a TacError: one line on stderr, exit code 2, no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tac import interrupts
from tac.cli_options import (
    AsJson,
    ChallengeDir,
    Device,
    MaxSamples,
    NoCache,
    Originals,
    PoseNetPath,
    SegNetPath,
    VideoNames,
    console,
    err,
    scorer_on,
)
from tac.control.cli import loop_cmd, steer_cmd
from tac.control.hosts_cli import app as hosts_app
from tac.control.runs_cli import app as runs_app
from tac.control.runs_cli import export_cmd, plot_cmd
from tac.errors import TacError
from tac.jobs.cli import app as job_app
from tac.lanes.codec.cli import build as codec_build
from tac.lanes.codec.filter_cli import app as lossy_app
from tac.lossless.cli import app as lossless_app
from tac.search.cli import app as search_app
from tac.submission.cli import app as submission_app

app = typer.Typer(
    name="tac",
    help="Task-Aware Compression: compress video for the networks that watch it.",
    no_args_is_help=True,
    add_completion=True,  # tac --install-completion: bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
)
demo_app = typer.Typer(
    help="The synthetic demo clip and the end-to-end demo.", no_args_is_help=True
)
app.add_typer(demo_app, name="demo")
submission_app.command("build")(codec_build)  # each lane builds its own: today the codec lane
app.add_typer(submission_app, name="submission")
app.add_typer(lossless_app, name="lossless")
app.add_typer(lossy_app, name="lossy")
app.add_typer(search_app, name="search")
app.add_typer(job_app, name="job")
app.command("loop")(loop_cmd)
app.command("steer")(steer_cmd)
app.add_typer(hosts_app, name="hosts")
app.add_typer(runs_app, name="runs")
app.command("export")(export_cmd)
app.command("plot")(plot_cmd)


def _version(value: bool) -> None:
    if value:
        from tac import __version__

        print(f"tac {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print tac's version."),
    ] = False,
) -> None:
    """Task-Aware Compression: compress video for the networks that watch it."""


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@app.command("eval")
def eval_cmd(
    submission_dirs: Annotated[list[Path], typer.Argument(help="Submission directories (archive.zip and inflate.sh); several are scored with one load of the scorers and shown side by side.", metavar="SUBMISSION_DIR...")],
    originals: Originals = None,
    video_names: VideoNames = None,
    device: Device = "cpu",
    challenge_dir: ChallengeDir = None,
    posenet: PoseNetPath = None,
    segnet: SegNetPath = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where archive/, inflated/ and reports go (default: the submission directory; with several, OUT/<name of each>).",
        ),
    ] = None,
    max_samples: MaxSamples = None,
    no_cache: NoCache = False,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """Evaluate submissions exactly as the official evaluate.sh does; writes report.txt and result.json.

    With several, one table compares them (same originals, same scorers, the best in bold)."""
    from tac.contest.evaluate import evaluate_submission, format_report
    from tac.contest.originals import resolve_originals

    names = _unique_names(submission_dirs)
    for d in submission_dirs:  # every directory checked before minutes of scoring start
        if not d.exists():
            raise TacError(f"{d}: not found (give submission directories holding archive.zip and inflate.sh)")  # fmt: skip
        if not d.is_dir():
            raise TacError(f"{d}: not a directory (give submission directories holding archive.zip and inflate.sh)")  # fmt: skip
    origs = resolve_originals(originals, video_names, challenge_dir)
    scorer = scorer_on(device, challenge_dir, posenet, segnet)
    results = []
    with _progress() as bar:
        for d, name in zip(submission_dirs, names, strict=True):
            tasks: dict[str, int] = {}

            def progress(stage: str, done: int, total: int, tasks=tasks, name=name) -> None:
                label = stage if len(submission_dirs) == 1 else f"{name}: {stage}"
                if stage not in tasks:
                    tasks[stage] = bar.add_task(label, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            where = out if out is None or len(submission_dirs) == 1 else out / name
            results.append(evaluate_submission(d, origs, scorer, where, max_samples, use_cache=not no_cache, progress=progress))  # fmt: skip
    if len(results) == 1:
        if as_json:
            console.print_json(results[0].model_dump_json())
        else:
            console.print(format_report(results[0], origs, scorer), highlight=False, markup=False)
        return
    if as_json:
        typer.echo(json.dumps([{"submission": str(d)} | json.loads(r.model_dump_json()) for d, r in zip(submission_dirs, results, strict=True)], indent=1))  # fmt: skip
        return
    console.print(_eval_table(names, results, origs, scorer))


def _unique_names(dirs: list[Path]) -> list[str]:
    """A short name per submission: its directory's name, numbered where two share one."""
    names = [d.resolve().name or str(d) for d in dirs]
    return [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names, 1)]


def _eval_table(names: list[str], results: list, origs, scorer):
    from rich.table import Table

    best = min(r.score for r in results)
    table = Table("submission", "score", "100·seg", "√(10·pose)", "25·rate", "bytes", "archive", box=None,
                  title=f"{origs.describe()} · {scorer.weights.describe()} · runner axis {results[0].runner_axis}")  # fmt: skip
    for name, r in zip(names, results, strict=True):
        style = "bold" if r.score == best else ""
        estimate = " (estimate)" if r.estimate else ""
        table.add_row(name, f"{r.score:.4f}{estimate}", f"{100 * r.seg:.4f}", f"{(10 * r.pose) ** 0.5:.4f}",
                      f"{25 * r.rate:.4f}", f"{r.archive_bytes:,}", r.archive_sha256[:12], style=style)  # fmt: skip
    return table


@app.command("score")
def score_cmd(
    original: Annotated[Path, typer.Argument(help="The original video (.mkv/.hevc).")],
    reconstructed: Annotated[
        Path, typer.Argument(help="Reconstructed frames: uint8 .raw, N x 874 x 1164 x 3.")
    ],
    device: Device = "cpu",
    challenge_dir: ChallengeDir = None,
    posenet: PoseNetPath = None,
    segnet: SegNetPath = None,
    max_samples: MaxSamples = None,
    no_cache: NoCache = False,
    as_json: AsJson = False,
) -> None:
    """Distortions of raw frames against an original video (no archive, so no rate)."""
    from tac.contest.evaluate import score_raw

    scorer = scorer_on(device, challenge_dir, posenet, segnet)
    with _progress() as bar:
        task = bar.add_task("score", total=None)
        pose, seg, n, total = score_raw(
            scorer,
            original,
            reconstructed,
            max_samples,
            use_cache=not no_cache,
            progress=lambda k: bar.advance(task, k),
        )
    out = {
        "pose": pose,
        "seg": seg,
        "distortion_score": 100 * seg + (10 * pose) ** 0.5,
        "n_samples": n,
        "n_samples_total": total,
        "estimate": n < total,
        "weights": scorer.weights.weights_id,
        "runner_axis": "cpu",
        "device": str(scorer.device),
    }
    if as_json:
        console.print_json(json.dumps(out))
        return
    tag = f"ESTIMATE on {n}/{total} samples" if n < total else f"{n} samples"
    console.print(
        f"PoseNet distortion: {pose:.8f}\nSegNet distortion:  {seg:.8f}\n"
        f"100*seg + sqrt(10*pose) = {out['distortion_score']:.4f}  ({tag}; weights {out['weights']}; axis cpu)",
        highlight=False,
    )


@app.command("sensitivity")
def sensitivity_cmd(
    seg: Annotated[float, typer.Option(min=0.0, max=1.0, help="SegNet distortion.")],
    pose: Annotated[float, typer.Option(min=0.0, help="PoseNet distortion.")],
    archive_bytes: Annotated[
        int, typer.Option("--bytes", min=0, help="archive.zip size in bytes.")
    ],
    original_bytes: Annotated[int, typer.Option(min=1, help="Rate denominator.")] = 37_545_489,
    samples: Annotated[
        int, typer.Option(min=1, help="Samples in the set (for the per-pixel rate).")
    ] = 600,
    as_json: AsJson = False,
) -> None:
    """The score at a point, and what one byte, one seg unit and one pose unit are worth there."""
    import dataclasses

    from tac.contest.score import contest_score, rate, score_terms, sensitivity

    r = rate(archive_bytes, original_bytes)
    s = sensitivity(pose, archive_bytes, original_bytes, samples)
    terms = score_terms(seg, pose, r)
    if as_json:
        typer.echo(json.dumps({"score": contest_score(seg, pose, r), "terms": terms, "rate": r,
                               "sensitivity": dataclasses.asdict(s)}))  # fmt: skip
        return
    console.print(
        f"score {contest_score(seg, pose, r):.4f} = seg {terms['seg']:.4f} + pose {terms['pose']:.4f} + rate {terms['rate']:.4f}"
    )
    console.print(f"  ∂score/∂byte      {s.per_byte:.3e}   (1 KB = {s.per_byte * 1000:.5f})")
    console.print(
        f"  ∂score/∂seg       {s.per_seg:.3e}   (one SegNet pixel = {s.per_seg_pixel:.3e} = {s.bytes_per_seg_pixel:.2f} bytes)"
    )
    console.print(
        f"  ∂score/∂pose      {s.per_pose:.3e}   (one pose unit = {s.bytes_per_pose_unit:,.0f} bytes)"
    )


@app.command("weights")
def weights_cmd(
    challenge_dir: ChallengeDir = None,
    posenet: PoseNetPath = None,
    segnet: SegNetPath = None,
    as_json: AsJson = False,
) -> None:
    """Show which scorer weights tac would use, their sha256, and that they load strictly."""
    from tac.contest.weights import build_scorers, resolve_weights

    w = resolve_weights(posenet, segnet, challenge_dir)
    build_scorers(w)  # strict load: wrong files fail here, not an hour into a run
    if as_json:
        typer.echo(json.dumps({"kind": w.kind, "id": w.weights_id, "describe": w.describe(), "loads": True,
                               "posenet": {"path": str(w.posenet_path), "sha256": w.posenet_sha256},
                               "segnet": {"path": str(w.segnet_path), "sha256": w.segnet_sha256}}))  # fmt: skip
        return
    console.print(
        f"{w.describe()}\n  id: {w.weights_id}\n  posenet: {w.posenet_path} sha256 {w.posenet_sha256}\n"
        f"  segnet:  {w.segnet_path} sha256 {w.segnet_sha256}",
        highlight=False,
    )
    if w.kind == "stand-in":
        console.print(_standin_provenance(), highlight=False)


def _standin_provenance() -> str:
    """How the stand-ins were made, from the recipe shipped beside them."""
    from tac.contest.weights import standin_recipe

    r = standin_recipe()
    seg, pose, held = r["segnet"], r["posenet"], r["held_out"]
    return (
        f"  SegNet: trained by python -m tac.contest.standin.train (seed {r['seed']}, torch "
        f"{r['torch']}, {r['threads']} CPU threads) on the synthetic world's classes: {seg['steps']} "
        f"steps on {seg['frames']} labelled frames of drives {seg['drives'][0]}–{seg['drives'][1] - 1} "
        f"({seg['train_s'] / 60:.0f} min); pixel accuracy {held['seg_pixel_accuracy']:.1%} on held-out "
        f"drives {r['held_out_seeds'][0]}–{r['held_out_seeds'][1] - 1}\n"
        f"  PoseNet: not trained: {pose['how']}; {pose['why']}\n"
        "  they stand in for the official networks on the demo clip; they say nothing about a contest score"
    )


@demo_app.command("make")
def demo_make(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write the clip here (default: the tac cache; `tac eval` uses the default 40-frame, seed-0 clip).",
        ),
    ] = None,
    frames: Annotated[int, typer.Option(min=2, help="Frames to render (20 fps).")] = 40,
    seed: Annotated[int, typer.Option(help="Scene seed.")] = 0,
) -> None:
    """Render the synthetic demo drive (1164x874, 20 fps) as a high-quality HEVC .mkv."""
    from tac.contest.originals import demo_originals
    from tac.video.demo import write_demo_clip

    if out is not None:
        path = write_demo_clip(out, n=frames, seed=seed)
    else:
        path = demo_originals(frames, seed).path("0.mkv")
    console.print(f"demo clip: {path} ({path.stat().st_size:,} bytes, {frames} frames)")


@demo_app.command("run")
def demo_run(
    work: Annotated[
        Path, typer.Option("--work", help="Where the demo submissions are built.")
    ] = Path("runs/demo"),
    as_json: AsJson = False,
) -> None:
    """Build the identity and four codec-lane submissions of the demo clip, check and evaluate them."""
    import dataclasses

    from rich.table import Table

    from tac.demo import run_demo

    rows = run_demo(work, log=lambda m: err.print(f"[dim]{escape(m)}[/]"))
    if as_json:
        typer.echo(json.dumps([{"submission": row.name, "result": json.loads(row.result.model_dump_json()),
                                "findings": [dataclasses.asdict(f) for f in row.findings]} for row in rows]))  # fmt: skip
        return
    for row in rows[:2]:
        console.print(f"--- {row.name} ---\n{row.report}", highlight=False, markup=False)
    first = rows[0].result
    table = Table(
        title=f"demo clip, {first.n_samples} samples, weights {first.weights}, axis {first.runner_axis}"
    )
    for col in (
        "submission",
        "archive bytes",
        "rate",
        "pose",
        "seg",
        "score",
        "check",
        "inflate 1200 frames",
    ):
        table.add_column(col, justify="left" if col in ("submission", "check") else "right")
    for row in sorted(rows, key=lambda r: r.result.score):
        r = row.result
        errors = sum(f.severity == "error" for f in row.findings)
        warnings = sum(f.severity == "warning" for f in row.findings)
        timing = next(
            (
                f.message.split("frames ≈ ")[1].split(" of")[0]
                for f in row.findings
                if f.code == "inflate-time"
            ),
            "-",
        )
        table.add_row(
            row.name,
            f"{r.archive_bytes:,}",
            f"{r.rate:.5f}",
            f"{r.pose:.6f}",
            f"{r.seg:.5f}",
            f"{r.score:.3f}",
            "ok" if not errors + warnings else f"{errors} err, {warnings} warn",
            timing,
        )
    # A table is read whole: do not let a non-terminal's default 80 columns fold it.
    (console if console.is_terminal else Console(width=140)).print(table)
    if not first.official_weights:
        console.print(
            "Scores come from STAND-IN scorers (no official weights found): compare rows, not contest numbers."
        )


def main() -> None:
    interrupts.install()  # SIGTERM runs every cleanup Ctrl-C runs: no temp file, no orphan left
    try:
        app()
    except TacError as exc:
        print(f"error: {exc}", file=sys.stderr)  # plain: one line, never wrapped or styled
        sys.exit(exc.exit_code)
    except OSError as exc:  # a file the user named cannot be read or written
        print(f"error: {_os_error_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        _stopped()
    except SystemExit as exc:
        if exc.code == 130 and interrupts.received():  # typer turns Ctrl-C into exit code 130
            _stopped()
        raise


def _os_error_line(exc: OSError) -> str:
    """`PATH: what went wrong`; an error that carries no path (shutil.rmtree's) is just what."""
    paths = [os.fsdecode(p) if isinstance(p, bytes) else str(p) for p in (exc.filename, exc.filename2) if p not in (None, "", b"")]  # fmt: skip
    what = exc.strerror or str(exc)
    return f"{' -> '.join(paths)}: {what}" if paths else what


def _stopped() -> NoReturn:
    sig = interrupts.received() or signal.SIGINT
    print("interrupted" if sig == signal.SIGINT else "terminated", file=sys.stderr)
    sys.exit(128 + sig)


if __name__ == "__main__":
    main()
