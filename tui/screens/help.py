"""`?`: every key (from the tabs and the app's bindings: one source), and what the numbers mean.
Sized to fit an 80x24 terminal without scrolling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from tui.tabs import Tab

NOTES = """\
Steering writes RUN_DIR/control.jsonl, as `tac steer` does; the header says
"sent" until the loop acknowledges the command in its ledger.
Predicted bands are estimates; measured scores are exact (header's axis and
weights); ~ marks predicted bytes; held = what running jobs have reserved."""


def help_text(tabs: Sequence[Tab], bindings: Sequence[Binding]) -> Text:
    """One line per tab and per key (bindings on one key share its line), then the notes."""
    t = Text(no_wrap=True, overflow="ellipsis")

    def line(key: str, name: str, what: str) -> None:
        t.append(f"{key:>6} ", "bold")
        t.append(f"{name:<13}", "bold cyan")
        t.append(f"{what}\n")

    for tab in tabs:
        line(tab.key, tab.title, tab.help)
    by_key: dict[str, list[Binding]] = {}
    for b in bindings:
        by_key.setdefault(b.key_display or b.key, []).append(b)
    for key, same in by_key.items():
        line(key, "/".join(b.description for b in same), "; ".join(b.tooltip for b in same))
    line("ctrl+p", "Palette", "every action by name")
    t.append("\n")
    t.append(NOTES, "dim")
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, tabs: Sequence[Tab], bindings: Sequence[Binding]):
        super().__init__()
        self.content = help_text(tabs, bindings)
        self.text = self.content.plain  # what tests read

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = "tac-dash keys"
            box.border_subtitle = "escape closes"
            yield Static(self.content, id="help-text")
