"""The codec lane's train step, and what `tac lossy train` and `tac lossy eval` do.

train: originals → codec lane → decoded frames (cached as comp.raw / gt.raw, reusable with
--precomputed) → Trainer → checkpoint. eval: archive → decoded frames → filter → exact scores.
`train_filter` is the step a loop job runs for a candidate that carries a post-filter.
"""

from __future__ import annotations

import json
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tac import atomic
from tac.contest import constants as C
from tac.contest.archive import check_archive
from tac.contest.evaluate import score_raw
from tac.contest.originals import Originals
from tac.contest.score import contest_score
from tac.contest.scorer import Scorer
from tac.errors import TacError
from tac.lanes.codec.compress import compress, inflate
from tac.lanes.codec.params import CodecParams, CodecSearchParams
from tac.postfilter.checkpoint import apply_filter, load_checkpoint
from tac.train.config import TrainConfig
from tac.video.decode import iter_frames
from tac.video.raw import raw_frame_count, read_raw, write_raw


def shipped_filter_bytes(model, bits: int) -> int:
    """Exactly what carrying this filter adds to a submission's archive.zip."""
    from tac.lanes.codec.runtime import FILTER_MEMBER, filter_blob
    from tac.submission.archive import member_cost

    return member_cost(FILTER_MEMBER, filter_blob(model, bits))


def _counted(frames, label: str, log: Callable[[str], None], every_s: float = 2.0):
    """Pass frames through, logging how many went by every `every_s` (long steps speak up)."""
    start = last = time.perf_counter()
    n = 0
    for n, frame in enumerate(frames, 1):
        yield frame
        if time.perf_counter() - last >= every_s:
            last = time.perf_counter()
            log(f"{label}: {n} frames ({n / (last - start):.1f}/s)")
    log(f"{label}: {n} frames in {time.perf_counter() - start:.1f} s")


def prepare_frames(
    originals: Originals, params: CodecParams, out: Path, log: Callable[[str], None]
) -> dict:
    """Encode the first original with the codec lane; write comp.raw, gt.raw, meta.json."""
    name = originals.video_names[0]
    out.mkdir(parents=True, exist_ok=True)
    log(f"preparing frames: encoding {name} ({params.short()}), decoding it, writing both")
    [payload] = compress(_counted(iter_frames(originals.path(name)), f"encoding {name}", log), params, out / "payload")  # fmt: skip
    n_comp = write_raw(out / "comp.raw", _counted(inflate([payload], params), "decoding the encoded frames", log))  # fmt: skip
    n_gt = write_raw(out / "gt.raw", _counted((f.numpy() for f in iter_frames(originals.path(name))), "writing the original frames", log))  # fmt: skip
    if n_comp != n_gt:
        raise TacError(f"{payload}: decoded {n_comp} frames but the original has {n_gt}")
    meta = {
        "v": 1, "video": name, "params": params.model_dump(), "payload_bytes": payload.stat().st_size,
        "original_bytes": originals.total_bytes, "frames": n_gt,
    }  # fmt: skip
    atomic.write_json(out / "meta.json", meta)
    return meta


def load_precomputed(directory: Path) -> dict:
    for name in ("comp.raw", "gt.raw", "meta.json"):
        if not (directory / name).is_file():
            raise TacError(
                f"{directory}: --precomputed needs comp.raw, gt.raw and meta.json (missing {name}); make them with `tac lossy train` once"
            )
    if raw_frame_count(directory / "comp.raw") != raw_frame_count(directory / "gt.raw"):
        raise TacError(f"{directory}: comp.raw and gt.raw hold different frame counts")
    return json.loads((directory / "meta.json").read_text())


@dataclass
class TrainSummary:
    before: float
    after: float
    filter_bytes: int
    score_before: float
    score_after: float
    checkpoint: Path
    steps: int
    wall_s: float


def train(
    config: TrainConfig, data_dir: Path, scorer: Scorer, resume: bool = False
) -> TrainSummary:
    from tac.postfilter import build_postfilter
    from tac.train.trainer import Trainer

    meta = load_precomputed(data_dir)
    comp, gt = read_raw(data_dir / "comp.raw"), read_raw(data_dir / "gt.raw")
    import torch

    torch.manual_seed(config.seed)
    model = build_postfilter(config.arch, hidden=config.hidden)
    trainer = Trainer(model, config, device=str(scorer.device))
    result = trainer.fit_frames(comp, gt, scorer.posenet, scorer.segnet, resume=resume)
    deployed, _ = load_checkpoint(result.checkpoint)
    filter_bytes = shipped_filter_bytes(deployed, config.bits)
    rate_before = meta["payload_bytes"] / meta["original_bytes"]
    rate_after = (meta["payload_bytes"] + filter_bytes) / meta["original_bytes"]
    return TrainSummary(
        before=result.before,
        after=result.best,
        filter_bytes=filter_bytes,
        score_before=result.before + C.RATE_WEIGHT * rate_before,
        score_after=result.best + C.RATE_WEIGHT * rate_after,
        checkpoint=result.checkpoint,
        steps=result.steps,
        wall_s=result.wall_s,
    )


def evaluate_with_filter(
    checkpoint: Path,
    archive: Path,
    originals: Originals,
    scorer: Scorer,
    upscale_filter: str = "bicubic",
) -> dict:
    """Decode the archive's video, apply the filter, score exactly against the original."""
    from tac.lanes.codec.inflate import inflate as runtime

    model, card = load_checkpoint(checkpoint)
    check_archive(archive)
    name = originals.video_names[0]
    stem = Path(name).stem
    with tempfile.TemporaryDirectory(prefix="tac-lossy-") as tmp:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        videos = [
            p for p in Path(tmp).iterdir() if p.stem == stem and p.suffix in runtime.VIDEO_SUFFIXES
        ]
        if not videos:
            raise TacError(f"{archive}: no video for {name} inside; expected {stem}.mkv or similar")
        decoded = [f.numpy() for f in runtime.decode_frames(videos[0], upscale_filter)]
        raw = Path(tmp) / f"{stem}.raw"
        write_raw(raw, apply_filter(model, decoded))
        pose, seg, n, total = score_raw(scorer, originals.path(name), raw)
    filter_bytes = shipped_filter_bytes(model, card["train"]["bits"])
    archive_bytes = archive.stat().st_size + filter_bytes
    rate = archive_bytes / originals.total_bytes
    return {
        "pose": pose, "seg": seg, "n_samples": n, "n_samples_total": total, "rate": rate,
        "archive_bytes": archive_bytes, "filter_bytes": filter_bytes, "score": contest_score(seg, pose, rate),
        "weights": scorer.weights.weights_id, "runner_axis": "cpu",
    }  # fmt: skip


def train_filter(settings: CodecParams, params: CodecSearchParams, originals: Originals, work: Path, job) -> Path:  # fmt: skip
    """A loop job's train step: the candidate's post-filter, trained on its own encode under
    the job's profile; returns the checkpoint."""
    import shutil

    from tac.train.profiles import profile_config

    config = profile_config(
        job.profile, tag="filter", out_dir=str(work / "train"), arch=params.filter, hidden=params.hidden, bits=params.bits
    )  # fmt: skip
    frames = work / "train" / "frames"
    prepare_frames(originals, settings, frames, job.log)
    job.log(f"training {params.filter} h{params.hidden} int{params.bits} ({job.profile})")
    summary = train(config, frames, job.scorer())
    shutil.rmtree(frames, ignore_errors=True)
    return summary.checkpoint
