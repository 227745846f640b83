"""Nothing lost, nothing crashes: no process outlives an inflate, no planted symlink is written
through, and archive.zip is judged as the official unzip would extract it."""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import uuid
import zipfile
import zlib
from pathlib import Path

import pytest

from tac.contest import constants as C
from tac.contest.archive import REFUSED, member_findings, unpack_archive
from tac.contest.evaluate import run_inflate
from tac.errors import TacError
from tests.conftest import REPO, run_tac

# --- no process outlives an inflate -----------------------------------------------------------


def survivors(marker: str) -> list[int]:
    """Live processes whose environment carries `marker` (every descendant of inflate.sh)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone, or a zombie: nothing left to find
            continue
    return found


def wait_for_no_survivors(marker: str, timeout: float = 3.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := survivors(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)  # a SIGKILLed process takes a moment to leave /proc
    return left


@pytest.fixture
def marker():
    """A unique environment marker; whatever still carries it at teardown is killed."""
    mark = f"TAC_TEST_INFLATE_{uuid.uuid4().hex}"
    yield mark
    for pid in survivors(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def sleeper_submission(root: Path, marker: str, tail: str) -> Path:
    """A submission whose inflate.sh leaves two sleepers behind: one in its process group and
    one that job control moved to a group of its own (still in inflate's session)."""
    root.mkdir(parents=True)
    (root / "inflate.sh").write_text(
        f"export {marker}=1\n"
        "sleep 300 &\n"
        "set -m; sleep 301 & set +m\n" + tail  # its own process group: killpg alone misses it
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.bin", b"x")
    (root / "archive.zip").write_bytes(buf.getvalue())
    return root


def test_no_process_outlives_a_successful_eval(tmp_path, marker, demo, scorer):
    from tac.contest.evaluate import evaluate_submission

    write_raw = f'head -c {C.FRAME_BYTES * 40} /dev/zero > "$2/0.raw"\nexit 0\n'
    sub = sleeper_submission(tmp_path / "s", marker, write_raw)
    evaluate_submission(sub, demo, scorer, max_samples=1)
    assert (sub / "result.json").is_file()
    assert wait_for_no_survivors(marker) == []


def test_no_process_outlives_a_failed_inflate(tmp_path, marker, demo, scorer):
    from tac.contest.evaluate import evaluate_submission

    sub = sleeper_submission(tmp_path / "s", marker, "echo 'broke' >&2\nexit 4\n")
    with pytest.raises(TacError, match="exit code 4"):
        evaluate_submission(sub, demo, scorer)
    assert wait_for_no_survivors(marker) == []


def test_no_process_outlives_an_inflate_timeout(tmp_path, marker, demo):
    sub = sleeper_submission(tmp_path / "s", marker, "sleep 302\n")
    start = time.monotonic()
    with pytest.raises(TacError, match="did not finish within"):
        run_inflate(sub, tmp_path, tmp_path / "out", demo.names_file, 1.0, tmp_path / "log")
    assert time.monotonic() - start < 10
    assert wait_for_no_survivors(marker) == []


@pytest.mark.usefixtures("scorer", "demo")
@pytest.mark.parametrize(("sig", "code", "line"), [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")])  # fmt: skip
def test_signal_to_tac_eval_ends_the_whole_inflate(tmp_path, marker, sig, code, line):
    sub = sleeper_submission(tmp_path / "s", marker, 'touch "$2/started"\nwait\n')
    proc = subprocess.Popen(
        [sys.executable, "-m", "tac.cli", "eval", str(sub)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 120
        while not (sub / "inflated" / "started").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == line, stderr
    assert wait_for_no_survivors(marker) == []


def test_sigterm_mid_decompress_leaves_no_temp_file(tmp_path):
    from tac.lossless import compress_bytes

    packed = tmp_path / "big.bin.tacl"
    packed.write_bytes(compress_bytes(bytes(256 << 20), codec="zstd", level=1, chunk_size=16 << 20))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tac.cli", "lossless", "decompress", str(packed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
            assert proc.poll() is None, "decompress finished before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "terminated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin.tacl"]  # no .tmp, no output


# --- no symlink is followed into a write ------------------------------------------------------

WRITTEN = ["inflate.log", "report.txt", "result.json", "per_sample.csv", "archive", "inflated"]


def plain_submission(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "inflate.sh").write_text("exit 0\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.bin", b"x")
    (root / "archive.zip").write_bytes(buf.getvalue())
    return root


def plant(link: Path, tmp_path: Path) -> Path:
    """A symlink at `link` to a precious file or directory; returns the target."""
    target = tmp_path / f"precious-{link.name}"
    if "." in link.name:
        target.write_text("precious\n")
    else:
        target.mkdir()
        (target / "keep.txt").write_text("precious\n")
    link.symlink_to(target)
    return target


def untouched(target: Path) -> bool:
    if target.is_dir():
        return [p.name for p in target.iterdir()] == ["keep.txt"] and (
            target / "keep.txt"
        ).read_text() == "precious\n"
    return target.read_text() == "precious\n"


def one_error_line(proc) -> str:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize("name", WRITTEN)
def test_eval_refuses_a_planted_symlink(tmp_path, name, demo, scorer):
    from tac.contest.evaluate import evaluate_submission

    sub = plain_submission(tmp_path / "s")
    target = plant(sub / name, tmp_path)
    with pytest.raises(TacError, match="symbolic link") as exc:
        evaluate_submission(sub, demo, scorer)
    assert str(exc.value).startswith(f"{sub / name}:"), exc.value
    assert untouched(target) and (sub / name).is_symlink()


@pytest.mark.usefixtures("scorer", "demo")
@pytest.mark.parametrize("name", ["archive", "inflate.log"])
def test_cli_eval_refuses_a_planted_symlink_in_one_line(tmp_path, name):
    """Through `tac eval`, with --out: rmtree's own error would name no path at all."""
    sub = plain_submission(tmp_path / "s")
    out = tmp_path / "out"
    out.mkdir()
    target = plant(out / name, tmp_path)
    line = one_error_line(run_tac("eval", str(sub), "--out", str(out)))
    assert line.startswith(f"error: {out / name}:") and "symbolic link" in line, line
    assert untouched(target)


def test_symlink_planted_by_inflate_is_not_written_through(tmp_path, demo, scorer):
    """inflate.sh runs in the submission directory: a link it plants there is refused too."""
    from tac.contest.evaluate import evaluate_submission

    sub = plain_submission(tmp_path / "s")
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    (sub / "inflate.sh").write_text(
        f'ln -s {target} report.txt\nhead -c {C.FRAME_BYTES * 40} /dev/zero > "$2/0.raw"\n'
    )
    with pytest.raises(TacError, match="symbolic link") as exc:
        evaluate_submission(sub, demo, scorer, max_samples=1)
    assert f"{sub / 'report.txt'}:" in str(exc.value)
    assert target.read_text() == "precious\n"


def test_build_refuses_a_symlinked_out_dir_naming_it(tmp_path):
    from tac.lanes.codec import build_video_submission

    video = tmp_path / "v.mkv"
    video.write_bytes(b"x")
    real = build_video_submission({"0.mkv": video}, tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(TacError, match="symbolic link") as exc:
        build_video_submission({"0.mkv": video}, link)
    assert str(exc.value).startswith(f"{link}:")
    assert (real / "archive.zip").is_file()


def test_build_does_not_trust_a_symlinked_manifest(tmp_path):
    from tac.lanes.codec import build_video_submission
    from tac.submission.build import MANIFEST

    video = tmp_path / "v.mkv"
    video.write_bytes(b"x")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    real_manifest = tmp_path / "elsewhere.json"
    real_manifest.write_text("{}")
    (foreign / MANIFEST).symlink_to(real_manifest)
    with pytest.raises(TacError, match="not built by tac"):
        build_video_submission({"0.mkv": video}, foreign)
    assert (foreign / "notes.txt").read_text() == "mine"


def test_an_os_error_without_a_path_is_not_an_empty_path(tmp_path):
    """The CLI's OSError line names the path when the error carries one, and never prints ': '."""
    code = (
        "import shutil, tac.cli as c\n"
        "@c.app.command('boom')\n"
        "def boom(path: str): shutil.rmtree(path)\n"
        "c.main()"
    )
    target = tmp_path / "t"
    target.mkdir()
    link = tmp_path / "l"
    link.symlink_to(target)
    for path, needle in ((link, "symbolic link"), (tmp_path / "nope", str(tmp_path / "nope"))):
        r = subprocess.run(
            [sys.executable, "-c", code, "boom", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
        )
        assert r.returncode == 2, r.stderr
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith("error: ") and not line.startswith("error: :"), line
        assert needle in line, line


# --- zips as the official unzip sees them -----------------------------------------------------

BOMB_BYTES = 200 << 20


def deflate_zeros(n: int) -> bytes:
    """A raw deflate stream of `n` zero bytes, built without holding them."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    parts = [c.compress(block) for _ in range(n // len(block))]
    return b"".join(parts) + c.flush()


def hand_zip(members: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip from (name, method, stream, crc, declared size): both headers say what we say."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, method, stream, crc, size in members:
        raw = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(stream), size, len(raw), 0))  # fmt: skip
        out.write(raw + stream)
        central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 0x314, 20, 0, method, 0, 0x21, crc, len(stream), size, len(raw), 0, 0, 0, 0, 0o100644 << 16, offset))  # fmt: skip
        central.write(raw)
    cd = central.getvalue()
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), out.tell(), 0)  # fmt: skip
    return out.getvalue() + cd + eocd


@pytest.fixture(scope="module")
def bomb_zip(tmp_path_factory) -> Path:
    """1,000 bytes declared, 200 MiB inflated; the CRC is that of the declared 1,000 zeros, so a
    reader that stops at the declared size sees a perfectly valid member."""
    path = tmp_path_factory.mktemp("bomb") / "archive.zip"
    stream = deflate_zeros(BOMB_BYTES)
    path.write_bytes(hand_zip([("zeros.bin", 8, stream, zlib.crc32(bytes(1000)), 1000)]))
    return path


def codes(findings) -> set[str]:
    return {f.code for f in findings}


def test_member_inflating_past_its_declared_size_is_refused_cheaply(bomb_zip):
    tracemalloc.start()
    start = time.perf_counter()
    findings = member_findings(bomb_zip)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = [f for f in findings if f.code == "member-size"]
    assert size and size[0].severity == "error", findings
    assert "zeros.bin" in size[0].message and "1,000" in size[0].message
    assert "archive-crc" not in codes(findings)  # the size is the finding, not a CRC
    assert "member-size" in REFUSED
    assert peak < 16 << 20, f"held {peak:,} bytes"  # never the 200 MiB
    assert elapsed < 5


def test_evaluator_refuses_to_unzip_a_member_larger_than_declared(bomb_zip, tmp_path):
    with pytest.raises(TacError, match="zeros.bin"):
        unpack_archive(bomb_zip, tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


def test_check_cli_reports_the_size_mismatch(bomb_zip, tmp_path):
    sub = tmp_path / "s"
    sub.mkdir()
    (sub / "archive.zip").write_bytes(bomb_zip.read_bytes())
    (sub / "inflate.sh").write_text("exit 0\n")
    proc = run_tac("submission", "check", str(sub), "--no-run")
    assert proc.returncode == 1 and "member-size" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("method", "stream", "declared"),
    [
        (8, zlib.compress(b"short", 9)[2:-4], 1000),  # inflates to less than declared
        (0, b"stored but longer", 5),  # a stored member is its bytes
    ],
    ids=["deflate-short", "stored"],
)
def test_any_size_mismatch_is_refused(tmp_path, method, stream, declared):
    path = tmp_path / "archive.zip"
    path.write_bytes(hand_zip([("m.bin", method, stream, 0, declared)]))
    assert "member-size" in codes(member_findings(path))


def test_honest_members_pass(tmp_path):
    path = tmp_path / "archive.zip"
    stream = deflate_zeros(3 << 20)
    payload = b"stored bytes"
    path.write_bytes(
        hand_zip(
            [
                ("z.bin", 8, stream, zlib.crc32(bytes(3 << 20)), 3 << 20),
                ("s.bin", 0, payload, zlib.crc32(payload), len(payload)),
            ]
        )
    )
    assert [f for f in member_findings(path) if f.severity == "error"] == []


def named_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, b"" if name.endswith("/") else b"data")
    return path


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (["x", "x/"], "member-conflict"),
        (["x/", "x"], "member-conflict"),
        (["x", "x/y"], "member-conflict"),
        (["x/y", "x"], "member-conflict"),
        (["a/x", "a/x/y/z"], "member-conflict"),
        (["."], "member-dot"),
        (["./"], "member-dot"),
        (["a/./b"], "member-dot"),
        (["a" * 256], "member-name-long"),
        (["d/" * 2100 + "f"], "member-name-long"),
        (["é" * 128], "member-name-long"),  # 256 bytes in UTF-8, 128 characters
    ],
)
def test_names_the_file_system_cannot_hold_are_refused(tmp_path, names, code):
    path = named_zip(tmp_path / "archive.zip", names)
    findings = member_findings(path)
    assert code in codes(findings), findings
    assert code in REFUSED
    with pytest.raises(TacError):
        unpack_archive(path, tmp_path / "archive")
    assert not (tmp_path / "archive").exists()


def test_fine_names_raise_nothing(tmp_path):
    path = named_zip(tmp_path / "archive.zip", ["a/", "a/b", "a/c/d", "e" * 255, "f.bin"])
    assert [f for f in member_findings(path) if f.severity != "info"] == []


@pytest.mark.parametrize("name", ["../x", "a/../../x", "..\\x"])
def test_parent_components_are_traversal_not_hidden(tmp_path, name):
    path = named_zip(tmp_path / "archive.zip", ["ok.bin", name])
    found = codes(member_findings(path))
    assert "member-traversal" in found and "member-hidden" not in found, found


@pytest.mark.usefixtures("scorer", "demo")
def test_a_job_stopped_by_its_budget_lease_leaves_no_inflate_behind(tmp_path, marker):
    # the job is `tac eval` caught in its inflate (a session of its own, out of reach of the
    # job's process group): the host's lease stop must still end it
    from tac.jobs import worker
    from tests.test_control_units import spec

    sub = sleeper_submission(tmp_path / "s", marker, 'touch "$2/started"\nwait\n')
    job_spec = spec().model_copy(update={"job_id": "leased", "limits": spec().limits.model_copy(update={"max_wall_s": 8.0})})  # fmt: skip
    worker.submit(tmp_path / "host", job_spec.model_dump_json(), [sys.executable, "-m", "tac.cli", "eval", str(sub)])  # fmt: skip
    deadline = time.monotonic() + 60
    while not (sub / "inflated" / "started").exists():
        assert time.monotonic() < deadline, "the inflate never started"
        time.sleep(0.05)
    assert survivors(marker)  # inflate's sleepers are running
    while worker.status(tmp_path / "host", "leased")["state"] == "running":
        assert time.monotonic() < deadline + 30, "the lease never stopped the job"
        time.sleep(0.1)
    assert worker.status(tmp_path / "host", "leased")["state"] == "cancelled"
    assert wait_for_no_survivors(marker) == []
