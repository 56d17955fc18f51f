"""symdiff.emit(language="c") of ``while`` loops on data (issue 13): a C ``for (;;)`` that tests
the condition before each iteration and stores what the reverse reads on a tape grown by
``realloc`` (doubling), then the reverse loop over the count; every buffer is freed on every
path, and where an allocation fails every result is NAN.

Every compiled gradient (``-std=c99 -pedantic -Wall -Wextra -Werror``) is compared with the
independent reference (``tests/reference.py``: the user's source re-run over mpmath at 50
digits) at points on both sides of every exit, and with the Python gradient.
"""

import ctypes
import math
import re
import shutil
import subprocess

import pytest

from symdiff import ExportError, emit, grad

from .reference import mp_grad
from .test_c_code import CC, FLAGS, call, close, compile_library
from .test_c_loops import assert_close_all, assert_reference
from .test_while_loops import (breaks, breaks_after_a_count, bisect_returning, counted, fixed_point,
                               floor_steps, guarded_newton, halve, inside_a_for, newton_sqrt,
                               range_of_int, returns, search, skips, then_more, two_loops,
                               under_an_if)

def two_tapes(a, b):
    x = a
    while x > 1.0:
        x = x / 3.0 + math.sin(b * x) * 0.1
    y = x * b
    while y < 5.0:
        y = y * 1.5 + x * y * 0.1
    return x + y


CASES = [
    (newton_sqrt, [(0.25,), (1.0,), (2.0,), (123.456,)]),  # 1.0: no iteration
    (halve, [(0.5,), (-3.0,), (1.5,), (1e5,)]),  # linear: no tape, only the count
    (breaks, [(0.5,), (2.0,), (5.0,), (20.0,)]),  # a break on data
    (skips, [(0.5, 1.0), (12.0, 0.7), (3.3, 2.5)]),  # a continue on data
    (breaks_after_a_count, [(1.0,), (2.0,), (30.0,)]),
    (returns, [(0.5,), (1.01,), (5.0,), (20.0,)]),  # a return inside: first iteration, later
    (search, [(3.0, 5.0), (0.5, 5.0), (0.5, 1.0), (6.0, 5.0)]),  # the return or the condition
    (then_more, [(2.0, 0.7), (2.0, 1.45), (9.0, 4.0)]),  # a second loop where it did not return
    (bisect_returning, [(4.0,), (2.0,), (0.3,)]),  # the first iteration known, the rest a loop
    (fixed_point, [(0.3, 0.8), (-0.5, 0.9)]),
    (counted, [(12.0, 1.5), (3.0, 1.3), (0.2, 1.1)]),  # an if on data inside, a count
    (two_loops, [(10.0, 2.0), (0.5, 8.0), (30.0, 0.4)]),  # linear: two counts, no tape
    (two_tapes, [(10.0, 2.0), (0.5, 8.0), (30.0, 0.4), (3000.0, 2.0)]),  # two tapes
    (under_an_if, [(-3.0,), (0.5,), (300.0,)]),  # inside an if on data
    (guarded_newton, [(-1.0,), (0.3,), (50.0,)]),  # after an early return
    (inside_a_for, [(0.3,), (7.5,)]),  # inside an unrolled for: three loops
    (range_of_int, [(-2.5,), (0.3,), (4.2,)]),  # for over range(int(x))
    (floor_steps, [(-1.0, 0.5), (0.4, 1.2), (3.1, 0.8)]),
]


@pytest.mark.parametrize("f, points", CASES, ids=[f.__name__ for f, _ in CASES])
def test_a_while_on_data_compiles_and_matches_the_reference(tmp_path, f, points):
    text = emit(f, language="c")
    assert "for (;;) {" in text
    library = compile_library(tmp_path, {f.__name__: text})
    g = grad(f)
    for point in points:
        got, (value, got_vg) = call(library, f.__name__, len(point), len(point), point)
        assert value == f(*point)
        want = mp_grad(f, point)
        assert_reference(got, want, 1e-9)
        assert_reference(got_vg, want, 1e-9)
        assert_close_all(got, g(*point), 1e-12)


def test_the_tape_grows_by_doubling_and_is_freed_on_every_path():
    text = emit(two_tapes, language="c")
    for name in ("two_tapes_grad", "two_tapes_value_and_grad"):
        body = text[re.search(rf"^\w+ {name}\(", text, re.MULTILINE).start():]
        body = body[:body.index("\n}\n")]
        assert body.count("realloc(") == 2 and "malloc(" not in body
        tapes = re.findall(r"double \*(\w+) = NULL;", body)
        assert len(tapes) == 2
        # each failure path frees both tapes, then gives NAN and returns; the end frees both
        failures = [m.start() for m in re.finditer(r"== NULL\) \{", body)]
        assert len(failures) == 2
        for at in failures:
            path = body[at:body.index("return", at)]
            assert all(f"free({t});" in path for t in tapes) and "NAN" in path
        tail = body[body.rindex("for (long"):]
        assert all(f"free({t});" in tail for t in tapes)
        assert "2 * " in body  # (the capacity doubles)


