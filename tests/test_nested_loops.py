"""Loops nested in loops kept as loops (issue 13): a rolled ``for`` (or a ``while`` on data) whose
body holds another loop kept as a loop is one ``ir.Loop`` with an ``ir.Loop`` in its body. The
gradient runs the outer forward loop once (its tape: the outer state per iteration); each outer
reverse iteration runs the inner loop forward again from that state (filling the inner tape),
then backward. The generated code keeps the nesting and does not grow with the trip counts.

Every gradient is compared with an independent reference: ``tests/reference.py``'s ``mp_grad``
(the user's source re-run over mpmath at 50 digits) or a derivative written by hand, never with
symdiff's own output. Inner trip counts of 0, 1 and many iterations, and points on both sides of
every data-dependent exit.
"""

import ctypes
import math
import re
import shutil
import subprocess
import time

import numpy as np
import pytest

from symdiff import ExportError, emit, grad, value_and_grad
from symdiff.ir import Loop

from .markers import marker_line
from .reference import close, mp_grad
from .test_c_code import CC, FLAGS, call, compile_library
from .test_c_while import FAILING, REALLOC
from .test_loops import check as check_arrays
from .test_while_loops import check, iterations, kept_as_a_while

HERE = __file__


def for_depth(source):
    """How deep ``for``/``while`` loops nest in generated Python: 2 where a loop sits in the
    body of another (an indented ``for`` under a ``for``)."""
    depth, stack = 0, []  # the indents of the loops enclosing the current line
    for line in source.splitlines():
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        indent = len(line) - len(text)
        while stack and indent <= stack[-1]:
            stack.pop()
        if re.match(r"(for \w+ in |while True:)", text):
            stack.append(indent)
            depth = max(depth, len(stack))
    return depth


def traced_loops(g, *args):
    """The ``ir.Loop`` s of the build for ``args``, each with the loops nested in its body."""
    def tree(items):
        return [(item, tree([*item.test, *item.body])) for item in items if isinstance(item, Loop)]
    return tree(g.build_for(*args).program.body)


# ---- the example: 100 x 100 steps, a few dozen lines, built in well under a second ----
def hundred_by_hundred(x):
    for i in range(100):
        for j in range(100):
            x = x + 0.0001*np.sin(x)
    return x


def test_a_hundred_by_a_hundred_is_a_few_dozen_lines_built_at_once():
    start = time.perf_counter()
    g = grad(hundred_by_hundred)
    got = g(0.3)
    build = time.perf_counter() - start
    # by hand: d x_{k+1} / d x_k = 1 + 1e-4 cos(x_k), over the 10,000 steps
    x, want = 0.3, 1.0
    for _ in range(10_000):
        want *= 1 + 0.0001 * math.cos(x)
        x = x + 0.0001 * math.sin(x)
    assert close(got, want, rtol=1e-12)
    check(g, hundred_by_hundred, (0.3,))
    lines = len(g.source.splitlines())
    assert lines < 60, lines  # (unrolling the outer loop gave 2,203)
    assert for_depth(g.source) == 2
    assert build < 1.0, build  # (measured: 0.05-0.12 s)
    ((outer, inner),) = traced_loops(g, 0.3)
    assert outer.trip_count == 100 and [loop.trip_count for loop, _ in inner] == [100]


# ---- for in for, both counters read ----
def for_in_for(x):
    for i in range(40):
        for j in range(35):
            x = x + 1e-4*math.sin(x*i + j)
    return x


@pytest.mark.parametrize("x", [0.3, -1.7, 0.0])
def test_for_in_for_reading_both_counters(x):
    g = grad(for_in_for)
    check(g, for_in_for, (x,))
    assert for_depth(g.source) == 2 and len(g.source.splitlines()) < 70
    assert "for j in range(35):" in g.source and "for j in range(34, -1, -1):" in g.source


def around_the_inner_loop(x, y):
    for i in range(40):
        y = y + 0.01*x  # before the inner loop, in the outer body
        for j in range(40):
            x = x + 1e-4*math.sin(y*x)
        y = y * math.cos(x) + 0.5  # after it, reading what it leaves
    return x*y


@pytest.mark.parametrize("point", [(0.3, 0.2), (-0.6, 1.1)])
def test_values_computed_around_the_inner_loop(point):
    g = grad(around_the_inner_loop)
    check(g, around_the_inner_loop, point)
    value, grads = value_and_grad(around_the_inner_loop)(*point)
    assert value == around_the_inner_loop(*point)
    check(lambda *a: grads, around_the_inner_loop, point)
    assert for_depth(g.source) == 2


