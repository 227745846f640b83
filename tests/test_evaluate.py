"""The evaluator end to end on the demo clip, and every bad submission as one clear line."""

import io
import json
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tac.contest import constants as C
from tac.contest.evaluate import evaluate_submission, score_raw
from tac.hashing import sha256_file
from tac.lanes.codec import build_video_submission
from tac.records import EvalResult, load_record
from tac.video.raw import write_raw
from tests.conftest import run_tac


@pytest.fixture(scope="module")
def identity(demo, tmp_path_factory):
    return build_video_submission(
        {"0.mkv": demo.path("0.mkv")}, tmp_path_factory.mktemp("sub") / "identity"
    )


def test_identity_submission_scores_zero_distortion_exactly(identity, demo, scorer):
    result = evaluate_submission(identity, demo, scorer)
    assert result.pose == 0.0 and result.seg == 0.0
    archive_bytes = (identity / "archive.zip").stat().st_size
    assert result.archive_bytes == archive_bytes
    assert result.original_bytes == demo.path("0.mkv").stat().st_size
    assert result.rate == archive_bytes / result.original_bytes
    assert result.score == pytest.approx(25 * result.rate)
    assert result.n_samples == result.n_samples_total == 20 and result.authoritative
    assert result.weights.startswith("stand-in:0:") and result.runner_axis == "cpu"
    assert result.archive_sha256 == sha256_file(identity / "archive.zip")
    assert load_record(EvalResult, identity / "result.json") == result
    report = (identity / "report.txt").read_text()
    assert "=== Evaluation results over 20 samples ===" in report
    assert "Average SegNet Distortion: 0.00000000" in report and "STAND-IN" in report
    rows = (identity / "per_sample.csv").read_text().splitlines()
    assert rows[0] == "video,sample,pose,seg" and len(rows) == 21


def test_identity_archive_is_reproducible(demo, tmp_path):
    a = build_video_submission({"0.mkv": demo.path("0.mkv")}, tmp_path / "a")
    b = build_video_submission({"0.mkv": demo.path("0.mkv")}, tmp_path / "b")
    assert sha256_file(a / "archive.zip") == sha256_file(b / "archive.zip")


def degrade(frames: np.ndarray, scale: float) -> np.ndarray:
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    h, w = int(C.CAMERA_HEIGHT * scale), int(C.CAMERA_WIDTH * scale)
    small = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    back = F.interpolate(
        small, size=(C.CAMERA_HEIGHT, C.CAMERA_WIDTH), mode="bilinear", align_corners=False
    )
    return back.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_standin_scorers_respond_to_damage(demo, demo_frames, scorer, tmp_path):
    """More damage, more distortion: the stand-ins must behave like scorers, not constants."""
    pose, seg = [], []
    for scale in (0.75, 0.5, 0.25):
        raw = tmp_path / f"{scale}.raw"
        write_raw(raw, degrade(demo_frames, scale))
        p, s, n, total = score_raw(scorer, demo.path("0.mkv"), raw)
        assert n == total == 20
        pose.append(p)
        seg.append(s)
    assert 0 < pose[0] < pose[1] < pose[2], pose
    assert 0 < seg[0] < seg[1] < seg[2], seg


def test_subset_is_marked_as_estimate(identity, demo, scorer, tmp_path):
    result = evaluate_submission(identity, demo, scorer, out_dir=tmp_path, max_samples=3)
    assert result.estimate and not result.authoritative and result.n_samples == 3
    assert "ESTIMATE" in (tmp_path / "report.txt").read_text()


# --- bad submissions: one line, non-zero exit, no traceback --------------------------------


def submission(
    root: Path,
    inflate: str | None = "#!/bin/bash\nexit 0\n",
    members=None,
    archive: bytes | None = None,
):
    root.mkdir(parents=True, exist_ok=True)
    if inflate is not None:
        (root / "inflate.sh").write_text(inflate)
    if archive is None and members is not None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        archive = buf.getvalue()
    if archive is not None:
        (root / "archive.zip").write_bytes(archive)
    return root


