"""``while`` loops on data (issue 13, second slice): the test and the body are traced once over
the carried values, kept as an ``ir.Loop`` with a condition; the gradient runs a forward
``while`` that pushes onto a list tape and counts its iterations, and a reverse loop over them.

Every gradient is compared with an independent reference: ``tests/reference.py``'s ``mp_grad``
(the user's source re-run over mpmath at 50 digits, differentiated by a central difference) or a
derivative written by hand (``sympy.diff`` of a closed form, or 1/(2 sqrt a)) — never with
symdiff's own output. Points lie on both sides of every data-dependent exit (0, 1 and many
iterations). A loop that could hang is run in a forked child with a timeout.
"""

import math
import re

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import SymdiffError, grad, hessian, value_and_grad
from symdiff.ir import Loop

from .isolated import ChildFailed, in_child
from .markers import marker_line
from .reference import close, mp_grad

HERE = __file__


def line_of(marker):
    return marker_line(HERE, marker)


def kept_as_a_while(g):
    """Whether the generated gradient keeps a while loop: a forward ``while True`` with a list
    tape or a count, and a reverse ``for`` over the count."""
    return ("while True:" in g.source
            and re.search(r"^\s+for \w+ in range\(\w+ - 1, -1, -1\):", g.source, re.MULTILINE))


def check(g, f, args, wrt=None, rtol=1e-10, atol=1e-12):
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = mp_grad(f, args, wrt)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert close(a, b, rtol=rtol, atol=atol), (args, got, want)


def iterations(f, *args):
    """How many times ``f``'s while loop runs at ``args`` (counted by running a copy of it that
    counts: the test's own evidence that the points cover 0, 1 and many iterations)."""
    count = 0

    def tracing(frame, event, arg):
        nonlocal count
        if event == "line" and frame.f_code is f.__code__ and frame.f_lineno == f._body_line:
            count += 1
        return tracing

    import sys
    old = sys.gettrace()
    sys.settrace(tracing)
    try:
        f(*args)
    finally:
        sys.settrace(old)
    return count


# ---- Newton's method for sqrt(a) ----
def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)  # NEWTON-BODY
    return x


newton_sqrt._body_line = line_of("NEWTON-BODY")


@pytest.mark.parametrize("a", [0.25, 0.5, 2.0, 3.7, 9.0, 123.456, 1e6])
def test_newtons_method_matches_the_derivative_of_sqrt(a):
    g = grad(newton_sqrt)
    assert kept_as_a_while(g)
    assert iterations(newton_sqrt, a) >= 1
    got = g(a)
    assert abs(got - 1 / (2 * math.sqrt(a))) <= 1e-10 * (1 / (2 * math.sqrt(a)))
    check(g, newton_sqrt, (a,), rtol=1e-9)


def test_newton_with_no_iteration_is_the_derivative_of_its_start():
    # at a = 1 the loop does not run: newton_sqrt is x = a there, whose derivative is 1
    assert iterations(newton_sqrt, 1.0) == 0
    assert grad(newton_sqrt)(1.0) == 1.0


def test_value_and_grad_of_newton():
    value, slope = value_and_grad(newton_sqrt)(2.0)
    assert value == newton_sqrt(2.0)
    assert abs(slope - 1 / (2 * math.sqrt(2.0))) < 1e-12


# ---- halving: 0, 1 and many iterations, against the closed form 2**-k by hand ----
def halve(x):
    y = x
    while y > 1:
        y = y / 2  # HALVE-BODY
    return y * y


halve._body_line = line_of("HALVE-BODY")


@pytest.mark.parametrize("x, k", [(0.5, 0), (-3.0, 0), (1.5, 1), (2.5, 2), (100.0, 7), (1e5, 17)])
def test_halving_on_both_sides_of_every_exit(x, k):
    assert iterations(halve, x) == k
    g = grad(halve)
    assert kept_as_a_while(g)
    t = sympy.Symbol("t")
    want = sympy.diff((t / 2**k) ** 2, t).subs(t, x)  # y = x / 2**k after k halvings
    assert close(g(x), want)
    check(g, halve, (x,))


# ---- Tangent's while_big ----
def while_big(a):
    while np.abs(a) > 1:
        a /= 2  # BIG-BODY
    return a


while_big._body_line = line_of("BIG-BODY")


