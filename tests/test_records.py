"""Records round-trip exactly and reject what they do not know."""

import json

import pytest

from tac.errors import TacError
from tac.records import EvalResult, load_record, save_record


def make_result(**over):
    fields = dict(
        archive_bytes=1000,
        archive_sha256="a" * 64,
        original_bytes=37_545_489,
        rate=1000 / 37_545_489,
        pose=0.1,
        seg=0.01,
        score=2.0,
        n_samples=20,
        n_samples_total=20,
        estimate=False,
        runner_axis="cpu",
        device="cpu",
        weights="stand-in:0:abc",
        videos=["0.mkv"],
        per_sample_file="per_sample.csv",
        wall_s=1.5,
        tac_version="0.1.0",
        torch_version="2.14.1",
    )
    fields.update(over)
    return EvalResult(**fields)


def test_eval_result_round_trip(tmp_path):
    r = make_result()
    path = save_record(r, tmp_path / "result.json")
    assert load_record(EvalResult, path) == r
    assert json.loads(path.read_text())["v"] == 1
    assert r.authoritative and not r.official_weights
    assert "runner axis cpu" in r.provenance() and "stand-in" in r.provenance()


def test_subset_result_is_an_estimate_not_authoritative():
    r = make_result(n_samples=5, estimate=True)
    assert not r.authoritative
    assert "ESTIMATE" in r.provenance()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d.update(runner_axis="tpu"), "runner_axis"),
        (lambda d: d.update(v=2), "v"),
        (lambda d: d.pop("archive_sha256"), "archive_sha256"),
        (lambda d: d.update(seg=1.5), "seg"),
    ],
)
def test_invalid_records_fail_with_one_line(tmp_path, mutate, message):
    data = json.loads(make_result().model_dump_json())
    mutate(data)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TacError, match=message) as exc:
        load_record(EvalResult, path)
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


def test_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("{torn")
    with pytest.raises(TacError, match="not valid JSON"):
        load_record(EvalResult, path)


def test_a_warm_started_job_spec_and_its_rungs_round_trip(tmp_path):
    from tac.lanes.nerv.space import NervParams
    from tac.records import Candidate, JobLimits, JobSpec, Rung, WarmStart, rung_line, rungs_in

    parent = NervParams(width=24, steps=2000)
    child = NervParams(width=24, steps=1000, rate_weight=1.4, parent=parent.id(), parent_steps=2000)
    assert child.warm_from() == parent.id() and parent.warm_from() is None
    assert child.id().startswith("nerv-z028-w024-b8-r001.400-n001000-from-")
    assert child.id() != NervParams(width=24, steps=1000, rate_weight=1.4).id()
    spec = JobSpec(
        job_id="c02-child", candidate=Candidate(id=child.id(), params=child, runner_axis="cpu", weights="w"),
        data="demo", weights="w", runner_axis="cpu", limits=JobLimits(timeout_s=60, max_cost=0),
        out_dir="/x/out", cpu_threads=1,
        warm_start=WarmStart(parent_job="c01-p", candidate=parent.id(), sha256="b" * 64, bytes=10, card_sha256="c" * 64),
    )  # fmt: skip
    back = load_record(JobSpec, save_record(spec, tmp_path / "spec.json"))
    assert back == spec and back.candidate.params.parent == parent.id()
    rung = Rung(step=5, steps=10, score=2.5, seg=0.01, pose=0.002, archive_bytes=900,
                checkpoint="nerv/rungs/step-000005.safetensors", checkpoint_sha256="d" * 64, card_sha256="e" * 64)  # fmt: skip
    assert rungs_in(rung_line(rung) + "\n") == [rung] and rung.fidelity == 0.5
    assert rung.card == "nerv/rungs/step-000005.json"
