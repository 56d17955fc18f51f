"""An independent reference: the user's own source, re-executed over mpmath at 50 digits.

``mp_grad(f, args)`` re-compiles ``f``'s source with ``math`` / ``numpy`` (and names imported from
them) replaced by mpmath equivalents, and differentiates it numerically with ``mpmath.diff``. It
shares nothing with symdiff but the source text.

Arrays: the numpy stand-in works on numpy *object* arrays of ``mpmath.mpf`` (elementwise functions
through ``numpy.vectorize``, reductions/products/slicing/reshaping by numpy's own object-array
machinery, which never rounds to float64). Array, list and tuple arguments become object arrays /
lists / tuples of mpf, module-level float arrays likewise; the derivative with respect to an array
is taken one component at a time (``mpmath.diff`` with that one number moved). ``mp_jacobian`` and
``mp_hessian`` do the same for several outputs and for second derivatives.
"""

import ast
import inspect
import math
import sys
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
    cbrt=_cbrt, fabs=mpmath.fabs, erf=mpmath.erf, erfc=mpmath.erfc, gamma=mpmath.gamma,
    lgamma=lambda x: mpmath.loggamma(x).real, pi=mpmath.pi, e=mpmath.e, tau=2 * mpmath.pi,
    floor=_floor, ceil=_ceil, trunc=_trunc, copysign=_copysign, inf=mpmath.inf,
    # on ints only: Python's own (exact) functions
    factorial=math.factorial, comb=math.comb, perm=math.perm, isqrt=math.isqrt, gcd=math.gcd,
    lcm=math.lcm,
)

# ---- numpy over object arrays of mpf ----
def _is_mp_scalar(value):
    return isinstance(value, (int, float, mpmath.mpf, np.floating, np.integer)) and not isinstance(value, bool)


