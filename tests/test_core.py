"""The core API on the seed and friends: values, formulas, explain, generated source, wrt, kinds."""

import inspect
import linecache
import math
import traceback

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import check_grad, grad, value_and_grad

from . import corpus
from .reference import close, mp_grad

X = sympy.Symbol("x", real=True)


@grad
def u(x):
    y = x ** 2
    z = math.sin(y)
    return math.exp(z)


U_LINE = u.fun.__code__.co_firstlineno + 1  # the "def u" line (after "@grad")


def test_seed_value():
    assert u(2.0) == pytest.approx(math.exp(math.sin(4.0)) * math.cos(4.0) * 4.0, rel=1e-15)
    assert close(u(2.0), mp_grad(u.fun, (2.0,))[0])


def test_seed_formula_equals_hand_derivative():
    expected = sympy.diff(sympy.exp(sympy.sin(X**2)), X)
    (name, formula), = u.formulas.items()
    assert name == "x"
    assert sympy.simplify(formula - expected) == 0
    assert str(formula) == "2*x*exp(sin(x**2))*cos(x**2)"


def test_seed_explain_shows_each_local_derivative():
    text = u.explain()
    for piece in ("dy/dx = 2*x", "dz/dy = cos(y)", "du/dz = exp(z)",
                  "du/dx = du/dy*dy/dx = 2*x*exp(z)*cos(y)",
                  "du/dx = 2*x*exp(z)*cos(y) = 2*x*exp(sin(x**2))*cos(x**2)"):
        assert piece in text
    assert f"line {U_LINE + 1}:" in text


def test_seed_source_is_readable_and_points_at_user_lines():
    source = u.source
    assert source.startswith("def u_grad(x):")
    assert f"# line {U_LINE + 1}: y = x ** 2" in source
    assert f"# line {U_LINE + 2}: z = math.sin(y)" in source
    assert f"# line {U_LINE + 3} (reverse): return math.exp(z)" not in source  # z_bar = u: no line
    assert f"# line {U_LINE + 2} (reverse): z = math.sin(y)" in source
    body = [line.strip() for line in source.splitlines()[2:] if not line.strip().startswith("#")]
    # one operation per line: no nested calls
    for line in body:
        assert line.count("(") <= 1, line
    assert u._default.code.modules == {"math"}


def test_fun_and_wrapped():
    assert u.fun.__name__ == "u"
    assert u.__wrapped__ is u.fun
    assert u.__name__ == "u"
    assert u.fun(2.0) == math.exp(math.sin(4.0))


def test_generated_source_is_in_linecache_and_tracebacks():
    fn = u._default.grad_fn
    assert inspect.getsource(fn).startswith("def u_grad(x):")
    filename = fn.__code__.co_filename
    assert linecache.getline(filename, 1).startswith("def u_grad")


def test_traceback_through_generated_code_shows_its_lines():
    def f(x, y):
        return math.log(x) * y

    g = grad(f)
    with pytest.raises(TypeError) as info:
        g._default.grad_fn(0.5, "not a number")
    text = "".join(traceback.format_exception(info.value))
    assert "f_grad" in text and "x_bar = " in text


def test_generated_source_registered_until_collected():
    import gc

    def f(x):
        return x * x * 3

    g = grad(f)
    filename = g._default.grad_fn.__code__.co_filename
    assert filename in linecache.cache
    del g
    gc.collect()
    assert filename not in linecache.cache


def test_imports_only_what_is_used():
    def poly(x, y):
        return x * x * y - 3 * y

    def with_numpy(x):
        return np.sin(x) * x

    assert grad(poly)._default.code.modules == set()
    assert grad(with_numpy)._default.code.modules == {"numpy"}
    assert "math." not in grad(with_numpy).source


# ---- wrt and return shapes ----
def f3(x, y, z=2.0):
    return x * y ** 2 + math.sin(z) * x


