"""The numpy a loss function uses (issue 14, first slice): ``keepdims=``, ``np.var``/``np.std``,
comparisons used as numbers (``a * (a > 0)``, ``np.sum(x < y)``), ``np.mod``/``np.remainder``/
``np.floor_divide``.

Values are checked against the function itself (numpy runs it), gradients against the mpmath
reference at 50 digits (tests/reference.py), at points on both sides of every comparison.
"""

import math

import numpy as np
import pytest

from symdiff import SymdiffError, grad, value_and_grad

from .reference import mp_grad

RNG = np.random.default_rng(11)
X = RNG.normal(size=(3, 4))
V = RNG.normal(size=5)


def check(f, *args, exact=True):
    """value_and_grad(f) gives f's value (bitwise when ``exact``) and the mpmath gradient."""
    value, gradient = value_and_grad(f)(*args)
    want = f(*args)
    assert np.shape(value) == np.shape(want)
    if exact:
        assert np.array_equal(value, want), (value, want)
    else:
        assert np.allclose(value, want, rtol=1e-14, atol=1e-15)
    reference = mp_grad(f, args)
    gradients = gradient if len(args) > 1 else (gradient,)
    for got, ref in zip(gradients, reference):
        ref = np.asarray(ref, dtype=float)
        assert np.shape(got) == np.shape(ref)
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-12), (got, ref)


# ---- keepdims ----
def softmax_loss(x):
    z = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(z)
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(np.log(p[:, 0]))


def normalised_rows(x):
    return np.sum(np.sin(x / np.mean(x * x, axis=1, keepdims=True)))


def kept_everything(x):
    return np.sum(x * np.prod(x, keepdims=True)) + np.sum(np.min(x, axis=0, keepdims=True) ** 2)


def kept_method(x):
    return np.sum((x - x.mean(axis=0, keepdims=True)) ** 2 / x.sum(keepdims=True))


@pytest.mark.parametrize("f", [softmax_loss, normalised_rows, kept_everything, kept_method],
                         ids=lambda f: f.__name__)
def test_keepdims(f):
    check(f, X)
    check(f, np.abs(X) + 0.5)


def test_keepdims_shapes_are_numpy_s():
    def column(x):
        return np.sum(x, axis=0, keepdims=True) * 1.5

    assert grad(lambda_free_sum_kept)(X).shape == X.shape
    from symdiff import jacobian

    jac = jacobian(column)(X)  # rows: the (1, 4) output flattened; columns: X flattened
    by_hand = np.zeros((4, 3, 4))
    for j in range(4):
        by_hand[j, :, j] = 1.5
    assert np.array_equal(jac, by_hand.reshape(4, 12))
    assert np.array_equal(value_and_grad(lambda_free_sum_kept)(X)[0], lambda_free_sum_kept(X))


def lambda_free_sum_kept(x):
    return np.sum(np.sum(x, axis=1, keepdims=True) * x)


def test_keepdims_must_be_a_bool():
    def f(x):
        return np.sum(np.sum(x, keepdims="yes"))

    with pytest.raises(SymdiffError, match="keepdims must be True or False"):
        grad(f)(X)


# ---- var and std ----
def variance(x):
    return np.var(x)


def std_of_columns(x):
    return np.sum(np.std(x, axis=0) * np.arange(1.0, 5.0))


def unbiased(x):
    return np.var(x, ddof=1) + np.sum(np.var(x, axis=1, ddof=1, keepdims=True) * x)


def standardised(x):
    return np.sum(np.tanh((x - np.mean(x, axis=0)) / np.std(x, axis=0)))


def std_method(v):
    return v.std() * v.var(ddof=1)


@pytest.mark.parametrize("f", [variance, std_of_columns, unbiased, standardised],
                         ids=lambda f: f.__name__)
def test_var_and_std(f):
    check(f, X)


def test_var_and_std_methods():
    check(std_method, V, exact=False)  # the reference has no object-array .std(): by hand below
    v = V
    n = v.size
    s, var1 = v.std(), v.var(ddof=1)
    d = v - v.mean()
    by_hand = d / (n * s) * var1 + s * 2 * d / (n - 1)
    assert np.allclose(grad(std_method)(v), by_hand, rtol=1e-12)


def test_std_of_a_constant_array_is_a_norm_at_zero():
    """std is the root of a sum of squares: at a constant array the subgradient 0 (as for
    np.linalg.norm at the zero vector), not 0 * inf = nan."""
    with np.errstate(all="ignore"):
        value, gradient = value_and_grad(lambda_free_std)(np.full(4, 2.5))
    assert value == 0.0 and np.array_equal(gradient, np.zeros(4))


