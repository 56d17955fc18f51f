"""The array corpus: numpy-style functions of sequences and arrays, each with argument sets.

Every function here is checked against ``tests/reference.py`` (its own source over mpmath object
arrays at 50 digits, differentiated one component at a time) in ``tests/test_arrays.py``. Add a
function with ``@case(args, args, ...)``; ``wrt=`` limits the differentiated parameters. Shapes are
small so that every check is fast; points avoid ties and kinks (max/min/clip/where).
"""

import math
from math import sin

import numpy as np

ARRAY_CORPUS = []


def case(*points, wrt=None):
    def register(f):
        ARRAY_CORPUS.append((f, points, wrt))
        return f

    return register


def a(*values):
    return np.array(values, dtype=float)


V3 = a(0.3, -0.7, 1.1)
V4 = a(0.5, -1.2, 0.8, 0.25)
V5 = a(0.2, 0.9, -0.4, 1.3, -0.6)
M23 = a([0.4, -0.3, 0.9], [1.2, 0.1, -0.8])
M32 = M23.T.copy()
M33 = a([0.7, -0.2, 0.5], [0.1, 1.4, -0.6], [-0.9, 0.3, 0.8])
M34 = a([0.3, -0.5, 0.9, 0.1], [1.1, 0.4, -0.7, 0.6], [-0.2, 0.8, 0.35, -1.3])

# module-level array constants read by some functions
WEIGHTS = a([0.5, -1.0, 2.0], [1.5, 0.25, -0.75])
BIAS = a(0.1, -0.2)
COEFFS = a(1.0, 2.0, 3.0, 4.0)


# ---- sequence arguments: x[i], len, iteration, zip, enumerate ----
@case(([0.3, -0.7, 1.1],), ((0.3, -0.7, 1.1),), (V4,))
def seq_index_len(x):
    s = 0.0
    for i in range(len(x)):
        s = s + (i + 1) * x[i] ** 2 + math.sin(x[i])
    return s


@case(((0.5, 1.5, -0.25),), ([2.0, -1.0],))
def seq_iterate(x):
    total = 1.0
    for v in x:
        total = total * (1 + v * v) + sin(v)
    return total


@case(([0.1, 0.2, 0.3], [1.0, -2.0, 0.5]), ((0.5, -0.5), (2.0, 3.0)))
def seq_zip(x, y):
    s = 0.0
    for u, v in zip(x, y):
        s += u * v + math.exp(u - v)
    return s


@case(([0.6, -0.3, 0.9, 0.2],), (V3,))
def seq_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1.5) * v ** 3 - i * math.cos(v)
    return s


@case(([0.4, 1.2, -0.8],), ((1.0, 2.0, 3.0, 4.0),))
def seq_comprehension_sum(x):
    return sum([v ** 2 for v in x]) * math.sqrt(sum(abs(v) for v in x))


@case((V5,), (a(1.0, 2.0, 3.0),))
def explicit_neighbour_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += x[i] * x[i + 1] - (x[i + 1] - x[i]) ** 2
    return s + x[-1] * x[0]


@case(([0.5, 1.5, 2.5],))
def list_into_numpy(x):
    v = np.array(x)
    return np.sum(np.sin(v) * v) + np.asarray(x)[1] ** 2


# ---- elementwise arithmetic and ufuncs ----
@case((V4,), (a(0.1, 0.2),))
def elementwise_ufuncs(x):
    y = np.exp(np.sin(x)) * np.log1p(x ** 2) + np.tanh(x) / 3
    return np.sum(y + np.sqrt(np.abs(x) + 1) - np.cos(2 * x) ** 2)


@case((V3, 0.7), (a(1.0, -1.0), -1.3))
def broadcast_scalar(x, s):
    return np.sum((s * x - 1) ** 2 + np.exp(s - x))


@case((a([0.3], [-0.5], [0.9]), a([1.0, -0.2, 0.4, 0.7])),)
def broadcast_outer_shapes(u, v):
    """(3,1) x (1,4) -> (3,4): both gradients summed back."""
    w = u * v
    return np.sum(np.sin(w) + u ** 2 * v) + np.sum(w * w)


@case((M34, V4),)
def broadcast_row(A, r):
    """A (3,4) against a row r (4,): r's gradient sums over the rows."""
    return np.sum(np.exp(0.5 * (A - r)) * r)


@case((M34, a([0.5], [1.5], [-0.8])),)
def broadcast_column(A, c):
    """A (3,4) against a column c (3,1): c's gradient sums over the columns."""
    return np.sum((A * c) ** 2) / (np.sum(c * c) + 1)


