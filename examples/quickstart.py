"""tac's search side, end to end, in a second: no GPU, no challenge data, no video.

The "evaluations" here come from a synthetic world with known power laws (labelled
`synthetic:0` everywhere); with real anchors (`tac search anchor RESULT.json ...`) the same
calls rank real candidates.

    python examples/quickstart.py
"""

from tac.lanes.codec import CodecSearchParams
from tac.search import CandidateTable, Caps, MetaLagrangianSearch, generate, rank
from tac.search.synthetic import SyntheticWorld, sample_params

world = SyntheticWorld(seed=0)  # stands in for evaluations: NOT a measurement of a real codec

# 1. Calibrate on a dozen authoritative evaluations (+ a lossless floor).
anchors = world.anchors(sample_params(12, seed=1, filters=(None, "dilated")))
anchors.append(world.lossless_anchor())
print(f"calibrating on {len(anchors)} anchors ({world.weights}: synthetic, for illustration)\n")

# 2. Rank 20,000 candidates under a byte cap and the inflate-time cap.
search = MetaLagrangianSearch(Caps(bytes=400_000, inflate_s=900))
candidates = generate("random", n=20_000, seed=0, codecs=("hevc", "av1"))
ranking = rank(anchors, candidates, search=search)
print(
    f"{len(candidates):,} candidates, {ranking.eligible:,} eligible; top 3 (bands are estimates):"
)
for c in ranking.top(3):
    b = c.band
    print(f"  {c.id:<46} score {b.mid:.3f}  [{b.lo:.3f}, {b.hi:.3f}] at {b.coverage:.0%}")
print("refusals, gate by gate:")
for gate, alive, refused in ranking.ladder.summary():
    print(f"  {gate:<17} {alive:>6,} pass  {refused or ''}")

# 3. "Run" the top 3 (here: ask the synthetic world), learn from them, re-rank.
top = [c.params for c in ranking.top(3)]
measured = world.anchors(top, rng_seed=7)
violations = search.update({"bytes": [a.archive_bytes for a in measured]})
anchors += measured
ranking = rank(anchors, candidates, search=search)
best = ranking.top(1)[0]
print(f"\nafter one cycle: byte-cap violation {violations['bytes']:+.2f} → multiplier "
      f"{search.multipliers['bytes']:.3f}; band from {ranking.bands.calibration.n} residuals")  # fmt: skip
print(
    f"best now: {best.id}, predicted {best.band.mid:.3f} [{best.band.lo:.3f}, {best.band.hi:.3f}]"
)

# 4. Refusal is a feature: a setting far beyond every anchor is not predicted.
far = CandidateTable.from_params([CodecSearchParams(codec="hevc", crf=50, preset="medium", scale=0.5)])  # fmt: skip
refused = rank(anchors, far).top(1)[0]
print(f"\n{refused.id}: refused ({refused.refusal.code}) — {refused.refusal.message}")
