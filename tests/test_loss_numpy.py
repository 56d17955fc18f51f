"""The numpy a loss function uses (issue 14, first slice): ``keepdims=``, ``np.var``/``np.std``,
comparisons used as numbers (``a * (a > 0)``, ``np.sum(x < y)``), ``np.mod``/``np.remainder``/
``np.floor_divide``.

Values are checked against the function itself (numpy runs it), gradients against the mpmath
reference at 50 digits (tests/reference.py), at points on both sides of every comparison.
"""

import math

import numpy as np
import pytest

from symdiff import SymdiffError, grad, value_and_grad

from .reference import mp_grad

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
V = RNG.normal(size=5)


def check(f, *args, exact=True):
    """value_and_grad(f) gives f's value (bitwise when ``exact``) and the mpmath gradient."""
    value, gradient = value_and_grad(f)(*args)
    want = f(*args)
    assert np.shape(value) == np.shape(want)
    if exact:
        assert np.array_equal(value, want), (value, want)
    else:
        assert np.allclose(value, want, rtol=1e-14, atol=1e-15)
    reference = mp_grad(f, args)
    gradients = gradient if len(args) > 1 else (gradient,)
    for got, ref in zip(gradients, reference):
        ref = np.asarray(ref, dtype=float)
        assert np.shape(got) == np.shape(ref)
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-12), (got, ref)


# ---- keepdims ----
def softmax_loss(x):
    z = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(z)
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(np.log(p[:, 0]))


def normalised_rows(x):
    return np.sum(np.sin(x / np.mean(x * x, axis=1, keepdims=True)))


def kept_everything(x):
    return np.sum(x * np.prod(x, keepdims=True)) + np.sum(np.min(x, axis=0, keepdims=True) ** 2)


def kept_method(x):
    return np.sum((x - x.mean(axis=0, keepdims=True)) ** 2 / x.sum(keepdims=True))


@pytest.mark.parametrize("f", [softmax_loss, normalised_rows, kept_everything, kept_method],
                         ids=lambda f: f.__name__)
def test_keepdims(f):
    check(f, X)
    check(f, np.abs(X) + 0.5)


def test_keepdims_shapes_are_numpy_s():
    def column(x):
        return np.sum(x, axis=0, keepdims=True) * 1.5

    assert grad(lambda_free_sum_kept)(X).shape == X.shape
    from symdiff import jacobian

    jac = jacobian(column)(X)  # rows: the (1, 4) output flattened; columns: X flattened
    by_hand = np.zeros((4, 3, 4))
    for j in range(4):
        by_hand[j, :, j] = 1.5
    assert np.array_equal(jac, by_hand.reshape(4, 12))
    assert np.array_equal(value_and_grad(lambda_free_sum_kept)(X)[0], lambda_free_sum_kept(X))


def lambda_free_sum_kept(x):
    return np.sum(np.sum(x, axis=1, keepdims=True) * x)


def test_keepdims_must_be_a_bool():
    def f(x):
        return np.sum(np.sum(x, keepdims="yes"))

    with pytest.raises(SymdiffError, match="keepdims must be True or False"):
        grad(f)(X)


# ---- var and std ----
def variance(x):
    return np.var(x)


def std_of_columns(x):
    return np.sum(np.std(x, axis=0) * np.arange(1.0, 5.0))


def unbiased(x):
    return np.var(x, ddof=1) + np.sum(np.var(x, axis=1, ddof=1, keepdims=True) * x)


def standardised(x):
    return np.sum(np.tanh((x - np.mean(x, axis=0)) / np.std(x, axis=0)))


def std_method(v):
    return v.std() * v.var(ddof=1)


@pytest.mark.parametrize("f", [variance, std_of_columns, unbiased, standardised],
                         ids=lambda f: f.__name__)
def test_var_and_std(f):
    check(f, X)


def test_var_and_std_methods():
    check(std_method, V, exact=False)  # the reference has no object-array .std(): by hand below
    v = V
    n = v.size
    s, var1 = v.std(), v.var(ddof=1)
    d = v - v.mean()
    by_hand = d / (n * s) * var1 + s * 2 * d / (n - 1)
    assert np.allclose(grad(std_method)(v), by_hand, rtol=1e-12)


def test_std_of_a_constant_array_is_a_norm_at_zero():
    """std is the root of a sum of squares: at a constant array the subgradient 0 (as for
    np.linalg.norm at the zero vector), not 0 * inf = nan."""
    with np.errstate(all="ignore"):
        value, gradient = value_and_grad(lambda_free_std)(np.full(4, 2.5))
    assert value == 0.0 and np.array_equal(gradient, np.zeros(4))


def lambda_free_std(v):
    return np.std(v)


def test_ddof_must_leave_a_count():
    def f(v):
        return np.var(v, ddof=5)

    with pytest.raises(SymdiffError, match="ddof=5"):
        grad(f)(V)


# ---- comparisons as numbers ----
def relu(a):
    return a * (a > 0)


def relu_loss(x):
    return np.sum(x * (x > 0.1)) + np.sum(x < -0.2) * np.sum(x)


def hinge(v, w):
    margin = 1.0 - v * w
    return np.mean(margin * (margin > 0))


def counted(a, b):
    return (a > b) * a ** 2 + (b >= 0.5) - (a < 0) * b


@pytest.mark.parametrize("a", [-1.5, -0.25, 0.25, 2.0])
def test_relu_both_sides(a):
    check(relu, a)
    assert grad(relu)(a) == (1.0 if a > 0 else 0.0)


def test_comparisons_as_numbers_in_arrays():
    check(relu_loss, X)
    check(hinge, V, np.linspace(-1.0, 2.0, 5))


@pytest.mark.parametrize("args", [(0.3, 0.2), (0.2, 0.3), (-0.4, 0.7), (-0.4, -0.9)])
def test_comparisons_as_numbers_in_scalars(args):
    check(counted, *args)
    assert type(counted(*args)) is type(value_and_grad(counted)(*args)[0]) or \
        isinstance(value_and_grad(counted)(*args)[0], float)


# ---- mod, remainder, floor_divide ----
def wrapped(x):
    return np.sum(np.sin(np.mod(x, 0.7)) + np.remainder(x, -0.3) * np.floor_divide(x, 0.25))


def scalar_mod(a, b):
    return np.mod(a, b) * a + np.floor_divide(a, 0.3)


def test_mod_remainder_floor_divide_arrays():
    check(wrapped, X)


@pytest.mark.parametrize("args", [(0.7, 0.25), (-0.7, 0.25), (0.7, -0.3), (2.5, 1.1)])
def test_mod_of_numbers(args):
    check(scalar_mod, *args)


def test_mod_by_zero_is_numpy_s_nan_not_python_s_error():
    def f(a):
        return np.mod(a, 0.0) + np.floor_divide(a, 0.0) * 0.0

    with np.errstate(all="ignore"):
        value = value_and_grad(f)(0.75)[0]
        assert math.isnan(value) and math.isnan(f(0.75))
