"""np.linalg.svd (singular values, compute_uv=False) and np.linalg.pinv (issue 14): the adjoints
``U diag(s̄) Vᵀ`` and Golub-Pereyra's, checked against the mpmath reference at 50 digits (the
singular values by mpmath.svd_r, the pseudo-inverse of a full-rank matrix as (AᵀA)⁻¹Aᵀ)."""

import numpy as np
import pytest

from symdiff import SymdiffError, grad, hessian, value_and_grad

from .reference import mp_grad, mp_hessian

RNG = np.random.default_rng(21)
TALL = RNG.normal(size=(4, 3))
WIDE = RNG.normal(size=(2, 5))


def check(f, *args):
    value, gradient = value_and_grad(f)(*args)
    assert np.allclose(value, f(*args), rtol=1e-13, atol=1e-14)
    gradients = gradient if len(args) > 1 else (gradient,)
    for got, ref in zip(gradients, mp_grad(f, args)):
        assert np.allclose(got, np.asarray(ref, dtype=float), rtol=1e-9, atol=1e-11), (got, ref)


def nuclear(A):
    return np.sum(np.linalg.svd(A, compute_uv=False))


def weighted_singular_values(A):
    s = np.linalg.svd(A, compute_uv=False)
    return s[0] ** 2 - 3.0 * s[-1] + np.sum(np.log(s))


def pinv_terms(A):
    P = np.linalg.pinv(A)
    return np.sum(P * P) + np.sum(np.sin(P @ A))


def least_squares(A, b):
    return np.sum((np.linalg.pinv(A) @ b) ** 2)


@pytest.mark.parametrize("f", [nuclear, weighted_singular_values, pinv_terms])
@pytest.mark.parametrize("A", [TALL, WIDE, TALL.T.copy()], ids=["tall", "wide", "tall_T"])
def test_against_the_reference(f, A):
    check(f, A)


def test_least_squares_in_both_arguments():
    check(least_squares, TALL, RNG.normal(size=4))


def test_pinv_hessian():
    got = hessian(pinv_terms)(WIDE)
    ref = np.array(mp_hessian(pinv_terms, (WIDE,)), dtype=float).reshape(got.shape)
    assert np.allclose(got, ref, rtol=1e-7, atol=1e-8)


def test_full_svd_is_refused_located():
    def f(A):
        U, s, Vt = np.linalg.svd(A)
        return np.sum(s)

    with pytest.raises(SymdiffError) as info:
        grad(f)(TALL)
    assert "compute_uv=False" in str(info.value) and info.value.lineno == f.__code__.co_firstlineno + 1


def test_second_derivatives_of_singular_values_are_refused():
    with pytest.raises(SymdiffError, match="second derivatives through np.linalg.svd"):
        hessian(nuclear)(TALL)