def assert_clean_failure(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.usefixtures("scorer", "demo")
class TestBadSubmissions:
    def test_missing_archive(self, tmp_path):
        sub = submission(tmp_path / "s")
        assert_clean_failure(run_tac("eval", str(sub)), "archive.zip not found")

    def test_missing_inflate(self, tmp_path):
        sub = submission(tmp_path / "s", inflate=None, members={"a.bin": b"x"})
        assert_clean_failure(run_tac("eval", str(sub)), "inflate.sh not found")

    def test_failing_inflate(self, tmp_path):
        sub = submission(
            tmp_path / "s", inflate="echo 'decoder exploded' >&2\nexit 3\n", members={"a.bin": b"x"}
        )
        assert_clean_failure(run_tac("eval", str(sub)), "exit code 3", "decoder exploded")

    def test_inflate_writes_nothing(self, tmp_path):
        sub = submission(tmp_path / "s", members={"a.bin": b"x"})
        assert_clean_failure(run_tac("eval", str(sub)), "0.raw", "did not write")

    def test_raw_of_the_wrong_size(self, tmp_path):
        # one frame short of the 40 the demo clip has
        script = f"python3 -c \"open('$2/0.raw','wb').write(bytes({C.FRAME_BYTES * 39}))\"\n"
        sub = submission(tmp_path / "s", inflate=script, members={"a.bin": b"x"})
        assert_clean_failure(run_tac("eval", str(sub)), "39 frames", "40")

    def test_corrupt_zip(self, tmp_path):
        sub = submission(tmp_path / "s", archive=b"PK\x03\x04 this is not really a zip")
        assert_clean_failure(run_tac("eval", str(sub)), "not a valid zip")

    def test_crc_damaged_zip(self, tmp_path):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("payload.bin", b"A" * 1000)
        data = bytearray(buf.getvalue())
        data[100] ^= 0xFF  # inside the stored payload
        sub = submission(tmp_path / "s", archive=bytes(data))
        assert_clean_failure(run_tac("eval", str(sub)), "CRC")

    @pytest.mark.parametrize("name", ["../escape.txt", "/abs/escape.txt", "ok/../../escape.txt"])
    def test_unsafe_member_refused_before_extraction(self, tmp_path, name):
        sub = submission(tmp_path / "s", members={"fine.txt": b"ok", name: b"evil"})
        proc = run_tac("eval", str(sub))
        assert_clean_failure(proc, "refusing to unzip")
        assert not (sub / "archive").exists()  # nothing was extracted, not even fine.txt
        assert not (tmp_path / "escape.txt").exists()

    def test_encrypted_member(self, tmp_path):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("payload.bin", b"A" * 100)
        data = bytearray(buf.getvalue())
        for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = data.find(sig)
            data[at + flag_at] |= 0x1  # the "encrypted" general-purpose flag
        sub = submission(tmp_path / "s", archive=bytes(data))
        assert_clean_failure(run_tac("eval", str(sub)), "encrypted")

    def test_zip_bomb_refused_unread(self, tmp_path):
        import struct

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("zeros.bin", bytes(1000))
        data = bytearray(buf.getvalue())
        struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 0xFFFFFFF0)
        sub = submission(tmp_path / "s", archive=bytes(data))
        assert_clean_failure(run_tac("eval", str(sub)), "zip bomb")
        assert not (sub / "archive").exists()

    def test_missing_submission_dir(self, tmp_path):
        assert_clean_failure(run_tac("eval", str(tmp_path / "nope")), "not found")

    def test_lfs_pointer_weights(self, tmp_path):
        (tmp_path / "models").mkdir()
        for name in ("posenet", "segnet"):
            (tmp_path / "models" / f"{name}.safetensors").write_text(
                "version https://git-lfs.github.com/spec/v1\n"
            )
        (tmp_path / "videos").mkdir()
        (tmp_path / "videos" / "0.mkv").write_bytes(b"x")
        (tmp_path / "public_test_video_names.txt").write_text("0.mkv\n")
        sub = submission(tmp_path / "s", members={"a.bin": b"x"})
        assert_clean_failure(
            run_tac("eval", str(sub), "--challenge-dir", str(tmp_path)), "git-lfs pointer"
        )