def lambda_free_std(v):
    return np.std(v)


def test_ddof_must_leave_a_count():
    def f(v):
        return np.var(v, ddof=5)

    with pytest.raises(SymdiffError, match="ddof=5"):
        grad(f)(V)


# ---- comparisons as numbers ----
def relu(a):
    return a * (a > 0)


def relu_loss(x):
    return np.sum(x * (x > 0.1)) + np.sum(x < -0.2) * np.sum(x)


def hinge(v, w):
    margin = 1.0 - v * w
    return np.mean(margin * (margin > 0))


def counted(a, b):
    return (a > b) * a ** 2 + (b >= 0.5) - (a < 0) * b


@pytest.mark.parametrize("a", [-1.5, -0.25, 0.25, 2.0])
def test_relu_both_sides(a):
    check(relu, a)
    assert grad(relu)(a) == (1.0 if a > 0 else 0.0)


def test_comparisons_as_numbers_in_arrays():
    check(relu_loss, X)
    check(hinge, V, np.linspace(-1.0, 2.0, 5))


@pytest.mark.parametrize("args", [(0.3, 0.2), (0.2, 0.3), (-0.4, 0.7), (-0.4, -0.9)])
def test_comparisons_as_numbers_in_scalars(args):
    check(counted, *args)
    assert type(counted(*args)) is type(value_and_grad(counted)(*args)[0]) or \
        isinstance(value_and_grad(counted)(*args)[0], float)


# ---- mod, remainder, floor_divide ----
def wrapped(x):
    return np.sum(np.sin(np.mod(x, 0.7)) + np.remainder(x, -0.3) * np.floor_divide(x, 0.25))


def scalar_mod(a, b):
    return np.mod(a, b) * a + np.floor_divide(a, 0.3)


def test_mod_remainder_floor_divide_arrays():
    check(wrapped, X)


@pytest.mark.parametrize("args", [(0.7, 0.25), (-0.7, 0.25), (0.7, -0.3), (2.5, 1.1)])
def test_mod_of_numbers(args):
    check(scalar_mod, *args)


def test_mod_by_zero_is_numpy_s_nan_not_python_s_error():
    def f(a):
        return np.mod(a, 0.0) + np.floor_divide(a, 0.0) * 0.0

    with np.errstate(all="ignore"):
        value = value_and_grad(f)(0.75)[0]
        assert math.isnan(value) and math.isnan(f(0.75))


# ---- integer-array indexing (gathers; the adjoint adds up repeated indices) ----
LABELS = np.array([0, 2, 1, 1, 0, 2])
FEATURES = RNG.normal(size=(6, 3))


def nll(W, X, y):
    z = X @ W
    z = z - np.max(z, axis=1, keepdims=True)
    logp = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(X.shape[0]), y])


def picks(x):
    return np.sum(x[[0, 2, 2]] ** 2) + np.sum(x[np.array([1, 1, 3])] * x[np.array([3, 3, 1])])


def rows_and_columns(A):
    return np.sum(np.sin(A[[2, 0, 2], :]) * A[:, [1, 1, 0, 3]] ** 2) + np.sum(A[LABELS[:3], [0, 1, 1]])


