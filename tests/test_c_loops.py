"""symdiff.emit(language="c") of rolled loops (issue 13): a long ``for`` over a ``range`` is a C
``for`` loop pushing what the reverse needs onto a tape in one ``malloc``'d buffer, and a C
``for`` loop running the iterations last first; the text does not grow with the trip count.

Every compiled gradient is compared with the Python gradient and, where the trip count allows,
with the independent reference (``tests/reference.py``: the user's source re-run over mpmath at
50 digits).
"""

import ctypes
import math
import re
import shutil
import subprocess

import pytest

from symdiff import ExportError, emit, grad, value_and_grad
from symdiff.frontend.loops import ROLL_THRESHOLD

from .reference import close as near, mp_grad, mp_value
from .test_c_code import CC, FLAGS, call, close, compile_library
from .test_loops import (LORENZ_POINT, accumulate, body_local_after, calls_a_helper, counter_in_body,
                         if_on_data, lorenz, lorenz_10k, loops_in_helpers, nested_loops, rolled,
                         swap, with_count)

WRT6 = (0, 1, 2, 3, 4, 5)


def c_loops(text):
    """The C ``for`` loops of a file: forward (``< T``) and reverse (``>= 0``) headers."""
    return re.findall(r"^\s*for \(long \w+ = [^;]+; \w+ (<|>=) [^;]+; [-+]{2}\w+\) \{$", text, re.MULTILINE)


def assert_close_all(got, want, rtol):
    """``got`` (C's results) equal ``want`` (Python's) to ``rtol`` relative."""
    got, want = _tuples(got, want)
    for a, b in zip(got, want):
        assert close(float(a), float(b), rtol), (got, want)


def assert_reference(got, want, rtol):
    """``got`` equal the mpmath ``want`` to ``rtol`` relative (1e-12 absolute: 50-digit finite
    differences give 0 for a derivative of 1e-110)."""
    got, want = _tuples(got, want)
    for a, b in zip(got, want):
        assert near(float(a), b, rtol), (got, want)


def _tuples(got, want):
    got = got if isinstance(got, tuple) else (got,)
    want = tuple(want) if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    return got, want


def call_with_counts(library, name, point, nwrt, counts):
    """Like ``test_c_code.call``, the positions in ``counts`` passed as C ``long`` (trip
    counts the generated functions take at run time)."""
    types = [ctypes.c_long if k in counts else ctypes.c_double for k in range(len(point))]
    args = [t(v) for t, v in zip(types, point)]
    outputs = [ctypes.c_double() for _ in range(nwrt)]
    pointers = [ctypes.byref(o) for o in outputs]
    grad_fn, vg_fn = getattr(library, f"{name}_grad"), getattr(library, f"{name}_value_and_grad")
    grad_fn.argtypes = vg_fn.argtypes = [*types, *[ctypes.POINTER(ctypes.c_double)] * nwrt]
    grad_fn.restype, vg_fn.restype = None, ctypes.c_double
    grad_fn(*args, *pointers)
    gradient = tuple(o.value for o in outputs)
    value = vg_fn(*args, *pointers)
    return gradient, (value, tuple(o.value for o in outputs))


def lorenz_40(x, y, z, s, r, b):
    dt = 0.001
    for _ in range(40):
        dx = s * (y - x)
        dy = x * (r - z) - y
        dz = x * y - b * z
        x, y, z = x + dt * dx, y + dt * dy, z + dt * dz
    return x + y + z


def test_lorenz_forty_steps_compiles_to_loops_and_matches_the_reference(tmp_path):
    text = emit(lorenz_40, language="c")
    assert c_loops(text).count("<") == 2 and c_loops(text).count(">=") == 2  # grad, value_and_grad
    assert "malloc(sizeof(double) * ((size_t)121))" in text  # 40 steps x 3 numbers, + 1
    assert text.count("free(_tape);") == 2
    library = compile_library(tmp_path, {"lorenz_40": text})
    got_grad, (got_value, got_vg) = call(library, "lorenz_40", 6, 6, LORENZ_POINT)
    want = mp_grad(lorenz_40, LORENZ_POINT)
    assert_reference(got_grad, want, 1e-9)
    assert_reference(got_vg, want, 1e-9)
    assert close(got_value, float(mp_value(lorenz_40, LORENZ_POINT)), 1e-12)
    python = value_and_grad(lorenz_40)(*LORENZ_POINT)
    assert close(got_value, python[0], 1e-13)
    assert_close_all(got_grad, python[1], 1e-12)


def test_lorenz_ten_thousand_steps_is_a_few_dozen_lines_of_c(tmp_path):
    text = emit(lorenz_10k, language="c")
    grad_function = text[text.index("void lorenz_10k_grad("):text.index("/* Value of lorenz_10k")]
    assert len(grad_function.splitlines()) < 120, len(grad_function.splitlines())
    assert len(text.splitlines()) < 300
    library = compile_library(tmp_path, {"lorenz_10k": text})
    got_grad, (got_value, got_vg) = call(library, "lorenz_10k", 6, 6, LORENZ_POINT)
    value, python = value_and_grad(lorenz_10k)(*LORENZ_POINT)
    assert close(got_value, value, 1e-12)
    assert_close_all(got_grad, python, 1e-10)
    assert_close_all(got_vg, python, 1e-10)
    assert got_grad == got_vg


