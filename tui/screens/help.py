"""`?`: every key, and how steering reaches the loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

if TYPE_CHECKING:
    from tui.tabs import Tab

HELP = """\
# tac-dash

| key | what it does |
|---|---|
{tabs}
| `s` | sort the candidates by the next column (or click a header; again reverses) |
| `p` | pause / resume dispatching (running jobs go on) |
| `c` | cancel the job selected in the jobs tab |
| `b` | change the budget caps: all three are applied as shown, after a yes (empty = no cap) |
| `x` | stop the loop (running jobs are cancelled) |
| `?` | this help; `escape` closes it |
| `q` | quit the dashboard: **the loop keeps running** |

**Steering** appends a command to `RUN_DIR/control.jsonl`; the loop reads it every poll and
acknowledges it in its ledger (a `control` event). Until then the header says *sent*. The same
commands work without the dashboard: `tac steer RUN_DIR pause|resume|stop|cancel JOB|caps …`.

**Numbers**: *predicted* bands are estimates from the score-band predictor (never anchors);
*measured* scores are exact evaluations on the header's runner axis and scorer weights; `~` marks
predicted bytes. Spend is metered wall time × each host's price; *held* is what running jobs
have reserved.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bar would end the table cell


def help_text(tabs: Sequence[Tab]) -> str:
    """The help in Markdown: a line per tab (its key, title and what it shows), then the rest."""
    rows = "\n".join(f"| `{t.key}` | **{t.title}**: {_cell(t.help)} |" for t in tabs)
    return HELP.format(tabs=rows)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, tabs: Sequence[Tab]):
        super().__init__()
        self.text = help_text(tabs)  # the Markdown shown: what tests read

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)
