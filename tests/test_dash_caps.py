"""The caps dialog (`b`) driven by Textual's Pilot: typing edits exactly what is typed, even while
the dashboard is busy; applying asks first and writes every cap exactly as shown."""

from __future__ import annotations

import json
import time

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input, Label

from tac.control.synthetic import mid_run
from tests.test_dash import run_app, settled
from tui.app import DashApp
from tui.screens.caps import CapsScreen, parse, show
from tui.screens.confirm import ConfirmScreen
from tui.widgets.header import RunHeader

JOB = "c02-hevc-crf27-s0.500-p05medium"  # running in mid_run
CAPS = {"max_total_cost": 1.0, "max_cost_per_cycle": 0.5, "max_cost_per_job": 0.2}  # mid_run's


def commands(run_dir) -> list[dict]:
    path = run_dir / "control.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def caps_written(entry: dict) -> dict:
    assert entry["command"] == "caps"
    return {k: v for k, v in entry.items() if k not in ("id", "ts", "command")}


def field(app: DashApp, key: str = "max_total_cost") -> Input:
    return app.screen.query_one(f"#{key}", Input)


def error(app: DashApp) -> str:
    return str(app.screen.query_one("#caps-error", Label).content)


async def open_caps(app: DashApp, pilot) -> None:
    await pilot.press("b")
    assert isinstance(app.screen, CapsScreen)
    assert app.focused is field(app) and field(app).value == "1"


def key_event(key: str) -> events.Key:
    """The event the terminal driver sends for one key ("3", ".", "backspace")."""
    if len(key) == 1:
        return events.Key(key if key.isalnum() else _character_to_key(key), key)
    return events.Key(key, None)


async def type_queued(app: DashApp, pilot, keys) -> None:
    """Keys as a busy app receives them from the terminal: all queued before any is handled."""
    for key in keys:
        app.post_message(key_event(key))
    for _ in range(5):  # a key may take a few hops (field → screen → app) before it is done
        await pilot.pause(0.05)
    await pilot.pause()


