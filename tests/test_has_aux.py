"""has_aux=True, as in JAX: ``f`` returns ``(value, aux)``; ``grad`` returns ``(gradient, aux)``
and ``value_and_grad`` ``((value, aux), gradient)``, the auxiliary values computed by the same
generated code (its own values are checked against ``f`` itself, gradients against mpmath)."""

import math

import numpy as np
import pytest

from symdiff import SymdiffError, grad, value_and_grad

from .reference import mp_grad


def with_metrics(x, y):
    loss = x * x * y + math.sin(y)
    return loss, {"pred": x * 2.0, "extra": [y, 3.0], "ratio": x / y}


def loss_only(x, y):
    return with_metrics(x, y)[0]


def linear(w, X, y):
    residual = X @ w - y
    return np.mean(residual ** 2), (residual, np.max(np.abs(residual)))


def linear_loss(w, X, y):
    return linear(w, X, y)[0]


def same_aux(got, want):
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            same_aux(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want)
        for a, b in zip(got, want):
            same_aux(a, b)
    else:
        assert np.array_equal(got, want)


@pytest.mark.parametrize("args", [(1.5, 2.0), (-0.3, 0.7)])
def test_grad_and_value_and_grad_with_aux(args):
    gradient, aux = grad(with_metrics, has_aux=True)(*args)
    same_aux(aux, with_metrics(*args)[1])
    want = [float(w) for w in mp_grad(loss_only, args)]
    assert np.allclose(gradient, want, rtol=1e-12)
    (value, aux), gradient = value_and_grad(with_metrics, has_aux=True)(*args)
    assert value == with_metrics(*args)[0]
    same_aux(aux, with_metrics(*args)[1])
    assert np.allclose(gradient, want, rtol=1e-12)


def test_arrays_with_aux():
    rng = np.random.default_rng(4)
    w, X, y = rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5)
    gradient, aux = grad(linear, wrt="w", has_aux=True)(w, X, y)
    same_aux(aux, linear(w, X, y)[1])
    want = np.asarray(mp_grad(linear_loss, (w, X, y), wrt=["w"])[0], dtype=float)
    assert np.allclose(gradient, want, rtol=1e-10)


def test_aux_needs_a_pair():
    def single(x):
        return x * x

    with pytest.raises(SymdiffError, match="not a pair") as info:
        grad(single, has_aux=True)(1.0)
    assert info.value.lineno == single.__code__.co_firstlineno + 1


def reads_a_dict(x):
    parts = {"square": x * x, "cube": x ** 3}
    return parts["square"] + sum(v for v in parts.values())


def test_a_dict_display_is_read():
    assert grad(reads_a_dict)(1.5) == pytest.approx(2 * 2 * 1.5 + 3 * 1.5 ** 2, rel=1e-15)
