"""The registry of primitives: one ``Primitive`` record per supported callable is all it takes.

``math.cbrt`` and ``np.cbrt`` are each one record in primitives/scalar.py (their SymPy class,
``RealCbrt``, in primitives/sympy_functions.py): here they work in math and numpy code, for grad
and grad(grad), in the generated Python and C, in formulas (``cbrt(x)``), against the mpmath
reference. A record added in a test (and removed) works end to end the same way.
"""

import math

import mpmath
import numpy as np
import pytest
import sympy

import symdiff
from symdiff import UnknownFunctionError, emit, grad, hessian, value_and_grad
from symdiff.primitives import registry
from symdiff.primitives.registry import Primitive
from symdiff.primitives.sympy_functions import Named, RealCbrt

from .reference import close, mp_grad, mp_hessian, mp_value
from .test_c_arrays import c_gradient
from .test_c_code import compile_library

needs_math_cbrt = pytest.mark.skipif(not hasattr(math, "cbrt"), reason="math.cbrt is Python 3.11+")
POINTS = [(2.0,), (-0.7,), (0.35,), (-3.1,)]


def math_cbrt(x):
    y = math.cbrt(x * x + x)
    return math.sin(y) * math.cbrt(x)


def numpy_cbrt(x):
    y = np.cbrt(x * x + x)
    return np.sin(y) * np.cbrt(x)


def numpy_cbrt_arrays(x):
    return np.sum(np.cbrt(x) * x)


def mixed_cbrt(x, y):
    return math.cbrt(x) * np.cbrt(y) + math.cbrt(x * y)


# ---- one record each ----


@needs_math_cbrt
def test_math_cbrt_and_np_cbrt_are_one_record_each():
    for func, name, library in ((math.cbrt, "math.cbrt", "math"), (np.cbrt, "np.cbrt", "numpy")):
        record = registry.lookup(func)
        assert isinstance(record, Primitive)
        assert (record.name, record.library, record.kind, record.build) == (name, library, "function", RealCbrt)
        assert record.callables == (func,)
        assert [r for r in registry.records() if func in r.callables] == [record]
    assert registry.printed_name(RealCbrt, "math") == "math.cbrt"
    assert registry.printed_name(RealCbrt, "numpy") == "numpy.cbrt"
    assert registry.printed_name(RealCbrt, "c") == "cbrt"
    assert registry.formula_name(RealCbrt) == ("cbrt", r"\operatorname{cbrt}")


def test_structural_array_and_user_calls_are_records_too():
    assert registry.lookup(len).kind == "structural"
    assert registry.lookup(np.sum).kind == "array"
    assert registry.lookup(math.sin).build is sympy.sin
    assert registry.lookup(object()) is None
    assert registry.method("list", "append").kind == "structural"
    assert registry.method("array", "sum").handler is not None
    assert registry.method("array", "append") is None and registry.method("list", "sum") is None

    def softsign(x):
        return x / (1 + abs(x))

    def softsign_slope(x):
        return 1 / (1 + abs(x)) ** 2

    symdiff.register(softsign, softsign_slope)
    try:
        record = registry.lookup(softsign)
        assert (record.library, record.callables, record.derivatives) == ("user", (softsign,), (softsign_slope,))
    finally:
        symdiff.unregister(softsign)
    assert registry.lookup(softsign) is None
    symdiff.register(abs, derivatives=lambda x: 1.0)  # over a built-in record: unregister restores it
    try:
        assert registry.lookup(abs).library == "user"
    finally:
        symdiff.unregister(abs)
    assert registry.lookup(abs).library == "builtins"


# ---- math.cbrt and np.cbrt everywhere ----


@needs_math_cbrt
@pytest.mark.parametrize("f", [math_cbrt, numpy_cbrt], ids=["math", "numpy"])
def test_cbrt_grad_and_value_against_mpmath(f):
    g, vg = grad(f), value_and_grad(f)
    for point in POINTS:
        (want,) = mp_grad(f, point)
        assert close(g(*point), want, rtol=1e-11)
        value, again = vg(*point)
        assert close(value, mp_value(f, point), rtol=1e-12) and again == g(*point)


@needs_math_cbrt
@pytest.mark.parametrize("f", [math_cbrt, numpy_cbrt], ids=["math", "numpy"])
def test_cbrt_second_derivative_against_mpmath(f):
    gg = grad(grad(f))
    h = hessian(f)
    for point in POINTS:
        want = mp_hessian(f, point)[0][0]
        assert close(gg(*point), want, rtol=1e-9)
        assert close(h(*point)[0, 0], want, rtol=1e-9)


@needs_math_cbrt
def test_cbrt_in_math_code_prints_math_cbrt_and_in_numpy_code_numpy_cbrt():
    math_source = grad(math_cbrt).source
    assert "math.cbrt(" in math_source and "numpy" not in math_source
    numpy_source = grad(numpy_cbrt).source
    assert "numpy.cbrt(" in numpy_source and "math." not in numpy_source
    assert "math.cbrt(" in grad(grad(math_cbrt)).source


def test_cbrt_of_arrays():
    x = np.array([0.5, -1.25, 2.0, 7.5])
    g = grad(numpy_cbrt_arrays)
    (want,) = mp_grad(numpy_cbrt_arrays, (x,))
    assert all(close(a, b, rtol=1e-11) for a, b in zip(g(x), want))
    assert "numpy.cbrt(" in g.source