@case((V4, M34, 0.6), (a(1.0, 2.0), a([0.5, -0.5], [1.5, 0.25]), -1.0))
def broadcast_constant_partials(x, A, s):
    """Additive broadcasting: constant partials, so the adjoint must count the copies."""
    return np.sum(x + A) + 2 * np.sum(s - A) + np.mean(A - 3 * x) + np.sum(np.sin(A) + s)


@case((V3, a(1.3, 0.4, -2.0)),)
def binary_ufuncs(x, y):
    return np.sum(np.arctan2(x, y) + np.hypot(x, y) + np.power(x, 2) * y + np.maximum(x, y))


@case((V4,),)
def augmented_array_assignment(x):
    y = x * 2
    y += x ** 2
    y *= 3
    y = y - 1
    y /= 1 + x * x
    return np.sum(y)


# ---- reductions ----
@case((M23,), (M34,))
def sum_axes(A):
    return np.sum(np.sum(A, axis=0) ** 2) + np.sum(np.cos(np.sum(A, axis=1))) + np.sum(A, axis=-1)[0]


@case((M23,), (M33,))
def mean_forms(A):
    return np.mean(A ** 2) + np.sum(np.mean(A, axis=0) ** 3) + np.mean(np.exp(np.mean(A, axis=1)))


@case((V4, M23),)
def prod_forms(x, A):
    return np.prod(x) + np.sum(np.prod(A, axis=1)) + np.prod(A, axis=0)[1]


@case((M34,), (M23,))
def max_min_reductions(A):
    return np.max(A) + 2 * np.min(A) + np.sum(np.max(A, axis=0)) + np.sum(np.min(A, axis=1) ** 2)


@case((V4, a(1.0, -0.5, 0.25, 2.0)),)
def array_methods(x, y):
    return x.sum() * 0.5 + x.dot(y) + x.max() - y.min() + (x * y).mean() + x.prod()


@case((V5,),)
def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


# ---- linear algebra ----
@case((V3, a(1.0, 0.5, -2.0)),)
def vector_dot(x, y):
    return np.dot(x, y) + 2 * (x @ y) + np.matmul(x, y) ** 2


@case((M23, V3),)
def matrix_vector(A, x):
    return np.sum(np.tanh(A @ x)) + np.dot(A, x)[1] ** 2


@case((a(0.5, -1.5), M23),)
def vector_matrix(x, A):
    return np.sum(np.matmul(x, A) ** 2) + np.sum(np.sin(x @ A))


@case((M23, M34),)
def matrix_matrix(A, B):
    C = A @ B
    return np.sum(np.sin(C)) + np.sum(np.dot(A, B) * C) / 4


@case((V3, M33),)
def quadratic_form(x, A):
    return x @ A @ x + x @ (A.T @ x) / 2


@case((V4, M23),)
def norms(x, A):
    return np.linalg.norm(x) + np.linalg.norm(A) ** 3 + np.linalg.norm(x[1:] - 1)


@case((V3, a(0.5, 2.0)),)
def outer_product(x, y):
    return np.sum(np.outer(x, y) ** 2 * np.sum(y))


# ---- slicing and indexing ----
@case((V5,), (a(-1.2, 1.0, 0.5, 0.3),))
def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@case((a(0.2, 0.9, -0.4, 1.3, -0.6, 0.75),),)
def slices_1d(x):
    return (np.sum(x[::2] * x[1::2]) + np.sum(x * x[::-1] ** 2) + x[-1] * x[0]
            + np.sum(np.exp(x[1:-1])))


@case((M33,), (M34[:, :3].copy(),))
def rows_and_columns(A):
    return np.sum(A[:, 0] * A[1, :]) + A[2, 1] ** 2 + A[0, -1] * A[-1, 0] + np.sum(A[1:, ::2] ** 3)


@case((M23,), (M34,))
def index_2d_loops(A):
    s = 0.0
    n, m = A.shape
    for i in range(n):
        for j in range(m):
            s += A[i, j] * (i - j + 0.5) + A[i][j] ** 2
    return s


# ---- reshape, transpose, join ----
@case((a(0.3, -0.1, 0.7, 1.2, -0.5, 0.4),),)
def reshape_transpose(x):
    B = x.reshape(2, 3)
    C = np.reshape(x, (3, 2))
    return np.sum(np.sin(B.T @ B)) + np.sum(np.transpose(B) * C) + np.sum(B.transpose() ** 2)


@case((V3, a(1.0, -0.5, 0.2)),)
def concatenate_stack(x, y):
    z = np.concatenate([x, y ** 2, np.sin(x)])
    S = np.stack([x, y])
    T = np.stack((x, y * x), axis=1)
    return np.sum(z * np.arange(9.0)) + np.sum(S ** 3) + np.sum(T[:, 1] * T[:, 0]) + S[1, 2]


