"""numpy calls added for the ported suites: p-norms (values as numpy's, the subgradient 0 at the
zero vector), np.r_/np.c_, np.split, np.linspace of differentiated ends — each against mpmath or
a closed form by hand, and the refusals located."""

import numpy as np
import pytest

import symdiff
from symdiff.errors import SymdiffError

from .reference import close_array, mp_grad, mp_hessian


def p_norms(x):
    return np.linalg.norm(x, ord=3) + np.linalg.norm(x, ord=1.5) * 2.0 - np.linalg.norm(x, ord=-2)


def three_norm(x):
    return np.linalg.norm(x, ord=3)


X = np.array([0.3, -1.7, 2.2, 0.05])


def test_p_norms_match_the_reference_and_numpys_values():
    assert not close_array(symdiff.grad(p_norms)(X), mp_grad(p_norms, (X,))[0])
    assert not close_array(symdiff.hessian(three_norm)(X), mp_hessian(three_norm, (X,)), rtol=1e-9)
    value, _ = symdiff.value_and_grad(three_norm)(X)
    assert value == np.linalg.norm(X, ord=3)  # bit for bit: abs(x)**3.0 summed, then **(1/3)


def test_a_p_norm_at_the_zero_vector_has_the_subgradient_zero():
    got = symdiff.grad(three_norm)(np.zeros(3))
    assert np.array_equal(got, np.zeros(3))  # not 0 * inf = nan; 0 is in the subdifferential


def joined(x, s):
    return np.sum(np.r_[x, s, x[1:] * 2.0, 0:2] ** 2) + np.sum(np.c_[x, np.sin(x)] @ np.array([1.0, -s]))


def test_index_tricks_against_the_reference():
    point = (np.array([0.5, -1.0, 2.0]), 0.7)
    got = symdiff.grad(joined)(*point)
    for g, w in zip(got, mp_grad(joined, point)):
        assert not close_array(g, w)


def with_a_directive(x):
    return np.sum(np.r_["0,2", x, x])


def uneven(x):
    return np.sum(np.split(x, 2)[0])


def float32(x):
    return np.sum(x.astype(np.float32))


@pytest.mark.parametrize("f, words", [
    (with_a_directive, "np.r_ with the directive '0,2'"),
    (uneven, "array split does not result in an equal division"),
    (float32, "only float64 keeps its numbers"),
])
def test_refusals_are_located(f, words):
    with pytest.raises(SymdiffError) as info:
        symdiff.grad(f)(np.array([1.0, 2.0, 3.0]))
    assert words in str(info.value) and info.value.lineno is not None


def spaced(a, b):
    return np.sum(np.linspace(a, b, 5) ** 2)


def test_linspace_of_differentiated_ends():
    # sum over k of (a + k (b - a) / 4)^2, differentiated by hand
    a, b = 0.3, 1.9
    t = np.arange(5) / 4.0
    points = a + t * (b - a)
    da, db = symdiff.grad(spaced)(a, b)
    assert np.isclose(da, np.sum(2 * points * (1 - t)), rtol=1e-14)
    assert np.isclose(db, np.sum(2 * points * t), rtol=1e-14)


def flipped(x, y):
    u0 = np.flip(y)
    return np.min(np.square(u0)) + np.dot(np.flip(x), x)


def test_flip_traced_before_the_call_and_of_numbers():
    """Traced before any call, y is assumed a number: np.flip of it is the number (it printed
    ``y[]``, a SyntaxError, found by the thorough random run)."""
    g = symdiff.value_and_grad(flipped)
    value, (dx, dy) = g(np.array([-0.8]), np.array([-0.35]))
    assert np.isclose(value, 0.35 ** 2 + 0.64) and np.allclose(dx, [-1.6]) and np.allclose(dy, [-0.7])
    value, (dx, dy) = g(0.5, 2.0)  # numbers: np.flip of a number is the number
    assert value == 4.25 and dx == 1.0 and dy == 4.0


def running_product(x):
    return np.sum(np.cumprod(x))


def general_eigenvalues(a):
    return np.sum(np.linalg.eig(a)[0])


@pytest.mark.parametrize("f, arg, hint", [
    (running_product, np.array([1.0, 2.0, 3.0]), "np.exp(np.cumsum(np.log(x)))"),
    (general_eigenvalues, np.array([[1.0, 2.0], [0.5, 3.0]]), "np.linalg.eigh"),
])
def test_what_is_not_differentiated_yet_names_the_rewrite(f, arg, hint):
    with pytest.raises(SymdiffError) as info:
        symdiff.grad(f)(arg)
    assert "of a differentiated value" in str(info.value) and hint in info.value.hint
    assert info.value.lineno is not None


def constant_running_product(x):
    return np.sum(x * np.cumprod(np.array([1.0, 2.0])))


def test_of_constants_numpy_answers():
    assert np.array_equal(symdiff.grad(constant_running_product)(np.array([1.0, 1.0])), [1.0, 2.0])
