"""Loops kept as loops (issue 13), two more shapes of them: ``while`` loops on data that carry
arrays (and read lists), and rolled ``for`` loops whose body has an ``if`` on data (a ``Branch``
in the body, both arms recomputed from the tape in the reverse loop, as ``while`` bodies do).

Every gradient is compared with the independent reference (``tests/reference.py``: the user's
source re-run over mpmath at 50 digits) or a derivative written by hand, at points on both
sides of every data-dependent exit and branch: 0, 1 and many iterations, and branches that flip
in the middle of a loop (counted by running the user's own function under a line tracer). A loop
that could hang runs in a forked child. C export compiles the loops of numbers with the system
compiler; what C cannot take (a ``while`` carrying an array) is a located refusal. ``jacobian``
keeps these loops too (against ``mp_jacobian``), and ``formulas`` of a ``for`` with an ``if``
are Piecewise recurrences (run at 30 digits by ``tests/formula_values.py``).
"""

import math
import re
import sys

import numpy as np
import pytest

from symdiff import SymdiffError, emit, grad, jacobian, value_and_grad

from .formula_values import evaluate
from .isolated import in_child
from .markers import marker_line
from .reference import close_array, mp_grad, mp_jacobian
from .test_c_code import call, compile_library
from .test_c_loops import assert_close_all, assert_reference
from .test_while_loops import kept_as_a_while

HERE = __file__


def line_of(marker):
    return marker_line(HERE, marker)


def hits(f, args, *markers):
    """How many times each line of ``f`` ending with ``# <marker>`` runs in ``f(*args)``: the
    test's own evidence that its points reach every exit and both arms of every branch."""
    lines = [line_of(m) for m in markers]
    counts = dict.fromkeys(lines, 0)

    def tracing(frame, event, arg):
        if event == "line" and frame.f_code is f.__code__ and frame.f_lineno in counts:
            counts[frame.f_lineno] += 1
        return tracing

    old = sys.gettrace()
    sys.settrace(tracing)
    try:
        f(*args)
    finally:
        sys.settrace(old)
    return [counts[n] for n in lines]


def rolled_for(g):
    """Whether the generated gradient keeps a ``for`` loop: a reverse ``for`` over its range."""
    return re.search(r"^\s+for \w+ in range\(\d+, -1, -1\):", g.source, re.MULTILINE) is not None


def short(g, most=80):
    """The generated source is a loop's size, not an unrolled trace's."""
    return len(g.source.splitlines()) <= most


def check(g, f, args, wrt=None, rtol=1e-10, atol=1e-12):
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = mp_grad(f, args, wrt)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        bad = close_array(np.asarray(a, dtype=float).reshape(np.shape(b)), b, rtol=rtol, atol=atol)
        assert not bad, (args, bad[:3])


# ======== while loops on data carrying arrays ========
def shrink(v):
    while np.sum(v * v) > 1.0:
        v = 0.9 * v  # SHRINK
    return np.sum(v)


@pytest.mark.parametrize("v, k", [([0.3, 0.4], 0), ([0.6, 0.79], 0), ([0.7, 0.8], 1),
                                  ([1.0, 2.0, -0.5], 8), ([30.0, -40.0], 38)])
def test_a_shrinking_vector_against_the_hand_derivative(v, k):
    v = np.array(v)
    assert hits(shrink, (v,), "SHRINK") == [k]
    g = grad(shrink)
    got = g(v)
    assert np.allclose(got, 0.9 ** k * np.ones_like(v), rtol=1e-14, atol=0)  # d sum(0.9**k v)/dv
    check(g, shrink, (v,))
    assert kept_as_a_while(g) and short(g, 40)


def power_iteration(A, v):
    v_old = v * 0.0
    while np.linalg.norm(v - v_old) > 1e-10:
        v_old = v
        w = A @ v  # POWER
        v = w / np.linalg.norm(w)
    return v @ A @ v


