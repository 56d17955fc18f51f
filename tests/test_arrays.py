"""Arrays and higher derivatives, checked against the 50-digit mpmath reference of the source.

The corpus (``tests/corpus_arrays.py``): every function's gradient, component by component, to
1e-10 relative; then jacobian (tuple, list and array outputs), hessian, grad(grad(f)),
value_and_grad, scipy.optimize with symdiff's gradient and Hessian, the generated code staying
vectorised, and shape errors naming the line and the shapes.
"""

import inspect
import math
import re

import numpy as np
import pytest

import symdiff
from symdiff import ShapeError, SymdiffError, grad, hessian, jacobian, value_and_grad

from .corpus_arrays import ARRAY_CORPUS
from .reference import (
    as_scalar,
    close_array,
    mp_function,
    mp_grad,
    mp_hessian,
    mp_jacobian,
)

CASES = [
    pytest.param(f, point, wrt, id=f"{f.__name__}-{i}-{wrt or 'all'}")
    for f, points, wrt in ARRAY_CORPUS
    for i, point in enumerate(points)
]


def _positions(f, args, wrt):
    names = list(inspect.signature(f).parameters)
    if wrt is None:
        return list(range(len(args)))
    return [w % len(args) if isinstance(w, int) else names.index(w) for w in wrt]


def _check_gradient(f, point, wrt, result):
    positions = _positions(f, point, wrt)
    result = result if len(positions) > 1 else (result,)
    assert isinstance(result, tuple) and len(result) == len(positions)
    expected = mp_grad(f, point, wrt)
    for position, got, want in zip(positions, result, expected):
        arg = point[position]
        if isinstance(arg, (list, tuple, np.ndarray)):
            assert isinstance(got, np.ndarray), (position, type(got))
            assert got.dtype == np.float64, (position, got.dtype)
            assert got.shape == np.shape(arg), (position, got.shape, np.shape(arg))
        else:
            assert isinstance(got, float), (position, type(got))
        bad = close_array(got, want)
        assert not bad, f"argument {position}: " + "; ".join(bad)


# ---- the corpus ----
def test_array_corpus_is_large_enough():
    assert len({f for f, _, _ in ARRAY_CORPUS}) >= 32


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_gradient_matches_reference(f, point, wrt):
    _check_gradient(f, point, wrt, grad(f, wrt=wrt)(*point))


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_value_and_grad_matches_reference(f, point, wrt):
    value, gradient = value_and_grad(f, wrt=wrt)(*point)
    assert isinstance(value, float)
    want = float(as_scalar(mp_function(f)(*point)))
    assert abs(value - want) <= 1e-12 * max(1.0, abs(want))
    _check_gradient(f, point, wrt, gradient)


def test_gradients_do_not_alias_arguments_and_are_writeable():
    def f(x, y):
        return np.sum(x + 2 * y)

    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    gx, gy = grad(f)(x, y)
    assert gx.flags.writeable and gy.flags.writeable
    gx += 1.0
    assert np.all(x == [1.0, 2.0, 3.0])
    assert np.all(grad(f)(x, y)[0] == 1.0)


def test_one_gradient_object_serves_several_shapes():
    def f(x):
        return np.sum(np.sin(x) * x[0])

    g = grad(f)
    for n in (3, 5, 3, 1, 5):
        x = np.linspace(0.1, 0.9, n)
        _check_gradient(f, (x,), None, g(x))


def test_int_array_argument_gives_float_gradient():
    def f(x):
        return np.sum(x ** 2)

    out = grad(f)(np.array([1, 2, 3]))
    assert out.dtype == np.float64 and np.all(out == [2.0, 4.0, 6.0])


# ---- jacobian ----
def jac_tuple(x, s):
    return (np.sum(x ** 2) * s, x[0] * x[1], np.prod(x) + math.sin(s))


def jac_list(x, s):
    return [s * np.sum(x), np.max(x) * s, np.dot(x, x), np.exp(s)]


def jac_array_elementwise(x):
    return np.sin(x) * x[0]


def jac_array_matvec(A, x):
    return np.tanh(A @ x)


def jac_array_2d(x, y):
    return np.outer(x, y) * np.sum(np.sin(x))