async def until(pilot, predicate, what: str, timeout: float = 10.0) -> None:
    """Wait for a dialog's answer to travel: confirmation → dialog → app (each a message hop)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def confirm(app: DashApp, pilot, run_dir) -> dict:
    """Answer the confirmation with y; the caps command it wrote."""
    await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
    sent = len(commands(run_dir))
    await pilot.press("y")
    await until(pilot, lambda: len(commands(run_dir)) > sent, "the caps command")
    await until(pilot, lambda: app.screen is app.screen_stack[0], "the dialogs to close")
    return caps_written(commands(run_dir)[-1])


def app_on(tmp_path, **kw) -> tuple[DashApp, object]:
    run = mid_run(tmp_path, close=False)
    return DashApp(tmp_path, poll_s=0.05, **kw), run


def test_typing_edits_the_field_key_by_key(tmp_path):
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        total = field(app)
        steps = [  # (key, the field afterwards); digits 1–6 are also the app's tab keys
            ("backspace", ""), ("1", "1"), ("2", "12"), (".", "12."), ("5", "12.5"),
            ("home", "12.5"), ("3", "312.5"), ("right", "312.5"), ("delete", "31.5"),
            ("end", "31.5"), ("4", "31.54"), ("left", "31.54"), ("left", "31.54"), ("6", "31.654"),
            ("ctrl+a", "31.654"), ("backspace", "31.654"), ("delete", "1.654"), ("ctrl+e", "1.654"),
            ("backspace", "1.65"),
        ]  # fmt: skip
        seen = []
        for key, _ in steps:
            await pilot.press(key)
            seen.append((key, total.value))
        assert seen == steps
        assert isinstance(app.screen, CapsScreen) and app.focused is total

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_keys_queued_while_the_app_is_busy_keep_their_order(tmp_path):
    """The terminal hands keys over faster than a busy dashboard handles them: the field must
    end as typed, with the editing keys (backspace, arrows, home) applied where they were typed,
    and the keys typed right after `b` must land in the field."""
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await type_queued(app, pilot, ["b", "2", ".", "5"])  # the total field starts selected
        assert isinstance(app.screen, CapsScreen) and field(app).value == "2.5"
        await type_queued(app, pilot, ["backspace"] * 3 + ["1", "2", ".", "5", "home", "3",
                                       "end", "backspace", "6", "left", "left", "4"])  # fmt: skip
        assert field(app).value == "3124.6"
        for i in range(30):  # while the ledger streams in and the app redraws
            run.beat(JOB, 12.0 + i, f"step {i}")
        await type_queued(app, pilot, ["end", *["backspace"] * 6, *"123456"])
        assert field(app).value == "123456"

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_apply_asks_first_then_writes_every_cap_as_shown(tmp_path):
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press(*"12.5", "tab", "end", "backspace", "7", "tab", "backspace")
        shown = {k: field(app, k).value for k in CAPS}
        assert shown == {"max_total_cost": "12.5", "max_cost_per_cycle": "0.7", "max_cost_per_job": ""}  # fmt: skip
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.question.splitlines() == [
            "Set the loop's budget caps to",
            "     total  12.5",
            " per cycle  0.7",
            "   per job  no cap",
        ]
        await pilot.press("n")  # no: back to the dialog, edits kept, nothing written
        await until(pilot, lambda: isinstance(app.screen, CapsScreen), "the dialog again")
        assert not commands(tmp_path)
        assert {k: field(app, k).value for k in CAPS} == shown
        await pilot.click("#apply")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("escape")  # also no
        await until(pilot, lambda: isinstance(app.screen, CapsScreen), "the dialog again")
        assert not commands(tmp_path)
        # a button ignores a press within 0.2 s of the last (Textual's press animation): wait, as a
        # person's hand does
        await until(pilot, lambda: not app.screen.focused.has_class("-active"), "the button to settle")  # fmt: skip
        await pilot.press("enter")
        assert await confirm(app, pilot, tmp_path) == {"max_total_cost": 12.5, "max_cost_per_cycle": 0.7, "max_cost_per_job": None}  # fmt: skip
        assert len(commands(tmp_path)) == 1
        assert "sent: caps" in app.query_one(RunHeader).text
        # cancelling the dialog writes nothing either
        await pilot.press("b", "9", "escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0], "the dialog to close")
        await pilot.pause(0.2)
        assert len(commands(tmp_path)) == 1

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_unchanged_caps_are_applied_as_shown_too(tmp_path):
    """Apply sends all three caps, so the loop ends with what the dialog showed even if its caps
    moved meanwhile (another `tac steer`)."""
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press("enter")
        assert await confirm(app, pilot, tmp_path) == CAPS

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("abc", "total: 'abc' is not a number"),
        ("2,5", "total: '2,5' is not a number"),
        ("-1", "total: a cap cannot be negative"),
        ("1e999", "total: '1e999' is too large (empty means no cap)"),
        ("1..2", "total: '1..2' is not a number"),
    ],
)
def test_an_invalid_entry_is_shown_as_typed_and_not_applied(tmp_path, typed, problem):
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press(*typed)  # the field starts selected: typing replaces it
        assert field(app).value == typed  # nothing silently dropped
        assert error(app) == problem and field(app).has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CapsScreen) and error(app) == problem
        await pilot.click("#apply")
        await pilot.pause(0.2)
        assert isinstance(app.screen, CapsScreen) and app.focused is field(app)
        assert not commands(tmp_path)
        await pilot.press("ctrl+a", "ctrl+k", "3")  # fixed: the error goes
        assert error(app) == "" and not field(app).has_class("-invalid")
        await pilot.press("enter")
        assert (await confirm(app, pilot, tmp_path))["max_total_cost"] == 3.0

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_an_empty_field_means_no_cap_and_says_so(tmp_path):
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press("tab", "tab", "backspace")  # per job: selected on focus, cleared
        job = field(app, "max_cost_per_job")
        assert job.value == "" and job.placeholder == "no cap"
        assert not job.has_class("-invalid") and error(app) == ""  # empty is valid: no cap
        assert "empty means no cap" in str(app.screen.query_one("#caps-title", Label).content)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert app.screen.question.endswith("per job  no cap")
        assert (await confirm(app, pilot, tmp_path))["max_cost_per_job"] is None

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_live_updates_never_reset_what_is_typed(tmp_path):
    """Events arrive and the app redraws while the dialog is open; someone else changes the caps:
    the field being typed in keeps its text, untouched fields follow the loop."""
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press("7", ".")
        redraws = app.redraws
        for i in range(50):
            run.beat(JOB, 12.0 + i, f"step {i}")
        run.emit("control", id="someone-else", command="caps", ok=True, detail="", paused=False,
                 caps={"max_total_cost": 3.0, "max_cost_per_cycle": 0.4, "max_cost_per_job": 0.2})  # fmt: skip
        await settled(app, pilot, events=run.ledger.seq)
        await pilot.pause(0.5)  # the dialog catches up at 4 Hz
        assert app.redraws > redraws
        assert field(app).value == "7." and app.focused is field(app)
        assert field(app, "max_cost_per_cycle").value == "0.4"  # nobody typed there: follows
        await pilot.press("5", "enter")
        assert await confirm(app, pilot, tmp_path) == {"max_total_cost": 7.5, "max_cost_per_cycle": 0.4, "max_cost_per_job": 0.2}  # fmt: skip

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_reopening_shows_caps_sent_but_not_yet_applied(tmp_path):
    app, run = app_on(tmp_path)

    async def scenario(pilot):
        await open_caps(app, pilot)
        await pilot.press(*"2.5", "enter")
        await confirm(app, pilot, tmp_path)
        [sent] = commands(tmp_path)
        await pilot.press("b")  # before the loop acknowledged: the dialog shows what was sent
        assert field(app).value == "2.5"
        await pilot.press("escape")
        run.emit("control", id=sent["id"], command="caps", ok=False, detail="refused", paused=False,
                 caps=CAPS)  # fmt: skip
        await settled(app, pilot, events=run.ledger.seq)
        await pilot.press("b")  # rejected: the loop's own caps again
        assert field(app).value == "1"

    try:
        run_app(app, scenario)
    finally:
        run.ledger.close()


def test_a_cap_reads_back_as_the_number_shown():
    for value in (None, 0.0, 1.0, 0.2, 12.5, 0.1234567891, 1e-7, 3e9, 1 / 3):
        assert parse(show(value)) == value
    assert show(1.0) == "1" and show(0.5) == "0.5" and show(0.1234567891) == "0.1234567891"
    assert parse(" 2.5 ") == 2.5 and parse(".5") == 0.5 and parse("-0") == 0.0
    for bad in ("1_000", "inf", "nan", "0x10", "1e", "."):
        with pytest.raises(ValueError):
            parse(bad)
