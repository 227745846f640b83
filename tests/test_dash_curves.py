"""tac-dash and the multi-fidelity loop: the model's fold of intermediate results and pruning, the
curves tab (a learning curve per job, the band at each rung, ✗ where the loop pruned, ↳ warm
starts) and what the jobs table says of pruned jobs and warm starts. Pilot-driven against
`fidelity_run`'s synthetic nerv ledger."""

from __future__ import annotations

import re

import pytest

from tac.control.synthetic import fidelity_run, mid_run
from tests.test_dash import cell, run_app, settled
from tests.test_dash_fit import screen_lines
from tui.app import DashApp
from tui.model import LedgerTail, RunModel, load
from tui.widgets.curves import EMPTY, CurvesPlot
from tui.widgets.jobs import JobsTable

COLD = "c01-nerv-z028-w036-b8-r001.000-n001000"
PRUNED = "c02-nerv-z028-w024-b8-r001.000-n001000"
WARM = "c02-nerv-z028-w036-b8-r001.000-n000500-from-5d32320618"
RUNNING = "c02-nerv-z028-w040-b8-r001.000-n001000"
LEGEND = ("1.1 nerv z28 w36 8b λ1 1000st", "1.2 nerv z28 w48 8b λ1 1000st",
          "2.1 nerv z28 w24 8b λ1 1000st ✗ pruned (band)",
          "2.2 nerv z28 w36 8b λ1 500st ↳1000st ↳ from 1.1",
          "2.3 nerv z28 w40 8b λ1 1000st running")  # fmt: skip


def folded(run_dir) -> RunModel:
    model = RunModel(run_dir)
    load(model, LedgerTail(run_dir / "ledger.jsonl"))
    return model


def canvas(lines: list[str]) -> list[str]:
    """The plot's inside, row by row: between its frame's top and bottom, left and right."""
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    left, right = lines[top].index("┌") + 1, lines[top].rindex("┐")
    return [line[left:right] for line in lines[top + 1 : bottom]]


def on_curves(app: DashApp, size=(80, 24)):
    """`check(lines)` once the curves tab is drawn at `size`."""

    def wrap(check):
        async def scenario(pilot):
            await pilot.press("7")
            await pilot.pause(0.3)
            app.redraw(force=True)
            await pilot.pause()
            check(screen_lines(app))

        run_app(app, scenario, size=size)

    return wrap


# --- the model ------------------------------------------------------------------------------


def test_model_folds_rungs_once_with_bands_pruning_and_warm_starts(tmp_path):
    run = fidelity_run(tmp_path, close=False)
    # a replayed rung (the loop re-reads a log after a resume) is counted once
    run.rung(RUNNING, 600, 1000, 99.0)
    run.ledger.close()
    model = folded(tmp_path)
    assert model.skipped == 0
    curves = {c.job_id: c for c in model.learning_curves()}
    assert list(curves) == [COLD, "c01-nerv-z028-w048-b8-r001.000-n001000", PRUNED, WARM, RUNNING]
    assert [c.tag for c in curves.values()] == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    cold = curves[COLD]
    assert [r.step for r in cold.rungs] == [0, 200, 400, 600, 800, 1000]
    assert [r.final for r in cold.rungs] == [False] * 5 + [True]
    assert cold.rungs[0].band is None and "a band needs 2" in cold.rungs[0].note
    assert cold.rungs[0].score > 10 * cold.rungs[-1].score  # why the y axis is logarithmic
    running = curves[RUNNING]
    assert [r.fidelity for r in running.rungs] == [0.0, 0.2, 0.4, 0.6]
    assert running.rungs[-1].score < 99.0  # the first report of step 600 stands
    lo, mid, hi = running.rungs[1].band
    assert lo < mid < hi and "from 2 finished curves" in running.rungs[1].note
    rule, step, reason = curves[PRUNED].pruned
    assert (rule, step) == ("band", 400) and "cannot beat the best" in reason
    assert curves[WARM].parent == COLD and all(c.parent is None for k, c in curves.items() if k != WARM)  # fmt: skip
    # the candidate of the pruned job says so; the loop's fold agrees it was pruned
    assert model.candidates[PRUNED.removeprefix("c02-")].status == "pruned"
    assert model.state.jobs[PRUNED].state == "cancelled" and model.state.jobs[PRUNED].pruned


def test_intermediate_results_of_an_unknown_job_change_nothing(tmp_path):
    run = mid_run(tmp_path, close=False)
    run.rung("no-such-job", 10, 100, 5.0)
    run.emit("pruned", job_id="no-such-job", step=10, rule="halving", reason="x")
    run.ledger.close()
    model = folded(tmp_path)
    assert model.learning_curves() == [] and "no-such-job" not in model.curves
    assert model.skipped == 0


