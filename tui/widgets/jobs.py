"""Jobs (one row per job id, updated in place) and hosts (what each is running and has cost)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import DataTable, Static

from tac.control.ledger import JobState
from tui.model import JobCurve, RunModel
from tui.money import money
from tui.widgets.candidates import STATUS_STYLE

COLUMNS = (("job", "job"), ("host", "host"), ("state", "state"), ("wall", "wall"),
           ("cost", "cost"), ("last", "last log line"))  # fmt: skip
MIN_LAST = 12  # columns the last log line keeps at any width


def middle_cut(cell: str | Text, width: int) -> str | Text:
    """`cell` in at most `width` columns: its head (cycle, lane, first params) and its tail (a
    warm start's or a retry's suffix) kept, the middle cut out."""
    text = cell.plain if isinstance(cell, Text) else cell
    if len(text) <= width:
        return cell
    head = (width - 1) * 3 // 5
    cut = text[:head] + "…" + text[len(text) - (width - 1 - head) :]
    return Text(cut, cell.style) if isinstance(cell, Text) else cut


def cells(job: JobState, last: str, currency: str, curve: JobCurve | None = None) -> tuple:
    state = job.state
    detail = job.detail if job.finished and job.state != "ok" and job.detail else last
    style = "dim" if state in ("ok", "running", "dispatched") else "red"
    if curve is not None and curve.pruned is not None and state in ("cancelled", "running", "dispatched"):  # fmt: skip
        # the loop's decision, not a failure: "pruning" until the cancel lands, then "pruned"
        state = "pruned" if job.finished else "pruning"
        detail, style = f"{curve.pruned[0]}: {curve.pruned[2]}", "yellow"
    warm = curve is not None and curve.parent is not None  # ↳: continues another job's checkpoint
    return (
        Text(f"↳ {job.job_id}") if warm else job.job_id, job.host, Text(state, STATUS_STYLE.get(state, "")),
        Text(f"{job.wall_s:.0f} s", justify="right"),
        Text("…" if job.cost is None else money(job.cost, currency), justify="right"),
        Text(detail, style),
    )  # fmt: skip


def followed(model: RunModel) -> str | None:
    """The job worth watching: the newest one still running, else the newest one."""
    jobs = list(model.state.jobs.values())
    running = [j for j in jobs if not j.finished]
    return (running or jobs)[-1].job_id if jobs else None


class JobsTable(DataTable):
    """`follow`: the cursor (and so the log pane) stays on the newest running job until a
    person moves it; `f` (the app's binding) follows again."""

    follow = True

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._drawn: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def sync(self, model: RunModel) -> None:
        currency = model.config.get("currency", "$")
        rows = {job.job_id: cells(job, model.last_log.get(job.job_id, ""), currency, model.curves.get(job.job_id)) for job in model.state.jobs.values()}  # fmt: skip
        rows = self._fit_job_ids(rows)
        room = self._room_for_last(rows.values())
        for job_id, new in rows.items():
            last = new[-1].copy()
            last.truncate(room, overflow="ellipsis")
            new = (*new[:-1], last)
            old = self._drawn.get(job_id)
            if old is None:
                self.add_row(*new, key=job_id)
            elif old != new:
                for (key, _), a, b in zip(COLUMNS, old, new, strict=True):
                    if a != b:
                        self.update_cell(job_id, key, b, update_width=True)
            self._drawn[job_id] = new
        if self.follow and (job_id := followed(model)) is not None and job_id != self.selected:
            self.move_cursor(row=self.get_row_index(job_id), animate=False)

    def _widths(self, rows) -> list[int]:
        """The widths every column but the last needs (its label's, or its widest cell's)."""
        widths = [len(label) for _, label in COLUMNS[:-1]]
        for row in rows:
            widths = [max(w, Text(c).cell_len if isinstance(c, str) else c.cell_len) for w, c in zip(widths, row, strict=False)]  # fmt: skip
        return widths

    def _used(self, widths: list[int]) -> int:
        """Columns those take, with padding and the vertical scrollbar's room."""
        return sum(w + 2 * self.cell_padding for w in widths) + 2 * self.cell_padding + 1

    def _fit_job_ids(self, rows: dict[str, tuple]) -> dict[str, tuple]:
        """Job ids too long for the width (a nerv setting's, a warm start's) cut in the middle,
        so that the last column keeps MIN_LAST columns: the selected job's whole id heads the
        log pane."""
        width = self.size.width or self.app.size.width  # hidden (another tab): the screen's
        widths = self._widths(rows.values())
        over = self._used(widths) + MIN_LAST - width
        if over <= 0:
            return rows
        keep = max(len(COLUMNS[0][1]) + 8, widths[0] - over)
        return {key: (middle_cut(row[0], keep), *row[1:]) for key, row in rows.items()}

    def _room_for_last(self, rows) -> int:
        """Columns the last log line may take so that the table needs no sideways scrolling."""
        return max(MIN_LAST, self.size.width - self._used(self._widths(rows)))

    # a person moving the cursor stops following
    def action_cursor_up(self) -> None:
        self.follow = False
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        self.follow = False
        super().action_cursor_down()

    def action_page_up(self) -> None:
        self.follow = False
        super().action_page_up()

    def action_page_down(self) -> None:
        self.follow = False
        super().action_page_down()

    async def _on_click(self, event: events.Click) -> None:
        self.follow = False
        await super()._on_click(event)

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)


class HostsPanel(Static):
    text = ""  # the plain text last drawn

    def show(self, model: RunModel) -> None:
        currency = model.config.get("currency", "$")
        t = Text(no_wrap=True, overflow="ellipsis")
        hosts = model.hosts()
        if not hosts:
            t.append("no job dispatched yet", "dim")
        for name, running, done, spent in hosts:
            t.append(f"{name}", "bold")
            t.append(f" {running} running, {done} done, {money(spent, currency)} spent   ")
        self.text = t.plain  # what tests and benchmarks read
        self.update(t)
