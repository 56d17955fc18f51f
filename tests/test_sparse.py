"""Exact sparsity (``symdiff.sparsity``) and sparse Jacobians and Hessians (``sparse=True``).

Every sparse matrix is checked against an independent reference: the function's own source
over mpmath at 50 digits (``tests/reference.py``: ``mp_jacobian``, ``mp_hessian``) or a closed
form differentiated by ``sympy.diff`` (written out by hand here) — both its values and its
pattern: every entry the reference finds nonzero, at several random points, must be stored in
the pattern. Where the structure is known (Rosenbrock's tridiagonal Hessian, a bidiagonal map)
the pattern must be exactly that, and the number of reverse passes the colouring needs is
checked too.
"""

import math
import sys

import numpy as np
import pytest
import scipy.sparse
import sympy

import symdiff
from symdiff import hessian, jacobian, sparsity
from symdiff.ad import sparsity as structure

from .reference import close_array, mp_hessian, mp_jacobian

RNG = np.random.default_rng(20261203)


# ---- the functions ----
def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def bidiagonal(x):
    return x[1:] ** 2 - 2.0 * np.sin(x[:-1])


def dense(x):
    return np.sin(x) * x + 0.1 * np.sum(x ** 2)


def where_arms(x):  # np.where: the pattern is the union of both arms
    return np.where(x > 0, x[::-1] * x, np.cos(x))


def if_arms(x):  # an if on data: both arms' patterns
    if np.sum(x) > 0:
        return x[1:] * x[:-1]
    return x[1:] - np.exp(x[0])


def broadcasting(A, v):
    return np.tanh(A * v) + v ** 2


def matmul(A, x):
    return np.sin(A @ x) + x[0]


def matvec_data(x, M):  # M is data (not differentiated): each row of M @ x has all of x
    return M @ np.exp(x)


def reductions(A):
    return np.sum(A ** 2, axis=1) * np.max(A, axis=0)[0] + np.prod(A[:, 1])


def slices(x):
    return np.concatenate([x[::2] ** 2, x[1:3] * x[-1], np.cumsum(x[:2])])


def moving(A):
    return np.stack([A.T.reshape(-1)[:3], np.sum(A, axis=0)]) * 2.0


def scalars(x, y, z):
    return (x * y, math.sin(z), x + z ** 2, 3.0 * y)


def scalar_hess(x, y, z):
    return x * y ** 2 + math.exp(z) + z


def zero_by_value(x):
    # d/dx1 of x0*x1 is x0, zero at x0 = 0: a value, not the structure
    return np.array([x[0] * x[1], x[1] - x[1] * x[2] ** 2, np.sum(x) * 0.5])


def separable(x):
    return np.sum(np.sin(x) * x ** 2) + np.sum(x[1:] * x[:-1])


def take_constant(x):
    return x[[0, 2, 2, 3]] * x[[1, 1, 0, 3]]


def broyden(x):  # the README's: neighbours through concatenated zeros
    left = np.concatenate([np.zeros(1), x[:-1]])
    right = np.concatenate([x[1:], np.zeros(1)])
    return (3 - 2 * x) * x - left - 2 * right + 1


def take_data(x, idx):  # indices read at the call: conservative
    return x[idx] ** 2


def outer_einsum(a, b):
    return np.einsum("i,j->ij", a, b).ravel() + np.outer(a, b).ravel()


# ---- the checks ----
def reference_nonzeros(matrix):
    return np.abs(np.asarray(matrix, dtype=float)) > 0


def check_sparse(result, expected, dense_result, rtol=1e-9, atol=1e-10):
    """``result`` (scipy.sparse) has ``expected``'s values and stores each of its nonzeros."""
    assert scipy.sparse.issparse(result) and result.format == "csr"
    pattern = np.zeros(result.shape, dtype=bool)
    coo = result.tocoo()  # every stored entry (zeros by value included)
    pattern[coo.row, coo.col] = True
    expected_float = np.array([[float(v) for v in row] for row in expected])
    missing = reference_nonzeros(expected_float) & ~pattern
    assert not missing.any(), f"nonzeros outside the pattern at {np.argwhere(missing).tolist()}"
    bad = close_array(result.toarray(), np.array(expected, dtype=object), rtol=rtol, atol=atol)
    assert not bad, "; ".join(bad)
    assert np.array_equal(result.toarray(), dense_result)
    return pattern


