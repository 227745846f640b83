"""`tac submission check` (and the group `tac submission build` joins: each lane builds its own,
so `build` comes from the codec lane, `tac.lanes.codec.cli`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from tac.cli_options import AsJson, ChallengeDir, Originals, SubmissionDir, VideoNames, console

app = typer.Typer(help="Build and preflight contest submissions.", no_args_is_help=True)


@app.command("check")
def check(
    submission_dir: SubmissionDir,
    originals: Originals = None,
    video_names: VideoNames = None,
    challenge_dir: ChallengeDir = None,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Do not run inflate to time it.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Preflight a submission: archive hygiene, inflate imports, size, rate, inflate time."""
    import dataclasses
    import json

    from tac.contest.originals import resolve_originals
    from tac.submission.check import check_submission

    origs = resolve_originals(originals, video_names, challenge_dir)
    findings = check_submission(submission_dir, origs, run_inflate=not no_run)
    if as_json:  # same exit code: 1 when any finding is an error
        counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
        typer.echo(json.dumps({"submission": str(submission_dir), "findings": [dataclasses.asdict(f) for f in findings], **counts}))  # fmt: skip
        if counts["error"]:
            sys.exit(1)
        return
    colors = {"error": "red", "warning": "yellow", "info": "dim"}
    for f in findings:
        console.print(f"[{colors[f.severity]}]{escape(f.line())}[/]", highlight=False)
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    console.print(f"{errors} error(s), {warnings} warning(s)", highlight=False)
    if errors:
        sys.exit(1)