@pytest.mark.parametrize("a", [0.5, -0.9, 1.7, -3.0, 40.0])
def test_tangents_while_big(a):
    g = grad(while_big)
    assert kept_as_a_while(g)
    check(g, while_big, (a,))


# ---- bisection: a step function of a, so its gradient is 0 ----
def bisect_sqrt(a):
    lo = 0.0
    hi = 4.0
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("a", [0.3, 2.0, 3.9])
def test_bisection_over_a_constant_bracket_has_gradient_zero(a):
    g = value_and_grad(bisect_sqrt)
    value, slope = g(a)
    assert value == bisect_sqrt(a)
    assert abs(value - math.sqrt(a)) < 1e-11
    assert slope == 0.0
    check(grad(bisect_sqrt), bisect_sqrt, (a,))  # the reference's central difference: 0 too


def bisect_from_a(a):
    lo = 0.0
    hi = a + 1.0  # the bracket moves with a: the result is hi's own share of a
    while hi - lo > 1e-12:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("a", [0.3, 2.0, 7.5])
def test_bisection_over_a_bracket_from_a_differentiates_the_arithmetic(a):
    # not 1/(2 sqrt a): the comparisons fix the path; what moves with a is the bracket
    g = grad(bisect_from_a)
    assert kept_as_a_while(g)
    check(g, bisect_from_a, (a,), rtol=1e-9)
    assert abs(g(a) - math.sqrt(a) / (a + 1.0)) < 1e-9  # the bracket's share, sqrt(a)/(a+1)


# ---- several carried values, parameters read in the body, a count, an if on data ----
def fixed_point(x0, b):
    x = x0
    previous = x0 + 1.0
    while abs(x - previous) > 1e-14:
        previous = x
        x = b * math.cos(x)
    return x


@pytest.mark.parametrize("point", [(0.3, 0.8), (1.0, 0.5), (-0.5, 0.9)])
def test_a_fixed_point_iteration(point):
    g = grad(fixed_point)
    assert kept_as_a_while(g)
    check(g, fixed_point, point, rtol=1e-8, atol=1e-10)
    # the fixed point x* = b cos x*: dx*/db = cos x* / (1 + b sin x*), x0 forgotten
    x, b = fixed_point(*point), point[1]
    assert abs(g(*point)[1] - math.cos(x) / (1 + b * math.sin(x))) < 1e-8


def counted(x, c):
    n = 0
    y = x
    while y < 10.0:
        if y > 2.0:
            y = y * c + 1.0
        else:
            y = y + math.sin(y) + 0.5
        n += 1
    return y * n + c


@pytest.mark.parametrize("point", [(12.0, 1.5), (9.5, 1.2), (3.0, 1.3), (0.2, 1.1), (1.9, 2.0)])
def test_a_count_and_an_if_on_data_inside(point):
    g = grad(counted)
    assert kept_as_a_while(g)
    check(g, counted, point)


def two_loops(a, b):
    x = a
    while x > 1.0:
        x = x / 3.0 + b * 0.1
    y = x * b
    while y < 5.0:
        y = y * 1.5 + x
    return x + y


@pytest.mark.parametrize("point", [(10.0, 2.0), (0.5, 8.0), (30.0, 0.4), (2.0, 5.0)])
def test_two_while_loops_in_sequence(point):
    check(grad(two_loops), two_loops, point)


def calls_a_helper(a):
    x = 1.0
    while x < a:
        x = _step(x)
    return x


def _step(x):
    return x * 1.1 + math.sqrt(x)


@pytest.mark.parametrize("a", [0.5, 2.0, 50.0])
def test_a_body_calling_a_helper(a):
    g = grad(calls_a_helper)
    # x starts at the constant 1.0 and never depends on a: the gradient is 0 (the comparison
    # with a fixes the trip count only)
    assert g(a) == 0.0
    check(g, calls_a_helper, (a,))


def loop_in_a_helper(a):
    return 2.0 * newton_sqrt(a) + a


def test_a_while_loop_inside_a_helper():
    g = grad(loop_in_a_helper)
    assert kept_as_a_while(g)
    check(g, loop_in_a_helper, (3.0,), rtol=1e-9)


def inside_a_for(x):
    total = 0.0
    for k in range(3):
        y = x + k
        while y > 1.0:
            y = y * 0.5
        total = total + y
    return total


