"""A branch that ends the function is tested once (issue 12, "Also mend": "a branch condition is
tested twice and the reverse arm recomputes ``math.exp(-x)`` from the forward arm"): its reverse
arms continue its forward arms, in one ``if``, and reuse what they computed; a value both arms
compute for the code after the ``if`` is assigned to one name in each arm (``x_bar = ...``), not
copied (``x_bar_2 = x_bar``). Checked against mpmath at 50 digits on both sides of the branch and
at it, in Python and C."""

import math

import mpmath

import symdiff
from symdiff import grad, value_and_grad

from .reference import close
from .test_c_arrays import c_gradient
from .test_c_code import compile_library


def sigmoid(x):
    if x > 0:
        return 1 / (1 + math.exp(-x))
    z = math.exp(x)
    return z / (1 + z)


def _mp_sigmoid_slope(x):
    with mpmath.workdps(50):
        return float(mpmath.diff(lambda t: 1 / (1 + mpmath.exp(-t)), mpmath.mpf(x)))


POINTS = (2.5, 0.3, 0.0, -0.0, -0.3, -4.0)


def _body(source):
    return [line.strip() for line in source.splitlines()[2:] if not line.strip().startswith("#")]


def test_the_condition_is_tested_once_and_exp_computed_once():
    g = grad(sigmoid)
    body = _body(g.source)
    assert body.count("if x > 0:") == 1 and body.count("else:") == 1
    assert sum("math.exp(-x)" in line for line in body) == 1
    assert sum(line.startswith("x_bar = ") for line in body) == 2 and body[-1] == "return x_bar"
    assert not any(line.startswith("x_bar_") for line in body)  # no copies into a merged name
    for x in POINTS:
        assert close(g(x), _mp_sigmoid_slope(x), rtol=1e-14), x
        value, slope = value_and_grad(sigmoid)(x)
        assert slope == g(x) and close(value, 1 / (1 + math.exp(-x)), rtol=1e-15)


def test_the_c_condition_is_tested_once(tmp_path):
    text = symdiff.emit(sigmoid, language="c")
    grad_function = text.split("double sigmoid_grad(double x)\n{")[1].split("\n}")[0]
    code = [line for line in grad_function.splitlines() if not line.strip().startswith("/*")]
    assert sum("if (x > 0)" in line for line in code) == 1 and sum("exp(-x)" in line for line in code) == 1
    library = compile_library(tmp_path, {"sigmoid": text})
    for x in POINTS:
        gradient, (value, again) = c_gradient(library, sigmoid, (x,))
        assert close(gradient, _mp_sigmoid_slope(x), rtol=1e-14) and again == gradient, x


def branch_then_more(x):
    if x > 1.0:
        y = math.exp(-x)
    else:
        y = x * x
    return y * math.sin(x)  # not the end: the reverse arms come after this line's adjoint


def test_a_branch_before_more_code_still_gives_the_right_gradient():
    g = grad(branch_then_more)
    for x in (2.0, 1.0, 0.5, -1.5):
        with mpmath.workdps(50):
            f = (lambda t: mpmath.exp(-t) * mpmath.sin(t)) if x > 1.0 else (lambda t: t * t * mpmath.sin(t))
            want = float(mpmath.diff(f, mpmath.mpf(x)))
        assert close(g(x), want, rtol=1e-14), x


def exp_or_log(x):
    if x < 0:
        return math.exp(x)  # its derivative is its value: one name may not hold both
    y = x * x + 1
    return math.log(y) + 1


def _mp_exp_or_log(t):
    return mpmath.exp(t) if t < 0 else mpmath.log(t * t + 1) + 1


def test_a_value_and_a_gradient_that_are_one_name_in_an_arm_stay_apart(tmp_path):
    vg = value_and_grad(exp_or_log)
    library = compile_library(tmp_path, {"exp_or_log": symdiff.emit(exp_or_log, language="c")})
    for x in (-1.5, -0.25, 0.0, 1.2):
        with mpmath.workdps(50):
            want_value = float(_mp_exp_or_log(mpmath.mpf(x)))
            t = mpmath.mpf(x)  # the branch Python takes at x (at 0: the log one), differentiated
            want_slope = float(mpmath.exp(t) if x < 0 else 2 * t / (t * t + 1))
        value, slope = vg(x)
        assert close(value, want_value, rtol=1e-15) and close(slope, want_slope, rtol=1e-14), x
        gradient, (c_value, again) = c_gradient(library, exp_or_log, (x,))
        assert close(c_value, want_value, rtol=1e-15) and close(gradient, want_slope, rtol=1e-14), x
        assert again == gradient
