"""The neural-representation lane (HNeRV family): the whole video as a small decoder's weights
plus one latent per frame pair, overfit through the frozen scorers and entropy-coded.

    params    NervParams (latent size, width, bits, rate weight, steps)       (space.py)
    space     NervTable columns, features and costs; the `grid` generator      (space.py)
    job       train (train.py, on the host's device) → payload (packing.py)
    inflate   inflate.sh + inflate.py + the `nervrt` runtime                   (inflate/, runtime.py)

The archive holds one member, `nerv.bin`; nothing is compressed per original (`compress`
writes no files). Importing this package is light (numpy, pydantic): torch loads in the job steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from tac.errors import TacError
from tac.lanes.base import Lane, Trained
from tac.lanes.nerv.profiles import NERV_PROFILES, NervSettings
from tac.lanes.nerv.space import GENERATORS, NervParams, NervSpace, NervTable


class NervLane(Lane):
    name = "nerv"
    params_type = NervParams
    generators = GENERATORS
    options_type = NervSpace

    def table(self, params: Sequence[NervParams]) -> NervTable:
        return NervTable.from_params(list(params))

    def train_profiles(self) -> tuple[str, ...]:
        return tuple(NERV_PROFILES.names())

    def prepare(self, params: NervParams) -> NervSettings:
        from pydantic import ValidationError

        try:
            return NervSettings.from_params(params)
        except (ValidationError, ValueError) as exc:
            raise TacError(f"{params.id()}: invalid nerv setting ({str(exc).splitlines()[-1].strip()})") from None  # fmt: skip

    def train(self, settings: NervSettings, params: NervParams, originals, work: Path, job) -> Trained:  # fmt: skip
        """Fit the representation to the one original on the job's device (the job's profile
        sets the schedule; the searched setting sets the shape, bits, rate weight and steps)."""
        from tac.lanes.chain import pair_count
        from tac.lanes.nerv.train import train

        if job.profile not in NERV_PROFILES:
            raise TacError(f"nerv lane: no training profile {job.profile!r}; known: {', '.join(NERV_PROFILES.names())}")  # fmt: skip
        config, tc = settings.training(pair_count(originals), NERV_PROFILES.get(job.profile))
        warm = f", from {job.warm_start.name}" if job.warm_start else ""
        job.log(
            f"training {settings.short()} ({job.profile}, {tc.steps} steps{warm}) on {job.device}"
        )
        result = train(config, tc, originals, job.scorer(), work / "nerv", job.log, init_from=job.warm_start, device=job.device, rung=job.rung)  # fmt: skip
        return Trained(result.checkpoint, f"trained to {result.best.score:.4f}")

    def compress(self, frames: Iterable[np.ndarray], settings: NervSettings, out: Path) -> list[Path]:  # fmt: skip
        return []  # the representation is the payload: nothing per original

    def inflate(self, payload: list[Path], settings: NervSettings) -> Iterator[np.ndarray]:
        from tac.lanes.nerv import packing, render
        from tac.lanes.nerv.runtime import MEMBER

        [blob] = [p.read_bytes() for p in payload if p.name == MEMBER]
        decoder, latents = packing.load(blob)
        return (f.numpy() for f in render.draw_frames(decoder, latents))

    def payload(self, settings: NervSettings, trained: Trained | Path | str | None, log=None):
        """The checkpoint's representation packed as `nerv.bin`; inflate's settings beside it."""
        if trained is None:
            raise TacError("nerv lane: a submission needs a trained representation (--checkpoint)")  # fmt: skip
        from tac.lanes.nerv import packing, render
        from tac.lanes.nerv.checkpoint import load_checkpoint
        from tac.lanes.nerv.runtime import MEMBER

        path = trained.path if isinstance(trained, Trained) else Path(trained)
        rep, card = load_checkpoint(path)
        blob = packing.pack(rep.decoder, rep.latents.detach(), card["train"]["bits"])
        sha = hashlib.sha256(blob).hexdigest()
        if log and sha != card["best"].get("payload_sha256"):
            log(f"note: {path} packs to another payload than the one it was scored with")
        config = {"member": MEMBER, "batch": render.DRAW_BATCH, "frames": card["video"]["frames"]}  # fmt: skip
        manifest = {"nerv": {"checkpoint": str(path), "config": card["config"], "bits": card["train"]["bits"], "trained_score": card["best"], "sha256": sha}}  # fmt: skip
        return {MEMBER: blob}, config, manifest

    def inflate_files(self) -> dict[str, bytes]:
        from tac.lanes.nerv.runtime import inflate_files

        return inflate_files()

    def train_by_hand(
        self, profile: str, options: dict, originals, scorer, out: Path, **kw
    ) -> dict:
        """Train one representation: the profile's schedule, `options` for the searched knobs
        (latent_dim, width, bits, rate_weight, steps), optionally warm-started from a checkpoint."""
        from pydantic import ValidationError

        from tac.lanes.chain import pair_count
        from tac.lanes.nerv.train import train

        if profile not in NERV_PROFILES:
            raise TacError(f"--profile {profile}: the nerv lane's profiles are {', '.join(NERV_PROFILES.names())}")  # fmt: skip
        try:
            settings = NervSettings(**options)
        except ValidationError as exc:
            from tac.records import first_error

            raise TacError(f"--option {first_error(exc)}") from None
        config, tc = settings.training(pair_count(originals), NERV_PROFILES.get(profile), steps=kw.get("max_steps"))  # fmt: skip
        result = train(config, tc, originals, scorer, out, kw.get("log", print), init_from=kw.get("init_from"), device=kw.get("device", "cpu"))  # fmt: skip
        first, best = result.history[0], result.best
        return {
            "checkpoint": result.checkpoint,
            "summary": (
                f"exact score {first.score:.4f} → {best.score:.4f} (seg {best.seg:.6f}, pose {best.pose:.6f}, "
                f"{best.archive_bytes:,} bytes; {settings.short()}, {tc.steps} steps, {result.steps_per_s:.2f} steps/s)"
            ),
        }  # fmt: skip

    def settings_from_trained(self, path: Path) -> NervSettings:
        from tac.lanes.nerv.checkpoint import load_checkpoint

        _, card = load_checkpoint(path)
        return NervSettings.from_card(card)

    def params_from_manifest(self, manifest: dict) -> NervParams:
        return NervParams(**{k: v for k, v in manifest["params"].items() if k in NervParams.model_fields})  # fmt: skip


__all__ = ["NervLane", "NervParams", "NervSettings", "NervTable"]
