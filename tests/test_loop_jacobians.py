"""Jacobians, Hessians, Hessian-vector products and grad(grad(f)) of loops kept as loops
(issue 13): ``for`` loops of 32 iterations and more, and ``while`` loops on data, stay loops in
the generated code of every derivative, not only in ``grad``'s.

Every derivative is compared with an independent reference: ``tests/reference.py``
(``mp_jacobian``, ``mp_hessian``, ``mp_hessian_vector``, ``mp_directional``: the user's source
re-run over mpmath at 50 digits) or a derivative written by hand (sqrt(a)'s). Points lie on
both sides of every data-dependent exit (0, 1 and many iterations).
"""

import math
import time

import numpy as np
import pytest

from symdiff import (
    SymdiffError,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jvp,
    value_and_grad,
)

from .markers import marker_line
from .reference import (
    close,
    close_array,
    mp_directional,
    mp_grad,
    mp_hessian,
    mp_hessian_vector,
    mp_jacobian,
    mp_partial,
)

HERE = __file__


def rolled(source):
    """Whether generated code keeps a loop: short, with a ``for`` or a ``while``."""
    return source.count("\n") < 150 and ("for " in source or "while True:" in source)


def same(got, want, rtol=1e-10, atol=1e-12):
    bad = close_array(got, np.array(want, dtype=object).reshape(np.shape(got)), rtol=rtol, atol=atol)
    assert not bad, bad


# ---- the functions ----
def newton_pair(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return np.array([x, x * b])


def newton_three(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return (x, x * b, x + b * b)


def lorenz(x, y, z, s):
    for t in range(64):
        dx = s * (y - x)
        dy = x * (28.0 - z) - y
        dz = x * y - 8.0 / 3.0 * z
        x = x + 0.01 * dx
        y = y + 0.01 * dy
        z = z + 0.01 * dz
    return (x, y, z)


def bisection(a):
    lo = 0.0
    hi = 10.0
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return np.array([lo * a, hi])


def until_small(x, r):
    while x > 1.0:
        if x < 3.0 * r:
            break
        x = x * r
    return (x, x * r)


def decay(h, c):
    for t in range(40):
        h = np.tanh(h) * c + 0.01
    return h * 2.0


# points with 0, 1 and many iterations of each while
NEWTON = [(1.0, 3.0), (2.0, 3.0), (0.25, -1.5), (9.0, 0.5)]  # 1.0: no iteration
UNTIL = [(0.5, 0.9), (2.0, 0.9), (2.5, 0.7), (3.2, 0.5), (20.0, 0.8)]  # 0 (test), 0 (break), 1 then break, 2, many


# ---- jacobian ----
@pytest.mark.parametrize("point", NEWTON)
@pytest.mark.parametrize("f", [newton_pair, newton_three])
def test_jacobian_of_a_while_on_data(f, point):
    J = jacobian(f)
    same(J(*point), mp_jacobian(f, point))
    assert "while True:" in J.source_for(*point)


@pytest.mark.parametrize("point", NEWTON[:2])
def test_sparse_jacobian_of_a_while_on_data(point):
    got = jacobian(newton_three, sparse=True)(*point)
    same(got.toarray(), mp_jacobian(newton_three, point))


def test_the_value_after_a_while_is_not_its_entry_value():
    # d(x*b)/db is x after the loop, sqrt(a): not a (the reverse loop reads x back from its
    # tape, so a line after the loop must not be moved past it)
    J = jacobian(newton_pair)(2.0, 3.0)
    assert close(J[1, 1], math.sqrt(2.0))
    assert close(J[0, 0], 1 / (2 * math.sqrt(2.0)))


def test_jacobian_of_a_long_for_loop():
    point = (1.0, 1.5, 2.0, 10.0)
    J = jacobian(lorenz)
    same(J(*point), mp_jacobian(lorenz, point), rtol=1e-9)
    assert rolled(J.source_for(*point))
    same(jacobian(lorenz, sparse=True)(*point).toarray(), mp_jacobian(lorenz, point), rtol=1e-9)


@pytest.mark.parametrize("point", [(0.3,), (2.0,), (7.5,)])
def test_jacobian_of_a_bisection(point):
    # lo and hi are piecewise constant in a: d(lo*a)/da = lo, d hi/da = 0
    J = jacobian(bisection)(*point)
    same(J, mp_jacobian(bisection, point))
    assert close(J[0, 0], math.sqrt(point[0]), rtol=1e-8) and J[1, 0] == 0


@pytest.mark.parametrize("point", UNTIL)
def test_jacobian_of_a_while_with_a_break(point):
    same(jacobian(until_small)(*point), mp_jacobian(until_small, point))


def test_jacobian_of_an_array_loop_every_route():
    point = (np.array([0.3, -0.2, 0.1]), np.array([0.9, 0.8, 0.7]))
    want = mp_jacobian(decay, point)
    same(jacobian(decay)(*point), want)
    same(jacobian(decay, sparse=True)(*point).toarray(), want)
    same(jacfwd(decay)(*point), want)


def test_grad_of_a_loop_whose_reverse_reads_only_arrays_its_body_computed():
    # wrt h alone, the reverse of tanh(W @ h) reads tanh's value, no carried state: the
    # forward loop must still fill the tape
    point = (np.array([0.3, -0.2, 0.1]), np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4], [0.0, 0.1, 0.6]]))
    same(grad(rnn, wrt=0)(*point), mp_grad(rnn, point, wrt=0)[0])