# ---- an inner trip count of the outer counter: range(i) (0 iterations first) ----
def triangle(x):
    for i in range(40):
        for j in range(i):
            x = x + 1e-3*math.sin(x + j)
    return x


def shifted_triangles(x):
    for i in range(40):
        for j in range(i - 3):  # no iteration for i <= 3 (a negative count)
            x = x + 1e-3*math.sin(x * j)
        for k in range(2 * i + 1):
            x = x - 1e-4*math.cos(x + k)
    return x


@pytest.mark.parametrize("f", [triangle, shifted_triangles])
@pytest.mark.parametrize("x", [0.3, -2.1])
def test_an_inner_trip_count_of_the_outer_counter(f, x):
    g = grad(f)
    check(g, f, (x,))
    assert for_depth(g.source) == 2 and len(g.source.splitlines()) < 100


def test_the_triangles_keep_their_counts_as_int_arithmetic():
    g = grad(shifted_triangles)
    g(0.3)
    assert "for j in range(i - 3):" in g.source and "for k in range(2*i + 1):" in g.source
    assert "[None] * (2*i + 1)" in g.source and "for k in range(2*i + 1 - 1, -1, -1):" in g.source


def inner_count(x, n):
    for i in range(40):
        for j in range(n):
            x = x + 1e-3*math.sin(x + j)
    return x


def test_an_inner_trip_count_of_an_int_argument_is_one_build_for_every_n(tmp_path):
    g = grad(inner_count, wrt="x")
    for n in (0, 1, 5, 50, -2):
        assert close(g(0.3, n), mp_grad(inner_count, (0.3, n), wrt=0)[0], rtol=1e-10), n
    assert len({id(g.build_for(0.3, n).program) for n in (2, 40, 7000)}) == 1
    assert "for j in range(n):" in g.source and "[None] * n" in g.source
    text = emit(inner_count, language="c", wrt="x", args=(0.3, 5))
    library = compile_library(tmp_path, {"inner_count": text})
    function = library.inner_count_grad
    function.restype, function.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_long]
    for n in (0, 1, 5, 50, -2):  # one C function for every n (a long argument)
        assert close(function(0.3, n), mp_grad(inner_count, (0.3, n), wrt=0)[0], rtol=1e-10), n


def triangle_with_a_break(x):
    for i in range(40):
        for j in range(i):
            if j > 3:  # (the inner loop cannot be kept: the outer one unrolls, i then a number)
                break
            x = x + 1e-3*math.sin(x)
    return x


def test_an_inner_loop_of_the_counter_that_cannot_be_kept_unrolls_the_outer_one():
    g = grad(triangle_with_a_break)
    check(g, triangle_with_a_break, (0.3,))
    # (the outer loop unrolled; from i = 32 on, each inner range(i) with its break is long
    # enough to be kept as a while-kind loop of its own: tests/test_for_exits.py)
    assert for_depth(g.source) == 1


# ---- a while on data inside a for ----
def newton_in_for(a):
    s = 0.0
    for t in range(40):
        c = a + 0.01*t
        y = c
        while abs(y*y - c) > 1e-12:
            y = 0.5*(y + c/y)  # NEWTON-IN-FOR
        s = s + y
    return s


newton_in_for._body_line = marker_line(HERE, "NEWTON-IN-FOR")


@pytest.mark.parametrize("a, count", [(1.0, 145), (2.0, 200), (0.5, 161)])
def test_newton_steps_inside_a_for(a, count):
    g = grad(newton_in_for)
    assert iterations(newton_in_for, a) == count
    # by hand: the sum of d sqrt(a + 0.01 t) / da, but where the loop runs no step (a = 1,
    # t = 0: y*y == c at once), where y = c: a derivative of 1
    want = sum(1.0 if a + 0.01 * t == 1.0 else 0.5 / math.sqrt(a + 0.01 * t) for t in range(40))
    assert close(g(a), want, rtol=1e-9)
    check(g, newton_in_for, (a,), rtol=1e-9)
    assert kept_as_a_while(g) and for_depth(g.source) == 2


def halving_in_for(a, b):
    s = 0.0
    for t in range(40):
        y = a + 0.01*t
        while y > b:
            y = y * 0.5  # HALVING-IN-FOR
        s = s + y*y
    return s


