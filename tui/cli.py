"""`tac-dash`: watch (and steer) a tac loop from a terminal, locally or over SSH.

    tac-dash [RUN_DIR]              attach to a run (default: the newest under ./runs)
    tac-dash --start [LOOP OPTIONS] start `tac loop LOOP OPTIONS` as its own process, then attach

Closing the dashboard never stops the loop: a started loop runs in its own session, its output
goes to RUN_DIR/loop.log, and `tac-dash RUN_DIR` attaches again later.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from tac.control.ledger import LEDGER
from tui.model import newest_run


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
            raise SystemExit(f"tac-dash: the loop exited ({proc.returncode}): {' / '.join(tail)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"tac-dash: the loop started but wrote no {run_dir / LEDGER} in 60 s; see {run_dir / 'loop.log'}")  # fmt: skip
        time.sleep(0.1)
    return run_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="tac-dash",
        description="Live dashboard for a tac loop: candidates, refusals, budgets, score bands, jobs. "
        "Press ? inside for keys. Quitting never stops the loop.",
    )
    parser.add_argument("run_dir", nargs="?", type=Path, help="the run directory (default: newest under ./runs)")  # fmt: skip
    parser.add_argument("--start", nargs=argparse.REMAINDER, metavar="LOOP OPTIONS",
                        help="start `tac loop LOOP OPTIONS` in the background and attach to it")  # fmt: skip
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between ledger reads (default 0.2)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.start is not None:
        if args.run_dir is not None:
            parser.error("give RUN_DIR or --start, not both (use --start --run-dir DIR …)")
        run_dir = start_loop(args.start)
    else:
        run_dir = args.run_dir or newest_run()
        if run_dir is None:
            raise SystemExit(f"tac-dash: no run under {Path('runs').resolve()}; give RUN_DIR, or start one with tac-dash --start")  # fmt: skip
        if not run_dir.is_dir():
            raise SystemExit(f"tac-dash: {run_dir} is not a directory")
        if not (run_dir / LEDGER).exists() and not (run_dir / "config.json").exists():
            raise SystemExit(f"tac-dash: {run_dir} is not a tac run (no {LEDGER})")
    from tui.app import DashApp

    DashApp(run_dir, poll_s=args.poll).run()
    if os.environ.get("TERM"):
        print(f"tac-dash: left {run_dir}; the loop (if running) goes on. Attach again: tac-dash {run_dir}")  # fmt: skip


if __name__ == "__main__":
    main()
