"""The original tac's `tac.optimizer`: now lives in `tac.search`."""

from tac.search import Caps, MetaLagrangianSearch

__all__ = ["Caps", "MetaLagrangianSearch"]
