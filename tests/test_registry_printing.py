"""The printers and the tracer read what a primitive is from its registry record, nowhere else.

A record says how each target spells its SymPy class (a name, a ``Helper`` the generated code
defines, or a function of the printer and the node) and how the tracer treats the call
(``ufunc``, ``exact_on_ints``, ``elementwise``). Here a new function with a helper of its own
(Python and C source) is one record and one ``Helper``: it prints, runs and differentiates in
Python, the standalone module and C, against mpmath at 50 digits, on both sides of the helper's
branch. A spelling or a field changed on a record changes what comes out.
"""

import dataclasses
import math

import mpmath
import numpy as np
import pytest
import sympy

import symdiff
from symdiff import SymdiffError, emit, grad
from symdiff.primitives import arrays, registry
from symdiff.primitives.registry import Helper, Primitive
from symdiff.primitives.sympy_functions import Floor, Named

from .reference import close
from .test_c_arrays import c_gradient
from .test_c_code import compile_library


# ---- a new function whose generated code calls a helper it defines ----


def softplus(x):
    return math.log1p(math.exp(x))


class Softplus(Named, sympy.Function):
    """log(1 + exp(x)), the test record's SymPy class (its derivative is SymPy's to know)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (1 + sympy.exp(-self.args[0]))

    def _eval_evalf(self, prec):
        return sympy.log(1 + sympy.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real or None


SOFTPLUS = Helper(
    "softplus",
    python='''\
def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))
''',
    module="math",
    c="""\
