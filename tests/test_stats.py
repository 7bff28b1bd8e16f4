"""Interval and paired-test arithmetic against cases worked by hand."""

import pytest

from edge.stats import Accuracy, mcnemar_exact, paired, wilson_interval


def test_wilson_zero_and_all_right_of_ten():
    # z^2/(n+z^2) = 3.8415/13.8415 = 0.2775
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)


def test_wilson_on_the_test_split_size():
    # 187/192: centre 0.96466, half-width 0.02417
    lo, hi = wilson_interval(187, 192)
    assert lo == pytest.approx(0.9405, abs=2e-4)
    assert hi == pytest.approx(0.9888, abs=2e-4)


def test_wilson_of_nothing_is_everything():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_mcnemar_by_hand():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(9, 1) == pytest.approx(2 * 11 / 1024)
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(5, 5) == 1.0


def test_five_images_to_none_is_not_enough_to_call_better():
    a = [True] * 95 + [True] * 5
    b = [True] * 95 + [False] * 5
    result = paired("new", a, "old", b, "validation split")
    assert (result.only_a, result.only_b) == (5, 0)
    assert result.verdict == "not distinguishable"
    assert not result.a_better


def test_six_to_none_is():
    a = [True] * 6 + [False] * 2 + [True] * 92
    b = [False] * 6 + [False] * 2 + [True] * 92
    result = paired("new", a, "old", b, "validation split")
    assert result.verdict == "new better"
    assert result.a_better
    assert "p = 0.0312" in result.text()


def test_paired_refuses_different_sets():
    with pytest.raises(ValueError):
        paired("a", [True], "b", [True, False], "x")


def test_accuracy_text_says_what_the_images_chose():
    clean = Accuracy(187, 192, "test split")
    assert clean.text() == ("97.40% (187/192, 95% CI 94.0-98.9%) on the test split, "
                            "which chose nothing")
    used = Accuracy(796, 808, "validation split", ("epoch",))
    assert used.text().endswith("which also chose the epoch")
    assert not used.unbiased
    assert Accuracy.from_json(used.to_json()) == used
