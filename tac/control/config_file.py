"""`tac loop --config FILE`: every loop option from a file — a loop.toml, or a run's config.json
to replay it. Options given on the command line override the file.

The file's keys are LoopConfig's fields (what config.json holds; `tac/control/config.py`):

    # loop.toml
    data = "demo"
    demo_frames = 40
    lanes = ["codec"]
    max_cycles = 4
    explore = 6
    max_total_cost = 2.0
    local_price_per_hour = 0.5
    [space.codec]
    codecs = ["hevc", "av1"]
    presets = ["medium"]
    crfs = [26, 30, 34]

They become the defaults of `tac loop`'s options (click's default map), so the command line
wins and everything downstream — validation, one-line errors, config.json — is the one path
every option already takes. Fields with no option of their own (generator, n, seed, risk,
max_inflate_s) go straight into the config. `weights` is never taken from a file: the weights
are resolved where the loop runs, and a replayed config that asked for others is refused.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tac.control.config import LoopConfig, option_of
from tac.errors import TacError

# fields whose option spells differently, and how a field's value becomes that option's value
_RENAMED = {"local_price_per_hour": "local_price", "job_timeout_s": "job_timeout",
            "lost_after_s": "lost_after", "hosts_file": "hosts", "anchors_file": "anchors"}  # fmt: skip
# LoopConfig fields with no `tac loop` option: passed through as they are
PASSED_THROUGH = ("generator", "n", "seed", "risk", "max_inflate_s")
# read but not options: the format version, and the weights (resolved where the loop runs)
_NOT_OPTIONS = ("v", "weights")


def read(path: Path) -> dict:
    """The file's fields, checked against LoopConfig's; one line naming the file otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TacError(f"{path}: not found (--config takes a loop.toml or a run's config.json)") from None  # fmt: skip
    except (OSError, UnicodeDecodeError) as exc:
        raise TacError(f"{path}: cannot be read ({exc})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise TacError(f"{path}: not valid {kind} ({exc})") from None
    if not isinstance(data, dict):
        raise TacError(f"{path}: must hold one table of loop fields")
    known = set(LoopConfig.model_fields)
    for key in data:
        if key not in known:
            hint = next((f"; write {f}" for f, o in _RENAMED.items() if o == key.replace("-", "_")), "")  # fmt: skip
            hint = hint or ("; write it with underscores" if key.replace("-", "_") in known else "")
            raise TacError(f"{path}: {key!r} is not a loop field{hint} (the fields: tac/control/config.py)")  # fmt: skip
    return data


def defaults(data: dict, base: Path) -> dict:
    """The file's fields as `tac loop`'s option defaults (parameter name → value); relative
    paths are taken from `base`, the file's directory."""
    out: dict = {}
    for field, value in data.items():
        if field in ("hosts_file", "anchors_file", "challenge_dir") and isinstance(value, str):
            value = str((base / Path(value).expanduser()).resolve())
        if field in PASSED_THROUGH or field in _NOT_OPTIONS:
            continue
        if field == "local":
            out["no_local"] = not value
        elif field == "lanes":
            out["lanes"] = ",".join(value) if isinstance(value, list) else value
        elif field in ("train_profile", "train_profiles"):
            profiles = out.setdefault("train_profile", [])
            if field == "train_profile":
                profiles.insert(0, value)
            else:
                profiles += [f"{lane}={name}" for lane, name in dict(value).items()]
        elif field == "space":
            out |= _space_options(value)
        else:
            out[_RENAMED.get(field, field)] = value
    return out


def _space_options(space: dict) -> dict:
    """A space table as --codecs/--presets (the codec lane's shorthands) and --option words."""
    if not isinstance(space, dict):
        raise TacError("space: must be a table of lanes ([space.codec] …)")
    out: dict = {"option": []}
    for lane, keys in space.items():
        if not isinstance(keys, dict):
            raise TacError(f"space.{lane}: must be a table of that lane's options")
        for key, value in keys.items():
            if (
                lane == "codec"
                and key in ("codecs", "presets", "crfs", "scales")
                and isinstance(value, list)
            ):
                out[key] = ",".join(map(str, value))
            else:
                out["option"].append(f"{lane}.{key}={json.dumps(value)}")
    return out


def check_weights(path: Path, data: dict, resolved: str) -> None:
    """A replayed config asked for weights: they must be the ones this machine resolves."""
    asked = data.get("weights")
    if asked not in (None, "-", resolved):
        raise TacError(
            f"{path}: the run scored with {asked}, this machine resolves {resolved}; "
            f"give the same checkout ({option_of('challenge_dir')}) or drop 'weights' from the file"
        )
