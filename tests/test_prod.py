"""np.prod's derivative: at each element the product of the OTHER elements (along the axis), exact
where elements are 0 (it used to divide the product by x: nan there). Each value is checked
against an independent reference: the function's own source over mpmath at 50 digits
(``tests/reference.py``), or the product of the others written out with numpy by hand.
"""

import importlib.util
import math
import warnings

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import grad, hessian, jacobian, value_and_grad

from .reference import close_array, mp_grad, mp_hessian


def _assert_close(got, want, rtol=1e-12, atol=1e-14):
    bad = close_array(got, want, rtol=rtol, atol=atol)
    assert not bad, "; ".join(bad)


def others_by_hand(x, axis=None):
    """At each element: ``np.prod`` of the array with that element taken out (along ``axis``)."""
    x = np.asarray(x, dtype=np.float64)
    if axis is None:
        flat = x.ravel()
        return np.array([np.prod(np.delete(flat, i)) for i in range(flat.size)]).reshape(x.shape)
    moved = np.moveaxis(x, axis, -1)
    out = np.empty_like(moved)
    for index in np.ndindex(moved.shape[:-1]):
        row = moved[index]
        out[index] = [np.prod(np.delete(row, i)) for i in range(row.size)]
    return np.moveaxis(out, -1, axis)


# ---- the functions ----
def prod_of(x):
    return np.prod(x)


def prod_method(x):
    return x.prod()


def prod_rows(A):
    return np.sum(np.sin(np.prod(A, axis=1)))


def prod_columns(A):
    return np.sum(np.prod(A, axis=0) ** 2) + np.prod(A, axis=-1)[0]


def prod_two_axes(A):
    return np.sum(np.prod(A, axis=(0, 2)) * np.array([1.0, -2.0]))


def prod_inside(x):
    return np.exp(np.prod(x[1:]) * x[0]) + np.prod(x ** 2) * np.sum(x) + np.prod(np.cos(x))


VECTORS = [
    [0.0, 0.32],
    [0.0, 0.32, 2.0],
    [1.5, 0.0, -0.75, 2.0],
    [0.0, 0.0, 3.0, 2.0],
    [-1.25, 0.0, 0.5, 0.0],
    [0.0, 0.0, 0.0, 1.5],
    [0.0],
    [2.5],
    [1.5, -0.5, 2.0],
]
MATRICES = [
    [[0.0, 1.5, 2.0], [0.5, -1.0, 0.0], [0.0, 0.0, 3.0], [1.25, 0.75, -2.0]],
    [[1.0, 2.0], [0.0, 3.0]],
]
CUBES = [np.array([[[0.0, 1.5], [2.0, 0.5]], [[-1.0, 0.0], [0.0, 3.0]], [[1.2, 0.7], [0.3, 0.9]]])]

CASES = ([(prod_of, np.array(v)) for v in VECTORS] + [(prod_method, np.array(v)) for v in VECTORS[:6]]
         + [(prod_inside, np.array(v)) for v in VECTORS[1:6]]
         + [(f, np.array(m)) for f in (prod_rows, prod_columns) for m in MATRICES]
         + [(prod_two_axes, c) for c in CUBES] + [(prod_of, c) for c in CUBES])


def _id(case):
    f, x = case
    return f"{f.__name__}-{'x'.join(map(str, x.shape))}-{int(np.sum(x == 0))}zeros"


def test_the_issues_example():
    got = grad(prod_of)(np.array([0.0, 0.32]))
    assert np.array_equal(got, [0.32, 0.0])  # was [nan, 0.0]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_gradient_is_exact_at_zeros(case):
    f, x = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value encountered in divide'
        value, got = value_and_grad(f)(x)
    assert got.shape == x.shape and got.dtype == np.float64 and not np.any(np.isnan(got))
    assert value == pytest.approx(f(x), rel=1e-14, abs=1e-300)
    _assert_close(got, mp_grad(f, (x,))[0])


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2)])
def test_gradient_is_the_product_of_the_others(axis):
    """Against the product of the others written out by hand, many zero patterns at once."""
    rng = np.random.default_rng(7)

    def f(A):
        return np.sum(np.prod(A, axis=axis) * 1.5)

    for _ in range(20):
        A = rng.choice([0.0, 0.0, 0.5, -1.5, 2.0, 1.25], size=(3, 4, 2))
        if axis is None:
            want = others_by_hand(A)
        elif isinstance(axis, tuple):
            want = _others_two_axes(A)
        else:
            want = others_by_hand(A, axis)
        np.testing.assert_allclose(grad(f)(A), 1.5 * want, rtol=1e-14, atol=0)


