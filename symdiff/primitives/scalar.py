"""scalar: the records of Python callables and constants symdiff understands as numbers.

Takes: the math, numpy and builtin functions of numbers (``math.sin``, ``np.exp``, ``abs``) and
constants (``math.pi``). Returns: nothing; each function becomes one ``registry.Primitive`` (its
SymPy builder, argument counts, print names where SymPy's printers do not know the class), and
``CONSTANTS``/``CONSTANT_VALUES`` map the constants to SymPy's. SymPy knows every derivative
(``fdiff``); these tables do not repeat them.
"""

import builtins
import math

import numpy as np
import sympy
from sympy.codegen.cfunctions import exp2, expm1, hypot, log1p, log2, log10

from . import helper_code, registry
from .faithful import (ADD, DIV, MUL, POW, SUB, FloorDiv, NpFmax, NpFmin, NpMaximum, NpMinimum, PyMax,
                       PyMin, PyMod, PySum)
from .registry import Primitive
from .sympy_functions import (Ceil, Hypot, CopySign, Floor, LogAddExp, LogAddExp2, RealCbrt, Round,
                         RoundDigits, Tie, Trunc)

def _log(x, base=None):
    if base is not None and base.is_Integer and abs(base) > 2**1000:
        base_log = math.log(int(base))  # exact for any int, as math.log computes it: no double
        return sympy.log(x) / sympy.Float(base_log)  # holds the base itself
    return sympy.log(x) if base is None else sympy.log(x) / sympy.log(base)


def _round(x, ndigits=None):
    """``round(x)`` (to an integer) or ``round(x, ndigits)`` (to a float, ``ndigits`` an int)."""
    return Round(x) if ndigits is None else RoundDigits(x, ndigits)


def _hypot(*args):
    result = args[0] if len(args) == 1 else Hypot(args[0], args[1])
    if len(args) == 1:
        return sympy.Abs(result)
    for arg in args[2:]:
        result = Hypot(result, arg)
    return result


# ---- spellings: how a target prints a class where a name alone does not say it (Primitive.printed).
# Each is (printer, expr) -> text; the printer offers text(expr), name(what), call(what, *texts)
# (``what``: "math.floor", a builtin such as "float", or a Helper) and not_supported(expr).


def _as_float(name):
    """``float(math.floor(x))``: Python's math.floor/ceil/trunc and round return ints; wrapped in
    ``float`` no value or gradient comes back as an int (Python's ``x // c`` on floats is a float)."""
    return lambda p, e: p.call("float", p.call(name, *map(p.text, e.args)))


def _c_int_valued(name):
    """C's ``floor(x)`` & co.; where the user called Python's math.floor/round (``math_calls``),
    which return ints and so no -0.0, ``+ 0.0`` turns C's -0.0 into 0.0 (numpy keeps -0.0, as C)."""

    def spell(p, e):
        text = p.call(name, p.text(e.args[0]))
        return f"({text} + 0.0)" if e in p.math_calls else text

    return spell


def _python_conditional(*arms):
    """A value by the sign of the argument, as one conditional expression in Python (no call):
    ``arms`` are the texts above 0, below 0 and at 0; nan at nan."""
    above, below, zero = arms

    def spell(p, e):
        x, nan = p.text(e.args[0]), p.name("math.nan")
        return f"({above} if {x} > 0 else ({below} if {x} < 0 else ({zero} if {x} == 0 else {nan})))"

    return spell


def _numpy_heaviside(p, e):
    """numpy's step with 1/2 at 0 (so a tie of max/min shares the derivative equally)."""
    return p.call("numpy.heaviside", p.text(e.args[0]), "0.5")


def _c_heaviside(p, e):
    """The step helper of the argument (SymPy's second argument, the value 1/2 at 0, is the helper's)."""
    return p.call(helper_code.HEAVISIDE, p.text(e.args[0]))


def _polygamma(p, e):
    """``polygamma(0, x)`` as the digamma helper, ``polygamma(n, x)`` (a known int n >= 1) as the
    polygamma one."""
    order, arg = e.args
    if order == 0:
        return p.call(helper_code.DIGAMMA, p.text(arg))
    if order.is_Integer and order > 0:
        return p.call(helper_code.POLYGAMMA, str(int(order)), p.text(arg))
    return p.not_supported(e)


