"""The score formula, the official report block, and sensitivities."""

import math

import pytest

from tac.contest import constants as C
from tac.contest.score import contest_score, format_results_block, rate, score_terms, sensitivity


def test_baseline_fast_reference_point():
    ref = C.BASELINE_FAST
    r = rate(ref["archive_bytes"], C.CONTEST_VIDEO_BYTES)
    assert f"{r:.8f}" == f"{ref['rate']:.8f}"
    score = contest_score(ref["seg"], ref["pose"], r)
    assert f"{score:.2f}" == "4.39"
    terms = score_terms(ref["seg"], ref["pose"], r)
    assert terms["seg"] == pytest.approx(0.946623)
    assert terms["pose"] == pytest.approx(math.sqrt(3.8042614))
    assert terms["rate"] == pytest.approx(25 * 2_244_900 / 37_545_489)
    assert sum(terms.values()) == pytest.approx(score)


def test_no_compression_scores_25():
    assert contest_score(0.0, 0.0, 1.0) == 25.0


def test_report_block_is_byte_exact():
    block = format_results_block(600, 0.38042614, 0.00946623, 2_244_900, 37_545_489)
    assert block == (
        "=== Evaluation results over 600 samples ===\n"
        "  Average PoseNet Distortion: 0.38042614\n"
        "  Average SegNet Distortion: 0.00946623\n"
        "  Submission file size: 2,244,900 bytes\n"
        "  Original uncompressed size: 37,545,489 bytes\n"
        "  Compression Rate: 0.05979147\n"
        "  Final score: 100*segnet_dist + √(10*posenet_dist) + 25*rate = 4.39"
    )


def test_sensitivity_matches_the_field_exchange_rates():
    s = sensitivity(
        pose=0.001, archive_bytes=178_000, original_bytes=C.CONTEST_VIDEO_BYTES, n_samples=600
    )
    assert s.per_byte * 1000 == pytest.approx(0.000666, rel=1e-2)  # 1 KB ≈ 0.00067
    assert s.per_seg_pixel == pytest.approx(8.5e-7, rel=1e-2)  # one flipped pixel ≈ 8.5e-7
    assert s.per_pose == pytest.approx(10 / (2 * math.sqrt(0.01)))
    assert s.bytes_per_seg_pixel == pytest.approx(s.per_seg_pixel / s.per_byte)
    # numerical derivative of the formula agrees with the analytic one
    h = 1e-9
    numeric = (contest_score(0, 0.001 + h, 0) - contest_score(0, 0.001, 0)) / h
    assert numeric == pytest.approx(s.per_pose, rel=1e-4)


def test_first_pose_error_is_infinitely_expensive():
    assert math.isinf(sensitivity(0.0, 1, 100, 1).per_pose)