@pytest.mark.parametrize("x", [0.1, 0.7, 5.0])
def test_a_while_inside_an_unrolled_for(x):
    check(grad(inside_a_for), inside_a_for, (x,))


def test_the_traced_program_holds_one_while_loop():
    from symdiff.frontend.parse import parse_function
    from symdiff.frontend.interpreter import trace

    program = trace(parse_function(newton_sqrt), rolled=True)
    loops = [item for item in program.body if isinstance(item, Loop)]
    assert len(loops) == 1 and loops[0].is_while
    assert len(loops[0].body) == 2  # a / x + x, 0.5 * that: traced once
    assert len(loops[0].test) == 1  # x * x - a, once
    assert loops[0].trip_count.free_symbols  # counted when it runs


def test_explain_shows_the_condition_the_body_once_and_the_recurrence():
    text = grad(newton_sqrt).explain()
    assert "while Abs(-a + x**2) > 1.0e-12:" in text
    assert "no derivative of the condition" in text
    assert "dx_1/da = 0.5/x" in text
    assert "read back from the tape" in text and "the last first" in text


# ---- break and continue on data ----
def breaks(x):
    while x > 1.0:
        if x < 3.0:
            break
        x = x / 2  # BREAKS-BODY
    return x * x


breaks._body_line = line_of("BREAKS-BODY")


@pytest.mark.parametrize("x, k", [(0.5, 0), (2.0, 0), (5.0, 1), (20.0, 3), (7.0, 2)])
def test_a_break_on_data(x, k):
    # k halvings ran before the break (or the test) stopped the loop: x * x / 4**k
    assert iterations(breaks, x) == k
    g = value_and_grad(breaks)
    assert g(x)[0] == breaks(x)
    assert kept_as_a_while(grad(breaks))
    t = sympy.Symbol("t")
    assert close(g(x)[1], sympy.diff((t / 2**k) ** 2, t).subs(t, x))
    check(grad(breaks), breaks, (x,))


def skips(x, c):
    y = x
    while y < 10.0:
        y = y + 1.0
        if y * c > 4.0:
            continue
        y = y * 1.5 + math.sin(c * y)
    return y * c


@pytest.mark.parametrize("point", [(0.5, 1.0), (12.0, 0.7), (-1.0, 0.3), (3.3, 2.5)])
def test_a_continue_on_data(point):
    g = value_and_grad(skips)
    assert g(*point)[0] == skips(*point)
    check(grad(skips), skips, point)


def breaks_after_a_count(a):
    x = a
    n = 0.0
    while abs(x * x - a) > 1e-14:
        x = 0.5 * (x + a / x)
        n += 1.0
        if n >= 3.0:
            break
    return x + n


@pytest.mark.parametrize("a", [1.0, 1.2, 2.0, 30.0])
def test_newton_stopped_after_three_steps(a):
    check(grad(breaks_after_a_count), breaks_after_a_count, (a,))


# ---- inside an 'if' on data, and after an early return ----
def under_an_if(x):
    if x > 0.0:
        while x > 1.0:
            x = x / 2
    return x


@pytest.mark.parametrize("x", [-3.0, 0.5, 1.5, 5.0, 300.0])
def test_a_while_inside_an_if_on_data(x):
    g = grad(under_an_if)
    assert kept_as_a_while(g)
    check(g, under_an_if, (x,))


def guarded_newton(a):
    if a < 0.0:
        return 0.0
    x = a + 1.0
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


@pytest.mark.parametrize("a", [-1.0, 0.3, 2.0, 50.0])
def test_a_while_after_an_early_return(a):
    g = value_and_grad(guarded_newton)
    value, slope = g(a)
    assert value == guarded_newton(a)
    want = 0.0 if a < 0 else 1 / (2 * math.sqrt(a))
    assert abs(slope - want) <= 1e-10 * max(want, 1e-300)
    check(grad(guarded_newton), guarded_newton, (a,), rtol=1e-9)


def test_explain_and_formulas_of_a_while_inside_an_if():
    # (formulas: was a located refusal; now its recurrence, tests/test_loop_formulas.py)
    g = grad(under_an_if)
    assert "while x_1 > 1.0:" in g.explain()
    recurrence, = g.formulas.recurrences
    assert recurrence.lineno == _while_line(under_an_if) and recurrence.stop is not None