# ---- second derivatives: reverse over forward (ad.tangent) ----
def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x


def newton_scaled(a, b):
    x = a
    while abs(x * x - a) > 1e-12:
        x = 0.5 * (x + a / x)
    return x * b * b


def lorenz_1000(x, y, z, s):
    for t in range(1000):
        dx = s * (y - x)
        dy = x * (28.0 - z) - y
        dz = x * y - 8.0 / 3.0 * z
        x = x + 0.001 * dx
        y = y + 0.001 * dy
        z = z + 0.001 * dz
    return x * y + z


def bisection_scalar(a):
    lo = 0.0
    hi = 10.0
    while hi - lo > 1e-9:
        mid = 0.5 * (lo + hi)
        if mid * mid > a:
            hi = mid
        else:
            lo = mid
    return lo * a + hi


def until_small_scalar(x, r):
    while x > 1.0:
        if x < 3.0 * r:
            break
        x = x * r
    return x * x * r


def rnn(h, W):
    for t in range(33):
        h = np.tanh(W @ h)
    return np.sum(h * h)


def decay_sum(h, c):
    for t in range(40):
        h = np.tanh(h) * c + 0.01
    return np.sum(h * h)


@pytest.mark.parametrize("a", [1.0, 2.0, 0.25, 9.0])
def test_hessian_of_newton_sqrt(a):
    H = hessian(newton_sqrt)
    got = H(a)
    same(got, mp_hessian(newton_sqrt, (a,)))
    if a != 1.0:  # (1.0: no iteration, x = a, whose second derivative is 0)
        assert close(got[0, 0], -1 / (4 * a ** 1.5), rtol=1e-8)
    assert "while True:" in H.source_for(a)


@pytest.mark.parametrize("point", NEWTON)
def test_hessian_hvp_and_jvp_of_two_parameters(point):
    want = mp_hessian(newton_scaled, point)
    same(hessian(newton_scaled)(*point), want)
    same(hessian(newton_scaled, sparse=True)(*point).toarray(), want)
    v = (0.7, -1.3)
    same(np.array(hvp(newton_scaled)(*point, v)), mp_hessian_vector(newton_scaled, point, v))
    same(np.array([jvp(newton_scaled)(*point, v)]), mp_directional(newton_scaled, point, v))
    same(jacfwd(newton_three)(*point), mp_jacobian(newton_three, point))


