"""Built submissions: reproducible, self-contained, and scored the same by every route."""

import io
import re
import zipfile

import numpy as np
import pytest

from tac.contest.evaluate import evaluate_submission, score_raw
from tac.hashing import sha256_file
from tac.lanes import get_lane
from tac.lanes.codec.params import CodecParams
from tac.submission.build import build_submission
from tac.submission.check import check_submission
from tac.video.raw import read_raw
from tests.conftest import inflate_without_tac, run_tac

HEVC = CodecParams(codec="hevc", crf=32, preset="ultrafast", scale=0.5)


@pytest.fixture(scope="module")
def short_demo(tac_cache):
    from tac.contest.originals import demo_originals

    return demo_originals(frames=8)


@pytest.fixture(scope="module")
def hevc_submission(short_demo, tmp_path_factory):
    return build_submission(
        get_lane("codec"), HEVC, short_demo, tmp_path_factory.mktemp("b") / "hevc"
    )


@pytest.mark.parametrize(
    "params", [HEVC, CodecParams(codec="av1", crf=45, preset="12", scale=0.5)], ids=["hevc", "av1"]
)
def test_archive_sha256_is_identical_across_builds(params, short_demo, tmp_path):
    a = build_submission(get_lane("codec"), params, short_demo, tmp_path / "a")
    b = build_submission(get_lane("codec"), params, short_demo, tmp_path / "b")
    assert sha256_file(a / "archive.zip") == sha256_file(b / "archive.zip")
    with zipfile.ZipFile(a / "archive.zip") as zf:
        assert zf.namelist() == ["0.mkv"]


def test_inflate_runs_without_tac_and_matches_the_lane(hevc_submission, short_demo, tmp_path):
    out = inflate_without_tac(hevc_submission, short_demo.names_file, tmp_path)
    raw = read_raw(out / "0.raw")
    expected = list(get_lane("codec").inflate([tmp_path / "archive" / "0.mkv"], HEVC))
    assert raw.shape == (8, 874, 1164, 3)
    assert all(np.array_equal(raw[i], expected[i]) for i in range(8))


def test_eval_and_own_inflate_give_the_same_score(hevc_submission, short_demo, scorer, tmp_path):
    result = evaluate_submission(hevc_submission, short_demo, scorer, out_dir=tmp_path / "eval")
    pose, seg, n, _ = score_raw(
        scorer, short_demo.path("0.mkv"), tmp_path / "eval" / "inflated" / "0.raw"
    )
    assert (pose, seg, n) == (result.pose, result.seg, result.n_samples)
    assert (
        result.pose > 0 and result.archive_bytes == (hevc_submission / "archive.zip").stat().st_size
    )
    # and through the real CLI
    proc = run_tac(
        "eval",
        str(hevc_submission),
        "--out",
        str(tmp_path / "cli"),
        "--originals",
        str(short_demo.directory),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    import json

    data = json.loads(proc.stdout)
    assert data["pose"] == result.pose and data["seg"] == result.seg


def test_check_passes_a_built_submission(hevc_submission, short_demo):
    findings = check_submission(hevc_submission, short_demo)
    assert not [f for f in findings if f.severity == "error"], findings
    codes = {f.code for f in findings}
    assert {"rate", "contest-rate", "inflate-time"} <= codes
    # the projection is start-up once plus frames × the per-frame time, not start-up × 30
    [timing] = [f.message for f in findings if f.code == "inflate-time"]
    wall, frames, startup, ms, minutes = (float(x) for x in re.findall(r"took ([\d.]+) s for (\d+) frames here \(start-up ([\d.]+) s, then (\d+) ms a frame\); 1200 frames ≈ ([\d.]+) min", timing)[0])  # fmt: skip
    assert startup > 0 and minutes * 60 == pytest.approx(startup + ms / 1e3 * 1200, abs=3.5)
    assert minutes * 60 < wall / frames * 1200


def make_sub(root, members, inflate_py="import numpy\n"):
    root.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    (root / "archive.zip").write_bytes(buf.getvalue())
    (root / "inflate.sh").write_text('#!/bin/bash\npython3 inflate.py "$@"\n')
    (root / "inflate.py").write_text(inflate_py)
    return root


@pytest.mark.parametrize(
    "members, inflate_py, code",
    [
        ([("ok.bin", b"x"), ("../up.bin", b"x")], "import numpy\n", "member-traversal"),
        ([("/etc/x", b"x")], "import numpy\n", "member-absolute"),
        ([("a.bin", b"x"), ("a.bin", b"y")], "import numpy\n", "member-duplicate"),
        ([("a.bin", b"x")], "import tac.lanes\n", "inflate-import"),
        ([("a.bin", b"x")], "from scipy import signal\n", "inflate-import"),
        ([("a.bin", b"x")], "def broken(:\n", "inflate-syntax"),
    ],
)
def test_check_flags_errors(tmp_path, members, inflate_py, code):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name on purpose
        sub = make_sub(tmp_path / "s", members, inflate_py)
    findings = check_submission(sub, None, run_inflate=False)
    assert code in {f.code for f in findings if f.severity == "error"}, findings


def test_check_warns_on_hidden_members(tmp_path):
    sub = make_sub(tmp_path / "s", [("a.bin", b"x"), (".DS_Store", b"junk"), ("__MACOSX/a", b"j")])
    findings = check_submission(sub, None, run_inflate=False)
    assert sum(f.code == "member-hidden" for f in findings) == 2
    assert not [f for f in findings if f.severity == "error"]


def test_check_cli_exit_code_reflects_errors(tmp_path):
    sub = make_sub(tmp_path / "s", [("a.bin", b"x")], "import tac\n")
    proc = run_tac("submission", "check", str(sub), "--no-run")
    assert proc.returncode == 1
    assert "inflate-import" in proc.stdout and "1 error(s)" in proc.stdout


def test_build_cli_rejects_bad_settings_in_one_line(tmp_path):
    proc = run_tac(
        "submission", "build", "--out", str(tmp_path / "x"), "--codec", "av1", "--crf", "99"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and "1..63" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_decoding_ahead_of_the_encoder_builds_the_same_archive(short_demo, tmp_path):
    """A job decodes the originals in a thread, a frame ahead of the encoder: same bytes."""
    lane = get_lane("codec")
    ahead = build_submission(lane, HEVC, short_demo, tmp_path / "ahead")
    inline = build_submission(lane, HEVC, short_demo, tmp_path / "inline", decode_ahead=False)
    assert sha256_file(ahead / "archive.zip") == sha256_file(inline / "archive.zip")