# ---- a loop that does not end: as in Python (run in a child, with a timeout) ----
def never_ends(x):
    while x > 0.0:
        x = x + 1.0
    return x


def _build_and_call_below_zero():
    g = grad(never_ends)
    return g(-2.0), "while True:" in g.source


def _call_above_zero():
    return grad(never_ends)(2.0)


def test_a_loop_that_does_not_end_builds_and_hangs_only_where_python_does():
    assert in_child(_build_and_call_below_zero, timeout=120) == (1.0, True)
    with pytest.raises(ChildFailed, match="more than 3 s"):
        in_child(_call_above_zero, timeout=3)


# ---- a return inside: the loop ends there and the function returns that value ----
def returns(x):
    while x > 1.0:
        if x < 3.0:
            return x * 2.0
        x = x / 2  # RETURNS-BODY
    return x


returns._body_line = line_of("RETURNS-BODY")


@pytest.mark.parametrize("x, k, returned", [(0.5, 0, False), (0.99, 0, False), (1.01, 0, True), (2.0, 0, True),
                                            (5.0, 1, True), (20.0, 3, True), (7.0, 2, True)])
def test_a_return_inside_on_both_sides_of_every_exit(x, k, returned):
    # k halvings, then the return (2 x / 2**k: in the first iteration where k = 0) or the
    # condition (no iteration: x itself)
    assert iterations(returns, x) == k
    g = value_and_grad(returns)
    assert g(x)[0] == returns(x)
    assert kept_as_a_while(grad(returns))
    t = sympy.Symbol("t")
    closed = 2 * t / 2**k if returned else t
    assert close(g(x)[1], sympy.diff(closed, t).subs(t, x))
    check(grad(returns), returns, (x,))


def search(x, c):
    y = x
    while y < c:
        y = y * 1.5 + 0.1 * math.sin(c * y)
        if y * y > 10.0:
            return y - c
    return y * c


@pytest.mark.parametrize("point", [
    (3.0, 5.0),    # returns in the first iteration
    (0.5, 5.0),    # returns after four iterations
    (0.5, 1.0),    # the condition ends it after two iterations: the return is not taken
    (6.0, 5.0),    # no iteration
    (-0.5, 3.0),   # ... many iterations from a negative start, then the return
])
def test_a_return_or_the_condition_ends_it(point):
    g = value_and_grad(search)
    assert g(*point)[0] == search(*point)
    check(grad(search), search, point)


def then_more(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
        if x < b:
            return x * b + 1.0
    y = x * x * b
    while y > 1.0:  # a second loop, after the first, where it did not return
        y = y / 3.0 + 0.01 * b
    return y + x


@pytest.mark.parametrize("point", [(2.0, 0.7), (2.0, 1.45), (9.0, 2.9), (9.0, 4.0), (1.0, 3.0)])
def test_code_after_a_loop_that_may_return_runs_where_it_did_not(point):
    g = value_and_grad(then_more)
    assert g(*point)[0] == then_more(*point)
    check(grad(then_more), then_more, point, rtol=1e-9)


def bisect_returning(a):
    lo, hi = 0.0, 4.0
    while hi - lo > 1e-9:  # the first iteration traced on known numbers, the rest rolled
        mid = 0.5 * (lo + hi)
        if abs(mid * mid - a) < 1e-6:
            return mid * a
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return lo * a


@pytest.mark.parametrize("a", [4.0, 2.0, 1.0, 0.3, 3.0])
def test_a_return_in_the_first_known_iteration_and_in_the_rolled_rest(a):
    # a = 4: mid = 2 returns in the first iteration; a = 1: in the second; 2, 0.3, 3: later
    g = value_and_grad(bisect_returning)
    value, slope = g(a)
    assert value == bisect_returning(a)
    assert slope == value / a  # mid (or lo) is a step function of a: d(mid * a)/da = mid
    check(grad(bisect_returning), bisect_returning, (a,))


# ---- still refused: located, with what to do instead ----
def returns_and_breaks(x):
    while x > 1.0:  # RETURN-AND-BREAK
        if x < 3.0:
            return x * 2.0
        if x > 50.0:
            break
        x = x / 2
    return x


def assigned_only_inside(x):
    while x > 1.0:  # ONLY-INSIDE
        x = x / 2
        last = x
    return last


def while_else(x):
    while x > 1.0:  # WHILE-ELSE
        x = x / 2
    else:
        x = x + 1.0
    return x


def array_grows(x):
    v = np.array([x, 2.0 * x])
    while v[0] > 1.0:  # ARRAY
        v = np.concatenate([v, v]) / 2
    return np.sum(v)


REFUSED = [
    (assigned_only_inside, "ONLY-INSIDE", "'last' is first assigned in its body and read after it"),
    (while_else, "WHILE-ELSE", "its 'else' block is not supported"),
    (array_grows, "ARRAY", "nor an array of the shape it had before the loop"),  # (carried
    # arrays keep their shape: tests/test_while_arrays.py)
]


def _while_line(f):
    import inspect
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, text in enumerate(lines) if text.lstrip().startswith("while "))