static double {name}(double x)
{{
    /* log(1 + exp(x)) without overflow */
    if (x > 0) {{
        return x + log1p(exp(-x));
    }}
    return log1p(exp(x));
}}
""",
)


def uses_softplus(x, y):
    z = softplus(x * y) * x
    return z + softplus(-y)


def shadows_the_helper(x):
    _softplus = 2.0 * x
    return softplus(_softplus) * x


def _mp_softplus(t):
    return mpmath.log(1 + mpmath.exp(t))


def _mp_uses(x, y):
    return _mp_softplus(x * y) * x + _mp_softplus(-y)


def _mp_grad(f, point):
    with mpmath.workdps(50):
        point = [mpmath.mpf(v) for v in point]
        return [float(mpmath.diff(lambda t: f(*point[:i], t, *point[i + 1:]), point[i])) for i in range(len(point))]


# x*y on both sides of the helper's branch (x*y > 0 and < 0), -y on both sides too
POINTS = [(0.7, 1.3), (-0.7, 1.3), (1.9, -0.4), (-2.2, -1.1)]


@pytest.fixture
def softplus_record():
    assert registry.lookup(softplus) is None
    registry.add_helper(SOFTPLUS)
    record = registry.add(Primitive(
        "softplus", (softplus,), Softplus, "math", helper="_softplus", formula="softplus",
        printed={"math": SOFTPLUS, "numpy": SOFTPLUS, "c": SOFTPLUS}))  # numpy: numbers only (math)
    try:
        yield record
    finally:
        registry.remove(record)
        registry.remove_helper(SOFTPLUS)


def test_a_record_with_a_helper_prints_and_runs_in_python(softplus_record):
    g = grad(uses_softplus)
    for point in POINTS:
        assert all(close(a, b, rtol=1e-12) for a, b in zip(g(*point), _mp_grad(_mp_uses, point))), point
    assert "_softplus(" in g.source and "def _softplus(x):" in g.source
    assert "softplus(x*y)" in str(g.formulas["x"])
    value, _ = symdiff.value_and_grad(uses_softplus)(*POINTS[1])
    assert close(value, float(_mp_uses(*POINTS[1])), rtol=1e-13)


def test_a_record_with_a_helper_is_differentiated_again(softplus_record):
    gg = grad(grad(uses_softplus, wrt="x"), wrt="x")
    for point in POINTS:
        with mpmath.workdps(50):
            want = float(mpmath.diff(lambda t: _mp_uses(t, mpmath.mpf(point[1])), mpmath.mpf(point[0]), 2))
        assert close(gg(*point), want, rtol=1e-9), point


def test_a_users_name_never_shadows_a_new_helper(softplus_record):
    g = grad(shadows_the_helper)
    for x in (0.4, -0.9):
        with mpmath.workdps(50):
            want = float(mpmath.diff(lambda t: _mp_softplus(2 * t) * t, mpmath.mpf(x)))
        assert close(g(x), want, rtol=1e-12)
    assert "def _softplus_1(x):" in g.source and "_softplus = 2.0*x" in g.source


def test_a_record_with_a_helper_in_the_standalone_module(softplus_record):
    source = emit(uses_softplus)
    assert "def _softplus(x):" in source and "from symdiff" not in source
    namespace = {}
    exec(compile(source, "<emitted>", "exec"), namespace)
    for point in POINTS:
        got = namespace["uses_softplus_grad"](*point)
        assert all(close(a, b, rtol=1e-12) for a, b in zip(got, _mp_grad(_mp_uses, point))), point


def test_a_record_with_a_helper_prints_and_runs_in_c(softplus_record, tmp_path):
    text = emit(uses_softplus, language="c")
    assert text.count("static double symdiff_softplus(double x)") == 1
    assert "symdiff_softplus(" in text.split("static double symdiff_softplus(double x)")[1]
    library = compile_library(tmp_path, {"uses_softplus": text})
    for point in POINTS:
        gradient, (value, _) = c_gradient(library, uses_softplus, point)
        assert all(close(a, b, rtol=1e-12) for a, b in zip(gradient, _mp_grad(_mp_uses, point))), point
        assert close(value, float(_mp_uses(*point)), rtol=1e-13)


def test_a_removed_helper_is_gone(softplus_record):
    assert registry.helper("softplus") is SOFTPLUS and registry.helper("_softplus") is SOFTPLUS
    assert "_softplus" in symdiff.naming.generated_globals()
    registry.remove_helper(SOFTPLUS)
    with pytest.raises(KeyError):
        registry.helper("softplus")
    assert "_softplus" not in symdiff.naming.generated_globals()
    registry.add_helper(SOFTPLUS)  # the fixture removes it again


def test_the_built_in_helpers_are_helper_records():
    from symdiff.backends.c_code import HELPERS

    for name in ("digamma", "polygamma", "heaviside", "sign", "floordiv", "mod", "logaddexp"):
        assert HELPERS[name] is registry.helper(name).c
    for name in ("_pow", "_digamma", "_scatter", "_full", "_prod_others", "_exclusive"):
        assert registry.helper(name).python.startswith(f"def {name}(")
    assert registry.helper("prod_others").needs == ("exclusive",)


# ---- spellings: the printers ask the record ----


def floor_times(x):
    return math.floor(x) * x + x


def _mp_floor_times(t):
    return mpmath.floor(t) * t + t


def test_floor_is_spelled_by_its_record():
    spelling = registry.print_as(Floor, "math")
    assert callable(spelling) and registry.print_as(Floor, "numpy") == "numpy.floor"
    assert "float(math.floor(x))" in grad(floor_times).source


def _check_floor_times(g):
    for x in (2.5, -1.5, 0.25):
        with mpmath.workdps(50):
            want = float(mpmath.diff(_mp_floor_times, mpmath.mpf(x)))
        assert close(g(x), want, rtol=1e-13), x


def test_a_record_that_spells_floor_anew_changes_the_python_code():
    def spell(p, e):
        return p.call("float", p.call("math.floor", p.text(e.args[0]))) + " + 0.0"

    record = registry.add(Primitive("floor, spelled in a test", (), Floor, "math", printed={"math": spell}),
                          replace=True)
    try:
        g = grad(floor_times)
        assert "float(math.floor(x)) + 0.0" in g.source
        _check_floor_times(g)
    finally:
        registry.remove(record)
    g = grad(floor_times)
    assert "float(math.floor(x)) + 0.0" not in g.source and "float(math.floor(x))" in g.source
    _check_floor_times(g)


def test_a_record_that_spells_floor_with_a_helper_changes_the_c_code(tmp_path):
    helper = registry.add_helper(Helper("floor_test", c="""\
