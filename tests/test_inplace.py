"""In-place array updates (issue 14): ``x[i] = v``, ``x[i] += v``, ``x[:, j] = v``, ``x[a:b] = v``,
``x[idx] = v`` with int arrays, and boolean masks ``x[mask] = v``.

numpy's semantics: the name's array changes. symdiff binds the name to a new value (a copy with
the slot replaced, ``arrays.SetItem``), which is exact where nothing else sees the array: another
name, a list or a caller holding the same array or a view of it, and an array the function did not
make (an argument, a global), are located refusals. Values are checked against the function itself
(numpy runs it), gradients against the mpmath reference at 50 digits (tests/reference.py).
"""

import warnings

import numpy as np
import pytest

from symdiff import SymdiffError, grad, hessian, value_and_grad

from .reference import mp_grad, mp_hessian

RNG = np.random.default_rng(14)
V = RNG.normal(size=5)
M = RNG.normal(size=(3, 4))


def check(f, *args, wrt=None):
    """value_and_grad(f) gives f's value and the mpmath gradient; the arguments are unchanged."""
    before = [np.copy(a) for a in args]
    value, gradient = value_and_grad(f, wrt=wrt)(*args)
    for a, b in zip(args, before):
        assert np.array_equal(a, b)  # the gradient call never changes the caller's arrays
    want = f(*args)
    assert np.allclose(value, want, rtol=1e-14, atol=1e-15), (value, want)
    reference = mp_grad(f, args, wrt=wrt)
    several = wrt is None and len(args) > 1 or isinstance(wrt, tuple)
    gradients = gradient if several else (gradient,)
    for got, ref in zip(gradients, reference):
        ref = np.asarray(ref, dtype=float)
        assert np.shape(got) == np.shape(ref)
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-12), (got, ref)
    return gradient


# ---- element, slice, column and int-array updates ----
def filled(x):
    y = np.zeros(3)
    y[0] = x[0] ** 2
    y[1] += x[1]
    y[1:] *= x[:2]
    return np.sum(y * x[:3])


def overwritten(x):
    y = x.copy()
    y[1] = np.sin(x[0])  # x[1] no longer reaches the result through y
    y[1] = y[1] * x[2]  # written twice: the first value is read once
    return np.sum(y * y)


def columns(A):
    B = np.zeros((3, 4))
    B[:, 0] = A[:, 1] * A[:, 2]
    B[:, 1:3] = np.exp(A[:, :2])
    B[2] = A[0]  # a whole row, overwriting what the columns put there
    B[0, 3] -= A[1, 1]
    return np.sum(B * B) + B[2, 0]


def by_index(x):
    y = np.ones(5)
    y[[0, 3, 4]] = x[:3] ** 3
    y[np.array([1, 2])] += np.cos(x[3:])
    return np.sum(y * np.arange(5.0))


def broadcast_into_slice(x):
    y = x * 2.0
    y[1:4] = x[0]  # a number into a slice: its adjoint is the slice's sum
    return np.sum(y ** 3)


def negative_and_step(x):
    y = np.zeros(5)
    y[-1] = x[0]
    y[::2] = x[1:4] * x[4]
    return np.sum(y * x)


def rnn(xs, W, U):
    """Tangent's rnn, written as numpy code writes it: the hidden states stored by row."""
    h = np.zeros((4, 3))
    for t in range(1, 4):
        h[t] = np.tanh(W @ h[t - 1] + U @ xs[t - 1])
    return np.sum(h[3] ** 2)


def loop_fill(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i % 5] * (i + 1)
    return np.sum(np.sin(y))


def branch(x):
    y = x.copy()
    if x[0] > 0:
        y[0] = x[0] ** 2
    else:
        y[1:3] = -x[1:3]
    return np.sum(y * x)


@pytest.mark.parametrize("f, x", [(filled, V), (overwritten, V), (columns, M), (by_index, V),
                                  (broadcast_into_slice, V), (negative_and_step, V),
                                  (branch, V), (branch, -V), (branch, np.abs(V))])
def test_updates_match_the_reference(f, x):
    check(f, x)


def test_rnn_stores_rows():
    xs, W, U = RNG.normal(size=(3, 2)), RNG.normal(size=(3, 3)) * 0.5, RNG.normal(size=(3, 2))
    check(rnn, xs, W, U)


