"""Jobs (one row per job id, updated in place) and hosts (what each is running and has cost)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import DataTable, Static

from tac.control.ledger import JobState
from tui.model import RunModel
from tui.money import money
from tui.widgets.candidates import STATUS_STYLE

COLUMNS = (("job", "job"), ("host", "host"), ("state", "state"), ("wall", "wall"),
           ("cost", "cost"), ("last", "last log line"))  # fmt: skip


def cells(job: JobState, last: str, currency: str) -> tuple:
    detail = job.detail if job.finished and job.state != "ok" and job.detail else last
    return (
        job.job_id, job.host, Text(job.state, STATUS_STYLE.get(job.state, "")),
        Text(f"{job.wall_s:.0f} s", justify="right"),
        Text("…" if job.cost is None else money(job.cost, currency), justify="right"),
        Text(detail, "dim" if job.state in ("ok", "running", "dispatched") else "red"),
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
        rows = {job.job_id: cells(job, model.last_log.get(job.job_id, ""), currency) for job in model.state.jobs.values()}  # fmt: skip
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

    def _room_for_last(self, rows) -> int:
        """Columns the last log line may take so that the table needs no sideways scrolling."""
        widths = [len(label) for _, label in COLUMNS[:-1]]
        for row in rows:
            widths = [max(w, Text(c).cell_len if isinstance(c, str) else c.cell_len) for w, c in zip(widths, row, strict=False)]  # fmt: skip
        used = sum(w + 2 * self.cell_padding for w in widths) + 2 * self.cell_padding
        return max(12, self.size.width - used - 1)  # 1: the vertical scrollbar's room

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