def test_cli_eval_json_on_identity_and_a_copy_side_by_side(identity, tmp_path):
    """Several submissions: one load of the scorers, one JSON list (or table), reports apart."""
    import shutil

    copy = shutil.copytree(identity, tmp_path / "copy")
    # 4 samples each: the inflates run whole, the scoring is an estimate (the multi path is tested)
    proc = run_tac("eval", str(identity), str(copy), "--out", str(tmp_path / "o"), "--json", "--max-samples", "4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout)
    for data in (first, second):
        assert data["seg"] == 0 and data["pose"] == 0 and data["weights"].startswith("stand-in")
    assert (first["submission"], second["submission"]) == (str(identity), str(copy))
    assert first["archive_sha256"] == second["archive_sha256"]
    assert (tmp_path / "o" / identity.name / "report.txt").is_file() and (tmp_path / "o" / "copy" / "report.txt").is_file()  # fmt: skip
    assert (
        "not found" in run_tac("eval", str(identity), str(tmp_path / "nope")).stderr
    )  # before scoring


def test_the_side_by_side_table_names_each_submission_and_its_terms():
    from types import SimpleNamespace

    from rich.console import Console

    from tac.cli import _eval_table, _unique_names
    from tac.records import EvalResult

    def result(seg: float, pose: float, size: int) -> EvalResult:
        rate = size / 1_000_000
        return EvalResult(score=100 * seg + (10 * pose) ** 0.5 + 25 * rate, seg=seg, pose=pose, rate=rate,
                          archive_bytes=size, original_bytes=1_000_000, archive_sha256="ab" * 32,
                          runner_axis="cpu", device="cpu", weights="stand-in:0:x", n_samples=10,
                          n_samples_total=10, estimate=False, videos=["0.mkv"], wall_s=1.0,
                          tac_version="0", torch_version="0")  # fmt: skip

    names = _unique_names([Path("a/sub"), Path("b/sub"), Path("c/other")])
    assert names == ["sub#1", "sub#2", "other"]
    described = SimpleNamespace(
        describe=lambda: "demo", weights=SimpleNamespace(describe=lambda: "stand-in")
    )
    console = Console(width=120, record=True)
    console.print(_eval_table(names, [result(0.01, 0.001, 20_000), result(0.02, 0.004, 10_000), result(0.01, 0.001, 30_000)], described, described))  # fmt: skip
    text = console.export_text()
    assert (
        all(n in text for n in names)
        and "1.6000" in text
        and "100·seg" in text
        and "25·rate" in text
    )


def test_downscaled_submission_end_to_end(identity, demo, scorer, tmp_path):
    from tac.demo import downscaled_frames
    from tac.video.encode import encode_frames

    video = encode_frames(downscaled_frames(demo.path("0.mkv"), 0.5), tmp_path / "half.mkv", crf=24)
    sub = build_video_submission({"0.mkv": video}, tmp_path / "half")
    result = evaluate_submission(sub, demo, scorer)
    identity_result = load_record(EvalResult, identity / "result.json")
    assert result.pose > 0 and result.seg > 0
    assert result.archive_bytes < identity_result.archive_bytes / 4
    assert result.rate == result.archive_bytes / result.original_bytes
    assert result.score == pytest.approx(
        100 * result.seg + (10 * result.pose) ** 0.5 + 25 * result.rate
    )


@pytest.mark.usefixtures("scorer")
def test_swapped_weight_files_are_one_clear_line(tmp_path):
    from tac.contest.weights import standin_weights

    w = standin_weights()
    proc = run_tac("weights", "--posenet", str(w.segnet_path), "--segnet", str(w.posenet_path))
    assert_clean_failure(proc, "not PoseNet weights")
    ok = run_tac("weights", "--posenet", str(w.posenet_path), "--segnet", str(w.segnet_path))
    assert ok.returncode == 0 and "custom:" in ok.stdout


def test_cli_score_raw_frames_marks_subsets_as_estimates(demo, demo_frames, tmp_path):
    raw = tmp_path / "half.raw"
    write_raw(raw, degrade(demo_frames, 0.5))
    proc = run_tac("score", str(demo.path("0.mkv")), str(raw), "--max-samples", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["estimate"] is True and data["n_samples"] == 2 and data["n_samples_total"] == 20
    assert data["pose"] > 0 and data["weights"].startswith("stand-in:")
    short = tmp_path / "short.raw"
    write_raw(short, demo_frames[:10])
    bad = run_tac("score", str(demo.path("0.mkv")), str(short))
    assert_clean_failure(bad, "10 frames", "40")


KEEPING_FREED_MEMORY = """
import sys, torch
from tac.contest.scorer import Scorer
from tac.contest.weights import standin_weights
from tac.jobs.heap import keep_freed_memory
applied = keep_freed_memory()
out = Scorer(standin_weights()).outputs(torch.load(sys.argv[1]))
torch.save({"applied": applied, "pose": out.pose, "seg": out.seg}, sys.argv[2])
"""


def test_a_process_keeping_freed_memory_scores_bit_identically(demo_frames, scorer, tmp_path):
    """`tac job run` keeps freed blocks for reuse (tac.jobs.heap, on glibc): the scorers' outputs
    are exactly those of a process with malloc's defaults (this one)."""
    pairs = torch.from_numpy(demo_frames[:8].reshape(4, 2, *demo_frames.shape[1:]))
    torch.save(pairs, tmp_path / "pairs.pt")
    argv = [sys.executable, "-c", KEEPING_FREED_MEMORY, str(tmp_path / "pairs.pt"), str(tmp_path / "out.pt")]  # fmt: skip
    subprocess.run(argv, check=True, env=os.environ.copy(), timeout=300)
    got, want = torch.load(tmp_path / "out.pt"), scorer.outputs(pairs)
    assert got["applied"] == (platform.libc_ver()[0] == "glibc")
    assert torch.equal(got["pose"], want.pose) and torch.equal(got["seg"], want.seg)
