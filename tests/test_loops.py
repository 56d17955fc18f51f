"""Rolled loops (issue 13, first slice): a long ``for i in range(...)`` is traced once, kept as
an ``ir.Loop``, and its gradient runs a forward loop with a tape and a reverse loop.

Every gradient is compared with the independent reference (``tests/reference.py``: the user's
source re-run over mpmath at 50 digits), never with symdiff's own output.
"""

import builtins
import math
import re
import time

import numpy as np
import pytest

import symdiff
from symdiff import SymdiffError, grad, hessian, jacobian, value_and_grad
from symdiff.frontend.loops import ROLL_THRESHOLD
from symdiff.ir import Loop

from .reference import close, mp_grad, mp_hessian, mp_jacobian, mp_value


def rolled(g):
    """Whether the generated gradient keeps a loop (a forward and a reverse ``for``)."""
    return bool(re.search(r"^\s+for \w+ in range\((\d+|\w+ - 1), -1, -1\):", g.source,
                          re.MULTILINE))


def check(g, f, args, wrt=None, rtol=1e-10):
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = mp_grad(f, args, wrt)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        a, b = np.ravel(a), np.ravel(np.asarray(b, dtype=float))
        assert a.shape == b.shape and all(close(u, v, rtol=rtol) for u, v in zip(a, b)), (args, got, want)


# ---- scalar recurrences ----
def recurrence(x, a):
    for i in range(200):
        x = x * a + math.sin(x) * 0.1
    return x


@pytest.mark.parametrize("point", [(0.3, 0.9), (-0.7, 0.95), (1.5, -0.8), (0.0, 0.5)])
def test_scalar_recurrence(point):
    g = grad(recurrence)
    check(g, recurrence, point)
    assert rolled(g)


def sin_recurrence(x, a):
    for i in range(100):
        x = x * a + math.sin(x)
    return x


@pytest.mark.parametrize("point", [(0.3, 0.5), (-1.2, 0.3)])
def test_the_issue_recurrence(point):
    g = grad(sin_recurrence)
    check(g, sin_recurrence, point, rtol=1e-9)
    assert rolled(g)


def lorenz(x, y, z, s, r, b, T):
    dt = 0.001
    for _ in range(T):
        dx = s * (y - x)
        dy = x * (r - z) - y
        dz = x * y - b * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return x + y + z


LORENZ_POINT = (1.0, 1.2, 0.8, 10.0, 28.0, 8.0 / 3.0)


def test_lorenz_with_the_trip_count_an_int_argument():
    g = grad(lorenz, wrt=(0, 1, 2, 3, 4, 5))
    sizes = {}
    for T in (150, 400):
        check(g, lorenz, (*LORENZ_POINT, T), wrt=(0, 1, 2, 3, 4, 5), rtol=1e-9)
        assert rolled(g)
        sizes[T] = len(re.sub(r"\d+", "N", g.source))
    assert sizes[150] == sizes[400]  # the code's size does not depend on T


def lorenz_10k(x, y, z, s, r, b):
    dt = 0.001
    for _ in range(10000):
        dx = s * (y - x)
        dy = x * (r - z) - y
        dz = x * y - b * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return x + y + z


def test_lorenz_ten_thousand_steps_builds_fast_and_is_right():
    start = time.perf_counter()
    g = value_and_grad(lorenz_10k)
    value, grads = g(*LORENZ_POINT)
    built = time.perf_counter() - start
    print(f"Lorenz T=10,000: built and called once in {built:.3f} s")
    assert built < 5.0
    assert rolled(g) and len(g.source.splitlines()) < 120
    assert close(value, mp_value(lorenz_10k, LORENZ_POINT), rtol=1e-9)
    want = mp_grad(lorenz_10k, LORENZ_POINT, wrt=(0, 4))
    assert close(grads[0], want[0], rtol=1e-8) and close(grads[4], want[1], rtol=1e-8)


# ---- carried names, invariants, counters ----
def swap(x, y, a):
    for i in range(80):
        x, y = y, x * a + math.cos(y)
    return x * y


def counter_in_body(x, a):
    for i in range(300, 0, -3):
        x = x * a + math.sin(x + 0.01 * i)
    return x


def accumulate(x, a):
    s = 0
    for k in range(5, 105):
        s = s + math.sin(x * k) / k + a * s * 0.01
    return s


