"""The original tac's `tac.profiles`: now lives in `tac.train.profiles`."""

from tac.train.profiles import PROFILES, profile_config

__all__ = ["PROFILES", "profile_config"]
