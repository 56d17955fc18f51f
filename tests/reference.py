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


def _is_mp(*values):
    return any(isinstance(v, mpmath.mpf) for v in values)


def _floor(x):
    return mpmath.floor(x) if _is_mp(x) else math.floor(x)


def _ceil(x):
    return mpmath.ceil(x) if _is_mp(x) else math.ceil(x)


def _trunc(x):
    return (mpmath.floor(x) if x >= 0 else mpmath.ceil(x)) if _is_mp(x) else math.trunc(x)


def _copysign(x, y):
    """``math.copysign``: the sign of a float ``y`` (so -0.0 counts), of an mpf ``y`` by value."""
    negative = (y < 0) if _is_mp(y) else math.copysign(1.0, y) < 0
    return -abs(x) if negative else abs(x)


def _float(x=0.0):
    """``float(...)`` that keeps 50 digits (the builtin would round an mpf to a double)."""
    return x if _is_mp(x) else float(x)


def _floordiv(a, b):
    """``a // b`` (mpf has no ``//``): ``floor(a / b)`` as Python defines it."""
    return mpmath.floor(mpmath.mpf(a) / b) if _is_mp(a, b) else a // b


class _FloorDivToCall(ast.NodeTransformer):
    """``a // b`` -> ``__ref_floordiv__(a, b)`` and ``a //= b`` likewise."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.FloorDiv):
            call = ast.Call(ast.Name("__ref_floordiv__", ast.Load()), [node.left, node.right], [])
            return ast.copy_location(call, node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.FloorDiv) and isinstance(node.target, ast.Name):
            value = ast.Call(ast.Name("__ref_floordiv__", ast.Load()),
                             [ast.Name(node.target.id, ast.Load()), node.value], [])
            return ast.copy_location(ast.Assign([node.target], value), node)
        return node


MATH = types.SimpleNamespace(
    sin=mpmath.sin, cos=mpmath.cos, tan=mpmath.tan, asin=mpmath.asin, acos=mpmath.acos,
    atan=mpmath.atan, atan2=mpmath.atan2, sinh=mpmath.sinh, cosh=mpmath.cosh, tanh=mpmath.tanh,
    asinh=mpmath.asinh, acosh=mpmath.acosh, atanh=mpmath.atanh, exp=mpmath.exp,
    expm1=mpmath.expm1, log=_log, log1p=mpmath.log1p, log2=lambda x: mpmath.log(x, 2),
    log10=mpmath.log10, sqrt=mpmath.sqrt, pow=lambda x, y: mpmath.power(x, y), hypot=_hypot,
    fabs=mpmath.fabs, erf=mpmath.erf, erfc=mpmath.erfc, gamma=mpmath.gamma,
    lgamma=lambda x: mpmath.loggamma(x).real, pi=mpmath.pi, e=mpmath.e, tau=2 * mpmath.pi,
    floor=_floor, ceil=_ceil, trunc=_trunc, copysign=_copysign, inf=mpmath.inf,
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


_NOT_USER_CODE = ("math", "numpy", "mpmath", "sympy", "scipy", "symdiff", "builtins")


def _is_user_function(value):
    module = getattr(value, "__module__", None) or ""
    return isinstance(value, types.FunctionType) and not module.startswith(_NOT_USER_CODE)


def _lazy_mp(f):
    """A user's helper over mpmath too, recompiled at its first call (recursion-safe)."""
    compiled = []

    def call(*args, **kwargs):
        if not compiled:
            compiled.append(mp_function(f))
        return compiled[0](*args, **kwargs)

    call.__name__ = f.__name__
    return call


def _shim_value(value):
    if value is math:
        return MATH
    if value is np:
        return NUMPY
    if isinstance(value, types.ModuleType) and _is_user_function_module(value):
        return _ShimmedModule(value)
    if callable(value) and id(value) in _BY_OBJECT:
        return _BY_OBJECT[id(value)]
    if _is_user_function(value):
        return _lazy_mp(value)
    if isinstance(value, float):
        return mpmath.mpf(value)
    return value


def _is_user_function_module(module):
    return not module.__name__.startswith(_NOT_USER_CODE) and hasattr(module, "__file__")


class _ShimmedModule:
    """A user's module seen from the reference: its functions and floats shimmed on access."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return _shim_value(getattr(self._module, name))


def mp_function(f):
    """``f`` recompiled over mpmath (its globals shimmed; closures read their current values)."""
    source = textwrap.dedent(inspect.getsource(f))
    tree = ast.parse(source)
    node = tree.body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.decorator_list = []
    tree = ast.fix_missing_locations(_FloorDivToCall().visit(tree))
    namespace = {k: _shim_value(v) for k, v in f.__globals__.items()}
    if f.__closure__:
        for name, cell in zip(f.__code__.co_freevars, f.__closure__):
            namespace[name] = _shim_value(cell.cell_contents)
    namespace.update(float=_float, __ref_floordiv__=_floordiv)
    exec(compile(tree, "<reference>", "exec"), namespace)
    return namespace[f.__name__]


def mp_grad(f, args, wrt=None):
    """d f / d args[i] for each differentiated position, as mpmath numbers at 50 digits."""
    params = list(inspect.signature(f).parameters)
    positions = range(len(args)) if wrt is None else [params.index(w) for w in wrt]
    with mpmath.workdps(DPS):
        g = mp_function(f)
        # An int that is not differentiated stays an int (a loop count, as in the call).
        point = [
            mpmath.mpf(a) if isinstance(a, float) or (isinstance(a, int) and i in positions) else a
            for i, a in enumerate(args)
        ]
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
