"""``symdiff.grad`` called inside a differentiated function: traced through, as grad(grad(f)).

Against the mpmath reference, which re-runs the same source with ``grad`` as a nested
``mpmath.diff`` (never symdiff's own derivative). The cases in autograd's shapes (a lambda closing
over the outer argument, a gradient made at module level and called inside, value_and_grad,
arrays) are in ``tests/corpus_autograd.py``; here: nesting twice, loops, branches on both sides,
Hessians, C export, and the refusals.
"""

import math

import numpy as np
import pytest

import symdiff
from symdiff import grad, hessian, value_and_grad
from symdiff.errors import UnsupportedSyntaxError

from .reference import close, mp_grad, mp_hessian


def cube(t):
    return t ** 3


def nested_twice(x):
    d = grad(lambda u: grad(cube)(u) * u)(x)  # d/du (3 u^2 u) = 9 u^2
    return d * x


def in_a_loop(x):
    s = 0.0
    for k in range(3):
        s = s + grad(lambda y: math.sin(k * y))(x)
    return s


def kinked(a, b):
    if a > b:
        return a * a * b
    return math.exp(a - b)


def through_a_branch(a, b):
    ga, gb = grad(kinked)(a, b)
    v, gv = value_and_grad(kinked, wrt="b")(b, a)
    return ga * gb + v * gv


def power(t, k=2.0):
    return t ** k


def defaults_and_branches(x):
    if x > 0:
        return grad(power, wrt="t")(x) * x  # k's default, read as Python reads it
    return grad(lambda u: math.exp(u))(x)


def in_a_long_loop(x):  # 40 iterations: a loop kept as a loop, the inner gradient in its body
    s = 0.0
    for i in range(40):
        s = s + grad(power, wrt=0)(x * 0.01 * i, 3.0)
    return s


def recursive(x, n):
    if n == 0:
        return x
    return grad(lambda u: recursive(u, n - 1) * u)(x)


def of_primitives(x):
    return grad(math.sin)(x) * grad(np.tanh)(x * 2.0)


def gradient_of_a_gradient(x):
    return grad(grad(power, wrt="t"), wrt="t")(x, 3.0) + grad(power, wrt="t")(x, k=2.5)


def keyword_wrt(x, y):
    return grad(kinked, wrt=("b", "a"))(x * y, y)[1] * x


@pytest.mark.parametrize("f, point", [
    (nested_twice, (0.7,)), (nested_twice, (-1.3,)), (in_a_loop, (0.4,)),
    (through_a_branch, (1.0, 0.5)), (through_a_branch, (0.2, 0.9)),  # both arms of 'a > b'
    (keyword_wrt, (1.5, 0.5)), (keyword_wrt, (0.5, 1.5)),
    (defaults_and_branches, (0.7,)), (defaults_and_branches, (-0.7,)), (in_a_long_loop, (0.5,)),
    (of_primitives, (0.3,)), (gradient_of_a_gradient, (0.4,)),
])
def test_gradient_through_a_nested_gradient(f, point):
    got = grad(f)(*point)
    got = got if isinstance(got, tuple) else (got,)
    for g, want in zip(got, mp_grad(f, point)):
        assert close(g, want, rtol=1e-10), (g, want)


def test_recursion_through_nested_gradients():
    assert close(grad(recursive, wrt="x")(0.9, 2), mp_grad(recursive, (0.9, 2), wrt="x")[0])


def test_hessian_and_c_export_of_a_nested_gradient():
    assert close(hessian(in_a_loop)(0.4)[0][0], mp_hessian(in_a_loop, (0.4,))[0][0], rtol=1e-9)
    text = symdiff.emit(in_a_loop, language="c")
    assert "double in_a_loop_grad(double x)" in text


def with_keywords(x):
    return grad(cube, has_aux=True)(x)


def of_a_list(x):
    return grad(lambda v: v[0] * v[1])([x, 2.0])


def returns_an_array(x):
    return np.sum(grad(lambda v: v * 2.0)(np.array([x, x])))


@pytest.mark.parametrize("f, words", [
    (with_keywords, "arguments other than the function and wrt="),
    (of_a_list, "a list argument"),
    (returns_an_array, "does not return one number"),
])
def test_what_is_refused_is_located_at_the_call(f, words):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(f)(0.5)
    assert words in info.value.message
    assert info.value.filename == __file__ and info.value.lineno is not None
    assert "symdiff.grad inside a differentiated function" in str(info.value)


def test_value_and_grad_inside_returns_the_value_first():
    def f(x):
        value, slope = value_and_grad(cube)(x)
        return value + slope

    assert close(grad(f)(2.0), 3 * 4.0 + 6 * 2.0)  # d/dx (x^3 + 3x^2) = 3x^2 + 6x, written by hand


def test_grad_of_a_known_primitive():
    """grad(np.tanh), grad(math.sin): a one-line Python function calling the primitive, whose
    source symdiff reads (autograd's tests differentiate numpy's functions themselves)."""
    assert close(grad(np.tanh)(0.5), 1 - math.tanh(0.5) ** 2)
    assert close(grad(math.sin)(0.5), math.cos(0.5))
    assert grad(np.arctan2)(0.5, 2.0) == pytest.approx((2.0 / 4.25, -0.5 / 4.25), rel=1e-15)
    assert close(grad(grad(np.tanh))(0.3), -2 * math.tanh(0.3) * (1 - math.tanh(0.3) ** 2))
    assert "return numpy.tanh(x)" in grad(np.tanh).source