def _symmetric(seed, n=3):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    return B + B.T + np.diag(np.arange(n) * 3.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_power_iteration_carrying_v_and_reading_A(seed):
    A, v = _symmetric(seed), np.array([1.0, 0.5, 0.2])
    assert hits(power_iteration, (A, v), "POWER")[0] > 10
    g = grad(power_iteration)
    check(g, power_iteration, (A, v), rtol=1e-8, atol=1e-10)
    dA, _ = g(A, v)
    values, vectors = np.linalg.eigh(A)  # by hand: d lambda/dA = u u^T at convergence
    u = vectors[:, np.argmax(np.abs(values))]
    assert np.allclose(dA, np.outer(u, u), atol=1e-6)
    assert kept_as_a_while(g) and short(g, 60)
    assert "_tape.append((" in g.source  # (w and its square, taped by reference, not recomputed)


def descent(x, c):
    g = 2.0 * (x - c)
    while np.sqrt(np.sum(g * g)) > 1e-8:
        x = x - 0.1 * g  # DESCENT
        g = 2.0 * (x - c) + 0.1 * np.sin(x)
    return np.sum(x * x)


@pytest.mark.parametrize("x, c", [([1.0, 2.0], [0.3, -0.4]), ([0.3, -0.4], [0.3, -0.4]),
                                  ([-3.0, 5.0, 0.5], [1.0, 1.0, 1.0])])
def test_gradient_descent_until_the_gradient_is_small(x, c):
    x, c = np.array(x), np.array(c)
    steps = hits(descent, (x, c), "DESCENT")[0]
    assert steps == 0 if np.array_equal(x, c) else steps > 10
    g = grad(descent)
    check(g, descent, (x, c), rtol=1e-9)


def breaks_out(v, s):
    while np.sum(v) < 100.0:
        v = v * s + 0.1  # BREAKS-BODY
        if np.max(v) > 30.0:
            break  # BREAKS-OUT
    return np.sum(v * v)


@pytest.mark.parametrize("v, s, body, broke", [
    ([100.0, 25.0], 1.5, 0, 0),  # no iteration
    ([1.0, 25.0], 1.5, 1, 1),  # broke out in the first
    ([1.0, 2.0], 1.5, 7, 1),  # broke out later
    ([1.0, 2.0], 1.1, 25, 1),
    ([8.0] * 12, 1.01, 2, 0),  # the condition ended it
])
def test_a_break_on_data_carrying_an_array(v, s, body, broke):
    v = np.array(v)
    assert hits(breaks_out, (v, s), "BREAKS-BODY", "BREAKS-OUT") == [body, broke]
    g = grad(breaks_out)
    check(g, breaks_out, (v, s), rtol=1e-9)
    assert kept_as_a_while(g)


def branches_inside(x, w):
    s = 0.0
    while s < x:
        if np.sum(w) > s:
            w = w * 1.1  # INSIDE-THEN
        else:
            w = w + 0.5  # INSIDE-ELSE
        s = s + np.sum(w * w) * 0.1 + 0.2
    return s + np.sum(w)


@pytest.mark.parametrize("x, w", [(-1.0, [0.5, 0.2]), (0.1, [0.5, 0.2]), (3.0, [0.5, 0.2]),
                                  (8.0, [-0.5, 0.2])])
def test_an_if_on_data_in_a_while_carrying_an_array(x, w):
    w = np.array(w)
    then, orelse = hits(branches_inside, (x, w), "INSIDE-THEN", "INSIDE-ELSE")
    if x > 1.0:
        assert then and orelse  # (both arms, in one call)
    g = grad(branches_inside)
    check(g, branches_inside, (x, w))


def from_a_constant(x):
    v = np.ones(3)
    while np.sum(v) < x:
        v = v * 1.5 + x * 0.1  # CONSTANT
    return np.sum(v * v)


@pytest.mark.parametrize("x, k", [(2.0, 0), (3.5, 1), (50.0, 3)])
def test_an_array_made_before_the_loop(x, k):
    assert hits(from_a_constant, (x,), "CONSTANT") == [k]
    check(grad(from_a_constant), from_a_constant, (x,))


def reads_a_list(x, w):
    while x < 10.0:
        x = x * w[0] + w[1] + len(w) * 0.01  # LIST
    return x


@pytest.mark.parametrize("x, k", [(11.0, 0), (9.0, 1), (1.0, 5)])
def test_a_while_reading_a_list(x, k):
    w = [1.5, 0.2]
    assert hits(reads_a_list, (x, w), "LIST") == [k]
    g = grad(reads_a_list)
    check(g, reads_a_list, (x, w))
    assert kept_as_a_while(g)


def range_of_data(x, v):
    for k in range(int(x)):
        v = v * 0.9 + x  # RANGE
    return np.sum(v * v)


@pytest.mark.parametrize("x, k", [(0.5, 0), (1.5, 1), (7.2, 7)])
def test_a_range_of_data_carrying_an_array(x, k):
    v = np.array([1.0, -2.0])
    assert hits(range_of_data, (x, v), "RANGE") == [k]
    check(grad(range_of_data), range_of_data, (x, v))


@pytest.mark.parametrize("k", [1, 3, "sqrt"])
@pytest.mark.parametrize("f, points", [
    (descent, [(np.array([0.3, -0.4]), np.array([0.3, -0.4])),
               (np.array([1.0, 2.0]), np.array([0.3, -0.4]))]),
    (breaks_out, [(np.array([100.0, 25.0]), 1.5), (np.array([1.0, 25.0]), 1.5),
                  (np.array([1.0, 2.0]), 1.5), (np.array([1.0, 2.0]), 1.1)]),
    (power_iteration, [(_symmetric(0), np.array([1.0, 0.5, 0.2]))]),
])
def test_checkpointed_while_loops_carrying_arrays(k, f, points):
    g, plain = grad(f, checkpoint=k), grad(f)
    for point in points:
        check(g, f, point, rtol=1e-8, atol=1e-10)
        for a, b in zip(g(*point), plain(*point)):  # the same operations on the same values
            assert np.array_equal(a, b)
    assert "_checkpoints" in g.source


def normalised(W, h):
    for t in range(40):
        w = W @ h
        h = w / np.linalg.norm(w)
    return np.sum(h * np.arange(3.0))


@pytest.mark.parametrize("k", [4, "sqrt"])
def test_a_checkpointed_segment_runs_the_forward_operations_again(k):
    """(Each segment's recomputation is folded as the forward loop is: ``w / norm`` there, not
    ``w * (1 / norm)``; the gradient is the same to the last bit.)"""
    rng = np.random.default_rng(0)
    point = (rng.normal(size=(3, 3)), rng.normal(size=3))
    g = grad(normalised, checkpoint=k)
    check(g, normalised, point)
    for a, b in zip(g(*point), grad(normalised)(*point)):
        assert np.array_equal(a, b)


def test_value_and_grad_and_an_emitted_module(tmp_path):
    v = np.array([1.0, 2.0, -0.5])
    value, slope = value_and_grad(shrink)(v)
    assert value == shrink(v)
    namespace = {}
    exec(emit(shrink, args=(v,)), namespace)
    assert np.array_equal(namespace["shrink_grad"](v), slope)
    assert "while True:" in emit(shrink, args=(v,))


# ---- still refused: located at the while line ----
def grows(x, w):
    v = 0.0
    while np.sum(v) < x:  # GROWS
        v = v + w
    return np.sum(v)


def returns_an_array(v):
    while np.sum(v) < 10.0:  # RETURNS-ARRAY
        v = v * 2.0
        if np.max(v) > 6.0:
            return v
    return v * 0.0


def rebinds_a_list(x):
    w = [1.0]
    while x < 5.0:  # REBINDS-LIST
        w = [x, x]
        x = x * 2.0 + w[0]
    return x


@pytest.mark.parametrize("f, args, marker, message", [
    (grows, (3.0, np.array([1.0, 2.0])), "GROWS", "nor an array of the shape it had"),
    (returns_an_array, (np.array([1.0, 2.0]),), "RETURNS-ARRAY", "returns inside is not one number"),
    (rebinds_a_list, (1.0,), "REBINDS-LIST", "rebinds 'w', a list"),
])
def test_what_is_still_refused_is_located(f, args, marker, message):
    with pytest.raises(SymdiffError) as info:
        grad(f)(*args)
    err = info.value
    assert message in str(err) and err.hint
    assert err.filename == HERE and err.lineno == line_of(marker)
    assert err.source_line.strip().startswith("while ")


def test_c_refuses_a_while_carrying_an_array_at_its_line():
    with pytest.raises(SymdiffError) as info:
        emit(shrink, args=(np.array([1.0, 2.0]),), language="c")
    err = info.value
    assert "C export of array code" in str(err) and err.hint
    assert err.filename == HERE and err.lineno == line_of("SHRINK") - 1


def _never_ends(v):
    while np.sum(v) > 0.0:
        v = v * 1.0
    return np.sum(v)


def _build_and_call_where_it_ends():
    g = grad(_never_ends)
    return g(np.array([-1.0, 0.5])).tolist()


def test_a_loop_that_does_not_end_builds_and_hangs_only_where_python_does():
    assert in_child(_build_and_call_where_it_ends, timeout=120) == [1.0, 1.0]


# ======== rolled for loops with an if on data in the body ========
def clipped(x, g):
    for t in range(100):
        if x > 0:
            x = x - 0.01 * g  # CLIP-THEN
        else:
            x = x + 0.01 * x * x  # CLIP-ELSE
    return x


@pytest.mark.parametrize("x, g, then", [(0.31, 3.0, 11), (-0.3, 3.0, 0), (5.0, 3.0, 100),
                                        (0.05, -1.0, 100)])
def test_a_clipped_update_flipping_mid_loop(x, g, then):
    assert hits(clipped, (x, g), "CLIP-THEN", "CLIP-ELSE") == [then, 100 - then]
    gradient = grad(clipped)
    check(gradient, clipped, (x, g))
    assert rolled_for(gradient) and short(gradient, 45)


def three_ways(x, c):
    for t in range(60):
        if x > 1.0:
            x = x - 0.05 * c  # ELIF-1
        elif x > 0.0:
            x = x * 1.1 + 0.01  # ELIF-2
        else:
            x = math.sin(x) + 0.2 * c  # ELIF-3
    return x


@pytest.mark.parametrize("x, c", [(1.7, 0.9), (0.3, 0.9), (-0.5, 1.3)])
def test_elif_arms_all_taken(x, c):
    counts = hits(three_ways, (x, c), "ELIF-1", "ELIF-2", "ELIF-3")
    assert sum(counts) == 60 and sum(1 for n in counts if n) >= 2, counts
    g = grad(three_ways)
    check(g, three_ways, (x, c))
    assert rolled_for(g) and short(g, 60)


def halves_past_one(x, c):
    s = 0.0
    for t in range(50):
        s = s + x * c
        if s > 1.0:
            s = s * 0.5  # ONE-ARM
    return s


@pytest.mark.parametrize("x, c, halved", [(0.3, 0.5, 13), (0.001, 0.5, 0), (-2.0, 0.5, 0)])
def test_an_if_rebinding_in_one_arm(x, c, halved):
    assert hits(halves_past_one, (x, c), "ONE-ARM") == [halved]
    g = grad(halves_past_one)
    check(g, halves_past_one, (x, c))
    assert rolled_for(g) and short(g, 45)


def leaky_rnn(w, u, h, xs):
    for t in range(40):
        a = w * h + u * xs[t]
        if a > 0:
            h = a  # RELU-ON
        else:
            h = 0.01 * a  # RELU-OFF
    return h * h


def test_a_leaky_relu_step_on_numbers():
    xs = list(np.random.default_rng(1).normal(size=40))
    point = (0.9, 0.7, 0.2, xs)
    on, off = hits(leaky_rnn, point, "RELU-ON", "RELU-OFF")
    assert on and off
    g = grad(leaky_rnn, wrt=(0, 1, 2))
    check(g, leaky_rnn, point, wrt=(0, 1, 2))
    assert rolled_for(g) and short(g, 50)


def rnn_with_an_if(W, h0, X):
    h = h0
    for t in range(X.shape[0]):
        a = W @ h + X[t]
        if np.sum(a) > 0.0:
            h = np.tanh(a)  # RNN-THEN
        else:
            h = 0.5 * a  # RNN-ELSE
    return np.sum(h * h)


def test_an_rnn_with_an_if_on_data_on_arrays():
    rng = np.random.default_rng(1)
    point = (rng.normal(size=(3, 3)) * 0.6, rng.normal(size=3), rng.normal(size=(40, 3)))
    then, orelse = hits(rnn_with_an_if, point, "RNN-THEN", "RNN-ELSE")
    assert then and orelse
    g = grad(rnn_with_an_if)
    check(g, rnn_with_an_if, point)
    assert rolled_for(g) and short(g, 60)


@pytest.mark.parametrize("k", [1, 7, "sqrt"])
def test_checkpointed_for_loops_with_an_if(k):
    for f, point in [(clipped, (0.31, 3.0)), (three_ways, (0.3, 0.9)), (halves_past_one, (0.3, 0.5))]:
        g = grad(f, checkpoint=k)
        check(g, f, point)
        assert g(*point) == grad(f)(*point)
        assert "_checkpoints" in g.source


NUMBER_CASES = [
    (clipped, [(0.31, 3.0), (-0.3, 3.0), (5.0, 3.0)]),
    (three_ways, [(1.7, 0.9), (0.3, 0.9), (-0.5, 1.3)]),
    (halves_past_one, [(0.3, 0.5), (0.001, 0.5)]),
]


@pytest.mark.parametrize("checkpoint", [None, 7])
@pytest.mark.parametrize("f, points", NUMBER_CASES, ids=[f.__name__ for f, _ in NUMBER_CASES])
def test_c_export_of_a_for_with_an_if_compiles_and_matches(tmp_path, f, points, checkpoint):
    text = emit(f, language="c", checkpoint=checkpoint)
    assert re.search(r"for \(long \w+ = \d+; \w+ >= 0; --\w+\)", text) or checkpoint
    assert text.count("if (") >= 2  # (the if in the forward and in the reverse loop)
    library = compile_library(tmp_path, {f.__name__: text})
    g = grad(f)
    for point in points:
        got, (value, got_vg) = call(library, f.__name__, len(point), len(point), point)
        assert value == f(*point)
        want = mp_grad(f, point)
        assert_reference(got, want, 1e-9)
        assert_reference(got_vg, want, 1e-9)
        assert_close_all(got, g(*point), 1e-12)


def kept_from_one_arm(x):
    last = 0.0
    for t in range(40):
        if x > 1.0:
            last = x * x  # KEPT
        x = x * 0.95
    return last + x


def assigned_in_both_arms(x):
    for t in range(40):
        if x > 1.0:
            y = x * 0.5  # BOTH
        else:
            y = x + 0.1
        x = y * 1.01
    return x + y  # (y: first assigned in the body, read after it)


@pytest.mark.parametrize("f, marker, points", [
    (kept_from_one_arm, "KEPT", [(3.0,), (0.5,)]),
    (assigned_in_both_arms, "BOTH", [(3.0,), (-20.0,)]),
])
def test_names_an_if_in_the_body_leaves_after_the_loop(f, marker, points):
    counts = [hits(f, point, marker)[0] for point in points]
    assert counts[0] and not counts[1]
    g = grad(f)
    for point in points:
        check(g, f, point)
    assert rolled_for(g)


# ---- the other consumers of such loops: jacobian keeps them, formulas show the recurrence ----
def shrinks_to_the_ball(v):
    while np.sum(v * v) > 1.0:
        v = 0.9 * v + 0.01 * np.sin(v)  # BALL
    return v


def clipped_pair(x, g):
    for t in range(40):
        if x > 0:
            x = x - 0.01 * g  # PAIR-THEN
        else:
            x = x + 0.01 * x * x
    return np.array([x, x * g])


@pytest.mark.parametrize("f, point, marker, hit", [
    (shrinks_to_the_ball, (np.array([1.0, 2.0]),), "BALL", True),
    (shrinks_to_the_ball, (np.array([0.1, 0.2]),), "BALL", False),
    (clipped_pair, (0.21, 3.0), "PAIR-THEN", True),
    (clipped_pair, (-0.2, 3.0), "PAIR-THEN", False),
])
def test_jacobians_of_these_loops(f, point, marker, hit):
    assert bool(hits(f, point, marker)[0]) == hit
    J = jacobian(f)
    got = np.asarray(J(*point), dtype=float)
    want = np.asarray(mp_jacobian(f, point), dtype=float).reshape(got.shape)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12), (got, want)


