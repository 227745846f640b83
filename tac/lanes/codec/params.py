"""Codec-lane parameters, at two levels.

`CodecSearchParams` is a candidate as the search sees it (codec, crf, preset, scale and an
optional post-filter): the lane's params record, written into candidates, anchors and ledgers.
It may hold a setting the encoder cannot run, so that the search can refuse it with a reason.

`CodecParams` fully describes how the lane turns frames into a bitstream and back (which
encoder, its rate control and GOP, the resolution it works at, the resampling filters), and
is validated with clear errors: what a job and `tac submission build` run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tac.contest import constants as C
from tac.lanes.codec.encoders import ENCODERS, EncoderSpec, preset_index
from tac.records import LaneParams, first_error


def setting_problem(exc) -> str:
    """A CodecParams validation error as `: what` (a rule across fields) or ` field: what`."""
    where, _, what = first_error(exc).partition(": ")
    return f": {what}" if where == "(top level)" else f" {where}: {what}"


PARAMS_KEY = {"libx265": "x265-params", "libx264": "x264-params", "libsvtav1": "svtav1-params"}

DownscaleFilter = Literal["area", "bilinear", "bicubic"]
UpscaleFilter = Literal["bilinear", "bicubic", "nearest"]


def even(x: float) -> int:
    """Nearest even integer ≥ 2: 4:2:0 chroma needs even frame sizes."""
    return max(2, int(round(x / 2)) * 2)


class CodecParams(BaseModel):
    """A codec-lane setting. `codec` is hevc (libx265), av1 (libsvtav1) or h264 (libx264)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    codec: Literal["hevc", "av1", "h264"] = "hevc"
    crf: int = 30
    preset: str = "medium"
    scale: float = Field(1.0, gt=0.0, le=1.0, description="fraction of 1164x874, kept even")
    downscale_filter: DownscaleFilter = "area"
    upscale_filter: UpscaleFilter = "bicubic"
    keyint: int | None = Field(None, ge=1, description="GOP length; None = encoder default")
    bframes: int | None = Field(None, ge=0, le=16)
    film_grain: int = Field(0, ge=0, le=50, description="AV1 film-grain synthesis strength")
    pix_fmt: Literal["yuv420p", "yuv420p10le"] = "yuv420p"

    @model_validator(mode="after")
    def _fits_the_encoder(self) -> CodecParams:
        spec = self.encoder_spec
        lo, hi = spec.crf_range
        if not lo <= self.crf <= hi:
            raise ValueError(f"crf {self.crf} is outside {spec.encoder}'s range {lo}..{hi}")
        if self.preset not in spec.presets:
            raise ValueError(
                f"preset {self.preset!r} does not exist for {spec.encoder}; use one of {', '.join(spec.presets)}"
            )
        if self.bframes is not None and not spec.bframes:
            raise ValueError(f"{spec.encoder} has no b-frames setting; leave bframes unset")
        if self.film_grain and not spec.film_grain:
            raise ValueError(f"film grain is an AV1 feature; {spec.encoder} cannot synthesise it")
        if self.pix_fmt not in spec.pix_fmts:
            raise ValueError(f"{spec.encoder} cannot encode {self.pix_fmt}")
        w, h = self.size
        if w < 16 or h < 16:
            raise ValueError(f"scale {self.scale} gives {w}x{h}; frames must be at least 16x16")
        return self

    @property
    def encoder_spec(self) -> EncoderSpec:
        return ENCODERS[self.codec]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) the encoder works at: even, at most the camera size."""
        return even(C.CAMERA_WIDTH * self.scale), even(C.CAMERA_HEIGHT * self.scale)

    def encoder_options(self) -> dict[str, str]:
        """The PyAV stream options: the encoder's deterministic, quiet base plus this setting.

        GOP, b-frames and film grain go into the encoder's own parameter string (validation has
        already refused the ones an encoder lacks).
        """
        from tac.video.encode import ENCODER_OPTIONS  # imports PyAV: not at module level

        encoder = self.encoder_spec.encoder
        key = PARAMS_KEY[encoder]
        base = ENCODER_OPTIONS.get(encoder, {})
        extra = [base[key]] if key in base else []
        if self.keyint:
            extra.append(f"keyint={self.keyint}")
        if self.bframes is not None:
            extra.append(f"bframes={self.bframes}")
        if self.film_grain:
            extra.append(f"film-grain={self.film_grain}")
        opts = {"crf": str(self.crf), "preset": self.preset, **base}
        if extra:
            opts[key] = ":".join(extra)
        return opts

    def short(self) -> str:
        """A compact label: hevc crf30 s0.45 medium."""
        parts = [self.codec, f"crf{self.crf}", f"s{self.scale:g}", self.preset]
        if self.keyint:
            parts.append(f"g{self.keyint}")
        if self.film_grain:
            parts.append(f"fg{self.film_grain}")
        if self.pix_fmt != "yuv420p":
            parts.append("10bit")
        return " ".join(parts)


class CodecSearchParams(LaneParams):
    """A codec-lane candidate: encoder knobs the search varies, and an optional post-filter."""

    lane: Literal["codec"] = "codec"
    codec: str
    crf: int
    preset: str
    scale: float = Field(gt=0)
    filter: str | None = None  # post-filter family, None = no filter
    hidden: int = Field(0, ge=0)
    bits: int = 8

    def id(self) -> str:
        """A readable id that sorts like the parameter tuple (codec, crf, scale, preset index,
        filter, hidden, bits), e.g. hevc-crf30-s0.500-p05medium-dilated-h064-b8: the search
        breaks ties by id without formatting a string per candidate."""
        base = f"{self.codec}-crf{self.crf:02d}-s{self.scale:.3f}-p{preset_index(self.codec, self.preset):02d}{self.preset}"  # fmt: skip
        return base + (f"-{self.filter}-h{self.hidden:03d}-b{self.bits}" if self.filter else "")

    def short(self) -> str:
        """The setting in a few characters, for tables: `hevc 30 ×0.50 medium +dilated16/8`."""
        base = f"{self.codec} {self.crf} ×{self.scale:.2f} {self.preset}"
        return base + (f" +{self.filter}{self.hidden}/{self.bits}" if self.filter else "")

    def settings(self) -> CodecParams:
        """The encoder settings a job runs (validated: an impossible setting is a ValueError)."""
        return CodecParams(codec=self.codec, crf=self.crf, preset=self.preset, scale=self.scale)