static double {name}(double x)
{{
    /* floor, in a helper of its own */
    return floor(x) + 0.0;
}}
"""))
    record = registry.add(Primitive("floor, spelled in a test", (), Floor, "math", printed={"c": helper}),
                          replace=True)
    try:
        text = emit(floor_times, language="c")
        assert "static double symdiff_floor_test(double x)" in text and "symdiff_floor_test(x)" in text
        library = compile_library(tmp_path, {"floor_times": text})
        for x in (2.5, -1.5, 0.25):
            gradient, (value, _) = c_gradient(library, floor_times, (x,))
            with mpmath.workdps(50):
                want = float(mpmath.diff(_mp_floor_times, mpmath.mpf(x)))
            assert close(gradient, want, rtol=1e-13) and close(value, float(_mp_floor_times(x)), rtol=1e-13)
    finally:
        registry.remove(record)
        registry.remove_helper(helper)
    assert "symdiff_floor_test" not in emit(floor_times, language="c")


def sign_times(x):
    return abs(x) * x


def test_the_c_sign_is_one_readable_helper(tmp_path):
    text = emit(sign_times, language="c")
    assert "symdiff_sign(x)" in text and "? -1.0 :" not in text  # no nested ternaries
    library = compile_library(tmp_path, {"sign_times": text})
    for x in (1.5, -2.0, 0.0):
        gradient, _ = c_gradient(library, sign_times, (x,))
        assert gradient == 2.0 * abs(x)  # d(|x| x)/dx = 2|x| (sign(0) = 0: 0 at the kink)


def test_a_spelling_must_be_a_name_a_helper_or_a_function():
    with pytest.raises(ValueError, match="spelling"):
        Primitive("f", printed={"c": 3})


# ---- the tracer's tables are record fields ----


@pytest.fixture
def replaced():
    """Replace a callable's record by a copy with other fields; put the original back after."""
    originals = []

    def replace(func, **fields):
        original = registry.lookup(func)
        originals.append(original)
        return registry.add(dataclasses.replace(original, **fields), replace=True)

    yield replace
    for original in originals:
        registry.add(original, replace=True)


def the_ufunc(x, y):
    return np.subtract(x, y) ** 2


def test_ufunc_is_a_record_field(replaced):
    assert registry.lookup(np.subtract).ufunc == ("-",)
    assert registry.lookup(np.reciprocal).ufunc == ("/", 1)
    assert registry.lookup(np.sin).ufunc is None
    point = (0.3, 1.7)
    want = [2 * (point[0] - point[1]), -2 * (point[0] - point[1])]
    g = grad(the_ufunc)
    assert "numpy.subtract(" in g.source
    assert all(close(a, b, rtol=1e-15) for a, b in zip(g(*point), want))
    replaced(np.subtract, ufunc=None)
    g = grad(the_ufunc)
    assert "numpy.subtract(" not in g.source  # traced as a function of numbers, no ufunc noted
    assert all(close(a, b, rtol=1e-15) for a, b in zip(g(*point), want))


def big_base_log(x):
    return math.log(x, 10**400) * x


def test_exact_on_ints_is_a_record_field(replaced):
    assert registry.lookup(math.log).exact_on_ints and not registry.lookup(math.exp).exact_on_ints
    with mpmath.workdps(50):
        want = float(mpmath.diff(lambda t: mpmath.log(t) / mpmath.log(mpmath.mpf(10) ** 400) * t, 3.5))
    assert close(grad(big_base_log)(3.5), want, rtol=1e-13)
    replaced(math.log, exact_on_ints=False)
    with pytest.raises(SymdiffError, match="math.log converts it to float"):
        grad(big_base_log)(3.5)


def clipped(x):
    return np.clip(x, 0.0, 1.0) * x


def test_elementwise_is_a_record_field(replaced):
    assert registry.lookup(np.clip).elementwise and not registry.lookup(np.sum).elementwise
    assert "not elementwise" not in emit(clipped)
    replaced(np.clip, elementwise=False)
    assert "np.clip (line" in emit(clipped)


# ---- array-op parameters belong to their node ----


def reshaped(x):
    return np.sum(np.reshape(x, (2, 3)) * x.reshape(2, 3)[1])


def test_array_op_parameters_are_held_by_the_node():
    x = sympy.Symbol("x", real=True)
    a = arrays.ArraySum.make(x, axis=(0,), shape=(3,))
    assert a == arrays.ArraySum.make(x, axis=(0,), shape=(3,)) and a.params == {"axis": (0,), "shape": (3,)}
    assert a != arrays.ArraySum.make(x, axis=(1,), shape=(3,))
    assert isinstance(a.args[-1], arrays.Params) and not a.free_symbols - {x}
    tables = {name: len(v) for name, v in vars(arrays).items() if isinstance(v, (list, dict))}
    g = grad(reshaped)
    point = np.arange(6.0).reshape(2, 3) / 7
    want = np.tile(point[1], (2, 1))  # d/dx[i, j] of sum x[i, j] x[1, j]: x[1, j], and for i = 1
    want[1] += point.sum(axis=0)  # the column's sum too
    assert np.allclose(g(point), want, rtol=1e-14, atol=0)
    # nothing module-level grew with the build (no process-global table of parameters)
    assert {name: len(v) for name, v in vars(arrays).items() if isinstance(v, (list, dict))} == tables
