"""Jobs on a remote host: the `tac job …` verbs run there through the OpenSSH client.

The host keeps the same work-directory protocol as the local backend (`tac.jobs.worker`); this
class only carries the verbs over ssh and turns their one-line JSON answers into JobStatus and
Fetched, so a controller cannot tell the two apart except by latency and failure modes.

Safety, because ssh hands the remote command to the remote user's shell as one string:
  * the remote command is only ever the fixed entrypoint `host.tac + ["job", verb, …]` with every
    word through `shlex.quote`, and job ids are checked against the JobSpec pattern first;
  * the JobSpec travels as data on stdin, never on a command line;
  * ssh runs from an argv list (no local shell), with `--` before the destination;
  * host keys are always checked: StrictHostKeyChecking=yes, or accept-new when a host opts in.

One ControlMaster per backend keeps polling cheap (one TCP+auth handshake, then a mux channel
per call). Its socket lives in a short private directory under /tmp because unix socket paths
are limited to ~104 bytes. The directory is private to this backend by default: a master shared
with another Host entry for the same destination would skip that entry's key checks.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shlex
import shutil
import tempfile
from pathlib import PurePosixPath

from tac.control.backends.base import Backend, BackendError, Fetched, JobStatus
from tac.control.hosts import Host
from tac.errors import TacError
from tac.records import JobSpec

JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SSH_FAILED = 255  # ssh's own exit code for "could not connect / authenticate / verify"
_DF_LINE = re.compile(r"\s(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s")


def _last_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def checked_job_id(job_id: str) -> str:
    """The id as it may appear in a remote command; anything else is refused before ssh runs."""
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise TacError(f"job id {job_id!r} is not a plain name (letters, digits, '.', '_', '-')")
    return job_id


class SSHBackend(Backend):
    def __init__(
        self,
        host: Host,
        control_dir: str | None = None,
        connect_timeout_s: int = 10,
        alive_interval_s: int = 15,
        call_timeout_s: float = 60.0,
        engine: dict | None = None,
        command: list[str] | None = None,
    ):
        self.host = host
        self.engine = engine  # what starts jobs on the host (`tac job submit --engine`): a
        # Slurm login node's sbatch; None: a detached process there
        self.command = command  # instead of `tac job run` (benchmarks of the controller itself)
        self.name = host.name
        self.concurrency = host.concurrency
        self.price_per_hour = host.price_per_hour
        self.runner_axis = host.runner_axis
        self.device = host.device
        self.connect_timeout_s = connect_timeout_s
        self.alive_interval_s = alive_interval_s
        self.call_timeout_s = call_timeout_s
        self._own_control_dir = control_dir is None
        self.control_dir = control_dir or tempfile.mkdtemp(prefix="tac-ssh-", dir="/tmp")
        self._first_connect = asyncio.Lock()
        self._connected = False

    # -- the ssh command line ------------------------------------------------------------------

    @property
    def where(self) -> str:
        port = f":{self.host.port}" if self.host.port else ""
        return f"host {self.name} ({self.host.destination}{port})"

    def ssh_options(self) -> list[str]:
        h = self.host
        opts = [
            "-T", "-a", "-x",  # no tty, no agent or X11 forwarding
            "-o", "BatchMode=yes",  # never prompt: a missing key is an error, not a hang
            "-o", f"ConnectTimeout={self.connect_timeout_s}",
            "-o", f"ServerAliveInterval={self.alive_interval_s}",
            "-o", "ServerAliveCountMax=3",
            "-o", "ControlMaster=auto",
            "-o", "ControlPersist=60",
            "-o", f"ControlPath={self.control_dir}/%C",
            "-o", "ClearAllForwardings=yes",  # a LocalForward in ~/.ssh/config must not collide
            "-o", "LogLevel=ERROR",  # stderr keeps only what explains a failure
            "-o", f"StrictHostKeyChecking={'accept-new' if h.accept_new_host_key else 'yes'}",
        ]  # fmt: skip
        if h.known_hosts_file:
            opts += ["-o", f"UserKnownHostsFile={h.known_hosts_file}"]
        if h.identity_file:
            opts += ["-i", h.identity_file, "-o", "IdentitiesOnly=yes"]
        if h.port:
            opts += ["-p", str(h.port)]
        return opts

    def ssh_command(self, remote_argv: list[str]) -> list[str]:
        """The local argv: ssh, options, `--`, destination, and the quoted remote command."""
        remote = " ".join(shlex.quote(word) for word in remote_argv)
        return ["ssh", *self.ssh_options(), "--", self.host.destination, remote]

    def _verb_argv(self, verb: str, job_id: str | None = None, *extra: str) -> list[str]:
        argv = [*self.host.tac, "job", verb, "--workdir", self.host.workdir]
        if job_id is not None:
            argv += ["--id", checked_job_id(job_id)]
        return argv + list(extra)

    # -- running one remote command ------------------------------------------------------------

    async def _run(
        self, remote_argv: list[str], stdin: bytes | None = None, timeout_s: float | None = None
    ) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of a remote command; BackendError when ssh itself failed."""
        if self._connected:
            return await self._run_once(remote_argv, stdin, timeout_s)
        async with self._first_connect:  # one master, not a race of simultaneous first calls
            result = await self._run_once(remote_argv, stdin, timeout_s)
            self._connected = True
            return result

    async def _run_once(
        self, remote_argv: list[str], stdin: bytes | None, timeout_s: float | None
    ) -> tuple[int, str, str]:
        timeout_s = timeout_s or self.call_timeout_s
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.ssh_command(remote_argv),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise BackendError(
                "the OpenSSH client (ssh) is not installed on this machine"
            ) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout_s)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            self._connected = False
            raise BackendError(f"{self.where}: no answer within {timeout_s:.0f} s") from None
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if proc.returncode == SSH_FAILED:
            self._connected = False
            raise BackendError(self._connection_failure(stderr))
        return proc.returncode, stdout, stderr

    def _connection_failure(self, stderr: str) -> str:
        if "IDENTIFICATION HAS CHANGED" in stderr or re.search(r"host key for .* has changed", stderr, re.I):  # fmt: skip
            return (
                f"host key for {self.where} has CHANGED since it was recorded in known_hosts; "
                "if the host was reinstalled, remove the old key (ssh-keygen -R), else do not connect"
            )
        if "Host key verification failed" in stderr or "host key is known" in stderr:
            return (
                f"host key for {self.where} is not known; add it to known_hosts "
                "or set accept_new_host_key = true for this host"
            )
        reason = _last_line(stderr) or "ssh failed without a message"
        return f"{self.where} unreachable: {reason}"

    async def _verb(
        self, verb: str, job_id: str | None = None, *extra: str, stdin: bytes | None = None
    ) -> dict:
        """Run `tac job VERB` on the host and parse its one JSON object."""
        argv = self._verb_argv(verb, job_id, *extra)
        code, stdout, stderr = await self._run(argv, stdin=stdin)
        if code != 0:
            reason = _last_line(stderr) or f"exit code {code}"
            raise BackendError(f"{self.where}: tac job {verb} failed: {reason}")
        try:
            data = json.loads(_last_line(stdout, limit=len(stdout)))  # after any login banner
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise BackendError(f"{self.where}: tac job {verb} did not answer with JSON")
        return data

    # -- the Backend interface -----------------------------------------------------------------

    def out_dir(self, job_id: str) -> str:
        return f"{self.host.workdir}/jobs/{checked_job_id(job_id)}/out"

    async def submit(self, spec: JobSpec) -> JobStatus:
        checked_job_id(spec.job_id)
        extra = ["--engine", json.dumps(self.engine)] if self.engine else []
        extra += ["--command", json.dumps(self.command)] if self.command else []
        return JobStatus.from_info(
            await self._verb("submit", None, *extra, stdin=spec.model_dump_json().encode())
        )

    async def poll(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await self._verb("status", job_id))

    async def logs(self, job_id: str, offset: int = 0) -> str:
        data = await self._verb("logs", job_id, "--offset", str(int(offset)))
        return data.get("text", "")

    async def fetch(self, job_id: str) -> Fetched:
        data = await self._verb("result", job_id)
        return Fetched(
            result=data["result"],
            archive_sha256=data.get("archive_sha256"),
            archive_bytes=data.get("archive_bytes"),
        )

    async def get_file(self, job_id: str, path: str) -> bytes:
        data = await self._verb("get", job_id, "--path", path)
        try:
            return base64.b64decode(data["data"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise BackendError(f"{self.where}: tac job get did not answer with the file") from None

    async def put_file(self, job_id: str, path: str, data: bytes) -> None:
        answer = await self._verb("put", job_id, "--path", path, stdin=data)
        if answer.get("sha256") != hashlib.sha256(data).hexdigest():
            raise BackendError(f"{self.where}: {path} arrived damaged on the host")

    async def cancel(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await self._verb("cancel", job_id))

    async def extend(self, job_id: str, max_wall_s: float) -> JobStatus:
        return JobStatus.from_info(
            await self._verb("extend", job_id, "--max-wall-s", repr(float(max_wall_s)))
        )

    async def close(self) -> None:
        """Stop the ControlMaster (jobs on the host are not affected) and drop its directory."""
        try:
            proc = await asyncio.create_subprocess_exec(
                "ssh", *self.ssh_options(), "-O", "exit", "--", self.host.destination,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        except FileNotFoundError:
            pass
        self._connected = False
        if self._own_control_dir:
            shutil.rmtree(self.control_dir, ignore_errors=True)

    # -- `tac hosts check` ---------------------------------------------------------------------

    async def check(self) -> dict:
        """Can we reach the host, which tac does it run, what GPU has it, how much disk is free."""
        report: dict = {
            "name": self.name, "destination": self.host.destination, "reachable": False,
            "tac": False, "tac_version": None, "gpu": None, "free_bytes": None, "error": None,
        }  # fmt: skip
        try:
            code, stdout, _ = await self._run([*self.host.tac, "--version"])
            report["reachable"] = True
            if code == 0 and _last_line(stdout):
                report.update(tac=True, tac_version=_last_line(stdout))
            else:  # this tac has no --version: being able to run `tac job --help` is enough
                code, _, _ = await self._run([*self.host.tac, "job", "--help"])
                report.update(tac=code == 0, tac_version="unknown" if code == 0 else None)
            code, stdout, _ = await self._run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]
            )
            gpus = [line.strip() for line in stdout.splitlines() if line.strip()]
            report["gpu"] = ", ".join(gpus) if code == 0 and gpus else "none"
            report["free_bytes"] = await self._free_bytes()
            if self.engine:  # e.g. a Slurm login node: does its engine take jobs from there?
                probe = await self._verb("probe", None, "--engine", json.dumps(self.engine))
                report.update(gpu=probe.get("gpu") or report["gpu"], error=probe.get("error"))
        except BackendError as exc:
            report["error"] = str(exc)
        return report

    async def _free_bytes(self) -> int | None:
        """Free space where jobs will be written: the workdir, or its nearest existing parent."""
        workdir = PurePosixPath(self.host.workdir)
        for path in (workdir, *workdir.parents):
            code, stdout, _ = await self._run(["df", "-Pk", str(path)])
            match = _DF_LINE.search(_last_line(stdout) + " ") if code == 0 else None
            if match:
                return int(match.group(3)) * 1024
        return None