def _others_two_axes(A):
    """The product of the others over axes 0 and 2 of a 3-D array, by hand."""
    out = np.empty_like(A)
    for j in range(A.shape[1]):
        block = A[:, j, :]
        out[:, j, :] = others_by_hand(block)
    return out


def test_ranges_where_prod_over_x_is_wrong():
    """Where the product under- or overflows, or an element is inf or nan, the products of the
    others are what is returned (prod/x would give 0, inf or nan there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's own overflow warnings
        cases = [
            [1e-200, 1e-200],  # the product underflows to 0
            [1e-300, 1e-30, 2.0],
            [1e300, 1e300, 1e-300],  # the product overflows
            [math.inf, 2.0, 3.0],
            [1e-160, 1e-160, 3.0],  # a subnormal product
        ]
        for x in cases:
            x = np.array(x)
            np.testing.assert_array_equal(grad(prod_of)(x), others_by_hand(x))
        got = grad(prod_of)(np.array([math.nan, 2.0, 3.0]))
        assert got[0] == 6.0 and np.isnan(got[1:]).all()


def test_float32_stays_float32_at_zeros():
    x = np.array([0.0, 0.5, 2.0], dtype=np.float32)
    got = grad(prod_of)(x)
    assert got.dtype == np.float32 and np.array_equal(got, np.array([1.0, 0.0, 0.0], np.float32))
    A = np.array([[0.0, 1.5, 2.0], [0.5, -1.0, 3.0]], dtype=np.float32)
    got = grad(prod_rows)(A)
    assert got.dtype == np.float32
    _assert_close(got, mp_grad(prod_rows, (A,))[0], rtol=1e-6)


# ---- second derivatives: exact at zeros too ----
HESSIAN_CASES = ([(prod_of, np.array(v)) for v in VECTORS[:6]] + [(prod_inside, np.array(VECTORS[2]))]
                 + [(prod_rows, np.array(MATRICES[0])), (prod_columns, np.array(MATRICES[1])),
                    (prod_two_axes, CUBES[0])])


@pytest.mark.parametrize("case", HESSIAN_CASES, ids=[_id(c) for c in HESSIAN_CASES])
def test_second_derivatives_are_exact_at_zeros(case):
    f, x = case
    H = np.array(mp_hessian(f, (x,)), dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_close(hessian(f)(x), H, rtol=1e-10, atol=1e-12)
        _assert_close(jacobian(grad(f))(x), H, rtol=1e-10, atol=1e-12)
        _assert_close(grad(grad(f))(x), H.sum(axis=1).reshape(x.shape), rtol=1e-10, atol=1e-12)


def test_second_derivatives_away_from_zeros_as_before():
    x = np.array([0.7, -1.3, 0.4, 2.1])
    for f in (prod_of, prod_inside):
        H = np.array(mp_hessian(f, (x,)), dtype=object)
        _assert_close(hessian(f)(x), H, rtol=1e-10)
        _assert_close(grad(grad(f))(x), H.sum(axis=1), rtol=1e-10)


def test_third_derivative_divides_nan_only_where_an_element_is_zero():
    """Third derivatives of a product still divide by x (documented): away from zeros they match
    the SymPy closed form; at a zero element the entry may be nan, the others are right."""
    s = sympy.symbols("x0:4", real=True)
    F = s[0] * s[1] * s[2] * s[3]
    level1 = [sympy.diff(F, t) for t in s]
    level2 = [sympy.diff(sum(level1), t) for t in s]
    level3 = [sympy.diff(sum(level2), t) for t in s]
    for x in (np.array([0.5, -1.25, 2.0, 0.75]), np.array([0.0, -1.25, 2.0, 0.75])):
        want = np.array([float(e.subs(dict(zip(s, x)))) for e in level3])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = grad(grad(grad(prod_of)))(x)
        assert np.all(np.isclose(got, want, rtol=1e-13) | (np.isnan(got) & (x == 0))), (got, want)
        assert not np.isnan(got[x != 0]).any()


def test_generated_code_takes_the_fast_path_without_division_by_zero():
    g = grad(prod_rows)
    g(np.ones((2, 3)))
    assert "_prod_others(A, prod_1, (1,), " in g.source and "/A" not in g.source


def test_exported_module_is_exact_at_zeros(tmp_path):
    path = tmp_path / "prod_module.py"
    symdiff.emit(prod_inside, args=(np.ones(4),), path=str(path))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.array([1.5, 0.0, -0.75, 2.0])
    _assert_close(module.prod_inside_grad(x), mp_grad(prod_inside, (x,))[0])
