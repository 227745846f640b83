"""The selected job's log, followed live from RUN_DIR/jobs/ID/log (the loop mirrors it there from
whichever host runs the job)."""

from __future__ import annotations

from textual.widgets import Log


class LogTail(Log):
    job_id: str | None = None
    placeholder = True  # showing a hint, not the log: the first real text replaces it

    def start(self, job_id: str | None, text: str) -> None:
        self.job_id = job_id
        self.clear()
        self.placeholder = not text
        if job_id is None:
            self.write_line("select a job to follow its log")
        elif not text:
            self.write_line(f"{job_id}: no log yet")
        else:
            self.write(text)

    def more(self, job_id: str, text: str) -> None:
        if job_id != self.job_id or not text:
            return
        if self.placeholder:
            self.clear()
            self.placeholder = False
        self.write(text)
