"""Training through the frozen scorers: the seed API, a metric that really drops, QAT, EMA/SWA,
resume, checkpoints."""

import json

import numpy as np
import pytest
import torch

from tac.errors import TacError
from tac.postfilter.checkpoint import load_checkpoint
from tac.train.averaging import ParameterAverage
from tac.train.config import TrainConfig
from tac.train.losses import scorer_view, uint8_roundtrip
from tac.train.profiles import PROFILES, profile_config


@pytest.fixture(scope="module")
def dark_pairs(demo_frames):
    """One sample whose decoded frames are the originals darkened by 30: a learnable error."""
    gt = demo_frames[:2].reshape(1, 2, 874, 1164, 3)
    comp = np.clip(gt.astype(np.int16) - 30, 0, 255).astype(np.uint8)
    return torch.from_numpy(comp), torch.from_numpy(gt.copy())


def test_seed_snippet_works_as_written(dark_pairs, scorer, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from tac import Trainer, TrainConfig, build_postfilter  # noqa: I001 - as the seed writes it

    model = build_postfilter("standard", hidden=64)
    config = TrainConfig(hidden=64, epochs=1000, alpha=20, tag="my_run")
    trainer = Trainer(model, config, device="cpu")
    trainer.config.max_steps = 2  # the snippet's 1000 epochs, cut short for the test
    comp_pairs, gt_pairs = dark_pairs
    sal_weights = torch.rand(1, 2, 874, 1164)
    result = trainer.fit(comp_pairs, gt_pairs, scorer.posenet, scorer.segnet, sal_weights)
    assert result.steps == 2 and result.checkpoint.is_file()
    assert (tmp_path / "runs" / "train" / "my_run.telemetry.jsonl").is_file()


def test_training_lowers_the_exact_metric_on_a_tiny_case(dark_pairs, scorer, tmp_path):
    from tac import Trainer, build_postfilter

    torch.manual_seed(0)
    model = build_postfilter("standard", hidden=8)
    config = TrainConfig(
        arch="standard", hidden=8, max_steps=16, lr=1e-2, ema_decay=0.5, swa_start=0.99, evals=1,
        tag="tiny", out_dir=str(tmp_path), progress=False,
    )  # fmt: skip
    result = Trainer(model, config).fit(*dark_pairs, scorer.posenet, scorer.segnet)
    assert result.best < result.before * 0.95, (result.before, result.best)
    # the checkpoint is the deployed (int8) model that achieved `best`
    deployed, card = load_checkpoint(result.checkpoint)
    assert card["metrics"]["exact"] == result.best and card["arch"]["name"] == "standard"
    events = [json.loads(line)["event"] for line in (tmp_path / "tiny.telemetry.jsonl").open()]
    assert events[0] == "start" and events.count("step") == 16 and "eval" in events


def test_resume_continues_where_it_stopped(dark_pairs, scorer, tmp_path):
    from tac import Trainer, build_postfilter

    def run(steps, resume):
        torch.manual_seed(0)
        config = TrainConfig(
            arch="standard",
            hidden=4,
            max_steps=steps,
            evals=2,
            tag="r",
            out_dir=str(tmp_path),
            progress=False,
        )
        return Trainer(build_postfilter("standard", hidden=4), config).fit(
            *dark_pairs, scorer.posenet, scorer.segnet, resume=resume
        )

    run(2, resume=False)
    second = run(4, resume=True)
    starts = [json.loads(x) for x in (tmp_path / "r.telemetry.jsonl").open() if '"start"' in x]
    assert starts[-1]["resumed_at"] == 2
    assert second.steps == 4


def test_ctrl_c_saves_the_state_and_resume_continues_from_it(
    dark_pairs, scorer, tmp_path, monkeypatch
):
    """A KeyboardInterrupt in the middle of training (Ctrl-C; tac turns SIGTERM into one too)
    saves the state of the last finished step before it propagates; --resume starts there."""
    from tac import Trainer, build_postfilter

    def config(steps):
        return TrainConfig(arch="standard", hidden=4, max_steps=steps, evals=1, tag="c",
                           out_dir=str(tmp_path), progress=False)  # fmt: skip

    real_log = Trainer._log

    def ctrl_c_after_step_3(self, record):
        real_log(self, record)
        if record.get("event") == "step" and record["step"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_log", ctrl_c_after_step_3)
    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        Trainer(build_postfilter("standard", hidden=4), config(8)).fit(*dark_pairs, scorer.posenet, scorer.segnet)  # fmt: skip
    monkeypatch.setattr(Trainer, "_log", real_log)
    events = [json.loads(x) for x in (tmp_path / "c.telemetry.jsonl").open()]
    assert (events[-1]["event"], events[-1]["step"]) == ("interrupted", 3)
    assert json.loads((tmp_path / "c.state.json").read_text())["step"] == 3
    resumed = Trainer(build_postfilter("standard", hidden=4), config(5)).fit(*dark_pairs, scorer.posenet, scorer.segnet, resume=True)  # fmt: skip
    starts = [json.loads(x) for x in (tmp_path / "c.telemetry.jsonl").open() if '"start"' in x]
    assert starts[-1]["resumed_at"] == 3 and resumed.steps == 5


def test_scorer_view_sees_what_the_evaluator_sees(scorer, demo_frames):
    pairs = torch.from_numpy(demo_frames[:4].reshape(2, 2, 874, 1164, 3))
    exact = scorer.outputs(pairs)
    with torch.no_grad():
        view = scorer_view(scorer.posenet, scorer.segnet, pairs.permute(0, 1, 4, 2, 3).float())
    assert torch.allclose(view.pose, exact.pose, atol=1e-4)
    agree = (view.seg_logits.argmax(1).to(torch.uint8) == exact.seg).float().mean()
    assert agree > 0.999


def test_uint8_roundtrip_rounds_forward_and_passes_gradients():
    x = torch.tensor([-3.0, 0.4, 0.6, 254.7, 300.0], requires_grad=True)
    y = uint8_roundtrip(x)
    assert y.tolist() == [0.0, 0.0, 1.0, 255.0, 255.0]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # clamped ends stop the gradient


def test_ema_and_swa_average_as_documented():
    lin = torch.nn.Linear(1, 1, bias=False)
    ema, swa = ParameterAverage(lin, 0.5), ParameterAverage(lin, None)
    for value in (2.0, 4.0):
        lin.weight.data.fill_(value)
        ema.update(lin)
        swa.update(lin)
    start = ema.model.weight.item()
    assert swa.model.weight.item() == pytest.approx(3.0)  # equal-weight mean of 2 and 4
    assert start != 4.0 and start > 2.0


def test_config_rejects_unknown_keys_and_bad_values():
    with pytest.raises(TacError, match="surprise"):
        TrainConfig.parse(surprise=1)
    with pytest.raises(TacError, match="ema_decay"):
        TrainConfig.parse(ema_decay=1.5)
    with pytest.raises(TacError, match="unknown profile"):
        profile_config("nope")


def test_profiles_are_valid_and_named():
    assert {"smoke", "proven_baseline"} <= set(PROFILES)
    base = profile_config("proven_baseline")
    assert (base.arch, base.hidden, base.alpha, base.ema_decay) == ("dilated", 64, 20.0, 0.997)
    for name in PROFILES:
        profile_config(name, tag="t")


def test_lossy_cli_train_then_eval(tmp_path, scorer):
    """`tac lossy train` on precomputed frames, then `tac lossy eval` on a real archive."""
    from tac.contest.originals import demo_originals
    from tac.lanes import get_lane
    from tac.lanes.codec.filter_training import prepare_frames
    from tac.lanes.codec.params import CodecParams
    from tac.submission.build import build_submission
    from tests.conftest import run_tac

    short = demo_originals(frames=8)
    params = CodecParams(codec="hevc", crf=34, preset="ultrafast", scale=0.5)
    meta = prepare_frames(short, params, tmp_path / "frames", log=lambda m: None)
    assert meta["frames"] == 8
    proc = run_tac(
        "lossy", "train", "--profile", "smoke", "--precomputed", str(tmp_path / "frames"),
        "--out", str(tmp_path / "run"), "--max-steps", "2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "100·seg + √(10·pose):" in proc.stdout and "filter adds" in proc.stdout
    ckpt = tmp_path / "run" / "smoke.safetensors"
    assert ckpt.is_file() and ckpt.with_suffix(".json").is_file()

    sub = build_submission(get_lane("codec"), params, short, tmp_path / "sub")
    proc = run_tac(
        "lossy", "eval", "--checkpoint", str(ckpt), "--archive", str(sub / "archive.zip"),
        "--originals", str(short.directory), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["n_samples"] == 4 and data["filter_bytes"] > 0
    assert data["archive_bytes"] == (sub / "archive.zip").stat().st_size + data["filter_bytes"]

    bad = run_tac(
        "lossy", "train", "--precomputed", str(tmp_path / "nope"), "--out", str(tmp_path / "x")
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "comp.raw" in bad.stderr
