"""Rolled loops over arrays (issue 13): a loop carrying arrays, reading ``X[t]`` with the
counter, ``for row in X:``, lists indexed with the counter and helpers called in the body stay
rolled loops, with a tape of arrays.

Every gradient is compared with the independent reference (``tests/reference.py``: the user's
source re-run over mpmath at 50 digits), never with symdiff's own output, at trip counts 0, 1,
a few and past the unroll threshold, for several choices of wrt.
"""

import re

import numpy as np
import pytest

import symdiff
from symdiff import grad, value_and_grad
from symdiff.frontend.loops import ROLL_THRESHOLD

from .reference import close_array, mp_grad, mp_value


def rolled(g):
    """Whether the generated gradient keeps a loop (a reverse ``for``)."""
    return bool(re.search(r"^\s+for \w+ in range\((\d+|\w+ - 1), -1, -1\):", g.source, re.MULTILINE))


def check(g, f, args, wrt=None, rtol=1e-9):
    got = g(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = mp_grad(f, args, wrt)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        bad = close_array(np.asarray(a, dtype=float).reshape(np.shape(b)), b, rtol=rtol, atol=1e-12)
        assert not bad, (args, bad[:3])


def point(T, hidden=3, inputs=2, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(hidden, hidden)) * 0.5
    U = rng.normal(size=(hidden, inputs))
    h0 = rng.normal(size=hidden)
    X = rng.normal(size=(T, inputs))
    return W, U, h0, X


def rnn(W, U, h0, X):
    h = h0
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t])
    return np.sum(h * h)


TRIPS = (0, 1, 5, ROLL_THRESHOLD + 3)


@pytest.mark.parametrize("T", TRIPS)
@pytest.mark.parametrize("wrt", [(0, 1), (2,), (3,), (0, 1, 2, 3)])
def test_rnn_gradient(T, wrt):
    g = grad(rnn, wrt=wrt)
    check(g, rnn, point(T), wrt)
    assert rolled(g) == (T >= ROLL_THRESHOLD)


def test_rnn_tape_holds_the_arrays_and_sums_add_in_place():
    g = grad(rnn, wrt=(0, 1, 3))
    g(*point(40))
    source = g.source
    # the forward loop saves the state and the tanh it computed; the reverse loop reads them
    # back (no second W @ h), and adds into the gradients' zeros in place (one row of X's)
    assert re.search(r"_tape\[t\] = h, X_t, h_1$", source, re.MULTILINE), source
    assert source.count("(W @ h)") == 1, source
    assert "W_bar_1 += W_bar" in source and "X_bar_1[t] += X_t_bar" in source, source
    assert "numpy.zeros(W.shape, _dtype)" in source
    assert re.search(r"^    _t\d+ = W\.T$", source, re.MULTILINE), source  # (once, before the loop)


def test_value_and_grad_of_the_rnn():
    args = point(ROLL_THRESHOLD)
    value, grads = value_and_grad(rnn, wrt=(0,))(*args)
    assert close_array(np.array(value), np.array(mp_value(rnn, args), dtype=object)) == []
    assert not close_array(grads, mp_grad(rnn, args, (0,))[0])


def elman_rows(W, h0, X):
    h = h0
    for row in X:
        h = np.tanh(W @ h + row)
    return np.sum(h)


@pytest.mark.parametrize("T", TRIPS)
def test_for_row_in_X(T):
    W, _, h0, _ = point(0)
    X = np.random.default_rng(3).normal(size=(T, 3))
    g = grad(elman_rows)
    check(g, elman_rows, (W, h0, X))
    assert rolled(g) == (T >= ROLL_THRESHOLD)
    if T >= ROLL_THRESHOLD:
        assert "row = X[_k]" in g.source or "X[_k]" in g.source


def cell(W, h, x):
    return np.tanh(W @ h + x)


def calls_a_helper(W, h0, X):
    h = h0
    for t in range(40):
        h = cell(W, h, X[t])
    return np.sum(h ** 2)


def neighbours(W, h0, X):
    h = h0
    for t in range(1, 40):
        h = np.sin(W @ h) * X[t - 1, 0] + X[t]
    return np.sum(h)


@pytest.mark.parametrize("f", [calls_a_helper, neighbours])
def test_helpers_and_shifted_rows(f):
    W, _, h0, _ = point(0)
    X = np.random.default_rng(4).normal(size=(40, 3)) * 0.5
    g = grad(f)
    check(g, f, (W, h0, X))
    assert rolled(g)