def _python_tie(p, e):
    """1.0 where a max/min argument equals the max/min, else 0.0 (tie-sharing weights)."""
    a, b = map(p.text, e.args)
    return f"(1.0 if {a} == {b} else 0.0)"


def _numpy_tie(p, e):
    a, b = map(p.text, e.args)
    return p.call("numpy.where", f"{a} == {b}", "1.0", "0.0")


def _c_fold(compare):
    """Python's ``max``/``min`` in C: the first argument, replaced by each later one that compares
    ``compare`` to the best so far (so a nan first stays, a nan later never wins)."""

    def spell(p, e):
        text = p.text(e.args[0])
        for arg in e.args[1:]:
            arg = p.text(arg)
            text = f"(({arg} {compare} {text}) ? {arg} : {text})"
        return text

    return spell


def _python_sum(p, e):
    """Python's ``sum`` of the items (one tuple, in order), from the start where it is not 0."""
    start, *items = e.args
    terms = ", ".join(map(p.text, items)) + ("," if len(items) == 1 else "")
    return p.call("sum", f"({terms})") if start is sympy.S.Zero else p.call("sum", f"({terms})", p.text(start))


def _c_sum(p, e):
    """Left to right, as Python's ``sum`` of floats adds (before Python 3.12)."""
    start, *items = e.args
    text = p.text(start) if start is not sympy.S.Zero else "0.0"
    for item in items:
        text = f"({text} + {p.text(item)})"
    return text


# numpy's choice of a or b (equal values, nan), as C's test for "a"
_NUMPY_CHOICES = {"maximum": "{a} > {b} || {a} != {a}", "minimum": "{a} < {b} || {a} != {a}",
                  "fmax": "{a} >= {b} || {b} != {b}", "fmin": "{a} <= {b} || {b} != {b}"}


def _numpy_choice(name):
    """numpy.maximum & co.: called as the numpy function (Python targets), a conditional in C."""

    def c_spell(p, e):
        a, b = map(p.text, e.args)
        return f"(({_NUMPY_CHOICES[name].format(a=a, b=b)}) ? {a} : {b})"

    return dict(printed={"numpy": f"numpy.{name}", "c": c_spell})


_ROUNDED = dict(math=_as_float("round"), c=_c_int_valued("nearbyint"))  # nearbyint: ties to even


_EXACT = dict(exact_on_ints=True)


def _ufunc(operator, *fixed):
    return dict(ufunc=(operator, *fixed))


def _steps(name):
    return dict(printed={"math": _as_float(f"math.{name}"), "c": _c_int_valued(name)})


_MATH = [
    # ---- trigonometric ----
    ("sin", sympy.sin), ("cos", sympy.cos), ("tan", sympy.tan),
    ("asin", sympy.asin), ("acos", sympy.acos), ("atan", sympy.atan),
    ("atan2", sympy.atan2, (2,)),
    # ---- hyperbolic ----
    ("sinh", sympy.sinh), ("cosh", sympy.cosh), ("tanh", sympy.tanh),
    ("asinh", sympy.asinh), ("acosh", sympy.acosh), ("atanh", sympy.atanh),
    # ---- exponential and logarithmic ----
    ("exp", sympy.exp), ("expm1", expm1),
    # (math.log & co. take ints of any size exactly; the rest convert ints to float)
    ("log", _log, (1, 2), (), _EXACT), ("log1p", log1p), ("log2", log2, (1,), (), _EXACT),
    ("log10", log10, (1,), (), _EXACT),
    # ---- powers ----
    ("sqrt", sympy.sqrt), ("pow", lambda x, y: x**y, (2,)),
    ("cbrt", RealCbrt, (1,), (), dict(printed={"math": "math.cbrt", "c": "cbrt"}, formula="cbrt")),
    ("hypot", _hypot, (1, 2, 3, 4, 5, 6, 7, 8), (),
     dict(sympy_class=Hypot, printed={"math": "math.hypot", "numpy": "numpy.hypot", "c": "hypot"})),
    # ---- piecewise ----
    ("floor", Floor, (1,), (), _steps("floor")), ("ceil", Ceil, (1,), (), _steps("ceil")),
    ("trunc", Trunc, (1,), (), _steps("trunc")),
    ("copysign", CopySign, (2,), (), dict(printed={"math": "math.copysign"})),
    # ---- other ----
    # every |x|: abs(x) in math code (the double math.fabs gives), numpy.abs in numpy code
    ("fabs", sympy.Abs, (1,), (), dict(printed={"math": "abs", "numpy": "numpy.abs"})),
    # numpy has no erf, erfc, gamma, lgamma: numpy code calls math's
    ("erf", sympy.erf, (1,), (), dict(printed={"numpy": "math.erf"})),
    ("erfc", sympy.erfc, (1,), (), dict(printed={"numpy": "math.erfc"})),
    ("gamma", sympy.gamma, (1,), (), dict(printed={"numpy": "math.gamma"})),
    ("lgamma", sympy.loggamma, (1,), (), dict(printed={"numpy": "math.lgamma"})),
    # ---- on ints only: evaluated when the arguments are known (loop counters, constants) ----
    ("factorial", None), ("comb", None, (2,)), ("perm", None, (1, 2)), ("isqrt", None),
    ("gcd", None, tuple(range(9))), ("lcm", None, tuple(range(9))),
]