def jac_array_reduction(A):
    return np.sum(A ** 2, axis=0) + np.max(A, axis=1)[0]


def jac_scalar_polar(r, t):
    return (r * math.cos(t), r * math.sin(t))


def jac_mixed_tuple(x, A):
    return (A @ x, np.sum(x))


X3 = np.array([0.3, -0.7, 1.1])
A23 = np.array([[0.4, -0.3, 0.9], [1.2, 0.1, -0.8]])

JACOBIAN_CASES = [
    (jac_tuple, (X3, 0.5), None, 3),
    (jac_tuple, (X3, 0.5), "x", 3),
    (jac_list, (X3, 0.5), None, 4),
    (jac_list, ([0.3, -0.7, 1.1], 0.5), None, 4),
    (jac_array_elementwise, (X3,), None, 3),
    (jac_array_matvec, (A23, X3), None, 2),
    (jac_array_2d, (X3, np.array([0.5, 2.0])), None, 6),
    (jac_array_reduction, (A23,), None, 3),
    (jac_scalar_polar, (2.0, 0.3), None, 2),
    (jac_mixed_tuple, (X3, A23), None, 3),
]


@pytest.mark.parametrize("f, point, wrt, n_out", JACOBIAN_CASES,
                         ids=[f"{c[0].__name__}-{c[2] or 'all'}" for c in JACOBIAN_CASES])
def test_jacobian_matches_reference(f, point, wrt, n_out):
    J = jacobian(f, wrt=wrt)(*point)
    positions = _positions(f, point, wrt)
    n_in = sum(int(np.size(point[i])) for i in positions)
    assert isinstance(J, np.ndarray) and J.dtype == np.float64
    assert J.shape == (n_out, n_in)
    expected = mp_jacobian(f, point, wrt)
    bad = close_array(J, np.array(expected, dtype=object))
    assert not bad, "; ".join(bad)


def test_jacobian_of_scalar_function_is_the_gradient_as_a_row():
    def f(x):
        return np.sum(np.exp(x) * x)

    J = jacobian(f)(X3)
    assert J.shape == (1, 3)
    assert np.allclose(J[0], grad(f)(X3), rtol=1e-14, atol=0)


# ---- hessian ----
def hess_rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def hess_mixed(x, s):
    return s * np.sum(x ** 3) + np.exp(s) * (x @ x) + np.sum(np.sin(x * s))


def hess_broadcast(x, A):
    return np.sum(np.exp(0.3 * (A - x)) + x * A) + np.sum(np.tanh(A @ x[:3]))


def hess_scalars(x, y):
    return math.exp(x * y) + x ** 3 * math.sin(y)


def hess_softplus_matrix(W, b):
    return np.sum(np.log1p(np.exp(W @ b)) ** 2)


def hess_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def hess_max_min_axes(A):
    m = np.max(A, axis=1)
    return (np.sum(m + np.log(np.sum(np.exp(A - m[:, None]), axis=1)))
            + np.sum(np.min(A, axis=0) ** 3) + np.max(A) ** 2)


HESSIAN_CASES = [
    (hess_rosen, (np.array([0.5, 1.2, -0.3, 0.8]),), None),
    (hess_logsumexp, (np.array([0.5, -1.2, 0.8, 0.25]),), None),
    (hess_max_min_axes, (A23,), None),
    (hess_mixed, (X3, 0.4), None),
    (hess_mixed, (X3, 0.4), "x"),
    (hess_broadcast, (np.array([0.2, -0.5, 0.7]), A23), None),
    (hess_scalars, (0.6, -1.1), None),
    (hess_softplus_matrix, (A23, X3), None),
]


@pytest.mark.parametrize("f, point, wrt", HESSIAN_CASES,
                         ids=[f"{c[0].__name__}-{c[2] or 'all'}" for c in HESSIAN_CASES])
def test_hessian_matches_reference(f, point, wrt):
    H = hessian(f, wrt=wrt)(*point)
    positions = _positions(f, point, wrt)
    n = sum(int(np.size(point[i])) for i in positions)
    assert isinstance(H, np.ndarray) and H.dtype == np.float64 and H.shape == (n, n)
    bad = close_array(H, np.array(mp_hessian(f, point, wrt), dtype=object), rtol=1e-9, atol=1e-10)
    assert not bad, "; ".join(bad)
    assert np.allclose(H, H.T, rtol=1e-12, atol=1e-12)


