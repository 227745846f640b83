"""`tac loop`: the headless closed loop, and `tac hosts` (host checks)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tac.cli_options import (
    AllowMixed,
    ChallengeDir,
    Data,
    console,
    data_choice,
    err,
    given_by,
    in_panel,
)
from tac.control.ledger import INTERRUPTED
from tac.errors import TacError
from tac.search.cli import Coverage
from tac.search.defaults import DEFAULT_COVERAGE, DEFAULT_MIN_ANCHORS


def _load_config_file(ctx: typer.Context, _param, path: Path | None) -> Path | None:
    """--config: the file's fields become the other options' defaults (eager: before they are read)."""
    if path is not None:
        from tac.control import config_file

        data = config_file.read(path)
        ctx.default_map = {**(ctx.default_map or {}), **config_file.defaults(data, path.resolve().parent)}  # fmt: skip
        ctx.meta["loop_config_file"] = (path, data)
    return path


def loop_cmd(
    ctx: typer.Context,
    config_file: Annotated[Path | None, typer.Option("--config", help="Every option from a file: a loop.toml, or a run's config.json to replay it; options given here override it.", is_eager=True, callback=_load_config_file, rich_help_panel="Run")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Where the run lives (default runs/<time>).", rich_help_panel="Run")] = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue the run in this directory (interrupted, killed or finished); only --max-cycles and --json may be given with it.", rich_help_panel="Run")] = None,
    max_cycles: Annotated[int | None, typer.Option(help="Stop after this many cycles (default 3); with --resume, the run's new total.", min=1, rich_help_panel="Run")] = None,
    anchors: Annotated[Path | None, typer.Option("--anchors", help="Seed a new run with these anchors (a run's anchors.json, or `tac search anchor` output).", rich_help_panel="Run")] = None,
    top_k: Annotated[int, typer.Option(help="Jobs per cycle once the predictor has a band.", min=1, rich_help_panel="Search")] = 2,
    explore: Annotated[int, typer.Option(help="Jobs per cycle while the predictor refuses for lack of anchors.", min=0, rich_help_panel="Search")] = 6,
    max_total_cost: Annotated[float | None, typer.Option(help="Never spend more than this in total.", rich_help_panel="Budget")] = None,
    max_cost_per_cycle: Annotated[float | None, typer.Option(help="Cap per cycle.", rich_help_panel="Budget")] = None,
    max_cost_per_job: Annotated[float | None, typer.Option(help="Cancel a job before it costs more.", rich_help_panel="Budget")] = None,
    currency: Annotated[str, typer.Option(help="What the prices and caps are counted in, as reports show it: a symbol ($, €) or a code (EUR).", rich_help_panel="Budget")] = "$",
    convergence_eps: Annotated[float, typer.Option(help="Stop when the best score improves less than this over --patience cycles (0 = never).", rich_help_panel="Run")] = 0.0,
    patience: Annotated[int, typer.Option(help="Cycles for --convergence-eps.", min=1, rich_help_panel="Run")] = 2,
    lanes: Annotated[str, typer.Option(help="Comma-separated lanes to search together, in one ranking (registered: codec and any plug-in, see $TAC_PLUGINS).", rich_help_panel="Search")] = "codec",
    codecs: Annotated[str, typer.Option(help="Codec lane: comma-separated codecs to search (hevc, av1, h264).", rich_help_panel="Search")] = "hevc",
    presets: Annotated[str, typer.Option(help="Codec lane: comma-separated presets (each must exist for one of the codecs).", rich_help_panel="Search")] = "medium",
    crfs: Annotated[str | None, typer.Option(help="Codec lane: comma-separated CRFs (default: every other CRF of each codec's useful range).", rich_help_panel="Search")] = None,
    scales: Annotated[str | None, typer.Option(help="Codec lane: comma-separated downscale factors, e.g. 0.45,0.55 (default: 0.35 to 0.75).", rich_help_panel="Search")] = None,
    filters: Annotated[bool, typer.Option("--filters", help="Codec lane: also search post-filters (trains each; slow on a CPU).", rich_help_panel="Search")] = False,
    train_profile: Annotated[list[str] | None, typer.Option("--train-profile", metavar="[LANE=]NAME", help="Training profile of the jobs: NAME for every lane, or LANE=NAME for one (e.g. nerv=contest on a GPU host); repeatable. Default: smoke.", rich_help_panel="Search")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="A lane's space option, LANE.KEY=VALUE (VALUE: JSON, or comma-separated), e.g. codec.scales=0.4,0.5; repeatable.", rich_help_panel="Search")] = None,
    coverage: in_panel(Coverage, "Search") = DEFAULT_COVERAGE,
    min_anchors: Annotated[int, typer.Option(help="The predictor refuses below this many anchors.", min=2, rich_help_panel="Search")] = DEFAULT_MIN_ANCHORS,
    max_bytes: Annotated[float | None, typer.Option(help="Archive bytes cap.", rich_help_panel="Search")] = None,
    hosts: Annotated[Path | None, typer.Option("--hosts", help="hosts.toml: where else jobs run — SSH hosts, Slurm and Ray clusters ([[backend]] tables).", rich_help_panel="Where jobs run")] = None,
    no_local: Annotated[bool, typer.Option("--no-local", help="Do not run jobs on this machine.", rich_help_panel="Where jobs run")] = False,
    local_concurrency: Annotated[int, typer.Option(help="Jobs at once on this machine.", min=1, rich_help_panel="Where jobs run")] = 1,
    local_price: Annotated[float, typer.Option(help="What an hour of this machine costs (for budgets).", rich_help_panel="Budget")] = 0.0,
    runner_axis: Annotated[str, typer.Option(help="The axis results are scored on (cpu or cuda, as the contest's two runners); only hosts with this runner_axis get jobs.", rich_help_panel="Where jobs run")] = "cpu",
    local_device: Annotated[str | None, typer.Option(help="What jobs on this machine train on: cpu or cuda (default: cuda where torch sees a GPU).", rich_help_panel="Where jobs run")] = None,
    data: in_panel(Data, "Data and weights") = None,
    challenge_dir: in_panel(ChallengeDir, "Data and weights") = None,
    allow_mixed: in_panel(AllowMixed, "Data and weights") = False,
    demo_frames: Annotated[int | None, typer.Option(help="Use a shorter demo clip.", min=2, rich_help_panel="Data and weights")] = None,
    poll_s: Annotated[float, typer.Option(help="Seconds between job polls.", rich_help_panel="Jobs")] = 1.0,
    job_timeout: Annotated[float, typer.Option(help="Cancel a job that runs longer (seconds).", min=1, rich_help_panel="Jobs")] = 3600.0,
    lost_after: Annotated[float, typer.Option(help="A job whose host stays unreachable this long (seconds) is lost.", min=1, rich_help_panel="Jobs")] = 60.0,
    max_retries: Annotated[int, typer.Option(help="Times a lost job is dispatched again.", min=0, rich_help_panel="Jobs")] = 1,
    prune: Annotated[str, typer.Option(help="Stop a training job early on its intermediate exact results: band (when the band of its final score, learned from this run's finished learning curves, cannot beat the best), halving (successive halving: only the best 1/η at each rung go on) or off.", rich_help_panel="Jobs")] = "band",
    prune_eta: Annotated[int, typer.Option(help="Successive halving's η: the share 1/η of jobs that go on at each rung.", min=2, rich_help_panel="Jobs")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the final summary, as one JSON document, on stdout (progress goes to stderr).", rich_help_panel="Run")] = False,
) -> None:  # fmt: skip
    """Rank, dispatch the best as real jobs, harvest exact results, recalibrate, repeat.

    Every step is appended to RUN_DIR/ledger.jsonl; a killed, interrupted or finished loop
    continues with --resume RUN_DIR (--max-cycles N extends it). Ctrl-C stops gracefully
    (running jobs are cancelled and recorded); twice stops at once.
    --config FILE takes every option from a loop.toml or a run's config.json.
    """
    if resume is not None:
        config, run_dir = _resumed_config(ctx, resume, max_cycles), resume
        seed = []
    else:
        run_dir = run_dir or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
        if (run_dir / "ledger.jsonl").exists():
            raise TacError(f"{run_dir}: already holds a run; continue it with --resume {run_dir}")
        data, challenge_dir = data_choice(ctx, data, challenge_dir, allow_mixed)
        seed = _seed_anchors(anchors)
        fields = dict(
            data=data, challenge_dir=str(challenge_dir) if challenge_dir else None, allow_mixed=allow_mixed,
            demo_frames=demo_frames, lanes=_words(lanes), space=_space(ctx, _words(lanes), codecs, presets, filters, crfs, scales, option or []),
            **_train_profiles(train_profile or []),
            coverage=coverage, min_anchors=min_anchors, top_k=top_k, explore=explore,
            max_cycles=max_cycles or 3, max_total_cost=max_total_cost, max_cost_per_cycle=max_cost_per_cycle,
            max_cost_per_job=max_cost_per_job, currency=currency, convergence_eps=convergence_eps, patience=patience,
            max_bytes=max_bytes, local=not no_local, local_concurrency=local_concurrency,
            local_price_per_hour=local_price, local_device=local_device, runner_axis=runner_axis, hosts_file=str(hosts.resolve()) if hosts else None, poll_s=poll_s,
            job_timeout_s=job_timeout, lost_after_s=lost_after, max_retries=max_retries, prune=prune, prune_eta=prune_eta,
            anchors_file=str(anchors.resolve()) if anchors else None,
        )  # fmt: skip
        from_file = ctx.meta.get("loop_config_file")
        if from_file:  # what the file sets that no option does (a replayed run's generator, …)
            from tac.control.config_file import PASSED_THROUGH

            fields |= {k: from_file[1][k] for k in PASSED_THROUGH if k in from_file[1]}
        _config(fields | {"weights": "-"})  # every option checked before the scorers load
        from tac.contest.weights import resolve_weights

        config = _config(fields | {"weights": resolve_weights(challenge_dir=fields["challenge_dir"]).weights_id})  # fmt: skip
        if from_file:
            from tac.control.config_file import check_weights

            check_weights(*from_file, config.weights)
        elsewhere = sum(a.weights != config.weights or a.runner_axis != config.runner_axis for a in seed)  # fmt: skip
        if elsewhere:  # kept in the ledger for the record; never mixed into this run's bands
            err.print(f"note: {elsewhere} of {len(seed)} anchors in {escape(str(anchors))} are on another axis or weights; the run keeps but never uses them")  # fmt: skip
    backends = _backends(config, run_dir)  # hosts.toml is checked before anything is written
    summary = asyncio.run(_run(run_dir, config, backends, seed, err if as_json else console))
    if as_json:
        print(json.dumps(summary))
    if summary.get("reason") == INTERRUPTED:
        raise typer.Exit(130)  # the shell's code for Ctrl-C: the run is resumable, not done


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def _space(ctx: typer.Context, lanes: list[str], codecs: str, presets: str, filters: bool, crfs: str | None, scales: str | None, options: list[str]) -> dict[str, dict]:  # fmt: skip
    """Each lane's space options: the codec lane's shorthands (when it is searched), then every
    `--option`."""
    space = {}
    if "codec" in lanes:
        space["codec"] = {"codecs": _words(codecs), "presets": _words(presets),
                          "filters": [(None, 0, 0), ("dilated", 16, 8), ("psd", 16, 8)] if filters else [(None, 0, 0)]}  # fmt: skip
        for key, text in (("crfs", crfs), ("scales", scales)):
            if text is not None:
                space["codec"][key] = _numbers(f"--{key}", text)
    else:
        given = next((f"--{n}" for n in ("codecs", "presets", "filters", "crfs", "scales") if given_by(ctx, n) == "COMMANDLINE"), None)  # fmt: skip
        if given:
            raise TacError(f"{given}: an option of the codec lane, which --lanes {','.join(lanes)} does not search")  # fmt: skip
    for text in options:
        key, eq, value = text.partition("=")
        lane, dot, name = key.partition(".")
        if not (eq and dot and lane and name):
            raise TacError(f"--option {text}: write LANE.KEY=VALUE, e.g. codec.scales=0.4,0.5")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = _words(value) if "," in value else value
        space.setdefault(lane, {})[name] = parsed
    return space


def _numbers(flag: str, text: str) -> list[float]:
    try:
        return [json.loads(w) for w in _words(text)]
    except json.JSONDecodeError:
        raise TacError(f"{flag} {text}: write comma-separated numbers, e.g. 26,30,34") from None


def _train_profiles(given: list[str]) -> dict:
    """`--train-profile NAME` and `--train-profile LANE=NAME` → the config's two fields."""
    fields: dict = {"train_profiles": {}}
    for text in given:
        lane, eq, name = text.partition("=")
        if not eq:
            fields["train_profile"] = text.strip()
        elif lane.strip() and name.strip():
            fields["train_profiles"][lane.strip()] = name.strip()
        else:
            raise TacError(f"--train-profile {text}: write NAME, or LANE=NAME (e.g. nerv=contest)")
    return fields


