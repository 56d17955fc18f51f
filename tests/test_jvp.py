"""``symdiff.jvp``: the directional derivative J(x)·v, for functions of numbers and of arrays,
with one number out or many, checked against the mpmath reference (d/dt f(x + t v) at t = 0,
``tests/reference.mp_directional``), at points on both sides of every branch."""

import math

import numpy as np
import pytest

import symdiff
from symdiff import jvp

from .reference import close, close_array, mp_directional


def wave(x, y):
    return math.sin(x * y) + x ** 2 / y


def kinked(x, y):
    if x > y:
        return x * y ** 2
    return math.exp(x) - y


def soft(x):
    return np.sum(np.abs(x) * x + np.sin(x))


def field(x):
    return np.sin(x) * x + 0.1 * np.sum(x ** 2)


def polar(r, t):
    return (r * math.cos(t), r * math.sin(t))


def squashed(a, *, scale=2.0):
    return np.tanh(a) * scale + np.maximum(a, 0.0)


@pytest.mark.parametrize("point, tangent", [((0.7, 1.3), (1.0, -0.5)), ((-2.0, 0.4), (0.3, 0.3)),
                                            ((1, 3.0), (2.0, 1.0))])
def test_scalar_function_of_numbers(point, tangent):
    got = jvp(wave)(*point, tangent)
    assert type(got) is float
    assert close(got, mp_directional(wave, point, tangent)[0])


@pytest.mark.parametrize("point", [(1.5, 0.5), (0.2, 0.9)])  # x > y, then x < y
def test_both_sides_of_a_branch(point):
    tangent = (0.25, -1.5)
    assert close(jvp(kinked)(*point, tangent), mp_directional(kinked, point, tangent)[0])


def test_one_parameter_of_several_and_keywords():
    expected = mp_directional(wave, (0.7, 1.3), (2.0,), wrt="y")[0]
    assert close(jvp(wave, wrt="y")(0.7, 1.3, 2.0), expected)
    assert close(jvp(wave, wrt="y")(0.7, 2.0, y=1.3), expected)
    both = mp_directional(wave, (1, 2.0), (0.5, -1.0))[0]
    assert close(jvp(wave)(1, (0.5, -1.0), y=2.0), both)


def test_array_in_number_out_on_both_sides_of_abs():
    x = np.array([-1.2, -0.3, 0.4, 2.0])
    v = np.array([0.5, -1.0, 2.0, 0.25])
    got = jvp(soft)(x, v)
    assert type(got) is float and close(got, mp_directional(soft, (x,), (v,))[0])


@pytest.mark.parametrize("n", [1, 5])
def test_array_in_array_out(n):
    rng = np.random.default_rng(n)
    x, v = rng.uniform(-2.0, 2.0, n), rng.uniform(-1.0, 1.0, n)
    got = jvp(field)(x, v)
    assert got.shape == (n,)
    assert not close_array(got, np.array(mp_directional(field, (x,), (v,)), dtype=object))


def test_two_dimensional_arrays_and_a_kink_of_maximum():
    a = np.array([[-1.0, 0.5, 2.0], [0.25, -0.75, 1.5]])
    v = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    got = jvp(squashed, wrt="a")(a, v)
    assert got.shape == (2, 3)
    expected = np.array(mp_directional(squashed, (a,), (v,), wrt="a"), dtype=object).reshape(2, 3)
    assert not close_array(got, expected)
    assert not close_array(jvp(squashed, wrt="a")(a, 2 * v, scale=2.0), 2 * expected)  # keyword-only


def test_tuple_output():
    got = jvp(polar)(2.0, 0.6, (0.5, 1.5))
    assert got.shape == (2,)
    assert not close_array(got, np.array(mp_directional(polar, (2.0, 0.6), (0.5, 1.5)), dtype=object))


def test_wrong_tangents_say_what_is_expected():
    with pytest.raises(ValueError, match=r"the tangent of 'x' has shape \(3,\), but 'x' has shape \(4,\)"):
        jvp(soft)(np.ones(4), np.ones(3))
    with pytest.raises(TypeError, match=r"the tangent is a tuple of 2"):
        jvp(wave)(1.0, 2.0, 1.0)
    with pytest.raises(TypeError, match="then the tangent"):
        jvp(wave)()
    with pytest.raises(TypeError) as ours:
        jvp(wave)(1.0, 2.0, 3.0, (1.0, 1.0))
    with pytest.raises(TypeError) as theirs:
        wave(1.0, 2.0, 3.0)
    assert str(ours.value) == str(theirs.value)
    assert repr(symdiff.jvp(wave)) == "<symdiff jvp of wave wrt x, y>"


