"""The search's defaults, in one place for `tac search rank`, `tac loop` and the library (no
numpy here: the CLIs read these while parsing options)."""

DEFAULT_COVERAGE = 0.9  # the score band's split-conformal coverage
DEFAULT_MIN_ANCHORS = 8  # below this many anchors on an axis the predictor refuses
DEFAULT_MAX_INFLATE_S = 15 * 60.0  # half the contest's 30 minutes for the whole evaluation
