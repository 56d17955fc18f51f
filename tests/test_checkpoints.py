"""Checkpointed loops (issue 13): ``grad(f, checkpoint=K)`` keeps every K-th state of a loop kept
as a loop, and the reverse sweep recomputes each segment from its checkpoint.

Every gradient is compared with the independent reference (``tests/reference.py``: the user's
source re-run over mpmath at 50 digits) or a closed form differentiated by SymPy, at trip counts
that are not a multiple of K, smaller than K, 0 and 1, and for ``while`` loops on data at points
on both sides of every exit.
"""

import math
import re
import tracemalloc

import pytest
import sympy

import symdiff
from symdiff import ExportError, emit, grad, value_and_grad

from .markers import marker_line
from .reference import close, mp_grad
from .test_c_code import call, compile_library
from .test_c_loops import call_with_counts
from .test_loops import LORENZ_POINT, lorenz
from .test_while_loops import breaks, check, halve, iterations, kept_as_a_while, search, skips

HERE = __file__
WRT6 = (0, 1, 2, 3, 4, 5)


def checkpointed(g):
    """Whether the generated gradient runs a checkpointed loop's segments, last first."""
    return re.search(r"^\s+for _c\w* in range\(len\(_checkpoints\w*\) - 1, -1, -1\):", g.source,
                     re.MULTILINE) is not None


# ---- a for loop over range(T), T an int argument (one build for every T) ----
@pytest.mark.parametrize("k, trips", [(7, (0, 1, 5, 7, 37)), (1, (0, 1, 3)), (10, (40, 150)),
                                      ("sqrt", (0, 1, 2, 5, 37, 150))])
def test_lorenz_checkpointed_against_mpmath(k, trips):
    g = grad(lorenz, wrt=WRT6, checkpoint=k)
    for T in trips:
        check(g, lorenz, (*LORENZ_POINT, T), wrt=WRT6, rtol=1e-9)
    assert checkpointed(g)


def test_value_and_grad_is_the_same_with_and_without_checkpoints():
    plain = value_and_grad(lorenz, wrt=WRT6)
    for k in (3, 64, "sqrt"):
        g = value_and_grad(lorenz, wrt=WRT6, checkpoint=k)
        for T in (0, 1, 2, 63, 64, 65, 1000):
            value, grads = g(*LORENZ_POINT, T)
            assert value == lorenz(*LORENZ_POINT, T)
            want = plain(*LORENZ_POINT, T)[1]
            assert all(abs(a - b) <= 1e-12 * abs(b) for a, b in zip(grads, want)), (k, T)


# ---- a constant trip count: K (and "sqrt") known at build time ----
def decay45(x, a):
    for i in range(45):  # DECAY45
        x = x * a + math.sin(x + 0.01 * i) * 0.1
    return x


def stepped(x, a):
    for i in range(5, 105, 3):  # 34 iterations; the counter start + 3k in the body
        x = x * a + math.cos(x * i) * 0.01
    return x


@pytest.mark.parametrize("k", [1, 4, 10, 44, 45, 100, "sqrt"])
def test_a_constant_trip_count(k):
    g = grad(decay45, checkpoint=k)
    assert checkpointed(g)
    for point in [(0.3, 0.9), (-1.1, 1.01)]:
        check(g, decay45, point, rtol=1e-9)


def test_sqrt_of_a_constant_trip_count_is_its_square_root():
    assert "% 6 == 0:" in grad(decay45, checkpoint="sqrt").source  # isqrt(45) = 6


@pytest.mark.parametrize("k", [4, "sqrt"])
def test_a_range_with_a_start_and_a_step(k):
    g = grad(stepped, checkpoint=k)
    assert checkpointed(g)
    check(g, stepped, (0.3, 0.9), rtol=1e-9)