def pattern_of(*args, f, hess=False, wrt=None):
    return sparsity(f, *args, wrt=wrt, hessian=hess).toarray()


JACOBIAN_CASES = [
    (bidiagonal, lambda: (RNG.uniform(-1, 1, 6),)),
    (broyden, lambda: (RNG.uniform(-1, 1, 5),)),
    (dense, lambda: (RNG.uniform(-1, 1, 5),)),
    (where_arms, lambda: (RNG.uniform(-1, 1, 6),)),
    (if_arms, lambda: (RNG.uniform(-1, 1, 5) + RNG.choice([-2.0, 2.0]),)),
    (broadcasting, lambda: (RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4))),
    (matmul, lambda: (RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4))),
    (reductions, lambda: (RNG.uniform(0.5, 1.5, (3, 4)),)),
    (slices, lambda: (RNG.uniform(-1, 1, 6),)),
    (moving, lambda: (RNG.uniform(-1, 1, (2, 3)),)),
    (scalars, lambda: tuple(RNG.uniform(-1, 1, 3).tolist())),
    (zero_by_value, lambda: (np.array([0.0, RNG.uniform(0.5, 1), 0.0]),)),
    (take_constant, lambda: (RNG.uniform(-1, 1, 4),)),
    (outer_einsum, lambda: (RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, 2))),
]


