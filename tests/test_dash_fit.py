"""tac-dash at 80x24 and wider: what fits, what it says about money, sorting and the ranking,
plots with room around them, the log pane that follows the running job, the footer's state, the
timeline's running cycle and the command palette. Pilot-driven against synthetic ledgers."""

from __future__ import annotations

import json
import re

from textual.command import CommandPalette
from textual.widgets import Footer

from tac.control.synthetic import mid_run
from tests.test_dash import cell, run_app, settled
from tui.app import DashApp
from tui.money import money
from tui.screens.help import HelpScreen
from tui.screens.log import LogScreen, read_log
from tui.widgets.budget import BudgetGauges
from tui.widgets.candidates import CandidatesTable
from tui.widgets.header import RunHeader, fit
from tui.widgets.jobs import JobsTable
from tui.widgets.logtail import LogTail
from tui.widgets.plots import BandPlot, log_ticks
from tui.widgets.timeline import Timeline

RUNNING, DONE = "c02-hevc-crf27-s0.500-p05medium", "c02-hevc-crf26-s0.500-p05medium"


def screen_lines(app: DashApp) -> list[str]:
    """The terminal as a person sees it, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def until(pilot, predicate, what: str) -> None:
    for _ in range(100):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(what)


# --- pure parts -----------------------------------------------------------------------------


def test_money_has_a_currency_and_cents():
    assert money(0.11) == "$0.11" and money(1) == "$1.00"
    assert money(1204.5, "€") == "€1,204.50"
    assert money(0.11, "EUR") == "0.11 EUR"
    assert money(0.004) == "<$0.01" and money(0) == "$0.00"  # spent, not nothing


def test_header_drops_whole_facts_least_important_first():
    parts = [("run", "", 0), (" A", "", 3), (" best", "", 1), (" tail", "", 5)]
    assert fit(parts, 80).plain == "run A best tail"
    assert fit(parts, 13).plain == "run A best"  # the tail goes first, whole
    assert fit(parts, 9).plain == "run best"
    assert (
        fit([("a long run name", "", 0)], 6).plain == "a lon…"
    )  # priority 0 is cut, never dropped


def test_log_ticks_step_1_2_5_and_stay_in_range():
    assert log_ticks(1.9, 2.7) == [100, 200, 500]
    assert len(log_ticks(0, 6)) <= 6


def test_a_long_log_shows_its_end_from_a_line_start(tmp_path):
    log = tmp_path / "log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    text, what = read_log(log, limit=100)
    assert text.endswith("line 999\n") and text.startswith("line ") and "of 8,890 bytes" in what


# --- at 80x24 -------------------------------------------------------------------------------


def test_header_budget_help_and_jobs_fit_80x24(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        lines = screen_lines(app)
        header = lines[0]
        assert "…" not in header  # whole facts only
        for fact in ("synthetic-run", "RUNNING", "cycle 2/3", "best 6.6538", "STAND-IN weights"):
            assert fact in header
        assert "last event" in app.query_one(RunHeader).text  # known, left out at this width
        total, cycle = lines[1], lines[2]
        assert total.rstrip().endswith("$0.81 left  job cap $0.20")  # every number in view
        assert cycle.rstrip().endswith("$0.39 left")
        assert total.index(" $0.11") == cycle.index(" $0.03")  # the two bars are one width
        await pilot.press("3")
        jobs = app.query_one(JobsTable)
        assert jobs.max_scroll_x == 0  # the last log line is cut to fit, no sideways scrolling
        assert cell(jobs, DONE, "cost") == "$0.03"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        box = app.screen.query_one("#help")
        assert box.max_scroll_y == 0 and box.max_scroll_x == 0  # all of it, no scrolling
        shown = "\n".join(screen_lines(app))
        assert "ctrl+p Palette" in shown and "held = what running jobs have reserved." in shown

    run_app(app, scenario)


def test_header_shows_more_where_there_is_room(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        assert "last event 08:00:" in screen_lines(app)[0]

    run_app(app, scenario, size=(120, 36))


def test_currency_comes_from_the_run_config(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        app.model.state.config["currency"] = "EUR"
        app.redraw(force=True)
        assert "0.81 EUR left" in app.query_one(BudgetGauges).text

    run_app(app, scenario)


# --- the candidates table -------------------------------------------------------------------


def test_ranking_caption_unranked_refusals_and_sort_indicator(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        caption = str(app.query_one("#candidates-caption").render())
        assert "top 5 of 5 eligible shown, 2 of 195 refused as examples" in caption
        table = app.query_one(CandidatesTable)
        refused = ["hevc-crf45-s0.900-p05medium", "hevc-crf46-s0.900-p05medium"]
        assert [cell(table, r, "rank") for r in refused] == ["", ""]  # no place in the order
        order = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]  # fmt: skip
        assert order[-2:] == refused  # after the ranked, the measured and the failed
        assert order.index("hevc-crf22-s0.500-p05medium") == 5  # measured: right after the ranking
        labels = lambda: [str(c.label) for c in table.columns.values()]  # noqa: E731
        assert labels()[0] == "# ▲" and labels()[1] == "setting"
        await pilot.press("s")  # the next column
        assert labels()[:2] == ["#", "setting ▲"]
        table.sort_by("params")  # again: reversed
        assert labels()[1] == "setting ▼"
        assert "s Sort" in footer(app)

    run_app(app, scenario)


# --- plots ----------------------------------------------------------------------------------


def on_tab(tmp_path, key: str, check) -> None:
    """`check(app)` with mid_run's dashboard on the tab of `key`, drawn."""
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        await pilot.press(key)
        await pilot.pause(0.3)
        check(app)

    run_app(app, scenario)