# ---- while loops on data: the segments counted as the forward loop runs ----
@pytest.mark.parametrize("k", [1, 2, 3, "sqrt"])
@pytest.mark.parametrize("x, n", [(0.5, 0), (-3.0, 0), (1.5, 1), (2.5, 2), (100.0, 7), (1e5, 17)])
def test_halving_checkpointed_on_both_sides_of_every_exit(k, x, n):
    assert iterations(halve, x) == n
    g = grad(halve, checkpoint=k)
    assert kept_as_a_while(g)
    assert not checkpointed(g)  # linear: its reverse reads no state, so there is no tape at all
    t = sympy.Symbol("t")
    assert close(g(x), sympy.diff((t / 2**n) ** 2, t).subs(t, x))  # y = x / 2**n
    check(g, halve, (x,))


@pytest.mark.parametrize("k", [2, "sqrt"])
@pytest.mark.parametrize("x, n", [(0.5, 0), (2.0, 0), (5.0, 1), (20.0, 3), (7.0, 2)])
def test_a_break_on_data_checkpointed(k, x, n):
    assert iterations(breaks, x) == n
    g = value_and_grad(breaks, checkpoint=k)
    assert checkpointed(g)  # (the state: the test 'x < 3.0' of every iteration)
    assert g(x)[0] == breaks(x)
    t = sympy.Symbol("t")
    assert close(g(x)[1], sympy.diff((t / 2**n) ** 2, t).subs(t, x))
    check(grad(breaks, checkpoint=k), breaks, (x,))


@pytest.mark.parametrize("point", [(0.5, 1.0), (12.0, 0.7), (-1.0, 0.3), (3.3, 2.5)])
def test_a_continue_on_data_checkpointed(point):
    check(grad(skips, checkpoint=2), skips, point)


def long_contraction(x, c):
    y = x
    while abs(y) > 1e-9:  # CONTRACTION
        y = y * c + 0.001 * math.sin(y)
    return y + x


@pytest.mark.parametrize("k", [5, 32, "sqrt"])
def test_a_long_while_loop(k):
    # about 300 to 2,000 iterations: many segments, K doubled several times for "sqrt"
    g = grad(long_contraction, checkpoint=k)
    assert checkpointed(g)
    for point in [(2.0, 0.95), (0.5, 0.99)]:
        check(g, long_contraction, point, rtol=1e-8)


@pytest.mark.parametrize("k", [1, 2, "sqrt"])
@pytest.mark.parametrize("point", [(3.0, 5.0), (0.5, 5.0), (0.5, 1.0), (6.0, 5.0), (-0.5, 3.0)])
def test_a_return_inside_a_checkpointed_while(k, point):
    g = value_and_grad(search, checkpoint=k)
    assert g(*point)[0] == search(*point)
    check(grad(search, checkpoint=k), search, point)


# ---- memory: O(T/K + K) states instead of O(T) ----
def peak_bytes(g, *args):
    g(*args)  # (built and warmed up)
    tracemalloc.start()
    try:
        g(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_tape_shrinks_to_the_checkpoints_and_one_segment():
    T = 20000
    full = peak_bytes(grad(lorenz, wrt=WRT6), *LORENZ_POINT, T)
    every_100 = peak_bytes(grad(lorenz, wrt=WRT6, checkpoint=100), *LORENZ_POINT, T)
    root = peak_bytes(grad(lorenz, wrt=WRT6, checkpoint="sqrt"), *LORENZ_POINT, T)
    assert full > 100 * T  # a tuple of three floats per step
    assert every_100 < full / 20 and root < full / 20


def test_the_code_does_not_grow_with_k_or_t():
    sizes = {len(re.sub(r"\d+", "N", grad(decay45, checkpoint=k).source)) for k in (2, 3, 10)}
    assert len(sizes) == 1


# ---- the option: where it goes, what it refuses ----
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError),
                                        ("log", TypeError), (True, TypeError)])
def test_a_checkpoint_that_is_not_a_count_is_refused(bad, error):
    with pytest.raises(error, match="checkpoint"):
        grad(lorenz, checkpoint=bad)


def test_the_option_is_the_gradients_own():
    g = grad(decay45, checkpoint=9)
    assert g.checkpoint == 9 and grad(decay45).checkpoint is None
    assert checkpointed(g) and not checkpointed(grad(decay45))


