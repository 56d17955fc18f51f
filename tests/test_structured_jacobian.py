"""The dense Jacobian of array code from one generated function (``ad.structured``).

Every matrix is checked against the independent reference: the function's own source over mpmath
at 50 digits (``tests/reference.py``: ``mp_jacobian``), at points on both sides of every
``np.where``. ``FEW_PASSES`` is lowered here so that the one-pass route is taken whatever the
number of colours (by default a Jacobian of at most 4 passes per colour keeps those passes);
that the route was taken is checked too, and that constructs without a rule fall back to the
per-colour passes with the same (right) answer.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import symdiff
from symdiff import api

from .random_programs import checks as random_checks
from .random_programs.generators import FAMILIES
from .reference import close_array, mp_jacobian

RNG = np.random.default_rng(20261204)
A = RNG.uniform(-1, 1, (3, 6))
B = RNG.uniform(-1, 1, (6, 6))


@pytest.fixture(autouse=True)
def one_pass(monkeypatch):
    monkeypatch.setattr(api, "FEW_PASSES", -1)


# ---- the functions ----
def field(x):
    return np.sin(x) * x + 0.1 * np.sum(x ** 2)


def steps(x):
    return x[1:] - x[:-1] ** 2


def branches(x):
    return np.where(x > 0.2, x ** 2 * np.sum(x), np.sin(x) - x[0])


def projected(x):
    return np.tanh(A @ x) * np.dot(x, x)


def squared(x):
    return (B.T @ (B @ np.exp(x))) / np.linalg.norm(x)


def centred(x):
    return (x - np.mean(x)) * x[2]


def two_inputs(x, y):
    return x * np.cos(y) + np.dot(x, y) - y[1:].sum()


def with_number(x, s):
    return np.exp(s * x[::2]) + s ** 2


def outputs(x, y):
    return (np.sin(x) * y, np.sum(x * y), x[0] * y[-1])


def listed(x):
    return np.array([x[0] * x[1], np.sum(x ** 3), x[-1] / x[0]])


def matrix(X):
    return np.sin(X) * np.sum(X) + X[0, 1]


def rolled(x):
    for _ in range(4):
        x = np.sin(x) + 0.5 * x
    return x


CASES = [
    (field, (RNG.uniform(-1.5, 1.5, 6),)),
    (steps, (RNG.uniform(-1.5, 1.5, 6),)),
    (branches, (np.array([-0.9, 0.5, 0.1, 1.3, -0.2, 0.7]),)),  # both sides of the where
    (branches, (np.array([0.9, -0.5, 0.4, 1.3, 0.6, -0.7]),)),
    (projected, (RNG.uniform(-1, 1, 6),)),
    (squared, (RNG.uniform(-1, 1, 6),)),
    (centred, (RNG.uniform(-1, 1, 5),)),
    (two_inputs, (RNG.uniform(-1, 1, 5), RNG.uniform(-1, 1, 5))),
    (with_number, (RNG.uniform(-1, 1, 7), 0.7)),
    (outputs, (RNG.uniform(-1, 1, 4), RNG.uniform(-1, 1, 4))),
    (listed, (RNG.uniform(0.5, 1.5, 4),)),
    (matrix, (RNG.uniform(-1, 1, (2, 3)),)),
    (rolled, (RNG.uniform(-1, 1, 4),)),
]


@pytest.mark.parametrize("f, args", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)])
def test_one_pass_against_mpmath(f, args):
    J = symdiff.jacobian(f)
    got = J(*args)
    assert J.build_for(*args).structured, "the one-pass route was not taken"
    want = mp_jacobian(f, args)
    assert not close_array(got, want, rtol=1e-12, atol=1e-13)


def test_with_respect_to_one_of_two():
    x, y = RNG.uniform(-1, 1, 5), RNG.uniform(-1, 1, 5)
    J = symdiff.jacobian(two_inputs, wrt="y")
    got = J(x, y)
    assert got.shape == (5, 5) and J.build_for(x, y).structured
    assert not close_array(got, mp_jacobian(two_inputs, (x, y), wrt="y"), rtol=1e-12, atol=1e-13)


def test_the_generated_function_is_readable_array_code():
    x = RNG.uniform(-1, 1, 6)
    J = symdiff.jacobian(field)
    J(x)
    source = J.build_for(x).structured.code.value_and_grad_source
    assert "def field_jacobian(x):" in source
    assert "Jacobian of field with respect to x, from one forward pass" in source
    assert "# line " in source and "numpy.cos(x)" in source
    assert "_jacobian((6, 6), picks=" in source and "outers=" in source
    assert "for " not in source.split("def field_jacobian")[1]  # no loop over rows or columns


def sorted_out(x):
    return np.sort(x) * x


def cumulative(x):
    return np.cumsum(x) * x


def by_data(x):
    if np.sum(x) > 0:
        return x * 2.0
    return x ** 3


@pytest.mark.parametrize("f, x", [
    (cumulative, RNG.uniform(-1, 1, 5)),
    (by_data, np.array([0.5, 0.2, -0.1, 0.3])),
    (by_data, np.array([-0.5, 0.2, -0.1, 0.3])),
])
def test_constructs_without_a_rule_take_the_passes_per_colour(f, x):
    J = symdiff.jacobian(f)
    got = J(x)
    assert J.build_for(x).structured is False
    assert not close_array(got, mp_jacobian(f, (x,)), rtol=1e-12, atol=1e-13)


def test_numbers_only_keep_the_scalar_route():
    def f(a, b):
        return (a * b, a + b ** 2, a - b)

    J = symdiff.jacobian(f)
    assert np.allclose(J(2.0, 3.0), [[3.0, 2.0], [1.0, 6.0], [1.0, -1.0]], rtol=0, atol=0)
    assert J.build_for(2.0, 3.0).structured is False  # refused: no array argument


def test_the_default_policy(monkeypatch):
    """One pass for a dense Jacobian and a banded one; the forward passes on the column colours
    where they are few (a dense column)."""
    monkeypatch.setattr(api, "FEW_PASSES", 4)
    x = RNG.uniform(-1, 1, 30)
    J = symdiff.jacobian(field)
    got = J(x)
    assert J.build_for(x).structured
    want = np.diag(np.cos(x) * x + np.sin(x)) + 0.2 * x  # sympy.diff of the closed form, by hand
    assert np.allclose(got, want, rtol=1e-13, atol=1e-14)
    S = symdiff.jacobian(steps)
    S(x)
    assert S.build_for(x).structured
    C = symdiff.jacobian(column)
    got = C(x)
    assert C.build_for(x).structured is None and C._forward is not None
    want = np.diag(x[0] + np.cos(x))  # sympy.diff by hand: d/dx_j (x_i x_0 + sin x_i)
    want[:, 0] += x
    assert np.allclose(got, want, rtol=1e-14, atol=0)


def column(x):
    return x * x[0] + np.sin(x)


# ---- random array programs (the suite's generator), in this process, through the one pass ----
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(case=FAMILIES["arrays"].filter(lambda case: "jacobian" in case.checks))
def test_random_array_programs(case):
    """The generator's programs with an array out, checked by its own checks (mpmath's Jacobian)."""
    outcome = random_checks.run_case(case)
    assert outcome.passed, f"{outcome.status}: {outcome.detail}\n{case.reproduction()}"


def test_jacfwd_of_array_code_takes_the_one_pass():
    x = RNG.uniform(-1, 1, 6)
    F = symdiff.jacfwd(field)
    got = F(x)
    assert F._jacobian.build_for(x).structured
    assert not close_array(got, mp_jacobian(field, (x,)), rtol=1e-12, atol=1e-13)
    assert np.array_equal(got, symdiff.jacobian(field)(x))
