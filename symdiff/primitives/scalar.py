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

from . import registry
from .faithful import FloorDiv, NpFmax, NpFmin, NpMaximum, NpMinimum, PyMod
from .registry import Primitive
from .sympy_functions import (Ceil, Hypot, CopySign, Floor, LogAddExp, LogAddExp2, RealCbrt, Round,
                         RoundDigits, Trunc)

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
    ("log", _log, (1, 2)), ("log1p", log1p), ("log2", log2), ("log10", log10),
    # ---- powers ----
    ("sqrt", sympy.sqrt), ("pow", lambda x, y: x**y, (2,)),
    ("cbrt", RealCbrt, (1,), (), dict(printed={"math": "math.cbrt", "c": "cbrt"}, formula="cbrt")),
    ("hypot", _hypot, (1, 2, 3, 4, 5, 6, 7, 8), (),
     dict(sympy_class=Hypot, printed={"math": "math.hypot", "numpy": "numpy.hypot", "c": "hypot"})),
    # ---- piecewise ----
    ("floor", Floor), ("ceil", Ceil), ("trunc", Trunc),
    ("copysign", CopySign, (2,), (), dict(printed={"math": "math.copysign"})),
    # ---- other ----
    ("fabs", sympy.Abs),
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
    ("logaddexp", LogAddExp, (2,), (), dict(printed={"numpy": "numpy.logaddexp"}, formula="logaddexp")),
    ("logaddexp2", LogAddExp2, (2,), (), dict(printed={"numpy": "numpy.logaddexp2"}, formula="logaddexp2")),
    # ---- powers ----
    ("sqrt", sympy.sqrt),
    ("cbrt", RealCbrt, (1,), (), dict(printed={"numpy": "numpy.cbrt", "c": "cbrt"}, formula="cbrt")),
    ("square", lambda x: x**2),
    ("reciprocal", lambda x: 1 / x), ("power", lambda x, y: x**y, (2,)),
    ("float_power", lambda x, y: x**y, (2,)), ("hypot", hypot, (2,)),
    # ---- arithmetic ufuncs ----
    ("add", lambda x, y: x + y, (2,)), ("subtract", lambda x, y: x - y, (2,)),
    ("multiply", lambda x, y: x * y, (2,)), ("divide", lambda x, y: x / y, (2,)),
    ("true_divide", lambda x, y: x / y, (2,)),
    ("negative", lambda x: -x), ("positive", lambda x: +x),
    ("mod", PyMod, (2,)), ("remainder", PyMod, (2,)), ("floor_divide", FloorDiv, (2,)),
    # ---- other ----
    ("abs", sympy.Abs), ("absolute", sympy.Abs), ("fabs", sympy.Abs), ("sign", sympy.sign),
    ("floor", Floor), ("ceil", Ceil), ("trunc", Trunc), ("round", _round, (1, 2), (1,)),
    ("around", _round, (1, 2), (1,)), ("rint", Round),
    ("maximum", NpMaximum, (2,)), ("minimum", NpMinimum, (2,)), ("fmax", NpFmax, (2,)),
    ("fmin", NpFmin, (2,)), ("copysign", CopySign, (2,), (), dict(printed={"numpy": "numpy.copysign"})),
    ("deg2rad", lambda x: x * sympy.pi / 180), ("rad2deg", lambda x: x * 180 / sympy.pi),
    ("radians", lambda x: x * sympy.pi / 180), ("degrees", lambda x: x * 180 / sympy.pi),
]

_BUILTINS = [
    ("abs", sympy.Abs),
    ("pow", lambda x, y: x**y, (2,)),
    ("round", _round, (1, 2), (1,)),
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


# The helpers generated code calls (python_code.HELPERS), marked ``__symdiff_helper__`` when
# compiled: grad(grad(f)) reads them as the functions they compute.
for _record in (
    Primitive("pow", (), lambda x, y: x**y, "builtins", nargs=(2,), helper="_pow"),
    Primitive("digamma", (), lambda x: sympy.polygamma(0, x), "math", helper="_digamma"),
    Primitive("polygamma", (), sympy.polygamma, "math", nargs=(2,), int_args=(0,), helper="_polygamma"),
):
    registry.add(_record)