@pytest.mark.parametrize("f, point", [(clipped, (0.31, 3.0)), (clipped, (-0.3, 3.0)),
                                      (three_ways, (0.3, 0.9)), (three_ways, (1.7, 0.9))])
def test_formulas_of_a_for_with_an_if_are_piecewise_recurrences(f, point):
    formulas = grad(f).formulas
    assert "Piecewise" in str(formulas)
    got = evaluate(formulas, dict(zip(("x", "c" if f is three_ways else "g"), point)))
    want = mp_grad(f, point)
    assert all(abs(got[name] - float(w)) <= 1e-9 * max(1.0, abs(float(w)))
               for name, w in zip(got, want)), (got, want)


def test_formulas_of_a_while_carrying_an_array_are_refused_at_its_line():
    g = grad(shrink)
    g(np.array([1.0, 2.0]))
    with pytest.raises(SymdiffError) as info:
        _ = g.formulas
    assert info.value.lineno == line_of("SHRINK") - 1 and info.value.hint


def raises_in_a_linear_loop(x):
    s = 0.0
    for i in range(40):
        if x < -10.0:
            raise ValueError("x too small")  # RAISES
        s = s + math.sin(x) * 0.01
    return s


def test_a_raise_under_an_if_in_a_rolled_body_raises_where_python_does():
    """(The reverse loop reads nothing the forward one carries: the forward loop still runs,
    for what it raises.)"""
    g = grad(raises_in_a_linear_loop)
    check(g, raises_in_a_linear_loop, (0.5,))
    assert rolled_for(g)
    with pytest.raises(ValueError, match="x too small"):
        raises_in_a_linear_loop(-20.0)
    with pytest.raises(ValueError, match="x too small") as info:
        g(-20.0)
    assert info.value.__traceback__ is not None