# ---- one generated function (forward mode by transposition), linear algebra, and hvp ----
def solved(A, b):
    return np.linalg.solve(A, b) + np.linalg.inv(A) @ b * np.linalg.det(A)


def batched(W, x):
    h = np.tanh(W @ x)
    return np.concatenate([h, np.cumsum(h) ** 2])


A0 = np.array([[2.0, 0.3, -0.1], [0.2, 1.5, 0.4], [-0.3, 0.1, 1.8]])
B0 = np.array([0.5, -1.0, 0.25])


def test_linear_algebra_and_matrices():
    tangent = (np.array([[0.1, 0.0, 0.2], [-0.3, 0.5, 0.0], [0.0, 0.1, -0.2]]), np.array([1.0, 0.5, -0.5]))
    assert not close_array(jvp(solved)(A0, B0, tangent), mp_directional(solved, (A0, B0), tangent))
    W = np.arange(6.0).reshape(2, 3) / 5.0 - 0.4
    tangent = (np.ones((2, 3)) * 0.3, np.array([1.0, -1.0, 0.5]))
    assert not close_array(jvp(batched)(W, B0, tangent), mp_directional(batched, (W, B0), tangent))


def test_the_generated_function_is_one_pass_for_every_output():
    j = jvp(field)
    x = np.linspace(-1.0, 1.0, 50)
    j(x, np.cos(x))
    source = j._push._last.code.grad_source
    assert source.count("def ") <= 2 and "for " not in source  # no loop over outputs or columns


from .reference import mp_hessian_vector  # noqa: E402


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@pytest.mark.parametrize("f, point, v", [
    (wave, (0.7, 1.3), (1.0, -0.5)),
    (kinked, (1.0, 0.5), (1.0, 0.2)), (kinked, (0.2, 0.5), (1.0, 0.2)),  # both sides of x > y
    (rosen, (np.array([0.3, -0.8, 1.1, 0.5]),), np.array([1.0, 0.0, -2.0, 0.5])),
    (soft, (np.array([0.5, -1.5, 2.0]),), np.array([0.2, 1.0, -1.0])),
])
def test_hessian_vector_products(f, point, v):
    got = symdiff.hvp(f)(*point, v)
    got = np.concatenate([np.ravel(g) for g in got]) if isinstance(got, tuple) else np.ravel(got)
    want = mp_hessian_vector(f, point, np.concatenate([np.ravel(p) for p in np.atleast_1d(*v)]) if
                             isinstance(v, tuple) else v)
    assert not close_array(got, want, rtol=1e-9)


def test_hvp_drives_newton_cg():
    from scipy.optimize import minimize

    result = minimize(rosen, np.array([-1.2, 1.0, 0.8]), jac=symdiff.grad(rosen),
                      hessp=symdiff.hvp(rosen), method="Newton-CG", options={"xtol": 1e-10})
    assert result.success and np.allclose(result.x, 1.0, atol=1e-6)
    assert isinstance(symdiff.hvp(wave)(0.7, 1.3, (1.0, 0.0)), tuple)


def scaled_norm(p):
    return p["a"] * np.sum(p["w"] ** 2) + math.sin(p["a"])


def test_a_container_parameter_takes_a_container_tangent():
    point = {"a": 0.7, "w": np.array([1.0, -0.5, 2.0])}
    tangent = {"a": 0.3, "w": np.array([0.5, 1.0, -1.0])}
    # d/dt at t = 0, by hand: da * sum(w^2) + a * 2 * w.dw + cos(a) * da
    expected = 0.3 * 5.25 + 0.7 * 2 * (0.5 - 0.5 - 2.0) + math.cos(0.7) * 0.3
    assert close(jvp(scaled_norm)(point, tangent), expected)
    with pytest.raises(ValueError, match="leaf for leaf"):
        jvp(scaled_norm)(point, {"a": 0.3})


def tall(x, W):
    h = np.tanh(W @ x)
    return np.concatenate([h, np.cumsum(h) ** 2, np.sin(h)])


def test_jacfwd_column_by_column_against_the_reference():
    from .reference import mp_jacobian

    x, W = np.array([0.3, -0.5]), np.arange(8.0).reshape(4, 2) / 7 - 0.5
    got = symdiff.jacfwd(tall)(x, W)
    assert got.shape == (12, 10)
    assert not close_array(got, np.array(mp_jacobian(tall, (x, W)), dtype=object))
    assert not close_array(symdiff.jacfwd(polar)(2.0, 0.5), np.array(mp_jacobian(polar, (2.0, 0.5)), dtype=object))
