"""hosts.toml: the machines jobs may run on, one `[[host]]` table each.

    [[host]]
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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tac.errors import TacError
from tac.records import first_error

_NO_SPACE = re.compile(r"^\S+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Host(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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


def _resolve_local_path(value: str | None, base: Path) -> str | None:
    if value is None:
        return None
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (base / path).resolve())


def load_hosts(path: str | os.PathLike) -> list[Host]:
    """Every `[[host]]` in the file, validated; any problem is one line naming file and host."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TacError(f"{path}: not found; list your hosts there ([[host]] tables)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TacError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - {"host"})
    if unknown:
        raise TacError(f"{path}: unknown top-level key {unknown[0]!r}; hosts go in [[host]] tables")
    tables = data.get("host", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise TacError(f"{path}: 'host' must be an array of tables ([[host]])")
    if not tables:
        raise TacError(f"{path}: no hosts; add at least one [[host]] table")
    hosts: list[Host] = []
    for i, table in enumerate(tables, 1):
        label = f"host {table['name']!r}" if isinstance(table.get("name"), str) else f"host #{i}"
        try:
            host = Host.model_validate(table)
            # validated again: the resolved paths must still be one word each
            host = Host.model_validate(
                host.model_dump()
                | {
                    "identity_file": _resolve_local_path(host.identity_file, path.parent),
                    "known_hosts_file": _resolve_local_path(host.known_hosts_file, path.parent),
                }
            )
        except ValidationError as exc:
            raise TacError(f"{path}: {label}: {first_error(exc)}") from None
        if any(h.name == host.name for h in hosts):
            raise TacError(f"{path}: {label}: the name is used twice; names must be unique")
        hosts.append(host)
    return hosts
