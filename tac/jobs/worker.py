"""A host's jobs: one directory each, started detached, observable and cancellable by anyone
who can read the directory — a restarted controller included.

    WORKDIR/jobs/ID/spec.json     the JobSpec (written once; resubmitting the same spec is a no-op)
                    engine.json   what started it, when not a process on this host (slurm, ray:
                                  `tac.jobs.engines`); its handle beside it (pid, slurm_job_id)
                    started       written by the supervisor when the job starts (wall time and
                                  the lease count from here: time queued on a cluster is free)
                    log.txt       everything the job printed
                    exit_code     written atomically when the job ends
                    cancelled     written before a cancel stops the job (or the supervisor
                                  stops it when its lease runs out)
                    lease         wall seconds the job may run (JobLimits.max_wall_s; extended
                                  by `extend`); no file: no limit
                    out/          what the job produced; out/result.json last

The same functions serve the local backend (called in-process), remote hosts (through `tac job …`
over SSH) and cluster engines (the job directory on storage the cluster shares), so all see one
protocol: the files say how a job ended; the engine is asked only whether it still runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from tac import atomic
from tac.errors import TacError
from tac.jobs import engines
from tac.jobs.engines import Engine
from tac.jobs.supervise import LEASE, STARTED, lease
from tac.records import JobSpec, first_error

LOG_CHUNK = 64 * 1024


def job_dir(workdir: str | os.PathLike, job_id: str) -> Path:
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise TacError(f"job id {job_id!r} is not a plain name")
    return Path(workdir) / "jobs" / job_id


def submit(
    workdir: str | os.PathLike,
    spec_text: str,
    command: list[str] | None = None,
    engine: Engine | None = None,
) -> dict:
    """Start a job detached from the caller (idempotent by job id); returns its status.

    `command` replaces `tac job run SPEC --out OUT` (used to measure the controller itself with
    trivial jobs); it is an argv list, stored beside the spec, never parsed by a shell.
    `engine` starts the supervisor (default: a detached process on this host).
    """
    try:
        spec = JobSpec.model_validate_json(spec_text)
    except ValidationError as exc:
        raise TacError(f"job spec: {first_error(exc)}") from None
    d = job_dir(workdir, spec.job_id)
    if (d / "spec.json").is_file():
        if JobSpec.model_validate_json((d / "spec.json").read_text()) != spec:
            raise TacError(f"job {spec.job_id} exists on this host with a different spec")
        return status(workdir, spec.job_id)  # already submitted: never start it twice
    engine = engine or engines.from_settings(None)
    d.mkdir(parents=True, exist_ok=True)
    if command:
        atomic.write_json(d / "command.json", list(command))
    if spec.limits.max_wall_s is not None:
        atomic.write_text(d / LEASE, f"{spec.limits.max_wall_s!r}\n")
    engines.save(d, engine)
    # spec.json last but one: its presence means "submitted", so a crash before it leaves a
    # directory that a retry of the same submit simply starts again
    atomic.write_text(d / "spec.json", spec.model_dump_json(indent=1) + "\n")
    engine.start(d, [sys.executable, "-m", "tac.jobs.supervise", str(d.resolve())])
    return status(workdir, spec.job_id)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _ended(d: Path) -> tuple[str, float, int | None] | None:
    """(state, end time, exit code) when the files say the job has ended, else None."""
    if (ended := _mtime(d / "cancelled")) is not None:
        code = _read(d / "exit_code")
        return "cancelled", ended, int(code) if code else None
    code = _read(d / "exit_code")
    if code is None:
        return None
    ok = int(code) == 0 and (d / "out" / "result.json").is_file()
    return ("ok" if ok else "failed"), _mtime(d / "exit_code") or time.time(), int(code)


def status(workdir: str | os.PathLike, job_id: str) -> dict:
    """{state: running|ok|failed|cancelled|lost|unknown, exit_code, pid, wall_s, log_bytes, detail}.

    Raises engines.EngineUnavailable when only the engine could tell and it cannot be asked."""
    d = job_dir(workdir, job_id)
    if not (d / "spec.json").is_file():
        return {"job_id": job_id, "state": "unknown"}
    pid_text = _read(d / "pid")
    info = {"job_id": job_id, "pid": int(pid_text) if pid_text else None, "detail": ""}
    ended = _ended(d)
    if ended is None:
        view = engines.load(d).view(d)
        # the job may have ended while the engine was asked: its files decide, read again
        ended = _ended(d)
        if ended is None and view.alive:
            ended = "running", time.time(), None
        elif ended is None:
            info["detail"] = view.detail
    # read after the end: a job that starts and ends between two reads still has its start
    started = _mtime(d / STARTED)
    log = d / "log.txt"
    info["log_bytes"] = log.stat().st_size if log.exists() else 0
    info["heartbeat"] = log.stat().st_mtime if log.exists() else started
    if ended is None:
        ended = "lost", info["heartbeat"] or started or time.time(), None
    state, end, info["exit_code"] = ended
    info.update(state=state, wall_s=max(0.0, end - started) if started else 0.0)
    return info


def logs(workdir: str | os.PathLike, job_id: str, offset: int = 0) -> str:
    path = job_dir(workdir, job_id) / "log.txt"
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(LOG_CHUNK).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def result(workdir: str | os.PathLike, job_id: str) -> dict:
    """The job's result.json plus what the archive on disk really is (for cross-verification)."""
    out = job_dir(workdir, job_id) / "out"
    text = _read(out / "result.json")
    if text is None:
        raise TacError(f"job {job_id}: no result.json")
    archive = out / "submission" / "archive.zip"
    actual = hashlib.sha256(archive.read_bytes()).hexdigest() if archive.is_file() else None
    return {
        "result": json.loads(text),
        "archive_sha256": actual,
        "archive_bytes": archive.stat().st_size if archive.is_file() else None,
    }


