"""A host's jobs: one directory each, started detached, observable and cancellable by anyone
who can read the directory — a restarted controller included.

    WORKDIR/jobs/ID/spec.json     the JobSpec (written once; resubmitting the same spec is a no-op)
                    pid           the supervisor's pid = the job's process group
                    log.txt       everything the job printed
                    exit_code     written atomically when the job ends
                    cancelled     written before a cancel kills the process group (or the
                                  supervisor stops the job when its lease runs out)
                    lease         wall seconds the job may run (JobLimits.max_wall_s; extended
                                  by `extend`); no file: no limit
                    out/          what the job produced; out/result.json last

The same functions serve the local backend (called in-process) and remote hosts (through
`tac job …` over SSH), so both see one protocol.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from tac import atomic
from tac.errors import TacError
from tac.jobs.supervise import LEASE, lease
from tac.records import JobSpec, first_error
from tac.sessions import session_members

LOG_CHUNK = 64 * 1024
STARTUP_GRACE_S = 5.0


def job_dir(workdir: str | os.PathLike, job_id: str) -> Path:
    if not job_id or "/" in job_id or job_id.startswith("."):
        raise TacError(f"job id {job_id!r} is not a plain name")
    return Path(workdir) / "jobs" / job_id


def submit(workdir: str | os.PathLike, spec_text: str, command: list[str] | None = None) -> dict:
    """Start a job detached from the caller (idempotent by job id); returns its status.

    `command` replaces `tac job run SPEC --out OUT` (used to measure the controller itself with
    trivial jobs); it is an argv list, stored beside the spec, never parsed by a shell.
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
    d.mkdir(parents=True, exist_ok=True)
    if command:
        atomic.write_json(d / "command.json", list(command))
    if spec.limits.max_wall_s is not None:
        atomic.write_text(d / LEASE, f"{spec.limits.max_wall_s!r}\n")
    atomic.write_text(d / "spec.json", spec.model_dump_json(indent=1) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tac.jobs.supervise", str(d)],
        start_new_session=True,  # its own session and process group: survives us, killable as one
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=d,
    )  # fmt: skip
    atomic.write_text(d / "pid", f"{proc.pid}\n")
    return status(workdir, spec.job_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a recycled pid would be some other program
        try:
            return b"tac.jobs.supervise" in cmdline.read_bytes()
        except OSError:
            return False
    return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None


def status(workdir: str | os.PathLike, job_id: str) -> dict:
    """{state: running|ok|failed|cancelled|lost|unknown, exit_code, pid, wall_s, log_bytes}."""
    d = job_dir(workdir, job_id)
    if not (d / "spec.json").is_file():
        return {"job_id": job_id, "state": "unknown"}
    pid_text, code_text = _read(d / "pid"), _read(d / "exit_code")
    started = (d / "spec.json").stat().st_mtime
    log = d / "log.txt"
    info = {
        "job_id": job_id,
        "pid": int(pid_text) if pid_text else None,
        "exit_code": int(code_text) if code_text else None,
        "log_bytes": log.stat().st_size if log.exists() else 0,
        "heartbeat": log.stat().st_mtime if log.exists() else started,
    }
    if (d / "cancelled").exists():
        state, ended = "cancelled", (d / "cancelled").stat().st_mtime
    elif code_text is not None:
        ok = info["exit_code"] == 0 and (d / "out" / "result.json").is_file()
        state, ended = ("ok" if ok else "failed"), (d / "exit_code").stat().st_mtime
    elif info["pid"] is not None and _alive(info["pid"]):
        state, ended = "running", time.time()
    elif time.time() - started < STARTUP_GRACE_S:
        # just submitted: the pid file may not exist yet, or the process may not have exec'd
        # (its cmdline is still its parent's), so absence is not yet evidence of loss
        state, ended = "running", time.time()
    else:
        state, ended = "lost", info["heartbeat"]
    info.update(state=state, wall_s=max(0.0, ended - started))
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


def extend(workdir: str | os.PathLike, job_id: str, max_wall_s: float) -> dict:
    """Let a running job run until `max_wall_s` of wall time (never shortens a lease)."""
    d = job_dir(workdir, job_id)
    info = status(workdir, job_id)
    if info["state"] == "running" and max_wall_s > (lease(d) or 0.0):
        atomic.write_text(d / LEASE, f"{max_wall_s!r}\n")
    return status(workdir, job_id) | {"lease_s": lease(d)}


def cancel(workdir: str | os.PathLike, job_id: str, grace_s: float = 5.0) -> dict:
    """Mark the job cancelled and kill its whole process group (SIGTERM, then SIGKILL)."""
    d = job_dir(workdir, job_id)
    info = status(workdir, job_id)
    if info["state"] != "running":
        return info
    atomic.write_text(d / "cancelled", f"{time.time()}\n")
    pid = info["pid"]
    if pid:
        # the job's session outlives its supervisor while `tac job run` cleans up after SIGTERM
        # (temp files, an inflate's session): wait for all of it, then SIGKILL what is left
        def running() -> bool:
            return _alive(pid) or bool(session_members(pid))

        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.time() + grace_s
            while time.time() < deadline and running():
                time.sleep(0.05)
            if not running():
                break
    return status(workdir, job_id)