def test_hessian_of_lorenz_1000_builds_fast_and_rolled():
    point = (1.0, 1.5, 2.0, 10.0)
    start = time.perf_counter()
    H = hessian(lorenz_1000)
    got = H(*point)
    built = time.perf_counter() - start
    assert built < 2.0, built  # (unrolled: minutes)
    assert rolled(H.source_for(*point))
    same(got, mp_hessian(lorenz_1000, point), rtol=1e-8)
    v = (0.3, -0.1, 0.2, 0.05)
    same(np.array(hvp(lorenz_1000)(*point, v)), mp_hessian_vector(lorenz_1000, point, v), rtol=1e-8)


@pytest.mark.parametrize("a", [0.3, 2.0, 7.5])
def test_hessian_of_a_bisection_is_zero(a):
    H = hessian(bisection_scalar)(a)
    assert H[0, 0] == 0
    same(H, mp_hessian(bisection_scalar, (a,)), atol=1e-6)


@pytest.mark.parametrize("point", UNTIL)
def test_hessian_of_a_while_with_a_break(point):
    same(hessian(until_small_scalar)(*point), mp_hessian(until_small_scalar, point))


@pytest.mark.parametrize("a", [1.0, 2.0, 9.0])
def test_grad_of_grad_of_a_while_on_data(a):
    gg = grad(grad(newton_sqrt))
    got = gg(a)
    want = 0.0 if a == 1.0 else -1 / (4 * a ** 1.5)
    assert close(got, want, rtol=1e-8)
    assert close(got, mp_hessian(newton_sqrt, (a,))[0][0], rtol=1e-8)
    assert "while True:" in gg.source
    third = 0.0 if a == 1.0 else 3 / (8 * a ** 2.5)  # d^3 sqrt(a) / da^3
    assert close(grad(grad(grad(newton_sqrt)))(a), third, rtol=1e-7)


@pytest.mark.parametrize("point", NEWTON)
def test_grad_of_grad_of_two_parameters(point):
    H = np.array(mp_hessian(newton_scaled, point), dtype=object)
    got = grad(grad(newton_scaled, wrt=0))(*point)
    same(np.array(got), H[0])
    value, second = value_and_grad(grad(newton_scaled, wrt=1), wrt=(0, 1))(*point)
    same(np.array(second), H[1])
    assert close(value, mp_grad(newton_scaled, point, wrt=1)[0])


@pytest.mark.parametrize("f", [rnn, decay_sum])
def test_second_derivatives_of_array_loops(f):
    h = np.array([0.3, -0.2, 0.1])
    other = np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4], [0.0, 0.1, 0.6]]) if f is rnn \
        else np.array([0.9, 0.8, 0.7])
    point = (h, other)
    H = np.array(mp_hessian(f, point), dtype=object)
    same(hessian(f)(*point), H, rtol=1e-9)
    v = np.linspace(0.5, 1.5, H.shape[0])
    parts = (v[:3], v[3:].reshape(other.shape))
    got = hvp(f)(*point, parts)
    same(np.concatenate([np.ravel(p) for p in got]), mp_hessian_vector(f, point, v), rtol=1e-9)
    same(grad(grad(f, wrt=0), wrt=0)(*point), H[:3, :3].sum(axis=1), rtol=1e-9)


def normalised(h):
    for t in range(40):
        h = np.tanh(h) / np.max(h)  # NO-TANGENT
    return np.sum(h)


def test_an_array_operation_without_a_tangent_rule_is_a_located_refusal():
    with pytest.raises(SymdiffError) as info:
        hessian(normalised)(np.array([0.3, 0.5]))
    err = info.value
    assert err.filename == HERE and err.lineno == marker_line(HERE, "NO-TANGENT")
    assert "tangent" in err.message and err.hint


# ---- loops nested in loops: tangents flow through the inner loop's carried values ----
def nested_sum(x, a):
    s = 0.0
    for i in range(33):
        y = x * a
        for j in range(32):
            y = y * 0.9 + math.sin(y) * 0.01
        s = s + y * y
    return s