MAX_FILE_BYTES = 1 << 30  # what `get_file` hands over: checkpoints, not datasets


def _out_file(workdir: str | os.PathLike, job_id: str, rel: str) -> Path:
    """`rel` inside the job's out/ directory: a plain relative path, nothing above it."""
    parts = Path(rel).parts
    if (
        not rel
        or Path(rel).is_absolute()
        or any(p in ("..", ".") or p.startswith(".") for p in parts)
    ):
        raise TacError(f"{rel!r} is not a plain path inside job {job_id}'s out/")
    return job_dir(workdir, job_id) / "out" / rel


def get_file(workdir: str | os.PathLike, job_id: str, rel: str) -> bytes:
    """A file the job wrote (a checkpoint a warm start continues from)."""
    path = _out_file(workdir, job_id, rel)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise TacError(f"{path}: over {MAX_FILE_BYTES >> 20} MiB, too large to carry")
        return path.read_bytes()
    except FileNotFoundError:
        raise TacError(f"job {job_id} has no {rel} on this host") from None


def put_file(workdir: str | os.PathLike, job_id: str, rel: str, data: bytes) -> dict:
    """Place a file in the job's out/ before it starts (a warm start's checkpoint), atomically."""
    path = _out_file(workdir, job_id, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, data)
    return {"job_id": job_id, "path": rel, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}  # fmt: skip


def extend(workdir: str | os.PathLike, job_id: str, max_wall_s: float) -> dict:
    """Let a running job run until `max_wall_s` of wall time (never shortens a lease)."""
    d = job_dir(workdir, job_id)
    info = status(workdir, job_id)
    if info["state"] == "running" and max_wall_s > (lease(d) or 0.0):
        atomic.write_text(d / LEASE, f"{max_wall_s!r}\n")
    return status(workdir, job_id) | {"lease_s": lease(d)}


def cancel(workdir: str | os.PathLike, job_id: str, grace_s: float = 5.0) -> dict:
    """Mark the job cancelled and stop it through its engine (SIGTERM, then SIGKILL)."""
    d = job_dir(workdir, job_id)
    info = status(workdir, job_id)
    if info["state"] != "running":
        return info
    atomic.write_text(d / "cancelled", f"{time.time()}\n")
    engines.load(d).stop(d, grace_s)
    return status(workdir, job_id)
