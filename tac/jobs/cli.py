"""`tac job …`: run one job, or manage a host's jobs (what the SSH backend calls remotely).

Every management verb prints one JSON object on stdout. The spec reaches `submit` as data on
stdin, never as a command line, so nothing a user wrote is ever parsed by a shell.
"""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tac.cli_options import err

app = typer.Typer(help="One dispatched job: run it, or manage a host's jobs.", no_args_is_help=True)

Workdir = Annotated[Path, typer.Option("--workdir", help="The host's tac work directory.")]
JobId = Annotated[str, typer.Option("--id", help="The job (= submission) id.")]
OutFile = Annotated[str, typer.Option("--path", help="A file inside the job's out/ (a warm start's checkpoint).")]  # fmt: skip


def _json_option(flag: str, text: str | None, kind: type):
    """A JSON-valued option, None when not given; anything else is one line naming the flag."""
    from tac.errors import TacError

    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TacError(f"{flag} is not JSON ({exc})") from None
    if not isinstance(value, kind) or (kind is list and not all(isinstance(w, str) for w in value)):
        raise TacError(f"{flag} must be a JSON {'object' if kind is dict else 'list of strings'}")
    return value


def _emit(data: dict) -> None:
    sys.stdout.write(json.dumps(data) + "\n")


@app.command("run")
def run_cmd(
    spec: Annotated[Path, typer.Argument(help="JobSpec JSON.")],
    out: Annotated[Path, typer.Option("--out", help="Where the job writes everything.")],
) -> None:
    """Run one job in the foreground: compress, (train,) build, evaluate, write result.json."""
    from tac.jobs.heap import keep_freed_memory
    from tac.jobs.run import run_job, speedups_on
    from tac.records import JobSpec, load_record

    # This process ends with the job, so it may keep what it frees: the scorers' batches stop
    # page-faulting their memory in again (half their time on 2 cores).
    fast = speedups_on()
    if fast:
        keep_freed_memory()
    run_job(
        load_record(JobSpec, spec), out, log=lambda m: err.print(m, highlight=False, markup=False)
    )
    if fast:
        # Spare the exit its garbage collections over every object torch, timm and sympy made
        # (a second on 2 cores): the OS frees them all at once.
        gc.freeze()


@app.command("submit")
def submit_cmd(
    workdir: Workdir,
    engine: Annotated[str | None, typer.Option("--engine", help='What starts it, as JSON: {"kind": "slurm", "sbatch_args": […]} (default: a detached process here).')] = None,
    command: Annotated[str | None, typer.Option("--command", help="Run this argv (a JSON list) instead of `tac job run`: trivial jobs that measure the controller (bench_controller.py).")] = None,
) -> None:  # fmt: skip
    """Start the job whose spec is on stdin, detached; idempotent by job id."""
    from tac.jobs import engines, worker

    settings, argv = (
        _json_option("--engine", engine, dict),
        _json_option("--command", command, list),
    )
    _emit(
        worker.submit(
            workdir, sys.stdin.read(), command=argv, engine=engines.from_settings(settings)
        )
    )


@app.command("probe")
def probe_cmd(
    workdir: Workdir,
    engine: Annotated[str, typer.Option("--engine", help='The engine, as JSON: {"kind": "slurm", "sbatch_args": […]}.')],
) -> None:  # fmt: skip
    """Can this engine take jobs from here, into --workdir (`tac hosts check` on a login node)?"""
    from tac.jobs import engines

    report = engines.from_settings(_json_option("--engine", engine, dict)).probe()
    try:
        (workdir / "jobs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        report["error"] = report["error"] or f"cannot create jobs in {workdir}: {exc.strerror}"
    _emit(report)


@app.command("status")
def status_cmd(workdir: Workdir, job_id: JobId) -> None:
    """running, ok, failed, cancelled, lost or unknown, with pid, exit code and wall time."""
    from tac.jobs import worker

    _emit(worker.status(workdir, job_id))


@app.command("logs")
def logs_cmd(
    workdir: Workdir, job_id: JobId, offset: Annotated[int, typer.Option(min=0)] = 0
) -> None:
    """Up to 64 KiB of the job's log from --offset."""
    from tac.jobs import worker

    _emit({"job_id": job_id, "offset": offset, "text": worker.logs(workdir, job_id, offset)})


@app.command("result")
def result_cmd(workdir: Workdir, job_id: JobId) -> None:
    """The job's result.json and the sha256 of its archive as it is on disk."""
    from tac.jobs import worker

    _emit(worker.result(workdir, job_id))


@app.command("get")
def get_cmd(workdir: Workdir, job_id: JobId, path: OutFile) -> None:
    """A file the job wrote, base64 in the JSON answer (a warm start's checkpoint)."""
    import base64

    from tac.jobs import worker

    data = worker.get_file(workdir, job_id, path)
    _emit({"job_id": job_id, "path": path, "data": base64.b64encode(data).decode()})


@app.command("put")
def put_cmd(workdir: Workdir, job_id: JobId, path: OutFile) -> None:
    """Place stdin's bytes at --path in the job's out/ before it is submitted."""
    from tac.jobs import worker

    _emit(worker.put_file(workdir, job_id, path, sys.stdin.buffer.read()))


@app.command("extend")
def extend_cmd(
    workdir: Workdir,
    job_id: JobId,
    max_wall_s: Annotated[float, typer.Option("--max-wall-s", help="New lease: wall seconds the job may run in all.", min=0)],
) -> None:  # fmt: skip
    """Extend a running job's budget lease (never shortens it)."""
    from tac.jobs import worker

    _emit(worker.extend(workdir, job_id, max_wall_s))


@app.command("cancel")
def cancel_cmd(workdir: Workdir, job_id: JobId) -> None:
    """Kill the job's process group; it is recorded as cancelled."""
    from tac.jobs import worker

    _emit(worker.cancel(workdir, job_id))
