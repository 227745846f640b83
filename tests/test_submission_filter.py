"""A codec-lane submission that carries its post-filter: shipped bytes, tac-free inflate, scores."""

import json
import zipfile

import numpy as np
import pytest
import torch

from tac.contest.evaluate import evaluate_submission
from tac.lanes import get_lane
from tac.lanes.codec.filter_training import evaluate_with_filter, shipped_filter_bytes
from tac.lanes.codec.params import CodecParams
from tac.postfilter import build_postfilter
from tac.postfilter.checkpoint import apply_filter, save_checkpoint
from tac.quant.deploy import deployed_copy
from tac.submission.build import build_submission
from tac.submission.check import check_submission
from tac.train.config import TrainConfig
from tac.video.raw import read_raw
from tests.conftest import inflate_without_tac, run_tac

HEVC = CodecParams(codec="hevc", crf=34, preset="ultrafast", scale=0.5)


@pytest.fixture(scope="module")
def short_demo(tac_cache):
    from tac.contest.originals import demo_originals

    return demo_originals(frames=8)


def trained_checkpoint(path, family="dilated", bits=8):
    """A checkpoint as `tac lossy train` writes it: deployed (dequantized) weights + a card."""
    torch.manual_seed(1)
    model = build_postfilter(family, hidden=8)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.5)  # far from the identity: the filter must show
    deployed = deployed_copy(model, bits)
    config = TrainConfig(arch=family, hidden=8, bits=bits, tag=path.stem, out_dir=str(path.parent))
    return save_checkpoint(path, deployed, deployed.config(), config, {}), deployed


@pytest.fixture(scope="module")
def filtered(short_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("filtered")
    ckpt, model = trained_checkpoint(root / "f.safetensors")
    plain = build_submission(get_lane("codec"), HEVC, short_demo, root / "plain")
    sub = build_submission(get_lane("codec"), HEVC, short_demo, root / "sub", trained=ckpt)
    return ckpt, model, plain, sub


def test_archive_carries_the_filter_and_its_bytes_count(filtered):
    ckpt, model, plain, sub = filtered
    with zipfile.ZipFile(sub / "archive.zip") as zf:
        assert zf.namelist() == ["0.mkv", "filter.tacq"]
    size, plain_size = (sub / "archive.zip").stat().st_size, (plain / "archive.zip").stat().st_size
    # the estimate `tac lossy train/eval` report is exactly what shipping costs
    assert size == plain_size + shipped_filter_bytes(model, 8)
    assert (sub / "tacrt" / "quant" / "tacq.py").is_file()
    config = json.loads((sub / "inflate_config.json").read_text())
    assert config["filter"] == {"member": "filter.tacq", "batch": 4}
    manifest = json.loads((sub / "tac_submission.json").read_text())
    assert manifest["filter"]["bits"] == 8 and manifest["filter"]["arch"]["name"] == "dilated"


def test_inflate_applies_the_filter_without_tac(filtered, short_demo, tmp_path):
    ckpt, model, plain, sub = filtered
    out = inflate_without_tac(sub, short_demo.names_file, tmp_path)
    raw = read_raw(out / "0.raw")
    decoded = list(get_lane("codec").inflate([tmp_path / "archive" / "0.mkv"], HEVC))
    expected = list(apply_filter(model, decoded))
    assert raw.shape == (8, 874, 1164, 3)
    assert all(np.array_equal(raw[i], expected[i]) for i in range(8))
    assert not np.array_equal(raw[0], decoded[0])  # the filter really changed the frames


def test_submission_score_equals_lossy_eval(filtered, short_demo, scorer, tmp_path):
    ckpt, model, plain, sub = filtered
    shipped = evaluate_submission(sub, short_demo, scorer, out_dir=tmp_path / "eval")
    predicted = evaluate_with_filter(ckpt, plain / "archive.zip", short_demo, scorer)
    assert (shipped.pose, shipped.seg) == (predicted["pose"], predicted["seg"])
    assert shipped.archive_bytes == predicted["archive_bytes"]


def test_check_accepts_the_runtime(filtered, short_demo):
    findings = check_submission(filtered[3], short_demo)
    assert not [f for f in findings if f.severity == "error"], findings


def test_four_bit_filter_ships_and_inflates(short_demo, tmp_path):
    ckpt, model = trained_checkpoint(tmp_path / "nf4.safetensors", family="psd", bits=4)
    sub = build_submission(get_lane("codec"), HEVC, short_demo, tmp_path / "sub", trained=ckpt)
    raw = read_raw(inflate_without_tac(sub, short_demo.names_file, tmp_path) / "0.raw")
    decoded = list(get_lane("codec").inflate([tmp_path / "archive" / "0.mkv"], HEVC))
    assert np.array_equal(raw[7], list(apply_filter(model, decoded))[7])


def test_build_cli_ships_a_filter_and_refuses_a_bad_one(filtered, short_demo, tmp_path):
    ckpt = filtered[0]
    common = ["--codec", "hevc", "--crf", "34", "--preset", "ultrafast", "--scale", "0.5"]
    common += ["--originals", str(short_demo.directory)]
    ok = run_tac(
        "submission", "build", "--out", str(tmp_path / "s"), "--filter", str(ckpt), *common
    )
    assert ok.returncode == 0, ok.stderr
    assert "+ filter f.safetensors" in ok.stdout and (tmp_path / "s" / "tacrt").is_dir()
    bad = run_tac(
        "submission", "build", "--out", str(tmp_path / "b"), "--filter", str(tmp_path / "no.safetensors"), *common
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "no.json" in bad.stderr
    assert not (tmp_path / "b").exists()  # nothing half-built
