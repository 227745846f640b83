"""`tac hosts check`: can every host in hosts.toml take jobs? One line per host, all at once.

Only ssh, tomllib and pydantic behind it: checking hosts must not wait for torch to import.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from tac.cli_options import AsJson

app = typer.Typer(help="The SSH hosts jobs may run on (hosts.toml).", no_args_is_help=True)


@app.callback()
def _hosts() -> None:
    """The SSH hosts jobs may run on (hosts.toml)."""  # keeps `check` a sub-command


async def check_hosts(hosts: list) -> list[dict]:
    """Every host's `SSHBackend.check()`, concurrently; each backend's connection closed after."""
    from tac.control.backends import make_backend

    async def one(host) -> dict:
        backend = make_backend("ssh", host=host)
        try:
            return await backend.check()
        finally:
            await backend.close()

    return list(await asyncio.gather(*(one(h) for h in hosts)))


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
        Path, typer.Option("--hosts", help="The hosts file (one \\[\\[host]] table per machine).")
    ] = Path("hosts.toml"),
    as_json: AsJson = False,
) -> None:
    """Reachability, tac version, GPU and free disk of every host; exit 1 if any is unreachable."""
    from tac.control.hosts import load_hosts

    reports = asyncio.run(check_hosts(load_hosts(hosts_file)))
    if as_json:
        typer.echo(json.dumps(reports, indent=1))
    else:
        for report in reports:
            typer.echo(format_report(report))
    if not all(r["reachable"] for r in reports):
        raise typer.Exit(1)