def test_wrt_forms():
    point = (0.5, 1.5, 0.3)
    ref = [float(v) for v in mp_grad(f3, point)]
    all_ = grad(f3)(*point)
    assert isinstance(all_, tuple) and len(all_) == 3
    assert all(close(a, r) for a, r in zip(all_, ref))
    assert close(grad(f3, wrt="y")(*point), ref[1])
    assert close(grad(f3, wrt=2)(*point), ref[2])
    assert close(grad(f3, wrt=-1)(*point), ref[2])
    gz, gx = grad(f3, wrt=("z", "x"))(*point)
    assert close(gz, ref[2]) and close(gx, ref[0])
    assert close(grad(f3, wrt=("y",))(*point), ref[1])  # one parameter: one value


def test_decorator_with_wrt():
    @grad(wrt="y")
    def h(x, y):
        return x * y * y

    assert h(3.0, 2.0) == 12.0


def test_keyword_and_default_arguments():
    g = grad(f3, wrt="x")
    ref = float(mp_grad(f3, (0.5, 1.5, 2.0))[0])
    assert close(g(0.5, 1.5), ref)
    assert close(g(y=1.5, x=0.5), ref)
    assert close(g(0.5, y=1.5, z=2.0), ref)
    with pytest.raises(TypeError):
        g(0.5)


def test_value_and_grad():
    value, gradient = value_and_grad(u.fun)(2.0)
    assert value == u.fun(2.0)
    assert gradient == u(2.0)
    value, (gx, gy, gz) = value_and_grad(f3)(0.5, 1.5, 0.3)
    assert value == pytest.approx(f3(0.5, 1.5, 0.3))


def test_int_arguments_give_float_gradients():
    def f(x, n):
        return x ** 3 * n

    g = grad(f)
    gx, gn = g(2, 3)
    assert type(gx) is float and type(gn) is float
    assert (gx, gn) == (36.0, 8.0)
    assert type(grad(lambda x: 5 * x)(2)) is float
    assert type(grad(lambda x: x * x / 2)(True)) is float


def test_int_parameter_not_differentiated_stays_int():
    def f(x, n):
        return x ** n

    g = grad(f, wrt="x")
    assert close(g(1.5, 3), 3 * 1.5**2)
    assert close(g(1.5, 4), 4 * 1.5**3)


# ---- Python semantics of globals and closures ----
def test_module_constant_read_at_call_time(monkeypatch):
    g = grad(corpus.module_constant)
    assert g(2.0) == pytest.approx(2 * 1.5 * 2.0)
    monkeypatch.setattr(corpus, "SCALE", 4.0)
    assert g(2.0) == pytest.approx(2 * 4.0 * 2.0)
    assert corpus.module_constant(2.0) == 16.0


def test_closure_variable_read_at_call_time():
    k = 2.0

    def f(x):
        return k * x ** 3

    g = grad(f)
    assert g(1.0) == 6.0
    k = 5.0
    assert g(1.0) == 15.0
    assert f(1.0) == 5.0


def test_lambda():
    g = grad(lambda x: math.sin(x) * x)
    assert close(g(0.7), math.cos(0.7) * 0.7 + math.sin(0.7))


# ---- names never collide ----
def test_user_names_that_look_generated():
    def f(x, x_bar):
        _t0 = x * x_bar
        _t1 = math.sin(_t0)
        y_bar = _t1 * x
        return y_bar + _t0

    point = (0.3, 1.7)
    ref = mp_grad(f, point)
    got = grad(f)(*point)
    assert all(close(a, r) for a, r in zip(got, ref))


def test_parameter_named_like_a_module():
    from math import sin

    def f(math, np):
        return sin(math) * np

    point = (0.3, 1.7)
    got = grad(f)(*point)
    assert close(got[0], np.cos(0.3) * 1.7)
    assert close(got[1], np.sin(0.3))
    assert "_math.cos(math)" in grad(f).source