def _mpf(value):
    """An element as mpf (bools stay bools: they are conditions)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (mpmath.mpf, mpmath.mpc)):
        return value
    if isinstance(value, (int, float, np.floating, np.integer)):
        return mpmath.mpf(float(value)) if isinstance(value, (float, np.floating)) else mpmath.mpf(int(value))
    return value


def obj(value):
    """``value`` (a number, list, tuple or array) as a numpy object array of mpf."""
    if isinstance(value, np.ndarray) and value.dtype == object and value.ndim == 0:
        return value.item()
    arr = np.array(value, dtype=object)
    if arr.ndim == 0:
        return _mpf(arr.item())
    out = np.empty(arr.shape, dtype=object)
    for index in np.ndindex(arr.shape):
        out[index] = _mpf(arr[index])
    return out


def _arrayish(value):
    return isinstance(value, (np.ndarray, list, tuple))


def _scalar_or_array(result):
    if isinstance(result, np.ndarray) and result.ndim == 0:
        return result.item()
    return result


def elementwise(fn):
    """``fn`` of mpf numbers, applied elementwise (with broadcasting) when an argument is an array."""
    vectorised = np.vectorize(fn, otypes=[object])

    def call(*args):
        if any(_arrayish(a) for a in args):
            return _scalar_or_array(vectorised(*[obj(a) if _arrayish(a) else a for a in args]))
        return fn(*args)

    call.__name__ = getattr(fn, "__name__", "elementwise")
    return call


def _reduction(numpy_func):
    def call(a, axis=None, dtype=None, out=None, keepdims=False):  # numpy's names
        assert dtype is None and out is None, "not in the reference"
        return _scalar_or_array(numpy_func(obj(a), axis=axis, keepdims=keepdims))

    return call


def _mean(a, axis=None, keepdims=False):
    x = obj(a)
    if not isinstance(x, np.ndarray):
        return x
    total = np.sum(x, axis=axis, keepdims=keepdims)
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    return _scalar_or_array(total / count)


def _var(a, axis=None, ddof=0, keepdims=False):
    """The mean squared deviation from the mean, over ``n - ddof``, at 50 digits."""
    x = obj(a)
    x = x if isinstance(x, np.ndarray) else np.array([x], dtype=object)
    count = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    deviation = x - np.sum(x, axis=axis, keepdims=True) / count
    return _scalar_or_array(np.sum(deviation * deviation, axis=axis, keepdims=keepdims) / (count - ddof))


def _std(a, axis=None, ddof=0, keepdims=False):
    return elementwise(mpmath.sqrt)(_var(a, axis, ddof, keepdims))


def _dot(a, b):
    a, b = obj(a), obj(b)
    if not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray):
        return a * b
    return _scalar_or_array(np.dot(a, b))


def _matmul(a, b):
    return _scalar_or_array(np.matmul(obj(a), obj(b)))


def _norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
    x = obj(x)
    if not isinstance(x, np.ndarray):
        return abs(x)
    if axis is None and not keepdims and ord in (None, 2, "fro"):
        return mpmath.sqrt(sum(v * v for v in x.ravel()))
    magnitude = elementwise(abs)(x)
    if ord in (None, 2, "fro"):
        return elementwise(mpmath.sqrt)(np.sum(x * x, axis=axis, keepdims=keepdims))
    if ord == 1:
        return _scalar_or_array(np.sum(magnitude, axis=axis, keepdims=keepdims))
    if ord in (np.inf, -np.inf):
        pick = np.max if ord == np.inf else np.min
        return _scalar_or_array(pick(magnitude, axis=axis, keepdims=keepdims))
    if isinstance(ord, str) or ord == 0 or (axis is None and x.ndim != 1) or (
            isinstance(axis, tuple) and len(axis) != 1):
        raise NotImplementedError(f"the mpmath reference has no norm ord={ord!r} axis={axis!r}")
    p = mpmath.mpf(ord)  # a vector p-norm: sum(|x|**p) ** (1/p)
    total = np.sum(elementwise(lambda v: v ** p)(magnitude), axis=axis, keepdims=keepdims)
    return _scalar_or_array(elementwise(lambda v: v ** (1 / p))(total))


def _to_mp(a):
    """A 2-D (object or float) array as an mpmath matrix."""
    return mpmath.matrix([[v for v in row] for row in obj(a)])


def _from_mp(m):
    return np.array([[m[i, j] for j in range(m.cols)] for i in range(m.rows)], dtype=object)


def _lower_symmetric(a):
    """The symmetric matrix numpy's cholesky/eigh read: ``a``'s lower triangle, mirrored."""
    a = obj(a)
    n = a.shape[0]
    return np.array([[a[max(i, j), min(i, j)] for j in range(n)] for i in range(n)], dtype=object)


def _eigh(a):
    """Eigenvalues (ascending) and eigenvectors (columns) at 50 digits (signs as mpmath picks
    them: compare only what does not depend on them)."""
    values, vectors = mpmath.eigsy(_to_mp(_lower_symmetric(a)))
    order = sorted(range(len(values)), key=lambda i: values[i])
    w = np.array([values[i] for i in order], dtype=object)
    v = _from_mp(vectors)[:, order]
    return w, v


def _pinv(a):
    """The pseudo-inverse of a full-rank matrix: (AᵀA)⁻¹Aᵀ or Aᵀ(AAᵀ)⁻¹, at 50 digits."""
    m = _to_mp(a)
    if m.rows >= m.cols:
        return _from_mp(mpmath.inverse(m.T * m) * m.T)
    return _from_mp(m.T * mpmath.inverse(m * m.T))


def _svd(a, full_matrices=True, compute_uv=True):
    assert not compute_uv, "the reference has the singular values only"
    values = mpmath.svd_r(_to_mp(a), compute_uv=False)
    return np.array(sorted((values[i] for i in range(values.rows)), reverse=True), dtype=object)


def _solved(a, b):
    b = obj(b)
    if b.ndim == 1:
        x = mpmath.lu_solve(_to_mp(a), mpmath.matrix(list(b)))
        return np.array([x[i] for i in range(len(b))], dtype=object)
    columns = [_solved(a, b[:, j]) for j in range(b.shape[1])]  # mpmath solves vectors
    return np.array(columns, dtype=object).T


def _where(cond, a=None, b=None):
    cond = np.asarray(cond, dtype=bool)
    if a is None and b is None:  # the indices of the True entries
        return np.nonzero(cond)
    return _scalar_or_array(np.where(cond, obj(a), obj(b)))


def _clip(x, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002 - numpy's names
    """``numpy.clip`` with its bounds given by position or by keyword (``a_min``/``a_max``, or
    numpy 2's ``min``/``max``)."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max

    def one(v, lo_, hi_):
        if lo_ is not None and v < lo_:
            v = lo_
        if hi_ is not None and v > hi_:
            v = hi_
        return v

    return elementwise(lambda v, lo_, hi_: one(v, lo_, hi_))(
        x, obj(lo) if lo is not None else None, obj(hi) if hi is not None else None)


def _structural(numpy_func, operands=1):
    """A numpy function that only moves (or multiplies and adds) elements: run it on object
    arrays. Its first ``operands`` arguments are arrays; the rest (shapes, axes) stay as given."""
    def call(*args, **kwargs):
        args = [obj(a) if i < operands else a for i, a in enumerate(args)]
        return _scalar_or_array(numpy_func(*args, **kwargs))

    return call


class _IndexJoin:
    """``np.r_`` / ``np.c_`` over object arrays of mpf (slices and strings passed as they are)."""

    def __init__(self, numpy_object):
        self.numpy_object = numpy_object

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        items = tuple(v if isinstance(v, (slice, str)) else obj(v) for v in items)
        return self.numpy_object[items if isinstance(key, tuple) else items[0]]


def _join(numpy_func):
    def call(parts, axis=0):
        return numpy_func([obj(p) for p in parts], axis=axis)

    return call


def _stacked(numpy_func):
    def call(parts):
        return numpy_func([obj(p) for p in parts])

    return call


def _concrete(numpy_func):
    """Constructors (np.zeros, np.arange, ...): numpy's values, as mpf (int arrays of ints stay
    ints: they may index)."""
    def call(*args, **kwargs):
        dtype = kwargs.pop("dtype", None)
        made = numpy_func(*args, **kwargs)
        if dtype is None and np.asarray(made).dtype.kind in "iub":
            return made
        return obj(made)

    return call


def _like(fill):
    def call(x, dtype=None):
        return obj(np.full(np.shape(x), fill, dtype=float))

    return call


def _array(value, dtype=None):
    concrete = np.asarray(value) if dtype is None else None
    if concrete is not None and concrete.dtype.kind in "iub":
        return concrete  # ints and bools stay so, as in numpy (they may index)
    return obj(value)


class _Shim(types.SimpleNamespace):
    """A module stand-in: a name it lacks is an error (never silently numpy's float version)."""

    def __getattr__(self, name):
        raise AttributeError(f"the mpmath reference has no numpy.{name}; add it to tests/reference.py")


def _np_round(x, decimals=0):
    """``numpy.round``: half to even, at ``decimals`` digits (its derivative is zero)."""
    scale = mpmath.mpf(10) ** decimals
    return elementwise(lambda v: mpmath.nint(v * scale) / scale)(x)


def _np_trunc(v):
    return mpmath.floor(v) if v >= 0 else mpmath.ceil(v)


_E = elementwise


def _add():
    """``numpy.add`` over mpf, with ``numpy.add.at`` (in place, a repeated index adding each value)."""
    add = _E(lambda a, b: a + b)

    def at(a, indices, values):
        np.add.at(a, indices if not isinstance(indices, list) else np.asarray(indices), obj(values))

    add.at = at
    return add


NUMPY = _Shim(
    sin=_E(mpmath.sin), cos=_E(mpmath.cos), tan=_E(mpmath.tan), arcsin=_E(mpmath.asin),
    arccos=_E(mpmath.acos), arctan=_E(mpmath.atan), arctan2=_E(mpmath.atan2),
    sinh=_E(mpmath.sinh), cosh=_E(mpmath.cosh), tanh=_E(mpmath.tanh), arcsinh=_E(mpmath.asinh),
    arccosh=_E(mpmath.acosh), arctanh=_E(mpmath.atanh), exp=_E(mpmath.exp),
    expm1=_E(mpmath.expm1), exp2=_E(lambda x: mpmath.power(2, x)), log=_E(mpmath.log),
    log1p=_E(mpmath.log1p), log2=_E(lambda x: mpmath.log(x, 2)), log10=_E(mpmath.log10),
    logaddexp=_E(lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b))),
    logaddexp2=_E(lambda a, b: mpmath.log(mpmath.power(2, a) + mpmath.power(2, b), 2)),
    sqrt=_E(mpmath.sqrt), cbrt=_E(_cbrt), square=_E(lambda x: x * x),
    reciprocal=_E(lambda x: 1 / x), power=_E(lambda x, y: mpmath.power(x, y)),
    float_power=_E(lambda x, y: mpmath.power(x, y)), hypot=_E(_hypot), abs=_E(abs),
    absolute=_E(abs), fabs=_E(abs), sign=_E(mpmath.sign),
    add=_add(), subtract=_E(lambda a, b: a - b),
    multiply=_E(lambda a, b: a * b), divide=_E(lambda a, b: a / b), negative=_E(lambda a: -a),
    deg2rad=_E(lambda x: x * mpmath.pi / 180), rad2deg=_E(lambda x: x * 180 / mpmath.pi),
    radians=_E(lambda x: x * mpmath.pi / 180), degrees=_E(lambda x: x * 180 / mpmath.pi),
    true_divide=_E(lambda a, b: a / b), positive=_E(lambda a: +a),
    floor=_E(_floor), ceil=_E(_ceil), trunc=_E(_np_trunc), rint=_E(mpmath.nint),
    round=_np_round, around=_np_round, copysign=_E(_copysign),
    fmax=_E(max), fmin=_E(min),
    maximum=_E(max), minimum=_E(min),
    clip=_clip, where=_where,
    sum=_reduction(np.sum), prod=_reduction(np.prod), max=_reduction(np.max),
    amax=_reduction(np.max), min=_reduction(np.min), amin=_reduction(np.min), mean=_mean,
    var=_var, std=_std,
    einsum=lambda spec, *ops: _scalar_or_array(np.einsum(spec, *[obj(o) for o in ops])),
    tensordot=lambda a, b, axes=2: _scalar_or_array(np.tensordot(obj(a), obj(b), axes)),
    **{name: _structural(getattr(np, name)) for name in (
        "squeeze", "expand_dims", "atleast_1d", "atleast_2d", "atleast_3d", "flip", "diff",
        "swapaxes", "moveaxis", "diag", "trace", "tril", "triu", "repeat", "tile", "cumsum",
        "roll", "kron", "cross", "pad", "flipud", "fliplr", "rot90", "diagonal", "split",
        "array_split", "real", "conj")},
    append=_structural(np.append, 2), r_=_IndexJoin(np.r_), c_=_IndexJoin(np.c_), imag=lambda v: np.zeros(np.shape(v), dtype=object) + mpmath.mpf(0),
    take=lambda a, indices, axis=None: _scalar_or_array(np.take(obj(a), indices, axis=axis)),
    take_along_axis=lambda a, indices, axis: np.take_along_axis(obj(a), np.asarray(indices), axis),
    argsort=lambda a, axis=-1: np.argsort(np.asarray(obj(a), dtype=object), axis=axis),
    sort=lambda a, axis=-1: np.sort(obj(a), axis=axis),
    mod=_E(lambda a, b: a - b * mpmath.floor(a / b)), remainder=_E(lambda a, b: a - b * mpmath.floor(a / b)),
    floor_divide=_E(lambda a, b: mpmath.floor(a / b)),
    dot=_dot, matmul=_matmul, inner=_structural(np.inner, 2), outer=_structural(np.outer, 2),
    linalg=_Shim(norm=_norm, inv=lambda a: _from_mp(mpmath.inverse(_to_mp(a))),
                 det=lambda a: mpmath.det(_to_mp(a)),
                 solve=lambda a, b: _solved(a, b),
                 slogdet=lambda a: (mpmath.sign(mpmath.det(_to_mp(a))), mpmath.log(abs(mpmath.det(_to_mp(a))))),
                 cholesky=lambda a: _from_mp(mpmath.cholesky(_to_mp(_lower_symmetric(a)))),
                 eigh=lambda a: _eigh(a), pinv=_pinv, svd=_svd),
    transpose=_structural(np.transpose), reshape=_structural(np.reshape),
    ravel=_structural(np.ravel), concatenate=_join(np.concatenate), stack=_join(np.stack),
    hstack=_stacked(np.hstack), vstack=_stacked(np.vstack), array=_array, asarray=_array,
    copy=lambda a: obj(a), nonzero=lambda a: np.nonzero(np.asarray(a, dtype=bool)),
    zeros_like=_like(0.0), ones_like=_like(1.0), zeros=_concrete(np.zeros),
    ones=_concrete(np.ones), full=_concrete(np.full), arange=_concrete(np.arange),
    linspace=_concrete(np.linspace), eye=_concrete(np.eye), shape=np.shape, size=np.size,
    ndim=np.ndim, newaxis=None, pi=mpmath.pi, e=mpmath.e, inf=np.inf,
)