def test_emit_python_keeps_the_checkpoints():
    namespace = {}
    exec(emit(decay45, checkpoint=8), namespace)
    assert "_checkpoints" in emit(grad(decay45, checkpoint=8))  # the gradient's own setting
    for point in [(0.3, 0.9), (-1.1, 1.01)]:
        got = namespace["decay45_grad"](*point)
        want = mp_grad(decay45, point)
        assert all(close(a, b, rtol=1e-9) for a, b in zip(got, want))


# ---- in C: the checkpoints and one segment's tape in the function's buffer ----
@pytest.mark.parametrize("k", [1, 7, 10, 45, 100, "sqrt"])
def test_c_checkpoints_of_a_constant_trip_count(tmp_path, k):
    text = emit(decay45, language="c", checkpoint=k)
    assert "_checkpoints" in text and "_segment" in text
    library = compile_library(tmp_path, {"decay45": text})
    for point in [(0.3, 0.9), (-1.1, 1.01)]:
        got, (value, got_vg) = call(library, "decay45", 2, 2, point)
        assert value == decay45(*point)
        want = mp_grad(decay45, point)
        assert all(close(a, b, rtol=1e-9) for a, b in zip(got, want))
        assert got == got_vg == grad(decay45)(*point)  # the same operations on the same values


def test_c_checkpoints_of_a_long_trip_count(tmp_path):
    text = emit(lorenz, wrt=WRT6, language="c", args=(*LORENZ_POINT, 100), checkpoint=7)
    assert "long T" in text
    library = compile_library(tmp_path, {"lorenz": text})
    plain = grad(lorenz, wrt=WRT6)
    for T in (-3, 0, 1, 5, 7, 37, 1000):
        got, _ = call_with_counts(library, "lorenz", (*LORENZ_POINT, T), 6, {6})
        assert got == plain(*LORENZ_POINT, T), T
        if 0 <= T <= 40:
            want = mp_grad(lorenz, (*LORENZ_POINT, T), wrt=WRT6)
            assert all(close(a, b, rtol=1e-9) for a, b in zip(got, want))


@pytest.mark.parametrize("f, points", [
    (search, [(3.0, 5.0), (0.5, 5.0), (0.5, 1.0), (6.0, 5.0), (-0.5, 3.0)]),
    (breaks, [(0.5,), (2.0,), (5.0,), (20.0,)]),
    (long_contraction, [(2.0, 0.95), (0.5, 0.99)]),
])
def test_c_checkpoints_of_a_while_on_data(tmp_path, f, points):
    text = emit(f, language="c", checkpoint=3)
    assert "realloc(" in text and "% 3 == 0" in text
    library = compile_library(tmp_path, {f.__name__: text})
    for point in points:
        got, (value, _) = call(library, f.__name__, len(point), len(point), point)
        assert value == f(*point)
        assert got == grad(f)(*point)
        got = got if isinstance(got, tuple) else (got,)
        want = mp_grad(f, point)
        assert all(close(a, b, rtol=1e-8) for a, b in zip(got, want)), (point, got, want)


def test_c_takes_sqrt_only_of_a_constant_trip_count():
    with pytest.raises(ExportError) as info:
        emit(long_contraction, language="c", checkpoint="sqrt")
    assert info.value.lineno == marker_line(HERE, "CONTRACTION")
    assert "checkpoint='sqrt'" in str(info.value) and info.value.hint


def test_a_function_without_a_rolled_loop_ignores_it():
    g = grad(lambda x: x * x, checkpoint=4)
    assert g(3.0) == 6.0 and not checkpointed(g)


def test_jacobian_and_hessian_do_not_take_it():
    with pytest.raises(TypeError):
        symdiff.jacobian(decay45, checkpoint=4)


# ---- a loop carrying arrays (the RNN of tests/test_array_loops.py) ----
@pytest.mark.parametrize("k", [4, "sqrt"])
@pytest.mark.parametrize("T", [0, 1, 3, 35])
def test_an_rnn_checkpointed_against_mpmath(k, T):
    from .test_array_loops import check as check_arrays, point, rnn

    g = grad(rnn, wrt=(0, 1, 2, 3), checkpoint=k)
    check_arrays(g, rnn, point(T), wrt=(0, 1, 2, 3))
    if T >= 32:  # (a loop kept as a loop: 32 iterations and more)
        assert checkpointed(g)