@pytest.mark.parametrize("n", [3, 40])
def test_a_loop_that_fills_an_array_unrolls(n):
    check(loop_fill, V, n, wrt="x")


def test_second_derivatives_through_updates():
    for f, x in ((filled, V), (columns, M[:2, :3].copy() if False else M), (by_index, V)):
        got = hessian(f)(x)
        ref = np.array(mp_hessian(f, (x,)), dtype=float).reshape(got.shape)
        assert np.allclose(got, ref, rtol=1e-8, atol=1e-9), f.__name__


def test_generated_code_reads_as_an_update():
    g = grad(filled)
    g(V)
    source = g.source
    assert "y = _set_item(_c0, (0,), y_item)" in source
    assert "def _set_item(array, key, value):" in source


# ---- what numpy would change elsewhere: refused, located ----
def aliased(x):
    y = x.copy()
    z = y
    y[0] = 1.0
    return np.sum(z)


def a_view(x):
    y = x.copy()
    z = y[1:]
    y[1] = 1.0
    return np.sum(z)


def through_a_view(x):
    y = x.copy()
    z = y[1:]
    z[0] = 1.0
    return np.sum(y)


def transposed(A):
    B = A.copy()
    C = B.T
    C[0, 0] = 0.0
    return np.sum(B)


def in_a_list(x):
    y = x.copy()
    keep = [y]
    y[0] = 0.0
    return np.sum(keep[0])


def argument(x):
    x[0] = 0.0
    return np.sum(x)


def argument_alias(x):
    y = x
    y[0] = 0.0
    return np.sum(x)


def _clear(v):
    v[0] = 0.0
    return np.sum(v)


def helper_changes_callers(x):
    y = x * 2.0
    return _clear(y) + np.sum(y)


def repeated(x):
    y = x.copy()
    y[[0, 0]] = x[1:3]
    return np.sum(y)


def repeated_add(x):
    y = x.copy()
    y[[1, 1]] += 1.0
    return np.sum(y * y)


def labels(x, idx):
    y = x.copy()
    y[idx] = 0.0
    return np.sum(y)


def double_index(A):
    B = A.copy()
    B[0][1] = 2.0
    return np.sum(B)


def into_ints(x):
    k = np.arange(5)
    k[0] = x[0]
    return np.sum(k * x)


W_GLOBAL = np.ones(5)


def global_array(x):
    W_GLOBAL[0] = x[0]
    return np.sum(W_GLOBAL * x)


@pytest.mark.parametrize("f, args, line, says", [
    (aliased, (V,), "y[0] = 1.0", "z holds the same array"),
    (a_view, (V,), "y[1] = 1.0", "z holds the same array"),
    (through_a_view, (V,), "z[0] = 1.0", "y holds the same array"),
    (transposed, (M,), "C[0, 0] = 0.0", "B holds the same array"),
    (in_a_list, (V,), "y[0] = 0.0", "keep[0] holds the same array"),
    (argument, (V,), "x[0] = 0.0", "changes an argument (x)"),
    (argument_alias, (V,), "y[0] = 0.0", "changes an argument (x)"),
    (helper_changes_callers, (V,), "v[0] = 0.0", "(in helper_changes_callers) holds the same array"),
    (repeated, (V,), "y[[0, 0]] = x[1:3]", "repeated indices"),
    (repeated_add, (V,), "y[[1, 1]] += 1.0", "np.add.at(x, idx, v)"),
    (labels, (V, np.array([0, 2])), "y[idx] = 0.0", "known only when the function runs"),
    (double_index, (M,), "B[0][1] = 2.0", "B[0, 1] = ..."),
    (into_ints, (V,), "k[0] = x[0]", "numpy truncates it"),
    (global_array, (V,), "W_GLOBAL[0] = x[0]", "a global, closure or attribute value"),
])
def test_what_numpy_would_change_elsewhere_is_refused(f, args, line, says):
    wrt = "x" if f is labels else None
    with pytest.raises(SymdiffError) as info:
        grad(f, wrt=wrt)(*args)
    text = str(info.value)
    assert says in text, text
    assert line in text, text
    assert info.value.lineno is not None and info.value.filename.endswith("test_inplace.py")