_NUMPY = [
    # ---- trigonometric ----
    ("sin", sympy.sin), ("cos", sympy.cos), ("tan", sympy.tan),
    ("arcsin", sympy.asin), ("arccos", sympy.acos), ("arctan", sympy.atan),
    ("arctan2", sympy.atan2, (2,)),
    # ---- hyperbolic ----
    ("sinh", sympy.sinh), ("cosh", sympy.cosh), ("tanh", sympy.tanh),
    ("arcsinh", sympy.asinh), ("arccosh", sympy.acosh), ("arctanh", sympy.atanh),
    # ---- exponential and logarithmic ----
    ("exp", sympy.exp), ("expm1", expm1), ("exp2", exp2),
    ("log", sympy.log), ("log1p", log1p), ("log2", log2), ("log10", log10),
    ("logaddexp", LogAddExp, (2,), (),
     dict(printed={"numpy": "numpy.logaddexp", "c": helper_code.LOGADDEXP}, formula="logaddexp")),
    ("logaddexp2", LogAddExp2, (2,), (),
     dict(printed={"numpy": "numpy.logaddexp2", "c": helper_code.LOGADDEXP2}, formula="logaddexp2")),
    # ---- powers ----
    ("sqrt", sympy.sqrt),
    ("cbrt", RealCbrt, (1,), (), dict(printed={"numpy": "numpy.cbrt", "c": "cbrt"}, formula="cbrt")),
    # (numpy's arithmetic ufuncs say the operation they are, ``ufunc``: traced as Python's
    # operator, printed as the ufunc; reciprocal: 1 / x)
    ("square", lambda x: x**2, (1,), (), _ufunc(MUL)),
    ("reciprocal", lambda x: 1 / x, (1,), (), _ufunc(DIV, sympy.Integer(1))),
    ("power", lambda x, y: x**y, (2,), (), _ufunc(POW)),
    ("float_power", lambda x, y: x**y, (2,), (), _ufunc(POW)), ("hypot", hypot, (2,)),
    # ---- arithmetic ufuncs ----
    ("add", lambda x, y: x + y, (2,), (), _ufunc(ADD)), ("subtract", lambda x, y: x - y, (2,), (), _ufunc(SUB)),
    ("multiply", lambda x, y: x * y, (2,), (), _ufunc(MUL)), ("divide", lambda x, y: x / y, (2,), (), _ufunc(DIV)),
    ("true_divide", lambda x, y: x / y, (2,), (), _ufunc(DIV)),
    ("negative", lambda x: -x, (1,), (), _ufunc(MUL)), ("positive", lambda x: +x, (1,), (), _ufunc(ADD)),
    ("mod", PyMod, (2,), (), _ufunc(PyMod)), ("remainder", PyMod, (2,), (), _ufunc(PyMod)),
    ("floor_divide", FloorDiv, (2,), (), _ufunc(FloorDiv)),
    # ---- other ----
    ("abs", sympy.Abs), ("absolute", sympy.Abs), ("fabs", sympy.Abs),
    ("sign", sympy.sign, (1,), (), dict(printed={
        "numpy": "numpy.sign", "math": _python_conditional("1.0", "-1.0", "0.0"),  # copysign(1, nan) is 1
        "c": helper_code.SIGN})),
    ("floor", Floor, (1,), (), dict(printed={"numpy": "numpy.floor"})),
    ("ceil", Ceil, (1,), (), dict(printed={"numpy": "numpy.ceil"})),
    ("trunc", Trunc, (1,), (), dict(printed={"numpy": "numpy.trunc"})),
    ("round", _round, (1, 2), (1,), dict(sympy_class=Round, printed={"numpy": "numpy.round"})),
    ("around", _round, (1, 2), (1,)), ("rint", Round),
    # (numpy's choice of two arguments, in order: math code calls numpy's too)
    ("maximum", NpMaximum, (2,), (), _numpy_choice("maximum")),
    ("minimum", NpMinimum, (2,), (), _numpy_choice("minimum")),
    ("fmax", NpFmax, (2,), (), _numpy_choice("fmax")), ("fmin", NpFmin, (2,), (), _numpy_choice("fmin")),
    ("copysign", CopySign, (2,), (), dict(printed={"numpy": "numpy.copysign"})),
    ("deg2rad", lambda x: x * sympy.pi / 180), ("rad2deg", lambda x: x * 180 / sympy.pi),
    ("radians", lambda x: x * sympy.pi / 180), ("degrees", lambda x: x * 180 / sympy.pi),
]

