import numpy as np

from axfusion.acquisition.levels import count_chosen, level_counts, level_reach, unmeasured_levels


def _one_hot(codes, n_levels):
    return np.eye(n_levels)[np.asarray(codes)]


def test_level_counts_count_the_evaluated_designs_sharing_each_value():
    train = np.hstack([np.zeros((5, 1)), _one_hot([0, 0, 1, 1, 1], 3)])  # level 2 never measured
    cand = np.hstack([np.ones((3, 1)), _one_hot([0, 1, 2], 3)])
    counts = level_counts(train, cand, [1, 2, 3])
    # level 0: its own indicator (2), level 1's zeros (2), level 2's zeros (5)
    assert counts.tolist() == [[2, 2, 5], [3, 3, 5], [3, 2, 0]]
    assert level_reach(counts).tolist() == [1 / 3, 1 / 4, 1.0]
    # a numeric column with an unseen value is not a level unless it is asked for
    assert level_counts(train, cand, [0]).tolist() == [[0], [0], [0]]
    assert level_reach(np.zeros((3, 0))).tolist() == [0.0, 0.0, 0.0]


def test_level_counts_compare_values_up_to_rounding_and_descriptors_share_values():
    train = np.array([[0.1 + 0.2], [0.5]])
    cand = np.array([[0.3], [0.5], [0.7]])
    assert level_counts(train, cand, [0])[:, 0].tolist() == [1, 1, 0]


def test_a_chosen_candidate_counts_as_a_measurement_of_its_levels():
    train = _one_hot([0, 1], 4)
    cand = _one_hot([2, 2, 3], 4)
    counts = level_counts(train, cand, range(4))
    assert level_reach(counts).tolist() == [1.0, 1.0, 1.0]
    after = count_chosen(counts, cand, range(4), row=0)
    # the other candidate of level 2 is now half explored; level 3 is still never measured
    assert level_reach(after).tolist() == [0.5, 0.5, 1.0]


def test_unmeasured_levels_count_each_new_level_once_as_the_slots_would_try_them():
    # two categorical columns, 4 and 3 levels; measured: levels 0-1 of the first, all of the second
    train = np.hstack([_one_hot([0, 1, 0], 4), _one_hot([0, 1, 2], 3)])
    cand = np.hstack([_one_hot([2, 2, 3, 3, 0], 4), _one_hot([0, 1, 0, 2, 1], 3)])
    counts = level_counts(train, cand, range(7))
    assert unmeasured_levels(counts, cand, range(7), limit=10) == 2  # levels 2 and 3, each once
    assert unmeasured_levels(counts, cand, range(7), limit=1) == 1
    # only candidates a slot may take count: the two of level 3 are taken already
    free = np.array([True, True, False, False, True])
    assert unmeasured_levels(counts, cand, range(7), limit=10, free=free) == 1
    # a level described by several descriptor columns counts once
    desc = np.array([[0.1, 0.7], [0.2, 0.9], [0.3, 0.4]])  # three levels, two descriptors
    seen, new = desc[[0, 1]], desc[[2, 2, 0]]
    assert unmeasured_levels(level_counts(seen, new, [0, 1]), new, [0, 1], limit=10) == 1
    assert unmeasured_levels(np.zeros((3, 0)), cand[:3], [], limit=10) == 0


def test_level_effect_variance_is_the_random_effects_posterior_variance_per_input():
    from axfusion.acquisition.levels import level_effect_variance

    # input A (column 0): three levels with effects; input B (column 1): two levels, no effect
    a = np.repeat([0.0, 1.0, 2.0], 4)
    b = np.tile([0.0, 1.0], 6)
    noise = np.tile([-0.1, 0.1, 0.1, -0.1], 3)
    y = np.array([0.0, 1.0, 3.0])[a.astype(int)] + noise
    train = np.column_stack([a, b])
    cand = np.array([[0.0, 0.0], [5.0, 0.0], [2.0, 1.0]])  # a measured level, a new one, another measured
    var = level_effect_variance(train, y[:, None], cand, [np.array([0]), np.array([1])])
    # ANOVA moments for A by hand: 3 levels x 4 replicates
    means = np.array([0.0, 1.0, 3.0])
    msw = float(np.sum(noise**2) / (12 - 3))
    msb = float(4 * np.sum((means - y.mean()) ** 2) / 2)
    tau2 = (msb - msw) / 4.0  # n_0 = (12 - 48 / 12) / 2 = 4
    np.testing.assert_allclose(var[1, 0], tau2)  # never measured: the whole effect variance
    np.testing.assert_allclose(var[[0, 2], 0], tau2 / (1 + 4 * tau2 / msw))  # measured 4 times
    # B's measured levels do not differ (tau^2 = 0): it adds nothing
    only_b = level_effect_variance(train, y[:, None], cand, [np.array([1])])
    np.testing.assert_allclose(only_b, 0.0)
    # one measured level: effects cannot be told from the noise, tau^2 = s^2 = Var(y) / 2
    single = level_effect_variance(train[:4], y[:4, None], cand, [np.array([0])])
    half = np.var(y[:4], ddof=1) / 2
    np.testing.assert_allclose(single[:, 0], [half / 5, half, half])
    assert level_effect_variance(train[:1], y[:1, None], cand, [np.array([0])]).tolist() == [[0.0]] * 3


def test_level_effect_variance_is_fitted_per_target():
    from axfusion.acquisition.levels import level_effect_variance

    a = np.repeat([0.0, 1.0, 2.0], 4)[:, None]
    noise = np.tile([-0.1, 0.1, 0.1, -0.1], 3)
    Y = np.column_stack([a[:, 0] + noise, noise])  # target 0 depends on the level, target 1 does not
    var = level_effect_variance(a, Y, np.array([[7.0]]), [np.array([0])])
    assert var.shape == (1, 2) and var[0, 0] > 0.5 and var[0, 1] == 0.0
