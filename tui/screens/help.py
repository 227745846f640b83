"""`?`: every key, and how steering reaches the loop."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# tac-dash

| key | what it does |
|---|---|
| `1`–`6` | candidates, refusals, jobs, bands, frontier, timeline |
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


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
