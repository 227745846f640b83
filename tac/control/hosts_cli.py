"""`tac hosts check`: can every backend in hosts.toml take jobs? One line each, all at once.

SSH hosts: ssh, tac's version, GPU, disk. Slurm: sinfo, `sbatch --test-only` with the table's
options, disk (over SSH with a login node: the SSH checks there). Ray: the Jobs API, and a real
Ray job that runs `tac --version` on the cluster. Nothing here waits for torch to import.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from tac.cli_options import AsJson

app = typer.Typer(help="Where jobs may run: SSH hosts, Slurm and Ray clusters (hosts.toml).", no_args_is_help=True)  # fmt: skip


@app.callback()
def _hosts() -> None:
    """Where jobs may run: SSH hosts, Slurm and Ray clusters (hosts.toml)."""  # keeps `check` a sub-command


async def check_hosts(configs: list) -> list[dict]:
    """Every backend's `check()`, concurrently; each backend's connection closed after."""
    from tac.control.backends import backend_for

    async def one(config) -> dict:
        backend = backend_for(config)
        try:
            return await backend.check()
        finally:
            await backend.close()

    return list(await asyncio.gather(*(one(c) for c in configs)))


def _gib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GiB"


def format_report(report: dict) -> str:
    if not report["reachable"]:
        return f"{report['name']}  UNREACHABLE  {report['error']}"
    tac = report["tac_version"] if report["tac"] else "MISSING"
    line = f"{report['name']}  reachable  tac {tac}  gpu {report['gpu']}  free {_gib(report['free_bytes'])}"  # fmt: skip
    return line + (f"  ({report['error']})" if report["error"] else "")


@app.command("check")
def check_cmd(
    hosts_file: Annotated[
        Path,
        typer.Option(
            "--hosts", help="The hosts file (one \\[\\[backend]] table per host or cluster)."
        ),
    ] = Path("hosts.toml"),
    as_json: AsJson = False,
) -> None:
    """Reachability, tac version, GPU and free disk of every backend; exit 1 if any is unreachable."""
    from tac.control.hosts import load_backends

    reports = asyncio.run(check_hosts(load_backends(hosts_file)))
    if as_json:
        typer.echo(json.dumps(reports, indent=1))
    else:
        for report in reports:
            typer.echo(format_report(report))
    if not all(r["reachable"] for r in reports):
        raise typer.Exit(1)
