"""The exact evaluator: what the official `evaluate.sh` + `evaluate.py` do, with clear errors.

unzip archive.zip → archive/ ; bash inflate.sh archive/ inflated/ names ; check every NAME.raw ;
score against the originals ; write report.txt, result.json and per_sample.csv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

import tac
from tac import atomic, sessions
from tac.contest import constants as C
from tac.contest.archive import unpack_archive
from tac.contest.originals import Originals
from tac.contest.reference import reference_outputs
from tac.contest.score import contest_score, format_results_block, rate
from tac.contest.scorer import Scorer, distortions, official_mean
from tac.errors import TacError
from tac.hashing import sha256_file
from tac.records import EvalResult, save_record
from tac.video.decode import count_frames, iter_pair_batches
from tac.video.raw import raw_frame_count, read_raw

Progress = Callable[[str, int, int], None]  # (stage, done, total)
TICK_S = 0.5  # how often a running inflate's progress (frames written so far) is reported
REPORTS = ("report.txt", "result.json", "per_sample.csv")
WRITTEN = ("inflate.log", "archive", "inflated", *REPORTS)  # everything tac writes in the out dir


# --- inflate ----------------------------------------------------------------------------------


def run_inflate(
    submission_dir: Path,
    archive_dir: Path,
    output_dir: Path,
    names_file: Path,
    timeout_s: float,
    log: Path,
    on_tick: Callable[[], None] | None = None,
) -> float:
    """`bash inflate.sh ARCHIVE_DIR OUTPUT_DIR VIDEO_NAMES_FILE`; returns its wall time.
    `on_tick` is called about twice a second while it runs (progress in frames written)."""
    script = submission_dir / "inflate.sh"
    if not script.is_file():
        raise TacError(
            f"{script}: inflate.sh not found; a submission directory must contain inflate.sh"
        )
    atomic.fresh_dir(output_dir)
    argv = [
        "bash",
        str(script.resolve()),
        str(archive_dir.resolve()),
        str(output_dir.resolve()),
        str(names_file.resolve()),
    ]
    # inflate.sh calls `python3`: make that the interpreter tac runs in (its venv has torch, av,
    # numpy), as the official machine's python3 is the one its evaluator runs in.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    start = time.perf_counter()
    with atomic.open_nofollow(log) as out:
        # Its own session, ended whole however the wait ends: exit, timeout, Ctrl-C or SIGTERM
        # (which tac's CLI turns into the same KeyboardInterrupt); background children included.
        proc = subprocess.Popen(
            argv,
            cwd=submission_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": path},
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    sessions.wait_unreaped(proc, max(0.0, min(TICK_S, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        raise
                    if on_tick:
                        on_tick()
        except subprocess.TimeoutExpired:
            raise TacError(
                f"{script}: inflate did not finish within {timeout_s:.0f} s; see {log}"
            ) from None
        finally:
            sessions.end_session(proc)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        tail = _last_line(log)
        raise TacError(
            f"{script}: inflate failed with exit code {proc.returncode}{': ' + tail if tail else ''} (full log: {log})"
        )
    return wall


def _last_line(path: Path) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:  # inflate.sh removed its own log: the exit code still says enough
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1][:200] if lines else ""


# --- scoring ---------------------------------------------------------------------------------


@dataclass
class VideoScores:
    name: str
    pose: torch.Tensor  # per-sample float32
    seg: torch.Tensor


def score_video(
    scorer: Scorer,
    original: Path,
    reconstructed: Path,
    batch_size: int = C.DEFAULT_BATCH_SIZE,
    max_samples: int | None = None,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> VideoScores:
    """Per-sample distortions of one reconstructed .raw against its original video."""
    raw = read_raw(reconstructed)
    ref = reference_outputs(scorer, original, batch_size, max_samples, use_cache)
    n_samples = (
        len(raw) // C.SEQ_LEN if max_samples is None else min(len(raw) // C.SEQ_LEN, max_samples)
    )
    if len(ref) != n_samples:
        raise TacError(
            f"{reconstructed}: {len(raw)} frames, but the original {original.name} gives {len(ref)} samples"
        )
    frames = (raw[i] for i in range(n_samples * C.SEQ_LEN))
    poses, segs, done = [], [], 0
    for batch in iter_pair_batches(frames, batch_size):
        comp = scorer.outputs(batch)
        pose, seg = distortions(ref.slice(done, done + len(comp)), comp)
        poses.append(pose)
        segs.append(seg)
        done += len(comp)
        if progress:
            progress(len(comp))
    empty = torch.zeros(0)
    return VideoScores(
        original.name, torch.cat(poses) if poses else empty, torch.cat(segs) if segs else empty
    )


def expected_frames(originals: Originals, name: str) -> int:
    return count_frames(originals.path(name))


def evaluate_submission(
    submission_dir: str | Path,
    originals: Originals,
    scorer: Scorer,
    out_dir: str | Path | None = None,
    max_samples: int | None = None,
    batch_size: int = C.DEFAULT_BATCH_SIZE,
    use_cache: bool = True,
    inflate_timeout_s: float = C.INFLATE_TIME_LIMIT_S,
    progress: Progress | None = None,
) -> EvalResult:
    """Evaluate a submission directory end to end; writes report.txt, result.json, per_sample.csv."""
    start = time.perf_counter()
    sub = Path(submission_dir)
    if not sub.is_dir():
        raise TacError(f"{sub}: submission directory not found")
    out = Path(out_dir) if out_dir else sub
    out.mkdir(parents=True, exist_ok=True)
    archive = sub / "archive.zip"
    if not (sub / "inflate.sh").is_file():
        raise TacError(
            f"{sub / 'inflate.sh'}: inflate.sh not found; a submission directory must contain inflate.sh"
        )
    atomic.refuse_symlinks(out, *WRITTEN)  # before anything is written or removed
    for stale in REPORTS:
        (out / stale).unlink(missing_ok=True)  # a failed run must not leave an old result
    archive_dir, inflated = out / "archive", out / "inflated"
    unpack_archive(archive, archive_dir)
    # Measured before any submission code runs; inflate must not be able to change it.
    archive_stat = (archive.stat().st_size, sha256_file(archive))
    frames = sum(expected_frames(originals, name) for name in originals.video_names)

    def inflate_tick() -> None:  # frames written so far, from the .raw files' sizes
        written = (
            sum(f.stat().st_size for f in inflated.glob("*.raw") if f.is_file()) // C.FRAME_BYTES
        )
        progress("inflate frames", min(written, frames), frames)

    if progress:
        progress("inflate frames", 0, frames)
    run_inflate(
        sub, archive_dir, inflated, originals.names_file, inflate_timeout_s, out / "inflate.log",
        on_tick=inflate_tick if progress else None,
    )  # fmt: skip
    if progress:
        progress("inflate frames", frames, frames)
    if (archive.stat().st_size, sha256_file(archive)) != archive_stat:
        raise TacError(f"{archive}: changed while inflate.sh ran; refusing to score it")
    atomic.refuse_symlinks(out, *REPORTS)  # inflate.sh ran in the submission directory

    # Check every output before spending any scoring time.
    plan: list[tuple[str, Path, int]] = []
    for name in originals.video_names:
        raw = inflated / f"{Path(name).stem}.raw"
        if not raw.is_file():
            raise TacError(
                f"{raw}: inflate.sh did not write it; it must write OUTPUT_DIR/{Path(name).stem}.raw"
            )
        want = expected_frames(originals, name)
        got = raw_frame_count(raw)
        if got != want:
            raise TacError(
                f"{raw}: {got} frames ({raw.stat().st_size:,} bytes) but the original has {want} "
                f"({want * C.FRAME_BYTES:,} bytes expected); inflate must write every frame at 1164x874"
            )
        plan.append((name, raw, want // C.SEQ_LEN))

    total = sum(n if max_samples is None else min(n, max_samples) for _, _, n in plan)
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress("score", done, total)

    scores = [
        score_video(scorer, originals.path(name), raw, batch_size, max_samples, use_cache, tick)
        for name, raw, _ in plan
    ]
    return _finish(scores, plan, archive_stat, originals, scorer, out, max_samples, start)


def _finish(
    scores: list[VideoScores],
    plan: list[tuple[str, Path, int]],
    archive_stat: tuple[int, str],  # (bytes, sha256), taken before inflate ran
    originals: Originals,
    scorer: Scorer,
    out: Path,
    max_samples: int | None,
    start: float,
) -> EvalResult:
    pose = official_mean([s.pose for s in scores])
    seg = official_mean([s.seg for s in scores])
    n = sum(len(s.pose) for s in scores)
    n_total = sum(k for _, _, k in plan)
    (archive_bytes, archive_sha256), original_bytes = archive_stat, originals.total_bytes
    r = rate(archive_bytes, original_bytes)
    per_sample = out / "per_sample.csv"
    rows = ["video,sample,pose,seg"] + [
        f"{s.name},{i},{p:.9g},{g:.9g}"
        for s in scores
        for i, (p, g) in enumerate(zip(s.pose.tolist(), s.seg.tolist(), strict=True))
    ]
    atomic.write_text(per_sample, "\n".join(rows) + "\n")
    result = EvalResult(
        archive_bytes=archive_bytes,
        archive_sha256=archive_sha256,
        original_bytes=original_bytes,
        rate=r,
        pose=pose,
        seg=seg,
        score=contest_score(seg, pose, r),
        n_samples=n,
        n_samples_total=n_total,
        estimate=max_samples is not None and n < n_total,
        runner_axis="cpu",
        device=str(scorer.device),
        weights=scorer.weights.weights_id,
        videos=list(originals.video_names),
        per_sample_file=per_sample.name,
        wall_s=time.perf_counter() - start,
        tac_version=tac.__version__,
        torch_version=torch.__version__,
    )
    save_record(result, out / "result.json")
    atomic.write_text(out / "report.txt", format_report(result, originals, scorer))
    return result


def format_report(result: EvalResult, originals: Originals, scorer: Scorer) -> str:
    """The official result block, preceded by where every number came from."""
    header = [
        "=== tac evaluation ===",
        f"  originals: {originals.describe()}",
        f"  scorer weights: {scorer.weights.describe()}",
        f"  runner axis: {result.runner_axis} (original decoded with PyAV); networks on {result.device}",
        f"  archive sha256: {result.archive_sha256}",
    ]
    if result.estimate:
        header.append(
            f"  ESTIMATE: scored {result.n_samples} of {result.n_samples_total} samples; not an official score"
        )
    block = format_results_block(
        result.n_samples, result.pose, result.seg, result.archive_bytes, result.original_bytes
    )
    return "\n".join(header) + "\n" + block + "\n"


def score_raw(
    scorer: Scorer,
    original: Path,
    reconstructed: Path,
    max_samples: int | None = None,
    batch_size: int = C.DEFAULT_BATCH_SIZE,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[float, float, int, int]:
    """Score raw frames directly against an original video: (pose, seg, n_samples, n_total)."""
    want = count_frames(original)
    got = raw_frame_count(reconstructed)
    if got != want:
        raise TacError(f"{reconstructed}: {got} frames but {original} has {want}; they must match")
    s = score_video(scorer, original, reconstructed, batch_size, max_samples, use_cache, progress)
    return official_mean([s.pose]), official_mean([s.seg]), len(s.pose), want // C.SEQ_LEN
