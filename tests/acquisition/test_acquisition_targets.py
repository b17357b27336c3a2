r"""Tests of axfusion.acquisition.targets: orientation of maximise / minimise / value / window targets."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from axfusion.acquisition.targets import Target, orient, parse_targets


def test_maximize_is_identity_and_minimize_negates():
    y = np.array([-2.0, 0.0, 3.5])
    np.testing.assert_array_equal(Target.maximize().orient(y), y)
    np.testing.assert_array_equal(Target.minimize().orient(y), -y)
    # The default target maximises.
    assert Target().kind == "maximize"
    np.testing.assert_array_equal(Target().orient(y), y)


def test_value_target_is_negative_absolute_distance():
    t = Target.reach(2.0)
    y = np.array([0.0, 1.5, 2.0, 2.25, 5.0])
    np.testing.assert_allclose(t.orient(y), [-2.0, -0.5, 0.0, -0.25, -3.0])
    # Larger is better: the target value itself is the unique best.
    assert np.argmax(t.orient(y)) == 2


def test_window_target_is_zero_inside_and_minus_distance_outside():
    t = Target.window(1.1, 1.7, name="band gap")
    y = np.array([0.0, 1.1, 1.4, 1.7, 2.0, 3.7])
    np.testing.assert_allclose(t.orient(y), [-1.1, 0.0, 0.0, 0.0, -0.3, -2.0], atol=1e-12)


def test_one_sided_windows():
    lower_only = Target.window(1.0, None)
    np.testing.assert_allclose(lower_only.orient([-1.0, 0.5, 1.0, 100.0]), [-2.0, -0.5, 0.0, 0.0])
    upper_only = Target.window(-math.inf, 1.0)
    np.testing.assert_allclose(upper_only.orient([-100.0, 1.0, 1.25, 4.0]), [0.0, 0.0, -0.25, -3.0])


def test_degenerate_window_equals_value_target():
    y = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(Target.window(0.5, 0.5).orient(y), Target.reach(0.5).orient(y))


def test_orient_keeps_shape_of_any_array():
    y = np.arange(24, dtype=float).reshape(2, 3, 4)
    out = Target.window(5.0, 10.0).orient(y)
    assert out.shape == (2, 3, 4)
    assert out[0, 1, 2] == 0.0  # y = 6
    assert out[0, 0, 0] == -5.0  # y = 0


def test_satisfied_for_value_and_window_targets():
    np.testing.assert_array_equal(
        Target.window(1.0, 2.0).satisfied(np.array([0.9, 1.0, 1.5, 2.0, 2.1])),
        [False, True, True, True, False],
    )
    np.testing.assert_array_equal(Target.reach(3.0).satisfied(np.array([3.0, 3.1])), [True, False])
    with pytest.raises(ValueError):
        Target.maximize().satisfied(np.array([1.0]))
    with pytest.raises(ValueError):
        Target.minimize().satisfied(np.array([1.0]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "maximise"},  # unknown spelling
        {"kind": "between"},
        {"kind": "value"},  # no value
        {"kind": "value", "value": float("nan")},
        {"kind": "value", "value": float("inf")},
        {"kind": "window"},  # both ends open
        {"kind": "window", "lower": None, "upper": None},
        {"kind": "window", "lower": -math.inf, "upper": math.inf},
        {"kind": "window", "lower": 2.0, "upper": 1.0},  # lower > upper
        {"kind": "window", "lower": float("nan"), "upper": 1.0},
        {"kind": "window", "lower": 0.0, "upper": float("nan")},
    ],
)
def test_invalid_specifications_raise(kwargs):
    with pytest.raises(ValueError):
        Target(**kwargs)


def test_invalid_specifications_through_constructors_raise():
    with pytest.raises(ValueError):
        Target.reach(float("nan"))
    with pytest.raises(ValueError):
        Target.window(None, None)
    with pytest.raises(ValueError):
        Target.window(3.0, 2.0)


def test_target_is_frozen_and_serialisable():
    t = Target.window(1.1, 1.7, name="gap")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.kind = "maximize"  # type: ignore[misc]
    assert t.as_dict() == {"kind": "window", "value": None, "lower": 1.1, "upper": 1.7, "name": "gap"}
    assert Target.reach(2, name="x").as_dict()["value"] == 2.0


def test_parse_targets_normalises_specifications():
    out = parse_targets(None, 3)
    assert len(out) == 3 and all(t.kind == "maximize" for t in out)
    assert [t.kind for t in parse_targets(["maximize", "minimize"], 2)] == ["maximize", "minimize"]
    single = parse_targets("minimize", 1)
    assert len(single) == 1 and single[0].kind == "minimize"
    w = Target.window(0.0, 1.0)
    assert parse_targets(w, 1) == [w]
    assert parse_targets([Target.reach(1.0), "maximize"], 2)[0] == Target.reach(1.0)


def test_parse_targets_rejects_bad_input():
    with pytest.raises(ValueError):
        parse_targets(["maximize"], 2)
    with pytest.raises(ValueError):
        parse_targets(["maximize", "minimize", "maximize"], 2)
    with pytest.raises(ValueError):
        parse_targets(["sideways"], 1)
    with pytest.raises(ValueError):
        parse_targets("value", 1)  # a value target needs a value


def test_orient_applies_each_target_to_its_column():
    Y = np.array([[1.0, 2.0, 0.0, 5.0], [3.0, -1.0, 0.7, 0.0]])
    targets = [Target.maximize(), Target.minimize(), Target.reach(0.5), Target.window(1.0, 4.0)]
    expected = np.array([[1.0, -2.0, -0.5, -1.0], [3.0, 1.0, -0.2, -1.0]])
    np.testing.assert_allclose(orient(Y, targets), expected, atol=1e-12)
    # Leading batch axes are kept: M x B x k x m.
    Yb = np.broadcast_to(Y, (2, 3, 2, 4))
    out = orient(Yb, targets)
    assert out.shape == (2, 3, 2, 4)
    np.testing.assert_allclose(out[1, 2], expected, atol=1e-12)


def test_orient_rejects_wrong_number_of_targets():
    with pytest.raises(ValueError):
        orient(np.zeros((3, 2)), [Target.maximize()])