_BUILTINS = [
    ("abs", sympy.Abs),
    ("pow", lambda x, y: x**y, (2,)),
    ("round", _round, (1, 2), (1,), dict(sympy_class=Round, printed=_ROUNDED)),
]


def _register_tables():
    """One record per entry: ``(name, build, nargs=(1,), int_args=(), {other Primitive fields})``."""
    for library, module, entries in (
        ("math", math, _MATH),
        ("numpy", np, _NUMPY),
        ("builtins", builtins, _BUILTINS),
    ):
        prefix = "np" if library == "numpy" else library
        for name, build, *rest in entries:
            func = getattr(module, name, None)
            if func is None:  # e.g. math.cbrt before Python 3.11, a numpy without this ufunc
                continue
            nargs, int_args, extra = (rest + [(1,), (), {}][len(rest):])[:3]
            label = name if library == "builtins" else f"{prefix}.{name}"
            registry.add(Primitive(label, (func,), build, library, nargs=nargs, int_args=int_args,
                                   **extra))


_register_tables()

# Constants of math and numpy, by (module, attribute): shown symbolically in formulas.
CONSTANTS = {
    ("math", "pi"): sympy.pi, ("math", "e"): sympy.E, ("math", "tau"): 2 * sympy.pi,
    ("numpy", "pi"): sympy.pi, ("numpy", "e"): sympy.E,
}

# The same constants found as plain floats (``from math import pi``), by value.
CONSTANT_VALUES = {math.pi: sympy.pi, math.e: sympy.E, math.tau: 2 * sympy.pi}


# The helpers generated code calls (helper_code), marked ``__symdiff_helper__`` when compiled:
# grad(grad(f)) reads them as the functions they compute.
_SPELL_POLYGAMMA = {"math": _polygamma, "numpy": _polygamma, "c": _polygamma}
for _record in (
    Primitive("pow", (), lambda x, y: x**y, "builtins", nargs=(2,), helper="_pow"),
    Primitive("digamma", (), lambda x: sympy.polygamma(0, x), "math", helper="_digamma"),
    Primitive("polygamma", (), sympy.polygamma, "math", nargs=(2,), int_args=(0,), helper="_polygamma",
              printed=_SPELL_POLYGAMMA),
):
    registry.add(_record)

# Classes the code is made of that no callable's record builds (derivatives, operators, the second
# argument of round): one record each says how the targets print it; nothing looks them up by a
# callable. (Python prints ``//`` and ``%`` as operators.)
for _cls, _printed in (
    (RoundDigits, {"math": "round", "numpy": "numpy.round"}),
    (sympy.Heaviside, {"math": _python_conditional("1.0", "0.0", "0.5"), "numpy": _numpy_heaviside,
                       "c": _c_heaviside}),
    (Tie, {"math": _python_tie, "numpy": _numpy_tie}),
    (PyMax, {"math": "max", "numpy": "max", "c": _c_fold(">")}),  # Python's max, arguments in order
    (PyMin, {"math": "min", "numpy": "min", "c": _c_fold("<")}),
    (PySum, {"math": _python_sum, "numpy": _python_sum, "c": _c_sum}),
    (FloorDiv, {"c": helper_code.FLOORDIV}),
    (PyMod, {"c": helper_code.MOD}),
):
    registry.add(Primitive(_cls.__name__, (), _cls, "builtins", printed=_printed))
