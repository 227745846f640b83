"""The dashboard's tabs, declared once: `DashApp` composes its panes, binds their keys and lists
them in the help screen from `TABS`. Adding a tab is adding one `Tab` here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from textual.widget import Widget
from textual.widgets import Static

from tui.widgets.candidates import CandidatesTable
from tui.widgets.curves import CurvesView
from tui.widgets.jobs import HostsPanel, JobsTable
from tui.widgets.logtail import LogTail
from tui.widgets.plots import BandPlot, FrontierPlot
from tui.widgets.refusals import RefusalPanel
from tui.widgets.timeline import Timeline

HELP_WIDTH = 56  # what the help screen's line leaves a tab's help at 80 columns


@dataclass(frozen=True)
class Tab:
    """One tab: its pane, the key that shows it and its line in the help (`?`).

    `widget` makes what the pane holds: a widget class, or a factory of one widget or of several
    (top to bottom). Shown, the pane's first widget that takes focus gets it (a table), else the
    tab bar does (← → then switch tabs)."""

    id: str  # the pane's id: what `TabbedContent.active` says
    title: str  # the tab's label, after its key
    widget: Callable[[], Widget | Iterable[Widget]]
    key: str  # a Textual key name: pressing it shows the tab
    help: str  # what the tab shows, in one line of at most HELP_WIDTH characters

    def widgets(self) -> list[Widget]:
        made = self.widget()
        return [made] if isinstance(made, Widget) else list(made)


def _candidates() -> tuple[Widget, ...]:
    return Static(id="candidates-caption"), CandidatesTable(id="candidates-table"), Static(id="candidate-reason")  # fmt: skip


def _jobs() -> tuple[Widget, ...]:
    return HostsPanel(id="hosts"), JobsTable(id="jobs-table"), LogTail(id="log-tail", max_lines=2000)  # fmt: skip


# fmt: off
TABS: tuple[Tab, ...] = (
    Tab("candidates", "candidates", _candidates, key="1",
        help="the ranking: band (est.), bytes, status, score; why"),
    Tab("refusals", "refusals", partial(RefusalPanel, id="refusal-panel"), key="2",
        help="refusals counted by reason; why the selected one was"),
    Tab("jobs", "jobs", _jobs, key="3",
        help="jobs and hosts; the selected job's log, followed live"),
    Tab("bands", "bands", partial(BandPlot, id="band-plot"), key="4",
        help="predicted bands against the scores measured afterwards"),
    Tab("frontier", "frontier", partial(FrontierPlot, id="frontier-plot"), key="5",
        help="measured bytes against score, and the best trade-offs"),
    Tab("timeline", "timeline", partial(Timeline, id="timeline-view"), key="6",
        help="cycles, and where the loop stands against its stop rules"),
    Tab("curves", "curves", partial(CurvesView, id="curves-view"), key="7",
        help="each job's learning curve, its bands, ✗ pruned, ↳ warm"),
)
# fmt: on


def check(tabs: Sequence[Tab], taken: Iterable[str] = ()) -> None:
    """Raise ValueError unless every tab has its own id and a key no other binding has."""
    ids, keys, taken = [t.id for t in tabs], [t.key for t in tabs], {k.strip() for k in taken}
    if not tabs:
        raise ValueError("the dashboard needs at least one tab")
    if len(set(ids)) < len(ids):
        raise ValueError(f"two tabs share an id: {ids}")
    clash = [k for i, k in enumerate(keys) if k in keys[:i] or k in taken]
    if clash:
        raise ValueError(f"tab keys {clash} are bound twice")
    long = [t.id for t in tabs if len(t.help) > HELP_WIDTH]
    if long:
        raise ValueError(f"tabs {long}: help over {HELP_WIDTH} characters (the help screen's line at 80 columns)")  # fmt: skip
