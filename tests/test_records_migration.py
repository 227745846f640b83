"""Files written before lanes were plug-ins (tests/fixtures/records_v1, by b6f90e8) read with
today's code: v1 candidates and anchors migrate on read (their params become the codec lane's),
and every ledger, config, spec and result of a real run is understood."""

import json
import shutil
from pathlib import Path

from tac.control.config import LoopConfig
from tac.control.ledger import fold, parse_lines
from tac.lanes.codec import CodecSearchParams
from tac.records import (
    Anchor,
    Candidate,
    EvalResult,
    JobSpec,
    load_record,
    load_records,
    save_records,
)
from tests.conftest import run_tac

V1 = Path(__file__).parent / "fixtures" / "records_v1"


def raw(name):
    return json.loads((V1 / name).read_text())


def test_v1_anchors_migrate_to_codec_lane_params():
    old = raw("anchors_synthetic.json")
    anchors = load_records(Anchor, V1 / "anchors_synthetic.json")
    assert len(anchors) == len(old) == 19
    lossy = [a for a in anchors if a.kind == "lossy"]
    assert all(a.v == 2 and a.lane == "codec" and isinstance(a.params, CodecSearchParams) for a in lossy)  # fmt: skip
    assert all(a.params.id() == a.id for a in lossy)  # ids are unchanged by the migration
    for a, o in zip(anchors, old, strict=True):
        if o["params"]:
            assert {k: getattr(a.params, k) for k in o["params"]} == o["params"]
    [floor] = [a for a in anchors if a.kind == "lossless"]
    assert floor.params is None and floor.lane is None


def test_v1_candidates_migrate_and_round_trip(tmp_path):
    old = raw("candidates.json")
    cands = load_records(Candidate, V1 / "candidates.json")
    assert [c.id for c in cands] == [o["id"] for o in old]
    assert all(c.lane == "codec" and c.params.id() == c.id for c in cands)
    assert [c.band.mid if c.band else None for c in cands] == [o["band"]["mid"] if o["band"] else None for o in old]  # fmt: skip
    assert [c.refusal.code if c.refusal else None for c in cands] == [o["refusal"]["code"] if o["refusal"] else None for o in old]  # fmt: skip
    save_records(cands, tmp_path / "c.json")
    written = json.loads((tmp_path / "c.json").read_text())
    assert all(w["v"] == 2 and "lane" not in w and w["params"]["lane"] == "codec" for w in written)
    assert load_records(Candidate, tmp_path / "c.json") == cands


def test_a_real_v1_run_reads_whole(tmp_path):
    lines = (V1 / "ledger.jsonl").read_bytes().splitlines()
    read = parse_lines(lines)
    assert read.unreadable == [] and len(read.events) == len(lines)
    state = fold(read.events)
    assert (
        state.finished and len(state.anchors) == 2 and all(a.lane == "codec" for a in state.anchors)
    )
    summary = raw("summary.json")
    assert state.summary()["best"] == summary["best"] and state.summary()["jobs"] == summary["jobs"]
    spec = load_record(JobSpec, V1 / "spec.json")
    assert (
        spec.candidate.lane == "codec" and spec.candidate.id == raw("spec.json")["candidate"]["id"]
    )
    result = load_record(EvalResult, V1 / "result.json")
    assert result.archive_sha256 == summary["best"]["archive_sha256"]
    config = LoopConfig.model_validate(raw("config.json"))
    assert config.v == 2 and config.lanes == ["codec"]
    old = raw("config.json")
    assert {k: config.space["codec"][k] for k in ("codecs", "crfs", "scales", "presets")} == {k: old[k] for k in ("codecs", "crfs", "scales", "presets")}  # fmt: skip
    assert [a.model_dump() for a in load_records(Anchor, V1 / "anchors_run.json")] == [a.model_dump() for a in state.anchors]  # fmt: skip


def test_tac_reads_v1_files_from_the_command_line(tmp_path):
    ranked = run_tac("search", "rank", "--anchors", str(V1 / "anchors_synthetic.json"), "--generator", "refine", "--min-anchors", "8", "--coverage", "0.8", "--top", "3", "--json")  # fmt: skip
    assert ranked.returncode == 0, ranked.stderr
    top = json.loads(ranked.stdout)
    assert len(top) == 3 and all(c["params"]["lane"] == "codec" for c in top)
    run = tmp_path / "run"
    shutil.copytree(V1, run, ignore=shutil.ignore_patterns("anchors_*", "candidates.json", "spec.json", "result.json"))  # fmt: skip
    shutil.copy(V1 / "anchors_run.json", run / "anchors.json")
    resumed = run_tac("loop", "--resume", str(run), "--json")  # finished at its --max-cycles
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["best"] == raw("summary.json")["best"]


def test_tac_dash_reads_a_v1_run():
    from tui.model import LedgerTail, RunModel, load

    model, tail = RunModel(V1), LedgerTail(V1 / "ledger.jsonl")
    load(model, tail)
    assert tail.skipped == model.skipped == 0 and model.events == len(
        (V1 / "ledger.jsonl").read_bytes().splitlines()
    )
    rows = [r for r in model.candidates.values() if r.score is not None]
    assert len(rows) == 2 and {r.lane for r in rows} == {"codec"}


def test_params_of_an_unknown_lane_are_one_clear_line(tmp_path):
    import pytest

    from tac.errors import TacError

    good = json.loads((V1 / "candidates.json").read_text())[0]
    cases = {
        "nope": (
            {**good, "v": 2, "params": {**good["params"], "lane": "nope"}},
            "unknown lane 'nope'; registered lanes: codec",
        ),  # fmt: skip
        "v2-without-lane": (
            {k: v for k, v in good.items() if k != "lane"} | {"v": 2},
            "params need a 'lane'",
        ),  # fmt: skip
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        with pytest.raises(TacError, match=message) as err:
            load_record(Candidate, path)
        assert str(err.value).startswith(f"{path}: invalid Candidate: ") and "\n" not in str(
            err.value
        )