def test_a_copy_is_its_own_array():
    def f(x):
        y = x.copy()
        z = np.array(y)
        w = np.copy(z)
        y[0] = 10.0 * x[1]
        z[1] = 3.0 * x[0]
        w[2] = 0.0
        return np.sum(y * z * w)

    check(f, V)


def test_concrete_updates_run_as_numpy():
    def f(x):
        k = np.arange(5)
        k[0] = 7  # all concrete: numpy does it (an int stays an int)
        k[1] = 2.9  # numpy truncates a concrete float into an int array
        return np.sum(k * x)

    check(f, V)
    assert np.array_equal(grad(f)(V), [7.0, 2.0, 2.0, 3.0, 4.0])


def test_a_float_into_a_traced_int_array_is_an_error_at_the_call():
    def f(x, k):
        j = k * 2  # an int array at the call (k is not differentiated)
        j[0] = x[0]
        return np.sum(j * x)

    with pytest.raises(TypeError, match="truncated"):
        grad(f, wrt="x")(V, np.arange(5))


# ---- boolean masks ----
def masked_square_sum(x):
    return np.sum(x[x > 0] ** 2)


def masked_methods(x):
    return x[x > 0.1].sum() * 2.0 + np.mean(x[x < 0.1]) - np.sum(np.exp(x[x > 0.1]) / 3.0)


def masked_assign(x):
    y = x * 3.0
    y[x < 0] = 0.0
    return np.sum(y * x)


def masked_update(x):
    y = x.copy()
    y[y > 0] *= x[0]
    y[y < 0] -= 1.0
    return np.sum(y ** 2)


def masked_copy(x):
    y = np.zeros(5)
    y[x > 0] = x[x > 0] * x[1]
    return np.sum(y * x)


def where_indices(x):
    return np.sum(x[np.where(x > 0)] ** 3) + np.sum(np.cos(x[np.nonzero(x < 0)]))


def concrete_mask(x):
    keep = np.array([True, False, True, True, False])
    z = x[keep]  # a known mask: its length is known (3)
    return np.sum(z ** 3) * z[1]


MIXED = np.array([0.7, -1.2, 0.3, -0.4, 1.5])


@pytest.mark.parametrize("f", [masked_square_sum, masked_methods, masked_assign, masked_update,
                               masked_copy, where_indices, concrete_mask])
@pytest.mark.parametrize("x", [MIXED, -MIXED, np.abs(MIXED) + 0.2])
def test_masks_match_the_reference(f, x):
    if f is masked_methods and np.all(x > 0.1):
        return  # np.mean of no entries is nan (numpy's, with a warning): checked below
    check(f, x)


def test_the_mean_of_no_entries_is_numpy_s_nan():
    def f(x):
        return np.mean(x[x > 10.0])

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's "Mean of empty slice"
        value, gradient = value_and_grad(f)(MIXED)
        assert np.isnan(value) and np.isnan(f(MIXED))


def test_a_masked_hessian():
    got = hessian(masked_update)(MIXED)
    ref = np.array(mp_hessian(masked_update, (MIXED,)), dtype=float).reshape(got.shape)
    assert np.allclose(got, ref, rtol=1e-8, atol=1e-9)


def masked_max(x):
    return np.max(x[x > 0])


def masked_len(x):
    return len(np.where(x > 0)[0]) * np.sum(x)


def masked_item(x):
    return x[x > 0][0]


def masked_array_assign(x):
    y = x.copy()
    y[x > 0] = x[:2]
    return np.sum(y)


def masked_returned(x):
    return x[x > 0]


@pytest.mark.parametrize("f, says", [
    (masked_max, "np.max(x[x > 0])"),
    (masked_len, "len(np.where(x > 0)[0])"),
    (masked_item, "x[x > 0][0]"),
    (masked_array_assign, "y[x > 0] = x[:2]"),
])
def test_masked_values_of_unknown_length_are_refused(f, says):
    with pytest.raises(SymdiffError) as info:
        grad(f)(MIXED)
    text = str(info.value)
    assert says in text and "np.where" in text, text


def test_a_returned_masked_array_is_refused():
    from symdiff import jacobian
    with pytest.raises(SymdiffError):
        jacobian(masked_returned)(MIXED)