def test_the_c_text_does_not_grow_with_the_trip_count():
    small, large = emit(lorenz_40, language="c"), emit(lorenz_10k, language="c")
    code = [re.sub(r"\d+", "N", text[text.index("#include"):].replace("lorenz_10k", "lorenz_40"))
            for text in (small, large)]
    assert code[0] == code[1]  # the same C but for the numbers
    assert len(small.splitlines()) == len(large.splitlines())


def test_lorenz_with_t_an_int_argument_is_one_c_function_for_every_t(tmp_path):
    """``range(T)`` of an int argument ``T``: the C functions take ``long T`` (one compiled
    function for every trip count, 0 and negative ones included: no iteration)."""
    texts = {emit(lorenz, wrt=WRT6, language="c", args=(*LORENZ_POINT, T)) for T in (3, 40, 10000)}
    assert len(texts) == 1
    (text,) = texts
    assert "void lorenz_grad(double x, double y, double z, double s, double r, double b, long T," in text
    assert len(c_loops(text)) == 4
    library = compile_library(tmp_path, {"lorenz": text})
    g = value_and_grad(lorenz, wrt=WRT6)
    for T in (0, 1, 2, ROLL_THRESHOLD, 40, 10000, -3):
        args = (*LORENZ_POINT, T)
        got_grad, (got_value, got_vg) = call_with_counts(library, "lorenz", args, 6, {6})
        value, python = g(*args)
        assert close(got_value, value, 1e-12), T
        assert_close_all(got_grad, python, 1e-10)
        assert got_grad == got_vg
        if abs(T) <= 40:
            want = mp_grad(lorenz, args, wrt=WRT6)
            assert_reference(got_grad, want, 1e-9)
        if T <= 0:  # no iteration: d(x + y + z) = (1, 1, 1, 0, 0, 0)
            assert got_grad == (1.0, 1.0, 1.0, 0.0, 0.0, 0.0)
    # a count whose tape no size_t can hold: NAN, as where malloc fails (never a short buffer)
    got_grad, (got_value, got_vg) = call_with_counts(library, "lorenz", (*LORENZ_POINT, 2**62), 6, {6})
    assert all(math.isnan(v) for v in (*got_grad, got_value, *got_vg))


def test_a_range_of_an_int_argument(tmp_path):
    """``range(n)`` of an int argument below, at and above the threshold, and 0."""
    text = emit(with_count, wrt=(0, 1), language="c", args=(0.3, 0.9, 5))
    assert "long n" in text and len(c_loops(text)) == 4
    library = compile_library(tmp_path, {"with_count": text})
    for n in (0, 1, ROLL_THRESHOLD - 1, ROLL_THRESHOLD, 100):
        args = (0.3, 0.9, n)
        got_grad, (got_value, got_vg) = call_with_counts(library, "with_count", args, 2, {2})
        want = mp_grad(with_count, args, wrt=(0, 1))
        assert_reference(got_grad, want, 1e-10)
        assert_reference(got_vg, want, 1e-10)
        assert close(got_value, float(mp_value(with_count, args, wrt=(0, 1))), 1e-12)
        assert_close_all(got_grad, grad(with_count, wrt=(0, 1))(*args), 1e-13)
        if n == 0:
            assert got_grad == (1.0, 0.0)


def ifs_after_the_loop(x, a):
    for i in range(60):
        x = x * a + math.sin(x) * 0.1
    if x > 0.5:
        return x * x
    return math.cos(x)


def loop_in_a_branch(x, a):
    if a > 0.0:
        for i in range(50):
            x = x * a + math.cos(x) * 0.05
        return x
    return x * a


def two_loops(x, a):
    for i in range(40):
        x = x * a + math.sin(x) * 0.1
    y = x
    for j in range(50):
        y = y * 0.9 + math.cos(y) * a
    return x * y