SMALL_CASES = [
    pytest.param(f, points[0], wrt, id=f"{f.__name__}-{wrt or 'all'}")
    for f, points, wrt in ARRAY_CORPUS
    if sum(int(np.size(arg)) for arg in points[0]) <= 13
]


@pytest.mark.parametrize("f, point, wrt", SMALL_CASES)
def test_hessian_of_corpus_function_matches_reference(f, point, wrt):
    """Every corpus function with at most 13 numbers in: its Hessian, entry by entry."""
    with np.errstate(all="ignore"):
        H = hessian(f, wrt=wrt)(*point)
    bad = close_array(H, np.array(mp_hessian(f, point, wrt), dtype=object), rtol=1e-8, atol=1e-9)
    assert not bad, "; ".join(bad[:5])


def hess_branch_scalar(x, s):
    if s > 1:
        t = s * 2
    else:
        u = math.sin(x)
        t = s * u
    return t * x


@pytest.mark.parametrize("point", [(0.3, 0.5), (0.3, 1.5)])
def test_hessian_through_a_value_defined_under_a_branch(point):
    H = hessian(hess_branch_scalar)(*point)
    bad = close_array(H, np.array(mp_hessian(hess_branch_scalar, point), dtype=object))
    assert not bad, "; ".join(bad)
    assert H[0, 1] == H[1, 0]


def test_hessian_of_quadratic_form_is_closed_form():
    def f(x, A):
        return x @ A @ x + 3 * np.sum(x)

    A = np.arange(9.0).reshape(3, 3) - 2.0
    H = hessian(f, wrt="x")(X3, A)
    assert np.array_equal(H, A + A.T)


def test_hessian_rosenbrock_closed_form():
    x = np.array([0.5, 1.2, -0.3])
    H = hessian(hess_rosen)(x)
    expected = np.array([
        [1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0], 0.0],
        [-400 * x[0], 202 + 1200 * x[1] ** 2 - 400 * x[2], -400 * x[1]],
        [0.0, -400 * x[1], 200.0],
    ])
    assert np.allclose(H, expected, rtol=1e-13, atol=1e-12)


# ---- grad of grad ----
def scalar_for_grad_grad(x):
    return math.sin(x) * x ** 3 + math.exp(-x * x)


def test_grad_of_grad_matches_closed_form():
    gg = grad(grad(scalar_for_grad_grad))
    for x in (0.7, -1.3, 2.2):
        expected = (-math.sin(x) * x ** 3 + 6 * x ** 2 * math.cos(x) + 6 * x * math.sin(x)
                    + (4 * x * x - 2) * math.exp(-x * x))
        got = gg(x)
        assert isinstance(got, float)
        assert abs(got - expected) <= 1e-12 * max(1.0, abs(expected))


def test_grad_of_grad_of_numpy_scalar_function_matches_reference():
    def f(x):
        return np.tanh(x) * np.log1p(x * x)

    gg = grad(grad(f))
    import mpmath

    with mpmath.workdps(50):
        for x in (0.4, -0.9):
            want = mpmath.diff(lambda t: mpmath.tanh(t) * mpmath.log1p(t * t), x, 2)
            assert abs(gg(x) - float(want)) <= 1e-12 * max(1.0, abs(float(want)))


def _one_parameter_scalar_cases():
    from .corpus import CORPUS

    known = {}  # name -> why grad(grad(f)) is not expected to work yet (xfail)
    cases = []
    for f, points, _ in CORPUS:
        if len(inspect.signature(f).parameters) != 1:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=known[f.__name__])] if f.__name__ in known else []
        cases += [pytest.param(f, p[0], id=f"{f.__name__}-{p[0]}", marks=marks) for p in points]
    return cases