def test_output_name_clashing_with_a_local():
    def y(x):
        y = x * x
        return math.exp(y)

    assert close(grad(y)(0.5), 2 * 0.5 * math.exp(0.25))


# ---- numbers ----
def test_numpy_written_function_works_elementwise_on_arrays():
    def f(x):
        return np.exp(np.sin(x ** 2))

    xs = np.linspace(-2, 2, 11)
    g = grad(f)
    out = g(xs)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == xs.shape
    expected = np.exp(np.sin(xs**2)) * np.cos(xs**2) * 2 * xs
    assert np.allclose(out, expected, rtol=1e-14, atol=0)
    assert isinstance(g(0.5), float)


def test_constant_gradient_on_arrays_has_the_array_shape():
    def f(x, y):
        return 3 * x + np.sin(y)

    out = grad(f, wrt="x")(np.ones(4), 0.2)
    assert out.shape == (4,) and np.all(out == 3.0)


def test_singularities_follow_ieee_not_exceptions():
    def f(x):
        return math.sqrt(x)

    assert grad(f)(0.0) == math.inf
    assert value_and_grad(f)(0.0) == (0.0, math.inf)


def test_abs_at_zero_is_zero():
    assert grad(lambda x: abs(x))(0.0) == 0.0
    assert grad(lambda x: abs(x))(-2.0) == -1.0
    assert grad(lambda x: abs(x))(2.0) == 1.0


def test_powers_at_zero_base():
    assert grad(lambda x: x ** 2)(0.0) == 0.0
    assert grad(lambda x: x ** 1)(0.0) == 1.0
    assert grad(lambda x: x ** 3)(0.0) == 0.0


# ---- check_grad ----
def test_check_grad_passes_and_fails():
    result = check_grad(f3, 0.5, 1.5, 0.3)
    assert result.ok and result.max_error < 1e-6

    def f(x):
        return math.sin(x)

    with pytest.raises(AssertionError, match="gradient check failed"):
        check_grad(_BrokenGradient(grad(f)), 0.3)


class _BrokenGradient(symdiff.Gradient):
    """A Gradient whose compiled code is off by one: check_grad must notice."""

    def __init__(self, g):
        self.__dict__.update(g.__dict__)

    def __call__(self, *args):
        return super().__call__(*args) + 1.0


def test_repr_is_readable():
    assert repr(u) == "<symdiff grad of u wrt x>"
    assert "Program u(x)" in repr(u._default.program)


def rosen_slices(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def _rosen_hand(x):
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[1:] += 200 * d
    g[:-1] += -400 * x[:-1] * d - 2 * (1 - x[:-1])
    return g


def test_fast_entry_for_the_first_array_shape_dispatches_everything_else():
    g = grad(rosen_slices)
    first = np.linspace(-1, 1, 5)
    assert np.allclose(g(first), _rosen_hand(first), rtol=1e-13)
    assert g.func.__name__ == "rosen_slices"  # calls with shape (5,) float64 run the code directly
    for other in (np.linspace(-1, 1, 7), np.linspace(-1, 1, 5).astype(np.float32),
                  np.arange(4), np.linspace(-1, 1, 10).reshape(2, 5)[0]):
        out = g(other)
        assert np.allclose(out, _rosen_hand(other), rtol=1e-5), other
    assert np.allclose(g(x=first), _rosen_hand(first), rtol=1e-13)
    with pytest.raises(TypeError):
        g()


def test_fast_entry_for_floats_keeps_every_other_path():
    def f(x, y=2.0):
        return x * x * y

    g = grad(f)
    assert g(3.0) == (12.0, 9.0)
    assert g(3.0, 1.0) == (6.0, 9.0)
    assert g(3, 1) == (6.0, 9.0)
    assert g(y=1.0, x=3.0) == (6.0, 9.0)
    assert g(np.float64(3.0)) == (12.0, 9.0)