@pytest.mark.parametrize("f, points, kept", [
    (two_loops, [(0.3, 0.9), (-0.8, 1.05)], True),  # two tapes in one buffer
    (nested_loops, [(0.4,), (-0.9,)], True),  # the outer loop unrolls: 40 inner loops, 40 tapes
    (loops_in_helpers, [(0.3, 0.7), (-2.0, 1.3)], True),  # a helper's loop, in a loop
    (calls_a_helper, [(0.5, 0.9), (-0.4, 1.01)], True),  # a body calling a user helper
    (body_local_after, [(0.6, 0.8), (-0.9, 1.1)], True),  # a body-local name read after it
    (if_on_data, [(0.3,), (0.7,), (2.0,)], True),  # an if on data in the body: in both loops
    (ifs_after_the_loop, [(0.3, 0.9), (1.5, 1.01), (0.2, -0.5)], True),  # both sides of the if
    (loop_in_a_branch, [(0.3, 0.9), (0.3, -0.9)], False),  # in an arm of an if on data: unrolls
    (counter_in_body, [(0.2, 0.9), (-0.5, 0.99)], True),  # range(300, 0, -3), the counter read
    (swap, [(0.4, -0.3, 0.7), (-1.1, 0.2, -0.6)], True),  # carried values swapped
    (accumulate, [(0.3, 0.2), (-1.3, -0.5)], True),  # range(5, 105), an accumulator
])
def test_loops_beside_branches_and_counters(tmp_path, f, points, kept):
    """C keeps a loop where Python does (``test_loops.rolled``), and unrolls the others."""
    text = emit(f, language="c")
    library = compile_library(tmp_path, {f.__name__: text})
    g = grad(f)
    for point in points:
        got, (_, got_vg) = call(library, f.__name__, len(point), len(point), point)
        want = mp_grad(f, point)
        assert_reference(got, want, 1e-9)
        assert_reference(got_vg, want, 1e-9)
        assert_close_all(got, g(*point), 1e-12)
    assert bool(c_loops(text)) == rolled(g) == kept


def test_malloc_failing_gives_nan_and_frees_nothing(tmp_path):
    """Every result is NAN where the tape cannot be allocated (malloc replaced by one that
    fails)."""
    text = emit(lorenz_40, language="c")
    failing = "#include <stddef.h>\nvoid *failing_malloc(size_t n);\nvoid *failing_malloc(size_t n) { (void)n; return NULL; }\n"
    if CC is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH")
    (tmp_path / "lorenz.c").write_text(text.replace("#include <stdlib.h>\n", "#include <stdlib.h>\n#define malloc failing_malloc\nvoid *failing_malloc(size_t n);\n"))
    (tmp_path / "failing.c").write_text(failing)
    library = tmp_path / "libfail.so"
    run = subprocess.run([CC, *FLAGS, "-o", str(library), str(tmp_path / "lorenz.c"),
                          str(tmp_path / "failing.c"), "-lm"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    got_grad, (got_value, got_vg) = call(ctypes.CDLL(str(library)), "lorenz_40", 6, 6, LORENZ_POINT)
    assert all(math.isnan(v) for v in (*got_grad, got_value, *got_vg))


def test_every_path_frees_its_tape():
    """Each function allocates once, and frees before its one return (the failure path returns
    before anything is allocated)."""
    text = emit(lorenz_10k, language="c")
    for name in ("lorenz_10k_grad", "lorenz_10k_value_and_grad"):
        body = text[re.search(rf"^\w+ {name}\(", text, re.MULTILINE).start():]
        body = body[:body.index("\n}\n")]
        assert body.count("= malloc(") == 1 and body.count("free(") == 1
        returns = [m.start() for m in re.finditer(r"^ *return\b", body, re.MULTILINE)]
        failure, *others = returns
        assert body.index("== NULL") < failure < body.index("free(")
        assert all(r > body.index("free(") for r in others)


VALGRIND = shutil.which("valgrind")
DRIVER = """\
#include <stdio.h>
void lorenz_10k_grad(double, double, double, double, double, double, double *, double *, double *, double *, double *, double *);
double lorenz_10k_value_and_grad(double, double, double, double, double, double, double *, double *, double *, double *, double *, double *);
int main(void)
{
    double d[6];
    lorenz_10k_grad(1.0, 1.2, 0.8, 10.0, 28.0, 8.0 / 3.0, d, d + 1, d + 2, d + 3, d + 4, d + 5);
    printf("%.17g\\n", lorenz_10k_value_and_grad(1.0, 1.2, 0.8, 10.0, 28.0, 8.0 / 3.0, d, d + 1, d + 2, d + 3, d + 4, d + 5));
    return 0;
}
"""


@pytest.mark.skipif(VALGRIND is None or CC is None, reason="needs valgrind and a C compiler")
def test_valgrind_finds_no_leak_and_no_invalid_access(tmp_path):
    (tmp_path / "lorenz.c").write_text(emit(lorenz_10k, language="c"))
    (tmp_path / "main.c").write_text(DRIVER)
    program = tmp_path / "lorenz"
    run = subprocess.run([CC, "-std=c99", "-O1", "-g", "-o", str(program), str(tmp_path / "lorenz.c"),
                          str(tmp_path / "main.c"), "-lm"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([VALGRIND, "--leak-check=full", "--error-exitcode=9", str(program)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "All heap blocks were freed" in run.stderr and "ERROR SUMMARY: 0 errors" in run.stderr
    value = value_and_grad(lorenz_10k)(*LORENZ_POINT)[0]
    assert close(float(run.stdout), value, 1e-12)


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def test_a_while_on_data_is_a_c_loop_with_a_growing_tape():
    # (compiled and checked against mpmath in tests/test_c_while.py)
    text = emit(newton_sqrt, language="c")
    assert "for (;;) {" in text and "realloc(" in text
    assert "if (!(_t2 > 1e-12)) break;" in text and "free(_tape);" in text
