"""`tac-dash`: watch (and steer) a tac loop from a terminal, locally or over SSH.

    tac-dash [RUN_DIR]              attach to a run (default: the newest under ./runs)
    tac-dash --start [LOOP OPTIONS] start `tac loop LOOP OPTIONS` as its own process, then attach
    tac-dash --version

tac-dash's own options (--poll, --version, --help) are its own wherever they appear; with
--start every other argument goes to `tac loop`. A mistyped option names the closest one.

Closing the dashboard never stops the loop: a started loop runs in its own session, its output
goes to RUN_DIR/loop.log, and `tac-dash RUN_DIR` attaches again later.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from tac import cli_style
from tac.control.ledger import LEDGER
from tui.model import newest_run

cli_style.apply()


def start_loop(loop_args: list[str]) -> Path:
    """Start `tac loop` detached; return its run directory once its ledger exists."""
    args = list(loop_args)
    if "--resume" in args:
        run_dir = Path(args[args.index("--resume") + 1])
    elif "--run-dir" in args:
        run_dir = Path(args[args.index("--run-dir") + 1])
    else:
        run_dir = Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        args += ["--run-dir", str(run_dir)]
    run_dir.mkdir(parents=True, exist_ok=True)
    log = open(run_dir / "loop.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tac.cli", "loop", *args],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + 60
    while not (run_dir / LEDGER).exists():
        if proc.poll() is not None:
            tail = (run_dir / "loop.log").read_text(errors="replace").strip().splitlines()[-3:]
            _fail(f"the loop exited ({proc.returncode}): {' / '.join(tail)}")
        if time.monotonic() > deadline:
            _fail(f"the loop started but wrote no {run_dir / LEDGER} in 60 s; see {run_dir / 'loop.log'}")  # fmt: skip
        time.sleep(0.1)
    return run_dir


OWN_OPTIONS = ("--start", "--poll", "--version", "--help")

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        from tac import __version__

        typer.echo(f"tac-dash {__version__}")
        raise typer.Exit()


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    options_metavar="[OPTIONS] [RUN_DIR | --start LOOP OPTIONS...]",
)
def dash(
    ctx: typer.Context,
    start: Annotated[bool, typer.Option("--start", help="Start `tac loop` with every option tac-dash does not take itself (LOOP OPTIONS), in the background, and attach to it.")] = False,
    poll: Annotated[float, typer.Option("--poll", help="Seconds between ledger reads.", min=0.01)] = 0.2,
    version: Annotated[bool, typer.Option("--version", help="Print the version.", callback=_version, is_eager=True)] = False,
) -> None:  # fmt: skip
    """Live dashboard for a tac loop: candidates, refusals, budgets, score bands, jobs.

    RUN_DIR: the run to attach to (default: the newest under ./runs).

    --start LOOP OPTIONS: start `tac loop LOOP OPTIONS` in the background first.

    Press ? inside for keys. Quitting never stops the loop.
    """
    rest = list(ctx.args)  # RUN_DIR, or with --start the loop's options (tac-dash's own parsed)
    if start:
        if rest and not rest[0].startswith("-") and Path(rest[0]).is_dir():
            _fail("give RUN_DIR or --start, not both (use --start --run-dir DIR …)", 2)
        run_dir = start_loop(rest)
    else:
        unknown = [a for a in rest if a.startswith("-")]
        if unknown:
            close = difflib.get_close_matches(unknown[0], OWN_OPTIONS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (loop options go after --start)"
            _fail(f"no such option {unknown[0]}{hint}", 2)
        if len(rest) > 1:
            _fail(f"one RUN_DIR at most (got {' '.join(rest)})", 2)
        run_dir = Path(rest[0]) if rest else newest_run()
        if run_dir is None:
            _fail(f"no run under {Path('runs').resolve()}; give RUN_DIR, or start one with tac-dash --start")  # fmt: skip
        if not run_dir.is_dir():
            _fail(f"{run_dir} is not a directory")
        if not (run_dir / LEDGER).exists() and not (run_dir / "config.json").exists():
            _fail(f"{run_dir} is not a tac run (no {LEDGER})")
    from tui.app import DashApp

    DashApp(run_dir, poll_s=poll).run()
    if os.environ.get("TERM"):
        print(f"tac-dash: left {run_dir}; the loop (if running) goes on. Attach again: tac-dash {run_dir}")  # fmt: skip


def _fail(message: str, code: int = 1):
    typer.echo(f"tac-dash: {message}", err=True)
    raise typer.Exit(code)


def main(argv: list[str] | None = None) -> None:
    app(args=argv, prog_name="tac-dash")


if __name__ == "__main__":
    main()
