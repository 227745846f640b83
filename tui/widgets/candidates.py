"""The candidates table: one row per candidate id, updated in place as the run moves it along."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tui.model import CandidateRow

# (key, label): the setting first so that an 80-column terminal sees what matters; its lane and
# the id last. The setting is the lane's own short label (from the ledger): never formatted here.
COLUMNS = (("rank", "#"), ("params", "setting"), ("band", "predicted (est.)"), ("bytes", "bytes"),
           ("status", "status"), ("score", "measured"), ("lane", "lane"), ("id", "id"))  # fmt: skip
STATUS_STYLE = {"eligible": "green", "refused": "red", "explore": "magenta", "dispatched": "cyan",
                "running": "bold cyan", "anchored": "bold green", "ok": "green", "failed": "bold red",
                "lost": "yellow", "cancelled": "yellow", "rejected": "bold red",
                "pruned": "magenta", "pruning": "magenta"}  # fmt: skip


def cells(row: CandidateRow) -> tuple:
    band = "—" if row.band is None else f"{row.band[1]:.3f} [{row.band[0]:.2f}–{row.band[2]:.2f}]"
    nbytes = "—" if row.bytes is None else (f"{row.bytes:,}" if row.bytes_measured else f"~{row.bytes:,}")  # fmt: skip
    return (
        "" if row.rank is None else str(row.rank),
        row.params,
        Text(band, "dim" if row.band is None else ""),
        Text(nbytes, justify="right"),
        Text(row.status, STATUS_STYLE.get(row.status, "")),
        Text(
            "—" if row.score is None else f"{row.score:.4f}",
            "bold" if row.score is not None else "dim",
        ),  # fmt: skip
        row.lane,
        row.id,
    )


def sort_value(row: CandidateRow, column: str):
    """What a column sorts by: numbers as numbers, empty cells last. Unranked rows follow the
    ranking: the measured ones best first, then the rest, refused last."""
    if column == "rank" and row.rank is None:
        return (True, row.status == "refused", row.score is None, row.score or 0, row.id)
    value = {
        "rank": row.rank, "lane": row.lane or None, "params": row.params, "band": row.band[1] if row.band else None,
        "bytes": row.bytes, "status": row.status, "score": row.score, "id": row.id,
    }[column]  # fmt: skip
    return (value is None, value if value is not None else 0, row.id)


class CandidatesTable(DataTable):
    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_by_id: dict[str, CandidateRow] = {}
        self._drawn: dict[str, tuple] = {}
        self.sort_column, self.sort_reverse = "rank", False

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)
        self._mark_sorted()

    def sync(self, rows: list[CandidateRow]) -> None:
        """Add new rows, update changed cells; never clear and refill (the cursor stays put)."""
        changed = False
        for row in rows:
            new = cells(row)
            old = self._drawn.get(row.id)
            self.rows_by_id[row.id] = row
            if old is None:
                self.add_row(*new, key=row.id)
                changed = True
            elif old != new:
                for (key, _), a, b in zip(COLUMNS, old, new, strict=True):
                    if a != b:
                        self.update_cell(row.id, key, b, update_width=True)
                        changed = changed or key == self.sort_column
            self._drawn[row.id] = new
        if changed:
            self._sort()

    def _sort(self) -> None:
        column = self.sort_column
        self.sort("id", key=lambda cid: sort_value(self.rows_by_id[cid], column), reverse=self.sort_reverse)  # fmt: skip
        self._mark_sorted()

    def _mark_sorted(self) -> None:
        """▲ or ▼ after the label of the column the rows are sorted by."""
        for key, label in COLUMNS:
            column = self.columns[ColumnKey(key)]
            if key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            if column.label.plain != label:
                column.label = Text(label)
                column.content_width = max(column.content_width, column.label.cell_len)
        # DataTable has no API to relabel a column: its render caches must be told
        self._require_update_dimensions = True
        self._clear_caches()
        self.refresh()

    def sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._sort()

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in COLUMNS]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = False
        self._sort()
        self.notify(f"candidates sorted by {dict(COLUMNS)[self.sort_column]}", timeout=1.5)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    @property
    def selected(self) -> CandidateRow | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return self.rows_by_id.get(str(key.value))