halving_in_for._body_line = marker_line(HERE, "HALVING-IN-FOR")


@pytest.mark.parametrize("point, count", [((0.1, 1.0), 0), ((1.5, 1.0), 40), ((10.0, 1.0), 160),
                                          ((0.905, 1.0), 30)])
def test_a_while_on_data_inside_a_for_on_both_sides_of_its_exit(point, count):
    assert iterations(halving_in_for, *point) == count  # none, one per step, four, some
    g = grad(halving_in_for)
    check(g, halving_in_for, point)
    assert kept_as_a_while(g) and for_depth(g.source) == 2


def break_in_a_while_in_for(x):
    for i in range(40):
        y = x
        while y > 0.1:
            y = y * 0.7
            if y < 0.3 * x:  # (the break belongs to the while: the for is kept)
                break
        x = x + 0.01 * y
    return x


@pytest.mark.parametrize("x", [0.5, 0.2, 0.05])  # out by the break, by the condition, no step
def test_a_break_in_a_while_inside_a_for(x):
    g = grad(break_in_a_while_in_for)
    check(g, break_in_a_while_in_for, (x,))
    assert kept_as_a_while(g) and for_depth(g.source) == 2


# ---- a for inside a while on data ----
def for_in_while(x):
    while x < 2.0:
        for j in range(40):
            x = x + 0.001*math.cos(x)  # FOR-IN-WHILE
        x = x * 1.1
    return x


for_in_while._body_line = marker_line(HERE, "FOR-IN-WHILE")


@pytest.mark.parametrize("x, count", [(0.5, 40 * 12), (1.9, 40), (2.5, 0)])
def test_a_for_inside_a_while_on_data(x, count):
    assert iterations(for_in_while, x) == count  # many, one, no outer iteration
    g = grad(for_in_while)
    check(g, for_in_while, (x,))
    assert kept_as_a_while(g) and for_depth(g.source) == 2 and len(g.source.splitlines()) < 70


def while_in_while(x):
    while x < 5.0:
        y = x
        while y > 0.5:
            y = y * 0.5
        x = x + y + 0.1*x
    return x


@pytest.mark.parametrize("x", [0.3, 4.1, 6.0])  # inner loop: no step, some; outer: none
def test_a_while_inside_a_while(x):
    g = grad(while_in_while)
    check(g, while_in_while, (x,))
    assert for_depth(g.source) == 2


def read_after_the_inner_loop(x):
    for i in range(40):
        for j in range(35):
            t = math.sin(x + j)  # first assigned in the inner body, its last value read after it
            x = x + 1e-3*t
        x = x + 1e-3*t*x
    return x


def test_a_value_of_the_inner_body_read_after_it():
    g = grad(read_after_the_inner_loop)
    check(g, read_after_the_inner_loop, (0.3,))
    assert for_depth(g.source) == 2


# ---- three levels ----
def three_levels(x):
    for i in range(33):
        for j in range(33):
            for k in range(33):
                x = x + 1e-6*math.sin(x + i - j + k)
    return x


def test_three_levels():
    g = grad(three_levels)
    check(g, three_levels, (0.3,))
    assert for_depth(g.source) == 3 and len(g.source.splitlines()) < 120
    ((_, ((_, ((_, ()),)),)),) = traced_loops(g, 0.3)  # each level traced once


# ---- arrays carried ----
def vector_in_for_in_for(v):
    for i in range(40):
        for j in range(33):
            v = v + 1e-3*np.sin(v[::-1]) * np.cos(v)
    return np.sum(v*v)


def arrays_of_the_outer_body(v):
    s = 0.0
    for i in range(40):
        w = np.sin(v * i)  # computed in the outer body, read by the inner one
        for j in range(33):
            u = np.sin(w + j)  # an array the inner reverse reads (on the inner tape)
            s = s + np.sum(u * u) * 1e-3
    return s


@pytest.mark.parametrize("f", [vector_in_for_in_for, arrays_of_the_outer_body])
@pytest.mark.parametrize("v", [np.array([0.1, 0.5, -0.3]), np.array([1.2, -0.7, 0.4, 2.0])])
def test_arrays_carried_through_nested_loops(f, v):
    g = grad(f)
    check_arrays(g, f, (v,))
    assert for_depth(g.source) == 2 and len(g.source.splitlines()) < 80


