"""One schema for ledger events: whatever a ledger holds, readers skip what is unreadable and
never crash — the loop's fold and `--resume`, tac-dash's model and app, and the writer's repair."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from tac.control.config import LoopConfig
from tac.control.events import UnknownEvent, parse_line
from tac.control.ledger import Ledger, fold, read_ledger
from tac.control.synthetic import WEIGHTS, mid_run
from tests.conftest import run_tac
from tui.app import DashApp
from tui.model import LedgerTail, RunModel, load

ENVELOPE = '"v":1,"seq":900,"ts":1800000100.0,"run_id":"synthetic-run"'


def _line(body: str) -> str:
    return "{" + ENVELOPE + "," + body + "}"


# Type-confused events: each is a known type with one field of the wrong type or shape. Every
# one must be counted as unreadable and skipped by every reader.
CONFUSED = [
    _line('"type":"finished","job_id":"c02-x","outcome":"ok","cost":"abc","wall_s":1.0'),
    _line('"type":"finished","job_id":"c02-x","outcome":"ok","cost":NaN,"wall_s":1.0'),
    _line('"type":"finished","job_id":"c02-x","outcome":"ok","cost":Infinity,"wall_s":1.0'),
    _line('"type":"finished","job_id":"c02-x","outcome":"bogus","cost":0.1,"wall_s":1.0'),
    _line('"type":"finished","job_id":7,"outcome":"ok","cost":0.1,"wall_s":1.0'),
    '{"v":1,"seq":900,"ts":"yesterday","run_id":"synthetic-run","type":"cycle_started","cycle":3}',
    '{"v":1,"seq":900,"ts":NaN,"run_id":"synthetic-run","type":"cycle_started","cycle":3}',
    _line('"type":"heartbeat","job_id":"c02-x","state":5,"wall_s":1.0,"log_bytes":0'),
    _line('"type":"cycle_started","cycle":"three"'),
    _line('"type":"cycle_finished","cycle":2,"best":"good"'),
    _line('"type":"ranked","cycle":2,"n":3,"eligible":1,"refusals":{},"top":[],"shown":"rows"'),
    _line('"type":"ranked","cycle":2,"n":3,"eligible":1,"refusals":{},"top":[],"shown":[{"id":1}]'),
    _line('"type":"ranked","cycle":2,"n":3,"eligible":1,"refusals":{},"top":[],"shown":[{"id":"a","rank":1,"params":"p","bytes":1,"band":[1,2],"refusal":null,"reason":""}]'),
    _line('"type":"ranked","cycle":2,"n":3,"eligible":1,"refusals":{"x":"many"},"top":[]'),
    _line('"type":"dispatched","job_id":"c02-y","host":"local","cycle":2,"attempt":0,"reserved":0.1,"spec":{"job_id":"c02-y"}'),
    _line('"type":"anchor_added","job_id":"c02-y","anchor":{"id":"a"}'),
    _line('"type":"control","id":"k","command":"pause","ok":"yes","detail":"","paused":true,"caps":{}'),
    _line('"type":"control","id":"k","command":"caps","ok":true,"detail":"","paused":false,"caps":{"max_total_cost":"lots"}'),
    _line('"type":"log","job_id":"c02-x","bytes":-5,"last":"x"'),
    _line('"type":"budget","spent":[],"reserved":0,"total_cap":null'),
    _line('"type":"exploring","cycle":2,"ids":"abc","params":[],"reason":""'),
    _line('"type":"multipliers","values":{"bytes":"x"}'),
    '{"type":"cycle_started","cycle":3}',  # no envelope
    '{"v":2,"seq":900,"ts":1.0,"run_id":"r","type":"cycle_started","cycle":3}',  # a version from the future
    "[" * 100_000 + "]" * 100_000,  # 100k-deep nesting
]  # fmt: skip
DAMAGED = [b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b'"a string"', b"42", b"null"]


def test_every_type_confused_event_is_unreadable():
    assert len(CONFUSED) == 25
    for line in CONFUSED:
        assert parse_line(line.encode()) is None, line[:120]
    for line in DAMAGED:
        assert parse_line(line) is None


def test_unknown_types_are_kept_and_change_nothing():
    event = parse_line(_line('"type":"from_the_future","x":{"y":1}').encode())
    assert isinstance(event, UnknownEvent) and event.type == "from_the_future"


def hostile_ledger(run_dir: Path) -> int:
    """A real mid-run ledger with every confused and damaged line between its events."""
    mid_run(run_dir)
    path = run_dir / "ledger.jsonl"
    good = path.read_bytes().splitlines()
    bad = [line.encode() for line in CONFUSED] + DAMAGED
    out = []
    for i, line in enumerate(good):
        out.append(line)
        if i < len(bad):
            out.append(bad[i])
    out += bad[len(good) :]
    path.write_bytes(b"\n".join(out) + b"\n")
    return len(bad)


def test_readers_skip_and_count_hostile_lines(tmp_path):
    n_bad = hostile_ledger(tmp_path)
    read = read_ledger(tmp_path / "ledger.jsonl")
    assert len(read.events) == 48 and len(read.unreadable) == n_bad
    state = fold(read.events)
    assert state.cycle == 2 and len(state.anchors) == 4 and state.spent == pytest.approx(0.11)
    model, tail = RunModel(tmp_path), LedgerTail(tmp_path / "ledger.jsonl")
    assert load(model, tail)
    assert model.events == 48 and model.skipped_lines == n_bad and model.skipped == 0


def test_tac_dash_draws_a_hostile_ledger(tmp_path):
    n_bad = hostile_ledger(tmp_path)
    app = DashApp(tmp_path)

    async def main():
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(200):
                if app.model.events == 48 and app._drawn_version == app.model.version:
                    break
                await pilot.pause(0.05)
            for key in "123456":  # every tab draws
                await pilot.press(key)
                await pilot.pause()
            return app.model.events, app.model.skipped_lines, app.return_code

    events, skipped, code = asyncio.run(main())
    assert (events, skipped) == (48, n_bad) and code in (None, 0)


def test_resume_reads_a_hostile_ledger_and_cuts_a_garbage_last_line(tmp_path):
    hostile_ledger(tmp_path)
    # a run whose cycles are all done: --resume folds the ledger, appends, and stops
    config = LoopConfig(weights=WEIGHTS, max_cycles=2, demo_frames=8)
    (tmp_path / "config.json").write_text(config.model_dump_json())
    [running] = fold(read_ledger(tmp_path / "ledger.jsonl").events).running
    with open(tmp_path / "ledger.jsonl", "ab") as f:
        f.write(_line(f'"type":"finished","job_id":"{running.job_id}","outcome":"failed","cost":0.0,"wall_s":1.0').encode() + b"\n")  # fmt: skip
        f.write(_line('"type":"cycle_finished","cycle":2,"best":1.0').encode() + b"\n")
        f.write(b'{"v":1,"seq":901,"garbage"\n')  # a garbage last line, newline and all
    proc = run_tac("loop", "--resume", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "unreadable lines" in proc.stderr
    read = read_ledger(tmp_path / "ledger.jsonl")
    types = [e.type for e in read.events]
    assert types[-2:] == ["resumed", "run_finished"]
    # the garbage last line was cut before the append: what follows it reads back
    assert read.events[-1].seq == max(e.seq for e in read.events[:-1]) + 1
    assert b'"seq":901,"garbage"' not in (tmp_path / "ledger.jsonl").read_bytes()


def test_a_line_over_a_read_does_not_stall_the_tail(tmp_path):
    mid_run(tmp_path)
    path = tmp_path / "ledger.jsonl"
    with open(path, "ab") as f:  # a single line longer than the tail's 64 MiB read
        f.write(b'{"x":"' + b"a" * (65 << 20) + b'"}\n')
        f.write(_line('"type":"cycle_finished","cycle":2,"best":1.0').encode() + b"\n")
    model, tail = RunModel(tmp_path), LedgerTail(path)
    for _ in range(5):
        load(model, tail)
    assert (
        model.state.cycles_finished == 2
        and tail.skipped == 1
        and tail.offset == path.stat().st_size
    )


def test_a_line_still_being_written_waits(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(b'{"v":1,"seq":1,"ts":1.0,"run_id":"r","type":"cycle_started","cy')
    tail = LedgerTail(path)
    assert tail.read(max_bytes=1 << 20) == ([], False) and tail.offset == 0 and tail.skipped == 0


# --- fuzz ------------------------------------------------------------------------------------


def _mutate(rng: random.Random, lines: list[bytes]) -> list[bytes]:
    lines = list(lines)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        line = lines[i]
        how = rng.randrange(7)
        if how == 0 and line:  # flip bytes
            b = bytearray(line)
            for _ in range(rng.randint(1, 3)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            lines[i] = bytes(b)
        elif how == 1:  # truncate
            lines[i] = line[: rng.randrange(len(line) + 1)]
        elif how == 2:  # a value of another type
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and obj:
                key = rng.choice(sorted(obj))
                obj[key] = rng.choice(["abc", -1, 1e308, None, [], {}, True, {"deep": [[[]]]}])
                lines[i] = json.dumps(obj).encode()
        elif how == 3:  # NaN / Infinity where a number is
            lines[i] = line.replace(b"1.", b"NaN", 1) if rng.random() < 0.5 else line.replace(b"0", b"Infinity", 1)  # fmt: skip
        elif how == 4:  # duplicate or swap
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == 5:  # invalid UTF-8 or a non-object
            lines[i] = rng.choice([b"\xc3\x28" + line, b"[" + line + b"]", b"7"])
        else:  # deep nesting
            lines[i] = b"[" * 5000 + b"]" * 5000
    return lines


def test_fuzzed_ledgers_never_crash_a_reader_or_the_writer(tmp_path):
    rng = random.Random(1234)
    mid_run(tmp_path / "base")
    base = (tmp_path / "base" / "ledger.jsonl").read_bytes().splitlines()
    for k in range(300):
        run = tmp_path / f"m{k}"
        run.mkdir()
        path = run / "ledger.jsonl"
        lines = _mutate(rng, base)
        path.write_bytes(b"\n".join(lines) + (b"\n" if rng.random() < 0.7 else b""))
        read = read_ledger(path)
        fold(read.events)
        model, tail = RunModel(run), LedgerTail(path)
        load(model, tail)
        assert model.events + model.skipped_lines <= len([x for x in lines if x.strip()])
        # the writer repairs and appends; what it wrote reads back as the newest event
        ledger = Ledger(run, "fuzz")
        ledger.append("stopping", reason="fuzz")
        ledger.close()
        after = read_ledger(path)
        assert after.events and after.events[-1].type == "stopping"
        assert after.events[-1].seq == max((e.seq for e in read.events), default=0) + 1