@case((M23, a([0.1, 0.2, 0.3])),)
def concatenate_2d(A, row):
    B = np.concatenate([A, row], axis=0)
    C = np.concatenate([A, A ** 2], axis=1)
    return np.sum(B ** 2 * 1.5) + np.sum(np.cos(C))


@case((V3, a(1.0, -0.5, 0.2)),)
def hstack_vstack(x, y):
    h = np.hstack([x, y * 2])
    v = np.vstack([x, y])
    return np.sum(h ** 2 * np.arange(6.0)) + np.sum(np.sin(v) * v[::-1])


@case((V3,),)
def array_from_scalars(x):
    v = np.array([x[0] * x[1], x[1] + x[2], np.sin(x[2])])
    return np.sum(v ** 2) + v @ x


# ---- branches and kinks, elementwise ----
@case((a(0.5, -0.8, 1.3, -0.2),), (a(-1.5, 0.7),))
def where_both_sides(x):
    y = np.where(x > 0, x ** 2, np.sin(x))
    return np.sum(y * np.where(x < 0.6, 2.0, x))


@case((a(0.3, -0.9, 1.4, 0.6), a(0.5, -1.0, 0.2, 0.9)),)
def maximum_minimum_clip(x, y):
    return np.sum(np.maximum(x, y) * np.minimum(x, 0.5) + np.clip(x, -0.5, 1.0) ** 2
                  + np.clip(y * 3, -1.0, 2.0))


# ---- module constants, mixed models ----
@case((V3,),)
def global_constants(x):
    h = np.tanh(WEIGHTS @ x + BIAS)
    return np.sum(h ** 2) + COEFFS[1:] @ (x * x)


@case((a([0.2, -0.4, 0.6], [0.8, 0.1, -0.3]), a(0.3, -0.5), V3),)
def small_mlp(W, b, x):
    h = np.tanh(W @ x + b)
    return np.sum(np.log1p(np.exp(h))) + 0.5 * np.sum(W ** 2)


@case((V3, 0.8), (a(1.0, -2.0), -0.4))
def mixed_scalar_and_array(x, s):
    return s * np.sum(x) + np.exp(s) * x[0] + math.sin(s) * np.dot(x, x)


@case((V4, a(0.2, 0.4, -0.6, 1.0), 0.7), wrt=("y", "s"))
@case((V4, a(0.2, 0.4, -0.6, 1.0), 0.7), wrt=(0,))
def partial_wrt(x, y, s):
    return np.sum(x * y ** 2) * s + np.linalg.norm(y + s)


@case((V4,),)
def softmax_entropy(z):
    e = np.exp(z - np.max(z))
    p = e / np.sum(e)
    return -np.sum(p * np.log(p))


# ---- more indexing, shapes, helpers, closures ----
@case((V3, a(0.5, 2.0, -1.0)),)
def newaxis_broadcasting(x, y):
    return np.sum(np.sin(x[:, None] * y[None, :])) + np.sum(x[np.newaxis, :] ** 2 * y[:2, np.newaxis])


@case((V3,), (V5,))
def shape_queries(x):
    n = x.shape[0]
    m = len(x) + x.size + x.ndim
    return np.sum(x) / n + m * np.sum(x ** 2)


@case((M23, V3),)
def loop_over_rows(A, x):
    s = 0.0
    for i in range(A.shape[0]):
        s += np.tanh(A[i] @ x) + A[i, :].sum() * x[i]
    for row in A:
        s += np.max(row) ** 2
    for r1, r2 in zip(A, A[::-1]):
        s += r1 @ r2
    for i, row in enumerate(reversed(A)):
        s += (i + 1) * np.sum(row ** 3)
    return s


def _softmax(v):
    return np.exp(v) / np.sum(np.exp(v))


@case((V3, a(0.5, 2.0, -1.0)),)
def calls_a_helper(x, y):
    p = _softmax(x)
    return np.sum(p * y) + np.sum(_softmax(y) ** 2)


def _make_closure():
    W = a([1.0, 2.0], [3.0, -1.0])

    def closure_over_array(x):
        return np.sum(np.tanh(W @ x))

    return closure_over_array


case((a(0.2, -0.1),),)(_make_closure())


@case((a(0.3, -0.7, 1.1, 0.9),),)
def relu_sign_abs(x):
    return np.sum(np.maximum(x, 0) * x + np.clip(x, None, 0.5) + np.abs(x) * np.sign(x))


@case((V3, 0.5), (V3, -0.5))
def where_scalar_condition(x, s):
    return np.sum(np.where(s > 0, x * s, -x)) + np.sum(np.where(x > s, s, x))


@case((M23,),)
def methods_with_axis(A):
    return (np.sum(A.max(axis=0)) + A.min(axis=1).sum() + A.mean(axis=0) @ A.sum(axis=0)
            + A.T.dot(A[:, 0]).sum())


