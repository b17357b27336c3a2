r"""Mixed-variable test functions of the LVGP-vs-Lolo paper.

The paper takes functions "from an online library" and, "for functions that
are originally defined on a continuous domain, we convert some of their
arguments to be categorical for testing purposes". A categorical argument
``t`` has "categories corresponding to values": each level is a number, the
function is evaluated on that number, and an optimiser sees only unordered
categories. Parameters follow the paper's ``v = [x, t]``: numerical
``x`` first (``v_1 .. v_5`` in the high-dimensional cases), then the
categorical ``t`` (``v_6 .. v_10``). All are minimised.

Registered problems (paper equation, numerical domain, categorical levels):

========================  =====  =====================  ================================
name                      Eq.    numerical              categorical levels
========================  =====  =====================  ================================
mixed_branin              (5)    x in [-5, 10]          t in {0, 5, 10, 15}
mixed_mccormick           (6)    x in [-1.5, 4]         t in {-3, -2, ..., 4}
mixed_six_hump_camel      (7)    x in [-2, 2]           t in {+-1, +-0.7126, 0}
mixed_rastrigin_3d        (8)    x1, x2 in [-5.12,      t in {-5, -4, ..., 5}
                                 5.12]
mixed_perm_6d             (9)    x1..x5 in [-6, 6]      t in {-4, 1, 6}
mixed_perm_10d            (9)    x1..x5 in [-10, 10]    t1..t5 (see ``make_mixed_perm_10d``)
mixed_rosenbrock_10d      (10)   x1..x5 in [-5, 10]     t1..t5 (see ``make_mixed_rosenbrock_10d``)
mixed_quadratic_10d       --     x1..x5 in [-2, 2]      t1..t5 in {0, +-1, +-2}
========================  =====  =====================  ================================

The optima of the 2-D problems are not those of the continuous functions
(their ``t`` is restricted to the levels); they were computed per level as
the root of ``df/dx`` (Brent's method to machine precision) after a grid
search over ``x``, and the tests re-check them on a dense grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from axfusion.benchmarks.problems import ProblemParameter, TestProblem, register_problem
from axfusion.benchmarks.synthetic import rastrigin

__all__ = [
    "PERM_BETA",
    "make_mixed_branin",
    "make_mixed_mccormick",
    "make_mixed_perm_10d",
    "make_mixed_perm_6d",
    "make_mixed_quadratic_10d",
    "make_mixed_rastrigin_3d",
    "make_mixed_rosenbrock_10d",
    "make_mixed_six_hump_camel",
    "mixed_branin",
    "mixed_mccormick",
    "mixed_six_hump_camel",
    "perm",
    "quadratic",
    "rosenbrock",
]

PERM_BETA: float = 0.5

# Global optima of the 2-D problems over x and the levels of t (see module docstring).
_BRANIN_X_STAR: float = -2.619502520637255  # at t = 10
_BRANIN_F_STAR: float = 2.7911840637117944
_MCCORMICK_X_STAR: float = -0.7819828888752202  # at t = -2
_MCCORMICK_F_STAR: float = -1.695368970191867
_CAMEL_X_STAR: float = 0.08983477940624858  # at t = -0.7126; -x* at t = +0.7126
_CAMEL_F_STAR: float = -1.031628427643936


def _columns(V: np.ndarray, d: int) -> np.ndarray:
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or V.shape[1] != d:
        raise ValueError(f"Expected an array of shape (k, {d}), got {V.shape}.")
    return V


def _matrix(V: np.ndarray) -> np.ndarray:
    V = np.asarray(V, dtype=np.float64)
    if V.ndim != 2 or V.shape[1] < 1:
        raise ValueError(f"Expected a (k, d) array with d >= 1, got shape {V.shape}.")
    return V


def mixed_branin(V: np.ndarray) -> np.ndarray:
    r"""The paper's modified Branin, Eq. (5).

    .. math::

        f(x, t) = \Big(t - \frac{5.1}{4\pi^2} x^2 + \frac{5}{\pi} x - 6\Big)^2
                  + 10\Big(1 - \frac{1}{8\pi}\Big)\cos x + 10

    Args:
        V: ``k x 2`` matrix with columns ``(x, t)``.

    Returns:
        ``k`` values.
    """
    V = _columns(V, 2)
    x, t = V[:, 0], V[:, 1]
    inner = t - 5.1 / (4.0 * np.pi**2) * x**2 + 5.0 / np.pi * x - 6.0
    return inner**2 + 10.0 * (1.0 - 1.0 / (8.0 * np.pi)) * np.cos(x) + 10.0


def mixed_mccormick(V: np.ndarray) -> np.ndarray:
    r"""The paper's modified McCormick, Eq. (6).

    .. math::

        f(x, t) = \sin(x + t) + (x - t)^2 - 1.5 x + 2.5 t + 1

    Args:
        V: ``k x 2`` matrix with columns ``(x, t)``.

    Returns:
        ``k`` values.
    """
    V = _columns(V, 2)
    x, t = V[:, 0], V[:, 1]
    return np.sin(x + t) + (x - t) ** 2 - 1.5 * x + 2.5 * t + 1.0


def mixed_six_hump_camel(V: np.ndarray) -> np.ndarray:
    r"""The paper's Six-Hump Camel, Eq. (7).

    .. math::

        f(x, t) = \Big(4 - 2.1 x^2 + \frac{x^4}{3}\Big) x^2 + x t + (-4 + 4 t^2) t^2

    Args:
        V: ``k x 2`` matrix with columns ``(x, t)``.

    Returns:
        ``k`` values.
    """
    V = _columns(V, 2)
    x, t = V[:, 0], V[:, 1]
    return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * t + (-4.0 + 4.0 * t**2) * t**2


def perm(V: np.ndarray, beta: float = PERM_BETA) -> np.ndarray:
    r"""Perm function (Eq. (9) with ``beta = 0.5``), minimum 0 at ``v = (1, 2, ..., d)``.

    .. math::

        f(v) = \sum_{i=1}^{d} \Big( \sum_{j=1}^{d} (j^i + \beta)
               \big( (v_j / j)^i - 1 \big) \Big)^2

    Args:
        V: ``k x d`` points.
        beta: The constant ``beta`` (the paper's 0.5).

    Returns:
        ``k`` values.
    """
    V = _matrix(V)
    d = V.shape[1]
    j = np.arange(1, d + 1, dtype=np.float64)
    i = np.arange(1, d + 1, dtype=np.float64)[:, None]  # d_i x 1
    coeff = j[None, :] ** i + beta  # d_i x d_j
    powers = (V / j)[:, None, :] ** i[None, :, :]  # k x d_i x d_j
    inner = np.sum(coeff[None, :, :] * (powers - 1.0), axis=2)  # k x d_i
    return np.sum(inner**2, axis=1)


def rosenbrock(V: np.ndarray) -> np.ndarray:
    r"""Rosenbrock function, minimum 0 at ``v = (1, ..., 1)``.

    .. math::

        f(v) = \sum_{i=1}^{d-1} \big[ 100 (v_{i+1} - v_i^2)^2 + (v_i - 1)^2 \big]

    The paper's Eq. (10) prints the upper limit as ``d``, which would need an
    undefined ``v_{d+1}``; ``d - 1`` is the only reading defined on ``d``
    variables and is the definition of the library the paper cites.

    Args:
        V: ``k x d`` points, ``d >= 2``.

    Returns:
        ``k`` values.
    """
    V = _matrix(V)
    if V.shape[1] < 2:
        raise ValueError("Rosenbrock needs d >= 2.")
    head, tail = V[:, :-1], V[:, 1:]
    return np.sum(100.0 * (tail - head**2) ** 2 + (head - 1.0) ** 2, axis=1)


def quadratic(V: np.ndarray) -> np.ndarray:
    r"""The paper's "simple quadratic function" ``f(v) = sum_i v_i^2``, minimum 0 at 0.

    Args:
        V: ``k x d`` points.

    Returns:
        ``k`` values.
    """
    V = _matrix(V)
    return np.sum(V**2, axis=1)


def _numerical(names: Sequence[str], lower: float, upper: float) -> list[ProblemParameter]:
    return [ProblemParameter(name=n, kind="continuous", lower=lower, upper=upper) for n in names]


def _categorical(name: str, levels: Sequence[float]) -> ProblemParameter:
    return ProblemParameter(name=name, kind="categorical", levels=tuple(levels))


def _x_names(n: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n)]


def make_mixed_branin() -> TestProblem:
    r"""Modified Branin with a categorical ``t`` (paper Eq. (5)).

    Paper: "where x in [-5, 10] is a numerical variable, and t is categorical,
    with categories corresponding to values {0, 5, 10, 15}". ``t`` takes the
    place of Branin's second variable (domain [0, 15]).

    Global minimum: ``f = 2.7911840637...`` at ``x = -2.6195025206...``,
    ``t = 10`` (the continuous Branin's 0.397887 is not reachable on the levels).
    """
    return TestProblem(
        name="mixed_branin",
        parameters=[*_numerical(["x"], -5.0, 10.0), _categorical("t", (0, 5, 10, 15))],
        function=mixed_branin,
        optimal_value=_BRANIN_F_STAR,
        optimizer={"x": _BRANIN_X_STAR, "t": 10},
        description="LVGP-vs-Lolo paper Eq. (5): Branin, x in [-5, 10], t in {0, 5, 10, 15}.",
    )


def make_mixed_mccormick() -> TestProblem:
    r"""Modified McCormick with a categorical ``t`` (paper Eq. (6)).

    Paper: "where x in [-1.5, 4], and t's categories correspond to integer
    values {-3, -2, ..., 4}" (eight levels).

    Global minimum: ``f = -1.6953689701...`` at ``x = -0.7819828888...``,
    ``t = -2`` (the continuous McCormick reaches -1.9133 at t = -1.547).
    """
    return TestProblem(
        name="mixed_mccormick",
        parameters=[*_numerical(["x"], -1.5, 4.0), _categorical("t", range(-3, 5))],
        function=mixed_mccormick,
        optimal_value=_MCCORMICK_F_STAR,
        optimizer={"x": _MCCORMICK_X_STAR, "t": -2},
        description="LVGP-vs-Lolo paper Eq. (6): McCormick, x in [-1.5, 4], t in {-3, ..., 4}.",
    )


def make_mixed_six_hump_camel() -> TestProblem:
    r"""Six-Hump Camel with a categorical ``t`` (paper Eq. (7)).

    Paper: "with x in [-2, 2] and t in {+-1, +-0.7126, 0}" (five levels:
    -1, -0.7126, 0, 0.7126, 1). The levels +-0.7126 are the rounded
    t-coordinates of the continuous function's two minima.

    Two global minima, ``f = -1.0316284276...``, at ``(x, t) = (0.0898347794...,
    -0.7126)`` and ``(-0.0898347794..., 0.7126)`` (``f(x, t) = f(-x, -t)``);
    slightly above the continuous -1.0316284535 because 0.7126 is rounded.
    """
    return TestProblem(
        name="mixed_six_hump_camel",
        parameters=[
            *_numerical(["x"], -2.0, 2.0),
            _categorical("t", (-1.0, -0.7126, 0.0, 0.7126, 1.0)),
        ],
        function=mixed_six_hump_camel,
        optimal_value=_CAMEL_F_STAR,
        optimizer={"x": _CAMEL_X_STAR, "t": -0.7126},
        extra_optimizers=({"x": -_CAMEL_X_STAR, "t": 0.7126},),
        description="LVGP-vs-Lolo paper Eq. (7): Six-Hump Camel, x in [-2, 2], "
        "t in {-1, -0.7126, 0, 0.7126, 1}.",
    )


def make_mixed_rastrigin_3d() -> TestProblem:
    r"""3-D Rastrigin with one categorical argument (paper Eq. (8)).

    Paper: "We set d = 3, with two numerical variables x_{1,2} = v_{1,2} in
    [-5.12, 5.12], and one categorical variable t = v_3 in {-5, -4, ..., 5}"
    (eleven levels). Minimum 0 at ``(0, 0, 0)``.
    """
    return TestProblem(
        name="mixed_rastrigin_3d",
        parameters=[*_numerical(_x_names(2), -5.12, 5.12), _categorical("t", range(-5, 6))],
        function=rastrigin,
        optimal_value=0.0,
        optimizer={"x1": 0.0, "x2": 0.0, "t": 0},
        description="LVGP-vs-Lolo paper Eq. (8): Rastrigin, d = 3, x1, x2 in [-5.12, 5.12], "
        "t in {-5, ..., 5}.",
    )


def make_mixed_perm_6d() -> TestProblem:
    r"""6-D Perm (``beta = 0.5``) with one categorical argument (paper Eq. (9)).

    Paper: "six-dimensional (6D), with t = v_6 in {-4, 1, 6} and
    x_{1,...,5} = v_{1,...,5} in [-6, 6]. In this case, the degrees of
    freedom D_f = 7". Minimum 0 at ``v = (1, ..., 6)``.
    """
    return TestProblem(
        name="mixed_perm_6d",
        parameters=[*_numerical(_x_names(5), -6.0, 6.0), _categorical("t", (-4, 1, 6))],
        function=perm,
        optimal_value=0.0,
        optimizer={**{f"x{i}": float(i) for i in range(1, 6)}, "t": 6},
        description="LVGP-vs-Lolo paper Eq. (9): Perm (beta = 0.5), d = 6, "
        "x1..x5 in [-6, 6], t in {-4, 1, 6}.",
    )


_PERM_10D_LEVELS: tuple[tuple[int, ...], ...] = (
    (-4, 1, 6),
    (-8, -3, 2, 7),
    (-6, 1, 8),
    (-9, -3, 3, 9),
    (-10, -5, 0, 5, 10),
)


def make_mixed_perm_10d() -> TestProblem:
    r"""10-D Perm (``beta = 0.5``) with five categorical arguments (paper Eq. (9)).

    Paper: "ten-dimensional (10D), with t_1 = v_6 in {-4, 1, 6}, t_2 = v_7 in
    {-8, -3, 2, 7}, t_3 = v_8 in {-6, 1, 8}, t_4 = v_9 in {+-3, +-9}, t_5 =
    v_10 in {0, +-5, +-10}, and x_{1,...,5} = v_{1,...,5} in [-10, 10].
    D_f = 19 for this function." Minimum 0 at ``v = (1, ..., 10)`` (each
    ``t_k``'s level set contains ``5 + k``).
    """
    return TestProblem(
        name="mixed_perm_10d",
        parameters=[
            *_numerical(_x_names(5), -10.0, 10.0),
            *(_categorical(f"t{k + 1}", lv) for k, lv in enumerate(_PERM_10D_LEVELS)),
        ],
        function=perm,
        optimal_value=0.0,
        optimizer={
            **{f"x{i}": float(i) for i in range(1, 6)},
            **{f"t{k}": 5 + k for k in range(1, 6)},
        },
        description="LVGP-vs-Lolo paper Eq. (9): Perm (beta = 0.5), d = 10, "
        "x1..x5 in [-10, 10], five categorical t.",
    )


_ROSENBROCK_10D_LEVELS: tuple[tuple[int, ...], ...] = (
    (-4, 1, 6),
    (-3, 1, 5, 9),
    (-5, 1, 7),
    (-2, 1, 4, 7),
    (-3, -1, 1, 3, 5),
)


def make_mixed_rosenbrock_10d() -> TestProblem:
    r"""10-D Rosenbrock with five categorical arguments (paper Eq. (10)).

    Paper: "numerical variables x_{1,...,5} = v_{1,...,5} in [-5, 10],
    categorical variables t_1 = v_6 in {-4, 1, 6}, t_2 = v_7 in {-3, 1, 5, 9},
    t_3 = v_8 in {-5, 1, 7}, t_4 = v_9 in {-2, 1, 4, 7}, t_5 = v_10 in
    {+-3, +-1, 5}, which make D_f = 19". The sum runs to ``d - 1`` (see
    :func:`rosenbrock`). Minimum 0 at ``v = (1, ..., 1)``.
    """
    return TestProblem(
        name="mixed_rosenbrock_10d",
        parameters=[
            *_numerical(_x_names(5), -5.0, 10.0),
            *(_categorical(f"t{k + 1}", lv) for k, lv in enumerate(_ROSENBROCK_10D_LEVELS)),
        ],
        function=rosenbrock,
        optimal_value=0.0,
        optimizer={**{f"x{i}": 1.0 for i in range(1, 6)}, **{f"t{k}": 1 for k in range(1, 6)}},
        description="LVGP-vs-Lolo paper Eq. (10): Rosenbrock (sum to d - 1), d = 10, "
        "x1..x5 in [-5, 10], five categorical t.",
    )


def make_mixed_quadratic_10d() -> TestProblem:
    r"""10-D quadratic ``sum_i v_i^2`` with five categorical arguments.

    Paper: "It takes five categorical variables t_{1,...,5} = v_{6,...,10} in
    {0, +-1, +-2} and five numerical variables x_{1,...,5} = v_{1,...,5} in
    [-2, 2], with D_f = 25." Minimum 0 at the origin.
    """
    return TestProblem(
        name="mixed_quadratic_10d",
        parameters=[
            *_numerical(_x_names(5), -2.0, 2.0),
            *(_categorical(f"t{k}", (-2, -1, 0, 1, 2)) for k in range(1, 6)),
        ],
        function=quadratic,
        optimal_value=0.0,
        optimizer={**{f"x{i}": 0.0 for i in range(1, 6)}, **{f"t{k}": 0 for k in range(1, 6)}},
        description="LVGP-vs-Lolo paper: quadratic sum v^2, d = 10, x1..x5 in [-2, 2], "
        "t1..t5 in {0, +-1, +-2}.",
    )


register_problem("mixed_branin", make_mixed_branin)
register_problem("mixed_mccormick", make_mixed_mccormick)
register_problem("mixed_six_hump_camel", make_mixed_six_hump_camel)
register_problem("mixed_rastrigin_3d", make_mixed_rastrigin_3d)
register_problem("mixed_perm_6d", make_mixed_perm_6d)
register_problem("mixed_perm_10d", make_mixed_perm_10d)
register_problem("mixed_rosenbrock_10d", make_mixed_rosenbrock_10d)
register_problem("mixed_quadratic_10d", make_mixed_quadratic_10d)