def test_labels_pick_log_probabilities():
    W = RNG.normal(size=(3, 3))
    value, gradient = value_and_grad(nll, wrt="W")(W, FEATURES, LABELS)
    assert value == nll(W, FEATURES, LABELS)
    want = np.asarray(mp_grad(nll, (W, FEATURES, LABELS), wrt=["W"])[0], dtype=float)
    assert np.allclose(gradient, want, rtol=1e-10, atol=1e-12)
    other = np.array([2, 2, 2, 0, 0, 1])  # the labels are read at each call
    want = np.asarray(mp_grad(nll, (W, FEATURES, other), wrt=["W"])[0], dtype=float)
    assert np.allclose(grad(nll, wrt="W")(W, FEATURES, other), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("f, x", [(picks, V), (rows_and_columns, X)], ids=["picks", "rows_and_columns"])
def test_repeated_indices_add_up(f, x):
    check(f, x)


def test_differentiated_labels_are_refused():
    with pytest.raises(SymdiffError, match="y indexes an array here") as info:
        grad(nll)(RNG.normal(size=(3, 3)), FEATURES, LABELS)
    assert info.value.lineno == nll.__code__.co_firstlineno + 4 and "wrt" in info.value.hint


def test_boolean_masks_are_summed_exactly():
    """Refused before boolean masks were implemented (issue 14); now a sum of the masked values
    is the sum of np.where(mask, x, 0), and a known mask is a gather (tests/test_inplace.py has
    the rest, and the refusals of masked values whose length matters)."""
    def masked(x):
        return np.sum(x[x > 0])

    check(masked, V, exact=False)

    def constant_mask(x):
        return np.sum(x[np.array([True, False, True, False, True])])

    check(constant_mask, V, exact=False)


# ---- rearranging: squeeze, expand_dims, atleast_*, flip, diff, swapaxes, moveaxis, diag,
#      trace, tril/triu, repeat, tile, cumsum (each a reshape, transpose, index or gather) ----
def rearranged_squeeze(A):
    return np.sum(np.squeeze(A[:, :1]) ** 2) + np.sum(np.expand_dims(A[0], 0) * A)


def rearranged_flip(A):
    return np.sum(np.flip(A) * A) + np.sum(np.flip(A, axis=1)[0] ** 3)


def rearranged_diff(v):
    return np.sum(np.diff(v) ** 2) + np.sum(np.diff(v, n=2) * v[:3])


def rearranged_axes(A):
    return np.sum(np.swapaxes(A, 0, 1) @ A) + np.sum(np.moveaxis(A, 0, -1)[1] ** 2)


def rearranged_diag(A):
    return np.sum(np.diag(A) ** 2) + np.trace(A[:, :3]) + np.sum(np.diag(A[0]) @ A.T) + np.sum(np.diag(A, 1))


def rearranged_triangles(A):
    return np.sum(np.tril(A) ** 2) + np.sum(np.triu(A, 1) * 3.0)


def rearranged_repeats(v):
    return np.sum(np.repeat(v, 2) * np.arange(10.0)) + np.sum(np.tile(v, (2, 1)) ** 2)


def rearranged_cumsum(A):
    return np.sum(np.cumsum(A, axis=1) ** 2) + np.sum(np.cumsum(A[0]) * 2.0) + np.sum(np.cumsum(A) ** 3)


def rearranged_at_least(v):
    return np.sum(np.atleast_2d(v) @ np.atleast_2d(v).T) + np.sum(np.atleast_3d(v))


REARRANGED = [(rearranged_squeeze, X), (rearranged_flip, X), (rearranged_diff, V),
              (rearranged_axes, X), (rearranged_diag, X), (rearranged_triangles, X),
              (rearranged_repeats, V), (rearranged_cumsum, X), (rearranged_at_least, V)]


@pytest.mark.parametrize("f, x", REARRANGED, ids=[f.__name__ for f, _ in REARRANGED])
def test_rearranging_functions(f, x):
    check(f, x)


@pytest.mark.parametrize("f", [rearranged_diff, rearranged_repeats, rearranged_at_least],
                         ids=lambda f: f.__name__)
def test_rearranging_functions_second_derivatives(f):
    from symdiff import hessian

    from .reference import mp_hessian

    want = np.asarray(mp_hessian(f, (V,)), dtype=float)
    assert np.allclose(hessian(f)(V), want, rtol=1e-8, atol=1e-10)


def cumsum_hessian_case(v):
    return np.sum(np.cumsum(v) ** 3) + np.sum(np.diag(v) @ np.diag(v[::-1]))


def test_cumsum_and_diag_second_derivatives():
    from symdiff import hessian

    from .reference import mp_hessian

    want = np.asarray(mp_hessian(cumsum_hessian_case, (V,)), dtype=float)
    assert np.allclose(hessian(cumsum_hessian_case)(V), want, rtol=1e-8, atol=1e-10)


# ---- contractions: np.einsum, np.tensordot ----
A34 = RNG.normal(size=(3, 4))
B42 = RNG.normal(size=(4, 2))
T234 = RNG.normal(size=(2, 3, 4))


def einsum_matmul(A, B):
    return np.sum(np.sin(np.einsum("ij,jk->ik", A, B)))


def einsum_reductions(A):
    return np.einsum("ij,ij->", A, A) + np.sum(np.einsum("ij->j", A) ** 2)


def einsum_implicit_batch(T, A):
    return np.sum(np.einsum("bij,jk", T, A.T) ** 2)


def einsum_outer(A, B):
    return np.sum(np.einsum("ij,kl->ijkl", A, B) ** 2)


def tensordots(T, A, B):
    return np.sum(np.tensordot(T, A, axes=([1, 2], [0, 1])) ** 2) + np.sum(np.tensordot(A, B, 1) ** 2)


@pytest.mark.parametrize("f, args", [(einsum_matmul, (A34, B42)), (einsum_reductions, (A34,)),
                                     (einsum_implicit_batch, (T234, A34)), (einsum_outer, (A34, B42)),
                                     (tensordots, (T234, A34, B42))],
                         ids=["matmul", "reductions", "implicit_batch", "outer", "tensordot"])
def test_contractions(f, args):
    check(f, *args)


def test_contraction_second_derivatives():
    from symdiff import hessian

    from .reference import mp_hessian

    def flat(v):
        return einsum_matmul(v[:12].reshape(3, 4), v[12:].reshape(4, 2))

    v = np.concatenate([A34.ravel(), B42.ravel()])
    assert np.allclose(hessian(flat)(v), np.asarray(mp_hessian(flat, (v,)), dtype=float),
                       rtol=1e-8, atol=1e-10)


def test_einsum_diagonals_and_ellipses_are_refused():
    def diagonal(A):
        return np.einsum("ii->", A)

    with pytest.raises(SymdiffError, match="a letter twice in one operand") as info:
        grad(diagonal)(np.eye(3))
    assert "np.diag" in info.value.hint


# ---- np.linalg: inv, solve, det, slogdet (the standard matrix adjoints) ----
SQUARE = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
SPD = SQUARE @ SQUARE.T


def inverse(A):
    return np.sum(np.linalg.inv(A) ** 2)


def solved_vector(A, b):
    return np.sum(np.sin(np.linalg.solve(A, b)))


def solved_matrix(A, B):
    return np.sum(np.linalg.solve(A, B) ** 2)


def determinants(A):
    return np.linalg.det(A) ** 2 + np.linalg.det(A @ A.T)


def signed_log_determinant(A):
    sign, logdet = np.linalg.slogdet(A)
    return sign * logdet * 2.0


def gaussian_nll(x, S):
    return 0.5 * x @ np.linalg.solve(S, x) + 0.5 * np.linalg.slogdet(S)[1]


@pytest.mark.parametrize("f, args", [(inverse, (SQUARE,)), (solved_vector, (SQUARE, V[:3])),
                                     (solved_matrix, (SQUARE, X[:, :2])), (determinants, (SQUARE,)),
                                     (signed_log_determinant, (SQUARE,)), (gaussian_nll, (V[:3], SPD))],
                         ids=["inv", "solve_vector", "solve_matrix", "det", "slogdet", "gaussian"])
def test_linalg(f, args):
    check(f, *args)


def test_linalg_second_derivatives():
    from symdiff import hessian

    from .reference import mp_hessian

    def flat(v):
        return inverse(v.reshape(3, 3)) + determinants(v.reshape(3, 3))

    v = SQUARE.ravel()
    assert np.allclose(hessian(flat)(v), np.asarray(mp_hessian(flat, (v,)), dtype=float),
                       rtol=1e-7, atol=1e-9)


def test_linalg_of_a_non_square_matrix_is_located():
    with pytest.raises(SymdiffError, match="square 2-D matrix") as info:
        grad(inverse)(X)
    assert info.value.lineno == inverse.__code__.co_firstlineno + 1


# ---- randomness inside the loss: a located refusal that says how to pass the draws in ----
def dropout_global(x):
    return np.sum(x * (np.random.random(x.shape) > 0.5))


def dropout_generator(x, rng):
    return np.sum(x * (rng.random(3) > 0.5))


def test_random_draws_are_refused_with_the_rewrite():
    with pytest.raises(SymdiffError, match="draws random numbers") as info:
        grad(dropout_global)(V)
    assert info.value.lineno == dropout_global.__code__.co_firstlineno + 1 and "mask" in info.value.hint
    with pytest.raises(SymdiffError, match="random number generator") as info:
        grad(dropout_generator, wrt="x")(V[:3], np.random.default_rng(0))
    assert "mask" in info.value.hint

    def with_mask(x, mask):  # the rewrite: the mask drawn outside, an argument left out of wrt
        return np.sum(x * mask)

    mask = np.random.default_rng(1).random(5) > 0.5
    assert np.array_equal(grad(with_mask, wrt="x")(V, mask), mask.astype(float))


# ---- stacks of matrices: @ / np.matmul with more than 2 dimensions (batch axes broadcast) ----
STACK = RNG.normal(size=(2, 3, 4))


def batched_by_matrix(A, B):
    return np.sum(np.sin(A @ B))


def batched_by_batched(A, C):
    return np.sum((A @ C) ** 2)


def batched_broadcast(A, D):
    return np.sum(np.matmul(A, D) ** 3)


@pytest.mark.parametrize("f, args", [(batched_by_matrix, (STACK, RNG.normal(size=(4, 2)))),
                                     (batched_by_batched, (STACK, RNG.normal(size=(2, 4, 3)))),
                                     (batched_broadcast, (STACK, RNG.normal(size=(1, 4, 2))))],
                         ids=["by_matrix", "by_stack", "broadcast"])
def test_batched_matmul(f, args):
    check(f, *args)


def test_dot_of_stacks_is_refused():
    def stacked_dot(A):
        return np.sum(np.dot(A, A[0].T))

    with pytest.raises(SymdiffError, match="np.dot of arrays with more than 2 dimensions"):
        grad(stacked_dot)(STACK)


# ---- take, take_along_axis, sort/argsort (the adjoint back through the permutation), roll,
#      kron, cross, pad ----
def taken(A):
    return np.sum(np.take(A, [2, 0, 2], axis=1) ** 2) + np.sum(np.take(A, [1, 5]))


def sorted_rows(A):
    return np.sum(np.sort(A, axis=1) * np.arange(4.0)) + np.sum(np.sort(A[0]) * np.arange(4.0))


def argsorted(A):
    order = np.argsort(A[0])
    return np.sum(A[:, order] * np.arange(4.0)) + np.sum(np.take_along_axis(A, np.argsort(A, axis=0), 0)[0])


def rolled(v):
    return np.sum(np.roll(v, 2) * np.arange(5.0)) + np.sum(np.roll(v, -1) ** 2)


def kronecker(A):
    return np.sum(np.kron(A[:2, :2], A[1:, 2:]) ** 2) + np.sum(np.kron(A[0], A[1]) * 0.5)


def crossed(w, u):
    return np.sum(np.cross(w, u) ** 2)


def padded(v):
    return np.sum(np.pad(v, (1, 2)) * np.arange(8.0))


MOVED = [(taken, (X,)), (sorted_rows, (X,)), (argsorted, (X,)), (rolled, (V,)),
         (kronecker, (X,)), (crossed, (V[:3], V[2:])), (padded, (V,))]


@pytest.mark.parametrize("f, args", MOVED, ids=[f.__name__ for f, _ in MOVED])
def test_take_sort_roll_kron_cross_pad(f, args):
    check(f, *args)


# ---- np.linalg.cholesky, np.linalg.eigh (numpy reads the lower triangle: so do the adjoints) ----
def cholesky_terms(A):
    return np.sum(np.linalg.cholesky(A) ** 2) + np.sum(np.log(np.diag(np.linalg.cholesky(A))))


def gaussian_by_cholesky(A, b):
    L = np.linalg.cholesky(A)
    z = np.linalg.solve(L, b)
    return 0.5 * z @ z + np.sum(np.log(np.diag(L)))


def eigen_terms(A):
    w, V = np.linalg.eigh(A)
    return np.sum(w * np.arange(1.0, 4.0)) + np.sum((V ** 2) @ np.arange(3.0))  # sign-free in V


@pytest.mark.parametrize("f, args", [(cholesky_terms, (SPD,)), (gaussian_by_cholesky, (SPD, V[:3])),
                                     (eigen_terms, (SPD,)), (eigen_terms, (SQUARE,))],
                         ids=["cholesky", "gaussian", "eigh", "eigh_lower_triangle"])
def test_cholesky_and_eigh(f, args):
    check(f, *args)


def test_cholesky_second_derivatives_and_eigh_refuses_them():
    from symdiff import hessian

    from .reference import mp_hessian

    def flat(v):
        return cholesky_terms(v.reshape(3, 3))

    v = SPD.ravel()
    assert np.allclose(hessian(flat)(v), np.asarray(mp_hessian(flat, (v,)), dtype=float),
                       rtol=1e-6, atol=1e-8)

    def flat_eigen(v):
        return eigen_terms(v.reshape(3, 3))

    with pytest.raises(SymdiffError, match="second derivatives through np.linalg.eigh"):
        hessian(flat_eigen)(v)


# ---- np.linalg.norm with ord= and axis= ----
def norms(A):
    return (np.sum(np.linalg.norm(A, axis=1) ** 3) + np.sum(np.linalg.norm(A, axis=0, keepdims=True) * A)
            + np.linalg.norm(A[0], ord=1) + np.linalg.norm(A[1], np.inf) + np.linalg.norm(A, "fro")
            + np.sum(np.linalg.norm(A, ord=-np.inf, axis=1)))


def test_norm_orders_and_axes():
    check(norms, X)


def test_matrix_norms_other_than_frobenius_are_refused():
    def spectral(A):
        return np.linalg.norm(A, 2)

    with pytest.raises(SymdiffError, match="ord=2"):
        grad(spectral)(X)
