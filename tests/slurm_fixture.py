"""A real single-node Slurm on this machine for the Slurm backend's tests: munged, slurmctld and
slurmd from Debian's packages (`.ci/run` installs them), each with its own key, socket, ports,
state and logs under a temporary directory, so nothing of the machine's own setup is touched.

The daemons run as root (slurmd must, to start jobs as their users); tests skip where the
binaries are missing or the user is not root. SLURM_CONF is set for the session, so sbatch,
squeue and scancel — in this process and in every tac subprocess — talk to this cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

DAEMONS = ("munged", "slurmctld", "slurmd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Slurm:
    root: Path
    conf: Path
    munge_socket: Path
    procs: list[subprocess.Popen]

    def squeue(self) -> list[tuple[str, str, str]]:
        """(slurm id, job name, state) of every job Slurm still lists."""
        out = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%i %j %T"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        return [tuple(line.split()) for line in out.splitlines() if line.strip()]

    def stop(self) -> None:
        subprocess.run(["scontrol", "shutdown"], capture_output=True, timeout=30)
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_slurm(root: Path, cpus: int = 2) -> Slurm:
    host = socket.gethostname()
    for sub in ("state", "spool", "log", "munge"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "munge", 0o700)
    key, sock = root / "munge" / "munge.key", root / "munge" / "munge.socket"
    key.write_bytes(os.urandom(1024))
    os.chmod(key, 0o400)
    conf = root / "slurm.conf"
    conf.write_text(f"""\
ClusterName=tac
SlurmctldHost={host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={root / "state"}
SlurmdSpoolDir={root / "spool"}
SlurmctldPidFile={root / "slurmctld.pid"}
SlurmdPidFile={root / "slurmd.pid"}
SlurmctldLogFile={root / "log" / "slurmctld.log"}
SlurmdLogFile={root / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=300
KillWait=5
NodeName={host} CPUs={cpus} RealMemory=8000 State=UNKNOWN
PartitionName=tac Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
    os.environ["SLURM_CONF"] = str(conf)
    procs = [
        subprocess.Popen(["munged", "--foreground", "--force", f"--socket={sock}", f"--key-file={key}",
                          f"--pid-file={root / 'munge' / 'munged.pid'}", f"--log-file={root / 'log' / 'munged.log'}",
                          f"--seed-file={root / 'munge' / 'seed'}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]  # fmt: skip
    deadline = time.time() + 10
    while not sock.exists() and time.time() < deadline:
        time.sleep(0.05)
    procs.append(subprocess.Popen(["slurmctld", "-D", "-c", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    slurm = Slurm(root, conf, sock, procs)
    deadline = time.time() + 60
    while time.time() < deadline:
        out = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed", "allocated"):
            return slurm
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    logs = "".join(f"\n--- {f.name}\n" + f.read_text()[-1500:] for f in sorted((root / "log").glob("*.log")))  # fmt: skip
    slurm.stop()
    raise RuntimeError(f"single-node Slurm did not come up: {logs}")


@pytest.fixture(scope="session")
def slurm():
    if missing := [d for d in DAEMONS if shutil.which(d) is None]:
        pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing; .ci/run installs slurm-wlm and munge)")  # fmt: skip
    if os.geteuid() != 0:
        pytest.skip("a single-node Slurm needs root for slurmd")
    root = Path(tempfile.mkdtemp(prefix="tac-slurm-", dir="/tmp"))  # short: socket paths
    before = os.environ.get("SLURM_CONF")
    cluster = start_slurm(root)
    try:
        yield cluster
    finally:
        cluster.stop()
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before
        shutil.rmtree(root, ignore_errors=True)