def while_in_for(x, a):
    for i in range(33):
        y = x
        while y > 0.1:
            y = y * 0.5 + a * 0.001
        x = 0.9 * x + y * a
    return x


@pytest.mark.parametrize("f, point", [(nested_sum, (0.3, 0.9)), (while_in_for, (0.5, 0.7))])
def test_second_derivatives_of_nested_loops(f, point):
    # nested_sum: s starts with no tangent and gets one from the inner loop's result only
    H = mp_hessian(f, point)
    same(hessian(f)(*point), H, rtol=1e-8)
    same(np.array(grad(grad(f, wrt=0), wrt=(0, 1))(*point)), H[0], rtol=1e-8)
    same(jacobian(f)(*point), mp_jacobian(f, point), rtol=1e-8)
    assert rolled(hessian(f).source_for(*point))


# ---- jvp: forward mode over the loop ----
@pytest.mark.parametrize("point", UNTIL)
def test_jvp_of_a_while_with_a_break(point):
    v = (1.0, 2.0)
    same(jvp(until_small)(*point, v), mp_directional(until_small, point, v))
    same(jacfwd(until_small)(*point), mp_jacobian(until_small, point))


def test_jvp_of_an_array_loop_and_of_lorenz():
    point = (np.array([0.3, -0.2, 0.1]), np.array([0.9, 0.8, 0.7]))
    v = (np.array([1.0, 0.5, -0.3]), np.array([0.2, 0.1, 0.0]))
    same(jvp(decay)(*point, v), mp_directional(decay, point, v))
    point, v = (1.0, 1.5, 2.0, 10.0), (0.1, 0.2, 0.3, 0.4)
    same(jvp(lorenz)(*point, v), mp_directional(lorenz, point, v), rtol=1e-9)


# ---- jacobian(grad(f)): rows of the Hessian, reverse over forward ----
@pytest.mark.parametrize("f, point, wrt", [
    (newton_scaled, (2.0, 3.0), 0), (newton_scaled, (9.0, 0.5), 1), (newton_scaled, (1.0, 3.0), 0),
    (newton_sqrt, (2.0,), 0), (lorenz_1000, (1.0, 1.5, 2.0, 10.0), 2), (nested_sum, (0.3, 0.9), 0)])
def test_jacobian_of_grad(f, point, wrt):
    J = jacobian(grad(f, wrt=wrt))
    same(J(*point), np.array(mp_hessian(f, point), dtype=object)[wrt:wrt + 1], rtol=1e-8)
    assert rolled(J.source_for(*point))


def test_jacobian_of_grad_of_an_array_loop():
    point = (np.array([0.3, -0.2, 0.1]), np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4], [0.0, 0.1, 0.6]]))
    H = np.array(mp_hessian(rnn, point), dtype=object)
    same(jacobian(grad(rnn, wrt=0), wrt=(0, 1))(*point), H[:3], rtol=1e-8)
    same(jacobian(grad(rnn, wrt=0), wrt=(0, 1), sparse=True)(*point).toarray(), H[:3], rtol=1e-8)


# ---- structural array operations in a loop's body: their forward rules ----
def over_rows(X, w):
    h = 0.0
    for row in X:
        h = math.tanh(h * w + row[0] * row[1])
    return h * w


def gathered(x, w):
    idx = np.array([1, 0, 2])
    for t in range(35):
        x = np.tanh(x[idx] * w + x * 0.1)
    return np.sum(x * x)


def shifted(x, w):
    for t in range(35):
        x = np.concatenate([x[1:] * w, x[:1] * 0.5]) + 0.01
    return np.sum(np.cumsum(x) ** 2)


@pytest.mark.parametrize("f, point", [
    (over_rows, (np.array([[0.1 * i, 0.2 - 0.01 * i] for i in range(40)]), 0.7)),
    (gathered, (np.array([0.3, 0.2, 0.1]), 0.9)),
    (shifted, (np.array([0.3, 0.2, 0.1]), 0.9))])
