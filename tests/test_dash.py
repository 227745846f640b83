"""tac-dash driven by Textual's Pilot: synthetic ledgers fed live, what the views show, keys, steering."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path

import pytest

from tac.control.ledger import Ledger
from tac.control.synthetic import SyntheticRun, mid_run
from tui.app import DashApp
from tui.model import LedgerTail, RunModel, load
from tui.screens.caps import CapsScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.widgets.budget import BudgetGauges
from tui.widgets.candidates import CandidatesTable
from tui.widgets.header import RunHeader
from tui.widgets.jobs import JobsTable
from tui.widgets.refusals import RefusalPanel

SIZE = (80, 24)


async def settled(app: DashApp, pilot, timeout: float = 10.0, events: int | None = None) -> None:
    """Wait until the worker has read the ledger (at least `events`) and the UI has drawn it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = app.model
        if m.events and (events is None or m.events >= events) and app._drawn_version == m.version:
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"dashboard did not settle: {app.model.events} events, version {app.model.version}")  # fmt: skip


def cell(table, row_key: str, column: str) -> str:
    return str(table.get_cell(row_key, column))


def run_app(app: DashApp, scenario, size=SIZE, settle: bool = True):
    """Run `scenario(pilot)` in the app, once it has read and drawn the ledger (`settle`)."""

    async def main():
        async with app.run_test(size=size) as pilot:
            if settle:
                await settled(app, pilot)
            return await scenario(pilot)

    return asyncio.run(main())


# --- the model alone ------------------------------------------------------------------------


def test_tail_skips_garbage_waits_for_a_torn_line_and_restarts_on_a_rewrite(tmp_path):
    mid_run(tmp_path)
    with open(tmp_path / "ledger.jsonl", "a") as f:
        f.write("this is not json\n")
        f.write(
            '{"v":1,"seq":999,"ts":1.0,"run_id":"synthetic-run","type":"from_the_future","x":1}\n'
        )
        f.write(
            '{"v":1,"seq":1000,"ts":1.0,"run_id":"synthetic-run","type":"cycle_fini'
        )  # torn: the writer is mid-line
    model, tail = RunModel(tmp_path), LedgerTail(tmp_path / "ledger.jsonl")
    assert load(model, tail)
    assert tail.skipped == 1 and model.skipped_lines == 1
    assert model.events == 49  # 48 real events and the unknown one, which changes nothing
    assert model.state.cycle == 2 and model.state.cycles_finished == 1
    with open(tmp_path / "ledger.jsonl", "a") as f:
        f.write('shed","cycle":2,"best":1.5}\n')  # the torn line completes
    assert load(model, tail) and model.state.cycles_finished == 2
    (tmp_path / "ledger.jsonl").write_text('{"v":1,"seq":1,"ts":1.0,"type":"run_started","run_id":"again","config":{}}\n')  # fmt: skip
    assert load(model, tail) and model.state.run_id == "again" and model.events == 1


def test_model_keeps_the_band_predicted_before_the_measurement(tmp_path):
    mid_run(tmp_path)
    model = RunModel(tmp_path)
    load(model, LedgerTail(tmp_path / "ledger.jsonl"))
    pairs = model.bands_vs_measured()
    # the two predicted picks of cycle 2; the explored jobs of cycle 1 had no band to compare
    assert [(c, i.split("-")[1]) for c, i, *_ in pairs] == [(2, "crf26"), (2, "crf27")]
    (_, _, lo, _mid, hi, measured), (*_, pending) = pairs
    assert lo <= measured <= hi and pending is None
    points, front = model.frontier()
    assert len(points) == 4 and front[0] == (points[0][0], points[0][1])
    assert [s for _, s in front] == sorted((s for _, s in front), reverse=True)


# --- the app --------------------------------------------------------------------------------


