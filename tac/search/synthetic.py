"""A synthetic world with known ground truth, for tests, benchmarks and the quickstart.

Its "evaluations" follow exact power laws in the codec knobs with log-normal noise, so a
predictor can be checked against the truth. Everything it makes is labelled: weights
`synthetic:<seed>`, device `synthetic`. Nothing here is a measurement of a real codec.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from tac.contest.score import contest_score
from tac.lanes.codec import CodecSearchParams, CodecTable
from tac.records import Anchor, EvalResult

ORIGINAL_BYTES = 37_545_489  # the contest video's size, so rates look familiar


@dataclass(frozen=True)
class SyntheticWorld:
    seed: int = 0
    noise: float = 0.08  # σ of the log-normal noise on every term
    # ln y = c0 + c_q·quality + c_s·ln(scale) + c_v·speed, per term
    bytes_law: tuple[float, float, float, float] = (16.2, -5.0, 1.8, 0.25)
    pose_law: tuple[float, float, float, float] = (-7.5, 7.0, -1.4, 0.1)
    seg_law: tuple[float, float, float, float] = (-6.0, 5.5, -1.1, 0.05)
    filter_gain: float = -0.15  # ln factor a post-filter takes off each distortion term

    @property
    def weights(self) -> str:
        return f"synthetic:{self.seed}"

    def truth(self, t: CodecTable) -> dict[str, np.ndarray]:
        """Noise-free bytes, pose, seg."""
        x = np.stack([np.ones(len(t)), t.quality(), t.log_scale(), t.speed()], axis=1)
        gain = np.where(t.filter > 0, self.filter_gain, 0.0)
        return {
            "bytes": np.exp(x @ np.array(self.bytes_law)) + t.filter_bytes(),
            "pose": np.exp(x @ np.array(self.pose_law) + gain),
            "seg": np.minimum(np.exp(x @ np.array(self.seg_law) + gain), 1.0),
        }

    def measure(self, t: CodecTable, rng: np.random.Generator) -> dict[str, np.ndarray]:
        truth = self.truth(t)
        return {k: v * np.exp(rng.normal(0, self.noise, len(t))) for k, v in truth.items()}

    def score(self, values: dict[str, np.ndarray]) -> np.ndarray:
        return np.array([
            contest_score(float(s), float(p), float(b) / ORIGINAL_BYTES)
            for s, p, b in zip(values["seg"], values["pose"], values["bytes"], strict=True)
        ])  # fmt: skip

    def results(self, params: list[CodecSearchParams], rng_seed: int = 0) -> list[EvalResult]:
        """Authoritative-looking results for these settings, labelled synthetic."""
        t = CodecTable.from_params(params)
        m = self.measure(t, np.random.default_rng([self.seed, rng_seed]))
        out = []
        for i in range(len(params)):
            nbytes = int(round(m["bytes"][i]))
            seg = float(min(m["seg"][i], 1.0))
            pose = float(m["pose"][i])
            rate = nbytes / ORIGINAL_BYTES
            out.append(
                EvalResult(
                    archive_bytes=nbytes,
                    archive_sha256=hashlib.sha256(f"{self.weights}/{t.id(i)}/{rng_seed}".encode()).hexdigest(),
                    original_bytes=ORIGINAL_BYTES, rate=rate, pose=pose, seg=seg,
                    score=contest_score(seg, pose, rate), n_samples=600, n_samples_total=600,
                    estimate=False, runner_axis="cpu", device="synthetic", weights=self.weights,
                    videos=["0.mkv"], wall_s=0.0, tac_version="synthetic", torch_version="none",
                )
            )  # fmt: skip
        return out

    def anchors(self, params: list[CodecSearchParams], rng_seed: int = 0) -> list[Anchor]:
        return [
            Anchor.from_result(r, p)
            for r, p in zip(self.results(params, rng_seed), params, strict=True)
        ]

    def lossless_anchor(self) -> Anchor:
        r = EvalResult(
            archive_bytes=int(ORIGINAL_BYTES * 0.9), archive_sha256=hashlib.sha256(b"lossless").hexdigest(),
            original_bytes=ORIGINAL_BYTES, rate=0.9, pose=0.0, seg=0.0, score=22.5,
            n_samples=600, n_samples_total=600, estimate=False, runner_axis="cpu",
            device="synthetic", weights=self.weights, videos=["0.mkv"], wall_s=0.0,
            tac_version="synthetic", torch_version="none",
        )  # fmt: skip
        return Anchor.from_result(r, None, id="lossless")


def sample_params(n: int, seed: int = 0, codec: str = "hevc", crf=(18, 44), scale=(0.35, 0.9),
                  presets=("fast", "medium", "slow"), filters=(None,)) -> list[CodecSearchParams]:  # fmt: skip
    """n random codec settings within the given ranges (for building anchor sets)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f = filters[rng.integers(len(filters))]
        out.append(
            CodecSearchParams(
                codec=codec, crf=int(rng.integers(crf[0], crf[1] + 1)),
                scale=round(float(rng.uniform(*scale)), 3), preset=str(presets[rng.integers(len(presets))]),
                filter=f, hidden=16 if f else 0, bits=8,
            )
        )  # fmt: skip
    return out