# ---- a helper called in the inner body ----
def _step(z, i):
    return z + 1e-4*math.tanh(z * i)


def helper_in_the_inner_body(x):
    for i in range(40):
        for j in range(40):
            x = _step(x, i)
    return x


@pytest.mark.parametrize("x", [0.3, -0.8])
def test_a_helper_called_in_the_inner_body(x):
    g = grad(helper_in_the_inner_body)
    check(g, helper_in_the_inner_body, (x,))
    assert for_depth(g.source) == 2


def test_explain_shows_the_nested_loop_traced_once():
    text = grad(for_in_for).explain()
    assert re.search(r"line \d+:\s+for i in range\(40\):.*kept as a loop, traced once", text)
    assert re.search(r"\n     line \d+:\s+for j in range\(35\):.*kept as a loop, traced once", text)
    assert re.search(r"for i from 39 down to 0:.*\n(.*\n)*?     for j from 34 down to 0:", text)


# ---- checkpoint=K ----
@pytest.mark.parametrize("f, points, k", [
    (for_in_for, [(0.3,), (-1.7,)], 7),  # 40 = 5 x 7 + 5: a short last segment
    (for_in_for, [(0.3,)], "sqrt"),
    (triangle, [(0.3,)], 3),
    (newton_in_for, [(1.0,), (2.0,)], 6),
    (for_in_while, [(0.5,), (1.9,), (2.5,)], 2),
    (for_in_while, [(0.5,), (1.9,), (2.5,)], "sqrt"),
    (vector_in_for_in_for, [(np.array([0.1, 0.5, -0.3]),)], 9),
])
def test_nested_loops_checkpointed(f, points, k):
    g = grad(f, checkpoint=k)
    for point in points:
        check_arrays(g, f, point)
    assert re.search(r"for _c\w* in range\(len\(_checkpoints\w*\) - 1, -1, -1\):", g.source)
    assert for_depth(g.source) >= 2


# ---- C export ----
@pytest.mark.parametrize("f, points, checkpoint", [
    (for_in_for, [(0.3,), (-1.7,)], None),
    (around_the_inner_loop, [(0.3, 0.2), (-0.6, 1.1)], None),
    (helper_in_the_inner_body, [(0.3,)], None),
    (three_levels, [(0.3,)], None),
    (halving_in_for, [(0.1, 1.0), (1.5, 1.0), (10.0, 1.0)], None),  # (no tape: y*0.5 is linear)
    (newton_in_for, [(1.0,), (2.0,)], None),  # the inner tape realloc'd as the while runs
    (newton_in_for, [(2.0,)], 5),
    (for_in_while, [(0.5,), (1.9,), (2.5,)], None),
    (for_in_for, [(0.3,)], 7),
    (for_in_while, [(0.5,), (1.9,), (2.5,)], 3),
])
def test_c_export_of_nested_loops(tmp_path, f, points, checkpoint):
    text = emit(f, language="c", **({"checkpoint": checkpoint} if checkpoint else {}))
    assert re.search(r"^ {8}for \((long \w+ = [^;]+; \w+ (<|>=) [^;]+; [-+]{2}\w+|;;)\) \{$",
                     text, re.MULTILINE)  # a C loop inside a C loop
    library = compile_library(tmp_path, {f.__name__: text})
    for point in points:
        got, (_, got_vg) = call(library, f.__name__, len(point), len(point), point)
        want = mp_grad(f, point)
        for result in (got, got_vg):
            result = result if isinstance(result, tuple) else (result,)
            assert all(close(a, b, rtol=1e-9) for a, b in zip(result, want)), (point, result, want)
    if "alloc(" in text:  # (each function frees its tapes)
        assert text.count("free(") >= 2


def triangle_of_n(x, n):
    for i in range(n):
        for j in range(i):
            x = x + 1e-3*math.sin(x + j)
    return x


def test_an_inner_trip_count_of_an_outer_counter_over_an_int_argument():
    g = grad(triangle_of_n, wrt="x")
    for n in (0, 1, 2, 40):
        assert close(g(0.3, n), mp_grad(triangle_of_n, (0.3, n), wrt=0)[0], rtol=1e-10), n
    assert len({id(g.build_for(0.3, n).program) for n in (2, 40, 700)}) == 1