@case((M23,),)
def tuple_axes(A):
    return np.sum(A, axis=(0, 1)) * np.prod(A, axis=(0,)).sum()


@case((a(0.5, 1.5), a(2.0, 0.7)),)
def array_powers(x, y):
    return np.sum(x ** y + y ** 2.5 + 2.0 ** x + np.power(y, x))


@case((np.arange(24.0).reshape(2, 3, 4) / 10, V4),)
def three_dimensional(T, v):
    return np.sum(np.sin(T * v)) + np.sum(np.sum(T, axis=2) ** 2)


@case((M23,),)
def flatten_and_ravel(A):
    return np.sum(A.flatten() * np.arange(6.0)) + np.sum(np.ravel(A) ** 3) + A.ravel()[2]


@case((V3,), (V4,))
def negative_steps(x):
    return np.sum(x[::-2] * x[:2]) + np.sum(x[-1:0:-1] ** 2)


@case(([1.0, 3.0, 2.0],), ((0.5, -0.25, 0.75, 0.1),))
def reductions_of_a_list(x):
    return np.max(x) + 2 * np.min(x) + np.sum(x) * np.mean(x) + np.prod(x)


@case((V3,),)
def concrete_array_reductions(x):
    c = np.arange(1.0, 4.0)
    return np.sum(c) * np.sum(x * c) + np.max(c) * x[0] + np.mean(c) * np.dot(c, x)


@case((V3, a(0.5, 2.0, -1.0)),)
def reductions_of_arrays_in_a_list(x, y):
    return np.sum([x, y * 2]) + np.max([x, y], axis=0) @ x + np.mean([x, y ** 2])


@case((M23, np.full((3, 3), 0.3) + np.eye(3), V3),)
def matmul_chains(A, B, x):
    return np.sum((A @ B) @ x) + x @ B.T @ A.T @ np.ones(2)


# ---- branches on a differentiated scalar, with arrays inside ----
@case((a(1.0, 2.0, -0.5), 0.5), (a(1.0, 2.0, -0.5), -0.5))
def array_rebound_in_a_branch(x, s):
    y = x * 2
    if s > 0:
        y = np.sin(x) * s
        z = y[0]
    else:
        z = y[1] * s
    return np.sum(y * np.arange(3.0)) + z + y[0] * np.max(y)


@case((a(1.0, 2.0, 0.5), 1.5), (a(1.0, 2.0, 0.5), 0.5))
def array_reductions_under_branches(x, s):
    t = 0.0
    for i in range(3):
        if s > i:
            t = t + np.sum(x[i:]) * s
        else:
            t = t * np.sum(x[:i + 1] ** 2)
    return t + (np.max(x) if s > 1 else np.min(x))


# ---- more axes, ellipsis, transposes with axes, concrete methods ----
T234 = np.arange(24.0).reshape(2, 3, 4) / 10 - 1


@case((T234,),)
def transpose_with_axes(T):
    return (np.sum(np.transpose(T, (1, 0, 2)) * np.arange(24.0).reshape(3, 2, 4))
            + np.sum(np.transpose(T, (2, 0, 1)) ** 2 * np.arange(24.0).reshape(4, 2, 3))
            + np.sum(np.transpose(T) ** 3))


@case((T234,),)
def ellipsis_and_negative_indices(T):
    return (np.sum(T[..., -1] ** 2) + np.sum(T[-1, ..., -2] * T[0, ..., 1]) + T[..., -1, -1][1]
            + np.sum(T[None, -1] ** 3))


@case((a(0.3, -0.2, 0.9),), (M23[0].copy(),))
def axis_zero_of_a_vector(x):
    return np.sum(x, axis=0) * np.max(x, axis=0) + x.sum(0) + np.mean(x, axis=-1) + np.min(x, 0)


@case((M23, 0.5, 2.0),)
def sums_over_axes_then_summed(A, s, t):
    m = np.sum(A, axis=1)
    return np.sum(m) * s + np.sum(m) * t + np.sum(np.mean(A ** 2, axis=0)) + np.mean(A, axis=(0, 1))


@case((a(0.3, -0.2, 0.9), a(1.0, 2.0, 3.0)),)
def stack_negative_axis(x, y):
    S = np.stack([x, y], axis=-1)
    C = np.concatenate([S, S ** 2], axis=-1)
    return np.sum(C * np.arange(12.0).reshape(3, 4)) + np.sum(np.vstack([x, x ** 2, np.ones(3)]) @ y)


@case((V3,),)
def concrete_array_methods(x):
    c = np.arange(6.0).reshape(2, 3)
    return np.sum(c.T.dot(c[:, 0]) * x) + c.sum() * x[0] + c.dot(x).sum() + c.max(axis=0) @ x