try:
    import scipy as _scipy
    import scipy.special as _scipy_special
except ImportError:  # scipy is a test extra; without it the scipy tests skip
    _scipy = _scipy_special = None


def _xlogy(x, y):
    return mpmath.mpf(0) if x == 0 else x * mpmath.log(y)


def _logsumexp(a, axis=None, b=None, keepdims=False):
    """log(sum(b*exp(a))) at 50 digits (no shift needed: mpmath does not overflow)."""
    terms = elementwise(mpmath.exp)(obj(a))
    if b is not None:
        terms = terms * obj(b)
    total = np.sum(terms, axis=axis, keepdims=keepdims)
    return elementwise(mpmath.log)(total) if np.ndim(total) else mpmath.log(total)


def _log_softmax(x, axis=None):
    return obj(x) - _logsumexp(x, axis=axis, keepdims=True)


def _softmax(x, axis=None):
    return elementwise(mpmath.exp)(_log_softmax(x, axis))


SCIPY_SPECIAL = _Shim(
    logsumexp=_logsumexp, log_softmax=_log_softmax, softmax=_softmax,
    expit=_E(lambda x: 1 / (1 + mpmath.exp(-x))), logit=_E(lambda p: mpmath.log(p / (1 - p))),
    erf=_E(mpmath.erf), erfc=_E(mpmath.erfc), erfinv=_E(mpmath.erfinv),
    erfcinv=_E(lambda y: mpmath.erfinv(1 - y)), ndtr=_E(mpmath.ncdf),
    log_ndtr=_E(lambda x: mpmath.log(mpmath.ncdf(x))), gammaln=_E(lambda x: mpmath.log(abs(mpmath.gamma(x)))),
    gamma=_E(mpmath.gamma), psi=_E(mpmath.digamma), digamma=_E(mpmath.digamma),
    polygamma=_E(lambda n, x: mpmath.psi(int(n), x)), xlogy=_E(_xlogy),
    xlog1py=_E(lambda x, y: mpmath.mpf(0) if x == 0 else x * mpmath.log1p(y)),
    i0=_E(lambda x: mpmath.besseli(0, x)), i1=_E(lambda x: mpmath.besseli(1, x)),
    beta=_E(mpmath.beta), betaln=_E(lambda a, b: mpmath.log(mpmath.beta(a, b))),
)