def _config(fields: dict):
    """A LoopConfig, or one line naming the option, the value and what is allowed."""
    from pydantic import ValidationError

    from tac.control.config import LoopConfig, option_of
    from tac.records import first_error

    try:
        return LoopConfig(**fields)
    except ValidationError as exc:
        problem = first_error(exc)  # `where: what`
        where, _, what = problem.partition(": ")
        if not what or where == "(top level)":  # a rule across options: its message names them
            raise TacError(what or problem) from None
        field = where.split(".")[0]  # `codecs.1` is the --codecs option
        value = fields.get(field)
        shown = ",".join(map(str, value)) if isinstance(value, list) else value
        raise TacError(f"{option_of(field)} {shown}: {what}") from None


def _resumed_config(ctx: typer.Context, run_dir: Path, max_cycles: int | None):
    from pydantic import ValidationError

    from tac.control.config import LoopConfig
    from tac.records import first_error

    given = [p.opts[0] for p in ctx.command.params if p.name not in ("resume", "max_cycles", "as_json")
             and given_by(ctx, p.name) == "COMMANDLINE"]  # fmt: skip
    if given:
        raise TacError(
            f"--resume {run_dir}: {given[0]} cannot change in a resumed run (only --max-cycles and "
            f"--json can); start a new run with --anchors {run_dir / 'anchors.json'} to build on it"
        )
    path = run_dir / "config.json"
    if not path.is_file():
        raise TacError(f"{run_dir}: not a tac run directory (no config.json)")
    try:
        config = LoopConfig.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise TacError(f"{path}: not a valid loop config ({first_error(exc)})") from None
    if max_cycles is not None:
        config = config.model_copy(update={"max_cycles": max_cycles})
    return config


