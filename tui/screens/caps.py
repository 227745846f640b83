"""`b`: change the loop's budget caps. What the fields show is what is applied, after a
confirmation: all three caps, an empty field meaning no cap."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label
from textual.widgets.input import Selection

from tac.control.steering import CAPS
from tui.screens.confirm import ConfirmScreen

LABELS = {"max_total_cost": "total", "max_cost_per_cycle": "per cycle", "max_cost_per_job": "per job"}  # fmt: skip
FIELDS = tuple((key, LABELS[key]) for key in CAPS)
NO_CAP = "no cap"
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
FOLLOW_S = 0.25  # how often untouched fields catch up with the loop's caps

Caps = dict[str, float | None]


def show(value: float | None) -> str:
    """A cap as a field's text: short, and read back as exactly the same number."""
    if value is None:
        return ""
    text = f"{value:g}"
    return text if float(text) == value else repr(float(value))


def parse(text: str) -> float | None:
    """A field's text as a cap (None: no cap); ValueError with a sentence when it is not one."""
    text = text.strip()
    if not text:
        return None
    if not NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is too large (empty means no cap)")
    if value < 0:
        raise ValueError("a cap cannot be negative")
    return value + 0.0  # -0 is 0


def question(caps: Caps) -> str:
    """What the confirmation asks: every cap, laid out as the dialog lays them out."""
    rows = (f"{label:>10}  {NO_CAP if caps[key] is None else show(caps[key])}" for key, label in FIELDS)  # fmt: skip
    return "\n".join(("Set the loop's budget caps to", *rows))


def problem(text: str) -> str:
    """Why a field's text is not a cap, or ""."""
    try:
        parse(text)
    except ValueError as exc:
        return str(exc)
    return ""


class CapValue(Validator):
    """Marks a field invalid (red) while its text is not a cap; empty is valid: no cap."""

    def validate(self, value: str) -> ValidationResult:
        why = problem(value)
        return self.failure(why) if why else self.success()


class CapInput(Input):
    """An Input whose editing keys run in the order they were typed.

    Textual's Input inserts a printable key at once but runs backspace, arrows, home/end … as
    bindings only after the key has bubbled up to the app (textual#6605). While the dashboard
    is busy redrawing, keys queue up, and a character typed after a backspace landed before it:
    edits went to the wrong place or vanished. Here the field's own bindings run inline."""

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable:
            return  # Input._on_key inserts it, next in the MRO
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if not binding.priority and await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return


class CapsScreen(ModalScreen[Caps | None]):
    """Dismissed with every cap as shown ({name: value or None}) once confirmed, or None."""

    BINDINGS = [("escape", "dismiss(None)", "Cancel")]

    def __init__(self, current: Callable[[], Caps]):
        super().__init__()
        self.current = current  # the loop's caps now (with what was sent and not yet applied)
        now = current()
        self._shown = {key: show(now.get(key)) for key, _ in FIELDS}  # what we put there, not typed

    def compose(self) -> ComposeResult:
        with Vertical(id="caps"):
            yield Label(f"Budget caps — empty means {NO_CAP}; enter to apply", id="caps-title")
            for key, label in FIELDS:
                with Horizontal(classes="cap-row"):
                    yield Label(f"{label:>10}", classes="cap-label")
                    yield CapInput(self._shown[key], id=key, placeholder=NO_CAP,
                                   validators=[CapValue()])  # fmt: skip
            yield Label("", id="caps-error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.set_interval(FOLLOW_S, self._follow)

    def focus_first(self) -> None:
        """Focus the total field now, not after a refresh: keys typed right after `b` land in it."""
        self.set_focus(self.query_one(f"#{FIELDS[0][0]}", CapInput))

    # --- what the fields hold ---------------------------------------------------------------
    def _field(self, key: str) -> CapInput:
        return self.query_one(f"#{key}", CapInput)

    def values(self) -> Caps | None:
        """Every cap as the fields show it, or None (the first problem shown, its field focused)."""
        values = {}
        for key, label in FIELDS:
            try:
                values[key] = parse(self._field(key).value)
            except ValueError as exc:
                self.query_one("#caps-error", Label).update(f"{label}: {exc}")
                self.set_focus(self._field(key))
                return None
        return values

    def on_input_changed(self, event: Input.Changed) -> None:
        problems = [f"{label}: {why}" for key, label in FIELDS if (why := problem(self._field(key).value))]  # fmt: skip
        self.query_one("#caps-error", Label).update(problems[0] if problems else "")

    def _follow(self) -> None:
        """Fields nobody typed in follow the loop's caps (another `tac steer`, an acknowledgement);
        what the user typed is never touched."""
        if self.app.screen is not self:
            return  # a confirmation is asking about what the fields held
        now = self.current()
        for key, _ in FIELDS:
            text, field = show(now.get(key)), self._field(key)
            if text == self._shown[key] or field.value != self._shown[key]:
                continue
            everything = bool(field.value) and field.selection == Selection(0, len(field.value))
            field.value, self._shown[key] = text, text
            field.selection = Selection(0, len(text)) if everything else Selection.cursor(len(text))

    # --- applying ---------------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self._apply()
        else:
            self.dismiss(None)

    def _apply(self) -> None:
        values = self.values()
        if values is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(values)

        self.app.push_screen(ConfirmScreen(question(values)), answered)