def _standard(fn):
    """A scipy.stats.norm method over mpmath: ``fn(z)`` of z = (x - loc) / scale, and the
    density's 1/scale for pdf / logpdf."""
    def method(x, loc=0.0, scale=1.0):
        return elementwise(lambda v, m, s: fn((v - m) / s, s))(x, _mpf(loc), _mpf(scale))

    return method


SCIPY_STATS_NORM = _Shim(
    pdf=_standard(lambda z, s: mpmath.npdf(z) / s), logpdf=_standard(lambda z, s: mpmath.log(mpmath.npdf(z) / s)),
    cdf=_standard(lambda z, s: mpmath.ncdf(z)), logcdf=_standard(lambda z, s: mpmath.log(mpmath.ncdf(z))),
    sf=_standard(lambda z, s: 1 - mpmath.ncdf(z)), logsf=_standard(lambda z, s: mpmath.log(1 - mpmath.ncdf(z))),
)

_BY_OBJECT = {}
for _shim, _module in ((MATH, math), (NUMPY, np), (SCIPY_SPECIAL, _scipy_special)):
    if _module is None:
        continue
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
    call.__wrapped__ = f  # inspect.signature(call): f's parameters
    return call


def _mp_gradient(fun, wrt=None, with_value=False, names=None):
    """``symdiff.grad(fun, wrt)`` (or ``value_and_grad``) inside a re-executed function:
    ``mpmath.diff`` of ``fun`` (already over mpmath), component by component — nested in the
    outer ``mpmath.diff``, never symdiff's own derivative."""
    params = list(inspect.signature(fun).parameters.values())
    if names is None and any(p.kind is p.VAR_POSITIONAL for p in params):
        names = None  # a shimmed numpy/math function (*args): every argument, as the call gives them
    else:
        names = names or [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    defaults = {p.name: p.default for p in params if p.default is not p.empty}

    def call(*args, **kwargs):
        if kwargs or (names and len(args) < len(names)):  # bound by name, defaults filled
            args = tuple(args) + tuple(kwargs.get(n, defaults.get(n)) for n in names[len(args):])
        every = names or [f"x{i}" for i in range(len(args))]
        chosen = every if wrt is None else [wrt] if isinstance(wrt, (str, int)) else list(wrt)
        positions = [every.index(w) if isinstance(w, str) else w % len(every) for w in chosen]
        single = len(positions) == 1
        point = list(args)
        grads = []
        for i in positions:
            parts = {index: mpmath.diff(lambda t, i=i, index=index: as_scalar(
                _call(fun, point, [(i, index, t)])), _at(point[i], index))
                for index in _components(point[i])}
            grads.append(_assembled(point[i], parts))
        gradient = grads[0] if single else tuple(grads)
        return (fun(*args), gradient) if with_value else gradient

    if names is not None:  # a gradient of it (grad(grad(f))) reads the same parameters
        call.__signature__ = inspect.Signature(
            [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               default=defaults.get(n, inspect.Parameter.empty)) for n in names])
    return call


