"""The original tac's `tac.predictor`: now lives in `tac.search`."""

from tac.search import Bands, Calibration, calibrate, score_band

__all__ = ["Bands", "Calibration", "calibrate", "score_band"]
