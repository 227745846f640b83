"""Explore a tac run directory: `marimo edit examples/explore_run.py` (pip install 'tac[notebooks]').

Pick a run (default: the newest under runs/, or $TAC_RUN_DIR), then read its summary, its best
per lane, its anchors, its jobs and its rate–distortion picture — all folded from the run's
ledger by `tac.control.runs`, the same code `tac runs show` uses. As a script
(`python examples/explore_run.py`) it prints the summary.
"""

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import os
    from pathlib import Path

    import marimo as mo

    from tac.control.runs import anchors_table, cycles_table, find_runs, jobs_table, load_run

    return Path, anchors_table, cycles_table, find_runs, jobs_table, load_run, mo, os


@app.cell
def _(Path, find_runs, mo, os):
    runs = find_runs(Path("runs"))
    default = os.environ.get("TAC_RUN_DIR") or (str(runs[-1].path) if runs else "")
    run_dir = mo.ui.text(value=default, label="run directory", full_width=True)
    run_dir  # noqa: B018 (a cell's last expression is what marimo shows)
    return (run_dir,)


@app.cell
def _(load_run, mo, run_dir):
    mo.stop(not run_dir.value, mo.md("No run yet: start one with `tac loop`, or type a run directory above."))  # fmt: skip
    run = load_run(run_dir.value)
    summary = run.summary()
    if mo.app_meta().mode == "script":
        print(f"{run.name}: {run.status}; {summary['cycles']} cycles, {summary['anchors']} anchors, "
              f"best {summary['best']['score'] if summary['best'] else '-'}, spent {summary['spent']:.4f}")  # fmt: skip
    mo.md(f"""
    ## {run.name}

    **{run.status}** · {summary["cycles"]} cycles · {summary["anchors"]} anchors ·
    spent {summary["spent"]:.4f} · scored on {run.scored_on}
    """)
    return run, summary


@app.cell
def _(mo, summary):
    mo.ui.table([{"lane": lane} | row for lane, row in summary["best_per_lane"].items()], label="best per lane")  # fmt: skip
    return


@app.cell
def _(anchors_table, cycles_table, jobs_table, mo, run):
    mo.ui.tabs({
        "anchors": mo.ui.table(anchors_table(run)),
        "jobs": mo.ui.table(jobs_table(run)),
        "cycles": mo.ui.table(cycles_table(run)),
    })  # fmt: skip
    return


@app.cell
def _(mo, run):
    import plotly.graph_objects as go

    from tac.control.plots import by_lane, frontier

    fig = go.Figure()
    for lane, anchors in by_lane(run).items():
        fig.add_scatter(x=[a.archive_bytes for a in anchors], y=[a.score for a in anchors], mode="markers",
                        name=lane, text=[a.id for a in anchors])  # fmt: skip
        front = frontier(anchors)
        fig.add_scatter(x=[a.archive_bytes for a in front], y=[a.score for a in front], mode="lines",
                        name=f"{lane} frontier", line={"dash": "dot"})  # fmt: skip
    fig.update_layout(xaxis_type="log", xaxis_title="archive bytes (log)", yaxis_title="score")
    mo.ui.plotly(fig)
    return


if __name__ == "__main__":
    app.run()