def _is_symdiff(value, *names):
    return getattr(value, "__module__", None) == "symdiff.api" and getattr(value, "__name__", None) in names


def _shim_value(value):
    if _is_symdiff(value, "grad"):
        return _mp_gradient
    if _is_symdiff(value, "value_and_grad"):
        return lambda fun, wrt=None: _mp_gradient(fun, wrt, with_value=True)
    if type(value).__name__ == "Gradient" and type(value).__module__ == "symdiff.api":
        return _mp_gradient(_lazy_mp(value.fun), list(value.wrt), value.returns_value,
                            list(inspect.signature(value.fun).parameters))
    if value is math:
        return MATH
    if value is np:
        return NUMPY
    if _scipy_special is not None and value is _scipy_special:
        return SCIPY_SPECIAL
    if _scipy_special is not None and value is _scipy:  # ``import scipy.special``: scipy.special.f
        return _Shim(special=SCIPY_SPECIAL, stats=_Shim(norm=SCIPY_STATS_NORM))
    stats = sys.modules.get("scipy.stats")
    if stats is not None and value is stats:
        return _Shim(norm=SCIPY_STATS_NORM)
    if stats is not None and value is stats.norm:
        return SCIPY_STATS_NORM
    if isinstance(value, types.ModuleType) and _is_user_function_module(value):
        return _ShimmedModule(value)
    if callable(value) and id(value) in _BY_OBJECT:
        return _BY_OBJECT[id(value)]
    if _is_user_function(value):
        return _lazy_mp(value)
    if isinstance(value, float):
        return mpmath.mpf(value)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return obj(value)
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
    if f.__name__ == "<lambda>":  # its source is the line around it: compile the lambda alone
        lam = next(n for n in ast.walk(tree) if isinstance(n, ast.Lambda))
        tree = ast.fix_missing_locations(ast.Module(
            [ast.Assign([ast.Name("__ref_lambda__", ast.Store())], lam)], type_ignores=[]))
        exec(compile(tree, "<reference>", "exec"), namespace)
        return namespace["__ref_lambda__"]
    exec(compile(tree, "<reference>", "exec"), namespace)
    return namespace[f.__name__]