def test_hessian_through_indexing_and_joins_in_a_loop(f, point):
    # H v against mpmath's mixed partials along v (the whole 81 x 81 Hessian of over_rows
    # takes mpmath 40 s), for the Hessian and for hvp
    H = hessian(f)
    size = point[0].size + 1
    v = np.linspace(-1.0, 1.0, size)
    want = mp_hessian_vector(f, point, v)
    same(H(*point) @ v, want, rtol=1e-8, atol=1e-10)
    parts = hvp(f)(*point, (v[:-1].reshape(point[0].shape), v[-1]))
    same(np.concatenate([np.ravel(p) for p in parts]), want, rtol=1e-8, atol=1e-10)
    assert rolled(H.source_for(*point))


# ---- derivatives of grad(f): its program pushed forward along ones, then again ----
@pytest.mark.parametrize("a", [1.0, 2.0, 9.0])
def test_hessian_hvp_and_jvp_of_grad(a):
    third = 0.0 if a == 1.0 else 3 / (8 * a ** 2.5)  # d^3 sqrt(a) / da^3
    assert close(hessian(grad(newton_sqrt))(a)[0, 0], third, rtol=1e-7)
    assert close(hvp(grad(newton_sqrt))(a, 0.5), 0.5 * third, rtol=1e-7)
    second = 0.0 if a == 1.0 else -1 / (4 * a ** 1.5)
    assert close(jvp(grad(newton_sqrt))(a, 2.0), 2.0 * second, rtol=1e-8)


def test_hessian_of_grad_of_two_parameters():
    point = (2.0, 3.0)
    H = hessian(grad(newton_scaled, wrt=0))(*point)
    want = [[mp_partial(newton_scaled, point, ("a", s, t)) for t in "ab"] for s in "ab"]
    same(H, want, rtol=1e-8)
    v = (1.0, 0.5)
    same(jvp(grad(newton_scaled, wrt=0))(*point, v),
         [sum(h * w for h, w in zip(mp_hessian(newton_scaled, point)[0], v))], rtol=1e-8)
    with pytest.raises(TypeError):
        hessian(grad(newton_scaled))  # (a tuple out)


def contracted(h, W):
    for t in range(33):
        h = np.tanh(np.einsum("ij,j->i", W, h) * 0.5 + h * h * 0.1)
    return np.sum(h * h)


def stacked_products(A, x):
    for t in range(33):
        A = np.tanh(A @ A) * 0.5 + x
    return np.sum(A)


@pytest.mark.parametrize("f, point", [
    (contracted, (np.array([0.3, -0.2]), np.array([[0.5, 0.1], [0.2, -0.3]]))),
    (stacked_products, (np.array([[[0.3, 0.1], [0.0, 0.2]], [[0.1, 0.2], [0.3, 0.1]]]), 0.1))])
def test_hessian_through_products_in_a_loop(f, point):
    # einsum and a stack of matrix products: one term per operand's tangent
    v = np.linspace(-1.0, 1.0, sum(np.size(a) for a in point))
    H = hessian(f)
    same(H(*point) @ v, mp_hessian_vector(f, point, v), rtol=1e-8, atol=1e-10)
    assert rolled(H.source_for(*point))


# ---- a long for with a break on data (kept as a while-kind loop) ----
def for_with_break(x, a):
    for k in range(1000):
        x = x * a + 0.01 * math.sin(x)
        if x > 5.0:
            break
    return x * a


@pytest.mark.parametrize("point", [(6.0, 1.1), (4.9, 1.5), (0.5, 1.01), (0.1, 0.5)])
def test_second_derivatives_of_a_for_with_a_break(point):
    # breaks in the first step (from above 5, from below), after ~230 steps, never (1,000)
    H = hessian(for_with_break)
    same(H(*point), mp_hessian(for_with_break, point), rtol=1e-7)
    same(jacobian(for_with_break)(*point), mp_jacobian(for_with_break, point), rtol=1e-8)
    assert rolled(H.source_for(*point))
