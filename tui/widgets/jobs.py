"""Jobs (one row per job id, updated in place) and hosts (what each is running and has cost)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Static

from tac.control.ledger import JobState
from tui.model import RunModel
from tui.widgets.candidates import STATUS_STYLE

COLUMNS = (("job", "job"), ("host", "host"), ("state", "state"), ("wall", "wall"),
           ("cost", "cost"), ("last", "last log line"))  # fmt: skip


def cells(job: JobState, last: str) -> tuple:
    detail = job.detail if job.finished and job.state != "ok" and job.detail else last
    return (
        job.job_id, job.host, Text(job.state, STATUS_STYLE.get(job.state, "")),
        Text(f"{job.wall_s:.0f} s", justify="right"),
        Text("…" if job.cost is None else f"{job.cost:.4g}", justify="right"),
        Text(detail[-120:], "dim" if job.state in ("ok", "running", "dispatched") else "red"),
    )  # fmt: skip


class JobsTable(DataTable):
    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._drawn: dict[str, tuple] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def sync(self, model: RunModel) -> None:
        for job in model.state.jobs.values():
            new = cells(job, model.last_log.get(job.job_id, ""))
            old = self._drawn.get(job.job_id)
            if old is None:
                self.add_row(*new, key=job.job_id)
            elif old != new:
                for (key, _), a, b in zip(COLUMNS, old, new, strict=True):
                    if a != b:
                        self.update_cell(job.job_id, key, b, update_width=True)
            self._drawn[job.job_id] = new

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)


class HostsPanel(Static):
    text = ""  # the plain text last drawn

    def show(self, model: RunModel) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        hosts = model.hosts()
        if not hosts:
            t.append("no job dispatched yet", "dim")
        for name, running, done, spent in hosts:
            t.append(f"{name}", "bold")
            t.append(f" {running} running, {done} done, {spent:.4g} spent   ")
        self.text = t.plain  # what tests and benchmarks read
        self.update(t)