def _positions(f, args, wrt):
    params = list(inspect.signature(f).parameters)
    if wrt is None:
        return list(range(len(args)))
    wrt = (wrt,) if isinstance(wrt, (str, int)) else wrt
    return [w % len(args) if isinstance(w, int) else params.index(w) for w in wrt]


def _is_container(value):
    """A list or tuple holding arrays or containers, or a dict: a container of leaves (pytree)."""
    return isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(
        isinstance(v, (np.ndarray, list, tuple, dict)) for v in value))


def _converted(a, differentiated):
    if isinstance(a, bool):
        return a
    if isinstance(a, (float, np.floating)) or (isinstance(a, (int, np.integer)) and differentiated):
        return mpmath.mpf(a)
    if isinstance(a, np.ndarray) and (a.dtype.kind == "f" or differentiated):
        return obj(a)
    if _is_container(a):
        if isinstance(a, dict):
            return {k: _converted(v, differentiated) for k, v in a.items()}
        return type(a)(_converted(v, differentiated) for v in a)
    if isinstance(a, list):
        return [_mpf(v) for v in a]
    if isinstance(a, tuple):
        return tuple(_mpf(v) for v in a)
    return a


def _point(args, positions):
    """The arguments over mpmath: floats (and differentiated ints) as mpf, arrays as object
    arrays, containers of arrays (lists, tuples, dicts) container by container."""
    return [_converted(a, i in positions) for i, a in enumerate(args)]


class _Path(tuple):
    """The index of a number inside a container argument: the keys down to its leaf, then the
    leaf's own index (``None`` for a number)."""


def _components(value):
    """The indices of a differentiated argument's numbers (``None`` for a number; a ``_Path``
    inside a container, its leaves in order: dicts in key order, as symdiff flattens them)."""
    if _is_container(value):
        keys = list(value) if isinstance(value, dict) else range(len(value))
        return [_Path((k,) + (tuple(sub) if isinstance(sub, _Path) else (sub,)))
                for k in keys for sub in _components(value[k])]
    if isinstance(value, np.ndarray):
        return list(np.ndindex(value.shape))
    if isinstance(value, (list, tuple)):
        return list(range(len(value)))
    return [None]


def _inner(index):
    """The leaf's own index at the end of a path (a ``_Path`` again if it goes deeper)."""
    return index[0] if len(index) == 1 else _Path(index)


def _at(value, index):
    """The number of ``value`` at ``index``."""
    if index is None:
        return value
    if isinstance(index, _Path):
        return _at(value[index[0]], _inner(index[1:]))
    return value[index]


def _moved(value, index, t):
    """A copy of ``value`` with the number at ``index`` replaced by ``t``."""
    if index is None:
        return t
    if isinstance(index, _Path):
        key, rest = index[0], _inner(index[1:])
        out = dict(value) if isinstance(value, dict) else list(value)
        out[key] = _moved(value[key], rest, t)
        return out if isinstance(value, (dict, list)) else type(value)(out)
    if isinstance(value, np.ndarray):
        out = value.copy()
        out[index] = t
        return out
    out = list(value)
    out[index] = t
    return type(value)(out)


