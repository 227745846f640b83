"""The masks + renderer lane: SegNet's classes of every pair's second frame, coded; a pose side
channel; and a small renderer, trained through the frozen scorers, that draws both frames of
every pair back from them.

    params    MasksParams (mask codec, crf, width, bits, pose bits, rate weight, steps) (space.py)
    space     MasksTable columns, features and costs; the `grid` generator            (space.py)
    job       train (train.py, on the host's device) → payload: the exactly-scored masks.bin
    inflate   inflate.sh + inflate.py + the `masksrt` runtime                      (inflate/, runtime.py)

    masks.py     the masks and the pose targets (the exact evaluation's cached ground truth)
    codecs.py    mask codecs behind one interface (`MASK_CODECS`): av1 and hevc grey videos
                 (lossy, crf), lzma and brotli (lossless floors), context (lossless, learned on
                 the fly; measured, never shipped: its range coder is not on the official machine)
    context.py   the lossless adaptive context-model coder (numpy + constriction)
    pose.py      the pose side channel: quantized, delta-coded, entropy-coded targets
    renderer.py  the network; render.py draws its frames; payload.py packs all three streams
    profiles.py  training profiles and the settings a job runs

The archive holds one member, `masks.bin`; nothing is compressed per original. Importing this
package is light (numpy, pydantic): torch and the codecs load in the job steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from tac.errors import TacError
from tac.lanes.base import Lane, Trained
from tac.lanes.masks.profiles import MASKS_PROFILES, MasksSettings
from tac.lanes.masks.space import GENERATORS, MasksParams, MasksSpace, MasksTable


def _settings(**values) -> MasksSettings:
    from pydantic import ValidationError

    from tac.records import first_error

    try:
        return MasksSettings(**values)
    except ValidationError as exc:
        raise TacError(first_error(exc)) from None


def _card(path: Path) -> dict:
    from tac.checkpoints import read_checkpoint

    return read_checkpoint(path, "a masks checkpoint", lane="masks")[1]


class MasksLane(Lane):
    name = "masks"
    params_type = MasksParams
    generators = GENERATORS
    options_type = MasksSpace

    def table(self, params: Sequence[MasksParams]) -> MasksTable:
        return MasksTable.from_params(list(params))

    def train_profiles(self) -> tuple[str, ...]:
        return tuple(MASKS_PROFILES.names())

    def prepare(self, params: MasksParams) -> MasksSettings:
        try:
            return _settings(**{k: getattr(params, k) for k in MasksSettings.model_fields if k in MasksParams.model_fields})  # fmt: skip
        except TacError as exc:
            raise TacError(f"{params.id()}: invalid masks setting ({exc})") from None

    def train(self, settings: MasksSettings, params: MasksParams, originals, work: Path, job) -> Trained:  # fmt: skip
        """Fit a renderer to the one original on the job's device (the profile sets the size and
        schedule; the searched setting sets the codecs, width, bits, rate weight and steps)."""
        from tac.lanes.masks.train import train

        if job.profile not in MASKS_PROFILES:
            raise TacError(f"masks lane: no training profile {job.profile!r}; known: {', '.join(MASKS_PROFILES.names())}")  # fmt: skip
        config, tc = settings.training(MASKS_PROFILES.get(job.profile))
        job.log(f"training {settings.short()} ({job.profile}, {tc.steps} steps) on {job.device}")
        result = train(config, tc, originals, job.scorer(), work / "masks", job.log, device=job.device)  # fmt: skip
        return Trained(result.checkpoint, f"trained to {result.best.score:.4f}")

    def compress(self, frames: Iterable[np.ndarray], settings: MasksSettings, out: Path) -> list[Path]:  # fmt: skip
        return []  # the masks, poses and renderer are the payload: nothing per original

    def inflate(self, payload: list[Path], settings: MasksSettings) -> Iterator[np.ndarray]:
        from tac.lanes.masks import payload as masks_payload
        from tac.lanes.masks.render import draw_frames

        [blob] = [p.read_bytes() for p in payload if p.name == masks_payload.MEMBER]
        renderer, masks, poses = masks_payload.load(blob)
        return (f.numpy() for f in draw_frames(renderer, masks, poses))

    def payload(self, settings: MasksSettings, trained: Trained | Path | str | None, log=None):
        """The payload training scored (`masks.bin` beside the checkpoint), checked against the
        card; inflate's settings beside it."""
        if trained is None:
            raise TacError("masks lane: a submission needs a trained renderer (--checkpoint)")
        from tac.lanes.masks import payload as masks_payload
        from tac.lanes.masks.codecs import MASK_CODECS
        from tac.lanes.masks.render import DRAW_BATCH

        path = trained.path if isinstance(trained, Trained) else Path(trained)
        card = _card(path)
        member = path.parent / masks_payload.MEMBER
        if not member.is_file():
            raise TacError(f"{member}: not found; the masks lane ships the payload its training scored, written beside {path.name}")  # fmt: skip
        blob = member.read_bytes()
        sha = hashlib.sha256(blob).hexdigest()
        if sha != card["best"].get("payload_sha256"):
            raise TacError(f"{member}: not the payload {path.name}'s card scored (sha256 {sha[:12]}…); train again or restore it")  # fmt: skip
        codec = card["train"]["codec"]
        if not MASK_CODECS.get(codec).portable:
            raise TacError(f"{member}: its masks are {codec}-coded, which the official machine cannot decode; train with codec av1, hevc, brotli or lzma")  # fmt: skip
        config = {"member": masks_payload.MEMBER, "batch": DRAW_BATCH, "frames": card["video"]["frames"], "device": settings.inflate_device}  # fmt: skip
        # the score training measured was drawn on the CPU: it is the CPU runner axis's
        manifest = {"masks": {"checkpoint": str(path), "config": card["config"], "train": card["train"], "trained_score": {**card["best"], "runner_axis": "cpu"}, "inflate_device": settings.inflate_device, "sha256": sha}}  # fmt: skip
        return {masks_payload.MEMBER: blob}, config, manifest

    def inflate_files(self) -> dict[str, bytes]:
        from tac.lanes.masks.runtime import inflate_files

        return inflate_files()

    def train_by_hand(
        self, profile: str, options: dict, originals, scorer, out: Path, **kw
    ) -> dict:
        """Train one renderer: the profile's size and schedule, `options` for the searched knobs
        (codec, crf, width, bits, pose_bits, rate_weight, steps) and `tto_steps`; optionally
        warm-started from a masks checkpoint of the same shape (`init_from`)."""
        from tac.lanes.masks.train import train

        if profile not in MASKS_PROFILES:
            raise TacError(f"--profile {profile}: the masks lane's profiles are {', '.join(MASKS_PROFILES.names())}")  # fmt: skip
        try:
            settings = _settings(**options)
        except TacError as exc:
            raise TacError(f"--option {exc}") from None
        config, tc = settings.training(MASKS_PROFILES.get(profile), steps=kw.get("max_steps"))
        result = train(config, tc, originals, scorer, out, kw.get("log", print), device=kw.get("device", "cpu"), init_from=kw.get("init_from"))  # fmt: skip
        first, best = result.history[0], result.best
        return {
            "checkpoint": result.checkpoint,
            "summary": (
                f"exact score {first.score:.4f} → {best.score:.4f} (seg {best.seg:.6f}, pose {best.pose:.6f}, "
                f"{best.archive_bytes:,} bytes; {settings.short()}, {tc.steps} steps, {result.steps_per_s:.2f} steps/s)"
            ),
        }  # fmt: skip

    def settings_from_trained(self, path: Path) -> MasksSettings:
        return MasksSettings.from_card(_card(path))

    def params_from_manifest(self, manifest: dict) -> MasksParams:
        return MasksParams(**{k: v for k, v in manifest["params"].items() if k in MasksParams.model_fields})  # fmt: skip


__all__ = ["MasksLane", "MasksParams", "MasksSettings", "MasksTable"]
