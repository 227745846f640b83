"""hosts.toml: where jobs may run — SSH hosts, Slurm clusters, Ray clusters.

One `[[backend]]` table each, with `kind = "ssh" | "slurm" | "ray"` and that kind's fields;
`[[host]]` is the older spelling of `[[backend]] kind = "ssh"`. Every kind has `name`,
`concurrency` (jobs at once), `runner_axis` ("cpu" | "cuda": the axis its results land on),
`device` (what its jobs train on; default: CUDA where torch sees it) and a price per hour of a
job's wall time: `price_per_hour`, plus `price_per_cpu_hour` × CPUs and `price_per_gpu_hour` ×
GPUs per job on the cluster kinds.

    [[backend]]
    kind = "ssh"
    name = "gpu1"                       # how the run, the ledger and `tac hosts check` call it
    destination = "me@gpu1.example.org" # what `ssh` connects to: user@host or a ~/.ssh/config alias
    port = 2222                         # optional; default: ssh's (22 or the alias's)
    workdir = "/home/me/tac-work"       # absolute path on the host; jobs live in WORKDIR/jobs/ID
    tac = ["/home/me/tac/.venv/bin/tac"]  # argv prefix of tac on the host (default ["tac"])
    concurrency = 1                     # jobs it runs at once
    price_per_hour = 2.5                # metered cost unit per hour of wall time
    runner_axis = "cuda"                # "cpu" or "cuda": the axis its results land on
    device = "cuda"                     # optional: what its jobs train on (default: CUDA if
                                        # torch sees it there); a GPU host scoring on the CPU
                                        # axis: runner_axis = "cpu", device = "cuda"
    accept_new_host_key = false         # true: trust a host key seen for the first time
    identity_file = "~/.ssh/id_tac"     # optional: use only this key
    known_hosts_file = "known_hosts"    # optional; default: the user's own known_hosts

    [[backend]]
    kind = "slurm"
    name = "cluster"
    workdir = "/scratch/me/tac-work"    # on a filesystem the login and compute nodes share
    login = "me@login.cluster.org"      # optional: sbatch/squeue/scancel over ssh (with the ssh
                                        # fields above: port, tac, identity_file, …); default:
                                        # this machine is a login node
    partition = "gpu"                   # optional, as account and mem ("16G")
    cpus_per_job = 4
    gpus_per_job = 1
    sbatch_args = ["--qos=normal"]      # optional: more sbatch options, each "--name=value"

    [[backend]]
    kind = "ray"
    name = "raycluster"
    address = "http://head:8265"        # the Ray dashboard (Jobs API)
    storage = "/mnt/shared/tac-work"    # shared by this machine and every Ray node
    python = "/opt/tac/.venv/bin/python"  # optional: tac's interpreter on the nodes
    cpus_per_job = 2                    # Ray resources per job: cpus, gpus, memory_gb
    gpus_per_job = 1
    runtime_env = { env_vars = { TAC_CACHE_DIR = "/mnt/shared/cache" } }

Relative key and known_hosts paths are taken from the directory of hosts.toml, so a project can
carry its own. Everything that reaches the ssh command line is checked here, once: no
whitespace in names, destinations or option values, and no destination that ssh could read as
an option.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tac.errors import TacError
from tac.records import first_error

_NO_SPACE = re.compile(r"^\S+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Host(BaseModel):
    """An SSH host (`kind = "ssh"`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ssh"] = "ssh"
    name: str = Field(min_length=1, max_length=64)
    destination: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)
    workdir: str
    tac: list[str] = Field(default_factory=lambda: ["tac"], min_length=1)
    concurrency: int = Field(1, ge=1)
    price_per_hour: float = Field(0.0, ge=0, allow_inf_nan=False)
    runner_axis: Literal["cpu", "cuda"] = "cuda"
    device: Literal["cpu", "cuda"] | None = None  # None: the host's own (CUDA if torch sees it)
    accept_new_host_key: bool = False
    identity_file: str | None = None
    known_hosts_file: str | None = None

    @field_validator("name", "destination")
    @classmethod
    def _one_word(cls, value: str) -> str:
        if not _NO_SPACE.match(value):
            raise ValueError("must not contain whitespace")
        return value

    @field_validator("destination")
    @classmethod
    def _not_an_option(cls, value: str) -> str:
        if value.startswith("-"):  # `ssh -oProxyCommand=…` would run a local command
            raise ValueError("must not start with '-'")
        return value

    @field_validator("workdir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or _CONTROL.search(value):
            raise ValueError("must be an absolute path on the host")
        return value.rstrip("/") or "/"

    @field_validator("tac")
    @classmethod
    def _argv(cls, value: list[str]) -> list[str]:
        if any(not part or _CONTROL.search(part) for part in value):
            raise ValueError("every element must be a non-empty string without control characters")
        return value

    @field_validator("identity_file", "known_hosts_file")
    @classmethod
    def _plain_path(cls, value: str | None) -> str | None:
        # These become `-o Option=value` words that ssh splits on whitespace and quotes.
        if value is not None and (not _NO_SPACE.match(value) or '"' in value or "'" in value):
            raise ValueError("must be a path without whitespace or quotes")
        return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or _CONTROL.search(value):
        raise ValueError("must be an absolute path")
    return value.rstrip("/") or "/"


class _Cluster(BaseModel):
    """What the cluster kinds share: resources per job and their price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    concurrency: int = Field(1, ge=1)
    cpus_per_job: float = Field(1, gt=0)
    gpus_per_job: float = Field(0, ge=0)
    price_per_hour: float = Field(0.0, ge=0, allow_inf_nan=False)
    price_per_cpu_hour: float = Field(0.0, ge=0, allow_inf_nan=False)
    price_per_gpu_hour: float = Field(0.0, ge=0, allow_inf_nan=False)
    runner_axis: Literal["cpu", "cuda"] = "cuda"
    device: Literal["cpu", "cuda"] | None = None

    def backend_settings(self) -> dict:
        """What every backend of a cluster takes from its table (beside workdir and engine)."""
        return {"name": self.name, "concurrency": self.concurrency, "price_per_hour": self.job_price_per_hour,
                "runner_axis": self.runner_axis, "device": self.device}  # fmt: skip

    @property
    def job_price_per_hour(self) -> float:
        """What an hour of one job costs: resources × price."""
        return (self.price_per_hour + self.cpus_per_job * self.price_per_cpu_hour
                + self.gpus_per_job * self.price_per_gpu_hour)  # fmt: skip


_SBATCH_VALUE = re.compile(r"^[A-Za-z0-9._:,=+/@%-]+$")
# what tac itself gives sbatch: the job directory protocol depends on these
_SBATCH_TACS = {"--array", "--chdir", "--error", "--job-name", "--output", "--parsable",
                "--requeue", "--no-requeue", "--time", "--wrap"}  # fmt: skip


class SlurmCluster(_Cluster):
    kind: Literal["slurm"]
    workdir: str
    login: str | None = None  # ssh destination of a login node; None: this machine submits
    port: int | None = Field(None, ge=1, le=65535)
    tac: list[str] = Field(default_factory=lambda: ["tac"], min_length=1)
    accept_new_host_key: bool = False
    identity_file: str | None = None
    known_hosts_file: str | None = None
    partition: str | None = None
    account: str | None = None
    mem: str | None = None
    cpus_per_job: int = Field(1, ge=1)
    gpus_per_job: int = Field(0, ge=0)
    sbatch_args: list[str] = Field(default_factory=list)

    @field_validator("workdir")
    @classmethod
    def _shared_path(cls, value: str) -> str:
        return _absolute_path(value)

    @field_validator("partition", "account", "mem")
    @classmethod
    def _sbatch_value(cls, value: str | None) -> str | None:
        if value is not None and not _SBATCH_VALUE.match(value):
            raise ValueError("must be one word of letters, digits and . _ : , = + / @ % -")
        return value

    @field_validator("sbatch_args")
    @classmethod
    def _sbatch_options(cls, value: list[str]) -> list[str]:
        for word in value:
            name, _, arg = word.partition("=")
            if not re.match(r"^--[a-z][a-z-]*$", name) or (arg and not _SBATCH_VALUE.match(arg)):
                raise ValueError(f"{word!r} is not one sbatch option of the form --name=value")
            if name in _SBATCH_TACS:
                raise ValueError(f"{name} is set by tac (the job directory and --job-timeout decide it)")  # fmt: skip
        return value

    def sbatch_options(self) -> list[str]:
        words = [f"--cpus-per-task={self.cpus_per_job}"]
        words += [f"--gpus={self.gpus_per_job}"] if self.gpus_per_job else []
        for flag, value in (("partition", self.partition), ("account", self.account), ("mem", self.mem)):  # fmt: skip
            if value is not None:
                words.append(f"--{flag}={value}")
        return words + self.sbatch_args

    def login_host(self) -> Host | None:
        """The login node as an SSH host (its checks are the SSH host's), or None."""
        if self.login is None:
            return None
        return Host(
            name=self.name, destination=self.login, port=self.port, workdir=self.workdir, tac=self.tac,
            concurrency=self.concurrency, price_per_hour=self.job_price_per_hour,
            runner_axis=self.runner_axis, device=self.device, accept_new_host_key=self.accept_new_host_key,
            identity_file=self.identity_file, known_hosts_file=self.known_hosts_file,
        )  # fmt: skip


class RayCluster(_Cluster):
    kind: Literal["ray"]
    address: str = Field(pattern=r"^https?://\S+$")  # the dashboard: the Jobs API
    storage: str
    python: str | None = None
    memory_gb: float | None = Field(None, gt=0)
    runtime_env: dict[str, Any] = Field(default_factory=dict)

    @field_validator("storage", "python")
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return value if value is None else _absolute_path(value)


def _resolve_local_path(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (base / path).resolve())


def load_backends(path: str | os.PathLike) -> list[Host | SlurmCluster | RayCluster]:
    """Every `[[backend]]` (and `[[host]]`) in the file, validated; any problem is one line
    naming the file and the table."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TacError(f"{path}: not found; list where jobs run there ([[backend]] tables)") from None  # fmt: skip
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TacError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"host", "backend"})
    if unknown:
        raise TacError(f"{path}: unknown top-level key {unknown[0]!r}; backends go in [[backend]] tables")  # fmt: skip
    tables = []
    for key in ("host", "backend"):
        found = data.get(key, [])
        if not isinstance(found, list) or not all(isinstance(t, dict) for t in found):
            raise TacError(f"{path}: {key!r} must be an array of tables ([[{key}]])")
        tables += [{"kind": "ssh"} | t if key == "host" else t for t in found]
    if not tables:
        raise TacError(f"{path}: nothing to run on; add at least one [[backend]] table")
    configs: list[Host | SlurmCluster | RayCluster] = []
    for i, table in enumerate(tables, 1):
        what = "host" if table.get("kind") == "ssh" else "backend"
        label = (
            f"{what} {table['name']!r}" if isinstance(table.get("name"), str) else f"{what} #{i}"
        )
        kind = table.get("kind")
        if kind not in ("ssh", "slurm", "ray"):
            raise TacError(f"{path}: {label}: kind must be \"ssh\", \"slurm\" or \"ray\" (got {kind!r})")  # fmt: skip
        try:
            config = {"ssh": Host, "slurm": SlurmCluster, "ray": RayCluster}[kind].model_validate(
                table
            )
            if isinstance(config, Host | SlurmCluster):
                # validated again: the resolved paths must still be one word each
                config = type(config).model_validate(
                    config.model_dump()
                    | {
                        "identity_file": _resolve_local_path(config.identity_file, path.parent),
                        "known_hosts_file": _resolve_local_path(
                            config.known_hosts_file, path.parent
                        ),
                    }
                )
            if isinstance(config, SlurmCluster):
                config.login_host()  # the login node's fields, checked as an SSH host's
        except ValidationError as exc:
            raise TacError(f"{path}: {label}: {first_error(exc)}") from None
        if any(c.name == config.name for c in configs):
            raise TacError(f"{path}: {label}: the name is used twice; names must be unique")
        configs.append(config)
    return configs


def load_hosts(path: str | os.PathLike) -> list[Host]:
    """The SSH hosts of the file (what `[[host]]` tables and `kind = "ssh"` backends describe)."""
    return [c for c in load_backends(path) if isinstance(c, Host)]