def body_local_after(x, a):
    for i in range(70):
        y = math.tanh(x) * a
        x = y + 0.5 * x
    return x + y


@pytest.mark.parametrize("f, point", [
    (swap, (0.4, -0.3, 0.7)), (swap, (-1.1, 0.2, -0.6)),
    (counter_in_body, (0.2, 0.9)), (counter_in_body, (-0.5, 0.99)),
    (accumulate, (0.3, 0.2)), (accumulate, (-1.3, -0.5)),
    (body_local_after, (0.6, 0.8)), (body_local_after, (-0.9, 1.1)),
])
def test_carried_names_and_invariants(f, point):
    g = grad(f)
    check(g, f, point)
    assert rolled(g)


def _step(x, a):
    return x * a + math.sin(x) * 0.2


def calls_a_helper(x, a):
    for i in range(120):
        x = _step(x, a)
    return x


@pytest.mark.parametrize("point", [(0.5, 0.9), (-0.4, 1.01)])
def test_a_body_calling_a_user_helper(point):
    g = grad(calls_a_helper)
    check(g, calls_a_helper, point)
    assert rolled(g)


def _settle(x):
    for i in range(50):
        x = math.cos(x) * 0.9 + 0.05
    return x


def loops_in_helpers(x, a):
    y = _settle(x) * a
    for j in range(40):
        y = y * 0.99 + _settle(y) * 0.01
    return y


def nested_loops(x):
    for i in range(40):  # (the outer one unrolls: its body holds a loop)
        for j in range(40):
            x = math.sin(x) * 0.999 + 0.001
    return x


@pytest.mark.parametrize("f, point", [(loops_in_helpers, (0.3, 0.7)), (loops_in_helpers, (-2.0, 1.3)),
                                      (nested_loops, (0.4,)), (nested_loops, (-0.9,))])
def test_loops_inside_helpers_and_nested_loops(f, point):
    g = grad(f)
    check(g, f, point)
    assert rolled(g)


def with_count(x, a, n):
    for i in range(n):
        x = x * a + math.sin(x) * 0.1
    return x


def test_an_int_trip_count_is_one_build_for_every_n():
    g = value_and_grad(with_count, wrt=(0, 1))
    for n in (0, 1, 5, ROLL_THRESHOLD - 1, ROLL_THRESHOLD, 500, 3):
        value, grads = g(0.3, 0.9, n)
        assert close(value, mp_value(with_count, (0.3, 0.9, n), wrt=(0, 1)))
        want = mp_grad(with_count, (0.3, 0.9, n), wrt=(0, 1))
        assert all(close(a, b) for a, b in zip(grads, want)), (n, grads, want)
    assert "for i in range(n - 1, -1, -1):" in g.source and "_tape = [None] * n" in g.source
    programs = {id(g.build_for(0.3, 0.9, n).program) for n in (2, 40, 7000)}
    assert len(programs) == 1  # traced once, n passed at the call


def counted_and_indexed(x, n):
    for i in range(n):
        x = x * 0.9 + 0.1
    return x * [1.0, 2.0, 3.0, 4.0][n % 4]


def counted_in_a_sum(x, n):
    for i in range(n):
        x = math.sin(x) * 0.99
    return x + sum(x * k for k in range(n))


@pytest.mark.parametrize("f", [counted_and_indexed, counted_in_a_sum])
@pytest.mark.parametrize("n", [0, 3, 40])
def test_a_count_also_needed_as_a_number_specialises(f, n):
    g = grad(f, wrt="x")
    assert close(g(0.4, n), mp_grad(f, (0.4, n), wrt=(0,))[0])
    assert close(g(-1.3, n), mp_grad(f, (-1.3, n), wrt=(0,))[0])
    assert rolled(g) == (n >= ROLL_THRESHOLD)  # specialised on n: rolled from the threshold


def _first_line(f):
    return f.__code__.co_firstlineno


def test_the_generated_loop_cites_the_users_lines():
    source = grad(recurrence).source
    loop_line = _first_line(recurrence) + 1
    assert f"# line {loop_line}: for i in range(200):" in source
    assert f"# line {loop_line + 1} (reverse): x = x * a + math.sin(x) * 0.1" in source
    assert "_tape = [None] * 200" in source and "for i in range(199, -1, -1):" in source


# ---- what stays unrolled (the body needs a concrete counter) ----
COEFFS = [0.5 + 0.01 * k for k in range(100)]