def test_c_export_refuses_an_inner_count_it_cannot_bound():
    """C sizes every tape before the loops run: range(i) under range(n), n an argument, has no
    bound known then (Python keeps it: above)."""
    with pytest.raises(ExportError) as info:
        emit(triangle_of_n, language="c", wrt="x", args=(0.3, 5))
    assert info.value.lineno == triangle_of_n.__code__.co_firstlineno + 2
    assert "for j in range(i):" in str(info.value) and "trip count" in str(info.value)


@pytest.mark.parametrize("f, checkpoint", [(triangle, None), (shifted_triangles, None),
                                           (triangle, 4), (shifted_triangles, 7)])
def test_c_export_of_an_inner_count_of_the_outer_counter(tmp_path, f, checkpoint):
    """The inner tape is sized for the largest count over the outer counter's range
    (``range(2*i + 1)``: 79), the count ``(long)(2*i + 1)`` of the counter (a double in C)."""
    text = emit(f, language="c", **({"checkpoint": checkpoint} if checkpoint else {}))
    assert "(long)(i)" in text if f is triangle else "(long)(2*i + 1)" in text
    library = compile_library(tmp_path, {f.__name__: text})
    for point in [(0.3,), (-2.1,)]:
        got, (_, got_vg) = call(library, f.__name__, 1, 1, point)
        want = mp_grad(f, point)[0]
        assert close(got, want, rtol=1e-9) and close(got_vg, want, rtol=1e-9), (point, got, want)


VALGRIND = shutil.which("valgrind")
DRIVER = """\
#include <stdio.h>
double for_in_for_grad(double);
double newton_in_for_grad(double);
double for_in_while_grad(double);
double shifted_triangles_grad(double);
int main(void)
{
    printf("%.17g\\n", for_in_for_grad(0.3));
    printf("%.17g\\n", newton_in_for_grad(2.0));
    printf("%.17g\\n", for_in_while_grad(0.5));
    printf("%.17g\\n", for_in_while_grad(2.5));
    printf("%.17g\\n", shifted_triangles_grad(0.3));
    return 0;
}
"""


@pytest.mark.skipif(VALGRIND is None or CC is None, reason="needs valgrind and a C compiler")
def test_valgrind_finds_nested_tapes_freed_and_no_invalid_access(tmp_path):
    functions = (for_in_for, newton_in_for, for_in_while, shifted_triangles)
    for f in functions:
        (tmp_path / f"{f.__name__}.c").write_text(emit(f, language="c"))
    (tmp_path / "main.c").write_text(DRIVER)
    program = tmp_path / "nested"
    run = subprocess.run([CC, "-std=c99", "-O1", "-g", "-o", str(program),
                          *[str(tmp_path / f"{f.__name__}.c") for f in functions],
                          str(tmp_path / "main.c"), "-lm"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([VALGRIND, "--leak-check=full", "--error-exitcode=9", str(program)],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "All heap blocks were freed" in run.stderr and "ERROR SUMMARY: 0 errors" in run.stderr
    got = [float(v) for v in run.stdout.split()]
    assert len(got) == 5
    for value, (f, point) in zip(got, [(for_in_for, 0.3), (newton_in_for, 2.0),
                                       (for_in_while, 0.5), (for_in_while, 2.5),
                                       (shifted_triangles, 0.3)]):
        assert close(value, mp_grad(f, (point,))[0], rtol=1e-9), (f, value)


@pytest.mark.parametrize("before_failing", [0, 1])
def test_realloc_failing_in_a_nested_while_gives_nan(tmp_path, before_failing):
    """The outer while's tape grows by realloc; the inner loop's tape is in the malloc'd
    buffer: where the realloc fails, every result is NAN (both freed on that path)."""
    if CC is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH")
    text = emit(for_in_while, language="c")
    (tmp_path / "loops.c").write_text(text.replace("#include <stdlib.h>\n", REALLOC))
    (tmp_path / "failing.c").write_text(FAILING)
    library = tmp_path / "libfail.so"
    run = subprocess.run([CC, *FLAGS, "-o", str(library), str(tmp_path / "loops.c"),
                          str(tmp_path / "failing.c"), "-lm"], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    loaded = ctypes.CDLL(str(library))
    loaded.reset_realloc(before_failing)
    loaded.for_in_while_grad.restype = ctypes.c_double
    got = loaded.for_in_while_grad(ctypes.c_double(0.5))  # 12 outer iterations: one realloc
    if before_failing == 0:
        assert math.isnan(got)
    else:
        assert close(got, mp_grad(for_in_while, (0.5,))[0], rtol=1e-9)