def _assembled(value, parts):
    """The derivatives ``parts`` (index -> mpf) in the shape of the argument ``value``: a number,
    an object array, or the same container of those."""
    if list(parts) == [None]:
        return parts[None]
    if _is_container(value):
        keys = list(value) if isinstance(value, dict) else range(len(value))
        inner = {k: {_inner(index[1:]): d for index, d in parts.items() if index[0] == k} for k in keys}
        built = [_assembled(value[k], inner[k]) for k in keys]
        return dict(zip(keys, built)) if isinstance(value, dict) else type(value)(built)
    out = np.empty(np.shape(value), dtype=object)
    for index, d in parts.items():
        out[index] = d
    return out


def _columns(point, positions):
    """Every differentiated number, in order: (argument position, index, value)."""
    return [(i, index, _at(point[i], index))
            for i in positions for index in _components(point[i])]


def _call(g, point, moves):
    """``g`` at ``point`` with the numbers in ``moves`` (``[(position, index, t)]``) moved."""
    moved = list(point)
    for i, index, t in moves:
        moved[i] = _moved(moved[i], index, t)
    return g(*moved)


def as_scalar(value):
    """A function's value as one mpf (a 0-d or one-element object array is unwrapped)."""
    if isinstance(value, np.ndarray):
        assert value.size == 1, f"expected one number, got shape {value.shape}"
        value = value.reshape(()).item()
    assert isinstance(value, (mpmath.mpf, int, float)), f"expected a number, got {type(value)}"
    return value


def flat_outputs(value):
    """A function's outputs (a number, a tuple/list of numbers or arrays, an array) as a flat list."""
    if isinstance(value, (tuple, list)):
        return [v for part in value for v in flat_outputs(part)]
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    return [value]


def leaves(value):
    """A result's numbers in order: containers flattened (dicts in key order), arrays raveled."""
    if isinstance(value, dict):
        return [x for k in value for x in leaves(value[k])]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in leaves(v)]
    return list(np.ravel(np.asarray(value, dtype=object)))


def mp_value(f, args, wrt=None, dps=DPS):
    """``f(*args)`` over mpmath at 50 digits (or ``dps``), as the function returns it."""
    with mpmath.workdps(dps):
        return mp_function(f)(*_point(args, _positions(f, args, wrt)))


def mp_grad(f, args, wrt=None, direction=0, fine=False):
    """d f / d args[i] for each differentiated position, as mpmath numbers at 50 digits.

    For a list, tuple or array argument: an object array of the argument's shape whose every
    component is ``mpmath.diff`` of ``f`` with that one number moved. ``direction``: 0 for the
    central difference, +1 / -1 for the one-sided derivative from the right / left (at a kink).
    ``fine``: a step of 1e-400 with 1,400 more digits (slow), for a function whose scale the
    default step does not resolve (``(0.4 - x * 1e310) ** 2`` at 0: the default step sees the
    square of 1e280 on both sides and returns 0).
    """
    options = {"h": mpmath.mpf("1e-400"), "addprec": 1400} if fine else {}
    positions = _positions(f, args, wrt)
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)
        result = []
        for i in positions:
            parts = {}
            for index in _components(point[i]):
                parts[index] = mpmath.diff(
                    lambda t, i=i, index=index: as_scalar(_call(g, point, [(i, index, t)])),
                    _at(point[i], index), direction=direction, **options)
            result.append(_assembled(point[i], parts))
        return result


def mp_jacobian(f, args, wrt=None, direction=0):
    """The Jacobian over mpmath: rows are ``f``'s outputs flattened (a tuple/list/array),
    columns the differentiated numbers (array and list arguments flattened in order).
    ``direction``: as for ``mp_grad`` (one-sided derivatives at a kink)."""
    positions = _positions(f, args, wrt)
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)
        n_out = len(flat_outputs(g(*point)))
        columns = []
        for i, index, x0 in _columns(point, positions):
            cache = {}

            def outputs(t, i=i, index=index, cache=cache):
                key = (mpmath.mp.prec, t)
                if key not in cache:
                    cache[key] = flat_outputs(_call(g, point, [(i, index, t)]))
                return cache[key]

            columns.append([mpmath.diff(lambda t, k=k: outputs(t)[k], x0, direction=direction)
                            for k in range(n_out)])
        return [[columns[c][r] for c in range(len(columns))] for r in range(n_out)]