@needs_math_cbrt
def test_cbrt_formulas_print_cbrt():
    for f in (math_cbrt, numpy_cbrt, mixed_cbrt):
        g = grad(f)
        text = " ".join(str(v) for v in (g.formulas.values() if isinstance(g.formulas, dict) else g.formulas))
        assert "cbrt(" in text and "RealCbrt" not in text
        assert "RealCbrt" not in g.explain() and "RealCbrt" not in g.latex()
        assert r"\operatorname{cbrt}" in g.latex()
    assert str(grad(math_cbrt, wrt="x").formulas["x"]).count("cbrt(") >= 2


@needs_math_cbrt
@pytest.mark.parametrize("f, point", [(math_cbrt, (1.7,)), (numpy_cbrt, (-0.6,)), (mixed_cbrt, (0.8, -2.2))],
                         ids=["math", "numpy", "mixed"])
def test_cbrt_in_the_standalone_python_module(f, point):
    namespace = {}
    source = emit(f)
    assert "\nimport symdiff" not in source and "from symdiff" not in source
    exec(compile(source, "<emitted>", "exec"), namespace)
    got = namespace[f"{f.__name__}_grad"](*point)
    got = got if isinstance(got, tuple) else (got,)
    want = mp_grad(f, point)
    assert all(close(a, b, rtol=1e-11) for a, b in zip(got, want))


@needs_math_cbrt
def test_cbrt_in_c(tmp_path):
    sources = {f.__name__: emit(f, language="c") for f in (math_cbrt, numpy_cbrt, mixed_cbrt)}
    for text in sources.values():
        assert "cbrt(" in text and "RealCbrt" not in text
    library = compile_library(tmp_path, sources)
    for f, point in ((math_cbrt, (1.7,)), (math_cbrt, (-0.45,)), (numpy_cbrt, (-2.6,)), (mixed_cbrt, (0.8, -2.2))):
        gradient, (value, again) = c_gradient(library, f, point)
        gradient = gradient if isinstance(gradient, tuple) else (gradient,)
        want = mp_grad(f, point)
        assert all(close(a, b, rtol=1e-11) for a, b in zip(gradient, want))
        assert close(value, mp_value(f, point), rtol=1e-12)


# ---- a record added in a test: one record (and its SymPy class) is enough ----


class Exp2(Named, sympy.Function):
    """``2**x`` as a function of its own (the throwaway record's SymPy class; ``Named``: formulas
    show the record's name for it, as for the classes in primitives/sympy_functions.py)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sympy.log(2) * self

    def _eval_evalf(self, prec):
        return (sympy.Integer(2) ** self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real or None


def uses_exp2(x, y):
    z = math.exp2(x * y) + math.sin(x)
    return z * math.exp2(-y)


@pytest.fixture
def exp2_record():
    assert registry.lookup(math.exp2) is None  # symdiff does not know math.exp2 ...
    record = registry.add(Primitive(  # ... until this one record says what it is
        "math.exp2", (math.exp2,), Exp2, "math",
        printed={"math": "math.exp2", "numpy": "numpy.exp2", "c": "exp2"}, formula="exp2"))
    try:
        yield record
    finally:
        registry.remove(record)


def _mp_uses_exp2(x, y):
    return (mpmath.power(2, x * y) + mpmath.sin(x)) * mpmath.power(2, -y)


@pytest.mark.skipif(not hasattr(math, "exp2"), reason="math.exp2 is Python 3.11+")
def test_a_record_added_in_a_test_works_end_to_end(exp2_record, tmp_path):
    assert registry.lookup(math.exp2) is exp2_record
    point = (0.7, -1.3)
    with mpmath.workdps(50):
        want = [mpmath.diff(lambda t: _mp_uses_exp2(t, point[1]), point[0]),
                mpmath.diff(lambda t: _mp_uses_exp2(point[0], t), point[1])]
        want_xx = mpmath.diff(lambda t: _mp_uses_exp2(t, point[1]), point[0], 2)
    g = grad(uses_exp2)
    assert all(close(a, b, rtol=1e-11) for a, b in zip(g(*point), want))
    assert "math.exp2(" in g.source
    assert "exp2(x*y)" in str(g.formulas["x"]) and r"\operatorname{exp2}" in g.latex()
    assert close(grad(grad(uses_exp2, wrt="x"), wrt="x")(*point), want_xx, rtol=1e-9)
    namespace = {}
    exec(emit(uses_exp2), namespace)
    assert all(close(a, b, rtol=1e-11) for a, b in zip(namespace["uses_exp2_grad"](*point), want))
    c_source = emit(uses_exp2, language="c")
    assert "exp2(" in c_source
    library = compile_library(tmp_path, {"uses_exp2": c_source})
    gradient, _ = c_gradient(library, uses_exp2, point)
    assert all(close(a, b, rtol=1e-11) for a, b in zip(gradient, want))


@pytest.mark.skipif(not hasattr(math, "exp2"), reason="math.exp2 is Python 3.11+")
def test_a_removed_record_is_gone(exp2_record):
    registry.remove(exp2_record)
    assert registry.lookup(math.exp2) is None
    assert registry.printed_name(Exp2, "math") is None and registry.formula_name(Exp2) is None

    with pytest.raises(UnknownFunctionError):
        grad(uses_exp2)(0.5, 0.25)
    registry.add(exp2_record)  # the fixture removes it again
    assert registry.lookup(math.exp2) is exp2_record


def test_a_record_checks_its_fields():
    with pytest.raises(ValueError, match="kind"):
        Primitive("f", kind="magic")
    with pytest.raises(ValueError, match="targets"):
        Primitive("f", printed={"fortran": "f"})