@pytest.mark.parametrize("f, x", _one_parameter_scalar_cases())
def test_grad_of_grad_of_scalar_corpus_matches_reference(f, x):
    import mpmath

    got = grad(grad(f))(x)
    with mpmath.workdps(50):
        want = float(mpmath.diff(mp_function(f), mpmath.mpf(x), 2))
    assert isinstance(got, float)
    assert abs(got - want) <= 1e-10 * max(1.0, abs(want)), (got, want)


# ---- scipy.optimize ----
def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_scipy_bfgs_with_grad_reaches_rosenbrock_minimum():
    optimize = pytest.importorskip("scipy.optimize")
    result = optimize.minimize(rosen, np.zeros(5), jac=grad(rosen), method="BFGS",
                               options={"gtol": 1e-10})
    assert np.max(np.abs(result.x - np.ones(5))) < 1e-5, result


@pytest.mark.parametrize("method, options", [("trust-exact", {"gtol": 1e-12}),
                                             ("Newton-CG", {"xtol": 1e-12})])
def test_scipy_newton_with_hessian_reaches_rosenbrock_minimum(method, options):
    optimize = pytest.importorskip("scipy.optimize")
    result = optimize.minimize(rosen, np.zeros(5), jac=grad(rosen), hess=hessian(rosen),
                               method=method, options=options)
    assert np.max(np.abs(result.x - np.ones(5))) < 1e-5, result


# ---- the generated code stays vectorised ----
def test_generated_code_does_not_grow_with_array_length():
    small, large = grad(rosen), grad(rosen)
    small(np.zeros(10))
    large(np.zeros(10_000))
    assert len(small.source) == len(large.source)
    assert small.source == large.source
    assert len(large.source.splitlines()) < 30
    assert not re.search(r"\[\d+\]", large.source)  # no per-element lines
    assert "10000" not in large.source and "9999" not in large.source


def test_hessian_code_does_not_grow_with_array_length():
    h = hessian(rosen)
    h(np.zeros(4))
    small = h._last.code.grad_source
    h(np.zeros(400))
    large = h._last.code.grad_source
    assert len(small.splitlines()) == len(large.splitlines())


