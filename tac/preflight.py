"""The original tac's `tac.preflight`: now lives in `tac.search`."""

from tac.search import Check, preflight

__all__ = ["Check", "preflight"]
