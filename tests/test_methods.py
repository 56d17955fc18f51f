"""Methods: ``grad(model.loss)`` differentiates a bound method's explicit arguments; the object's
attributes are read when the gradient runs (numbers and arrays: each call sees their current
values; ints and other values: guarded, the method traced again when they change); methods it
calls (``self.forward(x)``) are inlined. References: mpmath at 50 digits of the same computation
written by hand (tests/reference.py)."""

import numpy as np
import pytest

from symdiff import SymdiffError, grad, value_and_grad

from .reference import mp_grad

RNG = np.random.default_rng(3)


class Model:
    def __init__(self, W, scale):
        self.W = W
        self.scale = scale
        self.depth = 2

    def forward(self, x):
        h = x
        for _ in range(self.depth):
            h = np.tanh(self.W @ h)
        return h

    def loss(self, x, y):
        return self.scale * np.sum((self.forward(x) - y) ** 2)


MODEL = Model(RNG.normal(size=(3, 3)), 0.5)


def by_hand(x, y):  # the reference: the same computation, on MODEL's attributes now
    h = x
    for _ in range(MODEL.depth):
        h = np.tanh(MODEL.W @ h)
    return MODEL.scale * np.sum((h - y) ** 2)


def reference(x, y):
    return np.asarray(mp_grad(by_hand, (x, y))[0], dtype=float)


def test_a_bound_method_and_the_attributes_it_reads_at_each_call():
    x, y = RNG.normal(size=3), RNG.normal(size=3)
    g = grad(MODEL.loss, wrt="x")
    assert np.allclose(g(x, y), reference(x, y), rtol=1e-10)
    value, _ = value_and_grad(MODEL.loss, wrt="x")(x, y)
    assert value == MODEL.loss(x, y)
    saved = MODEL.W, MODEL.scale, MODEL.depth
    try:
        MODEL.W = MODEL.W * 2.0  # rebound
        MODEL.scale = 3.0
        assert np.allclose(g(x, y), reference(x, y), rtol=1e-10)
        MODEL.W *= 0.5  # changed in place
        assert np.allclose(g(x, y), reference(x, y), rtol=1e-10)
        MODEL.depth = 3  # an int the trace used as a count: traced again
        assert np.allclose(g(x, y), reference(x, y), rtol=1e-10)
    finally:
        MODEL.W, MODEL.scale, MODEL.depth = saved


def test_the_generated_code_takes_the_attributes_as_trailing_arguments():
    g = grad(MODEL.loss, wrt="x")
    g(np.ones(3), np.zeros(3))
    assert g.source.startswith("def loss_grad(x, y, scale, W):")


class Calls:
    factor = 2.0  # a class attribute is no attribute of the object (vars): refused, located

    def __init__(self):
        self.offset = 0.25

    def f(self, x):
        return (x + self.offset) ** 2 * self.factor


def module_function_calling_a_method(x):
    return HELPER.f(x) + x


HELPER = Calls()


def test_a_function_calling_a_method_of_an_object():
    HELPER.offset = 0.25
    with pytest.raises(SymdiffError, match="factor") as info:
        grad(module_function_calling_a_method)(1.0)
    assert info.value.lineno == Calls.f.__code__.co_firstlineno + 1


class Plain:
    def __init__(self):
        self.offset = 0.25

    def f(self, x):
        return (x + self.offset) ** 2


PLAIN = Plain()


def calls_plain(x):
    return PLAIN.f(x) + x


def test_a_module_function_calling_a_method_reads_its_attributes_at_call():
    assert grad(calls_plain)(1.0) == pytest.approx(2 * 1.25 + 1)
    PLAIN.offset = 1.0
    assert grad(calls_plain)(1.0) == pytest.approx(2 * 2.0 + 1)
    g = grad(calls_plain)
    PLAIN.offset = 0.5
    assert g(1.0) == pytest.approx(2 * 1.5 + 1)
    PLAIN.offset = -0.5
    assert g(1.0) == pytest.approx(2 * 0.5 + 1)