# --- the curves tab -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=["80x24", "120x36"])
def test_curves_tab_draws_each_job_its_bands_and_the_pruned_mark(tmp_path, size):
    fidelity_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    @on_curves(app, size)
    def check(lines):
        shown = "\n".join(lines)
        caption = next(line for line in lines if "exact score at checkpoints" in line)
        assert "(log)" in caption and "│ band of final score (est.)" in caption and "…" not in caption  # fmt: skip
        for entry in LEGEND:  # every job's legend entry, whole
            assert entry in shown
        inside = canvas(lines)
        legend_rows = [row for row in inside if re.search(r"\d\.\d nerv", row)]
        assert len(legend_rows) == len(LEGEND)
        plot_rows = [row for row in inside if row not in legend_rows]
        assert sum(row.count("✗") for row in plot_rows) == 1  # where the pruned curve ends
        assert sum(row.count("│") for row in plot_rows) >= 5  # a band at each banded rung
        ticks = [t for line in lines for t in re.findall(r"^\s*(\d+)┤", line)]
        assert len(ticks) >= 3 and all(t[0] in "125" for t in ticks)  # 1-2-5 steps: a log axis
        assert "100%" in shown and "training done (step / steps)" in shown
        # the per-job notes need room the 80x24 screen gives to the plot
        pruned_note = "2.1 ✗ pruned (band): at step 400/1000"
        assert (pruned_note in shown) == (size == (120, 36))
        if size == (120, 36):
            assert "2.3 step 600/1000" in shown and "from 2 finished curves (est.)" in shown
        assert app.query_one(CurvesPlot).display


def test_curves_tab_says_in_one_line_why_it_is_empty(tmp_path):
    mid_run(tmp_path)  # codec jobs: no intermediate results
    app = DashApp(tmp_path, poll_s=0.05)

    @on_curves(app)
    def check(lines):
        assert any(line.strip() == EMPTY for line in lines)
        assert not any("┌" in line for line in lines)  # no empty frame under it
        assert not app.query_one(CurvesPlot).display


def test_curves_tab_keeps_the_newest_jobs_when_the_legend_would_not_fit(tmp_path):
    run = fidelity_run(tmp_path, close=False)
    extra = [run.dispatch(c, host="gpu2") for c in range(20, 26)]
    for job in extra:
        run.rung(job, 0, 100, 50.0)
        run.rung(job, 50, 100, 10.0)
    run.close()
    app = DashApp(tmp_path, poll_s=0.05)

    @on_curves(app)
    def check(lines):
        caption = next(line for line in lines if "exact score" in line)
        shown_n = int(re.search(r"newest (\d+) of 11 jobs", caption).group(1))
        legend_rows = [row for row in canvas(lines) if re.search(r"^ \S+ \d\.\d ", row)]
        assert len(legend_rows) == shown_n < 11
        assert not any(" 1.1 nerv" in row for row in legend_rows)  # the oldest gave way
        assert any(" 2.9 hevc 25" in row for row in legend_rows)  # the newest is there


# --- the jobs table -------------------------------------------------------------------------


def test_jobs_table_says_pruning_then_pruned_and_marks_warm_starts(tmp_path):
    run = fidelity_run(tmp_path, close=False)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        await pilot.press("3")
        jobs = app.query_one(JobsTable)
        assert cell(jobs, PRUNED, "state") == "pruned"  # not "cancelled": the loop's decision
        assert cell(jobs, PRUNED, "last").startswith("band: at")  # the rule, then the reason
        assert cell(jobs, WARM, "job").startswith("↳ c02-nerv")
        assert not cell(jobs, COLD, "job").startswith("↳")
        assert jobs.max_scroll_x == 0  # long nerv ids are cut in the middle to fit 80 columns
        assert any(line.lstrip().startswith("↳ c02-nerv") for line in screen_lines(app))
        run.emit(
            "pruned", job_id=RUNNING, step=600, rule="halving", reason="not among the best 1/3"
        )
        await settled(app, pilot, events=run.ledger.seq)
        assert cell(jobs, RUNNING, "state") == "pruning"  # until the cancel lands
        assert cell(jobs, RUNNING, "last").startswith("halving: no")  # cut to fit 80 columns
        run.emit("finished", job_id=RUNNING, outcome="cancelled", cost=0.01, wall_s=41.0,
                 detail="pruned: not among the best 1/3")  # fmt: skip
        await settled(app, pilot, events=run.ledger.seq)
        assert cell(jobs, RUNNING, "state") == "pruned"

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_snapshot_curves(snap_compare, tmp_path):
    fidelity_run(tmp_path / "synthetic-run")
    app = DashApp(tmp_path / "synthetic-run", poll_s=0.05)

    async def before(pilot):
        await settled(app, pilot)
        await pilot.press("7")
        await pilot.pause(0.2)
        app.redraw(force=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
