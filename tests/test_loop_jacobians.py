"""Jacobians, Hessians, Hessian-vector products and grad(grad(f)) of loops kept as loops
(issue 13): ``for`` loops of 32 iterations and more, and ``while`` loops on data, stay loops in
the generated code of every derivative, not only in ``grad``'s.

Every derivative is compared with an independent reference: ``tests/reference.py``
(``mp_jacobian``, ``mp_hessian``, ``mp_hessian_vector``, ``mp_directional``: the user's source
re-run over mpmath at 50 digits) or a derivative written by hand (sqrt(a)'s). Points lie on
both sides of every data-dependent exit (0, 1 and many iterations).
"""

import math
import time

import numpy as np
import pytest

import symdiff
from symdiff import grad, hessian, jacobian, jacfwd

from .reference import close, close_array, mp_directional, mp_hessian, mp_hessian_vector, mp_jacobian

HERE = __file__


def rolled(source):
    """Whether generated code keeps a loop: short, with a ``for`` or a ``while``."""
    return source.count("\n") < 150 and ("for " in source or "while True:" in source)


def same(got, want, rtol=1e-10, atol=1e-12):
    bad = close_array(got, np.array(want, dtype=object).reshape(np.shape(got)), rtol=rtol, atol=atol)
    assert not bad, bad


# ---- the functions ----
def newton_pair(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return np.array([x, x * b])


def newton_three(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return (x, x * b, x + b * b)


def lorenz(x, y, z, s):
    for t in range(64):
        dx = s * (y - x)
        dy = x * (28.0 - z) - y
        dz = x * y - 8.0 / 3.0 * z
        x = x + 0.01 * dx
        y = y + 0.01 * dy
        z = z + 0.01 * dz
    return (x, y, z)


def bisection(a):
    lo = 0.0
    hi = 10.0
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return np.array([lo * a, hi])


def until_small(x, r):
    while x > 1.0:
        if x < 3.0 * r:
            break
        x = x * r
    return (x, x * r)


def decay(h, c):
    for t in range(40):
        h = np.tanh(h) * c + 0.01
    return h * 2.0


# points with 0, 1 and many iterations of each while
NEWTON = [(1.0, 3.0), (2.0, 3.0), (0.25, -1.5), (9.0, 0.5)]  # 1.0: no iteration
UNTIL = [(0.5, 0.9), (2.0, 0.9), (2.5, 0.7), (3.2, 0.5), (20.0, 0.8)]  # 0 (test), 0 (break), 1 then break, 2, many


# ---- jacobian ----
@pytest.mark.parametrize("point", NEWTON)
@pytest.mark.parametrize("f", [newton_pair, newton_three])
def test_jacobian_of_a_while_on_data(f, point):
    J = jacobian(f)
    same(J(*point), mp_jacobian(f, point))
    assert "while True:" in J.source_for(*point)


@pytest.mark.parametrize("point", NEWTON[:2])
def test_sparse_jacobian_of_a_while_on_data(point):
    got = jacobian(newton_three, sparse=True)(*point)
    same(got.toarray(), mp_jacobian(newton_three, point))


def test_the_value_after_a_while_is_not_its_entry_value():
    # d(x*b)/db is x after the loop, sqrt(a): not a (the reverse loop reads x back from its
    # tape, so a line after the loop must not be moved past it)
    J = jacobian(newton_pair)(2.0, 3.0)
    assert close(J[1, 1], math.sqrt(2.0))
    assert close(J[0, 0], 1 / (2 * math.sqrt(2.0)))


def test_jacobian_of_a_long_for_loop():
    point = (1.0, 1.5, 2.0, 10.0)
    J = jacobian(lorenz)
    same(J(*point), mp_jacobian(lorenz, point), rtol=1e-9)
    assert rolled(J.source_for(*point))
    same(jacobian(lorenz, sparse=True)(*point).toarray(), mp_jacobian(lorenz, point), rtol=1e-9)


@pytest.mark.parametrize("point", [(0.3,), (2.0,), (7.5,)])
def test_jacobian_of_a_bisection(point):
    # lo and hi are piecewise constant in a: d(lo*a)/da = lo, d hi/da = 0
    J = jacobian(bisection)(*point)
    same(J, mp_jacobian(bisection, point))
    assert close(J[0, 0], math.sqrt(point[0]), rtol=1e-8) and J[1, 0] == 0


@pytest.mark.parametrize("point", UNTIL)
def test_jacobian_of_a_while_with_a_break(point):
    same(jacobian(until_small)(*point), mp_jacobian(until_small, point))


def test_jacobian_of_an_array_loop_every_route():
    point = (np.array([0.3, -0.2, 0.1]), np.array([0.9, 0.8, 0.7]))
    want = mp_jacobian(decay, point)
    same(jacobian(decay)(*point), want)
    same(jacobian(decay, sparse=True)(*point).toarray(), want)
    same(jacfwd(decay)(*point), want)
