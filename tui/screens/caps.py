"""`b`: change the loop's budget caps (empty = no cap)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

FIELDS = (("max_total_cost", "total"), ("max_cost_per_cycle", "per cycle"), ("max_cost_per_job", "per job"))  # fmt: skip


class CapsScreen(ModalScreen[dict | None]):
    """Dismissed with the changed caps ({name: value or None}), or None when cancelled."""

    BINDINGS = [("escape", "dismiss(None)", "Cancel")]

    def __init__(self, caps: dict[str, float | None]):
        super().__init__()
        self.caps = caps

    def compose(self) -> ComposeResult:
        with Vertical(id="caps"):
            yield Label("Budget caps — empty means no cap; enter applies", id="caps-title")
            for key, label in FIELDS:
                with Horizontal(classes="cap-row"):
                    yield Label(f"{label:>10}", classes="cap-label")
                    value = self.caps.get(key)
                    yield Input("" if value is None else f"{value:g}", id=key, type="number",
                                placeholder="no cap")  # fmt: skip
            yield Label("", id="caps-error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def _changes(self) -> dict | None:
        changes = {}
        for key, label in FIELDS:
            text = self.query_one(f"#{key}", Input).value.strip()
            try:
                value = None if not text else float(text)
            except ValueError:
                self.query_one("#caps-error", Label).update(f"{label}: {text!r} is not a number")
                return None
            if value is not None and value < 0:
                self.query_one("#caps-error", Label).update(f"{label}: a cap cannot be negative")
                return None
            if value != self.caps.get(key):
                changes[key] = value
        return changes

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._apply()
        else:
            self.dismiss(None)

    def _apply(self) -> None:
        changes = self._changes()
        if changes is not None:
            self.dismiss(changes)