def slow(x, c):  # (c below 3 pi / 2, where the step 1 + sin(y) would vanish: it ends)
    y = x
    while y < c:
        y = y + 0.0001 * (1.0 + math.sin(y))
    return y * y


def test_a_long_loop_grows_its_tape_many_times(tmp_path):
    # some 30,000 iterations: the tape of 64 entries doubles nine times
    text = emit(slow, language="c")
    library = compile_library(tmp_path, {"slow": text})
    got, _ = call(library, "slow", 2, 2, (0.0, 4.0))
    assert_close_all(got, grad(slow)(0.0, 4.0), 1e-10)


REALLOC = ("#include <stdlib.h>\n#define realloc failing_realloc\n"
           "void *failing_realloc(void *p, size_t n);\n")
FAILING = """\
#include <stdlib.h>
static int calls = 0;
int realloc_calls_before_failing = 0;
void *failing_realloc(void *p, size_t n);
void *failing_realloc(void *p, size_t n)
{
    if (calls++ >= realloc_calls_before_failing) return NULL;
    return realloc(p, n);
}
void reset_realloc(int before_failing);
void reset_realloc(int before_failing) { calls = 0; realloc_calls_before_failing = before_failing; }
"""


@pytest.mark.parametrize("before_failing", [0, 1, 2])
def test_realloc_failing_gives_nan(tmp_path, before_failing):
    """Where growing a tape fails (the first time, or after the first loop's tape grew), every
    result is NAN; valgrind, where installed, finds every block freed on that path too."""
    if CC is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH")
    text = emit(two_tapes, language="c")
    (tmp_path / "loops.c").write_text(text.replace("#include <stdlib.h>\n", REALLOC))
    (tmp_path / "failing.c").write_text(FAILING)
    library = tmp_path / "libfail.so"
    run = subprocess.run([CC, *FLAGS, "-o", str(library), str(tmp_path / "loops.c"),
                          str(tmp_path / "failing.c"), "-lm"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    loaded = ctypes.CDLL(str(library))
    loaded.reset_realloc(before_failing)
    point = (3000.0, 2.0)  # over 64 iterations in neither loop: one realloc per loop
    got, _ = call(loaded, "two_tapes", 2, 2, point)
    if before_failing < 2:
        assert all(math.isnan(v) for v in got)
    else:
        assert_close_all(got, grad(two_tapes)(*point), 1e-12)


VALGRIND = shutil.which("valgrind")
DRIVER = """\
#include <stdio.h>
void two_tapes_grad(double, double, double *, double *);
double two_tapes_value_and_grad(double, double, double *, double *);
void slow_grad(double, double, double *, double *);
int main(void)
{
    double d[2];
    two_tapes_grad(30.0, 0.4, d, d + 1);
    printf("%.17g %.17g\\n", d[0], d[1]);
    printf("%.17g\\n", two_tapes_value_and_grad(0.5, 8.0, d, d + 1));
    slow_grad(0.0, 3.0, d, d + 1);
    printf("%.17g %.17g\\n", d[0], d[1]);
    return 0;
}
"""


@pytest.mark.skipif(VALGRIND is None or CC is None, reason="needs valgrind and a C compiler")
def test_valgrind_finds_no_leak_and_no_invalid_access(tmp_path):
    (tmp_path / "two_tapes.c").write_text(emit(two_tapes, language="c"))
    (tmp_path / "slow.c").write_text(emit(slow, language="c"))
    (tmp_path / "main.c").write_text(DRIVER)
    program = tmp_path / "loops"
    run = subprocess.run([CC, "-std=c99", "-O1", "-g", "-o", str(program), str(tmp_path / "two_tapes.c"),
                          str(tmp_path / "slow.c"), str(tmp_path / "main.c"), "-lm"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([VALGRIND, "--leak-check=full", "--error-exitcode=9", str(program)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "All heap blocks were freed" in run.stderr and "ERROR SUMMARY: 0 errors" in run.stderr
    first, second, third = run.stdout.splitlines()
    assert_close_all(tuple(map(float, first.split())), grad(two_tapes)(30.0, 0.4), 1e-12)
    assert close(float(second), two_tapes(0.5, 8.0), 1e-15)
    assert_close_all(tuple(map(float, third.split())), grad(slow)(0.0, 3.0), 1e-10)


def test_sqrt_checkpoints_of_a_while_are_refused_at_the_loop():
    # (int checkpoints of a while in C: tests/test_checkpoints.py)
    with pytest.raises(ExportError) as info:
        emit(newton_sqrt, language="c", checkpoint="sqrt")
    assert info.value.lineno == newton_sqrt.__code__.co_firstlineno + 2
    assert "checkpoint='sqrt'" in str(info.value)