def indexes_a_list(x):
    for i in range(100):
        x = x * COEFFS[i] + math.sin(x)
    return x


def if_on_counter(x):
    for i in range(90):
        if i % 3 == 0:
            x = math.sin(x) + 0.5
        else:
            x = x * 0.99
    return x


def if_on_data(x):
    for i in range(70):
        if x > 0.5:
            x = x * 0.9
        else:
            x = x + 0.02
    return x


def counts_concretely(x):
    k = 0
    for i in range(80):
        x = x * 0.99 + 0.01
        k = k + 2
    return x * k


def breaks_on_counter(x):
    for i in range(100):
        if i == 70:
            break
        x = math.sin(x) * 1.1
    return x


WEIGHTS = np.linspace(0.1, 0.5, 50)


def indexes_an_array(x):
    for i in range(50):
        x = x * WEIGHTS[i] + 0.1
    return x


def reads_an_array(w, x):
    s = 0.0
    for i in range(40):
        s = s + np.sum(w) * x * 0.01 + math.sin(s) * 0.1
    return s


def carries_an_array(w):
    for i in range(40):
        w = w * 0.9 + np.sin(w) * 0.1
    return np.sum(w)


@pytest.mark.parametrize("f, points", [
    (indexes_a_list, [(0.3,), (-0.2,)]),
    (indexes_an_array, [(0.3,), (-2.5,)]),
    (reads_an_array, [(np.array([0.1, 0.2]), 0.5), (np.array([-1.0, 0.3]), -0.2)]),
    (carries_an_array, [(np.array([0.1, 0.2]),), (np.array([-1.5, 2.0]),)]),
    (if_on_data, [(0.3,), (0.9,), (-0.4,)]),
])
def test_bodies_indexing_or_carrying_arrays_stay_rolled(f, points):
    """(These unrolled before loops carried arrays, and before an 'if' on data stayed in a
    rolled body: tests/test_array_loops.py and tests/test_while_arrays.py have the rest.)"""
    g = grad(f)
    for point in points:
        check(g, f, point)
    assert rolled(g)


@pytest.mark.parametrize("f, points", [
    (if_on_counter, [(0.3,), (-2.0,)]),
    (counts_concretely, [(0.3,), (1.7,)]),
])
def test_bodies_needing_a_concrete_counter_unroll(f, points):
    g = grad(f)
    for point in points:
        check(g, f, point)
    assert not rolled(g)


def test_a_break_on_the_counter_is_a_while_kind_loop():
    # (was unrolled: a break is an exit only known when the loop runs, tests/test_for_exits.py)
    g = grad(breaks_on_counter)
    for point in [(0.4,), (-0.8,)]:
        check(g, breaks_on_counter, point)
    assert "while True:" in g.source


# ---- consumers without loops yet: unrolled, or a located refusal ----
def test_formulas_name_the_loops_line_and_its_recurrence():
    # (was: a located refusal) the recurrence of the loop, headed by its line
    formulas = grad(recurrence).formulas
    recurrence_of_loop, = formulas.recurrences
    assert recurrence_of_loop.lineno == _first_line(recurrence) + 1
    assert f"line {_first_line(recurrence) + 1} (for " in repr(formulas)


def test_explain_shows_the_body_once_and_the_adjoint_recurrence():
    text = grad(lorenz_10k).explain()
    loop_line = _first_line(lorenz_10k) + 2
    assert f"line {loop_line}:    for _ in range(10000):" in text
    assert "(kept as a loop, traced once; first x_1 = x, y_1 = y, z_1 = z)" in text
    assert text.count("line 1") < 20  # the body once, not 10,000 times
    assert f"for _ from 9999 down to 0:   (line {loop_line}; x_1, y_1, z_1 read back" in text
    assert "dlorenz_10k/dx_2 <- dlorenz_10k/dx_1" in text
    assert "sum dlorenz_10k/ds <- dlorenz_10k/ds + sum dlorenz_10k/ds" in text
    assert "dlorenz_10k/dx = (dlorenz_10k/dx_2 after the loop)" in text


def short_loop(x, a):
    for i in range(40):
        x = x * a + math.sin(x) * 0.1
    return x