# ---- a value an 'if' on data joins, read later in the body: recomputed in both arms ----
def merged_then_read(x, c):
    for t in range(40):
        if x > 1.0:
            y = x * 0.9  # MERGED-THEN
        else:
            y = x + c
        x = 0.1 * math.sin(y) + 0.95 * y
    return x


def while_merged_then_read(x, c):
    n = 0.0
    while n < 40.0:
        if x > 1.0:
            y = x * 0.9  # WHILE-MERGED-THEN
        else:
            y = x + c
        x = 0.1 * math.sin(y) + 0.95 * y
        n = n + 1.0 + 0.0 * x
    return x


def merged_then_a_loop(x, c):
    for t in range(40):
        if x > 1.0:
            x = x * 0.9  # INNER-THEN
        else:
            x = x + c
        for k in range(35):
            x = x + 0.001 * math.sin(x)
    return x


@pytest.mark.parametrize("f, marker", [(merged_then_read, "MERGED-THEN"),
                                       (while_merged_then_read, "WHILE-MERGED-THEN"),
                                       (merged_then_a_loop, "INNER-THEN")])
@pytest.mark.parametrize("point", [(0.3, -0.5), (1.3, -0.5), (0.3, 0.2), (3.0, 0.2)])
def test_a_merged_value_read_later_in_the_body(f, marker, point):
    """(The reverse loop recomputes the 'if' in both arms: an alias the forward loop's lowering
    made, merging the arms in place, once left the else arm without its value.)"""
    then = hits(f, point, marker)[0]
    assert then < 40 if point == (0.3, -0.5) or point == (1.3, -0.5) else then > 0
    g = grad(f)
    check(g, f, point, rtol=1e-9)
    assert "-1, -1):" in g.source
