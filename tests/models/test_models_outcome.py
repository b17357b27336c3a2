import numpy as np
import pytest

from axfusion.models.outcome import tukey_fence, winsorize_bad_tail


def test_tukey_fence_matches_quartiles():
    y = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    # Q1 = 2 (rounded down), Q3 = 4 (rounded up): IQR 2
    assert tukey_fence(y, "upper", 1.5) == pytest.approx(7.0)
    assert tukey_fence(y, "lower", 1.5) == pytest.approx(-1.0)
    assert tukey_fence(np.array([np.nan]), "upper", 1.5) == np.inf


def test_only_the_bad_side_moves_and_the_input_is_kept():
    Y = np.array([[1.0, -1.0], [2.0, -2.0], [3.0, -3.0], [4.0, -4.0], [100.0, -100.0], [np.nan, -2.5]])
    before = Y.copy()
    out = winsorize_bad_tail(Y, ["upper", "lower"], 1.5)
    np.testing.assert_array_equal(Y, before)  # the caller's array is untouched
    np.testing.assert_allclose(out[:5, 0], [1, 2, 3, 4, 7])  # minimised: the large value is bad
    np.testing.assert_allclose(out[:, 1], [-1, -2, -3, -4, -7, -2.5])  # maximised: the small one
    assert np.isnan(out[5, 0])
    # the good side is never clipped, however far out it lies
    good = winsorize_bad_tail(np.array([[1.0], [2.0], [3.0], [4.0], [100.0]]), ["lower"], 1.5)
    np.testing.assert_allclose(good[:, 0], [1, 2, 3, 4, 100])


def test_none_leaves_values_and_bad_arguments_are_refused():
    Y = np.array([[1.0, 5.0], [2.0, 500.0], [3.0, 6.0], [4.0, 7.0]])
    np.testing.assert_array_equal(winsorize_bad_tail(Y, [None, None], 1.5), Y)
    np.testing.assert_array_equal(winsorize_bad_tail(Y, ["upper", "upper"], None), Y)
    with pytest.raises(ValueError, match="sides"):
        winsorize_bad_tail(Y, ["upper"], 1.5)
    with pytest.raises(ValueError, match="fence"):
        winsorize_bad_tail(Y, ["upper", None], -1.0)
    with pytest.raises(ValueError, match="'lower', 'upper' or None"):
        winsorize_bad_tail(Y, ["both", None], 1.5)  # type: ignore[list-item]
