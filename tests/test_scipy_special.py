"""scipy.special in differentiated code: the generated code calls scipy's own functions for
values (bit for bit what the user's code computes); derivatives are closed forms, checked
against mpmath at 50 digits (tests/reference.py), to second order."""

import numpy as np
import pytest

scipy_special = pytest.importorskip("scipy.special")
from scipy.special import expit, gammaln, xlogy  # noqa: E402

from symdiff import SymdiffError, emit, grad, hessian, value_and_grad  # noqa: E402

from .reference import mp_grad, mp_hessian  # noqa: E402

sp = scipy_special
V = np.array([0.5, 1.2, 2.0, 0.05])


def logistic_loss(w, X, y):
    p = expit(X @ w)
    return -np.mean(xlogy(y, p) + xlogy(1.0 - y, 1.0 - p))


def special_mix(x):
    return np.sum(np.log(sp.expit(x)) + gammaln(x + 2.0) + xlogy(x, x + 1.0) + sp.erf(x) * sp.erfc(x))


def scalar_mix(a, b):
    return sp.xlog1py(a, b) + sp.erfinv(0.5 * a) + sp.log_ndtr(b) + sp.i1(a) * sp.i0(b) + sp.logit(0.3 * b)


def gamma_family(x):
    return np.sum(sp.gamma(x) + sp.psi(x) * sp.polygamma(1, x) + sp.ndtr(x) ** 2)


def check(f, *args):
    value, gradient = value_and_grad(f)(*args)
    assert np.array_equal(value, f(*args))
    gradients = gradient if len(args) > 1 else (gradient,)
    for got, want in zip(gradients, mp_grad(f, args)):
        assert np.allclose(got, np.asarray(want, dtype=float), rtol=1e-10, atol=1e-12), (got, want)


def test_logistic_regression():
    rng = np.random.default_rng(8)
    X, y, w = rng.normal(size=(7, 3)), (rng.random(7) > 0.5).astype(float), rng.normal(size=3)
    value, g = value_and_grad(logistic_loss, wrt="w")(w, X, y)
    assert value == logistic_loss(w, X, y)
    want = np.asarray(mp_grad(logistic_loss, (w, X, y), wrt=["w"])[0], dtype=float)
    assert np.allclose(g, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f, args", [(special_mix, (V,)), (scalar_mix, (0.4, 0.7)),
                                     (scalar_mix, (-0.6, 1.5)), (gamma_family, (V + 0.5,))],
                         ids=["arrays", "scalars", "scalars_negative", "gamma_family"])
def test_special_functions(f, args):
    check(f, *args)


def test_second_derivatives():
    want = np.asarray(mp_hessian(special_mix, (V,)), dtype=float)
    assert np.allclose(hessian(special_mix)(V), want, rtol=1e-8, atol=1e-10)
    want = np.asarray(mp_hessian(scalar_mix, (0.4, 0.7)), dtype=float)
    assert np.allclose(hessian(scalar_mix)(0.4, 0.7), want, rtol=1e-8, atol=1e-10)


def test_the_generated_code_calls_scipy():
    g = grad(special_mix)
    g(V)
    assert "expit(x)" in g.source and "digamma(" in g.source  # gammaln's derivative


def test_export_refuses_scipy_with_a_located_error():
    with pytest.raises(SymdiffError, match="gammaln|expit|xlogy|erf"):
        emit(special_mix, args=(V,))