def _seed_anchors(path: Path | None) -> list:
    if path is None:
        return []
    from tac.records import Anchor, load_records

    anchors = load_records(Anchor, path)
    if not anchors:
        raise TacError(f"{path}: holds no anchors; give a run's anchors.json or drop --anchors")
    return anchors


def setup_line(config) -> str:
    """The loop's first line: which data, which weights (and if they mix)."""
    if config.data == "demo":
        frames = f"{config.demo_frames} frames" if config.demo_frames else "full length"
        data = f"the synthetic demo clip ({frames})"
    else:
        data = f"the challenge checkout {config.challenge_dir}"
    kind = config.weights.split(":")[0]
    weights = config.weights + {"official": " (the official scorers)", "custom": " (custom: sha256 differs from the official files)"}.get(kind, " (STAND-IN scorers: seeded, not the official networks)")  # fmt: skip
    mixed = (
        " — a MIXED setup (--allow-mixed)" if config.data == "demo" and config.challenge_dir else ""
    )
    return f"data: {data}; weights: {weights}; runner axis {config.runner_axis}{mixed}"


def _backends(config, run_dir: Path) -> list:
    from tac.control.backends import make_backend

    backends = []
    if config.local:
        backends.append(make_backend("local", workdir=run_dir / "work", concurrency=config.local_concurrency, price_per_hour=config.local_price_per_hour, runner_axis=config.runner_axis, device=config.local_device))  # fmt: skip
    if config.hosts_file:
        from tac.control.backends import backend_for
        from tac.control.hosts import load_backends

        backends += [backend_for(c) for c in load_backends(config.hosts_file)]
    if not backends:
        raise TacError("no backend: drop --no-local or give --hosts")
    return backends