def pairs(x):
    s = 0.0
    for t in range(39):
        s = s + x[t] * x[t + 1] + 0.1 * s * x[t]
    return s


@pytest.mark.parametrize("kind", [list, np.array])
def test_list_or_array_indexed_with_the_counter(kind):
    x = kind([float(v) for v in np.random.default_rng(5).normal(size=40) * 0.5])
    g = grad(pairs)
    check(g, pairs, (x,))
    assert "for t in range(38, -1, -1):" in g.source


def counted(W, h0, X, n):
    h = h0
    for t in range(n):
        h = np.tanh(W @ h + X[t])
    return np.sum(h)


def test_an_int_count_indexing_rows():
    W, _, h0, _ = point(0)
    X = np.random.default_rng(6).normal(size=(40, 3))
    g = grad(counted, wrt=(0, 1, 2))
    for n in (0, 1, 40):
        check(g, counted, (W, h0, X, n), wrt=(0, 1, 2))
    assert "for t in range(n - 1, -1, -1):" in g.source
    # n may be 0: nothing is moved out of the loop (it would run where the loop does not)
    assert re.search(r"^        _t\d+ = W\.T$", g.source, re.MULTILINE), g.source


def test_explain_shows_the_recurrence_once():
    g = grad(rnn, wrt=(0, 1))
    g(*point(60))
    text = g.explain()
    assert "for t in range(60):" in text and "(kept as a loop, traced once" in text
    assert "sum dsum_1/dW = zeros(3, 3)" in text
    assert len(text.splitlines()) < 40, text


def test_emitted_python_module_keeps_the_loop():
    args = point(40)
    source = symdiff.emit(rnn, args=args, wrt=(0, 1))
    namespace = {}
    exec(compile(str(source), "<emitted>", "exec"), namespace)
    got = namespace["rnn_grad"](*args)
    want = mp_grad(rnn, args, (0, 1))
    for a, b in zip(got, want):
        assert not close_array(a, b)
    assert "_tape = [None] * 40" in str(source)


def zipped(W, h0, X, Y):
    h = h0
    for x, y in zip(X, Y):
        h = np.tanh(W @ h + x) * y
    return np.sum(h)


def enumerated(W, h0, X):
    h = h0
    for k, row in enumerate(X):
        h = np.tanh(W @ h + row * k * 0.01)
    return np.sum(h)


@pytest.mark.parametrize("T", (0, 1, ROLL_THRESHOLD + 1))
def test_zip_and_enumerate_of_arrays(T):
    W, _, h0, _ = point(0)
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(T + 2, 3)), rng.normal(size=(T, 3))  # (zip stops at the shorter)
    for f, args in ((zipped, (W, h0, X, Y)), (enumerated, (W, h0, X[:T]))):
        g = grad(f)
        check(g, f, args)
        assert rolled(g) == (T >= ROLL_THRESHOLD)


def row_after(W, h0, X):
    h = h0
    for row in X:
        h = np.tanh(W @ h + row)
    return np.sum(h) + np.sum(row)


def test_a_row_read_after_the_loop_unrolls():
    W, _, h0, _ = point(0)
    X = np.random.default_rng(9).normal(size=(40, 3))
    g = grad(row_after)
    check(g, row_after, (W, h0, X))
    assert not rolled(g)


def list_and_if(x, w):
    s = 0.0
    for t in range(40):
        if t % 8 == 0:  # (an 'if' on the counter: unrolled)
            s = s * 0.5
        s = s + w[t] * x
    return s


def test_a_list_loop_that_unrolls_leaves_no_array_behind():
    """(The list made one array for the rolled attempt goes with it: the code is scalar code.)"""
    w = [0.1 * k for k in range(40)]
    g = grad(list_and_if, wrt=(0,))
    for x in (0.3, 2.0):
        check(g, list_and_if, (x, w), wrt=(0,))
    assert not rolled(g) and "numpy" not in g.source


def reads_past_the_end(W, h0, X):
    h = h0
    for t in range(40):
        h = np.tanh(W @ h + X[t + 1])
    return np.sum(h)


def test_a_row_past_the_end_is_the_unrolled_trace_s_located_error():
    W, _, h0, _ = point(0)
    g = grad(reads_past_the_end)
    with pytest.raises(symdiff.SymdiffError) as info:
        g(W, h0, np.zeros((40, 3)))
    assert "out of bounds" in str(info.value) and "X[t + 1]" in str(info.value)
    check(g, reads_past_the_end, (W, h0, np.random.default_rng(10).normal(size=(41, 3))))
    assert rolled(g)