def test_frontier_is_on_log_bytes_with_labelled_points(tmp_path):
    def check(app):
        shown = "\n".join(screen_lines(app))
        assert "archive KB (log scale)" in shown
        for crf in (22, 26, 30, 38):  # the frontier's points, each with its setting, uncut
            assert f"hevc {crf} ×0.50 medium" in shown
        ticks = re.findall(r"\d+", shown.split("└")[1].split("archive KB")[0])
        assert ticks == ["100", "200", "500"]  # 1-2-5 steps: a log axis

    on_tab(tmp_path, "5", check)


def test_band_plot_leaves_margins_around_the_data(tmp_path):
    def check(app):
        rows = app.model.bands_vs_measured()
        lo, hi = min(r[2] for r in rows), max(r[4] for r in rows)
        plot = app.query_one(BandPlot).render().plain
        axis = [float(v) for v in re.findall(r"^\s*([\d.]+)┤", plot, re.M)]
        assert max(axis) > hi + 0.2 * (hi - lo) and min(axis) < lo  # room for the legend on top

    on_tab(tmp_path, "4", check)


# --- jobs: the log pane and the full log -----------------------------------------------------


def test_log_pane_follows_the_running_job_until_a_person_picks_one(tmp_path):
    run = mid_run(tmp_path, close=False)
    (tmp_path / "jobs" / RUNNING).mkdir(parents=True)
    (tmp_path / "jobs" / RUNNING / "log").write_text("".join(f"step {i}\n" for i in range(3000)))
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        await pilot.press("3")
        jobs, tail = app.query_one(JobsTable), app.query_one(LogTail)
        assert jobs.selected == RUNNING and jobs.follow  # the newest running job, unasked
        await until(pilot, lambda: tail.job_id == RUNNING and "step 2999" in tail.lines, "log tail")  # fmt: skip
        assert "following the running job" in str(tail.border_title)
        await pilot.press("l")  # the whole log, not the tail
        assert isinstance(app.screen, LogScreen)
        assert app.screen.text.splitlines()[0] == "step 0" and app.screen.what == "28,890 bytes"
        await pilot.press("escape")
        await pilot.press("up")  # a person picks a job: following stops
        assert jobs.selected == DONE and not jobs.follow
        newer = run.dispatch(28, host="gpu1")
        await settled(app, pilot, events=run.ledger.seq)
        assert jobs.selected == DONE  # a new job does not take the cursor away
        assert "f: follow" in str(tail.border_title)
        await pilot.press("f")
        await until(pilot, lambda: jobs.selected == newer, "f follows the newest running job")
        await pilot.press("1")
        assert "l Full log" not in footer(app)  # the jobs tab's keys live on the jobs tab

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


# --- the footer, the timeline and the command palette -----------------------------------------


def footer(app: DashApp) -> str:
    return " ".join(f"{k.key_display} {k.description}" for k in app.query_one(Footer).query("FooterKey"))  # fmt: skip


def test_footer_says_resume_while_paused_and_timeline_shows_the_running_cycle(tmp_path):
    run = mid_run(tmp_path, close=False)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        assert "p Pause" in footer(app) and "Resume" not in footer(app)
        timeline = app.query_one(Timeline).text
        running = next(line for line in timeline.splitlines() if "running" in line)
        # the run's best so far, and what this cycle's own jobs measured
        assert running.split()[-4:] == ["6.6538", f"{app.model.candidates['hevc-crf26-s0.500-p05medium'].score:.4f}", "so", "far"]  # fmt: skip
        run.emit("control", id="x1", command="pause", ok=True, detail="", paused=True, caps={})
        await settled(app, pilot, events=run.ledger.seq)
        await until(pilot, lambda: "p Resume" in footer(app), "footer says Resume")
        assert "Pause" not in footer(app)

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_command_palette_runs_the_dashboards_actions(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        assert "^p palette" in " ".join(screen_lines(app)[-1:])
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles)) and {"Pause", "Show jobs", "Theme"} <= set(titles)
        assert "Resume" not in titles and "Full log" not in titles  # what applies here, now
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette), "palette opens")
        await pilot.press(*"pause")
        await pilot.pause(0.5)
        await pilot.press("enter")
        path = tmp_path / "control.jsonl"
        await until(pilot, path.exists, "the palette's Pause writes a command")
        assert json.loads(path.read_text().splitlines()[-1])["command"] == "pause"

    run_app(app, scenario)