async def _run(run_dir: Path, config, backends: list, seed: list, out) -> dict:
    from rich.live import Live

    from tac.control.controller import Controller
    from tac.control.view import event_line, live_panel

    out.print(escape(setup_line(config)), highlight=False)
    lines: list[str] = []
    controller = Controller(
        run_dir, config, backends, log=lambda m: err.print(escape(m)), seed_anchors=seed
    )

    def on_event(e) -> None:
        line = event_line(e)
        if line is not None:
            lines.append(line)
            if not live:
                out.print(escape(line), highlight=False)

    controller.on_event = on_event
    live = None
    if out.is_terminal:
        live = Live(console=out, refresh_per_second=2, transient=True)
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
                out.print(escape(line), highlight=False)
    summary = (
        json.loads((run_dir / "summary.json").read_text())
        if (run_dir / "summary.json").exists()
        else {}
    )
    best = summary.get("best")
    out.print(
        f"run {escape(str(run_dir))}: {state.stop_reason}; {state.cycles_finished} cycles, {len(state.jobs)} jobs, "
        f"{len(state.anchors)} anchors, spent {state.spent:.4f}"
        + (f"; best {best['id']} score {best['score']:.4f} (axis {best['runner_axis']}, weights {best['weights']}, archive {best['archive_sha256'][:12]}…)" if best else "")
        + (f"; continue with --resume {run_dir}" if state.stop_reason == INTERRUPTED else ""),
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
    prune: Annotated[str, typer.Option(help="Stop a training job early on its intermediate exact results: band (when the band of its final score, learned from this run's finished learning curves, cannot beat the best), halving (successive halving: only the best 1/η at each rung go on) or off.", rich_help_panel="Jobs")] = "band",
    prune_eta: Annotated[int, typer.Option(help="Successive halving's η: the share 1/η of jobs that go on at each rung.", min=2, rich_help_panel="Jobs")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the acknowledgement as JSON (id, ok, detail, paused, caps); exit codes as without.")] = False,
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
        acks = [e for e in read_events(run_dir / LEDGER) if e.type == "control" and e.id == entry["id"]]  # fmt: skip
        if acks:
            ack = acks[-1]
            if as_json:
                print(json.dumps({"id": ack.id, "command": command, "ok": ack.ok, "detail": ack.detail,
                                  "paused": ack.paused, "caps": ack.caps, "acknowledged": True}))  # fmt: skip
                if not ack.ok:
                    raise typer.Exit(1)
                return
            if not ack.ok:
                err.print(f"[red]rejected:[/] {escape(ack.detail)}")
                raise typer.Exit(1)
            caps = ", ".join(f"{k} {'∞' if v is None else v}" for k, v in ack.caps.items())
            console.print(f"{command}: applied; {'paused' if ack.paused else 'dispatching'}; {caps}", highlight=False)  # fmt: skip
            return
        if time.monotonic() > deadline:
            if as_json:
                print(json.dumps({"id": entry["id"], "command": command, "acknowledged": False}))
            err.print(f"{command}: written to {run_dir}/control.jsonl but not acknowledged within {wait:g} s — the loop will apply it when it runs")  # fmt: skip
            raise typer.Exit(2)
        time.sleep(0.2)