@pytest.mark.parametrize("f, name, message", REFUSED, ids=[r[1] for r in REFUSED])
def test_still_refused_with_the_line_and_a_rewrite(f, name, message):
    with pytest.raises(SymdiffError) as info:
        grad(f)(5.0)
    err = info.value
    assert "a 'while' loop whose condition depends on a differentiated value" in str(err)
    assert message in str(err)
    assert err.filename == HERE and err.lineno == _while_line(f)
    assert err.source_line.strip().startswith("while ")
    assert "^" in str(err) and err.hint


def test_a_return_and_a_break_in_one_while_are_refused_at_the_if():
    with pytest.raises(SymdiffError) as info:
        grad(returns_and_breaks)(5.0)
    err = info.value
    assert "a 'return' and a 'break'" in str(err) and err.hint
    assert err.filename == HERE and err.lineno == line_of("RETURN-AND-BREAK") + 1


def two_parameters(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x * b


def test_second_derivatives_keep_it():
    # (every derivative keeps it, see tests/test_loop_jacobians.py; C export: test_c_while.py;
    # formulas: tests/test_loop_formulas.py) d^2 sqrt(a)/da^2 and d^3 sqrt(a)/da^3 at a = 2
    assert close(hessian(newton_sqrt)(2.0)[0, 0], -1 / (4 * 2.0 ** 1.5), rtol=1e-9)
    assert close(grad(grad(newton_sqrt))(2.0), -1 / (4 * 2.0 ** 1.5), rtol=1e-9)
    assert close(hessian(grad(newton_sqrt))(2.0)[0, 0], 3 / (8 * 2.0 ** 2.5), rtol=1e-8)


def test_an_emitted_python_module_keeps_the_loop(tmp_path):
    text = symdiff.emit(newton_sqrt)
    assert "while True:" in text and "_tape.append(x)" in text
    namespace = {}
    exec(compile(text, str(tmp_path / "m.py"), "exec"), namespace)
    assert abs(namespace["newton_sqrt_grad"](2.0) - 1 / (2 * math.sqrt(2.0))) < 1e-12


def test_grad_wrt_a_parameter_the_loop_only_reads():
    g = grad(two_parameters, wrt="b")
    check(g, two_parameters, (2.0, 3.0), wrt="b")


# ---- for over range() of an int computed from data ----
def range_of_int(x):
    total = x
    for k in range(1, int(x) + 3):
        total = total * x + k * 0.1
    return total


@pytest.mark.parametrize("x", [-5.5, -2.5, 0.3, 1.7, 4.2])
def test_a_range_of_an_int_of_data(x):
    # int(x) + 2 - 1 iterations where positive: -5.5 runs none, -2.5 none, 0.3 one, 4.2 five
    g = value_and_grad(range_of_int)
    assert g(x)[0] == range_of_int(x)
    assert kept_as_a_while(grad(range_of_int))
    check(grad(range_of_int), range_of_int, (x,))


def floor_steps(x, c):
    n = int(x * 3.0)
    y = c
    for k in range(n):
        y = y * 0.9 + math.sin(y) * c
    return y


@pytest.mark.parametrize("point", [(-1.0, 0.5), (0.2, 0.5), (0.4, 1.2), (3.1, 0.8)])
def test_a_range_of_a_name_bound_to_an_int_of_data(point):
    check(grad(floor_steps), floor_steps, point)
