"""`tac runs list|show|compare`, `tac export RUN` and `tac plot RUN`: runs on disk, read back.

Nothing here imports torch: reading ledgers must be instant, even on a laptop with no GPU stack.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tac.cli_options import AsJson, console
from tac.errors import TacError

app = typer.Typer(help="Runs on disk: list them, show one, compare several.", no_args_is_help=True)

RunDir = Annotated[
    Path, typer.Argument(help="A run directory (it holds ledger.jsonl).", metavar="RUN")
]


def _money(x: float | None) -> str:
    return "-" if x is None else f"{x:,.4f}"


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _jobs(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{counts.get('ok', 0)}/{total} ok" + "".join(f", {n} {s}" for s, n in sorted(counts.items()) if s != "ok" and n)  # fmt: skip


def _best(row: dict | None) -> str:
    return "-" if row is None else f"{row['score']:.4f} ({row['lane']}, {row['archive_bytes']:,} B)"


@app.command("list")
def list_cmd(
    root: Annotated[Path, typer.Option("--root", help="Where the runs are.")] = Path("runs"),
    as_json: AsJson = False,
) -> None:
    """Every run under --root, oldest first: status, cycles, jobs, anchors, best score, spend."""
    from tac.control.runs import find_runs

    runs = find_runs(root)
    if as_json:
        typer.echo(json.dumps([r.summary() for r in runs], indent=1))
        return
    if not runs:
        console.print(f"no runs under {root} (start one with tac loop)", highlight=False)
        return
    table = Table(
        "run", "started", "status", "cycles", "jobs", "anchors", "best", "spent", box=None
    )
    for r in runs:
        s = r.summary()
        table.add_row(r.name, _when(r.started), r.status, str(s["cycles"]), _jobs(s["jobs"]), str(s["anchors"]), _best(s["best"]), _money(s["spent"]))  # fmt: skip
    console.print(table)


@app.command("show")
def show_cmd(run_dir: RunDir, as_json: AsJson = False) -> None:
    """One run: how it ended, its best per lane, every job, and the best after each cycle."""
    from tac.control.runs import cycles_table, jobs_table, load_run

    run = load_run(run_dir)
    if as_json:
        typer.echo(json.dumps(run.summary() | {"jobs_table": jobs_table(run), "cycles_table": cycles_table(run)}, indent=1))  # fmt: skip
        return
    s = run.summary()
    console.print(f"[bold]{run.name}[/]  {run.status}; {s['cycles']} cycles, {_jobs(s['jobs'])}, {s['anchors']} anchors, spent {_money(s['spent'])}")  # fmt: skip
    console.print(f"scored on {run.scored_on}", highlight=False)
    lanes = Table("lane", "best", "seg", "pose", "bytes", "anchor", box=None, title="best per lane")
    for lane, a in s["best_per_lane"].items():
        lanes.add_row(lane, f"{a['score']:.4f}", f"{a['seg']:.5f}", f"{a['pose']:.5f}", f"{a['archive_bytes']:,}", a["id"])  # fmt: skip
    console.print(lanes)
    jobs = Table(
        "job", "host", "state", "cost", "wall s", "harvested", "detail", box=None, title="jobs"
    )
    for j in jobs_table(run):
        harvested = {True: "yes", False: "refused", None: "-"}[j["harvested"]]
        jobs.add_row(j["job_id"], j["host"], j["state"], _money(j["cost"]), f"{j['wall_s']:.1f}", harvested, (j["detail"] or "")[:60])  # fmt: skip
    console.print(jobs)
    cycles = Table("cycle", "best after it", "spent in it", box=None, title="cycles")
    for c in cycles_table(run):
        cycles.add_row(str(c["cycle"]), "-" if c["best"] is None else f"{c['best']:.4f}", _money(c["spent"]))  # fmt: skip
    console.print(cycles)
    if run.unreadable:
        console.print(
            f"note: {run.unreadable} unreadable ledger lines were skipped", highlight=False
        )


@app.command("compare")
def compare_cmd(
    run_dirs: Annotated[
        list[Path], typer.Argument(help="Two or more run directories.", metavar="RUN...")
    ],
    as_json: AsJson = False,
) -> None:
    """Runs side by side: best per lane, spend, jobs, anchors; scores on different axes or
    weights are flagged (they are not comparable)."""
    from tac.control.runs import load_run

    if len(run_dirs) < 2:
        raise TacError("tac runs compare: give two or more run directories")
    runs = [load_run(d) for d in run_dirs]
    summaries = [r.summary() for r in runs]
    scored = {(s["runner_axis"], s["weights"]) for s in summaries}
    note = (
        "" if len(scored) == 1 else "scores from different runner axes or weights: not comparable"
    )
    if as_json:
        typer.echo(json.dumps({"runs": summaries, "comparable": not note}, indent=1))
        return
    table = Table("", *(r.name for r in runs), box=None)
    lanes = sorted({lane for s in summaries for lane in s["best_per_lane"]})
    for lane in lanes:
        row = [s["best_per_lane"].get(lane) for s in summaries]
        scores = [r["score"] for r in row if r]
        best = min(scores) if scores else None
        table.add_row(f"best {lane}", *("-" if r is None else f"{'[bold]' if r['score'] == best and len(scores) > 1 else ''}{r['score']:.4f}{'[/]' if r['score'] == best and len(scores) > 1 else ''} ({r['archive_bytes']:,} B)" for r in row))  # fmt: skip
    table.add_row("spent", *(_money(s["spent"]) for s in summaries))
    table.add_row("jobs", *(_jobs(s["jobs"]) for s in summaries))
    table.add_row("anchors", *(str(s["anchors"]) for s in summaries))
    table.add_row("cycles", *(str(s["cycles"]) for s in summaries))
    table.add_row("status", *(r.status for r in runs))
    table.add_row("scored on", *(r.scored_on for r in runs))
    console.print(table)
    if note:
        console.print(f"[yellow]note:[/] {note}")


def export_cmd(
    run_dir: RunDir,
    fmt: Annotated[
        str, typer.Option("--format", help="csv (one table) or json (everything).")
    ] = "csv",
    table: Annotated[
        str, typer.Option("--table", help="With --format csv: anchors, jobs or cycles.")
    ] = "anchors",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """A run's anchors, jobs and per-cycle bests as CSV or JSON, for a notebook or a spreadsheet."""
    from tac import atomic
    from tac.control.runs import anchors_table, cycles_table, jobs_table, load_run

    tables = {"anchors": anchors_table, "jobs": jobs_table, "cycles": cycles_table}
    if fmt not in ("csv", "json"):
        raise TacError(f"--format {fmt}: use csv or json")
    if table not in tables:
        raise TacError(f"--table {table}: use anchors, jobs or cycles")
    run = load_run(run_dir)
    if fmt == "json":
        text = json.dumps({"run": run.summary()} | {name: fn(run) for name, fn in tables.items()}, indent=1) + "\n"  # fmt: skip
    else:
        rows = tables[table](run)
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        text = buf.getvalue()
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic.write_text(output, text)
        console.print(f"wrote {output}", highlight=False)


def plot_cmd(
    run_dir: RunDir,
    out_dir: Annotated[Path | None, typer.Option("-o", "--out-dir", help="Where rd.html and rd.png go (default: RUN/plots).")] = None,
    as_json: AsJson = False,
) -> None:  # fmt: skip
    """A run's rate–distortion plot per lane: an interactive page (rd.html) and an image (rd.png)."""
    from tac.control.plots import plot_run
    from tac.control.runs import load_run

    run = load_run(run_dir)
    paths = plot_run(run, out_dir or run.path / "plots")
    if as_json:
        typer.echo(json.dumps({"html": str(paths[0]), "png": str(paths[1])}))
    else:
        for path in paths:
            console.print(f"wrote {path}", highlight=False)