def mp_directional(f, args, tangents, wrt=None):
    """The directional derivative d/dt f(x + t v) at t = 0 over mpmath, as a flat list of the
    outputs (``tangents``: one per differentiated position, each of its argument's shape) — the
    definition of a Jacobian-vector product, sharing nothing with how one is computed."""
    positions = _positions(f, args, wrt)
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)
        directions = dict(zip(positions, (obj(v) for v in tangents)))
        cache = {}

        def outputs(t):
            key = (mpmath.mp.prec, t)
            if key not in cache:
                moved = list(point)
                for i, v in directions.items():
                    base = point[i]
                    if isinstance(base, (list, tuple)):
                        moved[i] = type(base)(b + d * t for b, d in zip(base, v))
                    else:
                        moved[i] = base + v * t
                cache[key] = flat_outputs(g(*moved))
            return cache[key]

        n_out = len(outputs(mpmath.mpf(0)))
        return [mpmath.diff(lambda t, k=k: outputs(t)[k], mpmath.mpf(0)) for k in range(n_out)]


def mp_hessian(f, args, wrt=None):
    """The Hessian of a scalar ``f`` over mpmath: mixed partials by ``mpmath.diff``, the
    differentiated numbers flattened in order."""
    positions = _positions(f, args, wrt)
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)
        columns = _columns(point, positions)
        x0 = [c[2] for c in columns]

        def F(*ts):
            return as_scalar(_call(g, point, [(i, index, t) for (i, index, _), t in zip(columns, ts)]))

        n = len(columns)
        out = [[None] * n for _ in range(n)]
        for r in range(n):
            for c in range(r, n):
                orders = [0] * n
                orders[r] += 1
                orders[c] += 1
                out[r][c] = out[c][r] = mpmath.diff(F, x0, orders)
        return out


def mp_hessian_vector(f, args, vector, wrt=None):
    """``H @ vector`` for a scalar ``f`` over mpmath: component ``c`` is the mixed partial
    d/ds d/dt f(x + s e_c + t vector) at s = t = 0 (one ``mpmath.diff`` per component, not the
    whole Hessian). ``vector`` has one number per differentiated number (flattened in order).
    Returns a flat list of mpf."""
    positions = _positions(f, args, wrt)
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)
        columns = _columns(point, positions)
        vector = [mpmath.mpf(float(v)) for v in np.ravel(np.asarray(vector, dtype=object))]
        assert len(vector) == len(columns), (len(vector), len(columns))

        def F(s, t, c):
            moves = []
            for k, ((i, index, x0), v) in enumerate(zip(columns, vector)):
                moves.append((i, index, x0 + t * v + (s if k == c else 0)))
            return as_scalar(_call(g, point, moves))

        return [mpmath.diff(lambda s, t, c=c: F(s, t, c), (0, 0), (1, 1)) for c in range(len(columns))]


def mp_partial(f, args, sequence):
    """The partial derivative of a scalar ``f`` taken once per name (or position) in
    ``sequence``, in that order (``("x", "x", "y")``: d^3 f / dx^2 dy), as one mpf at 50 digits:
    ``mpmath.diff`` with each differentiated number's total order (other arguments fixed)."""
    params = list(inspect.signature(f).parameters)
    positions = sorted({params.index(w) if isinstance(w, str) else w % len(args) for w in sequence})
    orders = [sum(1 for w in sequence
                  if (params.index(w) if isinstance(w, str) else w % len(args)) == i)
              for i in positions]
    with mpmath.workdps(DPS):
        g = mp_function(f)
        point = _point(args, positions)

        def F(*ts):
            return as_scalar(_call(g, point, [(i, None, t) for i, t in zip(positions, ts)]))

        return mpmath.diff(F, [point[i] for i in positions], orders)


def close(actual, expected, rtol=1e-12, atol=1e-12):
    """``actual`` (a float) equals the mpmath ``expected`` to ``rtol`` relative."""
    expected = float(expected)
    return abs(actual - expected) <= atol + rtol * abs(expected)


def close_array(actual, expected, rtol=1e-10, atol=1e-12):
    """Every component of ``actual`` (floats) equals the mpmath ``expected`` to ``rtol`` relative
    (``atol``: a floor for components that are zero or nearly). Returns the failures as text."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=object)
    if actual.shape != expected.shape:
        return [f"shape {actual.shape} != {expected.shape}"]
    bad = []
    for index in np.ndindex(actual.shape):
        want = float(expected[index])
        got = actual[index]
        if not abs(got - want) <= atol + rtol * abs(want):
            bad.append(f"{index}: got {got!r}, want {want!r}")
    return bad