@pytest.mark.parametrize("f, point", JACOBIAN_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_sparse_jacobians_against_mpmath(f, point):
    sparse, plain = jacobian(f, sparse=True), jacobian(f)
    patterns = []
    for _ in range(3):  # three random points: the pattern holds every nonzero at each
        args = point()
        result = sparse(*args)
        expected = mp_jacobian(f, args)
        patterns.append(check_sparse(result, expected, plain(*args)))
        assert np.array_equal(patterns[-1], pattern_of(*args, f=f))  # stored = the pattern
    assert all(np.array_equal(p, patterns[0]) for p in patterns)  # structural: the same everywhere
    assert np.array_equal(patterns[0], pattern_of(*point(), f=f))


HESSIAN_CASES = [
    (rosen, lambda: (RNG.uniform(-1.5, 1.5, 6),)),
    (separable, lambda: (RNG.uniform(-1, 1, 5),)),
    (scalar_hess, lambda: tuple(RNG.uniform(-1, 1, 3).tolist())),
]


def total(x):
    return np.sum(x) ** 2 + np.sum(np.cos(x))


HESSIAN_CASES.append((total, lambda: (RNG.uniform(-1, 1, 4),)))


@pytest.mark.parametrize("f, point", HESSIAN_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_sparse_hessians_against_mpmath(f, point):
    sparse, plain = hessian(f, sparse=True), hessian(f)
    for _ in range(3):
        args = point()
        result = sparse(*args)
        pattern = check_sparse(result, mp_hessian(f, args), plain(*args))
        assert np.array_equal(pattern, pattern.T)  # a Hessian's pattern is symmetric
        assert np.array_equal(pattern, pattern_of(*args, f=f, hess=True))


def tridiagonal(n):
    return (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1)


def test_rosenbrock_hessian_is_exactly_tridiagonal_in_three_passes():
    n = 1000
    x = RNG.uniform(-1.5, 1.5, n)
    H = hessian(rosen, sparse=True)
    result = H(x)
    assert result.shape == (n, n) and result.nnz == 3 * n - 2
    assert np.array_equal(sparsity(rosen, x, hessian=True).toarray(), tridiagonal(n))
    assert H.build_for(x).compression.count == 3
    # against the Hessian differentiated by hand (sympy.diff of one term of the sum)
    a, b = sympy.symbols("a b", real=True)
    term = 100 * (b - a ** 2) ** 2 + (1 - a) ** 2
    daa, dab, dbb = (sympy.lambdify((a, b), sympy.diff(term, *w)) for w in ((a, a), (a, b), (b, b)))
    diagonal = np.zeros(n)
    diagonal[:-1] += daa(x[:-1], x[1:])
    diagonal[1:] += dbb(x[:-1], x[1:])
    off = dab(x[:-1], x[1:]) * np.ones(n - 1)
    by_hand = np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)
    assert np.allclose(result.toarray(), by_hand, rtol=1e-12, atol=1e-9)
    assert np.array_equal(hessian(rosen)(x), result.toarray())  # the dense route: the same


def test_bidiagonal_jacobian_in_two_passes():
    n = 500
    x = RNG.uniform(-1, 1, n)
    J = jacobian(bidiagonal, sparse=True)
    result = J(x)
    assert result.nnz == 2 * (n - 1) and J.build_for(x).compression.count == 2
    expected = np.zeros((n - 1, n))
    expected[np.arange(n - 1), np.arange(n - 1)] = -2.0 * np.cos(x[:-1])  # sympy.diff by hand:
    expected[np.arange(n - 1), np.arange(1, n)] = 2.0 * x[1:]  # d/da -2 sin(a), d/db b**2
    assert np.allclose(result.toarray(), expected, rtol=1e-14, atol=0)
    assert np.array_equal(sparsity(bidiagonal, x).toarray(), expected != 0)


def test_the_readme_broyden_jacobian_is_tridiagonal_in_three_passes():
    x = RNG.uniform(-1, 1, 300)
    J = jacobian(broyden, sparse=True)
    result = J(x)
    assert np.array_equal(sparsity(broyden, x).toarray(), tridiagonal(300))
    assert J.build_for(x).compression.count == 3
    by_hand = np.diag(3 - 4 * x) - np.eye(300, k=-1) - 2 * np.eye(300, k=1)  # sympy.diff by hand
    assert np.allclose(result.toarray(), by_hand, rtol=1e-14, atol=0)


def test_exact_patterns_of_known_structures():
    x = RNG.uniform(-1, 1, 5)
    assert np.array_equal(pattern_of(x, f=dense), np.ones((5, 5), dtype=bool))
    # slices: x[::2]**2 (rows 0-2), x[1:3]*x[-1] (rows 3-4), cumsum(x[:2]) (rows 5-6)
    want = np.zeros((7, 5), dtype=bool)
    want[[0, 1, 2], [0, 2, 4]] = True
    want[3, [1, 4]] = want[4, [2, 4]] = True
    want[5, 0] = True
    want[6, [0, 1]] = True
    got = pattern_of(x, f=slices)
    assert np.array_equal(got | want, got) and not (got & ~want)[:5].any()  # cumsum: its line
    # where: row i has x[i] (both arms) and x[n-1-i] (the first arm)
    where = pattern_of(x, f=where_arms)
    assert np.array_equal(where, np.eye(5, dtype=bool) | np.eye(5, dtype=bool)[::-1])
    # if on data: the union of x[1:]*x[:-1] and x[1:] - exp(x[0])
    arms = pattern_of(x, f=if_arms)
    want = np.zeros((4, 5), dtype=bool)
    want[np.arange(4), np.arange(4)] = want[np.arange(4), np.arange(1, 5)] = True
    want[:, 0] = True
    assert np.array_equal(arms, want)
    # matmul: row i of sin(A @ x) + x[0] depends on row i of A, all of x
    A = RNG.uniform(-1, 1, (3, 4))
    mm = pattern_of(A, x[:4], f=matmul)
    want = np.zeros((3, 16), dtype=bool)
    for i in range(3):
        want[i, 4 * i:4 * i + 4] = True
    want[:, 12:] = True
    assert np.array_equal(mm, want)
    # scalars: (x*y, sin z, x + z**2, 3y)
    assert np.array_equal(pattern_of(1.0, 2.0, 3.0, f=scalars),
                          np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 0]], dtype=bool))
    # a function of numbers only needs no example arguments
    assert np.array_equal(jacobian(scalars).sparsity().toarray(), pattern_of(1.0, 2.0, 3.0, f=scalars))
    # zero by value: stored although 0 at x0 = 0
    at_zero = jacobian(zero_by_value, sparse=True)(np.array([0.0, 1.0, 0.0]))
    coo = at_zero.tocoo()
    stored = set(zip(coo.row.tolist(), coo.col.tolist()))
    assert (0, 1) in stored and at_zero[0, 1] == 0.0 and (1, 2) in stored and at_zero[1, 2] == 0.0


def test_a_parameter_that_is_data_and_indices_read_at_the_call():
    x = RNG.uniform(-1, 1, 4)
    M = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    J = jacobian(matvec_data, wrt="x", sparse=True)
    got = J(x, M)
    expected = M * np.exp(x)
    assert np.allclose(got.toarray(), expected, rtol=1e-14)
    assert sparsity(matvec_data, x, M, wrt="x").toarray().all()  # M's zeros are values: all kept
    idx = np.array([3, 0, 0])
    T = jacobian(take_data, wrt="x", sparse=True)
    got = T(x, idx)
    want = np.zeros((3, 4))
    want[np.arange(3), idx] = 2 * x[idx]
    assert np.allclose(got.toarray(), want, rtol=1e-14)  # a conservative pattern, exact values