def test_second_derivatives_and_jacobians_unroll():
    point = (0.3, 0.9)
    assert all(close(a, b, rtol=1e-9) for a, b in zip(
        hessian(short_loop)(*point).ravel(), np.array(mp_hessian(short_loop, point)).ravel()))
    assert all(close(a, b) for a, b in zip(
        jacobian(short_loop)(*point).ravel(), np.array(mp_jacobian(short_loop, point)).ravel()))
    second = grad(grad(short_loop, wrt=0), wrt=0)(*point)
    assert close(second, np.array(mp_hessian(short_loop, point))[0, 0], rtol=1e-9)
    again = grad(grad(with_count, wrt=0), wrt=0)(0.3, 0.9, 40)
    assert close(again, np.array(mp_hessian(with_count, (0.3, 0.9, 40), wrt=(0,)))[0, 0],
                 rtol=1e-9)


def test_exported_python_and_c_keep_the_loop():
    text = symdiff.emit(short_loop, args=(0.3, 0.9))
    assert "for i in range(39, -1, -1):" in text and "\nimport symdiff" not in text
    namespace = {}
    exec(compile(text, "<exported>", "exec"), namespace)
    got = namespace["short_loop_grad"](0.3, 0.9)
    want = mp_grad(short_loop, (0.3, 0.9))
    assert all(close(a, b) for a, b in zip(got, want))
    c_text = symdiff.emit(short_loop, language="c", args=(0.3, 0.9))
    # C keeps it too (issue 13: C loops with a tape; compiled and checked in test_c_loops.py)
    assert "for (long _k = 0; _k < 40; ++_k) {" in c_text and c_text.count("for (long") == 4
    assert c_text.count("sin(") < 10  # (not 40 times over)


def test_a_data_dependent_trip_count_is_still_refused():
    def data_count(x, n):
        for i in range(n):
            x = x * 0.5
        return x

    with pytest.raises(SymdiffError, match="range"):
        grad(data_count)(0.3, 100.0)


def test_the_traced_program_holds_one_loop():
    from symdiff.frontend.interpreter import trace
    from symdiff.frontend.parse import parse_function

    program = trace(parse_function(lorenz_10k), rolled=True)
    loops = [item for item in program.body if isinstance(item, Loop)]
    assert len(loops) == 1 and int(loops[0].trip_count) == 10000
    assert sorted(str(c.inside) for c in loops[0].carried) == ["x_1", "y_1", "z_1"]
    assert len(loops[0].body) == 6
    unrolled = trace(parse_function(short_loop))
    assert not any(isinstance(item, Loop) for item in unrolled.body)


def two_loops_then_branch(x, a):
    for i in range(40):
        x = x * a + math.sin(x) * 0.1
    y = x * 2.0
    for j in range(50):
        y = math.cos(y) * a + x * 0.01
    if y > 0.3:
        return y * x
    return y - x


def _branch_taken(x, a):
    for i in range(40):
        x = x * a + math.sin(x) * 0.1
    y = x * 2.0
    for j in range(50):
        y = math.cos(y) * a + x * 0.01
    return y > 0.3


def test_two_loops_in_sequence_then_a_branch_on_data():
    points = [(0.3, 0.9), (0.3, 0.2), (-1.0, 0.7)]
    assert {_branch_taken(*p) for p in points} == {True, False}  # both sides of the 'if'
    g = grad(two_loops_then_branch)
    for point in points:
        check(g, two_loops_then_branch, point)
    assert "_tape_1 = [None] * 50" in g.source and rolled(g)


def counter_rebound(x):
    for i in range(40):
        x = x * 0.99 + i * 0.001
        i = i + 100
    return x * i


def test_a_counter_rebound_in_the_body_unrolls():
    g = grad(counter_rebound)
    check(g, counter_rebound, (0.5,))
    check(g, counter_rebound, (-3.0,))
    assert not rolled(g)


def loop_with_a_parameter_named_range(x, range):  # noqa: A002 - shadows the builtin
    for i in builtins.range(40):
        x = x * range + math.sin(x) * 0.1
    return x


def test_the_generated_loop_calls_range_by_a_name_no_user_name_shadows():
    g = grad(loop_with_a_parameter_named_range)
    check(g, loop_with_a_parameter_named_range, (0.3, 0.9))
    check(g, loop_with_a_parameter_named_range, (-0.5, 1.02))
    assert "for i in _range(40):" in g.source and "for i in _range(39, -1, -1):" in g.source
