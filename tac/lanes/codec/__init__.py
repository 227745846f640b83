"""The standard-codec lane: H.265 / AV1 / H.264 through PyAV, optionally with a tiny learned
post-filter trained through the frozen scorers and shipped in the archive.

    params    CodecSearchParams (codec, crf, preset, scale, filter, hidden, bits)
    space     CodecTable columns, features and costs        (space.py, generators.py)
    job       encode → (train a post-filter) → payload       (compress.py, filter_training.py)
    inflate   inflate.sh + inflate.py + the `tacrt` runtime  (inflate/, runtime.py)

Importing this package is light (numpy, pydantic): torch and PyAV load inside the job steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from tac.errors import TacError
from tac.lanes.base import Lane, Trained
from tac.lanes.codec.generators import GENERATORS, CodecSpace
from tac.lanes.codec.params import CodecParams, CodecSearchParams, setting_problem
from tac.lanes.codec.space import CodecTable


class CodecLane(Lane):
    name = "codec"
    params_type = CodecSearchParams
    generators = GENERATORS
    options_type = CodecSpace

    def table(self, params: Sequence[CodecSearchParams]) -> CodecTable:
        return CodecTable.from_params(list(params))

    def train_profiles(self) -> tuple[str, ...]:
        from tac.train.profiles import PROFILES  # the post-filter's (pydantic-free, light)

        return tuple(PROFILES.names())

    def prepare(self, params: CodecSearchParams) -> CodecParams:
        from pydantic import ValidationError

        try:
            return params.settings()
        except ValidationError as exc:
            raise TacError(f"{params.id()}: invalid codec setting{setting_problem(exc)}") from None

    def train(self, settings: CodecParams, params: CodecSearchParams, originals, work: Path, job) -> Trained | None:  # fmt: skip
        """Train the candidate's post-filter through the frozen scorers (none: nothing to do)."""
        if not params.filter:
            return None
        from tac.lanes.codec.filter_training import train_filter

        return Trained(train_filter(settings, params, originals, work, job), "filter")

    def compress(self, frames: Iterable[np.ndarray], settings: CodecParams, out: Path) -> list[Path]:  # fmt: skip
        from tac.lanes.codec.compress import compress

        return compress(frames, settings, out)

    def inflate(self, payload: list[Path], settings: CodecParams) -> Iterator[np.ndarray]:
        from tac.lanes.codec.compress import inflate

        return inflate(payload, settings)

    def inflate_config(self, settings: CodecParams) -> dict:
        """What the submission's inflate needs besides the archive (lives outside it: free)."""
        return {"upscale_filter": settings.upscale_filter}

    def payload(self, settings: CodecParams, trained: Trained | Path | str | None, log=None):
        """With a trained post-filter, the archive carries its quantized weights and inflate
        applies it to every decoded frame on the CPU."""
        config = self.inflate_config(settings)
        if trained is None:
            return {}, config, {}
        from tac.lanes.codec import runtime

        checkpoint = trained.path if isinstance(trained, Trained) else Path(trained)
        shipped = shipped_filter(checkpoint, log)
        config["filter"] = {"member": runtime.FILTER_MEMBER, "batch": runtime.DEFAULT_BATCH}
        return {runtime.FILTER_MEMBER: shipped["blob"]}, config, {"filter": shipped["manifest"]}

    def inflate_files(self) -> dict[str, bytes]:
        from tac.lanes.codec.runtime import inflate_files

        return inflate_files()

    def params_from_manifest(self, manifest: dict) -> CodecSearchParams:
        p, f = manifest["params"], manifest.get("filter")
        return CodecSearchParams(
            codec=p["codec"], crf=p["crf"], preset=p["preset"], scale=p["scale"],
            filter=f["arch"]["name"] if f else None, hidden=f["arch"].get("hidden", 0) if f else 0,
            bits=f["bits"] if f else 8,
        )  # fmt: skip


def shipped_filter(checkpoint: Path, log=None) -> dict:
    """A checkpoint's `filter.tacq` blob, checked to rebuild the checkpoint's own weights."""
    from tac.lanes.codec import runtime
    from tac.postfilter.checkpoint import load_checkpoint

    model, card = load_checkpoint(checkpoint)
    bits = card["train"]["bits"]
    blob = runtime.filter_blob(model, bits)
    rebuilt = runtime.load_filter_blob(blob).state_dict()
    drift = max(float((rebuilt[k] - v).abs().max()) for k, v in model.state_dict().items())
    if drift and log:
        # Checkpoints hold dequantized weights; re-quantizing an LSQ grid onto the absmax grid
        # can move a weight by part of a step. The submission's own score is what counts.
        log(f"note: re-quantizing {checkpoint} moved weights by up to {drift:.2e}")
    return {
        "blob": blob,
        "manifest": {
            "checkpoint": str(checkpoint),
            "arch": card["arch"],
            "bits": bits,
            "sha256": hashlib.sha256(blob).hexdigest(),
        },
    }


def build_video_submission(videos: dict[str, str | Path], out_dir: str | Path) -> Path:
    """A submission whose archive holds one ready-made video per original (`{"0.mkv": path}`).

    Its inflate (the codec lane's) decodes each video with the evaluator's own YUV→RGB
    conversion, resizing to 1164x874 if needed, so an archive holding the original itself
    scores zero distortion.
    """
    from tac.lanes.codec.runtime import inflate_files
    from tac.submission.build import package_submission

    members = {Path(name).stem + Path(path).suffix: Path(path) for name, path in videos.items()}
    manifest = {"lane": "video", "videos": sorted(videos)}
    return package_submission(out_dir, members, inflate_files(), {}, manifest)


__all__ = ["CodecLane", "CodecParams", "CodecSearchParams", "CodecTable", "build_video_submission"]