def test_jacobian_of_a_gradient_and_the_hessian_agree():
    x = RNG.uniform(-1, 1, 7)
    inner = symdiff.grad(rosen)
    J = jacobian(inner, sparse=True)(x)
    H = hessian(rosen, sparse=True)(x)
    assert np.allclose(J.toarray(), H.toarray(), rtol=1e-13, atol=1e-12)
    assert np.array_equal(sparsity(inner, x).toarray(), tridiagonal(7))


def test_the_dense_result_takes_the_compressed_route_when_it_is_shorter():
    x = RNG.uniform(-1, 1, 40)
    J = jacobian(bidiagonal)
    result = J(x)
    assert isinstance(result, np.ndarray) and result.shape == (39, 40)
    build = J.build_for(x)
    assert build.compression.count == 2 and build.compression.useful
    D = jacobian(dense)
    D(x)
    assert not D.build_for(x).compression.useful  # dense: one pass per row, as before


def test_colouring_is_a_valid_partition():
    for n in (1, 2, 9, 30):
        rows, cols = np.nonzero(RNG.uniform(size=(n, n + 3)) < 0.2)
        p = structure.Pattern.from_pairs(rows, cols, n, n + 3)
        colours = structure.colour_rows(p)
        dense_p = p.to_dense()
        for c in np.unique(colours):
            members = dense_p[colours == c]
            assert (members.sum(axis=0) <= 1).all()  # no column shared within a colour


def test_patterns_without_a_rule_are_conservative():
    """An operation with no rule (einsum here) depends on every number of its operands."""
    a, b = RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, 2)
    p = pattern_of(a, b, f=outer_einsum)
    assert p.all()


