"""A real OpenSSH server on 127.0.0.1 for the SSH backend's tests.

Its own host key, a fresh client key pair authorised for the current user, a known_hosts that
trusts exactly this server, and `stop()`/`start()` on the same port with the same keys, so a
test can make the host vanish mid-job and come back. Tests skip when sshd is not installed.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip


def processes():
    """(pid, state, ppid, pgrp) of every process, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        yield int(entry.name), state, int(ppid), int(pgrp)


def _descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` except tac jobs and what they run (sshd's per-connection
    processes start their own sessions, so a process-group kill would miss them)."""
    parents: dict[int, list[int]] = {}
    for child, _state, ppid, _pgrp in processes():
        parents.setdefault(ppid, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if not _is_job(child):
                found.append(child)
                todo.append(child)
    return found


def _is_job(pid: int) -> bool:
    try:
        return b"tac.jobs" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Sshd:
    root: Path
    port: int = field(default_factory=free_port)
    user: str = field(default_factory=getpass.getuser)
    proc: subprocess.Popen | None = None

    @property
    def identity_file(self) -> Path:
        return self.root / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def destination(self) -> str:
        return f"{self.user}@127.0.0.1"

    def setup(self) -> Sshd:
        _keygen(self.root / "host_ed25519", "tac-test-host")
        _keygen(self.identity_file, "tac-test-client")
        (self.root / "authorized_keys").write_text(Path(f"{self.identity_file}.pub").read_text())
        host_key = (self.root / "host_ed25519.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_key[0]} {host_key[1]}\n")
        (self.root / "sshd_config").write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.root / 'host_ed25519'}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                    f"AllowUsers {self.user}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "StrictModes no",
                    "UsePAM no",
                    "PrintMotd no",
                    "LogLevel ERROR",
                ]
            )
            + "\n"
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        return self

    def start(self, timeout_s: float = 10.0) -> None:
        """Listen on the same port with the same keys (again)."""
        assert self.proc is None, "sshd is already running"
        log = open(self.root / "sshd.log", "ab")
        self.proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on port {self.port} within {timeout_s} s")

    def stop(self) -> None:
        """The host vanishes: the listener and every open connection (so a client's
        ControlMaster loses its link too). Detached jobs are not sshd's children and survive."""
        if self.proc is None:
            return
        doomed = _descendants(self.proc.pid)
        self.proc.terminate()
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """A running sshd for this test module; stopped (with its connections) at the end."""
    if not SSHD.is_file():
        pytest.skip(f"{SSHD} is not installed (apt-get install openssh-server)")
    server = Sshd(tmp_path_factory.mktemp("sshd")).setup()
    server.start()
    yield server
    server.stop()
