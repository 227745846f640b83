"""The tac-dash app: a thread worker tails the run's ledger into a `RunModel`; a 4 Hz timer
redraws what changed (so a burst of events costs one redraw); keys steer the loop through its
control file. Quitting the dashboard never touches the loop."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane, Tabs
from textual.worker import get_current_worker

from tac.control import steering
from tac.control.ledger import LEDGER
from tui import tabs as tab_spec
from tui.model import LedgerTail, RunModel, load
from tui.screens.caps import CapsScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.log import LogScreen
from tui.tabs import Tab
from tui.widgets.budget import BudgetGauges
from tui.widgets.candidates import CandidatesTable
from tui.widgets.curves import CurvesView
from tui.widgets.header import RunHeader
from tui.widgets.jobs import HostsPanel, JobsTable
from tui.widgets.logtail import LogTail
from tui.widgets.plots import BandPlot, FrontierPlot
from tui.widgets.refusals import RefusalPanel
from tui.widgets.timeline import Timeline

LOG_TAIL_BYTES = 16 * 1024


class DashApp(App):
    CSS_PATH = "dash.tcss"
    TITLE = "tac-dash"
    # tooltip: the line the command palette (ctrl+p) shows under each binding's description
    BINDINGS = [
        Binding(
            "question_mark",
            "help",
            "Help",
            key_display="?",
            tooltip="Every key, and how steering reaches the loop",
        ),
        Binding("q", "quit", "Quit", tooltip="Quit the dashboard: the loop keeps running"),
        # one key, two faces: the footer shows the one that applies (`check_action`)
        Binding("p", "pause", "Pause", tooltip="Dispatch no new job (running jobs go on)"),
        Binding("p", "resume", "Resume", tooltip="Dispatch again"),
        Binding("x", "stop", "Stop", tooltip="Stop the loop; running jobs are cancelled"),
        Binding("c", "cancel_job", "Cancel job", tooltip="Cancel the job selected in the jobs tab"),
        Binding("l", "full_log", "Full log", tooltip="The selected job's whole log"),
        Binding(
            "f", "follow", "Follow", tooltip="The log pane follows the newest running job again"
        ),
        # priority: the dialog opens before the app looks at the keys typed after `b` (else they
        # go to the table and are lost). Input fields consume printable keys before it.
        Binding(
            "b",
            "caps",
            "Caps",
            priority=True,
            tooltip="Change the budget caps (all three, after a yes)",
        ),
        Binding("s", "sort", "Sort", tooltip="Sort candidates by the next column (or click one)"),
    ]  # and each tab's key (`tui.tabs.TABS`), bound per app in __init__
    # actions shown in the footer, and working, on one tab only
    ON_TAB = {"cancel_job": "jobs", "full_log": "jobs", "follow": "jobs", "sort": "candidates"}

    def __init__(self, run_dir: str | os.PathLike, poll_s: float = 0.2, refresh_hz: float = 4.0,
                 tabs: Sequence[Tab] | None = None):  # fmt: skip
        super().__init__()
        # the spec is read now, not at import: a test (or a plug-in) may have extended it
        self.tabs = tuple(tab_spec.TABS if tabs is None else tabs)
        tab_spec.check(self.tabs, taken={k for b in self.BINDINGS for k in b.key.split(",")})
        for tab in self.tabs:
            self.bind(tab.key, f"show_tab({tab.id!r})", description=tab.title, show=False)
        self.run_dir = Path(run_dir)
        self.model = RunModel(self.run_dir)
        self.tail = LedgerTail(self.run_dir / LEDGER)
        self.poll_s, self.refresh_hz = poll_s, refresh_hz
        self.pending: dict[str, str] = {}  # control id → command, until the loop acknowledges
        self._drawn_version = -1
        self._controls_seen = 0
        self._log_job: str | None = None  # the job whose log the worker follows
        self._caps_sent: dict[str, dict] = {}  # control id → caps sent, until acknowledged
        self.redraws = 0  # for benchmarks and tests: how many redraws the events cost
        self._paused_drawn = False  # the pause state the footer shows

    # --- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield BudgetGauges(id="budget")
        with TabbedContent(initial=self.tabs[0].id):
            for tab in self.tabs:
                yield TabPane(f"{tab.key} {tab.title}", *tab.widgets(), id=tab.id)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = f"tac-dash {self.run_dir}"
        self.query_one(LogTail).start(None, "")
        self._focus_into(self.tabs[0].id)
        self.tail_ledger()
        self.set_interval(1 / self.refresh_hz, self.redraw)

    # --- reading (a thread: file I/O and the fold never block the UI) -----------------------
    @work(thread=True, exclusive=True, group="tail")
    def tail_ledger(self) -> None:
        worker = get_current_worker()
        log_job, log_offset = None, 0
        while not worker.is_cancelled:
            load(self.model, self.tail)
            job = self._log_job
            if job != log_job:
                log_job, log_offset = job, self._read_log_start(job)
            elif job is not None:
                log_offset = self._read_log_more(job, log_offset)
            time.sleep(self.poll_s)

    def _log_path(self, job_id: str) -> Path:
        return self.run_dir / "jobs" / job_id / "log"

    def _read_log_start(self, job_id: str | None) -> int:
        text, end = "", 0
        if job_id is not None:
            try:
                with open(self._log_path(job_id), "rb") as f:
                    end = f.seek(0, os.SEEK_END)
                    f.seek(max(0, end - LOG_TAIL_BYTES))
                    text = f.read(end).decode("utf-8", "replace")
            except OSError:
                pass
        self.call_from_thread(self._log_start, job_id, text)
        return end

    def _read_log_more(self, job_id: str, offset: int) -> int:
        try:
            with open(self._log_path(job_id), "rb") as f:
                f.seek(offset)
                data = f.read(LOG_TAIL_BYTES)
        except OSError:
            return offset
        if data:
            self.call_from_thread(self._log_more, job_id, data.decode("utf-8", "replace"))
        return offset + len(data)

    # the DOM is the UI thread's: the worker hands text over through these
    def _log_start(self, job_id: str | None, text: str) -> None:
        if self.is_running:
            self.query_one(LogTail).start(job_id, text)

    def _log_more(self, job_id: str, text: str) -> None:
        if self.is_running:
            self.query_one(LogTail).more(job_id, text)

    # --- drawing (the UI thread, at most refresh_hz times a second) --------------------------
    def redraw(self, force: bool = False) -> None:
        # At exit Textual prunes the screens before it stops the app's own timers and the
        # worker's hand-overs: a tick in between would query widgets that are gone.
        if not self.is_running:
            return
        if self.model.version == self._drawn_version and not force:
            return
        with self.model.lock:
            self._drawn_version = self.model.version
            self.redraws += 1
            m = self.model
            self._acknowledge(m.controls)  # first: the header below shows what is still pending
            self.query_one(RunHeader).show(m, self._pending_text())
            self.query_one(BudgetGauges).show(m)
            self.query_one("#candidates-caption", Static).update(
                m.ranking.words() if m.ranking else Text("no ranking yet", "dim")
            )
            table = self.query_one(CandidatesTable)
            table.sync(list(m.candidates.values()))
            jobs = self.query_one(JobsTable)
            jobs.sync(m)
            self.query_one(LogTail).border_title = self._log_title(jobs)
            self.query_one(HostsPanel).show(m)
            self._draw_selected(table)
            active = self.query_one(TabbedContent).active
            if active == "bands":
                self.query_one(BandPlot).show(m)
            elif active == "frontier":
                self.query_one(FrontierPlot).show(m)
            elif active == "curves":
                self.query_one(CurvesView).show(m)
            self.query_one(Timeline).show(m)
            if m.state.paused != self._paused_drawn:  # the footer's p: Pause or Resume
                self._paused_drawn = m.state.paused
                self.refresh_bindings()

    def on_resize(self) -> None:
        self.redraw(force=True)  # the header, gauges and jobs table fit what they draw to the width

    def _log_title(self, jobs: JobsTable) -> str:
        if jobs.selected is None:
            return "log"
        how = "following the running job" if jobs.follow else "f: follow the running job"
        return f"{jobs.selected} · {how} · l: full log"

    def _draw_selected(self, table: CandidatesTable) -> None:
        row = table.selected
        self.query_one(RefusalPanel).show(self.model, row)
        t = Text()
        if row is not None:
            t.append(f"{row.id}  ", "bold")
            if row.score is not None:
                t.append(f"measured {row.score:.4f}", "bold")
                if row.band_at_dispatch is not None:
                    lo, _, hi = row.band_at_dispatch
                    inside = lo <= row.score <= hi
                    t.append(f", predicted {lo:.3f}–{hi:.3f} before: ")
                    t.append("inside" if inside else "outside", "green" if inside else "red")
                t.append("  ")
            elif row.job_id is not None:
                t.append(f"{row.status} (job {row.job_id})  ")
            if row.refusal:
                t.append(("now refused: " if row.job_id else "refused: ") + row.reason, "red")
            elif row.status == "explore":
                t.append(f"exploration pick: {row.reason}", "magenta")
            elif row.band is not None and row.score is None:
                t.append(f"band {row.band[0]:.3f}–{row.band[2]:.3f} (estimate)")
        self.query_one("#candidate-reason", Static).update(t)

    def _pending_text(self) -> str:
        return ", ".join(self.pending.values())

    def _acknowledge(self, controls: list) -> None:
        if len(controls) < self._controls_seen:  # the ledger was rewritten: start over
            self._controls_seen = 0
        for e in controls[self._controls_seen :]:
            command = self.pending.pop(e.id, None)
            if command is None:
                continue  # someone else's command (tac steer)
            if e.ok:
                self.notify(f"{command}: applied by the loop", timeout=3)
            else:
                self.notify(f"{command}: rejected — {e.detail}", severity="error", timeout=6)
        self._controls_seen = len(controls)

    # --- reacting -------------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#candidates-table")
    def _candidate_highlighted(self) -> None:
        with self.model.lock:
            self._draw_selected(self.query_one(CandidatesTable))

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _job_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._log_job = str(event.row_key.value)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.redraw(force=True)
        self.refresh_bindings()  # the jobs tab's keys come and go with it

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_into(tab)

    def _focus_into(self, tab: str) -> None:
        # focus must move into the shown tab: a focused widget left in a hidden pane would
        # re-activate its own pane. Tabs without a table take the tab bar (← → switch tabs).
        tabbed = self.query_one(TabbedContent)
        focus = next((w for w in tabbed.get_pane(tab).query("*") if w.can_focus), None)
        (focus or tabbed.query_one(Tabs)).focus()

    def _tab_key(self, tab: str) -> str:
        return next(t.key for t in self.tabs if t.id == tab)

    def action_sort(self) -> None:
        self.query_one(CandidatesTable).action_cycle_sort()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.tabs, self.BINDINGS))

    # --- steering ---------------------------------------------------------------------------
    def _steerable(self) -> bool:
        status = self.model.status()
        if status in ("finished", "vanished", "waiting"):
            self.notify(f"the run is {status}: nothing to steer", severity="warning")
            return False
        return True

    def _send(self, command: str, **args) -> str | None:
        """Append a command to the control file; its id, or None when it could not be written."""
        try:
            entry = steering.send(self.run_dir, command, **args)
        except (OSError, ValueError) as exc:
            self.notify(f"{command}: could not write {self.run_dir / steering.CONTROL}: {exc}", severity="error")  # fmt: skip
            return None
        label = command + (f" {args['job_id']}" if "job_id" in args else "")
        self.pending[entry["id"]] = label
        with self.model.lock:  # the worker thread may be folding events right now
            self.query_one(RunHeader).show(self.model, self._pending_text())
        return entry["id"]

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """False hides a binding from the footer (and the palette) where it does not apply."""
        if action in ("pause", "resume"):
            return self.model.state.paused == (action == "resume")
        if action in self.ON_TAB and self.is_running and self.screen is self.screen_stack[0]:
            return self.query_one(TabbedContent).active == self.ON_TAB[action]
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): every binding that applies now, each tab, then
        Textual's own (theme, keys, screenshot) but for those named already."""
        ours = [
            SystemCommand(
                b.description,
                f"{b.key_display or b.key}: {b.tooltip}",
                partial(self.run_action, b.action),
            )
            for b in self.BINDINGS
            if self.check_action(b.action, ())
        ]
        ours += [SystemCommand(f"Show {t.title}", f"{t.key}: {t.help}", partial(self.action_show_tab, t.id)) for t in self.tabs]  # fmt: skip
        yield from ours
        titles = {c.title for c in ours}
        yield from (c for c in super().get_system_commands(screen) if c.title not in titles)

    def action_pause(self) -> None:
        if self._steerable():
            self._send("pause")

    def action_resume(self) -> None:
        if self._steerable():
            self._send("resume")

    def action_full_log(self) -> None:
        job_id = self.query_one(JobsTable).selected
        if job_id is None:
            self.notify("no job yet", severity="warning")
            return
        self.push_screen(LogScreen(job_id, self._log_path(job_id)))

    def action_follow(self) -> None:
        self.query_one(JobsTable).follow = True
        self.redraw(force=True)

    def action_stop(self) -> None:
        if not self._steerable():
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._send("stop")

        self.push_screen(ConfirmScreen("Stop the loop? Running jobs are cancelled."), answered)

    def action_cancel_job(self) -> None:
        if not self._steerable():
            return
        job_id = self.query_one(JobsTable).selected
        job = self.model.state.jobs.get(job_id) if job_id else None
        if job is None or job.finished:
            self.notify(f"select a running job in the jobs tab ({self._tab_key('jobs')}) first", severity="warning")  # fmt: skip
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._send("cancel", job_id=job_id)

        self.push_screen(ConfirmScreen(f"Cancel job {job_id}?"), answered)

    async def action_caps(self) -> None:
        if self.screen is not self.screen_stack[0] or not self._steerable():
            return  # `b` opens the dialog from the dashboard, not over another dialog

        def answered(caps: dict | None) -> None:  # confirmed: every cap as the dialog showed it
            if caps is not None and (cid := self._send("caps", **caps)) is not None:
                self._caps_sent[cid] = caps

        screen = CapsScreen(self._caps_now)
        await self.push_screen(screen, answered)  # keys typed meanwhile wait in the app's queue …
        screen.focus_first()  # … and land in the total field, not on a screen with no focus

    def _caps_now(self) -> dict[str, float | None]:
        """The caps the loop has, or will have once it applies the caps commands still pending."""
        with self.model.lock:
            caps = self.model.caps()
        self._caps_sent = {cid: c for cid, c in self._caps_sent.items() if cid in self.pending}
        for sent in self._caps_sent.values():  # in the order they were sent
            caps |= sent
        return caps