def test_repeated_indices_one_at_a_time_add_up():
    idx = [1, 3, 1, 0]

    def f(x):
        y = np.zeros(5)
        for k, i in enumerate(idx):
            y[i] += x[k] * x[4]
        return np.sum(y ** 2)

    check(f, V)


@pytest.mark.parametrize("f, x", [(filled, V), (masked_update, MIXED), (columns, M)])
def test_grad_of_grad_reads_the_generated_updates(f, x):
    """grad(grad(f)) differentiates the generated code again (its _set_item calls): the
    Hessian's row sums."""
    got = grad(grad(f))(x)
    ref = np.array(mp_hessian(f, (x,)), dtype=float).reshape(x.size, x.size).sum(axis=1)
    assert np.allclose(got.ravel(), ref, rtol=1e-8, atol=1e-9)


def _view_of(kind):
    def f(x):
        z = np.outer(x, x)
        y = {"flip": lambda: np.flip(z), "squeeze": lambda: np.squeeze(z),
             "expand_dims": lambda: np.expand_dims(z, 0)[0], "atleast_2d": lambda: np.atleast_2d(z),
             "ravel": lambda: z.ravel().reshape(z.shape), "swapaxes": lambda: np.swapaxes(z, 0, 1),
             "moveaxis": lambda: np.moveaxis(z, 0, 1), "reshape": lambda: np.reshape(z, (25,))[:5 * 5].reshape(5, 5),
             "reversed": lambda: z[::-1], "row": lambda: z[1:3]}[kind]()
        y[0, 1] = 7.0
        return np.sum(z * z)

    return f


@pytest.mark.parametrize("kind", ["flip", "squeeze", "expand_dims", "atleast_2d", "ravel", "swapaxes",
                                  "moveaxis", "reshape", "reversed", "row"])
def test_numpy_views_are_refused(kind):
    """Each of these is a view in numpy (y[0, 1] = 7.0 changes z): refused, never a gradient
    that misses the change."""
    f = _view_of(kind)
    z = np.outer(V, V)
    y_changes_z = f(V) != np.sum(z * z)
    assert y_changes_z  # (numpy: the view writes through)
    with pytest.raises(SymdiffError, match="z holds the same array"):
        grad(f)(V)


def test_a_container_leaf_changed_in_place_is_refused():
    def f(params):
        params["W"][0] = 0.0
        return np.sum(params["W"] ** 2)

    def g(params):
        W = params["W"]
        W[0] = 0.0
        return np.sum(W ** 2)

    with pytest.raises(SymdiffError, match=r"w = params\['W'\]\.copy\(\)"):
        grad(f)({"W": V.copy()})
    with pytest.raises(SymdiffError, match="changes an argument"):
        grad(g)({"W": V.copy()})


def added_at(x):
    y = np.zeros(4)
    np.add.at(y, [0, 2, 0, 3, 0], x * x)  # 0 three times: each value adds
    np.add.at(y, np.array([1, 1]), x[0])
    return np.sum(y ** 3)


def added_at_labels(x, idx):
    y = x[:3] * 2.0
    np.add.at(y, idx, x[1:])
    return np.sum(np.sin(y))


def test_np_add_at_adds_each_repeated_index():
    check(added_at, V)
    check(added_at_labels, V, np.array([2, 2, 0, 2]), wrt="x")


def test_np_add_at_into_an_argument_is_refused():
    def f(x):
        np.add.at(x, [0, 0], 1.0)
        return np.sum(x)

    with pytest.raises(SymdiffError, match="changes an argument"):
        grad(f)(V)


def named_mask(x):
    mask = x > 0.0
    y = x * 2.0
    y[mask] = x[mask] ** 2
    y[~mask] = 0.5 * x[~mask] if False else 0.5
    return np.sum(y * x) + np.sum(np.where(mask, x, 0.0)) + np.sum(mask * x)


@pytest.mark.parametrize("x", [MIXED, -MIXED])
def test_a_mask_in_a_variable(x):
    check(named_mask, x)


def combined_masks(x):
    inside = (x > -1.0) & (x < 1.0)
    y = x.copy()
    y[inside | (x > 1.4)] *= 3.0
    return np.sum(y ** 2) + np.sum(x[~inside])


@pytest.mark.parametrize("x", [MIXED, -MIXED, MIXED * 0.5])
def test_masks_combined_with_and_or_not(x):
    check(combined_masks, x)