def test_views_show_candidates_gauges_refusals_and_header(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        table = app.query_one(CandidatesTable)
        pick, running = "hevc-crf26-s0.500-p05medium", "hevc-crf27-s0.500-p05medium"
        assert cell(table, pick, "status") == "anchored" and cell(table, pick, "score") == f"{app.model.candidates[pick].score:.4f}"  # fmt: skip
        assert cell(table, running, "status") == "running" and cell(table, running, "score") == "—"
        assert cell(table, "hevc-crf46-s0.500-p05medium", "status") == "failed"
        assert cell(table, "hevc-crf45-s0.900-p05medium", "status") == "refused"
        assert cell(table, running, "bytes").startswith("~")  # predicted, not measured
        assert table.row_count == 10
        gauges = app.query_one(BudgetGauges)
        spent, held, cap = gauges.values["total"]
        assert spent == pytest.approx(0.11) and held == pytest.approx(0.08) and cap == 1.0
        assert gauges.values["cycle"] == (pytest.approx(0.03), pytest.approx(0.08), 0.5)
        assert (
            "$0.81 left" in gauges.text and "job cap $0.20" in gauges.text
        )  # the run's currency, in cents
        header = app.query_one(RunHeader).text
        assert "RUNNING" in header and "STAND-IN weights" in header and "cycle 2/3" in header
        await pilot.press("2")
        panel = app.query_one(RefusalPanel)
        assert panel.counts == {"extrapolation": 175, "over_bytes_cap": 20}
        assert "195 candidates refused" in panel.text
        # the selected candidate's own sentence
        await pilot.press("1")
        table.move_cursor(row=table.get_row_index("hevc-crf45-s0.900-p05medium"))
        await pilot.press("2")
        assert "refused (extrapolation) — extrapolation: crf beyond the hevc anchors'" in panel.text

    run_app(app, scenario)


def test_rows_update_in_place_while_events_stream_in(tmp_path):
    run = mid_run(tmp_path, close=False)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        table = app.query_one(CandidatesTable)
        running = "hevc-crf27-s0.500-p05medium"
        table.move_cursor(row=table.get_row_index(running))
        rows, redraws = table.row_count, app.redraws
        job = f"c02-{running}"
        for i in range(200):  # a burst: coalesced into a few redraws
            run.beat(job, 12.0 + i, f"step {i}")
        run.finish(job, 27, cost=0.04)
        run.end_cycle(best=1.0)
        await settled(app, pilot, events=run.ledger.seq)
        assert cell(table, running, "status") == "anchored"
        assert table.row_count == rows  # updated, not appended
        assert (
            table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == running
        )  # cursor kept
        assert app.redraws - redraws < 20  # 405 events, a handful of frames
        await pilot.press("3")
        jobs = app.query_one(JobsTable)
        assert cell(jobs, job, "state") == "ok" and cell(jobs, job, "cost") == "$0.04"
        assert app.query_one(BudgetGauges).values["total"][0] == pytest.approx(0.15)

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_log_tail_follows_the_selected_job(tmp_path):
    from tui.widgets.logtail import LogTail

    mid_run(tmp_path)
    job = "c02-hevc-crf27-s0.500-p05medium"
    log = tmp_path / "jobs" / job / "log"
    log.parent.mkdir(parents=True)
    log.write_text("job started\nencoding frame 1/40\n")
    app = DashApp(tmp_path, poll_s=0.05)

    async def until(pilot, predicate):
        for _ in range(100):
            if predicate():
                return
            await pilot.pause(0.05)
        raise AssertionError(f"log tail shows {list(app.query_one(LogTail).lines)}")

    async def scenario(pilot):
        await pilot.press("3")
        jobs = app.query_one(JobsTable)
        jobs.move_cursor(row=jobs.get_row_index(job))
        tail = app.query_one(LogTail)
        await until(pilot, lambda: tail.job_id == job and "encoding frame 1/40" in tail.lines)
        with open(log, "a") as f:
            f.write("encoding frame 2/40\n")
        await until(pilot, lambda: "encoding frame 2/40" in tail.lines)
        jobs.move_cursor(row=jobs.get_row_index("c01-hevc-crf22-s0.500-p05medium"))
        await until(
            pilot, lambda: list(tail.lines)[:1] == ["c01-hevc-crf22-s0.500-p05medium: no log yet"]
        )

    run_app(app, scenario)


def test_sorting_by_header_and_key(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        table = app.query_one(CandidatesTable)
        first = lambda: str(table.coordinate_to_cell_key((0, 0)).row_key.value)  # noqa: E731
        assert first() == "hevc-crf26-s0.500-p05medium"  # rank 1
        table.sort_by("score")
        assert first() == min((r for r in app.model.candidates.values() if r.score is not None), key=lambda r: r.score).id  # fmt: skip
        table.sort_by("score")  # again: reversed, empty cells stay grouped
        assert app.model.candidates[first()].score is None
        await pilot.press("s")  # next column after score: the lane
        assert table.sort_column == "lane" and not table.sort_reverse
        await pilot.press("s")  # then the id
        assert table.sort_column == "id" and first() == sorted(app.model.candidates)[0]

    run_app(app, scenario)


def test_every_tab_key_shows_its_tab_from_any_other(tmp_path):
    from textual.widgets import TabbedContent

    from tui.tabs import TABS

    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        shown = []
        for key in "3645621":  # from a focused table to a pane without one, and back
            await pilot.press(key)
            shown.append(app.query_one(TabbedContent).active)
        return shown

    assert run_app(app, scenario) == [TABS[int(k) - 1].id for k in "3645621"]


def test_a_redraw_that_fires_while_the_app_shuts_down_draws_nothing(tmp_path):
    # The refresh timer is the app's and outlives its screens by a moment at exit: a tick that
    # lands after the widgets are gone must not crash the app (seen in CI under load).
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        return app.redraws

    drawn = run_app(app, scenario)
    assert drawn >= 1
    app.model.version += 1  # something new to draw, after the screens were pruned
    app.redraw()
    app._log_start("job", "text")
    app._log_more("job", "more")
    assert app.redraws == drawn


def test_a_vanished_run_directory_is_shown_not_fatal(tmp_path):
    run_dir = tmp_path / "run"
    mid_run(run_dir)
    app = DashApp(run_dir, poll_s=0.05)

    async def scenario(pilot):
        shutil.rmtree(run_dir)
        for _ in range(100):
            await pilot.pause(0.05)
            if "VANISHED" in app.query_one(RunHeader).text:
                break
        assert "VANISHED" in app.query_one(RunHeader).text and "is gone" in app.query_one(RunHeader).text  # fmt: skip
        assert app.query_one(CandidatesTable).row_count == 10  # what was known stays on screen
        await pilot.press("p")  # steering a vanished run: a warning, no crash, nothing written
        assert not run_dir.exists()

    run_app(app, scenario)


def test_keys_write_control_commands_and_acknowledgements_clear_them(tmp_path):
    run = mid_run(tmp_path, close=False)
    app = DashApp(tmp_path, poll_s=0.05)

    def commands() -> list[dict]:
        path = tmp_path / "control.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    async def scenario(pilot):
        await pilot.press("p")
        [pause] = commands()
        assert pause["command"] == "pause"
        assert "sent: pause" in app.query_one(RunHeader).text
        run.emit("control", id=pause["id"], command="pause", ok=True, detail="", paused=True,
                 caps={"max_total_cost": 1.0, "max_cost_per_cycle": 0.5, "max_cost_per_job": 0.2})  # fmt: skip
        await settled(app, pilot, events=run.ledger.seq)
        header = app.query_one(RunHeader).text
        assert "PAUSED" in header and "sent:" not in header
        await pilot.press("p")  # paused now: the same key resumes
        assert commands()[-1]["command"] == "resume"
        # caps: the modal; applying asks first, then writes every cap as shown (tests/test_dash_caps.py)
        await pilot.press("b")
        assert isinstance(app.screen, CapsScreen)
        app.screen.query_one("#max_total_cost").value = "2.5"
        app.screen.query_one("#max_cost_per_job").value = ""
        await pilot.press("enter")
        for _ in range(100):
            if isinstance(app.screen, ConfirmScreen):
                break
            await pilot.pause(0.05)
        await pilot.press("y")
        for _ in range(100):
            if commands()[-1]["command"] == "caps" and app.screen is app.screen_stack[0]:
                break
            await pilot.pause(0.05)
        assert commands()[-1] | {"id": 0, "ts": 0} == {"id": 0, "ts": 0, "command": "caps", "max_total_cost": 2.5, "max_cost_per_cycle": 0.5, "max_cost_per_job": None}  # fmt: skip
        # cancel: the selected job in the jobs tab, after a confirmation
        await pilot.press("3")
        jobs = app.query_one(JobsTable)
        jobs.move_cursor(row=jobs.get_row_index("c02-hevc-crf27-s0.500-p05medium"))
        await pilot.press("c")
        await pilot.press("n")  # no: nothing written
        assert commands()[-1]["command"] == "caps"
        await pilot.press("c", "y")
        assert commands()[-1] == commands()[-1] | {"command": "cancel", "job_id": "c02-hevc-crf27-s0.500-p05medium"}  # fmt: skip
        await pilot.press("x", "y")
        assert commands()[-1]["command"] == "stop"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_a_finished_run_is_not_steered(tmp_path):
    run = SyntheticRun(tmp_path)
    run.start_cycle()
    run.end_cycle(best=None)
    run.emit("run_finished", reason="reached --max-cycles 1", spent=0.0, best=None)
    run.close()
    with open(tmp_path / "ledger.jsonl", "a") as f:
        f.write("garbage\n")
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        assert "FINISHED" in app.query_one(RunHeader).text
        assert "1 unreadable events skipped" in app.query_one(RunHeader).text
        await pilot.press("p", "x")
        assert not (tmp_path / "control.jsonl").exists()

    run_app(app, scenario)


# --- snapshots (pytest-textual-snapshot): the screens at fixed sizes ------------------------


def _snapshot_app(tmp_path: Path) -> DashApp:
    mid_run(tmp_path / "synthetic-run")
    return DashApp(tmp_path / "synthetic-run", poll_s=0.05)


@pytest.mark.parametrize(
    "tab, size",
    [("1", (80, 24)), ("2", (80, 24)), ("3", (80, 24)), ("4", (80, 24)), ("5", (80, 24)),
     ("6", (80, 24)), ("question_mark", (80, 24)), ("1", (120, 36)), ("3", (120, 36)), ("5", (120, 36))],
    ids=["candidates-80x24", "refusals-80x24", "jobs-80x24", "bands-80x24", "frontier-80x24",
         "timeline-80x24", "help-80x24", "candidates-120x36", "jobs-120x36", "frontier-120x36"],
)  # fmt: skip
def test_snapshot(snap_compare, tmp_path, tab, size):
    app = _snapshot_app(tmp_path)

    async def before(pilot):
        await settled(app, pilot)
        await pilot.press(tab)
        await pilot.pause(0.2)
        app.redraw(force=True)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)


# --- against a real loop --------------------------------------------------------------------


@pytest.mark.slow
def test_dashboard_pauses_and_resumes_a_real_local_loop(tmp_path):
    from tests.test_loop import start_loop

    run_dir = tmp_path / "run"
    proc = start_loop(run_dir, "--max-cycles", "1", "--explore", "3", "--local-concurrency", "1")
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "ledger.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        app = DashApp(run_dir, poll_s=0.1)

        async def until(pilot, predicate, what: str, timeout: float = 120):
            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting for {what}")
                await pilot.pause(0.1)

        async def scenario(pilot):
            m = app.model
            await until(pilot, lambda: m.state.jobs, "a dispatch")
            await pilot.press("p")
            await until(pilot, lambda: m.state.paused and not app.pending, "the pause to be acknowledged")  # fmt: skip
            assert "PAUSED" in app.query_one(RunHeader).text
            dispatched = len(m.state.jobs)
            # the running job finishes; nothing new starts while paused
            await until(pilot, lambda: not m.state.running, "the running job to finish")
            await pilot.pause(2.0)
            assert len(m.state.jobs) == dispatched
            await pilot.press("p")
            await until(pilot, lambda: not m.state.paused and not app.pending, "the resume")
            await until(pilot, lambda: len(m.state.jobs) > dispatched, "a dispatch after resuming")
            await pilot.press("x", "y")
            await until(pilot, lambda: m.state.finished, "the loop to stop")
            return [(e.command, e.ok) for e in m.controls]

        assert run_app(app, scenario, settle=False) == [
            ("pause", True),
            ("resume", True),
            ("stop", True),
        ]
        proc.wait(timeout=60)
        assert proc.returncode == 0
        assert json.loads((run_dir / "summary.json").read_text())["reason"] == "stopped by request"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ledger_writer_is_the_real_one(tmp_path):
    """The synthetic run writes through tac's Ledger, so its events carry the real envelope."""
    mid_run(tmp_path)
    line = json.loads((tmp_path / "ledger.jsonl").read_text().splitlines()[0])
    assert set(line) >= {"v", "seq", "ts", "run_id", "type"} and line["run_id"] == "synthetic-run"
    assert Ledger(tmp_path, "synthetic-run").seq == 48


# --- the tac-dash command -------------------------------------------------------------------


def test_tac_dash_command_line_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    def dash(*args, cwd=tmp_path):
        return subprocess.run([sys.executable, "-m", "tui", *args], cwd=cwd, capture_output=True, text=True, timeout=60)  # fmt: skip

    helped = dash("--help")
    assert (
        helped.returncode == 0
        and "--start" in helped.stdout
        and "never stops the loop" in helped.stdout
    )
    none = dash()
    assert none.returncode == 1 and none.stderr.strip().startswith("tac-dash: no run under") and len(none.stderr.strip().splitlines()) == 1  # fmt: skip
    (tmp_path / "notarun").mkdir()
    bad = dash(str(tmp_path / "notarun"))
    assert bad.returncode == 1 and "is not a tac run (no ledger.jsonl)" in bad.stderr
    both = dash(str(tmp_path), "--start", "--max-cycles", "1")
    assert both.returncode == 2 and "not both" in both.stderr
    typo = dash("--strat")
    assert typo.returncode == 2 and typo.stderr.strip() == "tac-dash: no such option --strat (did you mean --start?)"  # fmt: skip
    version = dash("--version")
    assert version.returncode == 0 and version.stdout.startswith("tac-dash ")


def test_start_keeps_tac_dash_options_and_hands_the_rest_to_the_loop(monkeypatch):
    """`tac-dash --start … --poll 0.5 …`: --poll is the dashboard's wherever it stands."""
    import typer

    from tui import cli

    seen = {}

    def fake_start(
        loop_args,
    ):  # the real one is exercised by test_started_loop_outlives_the_dashboard
        seen["loop"] = loop_args
        raise typer.Exit(0)

    monkeypatch.setattr(cli, "start_loop", fake_start)
    with pytest.raises(SystemExit) as done:
        cli.main(
            ["--start", "--max-cycles", "2", "--poll", "0.5", "--lanes", "codec,nerv", "--json"]
        )
    assert done.value.code == 0
    assert seen["loop"] == ["--max-cycles", "2", "--lanes", "codec,nerv", "--json"]


def test_newest_run_is_the_default(tmp_path):
    import os

    from tui.model import newest_run

    for name, mtime in (("old", 1_000), ("new", 2_000), ("middle", 1_500)):
        mid_run(tmp_path / "runs" / name)
        os.utime(tmp_path / "runs" / name / "ledger.jsonl", (mtime, mtime))
    assert newest_run(tmp_path / "runs").name == "new"
    assert newest_run(tmp_path / "nothing") is None


@pytest.mark.slow
def test_started_loop_outlives_the_dashboard(tmp_path, monkeypatch):
    from tests.test_loop import FAST, events
    from tui.cli import start_loop

    monkeypatch.chdir(tmp_path)
    run_dir = start_loop([*FAST, "--max-cycles", "1", "--explore", "1"])
    assert run_dir.parent == Path("runs") and (run_dir / "loop.log").exists()
    app = DashApp(run_dir, poll_s=0.05)

    async def scenario(pilot):
        await pilot.press("q")  # the dashboard quits …

    run_app(app, scenario)
    deadline = time.monotonic() + 180
    # … the loop goes on: its last act is summary.json, written after the run_finished event
    while not (any(e.type == "run_finished" for e in events(run_dir)) and (run_dir / "summary.json").exists()):  # fmt: skip
        assert time.monotonic() < deadline, "the loop did not finish after the dashboard quit"
        time.sleep(0.2)
    assert json.loads((run_dir / "summary.json").read_text())["jobs"]["ok"] == 1
