"""`tac loop`: the headless closed loop, and `tac hosts` (host checks)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tac.cli_options import ChallengeDir, console, err
from tac.errors import TacError


def loop_cmd(
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Where the run lives (default runs/<time>).")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this directory.")] = None,
    max_cycles: Annotated[int | None, typer.Option(help="Stop after this many cycles (default 3).", min=1)] = None,
    top_k: Annotated[int, typer.Option(help="Jobs per cycle once the predictor has a band.", min=1)] = 2,
    explore: Annotated[int, typer.Option(help="Jobs per cycle while the predictor refuses for lack of anchors.", min=0)] = 6,
    max_total_cost: Annotated[float | None, typer.Option(help="Never spend more than this in total.")] = None,
    max_cost_per_cycle: Annotated[float | None, typer.Option(help="Cap per cycle.")] = None,
    max_cost_per_job: Annotated[float | None, typer.Option(help="Cancel a job before it costs more.")] = None,
    convergence_eps: Annotated[float, typer.Option(help="Stop when the best score improves less than this over --patience cycles (0 = never).")] = 0.0,
    patience: Annotated[int, typer.Option(help="Cycles for --convergence-eps.", min=1)] = 2,
    codecs: Annotated[str, typer.Option(help="Comma-separated codecs to search.")] = "hevc",
    presets: Annotated[str, typer.Option(help="Comma-separated presets.")] = "medium",
    filters: Annotated[bool, typer.Option("--filters", help="Also search post-filters (trains each; slow on a CPU).")] = False,
    coverage: Annotated[float, typer.Option(help="Score-band coverage.")] = 0.9,
    min_anchors: Annotated[int, typer.Option(help="The predictor refuses below this many anchors.", min=2)] = 8,
    max_bytes: Annotated[float | None, typer.Option(help="Archive bytes cap.")] = None,
    hosts: Annotated[Path | None, typer.Option("--hosts", help="hosts.toml: GPU hosts reached over SSH.")] = None,
    no_local: Annotated[bool, typer.Option("--no-local", help="Do not run jobs on this machine.")] = False,
    local_concurrency: Annotated[int, typer.Option(help="Jobs at once on this machine.", min=1)] = 1,
    local_price: Annotated[float, typer.Option(help="What an hour of this machine costs (for budgets).", min=0)] = 0.0,
    data: Annotated[str, typer.Option(help="demo, or challenge (with --challenge-dir).")] = "demo",
    challenge_dir: ChallengeDir = None,
    demo_frames: Annotated[int | None, typer.Option(help="Use a shorter demo clip.", min=2)] = None,
    poll_s: Annotated[float, typer.Option(help="Seconds between job polls.")] = 1.0,
    job_timeout: Annotated[float, typer.Option(help="Cancel a job that runs longer (seconds).", min=1)] = 3600.0,
    lost_after: Annotated[float, typer.Option(help="A job whose host stays unreachable this long (seconds) is lost.", min=1)] = 60.0,
    max_retries: Annotated[int, typer.Option(help="Times a lost job is dispatched again.", min=0)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the final summary as JSON.")] = False,
) -> None:  # fmt: skip
    """Rank, dispatch the best as real jobs, harvest exact results, recalibrate, repeat.

    Every step is appended to RUN_DIR/ledger.jsonl; a killed loop continues with --resume.
    Ctrl-C stops gracefully (running jobs are cancelled and recorded); twice stops at once.
    """
    from tac.control.config import LoopConfig

    if resume is not None:
        cfg_path = resume / "config.json"
        if not cfg_path.is_file():
            raise TacError(f"{resume}: not a tac run directory (no config.json)")
        config = LoopConfig.model_validate_json(cfg_path.read_text())
        if max_cycles is not None:
            config = config.model_copy(update={"max_cycles": max_cycles})
        run_dir = resume
    else:
        if data not in ("demo", "challenge"):
            raise TacError(f"--data {data}: use demo or challenge")
        if data == "challenge" and challenge_dir is None:
            raise TacError("--data challenge needs --challenge-dir DIR")
        run_dir = run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        if (run_dir / "ledger.jsonl").exists():
            raise TacError(f"{run_dir}: already holds a run; continue it with --resume {run_dir}")
        config = LoopConfig(
            data=data, challenge_dir=str(challenge_dir) if challenge_dir else None, demo_frames=demo_frames,
            weights=_weights_id(challenge_dir if data == "challenge" else None),
            codecs=codecs.split(","), presets=presets.split(","),
            filters=[(None, 0, 0), ("dilated", 16, 8), ("psd", 16, 8)] if filters else [(None, 0, 0)],
            coverage=coverage, min_anchors=min_anchors, top_k=top_k, explore=explore,
            max_cycles=max_cycles or 3, max_total_cost=max_total_cost, max_cost_per_cycle=max_cost_per_cycle,
            max_cost_per_job=max_cost_per_job, convergence_eps=convergence_eps, patience=patience,
            max_bytes=max_bytes, local=not no_local, local_concurrency=local_concurrency,
            local_price_per_hour=local_price, hosts_file=str(hosts.resolve()) if hosts else None, poll_s=poll_s,
            job_timeout_s=job_timeout, lost_after_s=lost_after, max_retries=max_retries,
        )  # fmt: skip
    summary = asyncio.run(_run(run_dir, config))
    if as_json:
        console.print_json(json.dumps(summary))


def _weights_id(challenge_dir) -> str:
    from tac.contest.weights import resolve_weights

    w = resolve_weights(challenge_dir=challenge_dir)
    if not w.official:
        err.print(f"[yellow]note:[/] jobs score with {escape(w.describe())}")
    return w.weights_id


def _backends(config, run_dir: Path) -> list:
    from tac.control.backends.local import LocalBackend

    backends = []
    if config.local:
        backends.append(LocalBackend(run_dir / "work", config.local_concurrency, config.local_price_per_hour, config.runner_axis))  # fmt: skip
    if config.hosts_file:
        from tac.control.backends.ssh import SSHBackend
        from tac.control.hosts import load_hosts

        backends += [SSHBackend(h) for h in load_hosts(config.hosts_file)]
    if not backends:
        raise TacError("no backend: drop --no-local or give --hosts")
    return backends


async def _run(run_dir: Path, config) -> dict:
    from rich.live import Live

    from tac.control.controller import Controller
    from tac.control.view import event_line, live_panel

    lines: list[str] = []
    controller = Controller(
        run_dir, config, _backends(config, run_dir), log=lambda m: err.print(escape(m))
    )

    def on_event(e: dict) -> None:
        line = event_line(e)
        if line is not None:
            lines.append(line)
            if not live:
                console.print(escape(line), highlight=False)

    controller.on_event = on_event
    live = None
    if console.is_terminal:
        live = Live(console=console, refresh_per_second=2, transient=True)
        live.start()

        async def refresh() -> None:
            while True:
                if hasattr(controller, "state"):
                    live.update(live_panel(controller.state, config, controller.caps.total))
                await asyncio.sleep(0.5)

        ticker = asyncio.create_task(refresh())
    try:
        state = await controller.run()
    finally:
        if live:
            ticker.cancel()
            live.stop()
            for line in lines:
                console.print(escape(line), highlight=False)
    summary = (
        json.loads((run_dir / "summary.json").read_text())
        if (run_dir / "summary.json").exists()
        else {}
    )
    best = summary.get("best")
    console.print(
        f"run {escape(str(run_dir))}: {state.stop_reason}; {state.cycles_finished} cycles, {len(state.jobs)} jobs, "
        f"{len(state.anchors)} anchors, spent {state.spent:.4f}"
        + (f"; best {best['id']} score {best['score']:.4f} (axis {best['runner_axis']}, weights {best['weights']}, archive {best['archive_sha256'][:12]}…)" if best else ""),
        highlight=False,
    )  # fmt: skip
    return summary


def steer_cmd(
    run_dir: Annotated[Path, typer.Argument(help="The run to steer.")],
    command: Annotated[str, typer.Argument(help="pause, resume, stop, cancel or caps.")],
    job_id: Annotated[str | None, typer.Argument(help="For cancel: the job to cancel.")] = None,
    max_total_cost: Annotated[float | None, typer.Option(help="For caps: the new total cap.", min=0)] = None,
    max_cost_per_cycle: Annotated[float | None, typer.Option(help="For caps: the new per-cycle cap.", min=0)] = None,
    max_cost_per_job: Annotated[float | None, typer.Option(help="For caps: the new per-job cap.", min=0)] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the loop's acknowledgement.", min=0)] = 10.0,
) -> None:  # fmt: skip
    """Pause, resume or stop a running loop, cancel one of its jobs, or change its caps.

    Appends a command to RUN_DIR/control.jsonl, which the loop reads every poll and acknowledges in its ledger; waits for that acknowledgement. Exit 1 if the loop rejected the command, 2 if it did not answer in time (is it running?).
    """
    from tac.control.ledger import LEDGER, read_events
    from tac.control.steering import send

    if not (run_dir / LEDGER).is_file():
        raise TacError(f"{run_dir}: not a tac run directory (no {LEDGER})")
    args: dict = {"job_id": job_id} if command == "cancel" else {}
    if command == "caps":
        given = {"max_total_cost": max_total_cost, "max_cost_per_cycle": max_cost_per_cycle, "max_cost_per_job": max_cost_per_job}  # fmt: skip
        args = {k: v for k, v in given.items() if v is not None}
    try:
        entry = send(run_dir, command, **args)
    except ValueError as exc:
        raise TacError(f"tac steer {command}: {exc}") from None
    deadline = time.monotonic() + wait
    while True:
        acks = [e for e in read_events(run_dir / LEDGER) if e.get("type") == "control" and e.get("id") == entry["id"]]  # fmt: skip
        if acks:
            ack = acks[-1]
            if not ack["ok"]:
                err.print(f"[red]rejected:[/] {escape(ack['detail'])}")
                raise typer.Exit(1)
            caps = ", ".join(f"{k} {'∞' if v is None else v}" for k, v in ack["caps"].items())
            console.print(f"{command}: applied; {'paused' if ack['paused'] else 'dispatching'}; {caps}", highlight=False)  # fmt: skip
            return
        if time.monotonic() > deadline:
            err.print(f"{command}: written to {run_dir}/control.jsonl but not acknowledged within {wait:g} s — the loop will apply it when it runs")  # fmt: skip
            raise typer.Exit(2)
        time.sleep(0.2)
