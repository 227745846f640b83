"""`tac submission check`: the preflight a contestant wants before spending an evaluation.

Each finding is one line with a severity. Errors mean the official evaluation would fail or be
refused; warnings mean it would probably run but something is off; info is what you should know.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tac.contest import constants as C
from tac.contest.archive import Finding, Severity, member_findings

# What the official evaluation machine has besides the standard library.
OFFICIAL_PACKAGES = frozenset(
    {
        "torch",
        "numpy",
        "av",
        "timm",
        "segmentation_models_pytorch",
        "safetensors",
        "einops",
        "PIL",
        "brotli",
    }
)


def import_findings(submission: Path) -> list[Finding]:
    """Every .py in the submission may import only what the official machine has."""
    found: list[Finding] = []
    local = {p.stem for p in submission.rglob("*.py")} | {
        p.name for p in submission.iterdir() if p.is_dir()
    }
    allowed = OFFICIAL_PACKAGES | set(sys.stdlib_module_names) | local
    for path in sorted(submission.rglob("*.py")):
        if path.relative_to(submission).parts[0] in ("archive", "inflated"):
            continue  # what an earlier evaluation unpacked or wrote, not the submission's code
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError) as exc:
            found.append(Finding("error", "inflate-syntax", f"{path.name}: does not parse ({exc})"))
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in allowed:
                    found.append(
                        Finding(
                            "error",
                            "inflate-import",
                            f"{path.name}:{node.lineno} imports {top!r}, which the official machine lacks",
                        )
                    )
    return found


def inflate_script_findings(submission: Path) -> list[Finding]:
    script = submission / "inflate.sh"
    if not script.is_file():
        return [Finding("error", "inflate-missing", f"{script}: inflate.sh not found")]
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["syntax error"])[0]
        return [Finding("error", "inflate-syntax", f"inflate.sh: {first}")]
    return []


def timed_inflate(submission: Path, names_file: Path, frames_expected: int) -> tuple[float, int]:
    """Run inflate.sh on the archive into a scratch dir: (seconds, frames written)."""
    from tac.contest.archive import unpack_archive
    from tac.contest.evaluate import run_inflate
    from tac.video.raw import raw_frame_count

    with tempfile.TemporaryDirectory(prefix="tac-check-") as tmp:
        archive_dir, out = Path(tmp) / "archive", Path(tmp) / "inflated"
        unpack_archive(submission / "archive.zip", archive_dir)
        start = time.perf_counter()
        run_inflate(
            submission,
            archive_dir,
            out,
            names_file,
            C.INFLATE_TIME_LIMIT_S,
            Path(tmp) / "inflate.log",
        )
        wall = time.perf_counter() - start
        frames = sum(raw_frame_count(p) for p in out.glob("*.raw"))
    return wall, frames


def interpreter_startup_s() -> float:
    """What starting python3 with torch, numpy and av costs here: the part of an inflate's wall
    time that does not grow with its frames (a lane that imports more counts the rest per frame,
    which only makes the projection more cautious)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, numpy, av"], capture_output=True, check=False)  # fmt: skip
    return time.perf_counter() - start


def check_submission(
    submission: str | Path, originals=None, run_inflate: bool = True
) -> list[Finding]:
    """All findings for a submission directory (nothing in it is modified)."""
    from tac.errors import TacError

    sub = Path(submission)
    if not sub.is_dir():
        return [Finding("error", "not-a-directory", f"{sub}: submission directory not found")]
    archive = sub / "archive.zip"
    found = member_findings(archive) + inflate_script_findings(sub) + import_findings(sub)
    if originals is not None:
        found.append(Finding("info", "originals", f"checked against {originals.describe()}"))
    if archive.is_file():
        size = archive.stat().st_size
        if originals is not None:
            r = size / originals.total_bytes
            found.append(
                Finding(
                    "info",
                    "rate",
                    f"archive {size:,} bytes = rate {r:.8f} → 25·rate = {25 * r:.4f}",
                )
            )
        r_contest = size / C.CONTEST_VIDEO_BYTES
        found.append(
            Finding(
                "info",
                "contest-rate",
                f"on the contest video this archive is rate {r_contest:.8f} (25·rate {25 * r_contest:.4f})",
            )
        )
    if run_inflate and originals is not None and not any(f.severity == "error" for f in found):
        expected = _expected_frames(originals)
        try:
            wall, frames = timed_inflate(sub, originals.names_file, expected)
        except TacError as exc:
            return [*found, Finding("error", "inflate-failed", str(exc))]
        if frames != expected:
            found.append(
                Finding(
                    "error",
                    "inflate-frames",
                    f"inflate wrote {frames} frames, the originals have {expected}",
                )
            )
        if frames:
            startup = min(interpreter_startup_s(), wall)
            per_frame = (wall - startup) / frames
            projected = startup + per_frame * C.CONTEST_FRAMES
            severity: Severity = "info" if projected < 0.5 * C.INFLATE_TIME_LIMIT_S else "warning"
            if projected > C.INFLATE_TIME_LIMIT_S:
                severity = "error"
            found.append(
                Finding(
                    severity,
                    "inflate-time",
                    f"inflate took {wall:.1f} s for {frames} frames here (start-up {startup:.1f} s, then {per_frame * 1e3:.0f} ms a frame); "
                    f"{C.CONTEST_FRAMES} frames ≈ {projected / 60:.1f} min "
                    f"of the {C.INFLATE_TIME_LIMIT_S // 60}-minute limit (estimate, this machine)",
                )
            )
    return found


def _expected_frames(originals) -> int:
    from tac.video.decode import count_frames

    return sum(count_frames(originals.path(n)) for n in originals.video_names)
