"""scipy.special.logsumexp (axis=, keepdims=, b=), softmax and log_softmax (axis=): how an ML
user writes a loss. The generated code shifts by the maximum (no overflow at 800); values agree
with scipy's to rounding, gradients and Hessians with the mpmath reference at 50 digits."""

import numpy as np
import pytest

scipy_special = pytest.importorskip("scipy.special")
from scipy.special import log_softmax, logsumexp, softmax  # noqa: E402

from symdiff import SymdiffError, emit, grad, hessian, value_and_grad  # noqa: E402

from .reference import mp_grad, mp_hessian  # noqa: E402

RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 4))
BIG = X * 300.0  # exp overflows at about 709: only a shifted computation survives


def check(f, *args, wrt=None):
    value, gradient = value_and_grad(f, wrt=wrt)(*args)
    want = f(*args)
    assert np.allclose(value, want, rtol=1e-13, atol=1e-13), (value, want)
    several = (wrt is None and len(args) > 1) or isinstance(wrt, tuple)
    gradients = gradient if several else (gradient,)
    for got, ref in zip(gradients, mp_grad(f, args, wrt=wrt)):
        ref = np.asarray(ref, dtype=float)
        assert np.shape(got) == np.shape(ref)
        assert np.all(np.isfinite(got))
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-12), (got, ref)


def lse_rows(x):
    return np.sum(logsumexp(x, axis=1) ** 2)


def lse_all(x):
    return logsumexp(x) * np.sum(x)


def lse_kept(x):
    return np.sum(logsumexp(x, axis=0, keepdims=True) * x)


def lse_axes(x):
    return logsumexp(x.reshape(3, 2, 2), axis=(0, 2))[1]


def lse_weighted(x, w):
    return np.sum(logsumexp(x, axis=1, b=w))


def lse_row_weights(x, w):
    return np.sum(logsumexp(x, axis=1, b=w[:, None]) * np.arange(3.0))


def soft(x):
    return np.sum(softmax(x, axis=1) * np.arange(4.0)) + np.sum(softmax(x) ** 2)


def log_soft(x):
    return -np.sum(log_softmax(x, axis=1)[:, 2]) + log_softmax(x, axis=0)[1, 1] + np.sum(log_softmax(x) * x)


def cross_entropy(logits, y):
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(3), y])


@pytest.mark.parametrize("f", [lse_rows, lse_all, lse_kept, lse_axes, soft, log_soft])
@pytest.mark.parametrize("x", [X, BIG], ids=["normal", "large"])
def test_gradients_match_the_reference(f, x):
    check(f, x)


def test_weights_b():
    w = np.abs(RNG.normal(size=(3, 4))) + 0.1
    check(lse_weighted, X, w)
    check(lse_row_weights, BIG, np.array([0.5, 1.0, 2.0]))


def test_cross_entropy_with_labels():
    y = np.array([2, 0, 3])
    check(cross_entropy, X, y, wrt="logits")
    check(cross_entropy, BIG, y, wrt="logits")


@pytest.mark.parametrize("f", [lse_rows, soft, log_soft])
def test_hessians(f):
    got = hessian(f)(X)
    ref = np.array(mp_hessian(f, (X,)), dtype=float).reshape(got.shape)
    assert np.allclose(got, ref, rtol=1e-8, atol=1e-9)


def test_generated_code_shifts_by_the_maximum():
    g = grad(lse_rows)
    g(X)
    assert "lse = _logsumexp(x, axis=1)" in g.source
    assert "shift = numpy.max(a, axis=axis, keepdims=True)" in g.source
    assert "scipy" not in g.source.split("def lse_rows_grad")[1]  # numpy only


def test_an_emitted_module_carries_the_helper(tmp_path):
    text = emit(lse_rows, args=(X,))
    namespace = {}
    exec(compile(text, "lse_module", "exec"), namespace)  # noqa: S102 - the module under test
    assert np.allclose(namespace["lse_rows_grad"](X), grad(lse_rows)(X), rtol=1e-15, atol=0)


def test_return_sign_is_refused_located():
    def f(x):
        return logsumexp(x, return_sign=True)[0]

    with pytest.raises(SymdiffError) as info:
        grad(f)(X[0])
    assert "return_sign" in str(info.value) and info.value.lineno is not None


def test_c_export_refuses_logsumexp_located():
    def f(x):
        return logsumexp(x)

    with pytest.raises(SymdiffError) as info:
        emit(f, language="c", args=(X[0],))
    assert "logsumexp" in str(info.value).lower()


def test_grad_of_grad_reads_the_generated_logsumexp():
    got = grad(grad(lse_rows))(X)
    ref = np.array(mp_hessian(lse_rows, (X,)), dtype=float).reshape(X.size, X.size).sum(axis=1)
    assert np.allclose(got.ravel(), ref, rtol=1e-8, atol=1e-9)
