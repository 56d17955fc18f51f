"""An independent reference: the user's own source, re-executed over mpmath at 50 digits.

``mp_grad(f, args)`` re-compiles ``f``'s source with ``math`` / ``numpy`` (and names imported from
them) replaced by mpmath equivalents, and differentiates it numerically with ``mpmath.diff``. It
shares nothing with symdiff but the source text.
"""

import ast
import inspect
import math
import textwrap
import types

import mpmath
import numpy as np

DPS = 50


def _cbrt(x):
    return mpmath.sign(x) * mpmath.cbrt(abs(x))


def _hypot(*args):
    return mpmath.sqrt(sum(a * a for a in args))


def _log(x, base=None):
    return mpmath.log(x) if base is None else mpmath.log(x) / mpmath.log(base)


MATH = types.SimpleNamespace(
    sin=mpmath.sin, cos=mpmath.cos, tan=mpmath.tan, asin=mpmath.asin, acos=mpmath.acos,
    atan=mpmath.atan, atan2=mpmath.atan2, sinh=mpmath.sinh, cosh=mpmath.cosh, tanh=mpmath.tanh,
    asinh=mpmath.asinh, acosh=mpmath.acosh, atanh=mpmath.atanh, exp=mpmath.exp,
    expm1=mpmath.expm1, log=_log, log1p=mpmath.log1p, log2=lambda x: mpmath.log(x, 2),
    log10=mpmath.log10, sqrt=mpmath.sqrt, pow=lambda x, y: mpmath.power(x, y), hypot=_hypot,
    fabs=mpmath.fabs, erf=mpmath.erf, erfc=mpmath.erfc, gamma=mpmath.gamma,
    lgamma=lambda x: mpmath.loggamma(x).real, pi=mpmath.pi, e=mpmath.e, tau=2 * mpmath.pi,
)

NUMPY = types.SimpleNamespace(
    sin=mpmath.sin, cos=mpmath.cos, tan=mpmath.tan, arcsin=mpmath.asin, arccos=mpmath.acos,
    arctan=mpmath.atan, arctan2=mpmath.atan2, sinh=mpmath.sinh, cosh=mpmath.cosh,
    tanh=mpmath.tanh, arcsinh=mpmath.asinh, arccosh=mpmath.acosh, arctanh=mpmath.atanh,
    exp=mpmath.exp, expm1=mpmath.expm1, exp2=lambda x: mpmath.power(2, x), log=mpmath.log,
    log1p=mpmath.log1p, log2=lambda x: mpmath.log(x, 2), log10=mpmath.log10,
    logaddexp=lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)),
    logaddexp2=lambda a, b: mpmath.log(mpmath.power(2, a) + mpmath.power(2, b), 2),
    sqrt=mpmath.sqrt, cbrt=_cbrt, square=lambda x: x * x, reciprocal=lambda x: 1 / x,
    power=lambda x, y: mpmath.power(x, y), float_power=lambda x, y: mpmath.power(x, y),
    hypot=_hypot, abs=abs, absolute=abs, fabs=abs, sign=mpmath.sign,
    add=lambda a, b: a + b, subtract=lambda a, b: a - b, multiply=lambda a, b: a * b,
    divide=lambda a, b: a / b, negative=lambda a: -a, deg2rad=lambda x: x * mpmath.pi / 180,
    pi=mpmath.pi, e=mpmath.e,
)

_BY_OBJECT = {}
for _shim, _module in ((MATH, math), (NUMPY, np)):
    for _name, _value in vars(_shim).items():
        _original = getattr(_module, _name, None)
        if callable(_original):
            _BY_OBJECT[id(_original)] = _value


def _shim_value(value):
    if value is math:
        return MATH
    if value is np:
        return NUMPY
    if callable(value) and id(value) in _BY_OBJECT:
        return _BY_OBJECT[id(value)]
    if isinstance(value, float):
        return mpmath.mpf(value)
    return value


def mp_function(f, _seen=None):
    """``f`` recompiled over mpmath (its globals shimmed; closures read their current values).

    Python functions of the same module that ``f`` calls are recompiled the same way.
    """
    seen = {} if _seen is None else _seen
    if f in seen:
        return seen[f]
    source = textwrap.dedent(inspect.getsource(f))
    tree = ast.parse(source)
    node = tree.body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.decorator_list = []
    namespace = {k: _shim_value(v) for k, v in f.__globals__.items()}
    seen[f] = None  # recursion: filled in below, looked up by name at call time
    for name, value in f.__globals__.items():
        if isinstance(value, types.FunctionType) and value is not f and \
                value.__module__ == f.__module__ and name in f.__code__.co_names:
            namespace[name] = mp_function(value, seen)
    if f.__closure__:
        for name, cell in zip(f.__code__.co_freevars, f.__closure__):
            namespace[name] = _shim_value(cell.cell_contents)
    exec(compile(tree, "<reference>", "exec"), namespace)
    seen[f] = namespace[f.__name__]
    return seen[f]


def mp_grad(f, args, wrt=None):
    """d f / d args[i] for each differentiated position, as mpmath numbers at 50 digits."""
    params = list(inspect.signature(f).parameters)
    positions = range(len(args)) if wrt is None else [params.index(w) for w in wrt]
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = [mpmath.mpf(a) if isinstance(a, (int, float)) else a for a in args]
        result = []
        for i in positions:
            def one(t, i=i):
                moved = list(point)
                moved[i] = t
                return g(*moved)

            result.append(mpmath.diff(one, point[i]))
        return result


def close(actual, expected, rtol=1e-12, atol=1e-12):
    """``actual`` (a float) equals the mpmath ``expected`` to ``rtol`` relative."""
    expected = float(expected)
    return abs(actual - expected) <= atol + rtol * abs(expected)
