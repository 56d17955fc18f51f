"""The generated code reads like what a careful person would write (issue 12, "Also mend in the
generated code"): exact text of small functions' gradients, one test per mend."""

import math
import re

import mpmath
import numpy as np

import symdiff
from symdiff import grad

from .reference import close
from .test_c_arrays import c_gradient
from .test_c_code import compile_library


def _body(source):
    """The generated function's lines, without its docstring and comments."""
    return [line.strip() for line in source.splitlines()[2:] if not line.strip().startswith("#")]


def times_float_one(x):
    p = 0.5 * 2.0 * math.sin(x)
    return p * x


def test_a_multiplication_by_float_one_is_not_printed():
    g = grad(times_float_one)
    assert _body(g.source) == [
        "p = math.sin(x)",
        "_t0 = math.cos(x)",
        "_t1 = _t0*x",
        "x_bar = p + _t1",
        "return x_bar",
    ]
    assert g(0.7) == math.sin(0.7) + math.cos(0.7) * 0.7


def times_one_kept(x):
    return 1.0 * x * x


def test_one_times_a_parameter_is_kept():
    # 1.0*x turns an int into a float: an exported module may be called with one
    assert "1.0*x" in grad(times_one_kept).source


def shifted_cube(x):
    return (x + 1.0) ** 3 * math.exp(x)


def test_a_forward_value_with_a_whole_float_is_computed_once():
    g = grad(shifted_cube)
    body = _body(g.source)
    assert body.count("_t0 = x + 1.0") == 1
    assert not any("x + 1" in line and "x + 1.0" not in line for line in body)
    assert len(body) == 8  # it was 9: _t3 = x + 1 and its cube again
    x = 0.3
    assert g(x) == (x + 1.0) ** 3 * math.exp(x) + 3.0 * math.exp(x) * ((x + 1.0) * (x + 1.0))


def layer(W, b, x):
    h = np.tanh(W @ x + b)
    return np.sum(h * h)


def test_a_bias_gradient_is_named_after_the_bias():
    W, b, x = np.full((2, 3), 0.1), np.full(2, 0.2), np.ones(3)
    g = grad(layer, wrt=("W", "b"))
    dW, db = g(W, b, x)
    body = _body(g.source)
    assert body[-3:] == ["b_bar = (h*2)*(1 - h**2)", "W_bar = numpy.outer(b_bar, x)",
                         "return (W_bar, b_bar)"]
    assert "matmul_bar" not in g.source
    h = np.tanh(W @ x + b)
    assert np.array_equal(db, (h * 2) * (1 - h**2)) and np.array_equal(dW, np.outer(db, x))
    text = symdiff.emit(layer, wrt=("W", "b"), args=(W, b, x))
    assert "return (W_bar, b_bar)" in text and "matmul_bar" not in text


def larger_times(x, y):
    return max(x, y) * x


def test_the_c_step_is_one_helper_call(tmp_path):
    import ctypes

    from symdiff.backends.c_code import HELPERS

    from .test_c_code import compile_library

    text = symdiff.emit(larger_times, language="c")
    assert "const double _t2 = symdiff_heaviside(_t1);" in text
    assert "? 0.0 :" not in text  # no nested ternaries
    assert text.count("static double symdiff_heaviside(double x)") == 1
    step = "#include <math.h>\n" + HELPERS["heaviside"].format(name="symdiff_heaviside") + \
        "double step_at(double x) { return symdiff_heaviside(x); }\n"
    library = compile_library(tmp_path, {"step": step})
    library.step_at.restype = ctypes.c_double
    library.step_at.argtypes = [ctypes.c_double]
    for x, want in ((2.0, 1.0), (-3.0, 0.0), (0.0, 0.5), (-0.0, 0.5), (math.inf, 1.0), (-math.inf, 0.0)):
        assert library.step_at(x) == want
    assert math.isnan(library.step_at(math.nan))


def shifted_product(a, b):
    x = a * b
    for i in range(11):
        x = x + 1.0
    return math.sin(x)


def test_the_one_adjoint_of_a_reassigned_variable_is_named_after_it():
    g = grad(shifted_product)
    body = _body(g.source)
    assert body[-4:] == ["x_bar = math.cos(x_11)", "a_bar = b*x_bar", "b_bar = a*x_bar",
                         "return (a_bar, b_bar)"]
    assert "x_11_bar" not in g.source
    a, b = 0.3, 0.7
    x = a * b
    for _ in range(11):
        x = x + 1.0
    assert g(a, b) == (b * math.cos(x), a * math.cos(x))


def test_adjoints_of_several_surviving_versions_keep_their_names():
    body = _body(grad(looped_sine).source)
    assert [line for line in body if "_bar =" in line] == [
        "x_1_bar = _t4 + _t2", "x_bar = _t7*x_1_bar", "a_bar = _t10*x_bar"]


def looped_sine(a):
    x = a
    for i in range(3):
        x = math.sin(x) * x
    return x


def early_return_in_a_loop(x):
    for i in range(4):
        x = math.sin(x) * x + 0.5
        if x > 1.5:
            return x * x
    return x


def _exit_of(x):
    for i in range(4):
        x = math.sin(x) * x + 0.5
        if x > 1.5:
            return i + 1
    return 0


def _mp_early_return(t):
    for _ in range(4):
        t = mpmath.sin(t) * t + mpmath.mpf("0.5")
        if t > mpmath.mpf("1.5"):
            return t * t
    return t


def test_an_early_return_in_a_loop_computes_each_value_once_and_copies_no_adjoint(tmp_path):
    """The ``returned`` flag is tested in the forward code and again in the reverse; the reverse
    arm reads what the forward arm on the same flag computed (``math.sin`` once per iteration,
    not again for its derivative), and an adjoint one arm computes is assigned to the merged
    name there (no ``x_6_bar_1 = x_6_bar``). Checked against mpmath at 50 digits at points
    leaving the loop at each of its four iterations and after it, in Python and C."""
    g = grad(early_return_in_a_loop)
    body = _body(g.source)
    assert sum(line.count("math.sin(") for line in body) == 4
    assert sum(line.count("math.cos(") for line in body) == 4
    copies = [line.split(" = ") for line in body if re.fullmatch(r"\w+_bar\w* = \w+_bar\w*", line)]
    assert copies and not [(a, b) for a, b in copies if a.startswith(b + "_")]  # x_6_bar_1 = x_6_bar
    library = compile_library(tmp_path, {"early_return_in_a_loop": symdiff.emit(early_return_in_a_loop, language="c")})
    exits = set()
    for x in (-2.0, -1.0, -0.7, -0.45, 0.0, 0.2, 0.45, 0.7, 1.0, 2.0):
        exits.add(_exit_of(x))
        with mpmath.workdps(50):
            want = float(mpmath.diff(_mp_early_return, mpmath.mpf(x)))
        assert close(g(x), want, rtol=1e-13), x
        gradient, _ = c_gradient(library, early_return_in_a_loop, (x,))
        assert close(gradient, want, rtol=1e-13), x
    assert exits == {0, 1, 2, 3, 4}