def test_constant_gradients_are_float64():
    def f(x, A):
        return np.sum(x) + 2 * np.sum(A[0])

    gx, gA = grad(f)(np.ones(3), np.ones((2, 3)))
    assert gx.dtype == np.float64 and gA.dtype == np.float64
    assert np.array_equal(gx, np.ones(3)) and np.array_equal(gA, [[2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])


def test_building_does_not_warn():
    """Shapes are worked out from shapes: no arithmetic on uninitialised placeholder arrays."""
    import warnings

    def f(A, B):
        return np.sum(np.tanh(A @ B), axis=0) @ np.sum(A, axis=1) + np.max(A @ B)

    A = np.full((300, 300), 0.001)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            grad(f)(A, A)


def test_scalar_np_dot_is_traced_at_decoration():
    def f(x, y):
        return np.dot(x, y) * x

    g = grad(f)
    assert str(g.formulas["x"]) == "2*x*y"
    assert g(2.0, 3.0) == (12.0, 4.0)


# ---- formulas and explain ----
def test_formulas_read_as_vector_calculus():
    def f(x):
        return np.sum(x ** 2)

    def h(A, x):
        return np.sum(np.tanh(A @ x))

    g = grad(f)
    g(np.ones(3))
    assert str(g.formulas["x"]) == "2*x"
    g = grad(h)
    g(np.ones((2, 3)), np.ones(3))
    formulas = {k: str(v) for k, v in g.formulas.items()}
    assert formulas["x"] == "(A.T @ (1 - tanh((A @ x))**2))"
    assert formulas["A"] == "outer(1 - tanh((A @ x))**2, x)"
    text = g.explain()
    assert "dmatmul/dA = (A @ x)" not in text
    assert "outer(dsum_1/dmatmul, x)" in text


# ---- shape errors ----
def shape_mismatch(x, y):
    z = x + y
    return np.sum(z)


def returns_row_sums(A):
    r = np.sum(A, axis=1)
    return r * 2


def if_on_array(x):
    if x > 0:
        return np.sum(x)
    return -np.sum(x)


def math_on_array(x):
    return np.sum(math.sin(x))


def _line_of(f, text):
    lines, start = inspect.getsourcelines(f)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_mismatched_shapes_name_the_line_and_the_shapes():
    with pytest.raises(ShapeError) as info:
        grad(shape_mismatch)(np.ones(3), np.ones(4))
    err = info.value
    assert isinstance(err, SymdiffError)
    assert err.lineno == _line_of(shape_mismatch, "z = x + y")
    assert "(3,)" in str(err) and "(4,)" in str(err)
    assert "z = x + y" in str(err)


def test_grad_of_array_valued_function_suggests_jacobian():
    with pytest.raises(ShapeError) as info:
        grad(returns_row_sums)(np.ones((2, 3)))
    err = info.value
    assert err.lineno == _line_of(returns_row_sums, "return r * 2")
    assert "(2,)" in str(err)
    assert "jacobian" in str(err)


def test_if_on_array_names_the_line_and_the_shape():
    with pytest.raises(SymdiffError) as info:
        grad(if_on_array)(np.ones(3))
    err = info.value
    assert err.lineno == _line_of(if_on_array, "if x > 0")
    assert "(3,)" in str(err)
    assert "np.where" in str(err)


def test_math_function_on_array_names_the_line_and_the_shape():
    with pytest.raises(SymdiffError) as info:
        grad(math_on_array)(np.ones(3))
    err = info.value
    assert err.lineno == _line_of(math_on_array, "math.sin(x)")
    assert "(3,)" in str(err)
    assert "np.sin" in str(err)


def test_matrix_product_shape_error():
    def f(A, x):
        return np.sum(A @ x)

    with pytest.raises(ShapeError) as info:
        grad(f)(np.ones((2, 3)), np.ones(2))
    assert "(2, 3)" in str(info.value) and "(2,)" in str(info.value)


def test_symdiff_exports_shape_error():
    assert issubclass(symdiff.ShapeError, symdiff.SymdiffError)


def test_axis_out_of_range_is_a_shape_error():
    def f(A):
        return np.sum(np.sum(A, axis=2))

    with pytest.raises(ShapeError) as info:
        grad(f)(np.ones((2, 3)))
    assert "axis 2" in str(info.value) and "(2, 3)" in str(info.value)
    assert info.value.lineno == _line_of(f, "axis=2")


# ---- other dtypes, check_grad, emit ----
@pytest.mark.parametrize("dtype, want, rtol", [(np.int32, np.float64, 1e-14), (np.int64, np.float64, 1e-14),
                                               (np.float32, np.float32, 1e-6), (np.float16, np.float16, 1e-2)])
def test_gradient_dtype_follows_numpy(dtype, want, rtol):
    """Int arrays give float64 gradients; float arrays keep their precision (issue 7: float32
    inputs keep float32 where numpy would)."""
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.array([1, 2, 3], dtype=dtype)
    out = grad(f)(x)
    assert out.dtype == want
    xf = x.astype(np.float64)
    assert np.allclose(out, np.cos(xf) * xf + np.sin(xf), rtol=rtol, atol=0)


def test_check_grad_with_array_list_and_tuple_arguments():
    def f(x, A, s):
        return np.sum(np.sin(A @ x)) * s + np.sum(x ** 2)

    def g(x):
        return sum(v ** 3 for v in x)

    result = symdiff.check_grad(f, X3, A23 / 2, 0.7)
    assert result.ok and result.analytic[0].shape == (3,) and result.numeric[1].shape == (2, 3)
    assert symdiff.check_grad(g, [0.5, 1.5]).ok
    assert symdiff.check_grad(g, (0.5, 1.5)).ok


def test_jacobian_and_hessian_serve_several_shapes():
    J, H = jacobian(jac_array_elementwise), hessian(hess_rosen)
    for n in (3, 4, 3):
        x = np.linspace(0.2, 1.1, n)
        assert J(x).shape == (n, n)
        assert not close_array(J(x), np.array(mp_jacobian(jac_array_elementwise, (x,)), dtype=object))
        assert H(x).shape == (n, n)


def test_emit_of_an_array_function_needs_example_arguments():
    with pytest.raises(symdiff.ExportError) as info:
        symdiff.emit(rosen)
    assert "x is used as a sequence or array" in str(info.value) and "args=" in info.value.hint
    namespace = {}
    exec(symdiff.emit(rosen, args=(np.zeros(4),)), namespace)
    x = np.array([0.3, -0.7, 1.2, 0.4])
    assert np.array_equal(namespace["rosen_grad"](x), grad(rosen)(x))


def test_array_with_different_shapes_in_two_branches_is_a_shape_error():
    def f(x, s):
        t = 0.0
        if s > 0:
            t = x * s
        return np.sum(t * np.arange(2.0))

    with pytest.raises(ShapeError) as info:
        grad(f)(np.array([1.0, 2.0]), 0.5)
    assert "(2,)" in str(info.value) and "()" in str(info.value)
    assert info.value.lineno == _line_of(f, "return np.sum(t")


def lgamma_products(x, y):
    return math.lgamma(x) * y + math.gamma(y) * x


def test_hessian_and_third_derivatives_through_lgamma():
    # d2 lgamma = trigamma, d3 = polygamma(2, .): the generated _polygamma helper, against mpmath
    import mpmath

    h = symdiff.hessian(lgamma_products)
    for point in ((2.5, 1.5), (0.7, 3.2), (-1.3, 0.4)):
        x, y = (mpmath.mpf(v) for v in point)
        want = [[mpmath.polygamma(1, x) * y, mpmath.polygamma(0, x) + mpmath.gamma(y) * mpmath.polygamma(0, y)],
                [mpmath.polygamma(0, x) + mpmath.gamma(y) * mpmath.polygamma(0, y),
                 x * mpmath.gamma(y) * (mpmath.polygamma(0, y) ** 2 + mpmath.polygamma(1, y))]]
        assert np.allclose(h(*point), np.array(want, dtype=float), rtol=1e-13, atol=0)

    def third(x):
        return math.lgamma(x)

    g3 = grad(grad(grad(third)))
    for x in (0.3, 2.5, 17.0, -2.5):
        assert abs(g3(x) - float(mpmath.polygamma(2, x))) <= 1e-13 * abs(float(mpmath.polygamma(2, x)))


STIFFNESS = 3.0
WEIGHTS = np.array([1.0, 2.0])


def spring(x):
    return STIFFNESS * math.sin(x) * x ** 2 + WEIGHTS[1] * x


def test_grad_of_grad_reads_module_numbers_at_call_time():
    global STIFFNESS
    gg = grad(grad(spring))
    assert list(inspect.signature(gg.fun).parameters) == ["x"]

    def want(x, k):  # d2/dx2 of k sin(x) x^2 + 2 x, by hand
        return k * (2 * math.sin(x) + 4 * x * math.cos(x) - x * x * math.sin(x))

    assert math.isclose(gg(0.7), want(0.7, 3.0), rel_tol=1e-14)
    saved = STIFFNESS
    try:
        STIFFNESS = -1.5  # read when the gradient runs, as spring itself reads it
        assert math.isclose(gg(0.7), want(0.7, -1.5), rel_tol=1e-14)
    finally:
        STIFFNESS = saved


def test_grad_of_grad_with_a_closure_number():
    def make(scale):
        def f(x):
            return scale * math.exp(x) * x
        return f

    gg = grad(grad(make(2.5)))
    assert math.isclose(gg(0.3), 2.5 * math.exp(0.3) * (0.3 + 2.0), rel_tol=1e-14)


def softmax_xent(logits, target):
    m = np.max(logits)
    e = np.exp(logits - m)
    p = e / np.sum(e)
    return -np.log(p[target])


def test_softmax_cross_entropy_indexed_by_an_int_argument():
    # before any call, logits is assumed a number and max(x) - x folds to 0: p[target] then
    # indexes a number; the trace waits for the call instead of refusing
    g = grad(softmax_xent, wrt="logits")
    logits = np.array([1.0, 2.0, 0.5])
    for target in (0, 1, 2):
        p = np.exp(logits - logits.max())
        p /= p.sum()
        want = p.copy()
        want[target] -= 1.0  # d/dlogits of -log softmax: p - onehot
        assert np.allclose(g(logits, target), want, rtol=1e-14, atol=1e-16)
