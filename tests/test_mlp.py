"""The README's two-layer network written as a JAX user writes it (issue 14): ``params`` a dict of
arrays, integer labels picked with ``logp[np.arange(n), y]``, the log-softmax through
``scipy.special.logsumexp(..., axis=1, keepdims=True)``. The gradient is checked against a
hand-written numpy backprop (written here, independently) and, on a small instance, against the
mpmath reference at 50 digits."""

import numpy as np
import pytest

pytest.importorskip("scipy.special")
from scipy.special import logsumexp  # noqa: E402

from symdiff import grad, value_and_grad  # noqa: E402

from .reference import mp_grad  # noqa: E402


def mlp_loss(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    logp = logits - logsumexp(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(X.shape[0]), y])


def init(rng, sizes):
    (d, k), (_, c) = sizes
    return {"W1": rng.normal(size=(d, k)) / np.sqrt(d), "b1": rng.normal(size=k) * 0.1,
            "W2": rng.normal(size=(k, c)) / np.sqrt(k), "b2": rng.normal(size=c) * 0.1}


def backprop(params, X, y):
    """The gradient of mlp_loss by hand: forward, softmax minus one-hot, back through tanh."""
    n = X.shape[0]
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    dlogits = p.copy()
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    dh = dlogits @ params["W2"].T
    da = dh * (1.0 - h * h)
    return {"W1": X.T @ da, "b1": da.sum(axis=0), "W2": h.T @ dlogits, "b2": dlogits.sum(axis=0)}


def test_the_gradient_is_the_backprop():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 8)), rng.integers(0, 4, size=50)
    params = init(rng, ((8, 16), (16, 4)))
    g = grad(mlp_loss, wrt="params")(params, X, y)
    want = backprop(params, X, y)
    assert type(g) is dict and list(g) == ["W1", "b1", "W2", "b2"]
    for key in want:
        assert g[key].shape == params[key].shape
        assert np.allclose(g[key], want[key], rtol=1e-12, atol=1e-14), key
    value, _ = value_and_grad(mlp_loss, wrt="params")(params, X, y)
    assert np.isclose(value, mlp_loss(params, X, y), rtol=1e-14, atol=0)


def test_large_logits_stay_finite():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 5)) * 50.0, rng.integers(0, 3, size=20)
    params = init(rng, ((5, 6), (6, 3)))
    params["W2"] *= 400.0  # logits of thousands: exp overflows unless shifted
    g = grad(mlp_loss, wrt="params")(params, X, y)
    want = backprop(params, X, y)
    for key in want:
        assert np.all(np.isfinite(g[key]))
        assert np.allclose(g[key], want[key], rtol=1e-10, atol=1e-12), key


X_SMALL = np.array([[0.3, -1.1, 0.8], [1.4, 0.2, -0.5], [-0.7, 0.9, 0.1], [0.05, -0.3, 1.2]])
Y_SMALL = np.array([0, 2, 1, 2])


def flat_loss(W1, b1, W2, b2):
    return mlp_loss({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, X_SMALL, Y_SMALL)


def test_a_small_instance_against_mpmath():
    params = init(np.random.default_rng(2), ((3, 4), (4, 3)))
    g = grad(mlp_loss, wrt="params")(params, X_SMALL, Y_SMALL)
    reference = mp_grad(flat_loss, tuple(params.values()))
    for key, want in zip(params, reference):
        assert np.allclose(g[key], np.asarray(want, dtype=float), rtol=1e-12, atol=1e-14), key
