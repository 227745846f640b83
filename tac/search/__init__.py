"""The search engine: which candidate to spend an evaluation on next, and when to refuse.

    table = generate("grid", lanes=("codec",))      # or "random", "refine"; a CandidateTable
    ranking = rank(anchors, table)                  # proxy → score_band → Lagrangian → gates
    ranking.top(10)                                 # Candidate records: band, refusal, rank key
    search.update({"bytes": [measured, ...]})       # dual ascent between cycles

Lane-agnostic: lanes supply features, costs and validity through `tac.lanes.base`, and one
ranking may hold candidates of several lanes. Pure and deterministic, numpy only (no torch, no codecs): ranking 100,000 candidates takes
well under a second. Anchors are authoritative evaluations (`tac.records.Anchor`); candidates
and anchors measured on different axes never mix.
"""

from tac.search.band import Bands, Calibration, calibrate, score_band
from tac.search.cost import CostModel
from tac.search.gates import Check, preflight
from tac.search.generators import generate, register_generator
from tac.search.lagrangian import Caps, MetaLagrangianSearch
from tac.search.proxy import Proxy
from tac.search.rank import Axis, Ranking, rank
from tac.search.space import CandidateTable

__all__ = [
    "Axis",
    "Bands",
    "Calibration",
    "CandidateTable",
    "Caps",
    "Check",
    "CostModel",
    "MetaLagrangianSearch",
    "Proxy",
    "Ranking",
    "calibrate",
    "generate",
    "preflight",
    "rank",
    "register_generator",
    "score_band",
]