def test_sparse_needs_scipy(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.sparse", None)
    with pytest.raises(ImportError, match=r"pip install 'symdiff\[sparse\]'"):
        jacobian(bidiagonal, sparse=True)
    with pytest.raises(ImportError, match="scipy is not installed"):
        sparsity(bidiagonal, np.zeros(3))
    assert jacobian(bidiagonal)(np.zeros(3)).shape == (2, 3)  # dense results never need it


def test_sparsity_of_array_functions_needs_example_arguments():
    with pytest.raises(TypeError, match="needs example arguments"):
        jacobian(bidiagonal).sparsity()


def _corpus_cases():
    from .corpus_arrays import ARRAY_CORPUS

    return [(f, point, wrt) for f, points, wrt in ARRAY_CORPUS for point in points[:1]]


@pytest.mark.parametrize("f, point, wrt", _corpus_cases(), ids=lambda c: getattr(c, "__name__", ""))
def test_sparse_hessians_of_the_array_corpus(f, point, wrt):
    """Every array corpus function whose Hessian symdiff makes: ``sparse=True`` against mpmath,
    its pattern holding every nonzero; the dense route (compressed where that is shorter) too."""
    try:
        dense_result = hessian(f, wrt=wrt)(*point)
    except symdiff.SymdiffError:
        pytest.skip("no Hessian for this function (refused as for the dense one)")
    H = hessian(f, wrt=wrt, sparse=True)
    expected = mp_hessian(f, point, wrt)
    pattern = check_sparse(H(*point), expected, dense_result, rtol=1e-8, atol=1e-9)
    assert np.array_equal(pattern, pattern.T)


def model(p, x):
    return np.sum((p["w"] * x + p["b"]) ** 2) + p["w"][0] * p["b"]


def cyclic(v, n):
    s = 0.0
    for i in range(n):
        s = s + v[i] ** 2 * v[(i + 1) % n]
    return s


def test_containers_and_lists():
    """A dict of parameters (columns: its leaves in order) and a list read in a loop of an int
    count: the arrowhead and the cyclic tridiagonal Hessians."""
    p, x = {"w": np.array([1.0, 2.0, 3.0]), "b": 0.5}, np.array([0.1, 0.2, 0.3])
    got = hessian(model, wrt="p", sparse=True)(p, x)
    # by hand: d2/dw_i dw_j = 2 x_i^2 [i = j]; d2/dw_i db = 2 x_i + [i = 0]; d2/db2 = 2 n
    by_hand = np.zeros((4, 4))
    by_hand[:3, :3] = np.diag(2 * x ** 2)
    by_hand[:3, 3] = by_hand[3, :3] = 2 * x + np.array([1.0, 0.0, 0.0])
    by_hand[3, 3] = 6.0
    assert np.allclose(got.toarray(), by_hand, rtol=1e-14, atol=0)
    arrow = np.eye(4, dtype=bool)
    arrow[3, :] = arrow[:, 3] = True
    assert np.array_equal(sparsity(model, p, x, wrt="p", hessian=True).toarray(), arrow)
    v = [1.0, -2.0, 3.0, 0.5, 1.5]
    got = hessian(cyclic, wrt="v", sparse=True)(v, 5)
    check_sparse(got, mp_hessian(cyclic, (v, 5), wrt="v"), hessian(cyclic, wrt="v")(v, 5))
    ring = tridiagonal(5)
    ring[0, 4] = ring[4, 0] = True
    assert np.array_equal(sparsity(cyclic, v, 5, wrt="v", hessian=True).toarray(), ring)


def arrowhead(x):
    return np.sum((x[1:] - x[0]) ** 2 * np.cos(x[1:])) + x[0] ** 4


def test_an_arrowhead_hessian_takes_two_passes():
    """A dense row and column (x[0] in every term): that row has a pass of its own and gives
    its column by symmetry; the diagonal of the others takes one more."""
    x = RNG.uniform(-1, 1, 200)
    H = hessian(arrowhead, sparse=True)
    got = H(x)
    assert H.build_for(x).compression.count == 2
    # by hand (sympy.diff of one term t(a, b) = (b - a)**2 cos(b), plus a**4)
    a, b = sympy.symbols("a b", real=True)
    term = (b - a) ** 2 * sympy.cos(b)
    daa, dab, dbb = (sympy.lambdify((a, b), sympy.diff(term, *w)) for w in ((a, a), (a, b), (b, b)))
    by_hand = np.diag(np.concatenate([[np.sum(daa(x[0], x[1:])) + 12 * x[0] ** 2], dbb(x[0], x[1:])]))
    by_hand[0, 1:] = by_hand[1:, 0] = dab(x[0], x[1:])
    assert np.allclose(got.toarray(), by_hand, rtol=1e-12, atol=1e-12)
    assert np.array_equal(hessian(arrowhead)(x), got.toarray())
    small = RNG.uniform(-1, 1, 6)
    check_sparse(hessian(arrowhead, sparse=True)(small), mp_hessian(arrowhead, (small,)),
                 hessian(arrowhead)(small))


def row_maxima(A):
    return np.sum(np.max(A, axis=1) ** 2) + np.sum(np.prod(A, axis=1))


def test_max_and_prod_along_an_axis_keep_their_rows_apart():
    """The adjoints of max and prod along axis 1 depend on their own row of A only: the
    Hessian is block diagonal (a block per row), exact against mpmath."""
    A = RNG.uniform(0.5, 1.5, (3, 4))
    got = hessian(row_maxima, sparse=True)(A)
    check_sparse(got, mp_hessian(row_maxima, (A,)), hessian(row_maxima)(A))
    blocks = np.kron(np.eye(3, dtype=bool), np.ones((4, 4), dtype=bool))
    assert np.array_equal(sparsity(row_maxima, A, hessian=True).toarray(), blocks)


def scaled(x):  # column 0 in every row: n row colours, 2 column colours
    return x * x[0] + np.sin(x)


def test_a_dense_column_takes_two_forward_passes():
    """Where the columns need fewer colours than the rows, the Jacobian is made of
    Jacobian-vector products (``jvp``'s generated code) on the column colours."""
    x = RNG.uniform(-1, 1, 300)
    J = jacobian(scaled, sparse=True)
    got = J(x)
    plan = J.build_for(x).compression
    assert plan.count == 300 and plan.columns()[1] == 2 and J._forward is not None
    by_hand = np.diag(x[0] + np.cos(x))  # sympy.diff by hand: d/dx_j (x_i x_0 + sin x_i)
    by_hand[:, 0] += x
    assert np.allclose(got.toarray(), by_hand, rtol=1e-14, atol=0)
    dense_result = jacobian(scaled)(x)
    assert np.array_equal(dense_result, got.toarray())
    small = RNG.uniform(-1, 1, 5)
    check_sparse(jacobian(scaled, sparse=True)(small), mp_jacobian(scaled, (small,)),
                 jacobian(scaled)(small))
