"""tac-dash's tab spec (`tui.tabs.TABS`) driven by Textual's Pilot: one entry gives a tab its pane,
its key and its line in the help; and the candidates table shows each candidate's lane."""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
from textual.widgets import Static, TabbedContent, TabPane, Tabs

import tui.tabs
from tac.control.synthetic import mid_run
from tests.test_dash import cell, run_app, settled
from tui.app import DashApp
from tui.screens.help import HelpScreen
from tui.tabs import TABS, Tab
from tui.widgets.candidates import COLUMNS, CandidatesTable

NOTES = Tab("notes", "notes", partial(Static, "notes from the tab spec", id="notes-view"), key="8",
            help="a trivial extra tab")  # fmt: skip


async def check_tabs(app: DashApp, pilot, tabs: tuple[Tab, ...]) -> None:
    """Every tab of `tabs` is composed, bound and listed in the help, and nothing else is."""
    tabbed = app.query_one(TabbedContent)
    panes = list(tabbed.query(TabPane))
    assert [p.id for p in panes] == [t.id for t in tabs]  # composed, in the spec's order
    labels = [str(tab.label) for tab in tabbed.query_one(Tabs).query("Tab")]
    assert labels == [f"{t.key} {t.title}" for t in tabs]
    for tab in tabs:  # each pane holds what the tab's widget factory makes
        made = tab.widgets()
        assert [type(w) for w in app.query_one(f"#{tab.id}", TabPane).children] == [type(w) for w in made]  # fmt: skip
    # each key shows its tab, from whichever tab was shown before, and focus moves into it
    for tab in (*reversed(tabs), *tabs):
        binding = app.active_bindings[tab.key].binding
        assert binding.action == f"show_tab({tab.id!r})"
        await pilot.press(tab.key)
        assert tabbed.active == tab.id
        focused = app.focused
        assert isinstance(focused, Tabs) or app.query_one(f"#{tab.id}") in focused.ancestors
    await pilot.press("question_mark")
    assert isinstance(app.screen, HelpScreen)
    shown = app.screen.text.splitlines()
    for tab in tabs:
        assert f"{tab.key:>6} {tab.title:<13}{tab.help}" in shown
    await pilot.press("escape")
    assert not isinstance(app.screen, HelpScreen)


def test_every_tab_of_the_spec_is_composed_bound_and_helped(tmp_path):
    mid_run(tmp_path)
    app = DashApp(tmp_path, poll_s=0.05)
    assert app.tabs == TABS

    async def scenario(pilot):
        await check_tabs(app, pilot, TABS)
        await pilot.press("1")  # the tables take focus; the panes without one give it the tab bar
        assert app.focused is app.query_one(CandidatesTable)
        await pilot.press("4")
        assert isinstance(app.focused, Tabs)

    run_app(app, scenario)


def test_a_tab_added_to_the_spec_needs_no_other_edit(tmp_path, monkeypatch):
    mid_run(tmp_path)
    monkeypatch.setattr(tui.tabs, "TABS", (*TABS, NOTES))
    app = DashApp(tmp_path, poll_s=0.05)  # reads the spec as it is now
    assert app.tabs[-1] is NOTES

    async def scenario(pilot):
        await check_tabs(app, pilot, (*TABS, NOTES))
        await pilot.press("8")
        assert str(app.query_one("#notes-view", Static).content) == "notes from the tab spec"
        assert app.query_one("#notes", TabPane).display
        assert not app.query_one("#candidates", TabPane).display
        await pilot.press("1")  # the built-in tabs still work beside it
        assert app.query_one(TabbedContent).active == "candidates"

    run_app(app, scenario)


@pytest.mark.parametrize(
    "tabs, message",
    [((*TABS, dataclasses.replace(NOTES, key="q")), "bound twice"),  # the app's quit key
     ((*TABS, dataclasses.replace(NOTES, key="3")), "bound twice"),  # the jobs tab's key
     ((*TABS, dataclasses.replace(NOTES, id="jobs")), "share an id"),
     ((*TABS, dataclasses.replace(NOTES, help="x" * 57)), "help over 56 characters")],
    ids=["app-key", "tab-key", "tab-id", "long-help"],
)  # fmt: skip
def test_a_tab_that_clashes_is_refused(tmp_path, tabs, message):
    with pytest.raises(ValueError, match=message):
        DashApp(tmp_path, tabs=tabs)


def test_the_candidates_table_shows_each_candidates_lane(tmp_path):
    run = mid_run(tmp_path, close=False)
    # a later ranking with a row of another lane: its setting is that lane's own label
    shown = [
        {"id": "flat-q3", "lane": "flat", "rank": 1, "params": "flat q3 (a label)", "bytes": 9_000,
         "band": [1.0, 1.2, 1.5], "refusal": None, "reason": ""},
        {"id": "hevc-crf28-s0.500-p05medium", "lane": "codec", "rank": 2,
         "params": "hevc 28 ×0.50 medium", "bytes": 22_000, "band": [11.8, 12.1, 12.5],
         "refusal": None, "reason": ""},
    ]  # fmt: skip
    run.emit("ranked", cycle=run.cycle, n=2, eligible=2, refusals={}, top=[], shown=shown)
    run.close()
    app = DashApp(tmp_path, poll_s=0.05)

    async def scenario(pilot):
        await settled(app, pilot, events=run.ledger.seq)
        table = app.query_one(CandidatesTable)
        assert "lane" in [key for key, _ in COLUMNS]
        labels = [label for _, label in COLUMNS]
        assert [str(c.label) for c in table.columns.values()] == [
            labels[0] + " ▲",
            *labels[1:],
        ]  # sorted by rank
        assert cell(table, "flat-q3", "lane") == "flat"
        assert cell(table, "flat-q3", "params") == "flat q3 (a label)"
        assert cell(table, "flat-q3", "rank") == "1"
        # mid_run's rankings name no lane: read as the codec lane's, as old ledgers were
        assert cell(table, "hevc-crf45-s0.900-p05medium", "lane") == "codec"
        # a dispatched candidate takes its lane from the job spec's candidate
        assert cell(table, "hevc-crf22-s0.500-p05medium", "lane") == "codec"
        table.sort_by("lane")
        assert str(table.coordinate_to_cell_key((0, 0)).row_key.value).startswith("hevc-")
        table.sort_by("lane")  # reversed: the flat row first
        assert str(table.coordinate_to_cell_key((0, 0)).row_key.value) == "flat-q3"

    run_app(app, scenario, settle=False)
