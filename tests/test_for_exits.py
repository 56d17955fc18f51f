"""A long ``for`` over a range of known ints whose body has a ``break``, ``continue`` or
``return`` on data (issue 13): its trip count is only known when it runs, so it is kept as a
while-kind loop carrying the counter (``k < stop`` before each iteration, the exit a carried
flag), not unrolled (a 1,000-step loop with a break took 30 s and 30,039 lines unrolled).

Every gradient is compared with the independent reference (``mp_grad``: the user's source re-run
over mpmath at 50 digits), at points on both sides of every exit (no exit taken, taken early,
taken late); formulas by running their recurrences (``formula_values``); C compiled with gcc.
"""

import math
import time

import pytest

from symdiff import emit, grad, value_and_grad

from .formula_values import evaluate
from .reference import close, mp_grad
from .test_c_code import CC, call, compile_library
from .test_while_loops import check


def kept(g):
    return "while True:" in g.source and len(g.source.splitlines()) < 120


def stop_early(x, a):
    for i in range(1000):
        x = x - 0.01 * (x * x - a)
        if abs(x * x - a) < 1e-6:
            break
    return x * a


def skip(x):
    for i in range(200):
        if x > 3.0:
            x = x * 0.5
            continue
        x = x + 0.01 * math.sin(x + i)
    return x


def returns(x):
    for i in range(100):
        x = x * 1.1
        if x > 50.0:
            return x * x
    return x


def counter_break(x):
    for i in range(300):
        x = x * 0.999 + 0.001 * math.cos(x)
        if i * 0.01 > x:  # the counter against data
            break
    return x


def from_start(x):
    for i in range(5, 90):
        x = x + 0.01 * i * math.sin(x)
        if x > 4.0:
            break
    return x


def data_range(x):
    for k in range(int(abs(x)) + 40):  # a range of data, with a break inside
        x = 0.9 * x + 0.1
        if x < 0.3:
            break
    return x


CASES = [
    (stop_early, [(0.5, 2.0), (1.4142, 2.0), (-1.0, 2.0), (0.1, 9.0)]),
    (skip, [(10.0,), (0.1,), (2.9,), (3.1,)]),  # continue at the start, never, mid-way
    (returns, [(1.0,), (0.01,), (49.0,), (51.0,)]),  # returns late, never, at once
    (counter_break, [(0.5,), (2.5,), (-1.0,)]),
    (from_start, [(0.3,), (3.9,), (-2.0,)]),
    (data_range, [(2.5,), (-0.2,), (20.5,)]),  # (not at an int: int() steps there)
]


@pytest.mark.parametrize("f, points", CASES, ids=[f.__name__ for f, _ in CASES])
def test_kept_as_a_loop_and_right_on_both_sides_of_the_exit(f, points):
    g = grad(f)
    for point in points:
        check(g, f, point)
    assert kept(g), g.source
    value, _ = value_and_grad(f)(*points[0])
    assert value == f(*points[0])


def test_it_builds_in_milliseconds_not_seconds():
    grad(stop_early)(0.5, 2.0)  # (imports, first-use costs)
    started = time.perf_counter()
    g = grad(stop_early)
    g(0.5, 2.0)
    assert time.perf_counter() - started < 5.0  # (about 50 ms here; unrolled it was 30 s)
    assert len(g.source.splitlines()) < 80


def short(x):
    for i in range(10):  # below the threshold: unrolled, as before
        x = x * 1.5
        if x > 4.0:
            break
    return x


def test_a_short_loop_with_a_break_still_unrolls():
    g = grad(short)
    for x in (0.1, 1.0, 3.0):
        check(g, short, (x,))
    assert "while True:" not in g.source


@pytest.mark.parametrize("f, points", CASES, ids=[f.__name__ for f, _ in CASES])
def test_formulas_run_as_recurrences_give_the_gradient(f, points):
    g = grad(f)
    for point in points:
        g(*point)
        got = evaluate(g.formulas, dict(zip(g._signature.parameters, point)))
        want = mp_grad(f, point)
        for name, expected in zip(g.formulas, want):
            assert close(got[name], expected, rtol=1e-9, atol=1e-12), (name, point, got, want)


@pytest.mark.parametrize("f, points", CASES, ids=[f.__name__ for f, _ in CASES])
def test_checkpointed(f, points):
    g = grad(f, checkpoint=7)
    for point in points:
        check(g, f, point)


@pytest.mark.skipif(CC is None, reason="no C compiler")
@pytest.mark.parametrize("f, points", CASES, ids=[f.__name__ for f, _ in CASES])
def test_c_export_keeps_the_loop(tmp_path, f, points):
    text = emit(f, language="c")
    assert "for (;;) {" in text and len(text.splitlines()) < 400
    library = compile_library(tmp_path, {f.__name__: text})
    for point in points:
        got, (value, got_vg) = call(library, f.__name__, len(point), len(point), point)
        assert value == f(*point)
        want = mp_grad(f, point)
        got = got if isinstance(got, (tuple, list)) else (got,)
        got_vg = got_vg if isinstance(got_vg, (tuple, list)) else (got_vg,)
        for a, b in zip((*got, *got_vg), (*want, *want)):
            assert close(a, float(b), rtol=1e-9, atol=1e-12), (point, got, want)


def breaks_on_the_counter(x):
    for i in range(100):
        x = x * 1.01 + 0.001 * math.sin(x)
        if i == 50:
            break
    return x


def test_a_break_on_the_counter_is_kept_too():
    g = grad(breaks_on_the_counter)
    for x in (1.0, -0.4):
        check(g, breaks_on_the_counter, (x,))
    assert kept(g)
