"""numpy_calls: the tracer's handling of numpy's structural functions and array methods.

Takes: a call found in the user's code (``np.sum(x, axis=0)``, ``x.reshape(3, 2)``, ``A @ b``) with
its evaluated arguments. Returns: the value — an ``ArrayOp`` result (emitted as its own statement by
the tracer), an elementwise SymPy expression (``np.where``, ``np.clip``, ``np.mean`` as sum/n), or a
concrete numpy array (``np.zeros(3)``). Elementwise ufuncs are in ``scalar.py``, not here.

Every entry binds its arguments like the real function (``signatures.bind``: numpy's own signature
for functions, a stub's for array methods), so ``np.clip(x, a_min=0.1, a_max=1.1)`` and
``x.sum(axis=0)`` mean what they mean in numpy; a parameter symdiff does not implement, given
anything but its default, is a located error. A handler is ``handler(tracer, node, p, name)``,
``p`` the bound ``{parameter: value}``; an entry is called ``entry(tracer, node, args, kwargs)``.
Each function and each array method is one ``registry`` record of kind "array" (its entry the
handler; a method's record says ``method=("array", name)``).
"""

import numpy as np
import sympy

from . import arrays, registry
from .registry import Primitive
from ..errors import ShapeError, SymdiffError, UnsupportedSyntaxError
from ..frontend import masks
from ..frontend.parse import located
from .sympy_functions import NormRoot, PNormRoot
from ..frontend.signatures import bind, method_signature, signature_of, unsupported

_NO_VALUE = getattr(np, "_NoValue", None)


class _Entry:
    """One numpy function or array method: its signature, what symdiff supports of it, the handler."""

    def __init__(self, name, signature, supported, handler, raw=False):
        self.name = name
        self.signature = signature
        self.supported = tuple(supported)
        self.handler = handler
        self.raw = raw  # the handler takes the call's own args and kwargs (numpy runs it)

    def __call__(self, tracer, node, args, kwargs):
        p = bind(tracer, node, self.name, self.signature, args, kwargs, self.supported)
        masked = [v for v in p.values() if isinstance(v, (masks.MaskedValues, masks.MaskIndex))]
        if masked:  # x[x > 0]: only summed (see frontend.masks)
            return _masked_reduction(self, tracer, node, p, masked[0])
        if self.raw:
            return self.handler(tracer, node, args, kwargs, self.name)
        return self.handler(tracer, node, p, self.name)


def _masked_reduction(entry, tracer, node, p, masked):
    """``np.sum(x[mask])``, ``x[mask].sum()``: the sum of ``np.where(mask, x, 0)``; ``np.mean``
    divides by the number of True entries (numpy's nan, with a warning, where there is none)."""
    axis, keep = p.get("axis"), p.get("keepdims", False)
    plain = p["a"] is masked and axis in (None, 0, -1, _NO_VALUE) and keep in (False, None, _NO_VALUE)
    if entry.handler not in (_sum, _mean) or not isinstance(masked, masks.MaskedValues) or not plain:
        raise masked.refusal(node)
    zero = sympy.Integer(0)
    kept = _where(tracer, node, {"condition": masked.mask, "x": masked.full, "y": zero}, "np.where")
    total = _sum(tracer, node, {"a": kept, "axis": None}, "np.sum")
    if entry.handler is _sum:
        return total
    one = sympy.Integer(1)
    count = _sum(tracer, node, {"a": _where(tracer, node, {"condition": masked.mask, "x": one, "y": zero},
                                            "np.where"), "axis": None}, "np.sum")
    return tracer.atom(total, "total") / tracer.atom(count, "count")


def _function(func, name, supported, handler, raw=False):
    return _Entry(name, signature_of(func), supported, handler, raw)


def _check_axis(tracer, node, name, axis, shape):
    """``axis`` (an int, a tuple of ints or None) must name axes ``shape`` has, each once."""
    if axis is None:
        return
    axes = axis if isinstance(axis, tuple) else (axis,)
    ndim = len(shape)
    bad = [a for a in axes if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim]
    if bad or len({a % ndim for a in axes}) != len(axes):
        what = f"axis {bad[0]!r} is out of bounds" if bad else f"axis {axis!r} repeats an axis"
        raise located(ShapeError, f"{name}: {what} for an array of shape {shape}",
                      tracer.frame.parsed, node, hint="use an axis the array has")


# ---- reductions ----
def _keepdims(tracer, node, name, p):
    """The ``keepdims`` argument: False unless given True (a concrete bool)."""
    keep = p.get("keepdims", False)
    if keep is _NO_VALUE or keep is None:
        return False
    if tracer.is_symbolic(keep) or not isinstance(keep, (bool, np.bool_, int)):
        raise located(SymdiffError, f"{name}: keepdims must be True or False",
                      tracer.frame.parsed, node, hint="pass keepdims=True or keepdims=False")
    return bool(keep)


def _kept(tracer, result, shape, axes):
    """``result`` of reducing an array of ``shape`` over ``axes`` (None: all), with the reduced
    axes kept as length 1 (``keepdims=True``): a reshape of it."""
    kept = tuple(1 if axes is None or i in axes else n for i, n in enumerate(shape))
    return tracer.array_op(arrays.Reshape.make(tracer.atom(result, "x"), shape=kept), "reshape")


def _reduce(op):
    def handler(tracer, node, p, name):
        x, axis = tracer.as_number(p["a"]), p["axis"]
        keep = _keepdims(tracer, node, name, p)
        if not tracer.is_array(x):
            if isinstance(x, np.ndarray):  # a concrete array: numpy computes it now
                return getattr(np, op.printed)(x, axis=axis, keepdims=keep)
            if not isinstance(x, (tuple, list)):
                return _reduced_number(tracer, node, name, x, axis)
            if axis is not None or keep or any(tracer.shape(v) or isinstance(v, (tuple, list)) for v in x):
                x = tracer.as_array(x, node)  # rows of arrays: reduced as numpy reduces them
            else:  # numbers: one expression
                items = [tracer.as_value(v, node) for v in x]
                return _SCALAR_REDUCTIONS[op](*items)
        shape = tracer.shape(x)
        _check_axis(tracer, node, name, axis, shape)
        axes = arrays._normal_axes(axis, len(shape))
        out_shape = arrays.reduced_shape(shape, axes)
        result = tracer.array_op(op.make(tracer.atom(x, "x"), axis=axes, shape=tuple(out_shape)), op.printed)
        return _kept(tracer, result, shape, axes) if keep else result

    return handler


def _reduced_number(tracer, node, name, x, axis):
    """A reduction of a number is the number. With an ``axis`` numpy refuses it (no axis of a
    0-d value): before any call, when parameters are guessed to be numbers, that says the
    parameter is an array (trace at the call, ``check_guess``); at a call, a located error."""
    if axis is not None:
        tracer.check_guess(x)
        _check_axis(tracer, node, name, axis, ())
    tracer.require_number(x, node)
    return x


_SCALAR_REDUCTIONS = {
    arrays.ArraySum: sympy.Add, arrays.ArrayProd: sympy.Mul,
    arrays.ArrayMax: sympy.Max, arrays.ArrayMin: sympy.Min,
}
_sum = _reduce(arrays.ArraySum)


def _mean(tracer, node, p, name):
    x, axis = tracer.as_number(p["a"]), p["axis"]
    keep = _keepdims(tracer, node, name, p)
    if isinstance(x, np.ndarray):  # a concrete array: numpy computes it now
        return np.mean(x, axis=axis, keepdims=keep)
    if isinstance(x, (tuple, list)):
        if axis is not None or keep or any(tracer.shape(v) or isinstance(v, (tuple, list)) for v in x):
            x = tracer.as_array(x, node)
        else:
            return sympy.Add(*[tracer.as_value(v, node) for v in x]) / len(x)
    if not tracer.is_array(x):
        return _reduced_number(tracer, node, name, x, axis)
    shape = tracer.shape(x)
    _check_axis(tracer, node, name, axis, shape)
    axes = arrays._normal_axes(axis, len(shape))
    count = int(np.prod([shape[a] for a in (axes if axes is not None else range(len(shape)))]))
    return _sum(tracer, node, {"a": x, "axis": axis, "keepdims": keep}, name) / count


def _var(tracer, node, p, name, root=False):
    """``np.var(a, axis, ddof, keepdims)`` as numpy computes it: the mean (kept dimensions),
    the deviations, their squares ``d*d``, their sum over the axes, divided by ``n - ddof``.
    ``np.std`` is its square root: a sum of squares (at a constant array the subgradient 0, as
    for a norm at 0, not 0 * inf = nan)."""
    x, axis, ddof = p["a"], p["axis"], p.get("ddof", 0)
    keep = _keepdims(tracer, node, name, p)
    if tracer.is_symbolic(ddof) or not isinstance(ddof, (int, float, np.integer, np.floating)) \
            or not float(ddof).is_integer():
        raise located(SymdiffError, f"{name}: ddof must be a whole number known when symdiff "
                      "reads the function", tracer.frame.parsed, node, hint="pass ddof=0 or ddof=1")
    ddof = int(ddof)
    if isinstance(x, np.ndarray):
        return (np.std if root else np.var)(x, axis=axis, ddof=ddof, keepdims=keep)
    x = tracer.as_array(x, node) if isinstance(x, (tuple, list)) else x
    if not tracer.is_array(x):
        tracer.check_guess(x)  # a parameter assumed a number before the first call
        tracer.require_number(x, node)
        _reduced_number(tracer, node, name, x, axis)
        x = tracer.as_array([x], node)  # numpy: the variance of one number (0.0, or nan with ddof)
    shape = tracer.shape(x)
    _check_axis(tracer, node, name, axis, shape)
    axes = arrays._normal_axes(axis, len(shape))
    count = int(np.prod([shape[a] for a in (axes if axes is not None else range(len(shape)))]))
    # the mean with the reduced axes kept (a number when all are: it broadcasts the same)
    mean = _sum(tracer, node, {"a": x, "axis": axis, "keepdims": axis is not None}, name) / count
    deviation = tracer.atom(tracer.keep_shape(x - tracer.atom(mean, "mean"), x), "deviation")
    total = _sum(tracer, node, {"a": deviation * deviation, "axis": axis, "keepdims": keep}, name)
    if count - ddof <= 0:
        raise located(SymdiffError, f"{name} with ddof={ddof} of {count} numbers divides by "
                      f"{count - ddof} (numpy gives nan or inf and warns)", tracer.frame.parsed,
                      node, hint="use a ddof smaller than the number of elements")
    variance = total / (count - ddof)
    if not root:
        return variance
    root = sympy.sqrt(tracer.atom(variance, "var"))
    return root if tracer.is_array(variance) else tracer.as_norm(root)


def _std(tracer, node, p, name):
    return _var(tracer, node, p, name, root=True)


# ---- products ----
def _dot(tracer, node, p, name):
    return tracer.matmul(p["a"], p["b"], node)


def _matmul(tracer, node, p, name):
    return tracer.matmul(p["x1"], p["x2"], node, scalars=False)


def _inner(tracer, node, p, name):
    """``np.inner(a, b)``: the sum over the last axes of ``a`` and ``b``, ``a @ b.T`` for 1-D and
    2-D operands (shape ``a.shape[:-1] + b.shape[:-1]``); a number scales the other operand."""
    a, b = tracer.as_value(p["a"], node), tracer.as_value(p["b"], node)
    sa, sb = tracer.shape(a), tracer.shape(b)
    if not sa or not sb:
        return a * b
    if len(sa) > 2 or len(sb) > 2:
        raise located(UnsupportedSyntaxError, "np.inner of arrays with more than 2 dimensions",
                      tracer.frame.parsed, node, hint="use 1-D and 2-D arrays")
    if sa[-1] != sb[-1]:
        tracer.check_guess(a)  # parameters assumed numbers before the first call
        tracer.check_guess(b)
        raise located(ShapeError, f"np.inner of shapes {sa} and {sb}: the last dimensions "
                      f"({sa[-1]} and {sb[-1]}) differ", tracer.frame.parsed, node,
                      hint="np.inner sums over the last axis of both arrays; their lengths must agree")
    if len(sb) == 2:
        b = tracer.array_op(arrays.transpose(tracer.atom(b, "b"), tracer.shapes), "transpose")
    return tracer.matmul(a, b, node)


def _outer(tracer, node, p, name):
    a, b = (tracer.as_array(p[k], node) for k in ("a", "b"))
    shape = (int(np.prod(tracer.shape(a))), int(np.prod(tracer.shape(b))))
    return tracer.array_op(arrays.Outer.make(tracer.atom(a, "a"), tracer.atom(b, "b"), shape=shape), "outer")


def _norm(tracer, node, p, name):
    """``np.linalg.norm(x, ord, axis, keepdims)``: the 2-norm (Frobenius for matrices), and with
    ``axis`` (an int) of each slice, as numpy computes it (``sqrt(sum(x*x, axis))``); ``ord`` 1,
    ``inf``, ``-inf`` of vectors and slices (sums and extremes of ``|x|``). Matrix norms other
    than Frobenius (``ord=2``, ``'nuc'``, ...) are refused."""
    x, order, axis = p["x"], p.get("ord"), p.get("axis")
    keep = _keepdims(tracer, node, name, p)
    if not tracer.is_symbolic(x):
        return np.linalg.norm(x, ord=order, axis=axis, keepdims=keep)
    x = tracer.as_array(x, node)
    shape = tracer.shape(x)
    if isinstance(axis, (tuple, list)) and len(axis) == 1:
        axis = axis[0]  # numpy: a vector norm along that axis
    if isinstance(axis, (tuple, list)) and len(axis) == 2 and order in (None, "fro") and all(
            isinstance(a, (int, np.integer)) for a in axis):
        if len(shape) < 2:
            tracer.check_guess(x)
        _check_axis(tracer, node, name, tuple(axis), shape)  # Frobenius norms of the slices
        total = _sum(tracer, node, {"a": x * x, "axis": tuple(axis), "keepdims": keep}, name)
        return sympy.sqrt(tracer.atom(total, "sum"))
    if isinstance(axis, (tuple, list)) or (axis is not None and not isinstance(axis, (int, np.integer))):
        tracer.check_guess(x)  # assumed a number before the call: wait for the call
        raise located(UnsupportedSyntaxError, f"{name} with ord={order!r}, axis={axis!r} (matrix "
                      "norms of slices)", tracer.frame.parsed, node,
                      hint="pass one int axis (vector norms of slices), or two with the Frobenius norm")
    vector = axis is not None or len(shape) == 1
    if order is None or (order == 2 and vector) or (order == "fro" and not vector):
        if axis is None and not keep:
            total = _sum(tracer, node, {"a": x * x, "axis": None}, name)
            return NormRoot(total)  # d||x||/dx at the zero vector: 0, not nan
        total = _sum(tracer, node, {"a": x * x, "axis": axis, "keepdims": keep}, name)
        return sympy.sqrt(tracer.atom(total, "sum"))
    if vector and order in (1, np.inf, -np.inf):
        magnitude = sympy.Abs(x)
        if order == 1:
            return _sum(tracer, node, {"a": magnitude, "axis": axis, "keepdims": keep}, name)
        op = arrays.ArrayMax if order == np.inf else arrays.ArrayMin
        return _reduce(op)(tracer, node, {"a": magnitude, "axis": axis, "keepdims": keep}, name)
    if vector and isinstance(order, (int, float, np.integer, np.floating)) and not isinstance(
            order, bool) and order != 0 and np.isfinite(order):
        # numpy: sum(abs(x)**ord) ** (1/ord), the power of a float exponent (as numpy's 3 is)
        total = _sum(tracer, node, {"a": sympy.Abs(x) ** sympy.Float(float(order)), "axis": axis,
                                    "keepdims": keep}, name)
        return PNormRoot(tracer.atom(total, "sum"), sympy.Float(1.0 / float(order)))
    tracer.check_guess(x)  # assumed a number before the call: wait for the call
    raise located(UnsupportedSyntaxError, f"{name} with ord={order!r} of an array of shape {shape}",
                  tracer.frame.parsed, node,
                  hint="use the 2-norm/Frobenius norm, or ord=1/inf/-inf of vectors")


def _square_matrix(tracer, node, name, a):
    a = tracer.as_array(a, node)
    shape = tracer.shape(a)
    if len(shape) != 2 or shape[0] != shape[1]:
        tracer.check_guess(a)
        raise located(ShapeError, f"{name} of an array of shape {shape}: symdiff takes one square "
                      "2-D matrix", tracer.frame.parsed, node,
                      hint="pass a square matrix (stacks of matrices: a loop over them)")
    return a


def _linalg(op):
    def handler(tracer, node, p, name):
        a = p["a"]
        if isinstance(a, np.ndarray) or not tracer.is_symbolic(a):
            result = {arrays.Inv: np.linalg.inv, arrays.Det: np.linalg.det}[op](a)
            return result
        a = _square_matrix(tracer, node, name, a)
        shape = tracer.shape(a) if op is arrays.Inv else ()
        return tracer.array_op(op.make(tracer.atom(a, "A"), shape=shape), op.printed)

    return handler


def _solve(tracer, node, p, name):
    a, b = p["a"], p["b"]
    if not tracer.is_symbolic(a) and not tracer.is_symbolic(b):
        return np.linalg.solve(a, b)
    a = _square_matrix(tracer, node, name, a)
    b = tracer.as_array(b, node)
    sb = tracer.shape(b)
    if len(sb) not in (1, 2) or sb[0] != tracer.shape(a)[0]:
        tracer.check_guess(b)
        raise located(ShapeError, f"{name}: a matrix of shape {tracer.shape(a)} and b of shape {sb}",
                      tracer.frame.parsed, node, hint="b is a vector or matrix with as many rows as A")
    return tracer.array_op(arrays.Solve.make(tracer.atom(a, "A"), tracer.atom(b, "b"), shape=sb), "solve")


def _cholesky(tracer, node, p, name):
    a = p["a"]
    if not tracer.is_symbolic(a):
        return np.linalg.cholesky(a)
    a = _square_matrix(tracer, node, name, a)
    return tracer.array_op(arrays.Cholesky.make(tracer.atom(a, "A"), shape=tracer.shape(a)), "cholesky")


def _eigh(tracer, node, p, name):
    a = p["a"]
    if p.get("UPLO", "L") != "L":
        raise located(UnsupportedSyntaxError, f"{name} with UPLO={p['UPLO']!r}", tracer.frame.parsed,
                      node, hint="use the lower triangle (the default)")
    if not tracer.is_symbolic(a):
        return tuple(np.linalg.eigh(a))
    a = _square_matrix(tracer, node, name, a)
    atom, n = tracer.atom(a, "A"), tracer.shape(a)
    return (tracer.array_op(arrays.EighValues.make(atom, shape=(n[0],)), "eigenvalues"),
            tracer.array_op(arrays.EighVectors.make(atom, shape=n), "eigenvectors"))


def _matrix(tracer, node, name, a):
    a = tracer.as_array(a, node)
    if len(tracer.shape(a)) != 2:
        tracer.check_guess(a)
        raise located(ShapeError, f"{name} of an array of shape {tracer.shape(a)}: symdiff takes "
                      "one 2-D matrix", tracer.frame.parsed, node,
                      hint="pass a 2-D matrix (stacks of matrices: a loop over them)")
    return a


def _pinv(tracer, node, p, name):
    a = p["a"]
    if not tracer.is_symbolic(a):
        return np.linalg.pinv(a)
    a = _matrix(tracer, node, name, a)
    m, n = tracer.shape(a)
    return tracer.array_op(arrays.Pinv.make(tracer.atom(a, "A"), shape=(n, m)), "pinv")


def _svd(tracer, node, p, name):
    """``np.linalg.svd(A, compute_uv=False)``: the singular values; U and V are refused."""
    a = p["a"]
    if p.get("compute_uv", True):
        if not tracer.is_symbolic(a):
            return tuple(np.linalg.svd(a, full_matrices=p.get("full_matrices", True)))
        tracer.check_guess(a)
        raise located(UnsupportedSyntaxError, f"{name} with compute_uv=True (U, s, Vt): symdiff "
                      "differentiates the singular values only", tracer.frame.parsed, node,
                      hint="s = np.linalg.svd(A, compute_uv=False); for U and V, np.linalg.eigh of "
                      "A.T @ A or A @ A.T")
    if not tracer.is_symbolic(a):
        return np.linalg.svd(a, compute_uv=False)
    a = _matrix(tracer, node, name, a)
    k = min(tracer.shape(a))
    return tracer.array_op(arrays.SvdValues.make(tracer.atom(a, "A"), shape=(k,)), "singular_values")


def _slogdet(tracer, node, p, name):
    a = p["a"]
    if not tracer.is_symbolic(a):
        return tuple(np.linalg.slogdet(a))
    a = _square_matrix(tracer, node, name, a)
    atom = tracer.atom(a, "A")
    return (tracer.array_op(arrays.SignDet.make(atom, shape=()), "sign"),
            tracer.array_op(arrays.LogAbsDet.make(atom, shape=()), "logdet"))


def _einsum(tracer, node, args, kwargs, name):
    """``np.einsum("ij,jk->ik", a, b)``: one ``Einsum`` (numpy computes the value as written)."""
    if set(kwargs) - {"optimize"} or kwargs.get("optimize", False) not in (False, None):
        raise located(UnsupportedSyntaxError, f"{name} with {', '.join(kwargs)}=",
                      tracer.frame.parsed, node, hint="call np.einsum(subscripts, *operands)")
    if not args or not isinstance(args[0], str):
        raise located(UnsupportedSyntaxError, f"{name} without a subscripts string first",
                      tracer.frame.parsed, node, hint='write np.einsum("ij,jk->ik", a, b)')
    spec, operands = args[0], list(args[1:])
    if not any(tracer.is_symbolic(o) for o in operands):
        return np.einsum(spec, *operands)
    if "..." in spec:
        spec = _explicit_ellipsis(tracer, node, name, spec, operands)
    inputs, output = arrays.einsum_parts(spec)
    if "." in spec or any(len(set(s)) != len(s) for s in inputs) or len(inputs) != len(operands):
        raise located(UnsupportedSyntaxError, f"{name}({spec!r}): '...' or a letter twice in one "
                      "operand (a diagonal)", tracer.frame.parsed, node,
                      hint="write the diagonal with np.diag, the broadcast with explicit letters")
    operands = [tracer.as_array(o, node) for o in operands]
    return _contraction(tracer, node, name, spec, operands, None,
                        lambda *stand_ins: np.einsum(spec, *stand_ins))


def _explicit_ellipsis(tracer, node, name, spec, operands):
    """``spec`` with each ``...`` written as letters of its own (the operands' shapes are known):
    ``'...jk,...lj->...lk'`` of two (3, 4, 4) arrays is ``'ajk,alj->alk'``. Where the ``...``
    axes differ in length (a broadcast of length-1 axes) or the output is implicit, the spec is
    returned as it was (and refused)."""
    if "->" not in spec:
        return spec
    given, output = spec.replace(" ", "").split("->")
    terms = given.split(",")
    if len(terms) != len(operands):
        return spec
    shapes = [tracer.shape(o) if tracer.is_symbolic(o) else np.shape(o) for o in operands]
    spans = []
    for term, shape in zip(terms, shapes):
        explicit = len(term.replace("...", ""))
        if "..." in term and len(shape) < explicit:
            for o in operands:
                tracer.check_guess(o)  # assumed a number before the call
            return spec
        spans.append(tuple(shape[:len(shape) - explicit]) if "..." in term else None)
    lengths = {s for s in spans if s is not None}
    if len(lengths) != 1:
        return spec
    (dims,) = lengths
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in spec]
    letters = "".join(free[:len(dims)])
    return ",".join(t.replace("...", letters) for t in terms) + "->" + output.replace("...", letters)


def _contraction(tracer, node, name, spec, operands, via, numpy_call):
    try:
        shape = np.shape(numpy_call(*[np.ones(tracer.shape(o)) for o in operands]))
    except ValueError as exc:
        for o in operands:
            tracer.check_guess(o)
        raise located(ShapeError, f"{name}: {exc}", tracer.frame.parsed, node,
                      hint="make the operands' shapes agree with the subscripts") from None
    atoms = [tracer.atom(o, "x") for o in operands]
    return tracer.array_op(arrays.Einsum.make(*atoms, spec=spec, via=via, shape=tuple(shape)), "contraction")


def _tensordot(tracer, node, p, name):
    """``np.tensordot(a, b, axes)``: the contraction (an ``Einsum``), printed as tensordot."""
    a, b, axes = p["a"], p["b"], p["axes"]
    if not tracer.is_symbolic(a) and not tracer.is_symbolic(b):
        return np.tensordot(a, b, axes)
    a, b = tracer.as_array(a, node), tracer.as_array(b, node)
    try:
        np.tensordot(np.ones(tracer.shape(a)), np.ones(tracer.shape(b)), axes)
    except (ValueError, IndexError, TypeError) as exc:
        tracer.check_guess(a)  # parameters assumed numbers before the first call
        tracer.check_guess(b)
        raise located(ShapeError, f"{name}: {exc}", tracer.frame.parsed, node,
                      hint="make the contracted axes' lengths agree") from None
    na, nb = len(tracer.shape(a)), len(tracer.shape(b))
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - int(axes), na)), list(range(int(axes)))
    else:
        axes_a, axes_b = ([int(v) for v in np.atleast_1d(part)] for part in axes)
    letters = "abcdefghijklmnopqrstuvwxyz"
    sa = list(letters[:na])
    sb = list(letters[na:na + nb])
    for i, j in zip(axes_a, axes_b):
        sb[j % nb] = sa[i % na]
    output = "".join(c for k, c in enumerate(sa) if k not in [i % na for i in axes_a]) + \
        "".join(c for k, c in enumerate(sb) if k not in [j % nb for j in axes_b])
    spec = f"{''.join(sa)},{''.join(sb)}->{output}"
    via = axes if isinstance(axes, (int, np.integer)) else tuple(tuple(int(v) for v in np.atleast_1d(x)) for x in axes)
    return _contraction(tracer, node, name, spec, [a, b], int(via) if isinstance(via, np.integer) else via,
                        lambda x, y: np.tensordot(x, y, axes))


# ---- shapes ----
def _transpose(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    result = arrays.transpose(tracer.atom(x, "x"), tracer.shapes, p["axes"])
    return tracer.array_op(result, "transpose") if isinstance(result, arrays.ArrayOp) else result


def _transpose_method(tracer, node, p, name):
    axes = p["axes"]
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return _transpose(tracer, node, {"a": p["a"], "axes": tuple(axes) if axes else None}, name)


def _reshape_to(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    shape = p["shape"]
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        new = np.empty(tracer.shape(x)).reshape(shape).shape
    except (ValueError, TypeError) as exc:
        tracer.check_guess(x)  # a parameter assumed a number before the first call
        raise located(ShapeError, f"cannot reshape shape {tracer.shape(x)} to {shape}: {exc}",
                      tracer.frame.parsed, node, hint="keep the number of elements") from None
    return tracer.array_op(arrays.Reshape.make(tracer.atom(x, "x"), shape=tuple(new)), "reshape")


def _reshape_method(tracer, node, p, name):
    shape = p["shape"]
    if len(shape) == 1:
        shape = shape[0]
    return _reshape_to(tracer, node, {"a": p["a"], "shape": shape}, name)


def _ravel(tracer, node, p, name):
    return _reshape_to(tracer, node, {"a": p["a"], "shape": -1}, name)


# ---- rearranging (each a reshape, a transpose, an index or a Take of what numpy moves) ----
def _rearranging(numpy_func):
    """A handler's wrapper: a concrete array is numpy's to rearrange now."""
    def wrap(handler):
        def call(tracer, node, p, name):
            first = next(iter(p.values()))
            if isinstance(first, np.ndarray) and not any(tracer.is_symbolic(v) for v in p.values()):
                return numpy_func(*p.values())
            return handler(tracer, node, p, name)

        return call

    return wrap


def _probe(tracer, node, name, x, func, *args):
    """``func(stand-in of x's shape, *args)``: numpy's answer for the shape (its errors located)."""
    try:
        return func(np.empty(tracer.shape(x)), *args)
    except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as exc:
        tracer.check_guess(x)
        raise located(ShapeError, f"{name} of an array of shape {tracer.shape(x)}: {exc}",
                      tracer.frame.parsed, node, hint="as numpy raises it") from None


def _reshaped(tracer, node, name, x, shape):
    if tuple(shape) == tracer.shape(x):
        return x
    return tracer.array_op(arrays.Reshape.make(tracer.atom(x, "x"), shape=tuple(shape)), "reshape")


def _along(tracer, node, name, x, axis):
    """``(x, axis)`` as numpy reads ``axis=None``: the array flattened, along its one axis."""
    if axis is None:
        return _reshaped(tracer, node, name, x, (int(np.prod(tracer.shape(x))),)), 0
    return x, axis


def _axis_in(tracer, node, name, x, axis):
    """``axis`` of ``x`` counted from 0 (numpy's negative axes from the end); a located error
    where numpy's would be (out of range) and for a 0-d ``x``, which numpy reads as one element
    along axis 0 or -1 here (assumed a number before the call: wait for the call instead)."""
    shape = tracer.shape(x)
    if not shape:
        tracer.check_guess(x)
        raise located(ShapeError, f"{name} of a 0-d array (one number), along axis {axis}",
                      tracer.frame.parsed, node, hint="pass an array of one dimension or more "
                      "(np.atleast_1d(x))")
    try:
        _check_axis(tracer, node, name, (axis,), shape)  # one int axis (a tuple or None is bad here)
    except ShapeError:
        tracer.check_guess(x)
        raise
    return int(axis) % len(shape)


@_rearranging(np.squeeze)
def _squeeze(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    return _reshaped(tracer, node, name, x, _probe(tracer, node, name, x, np.squeeze, p["axis"]).shape)


@_rearranging(np.expand_dims)
def _expand_dims(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    return _reshaped(tracer, node, name, x, _probe(tracer, node, name, x, np.expand_dims, p["axis"]).shape)


def _at_least(ndim):
    func = {1: np.atleast_1d, 2: np.atleast_2d, 3: np.atleast_3d}[ndim]

    def handler(tracer, node, args, kwargs, name):
        if kwargs or len(args) != 1:
            raise located(SymdiffError, f"{name} of one array", tracer.frame.parsed, node,
                          hint="call it once per array")
        (x,) = args
        if isinstance(x, np.ndarray) or not tracer.is_symbolic(x):
            return func(x)
        x = tracer.as_array([x], node) if not tracer.is_array(x) else x
        return _reshaped(tracer, node, name, x, func(np.empty(tracer.shape(x))).shape)

    return handler


@_rearranging(np.flip)
def _flip(tracer, node, p, name):
    x = tracer.as_array(p["m"], node)
    ndim = len(tracer.shape(x))
    _probe(tracer, node, name, x, np.flip, p["axis"])
    if not ndim:  # np.flip of a number is the number
        return x
    axes = range(ndim) if p["axis"] is None else [a % ndim for a in np.atleast_1d(p["axis"])]
    key = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(ndim))
    return tracer.getitem(x, key, node)


@_rearranging(np.diff)
def _diff(tracer, node, p, name):
    x, n, axis = tracer.as_array(p["a"], node), p["n"], p["axis"]
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise located(SymdiffError, f"{name}: n must be a non-negative int", tracer.frame.parsed,
                      node, hint="pass n=1 (or another int)")
    _probe(tracer, node, name, x, np.diff, n, axis)
    for _ in range(int(n)):  # numpy: a[1:] - a[:-1] along the axis, n times
        ndim = len(tracer.shape(x))
        a = axis % ndim
        upper = tuple(slice(1, None) if i == a else slice(None) for i in range(ndim))
        lower = tuple(slice(None, -1) if i == a else slice(None) for i in range(ndim))
        x = tracer.keep_shape(tracer.getitem(x, upper, node) - tracer.getitem(x, lower, node),
                              tracer.getitem(x, upper, node))
    return x


def _permuted(tracer, node, name, x, order):
    result = arrays.transpose(tracer.atom(x, "x"), tracer.shapes, tuple(order))
    return tracer.array_op(result, "transpose") if isinstance(result, arrays.ArrayOp) else result


@_rearranging(np.swapaxes)
def _swapaxes(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    _probe(tracer, node, name, x, np.swapaxes, p["axis1"], p["axis2"])
    ndim = len(tracer.shape(x))
    order = list(range(ndim))
    a, b = p["axis1"] % ndim, p["axis2"] % ndim
    order[a], order[b] = order[b], order[a]
    return _permuted(tracer, node, name, x, order)


@_rearranging(np.moveaxis)
def _moveaxis(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    _probe(tracer, node, name, x, np.moveaxis, p["source"], p["destination"])
    ndim = len(tracer.shape(x))
    source = [int(a) % ndim for a in np.atleast_1d(p["source"])]
    destination = [int(a) % ndim for a in np.atleast_1d(p["destination"])]
    order = [n for n in range(ndim) if n not in source]  # as numpy.moveaxis builds it
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return _permuted(tracer, node, name, x, order)


def _diagonal_indices(n_rows, n_cols, k):
    rows = np.arange(max(0, -k), min(n_rows, n_cols - k))
    return rows, rows + k


@_rearranging(np.diag)
def _diag(tracer, node, p, name):
    x, k = tracer.as_array(p["v"], node), int(p["k"])
    shape = tracer.shape(x)
    if len(shape) == 2:  # the k-th diagonal: a gather
        rows, cols = _diagonal_indices(shape[0], shape[1], k)
        return tracer.take(x, (rows, cols), node)
    if len(shape) == 1:  # a matrix with v on its k-th diagonal: v added into zeros
        n = shape[0] + abs(k)
        rows, cols = _diagonal_indices(n, n, k)
        indices = [tracer.constant(rows), tracer.constant(cols)]
        op = arrays.AddAt.make(tracer.atom(x, "v"), *indices, key=(arrays.Slot(0), arrays.Slot(1)), shape=(n, n))
        return tracer.array_op(op, "diag")
    tracer.check_guess(x)  # a parameter assumed a number before the first call
    raise located(ShapeError, f"{name} of an array of shape {shape}: numpy needs 1-D or 2-D",
                  tracer.frame.parsed, node, hint="pass a vector or a matrix")


@_rearranging(np.trace)
def _trace(tracer, node, p, name):
    x = tracer.as_array(p["a"], node)
    shape = tracer.shape(x)
    if len(shape) != 2 or p["axis1"] != 0 or p["axis2"] != 1:
        tracer.check_guess(x)
        raise located(UnsupportedSyntaxError, f"{name} of an array of shape {shape} or other axes",
                      tracer.frame.parsed, node, hint="trace a 2-D array (or write np.sum of its diagonal)")
    rows, cols = _diagonal_indices(shape[0], shape[1], int(p["offset"]))
    return _sum(tracer, node, {"a": tracer.take(x, (rows, cols), node), "axis": None}, name)


def _triangle(lower):
    numpy_func = np.tril if lower else np.triu

    @_rearranging(numpy_func)
    def handler(tracer, node, p, name):
        x = tracer.as_array(p["m"], node)
        shape = tracer.shape(x)
        if len(shape) < 2:
            tracer.check_guess(x)
            raise located(ShapeError, f"{name} of an array of shape {shape}: it needs 2 dimensions",
                          tracer.frame.parsed, node, hint="pass a matrix")
        kept = numpy_func(np.ones(shape[-2:], dtype=bool), int(p["k"]))
        return _where(tracer, node, {"condition": kept, "x": x, "y": 0.0}, name)  # numpy's where

    return handler


@_rearranging(np.repeat)
def _repeat(tracer, node, p, name):
    x, repeats, axis = tracer.as_array(p["a"], node), p["repeats"], p["axis"]
    if tracer.is_symbolic(repeats):
        raise located(UnsupportedSyntaxError, f"{name} a differentiated number of times",
                      tracer.frame.parsed, node, hint="repeat an int number of times")
    x, axis = _along(tracer, node, name, x, axis)
    _probe(tracer, node, name, x, np.repeat, repeats, axis)
    ndim, axis = len(tracer.shape(x)), _axis_in(tracer, node, name, x, axis)
    index = np.repeat(np.arange(tracer.shape(x)[axis]), repeats)
    key = tuple(index if i == axis else slice(None) for i in range(ndim))
    return tracer.take(x, key, node)


@_rearranging(np.tile)
def _tile(tracer, node, p, name):
    x, reps = tracer.as_array(p["A"], node), p["reps"]
    if tracer.is_symbolic(reps) or any(tracer.is_symbolic(r) for r in np.atleast_1d(reps)):
        raise located(UnsupportedSyntaxError, f"{name} a differentiated number of times",
                      tracer.frame.parsed, node, hint="tile an int number of times")
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    shape = tracer.shape(x)
    ndim = max(len(reps), len(shape))
    x = _reshaped(tracer, node, name, x, (1,) * (ndim - len(shape)) + tuple(shape))
    shape, reps = tracer.shape(x), (1,) * (ndim - len(reps)) + reps
    key = []
    for axis, (n, r) in enumerate(zip(shape, reps)):  # open grids: each axis its own index
        index = np.tile(np.arange(n), r)
        key.append(index.reshape([-1 if i == axis else 1 for i in range(ndim)]))
    return tracer.take(x, tuple(key), node)


def _index_grid(shape, axis, index):
    """The key of ``take_along_axis``: ``index`` at ``axis``, an open grid (``arange``) on the
    other axes."""
    ndim = len(shape)
    return tuple(index if i == axis else np.arange(n).reshape([-1 if j == i else 1 for j in range(ndim)])
                 for i, n in enumerate(shape))


def _copied(tracer, node, p, name):
    """``x.copy()`` / ``np.copy(x)``: the same value as a new array (a name of its own, so that
    changing it in place, ``y = x.copy(); y[0] = 1.0``, is not changing ``x``)."""
    x = p["a"]
    if isinstance(x, np.ndarray):
        return np.copy(x)
    return _own_copy(tracer, tracer.as_value(x, node))


def _own_copy(tracer, value):
    """A traced array as a new array object: a fresh name for the same value."""
    if not tracer.is_array(value):
        return value
    return tracer.copied(tracer.atom(value, "x"))


def _take(tracer, node, p, name):
    x, indices, axis = p["a"], p["indices"], p["axis"]
    if not tracer.is_symbolic(x) and not tracer.is_symbolic(indices):
        return np.take(x, indices, axis=axis)
    x = tracer.as_array(x, node)
    x, axis = _along(tracer, node, name, x, axis)
    ndim, axis = len(tracer.shape(x)), _axis_in(tracer, node, name, x, axis)
    if isinstance(indices, (int, np.integer)):
        key = tuple(int(indices) if i == axis else slice(None) for i in range(ndim))
        return tracer.getitem(x, key, node)
    indices = np.asarray(indices) if isinstance(indices, (list, tuple)) else indices
    key = tuple(indices if i == axis else slice(None) for i in range(ndim))
    return tracer.take(x, key, node)


def _take_along_axis(tracer, node, p, name):
    x, indices, axis = p["arr"], p["indices"], p["axis"]
    if not tracer.is_symbolic(x) and not tracer.is_symbolic(indices):
        return np.take_along_axis(x, indices, axis)
    x = tracer.as_array(x, node)
    shape = tracer.shape(x)
    index_shape = tracer.shape(indices) if tracer.is_symbolic(indices) else np.shape(indices)
    if axis is None or len(index_shape) != len(shape):
        raise located(ShapeError, f"{name}: indices of shape {index_shape} for an array of shape "
                      f"{shape} (axis={axis})", tracer.frame.parsed, node,
                      hint="indices with as many dimensions as the array, and an int axis")
    if not tracer.is_symbolic(indices):
        indices = np.asarray(indices)
    axis = _axis_in(tracer, node, name, x, axis)
    grid_shape = tuple(index_shape[i] if i == axis else n for i, n in enumerate(shape))
    key = _index_grid(grid_shape, axis, indices)
    return tracer.take(x, key, node)


def _argsort(tracer, node, p, name):
    x, axis = p["a"], p["axis"]
    if not tracer.is_symbolic(x):
        return np.argsort(x, axis=axis)
    x = tracer.as_array(x, node)
    x, axis = _along(tracer, node, name, x, axis)
    _probe(tracer, node, name, x, np.argsort, axis)
    axis = _axis_in(tracer, node, name, x, axis)
    return tracer.array_op(arrays.ArgSort.make(tracer.atom(x, "x"), axis=axis, shape=tracer.shape(x)), "order")


def _sort(tracer, node, p, name):
    """``np.sort(a, axis)``: the array taken along the permutation that sorts it (the adjoint
    goes back through that permutation)."""
    x, axis = p["a"], p["axis"]
    if not tracer.is_symbolic(x):
        return np.sort(x, axis=axis)
    x = tracer.as_array(x, node)
    x, axis = _along(tracer, node, name, x, axis)
    order = _argsort(tracer, node, {"a": x, "axis": axis}, name)
    return _take_along_axis(tracer, node, {"arr": x, "indices": order, "axis": axis}, name)


@_rearranging(np.roll)
def _roll(tracer, node, p, name):
    x, shift, axis = tracer.as_array(p["a"], node), p["shift"], p["axis"]
    if tracer.is_symbolic(shift):
        raise located(UnsupportedSyntaxError, f"{name} by a differentiated amount",
                      tracer.frame.parsed, node, hint="roll by an int")
    shape = tracer.shape(x)
    if axis is None:
        flat = _reshaped(tracer, node, name, x, (int(np.prod(shape)),))
        rolled = tracer.take(flat, (np.roll(np.arange(int(np.prod(shape))), shift),), node)
        return _reshaped(tracer, node, name, rolled, shape)
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    for s_, a_ in zip(shifts, axes):
        a_ = _axis_in(tracer, node, name, x, a_)
        key = tuple(np.roll(np.arange(n), int(s_)) if i == a_ else slice(None) for i, n in enumerate(shape))
        x = tracer.take(x, key, node)
    return x


def _kron(tracer, node, p, name):
    a, b = p["a"], p["b"]
    if not tracer.is_symbolic(a) and not tracer.is_symbolic(b):
        return np.kron(a, b)
    a, b = tracer.as_array(a, node), tracer.as_array(b, node)
    sa, sb = tracer.shape(a), tracer.shape(b)
    if len(sa) != len(sb) or len(sa) not in (1, 2):
        raise located(UnsupportedSyntaxError, f"{name} of shapes {sa} and {sb}", tracer.frame.parsed,
                      node, hint="np.kron of two vectors or two matrices")
    spec = "i,k->ik" if len(sa) == 1 else "ij,kl->ikjl"
    products = _contraction(tracer, node, name, spec, [a, b], None, lambda u, v: np.einsum(spec, u, v))
    return _reshaped(tracer, node, name, products, np.kron(np.ones(sa), np.ones(sb)).shape)


def _cross(tracer, node, p, name):
    a, b = p["a"], p["b"]
    if not tracer.is_symbolic(a) and not tracer.is_symbolic(b):
        return np.cross(a, b)
    a, b = tracer.as_array(a, node), tracer.as_array(b, node)
    if tracer.shape(a) != (3,) or tracer.shape(b) != (3,):
        tracer.check_guess(a)
        tracer.check_guess(b)
        raise located(UnsupportedSyntaxError, f"{name} of shapes {tracer.shape(a)} and {tracer.shape(b)}",
                      tracer.frame.parsed, node, hint="np.cross of two 3-vectors")
    u = [tracer.getitem(a, i, node) for i in range(3)]
    v = [tracer.getitem(b, i, node) for i in range(3)]
    parts = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
    return tracer.as_array(parts, node)


def _pad(tracer, node, p, name):
    x, width, mode = p["array"], p["pad_width"], p["mode"]
    if not tracer.is_symbolic(x):
        return np.pad(x, width, mode=mode)
    if mode != "constant":
        raise located(UnsupportedSyntaxError, f"{name} with mode={mode!r}", tracer.frame.parsed,
                      node, hint="pad with zeros (mode='constant')")
    x = tracer.as_array(x, node)
    shape = tracer.shape(x)
    widths = np.broadcast_to(np.asarray(width, dtype=int), (len(shape), 2))
    padded = tuple(int(n + lo + hi) for n, (lo, hi) in zip(shape, widths))
    key = tuple(slice(int(lo), int(lo) + n) for n, (lo, hi) in zip(shape, widths))
    return tracer.array_op(arrays.Scatter.make(tracer.atom(x, "x"), key=key, shape=padded), "padded")


@_rearranging(np.cumsum)
def _cumsum(tracer, node, p, name):
    x, axis = tracer.as_number(p["a"]), p["axis"]
    x = tracer.as_array(x if tracer.is_array(x) or isinstance(x, (list, tuple)) else [x], node)
    x, axis = _along(tracer, node, name, x, axis)
    _probe(tracer, node, name, x, np.cumsum, axis)
    axis = _axis_in(tracer, node, name, x, axis)
    return tracer.array_op(arrays.CumSum.make(tracer.atom(x, "x"), axis=axis, shape=tracer.shape(x)), "cumsum")


# ---- joining ----
def _joined(kind):
    def handler(tracer, node, p, name):
        parts = p["arrays"] if "arrays" in p else p["tup"]
        if not isinstance(parts, (tuple, list)) and tracer.is_symbolic(parts):
            tracer.check_guess(parts)  # a list argument assumed a number before the first call
        if not isinstance(parts, (tuple, list)) or not parts:
            raise located(SymdiffError, f"{name} needs a tuple or list of arrays",
                          tracer.frame.parsed, node, hint="pass a tuple of arrays")
        given = parts
        axis = p.get("axis", 0)
        if kind in ("hstack", "vstack"):
            ndim = max(len(tracer.shape(q)) for q in parts)
            if kind == "vstack":
                parts = [q if len(tracer.shape(q)) >= 2 else
                         _reshape_to(tracer, node, {"a": tracer.as_array(q, node), "shape": (1, -1)}, name)
                         for q in parts]
                axis = 0
            else:
                axis = 0 if ndim == 1 else 1
            kind_ = "concatenate"
        else:
            kind_ = kind
        parts = [tracer.as_array(q, node) for q in parts]
        shapes = [tracer.shape(q) for q in parts]
        probe = np.concatenate if kind_ == "concatenate" else np.stack
        try:
            shape = probe([np.empty(s) for s in shapes], axis=axis).shape
        except (ValueError, TypeError) as exc:
            for part in [*given, *parts]:  # parameters assumed numbers before the first call
                tracer.check_guess(part)
            raise located(ShapeError, f"{name} of shapes {shapes}: {exc}", tracer.frame.parsed,
                          node, hint="join arrays whose other dimensions agree") from None
        op = arrays.Concatenate if kind_ == "concatenate" else arrays.Stack
        atoms = [tracer.atom(q, "part") for q in parts]
        return tracer.array_op(op.make(*atoms, axis=axis, shape=tuple(shape)), kind_)

    return handler


_FLOAT64 = (None, float, np.float64, "float64", "float", "f8", "d", "double")


def _float_dtype(tracer, node, name, dtype):
    """``dtype=`` of an array constructor: float64 (symdiff's arrays are float64 there)."""
    if any(dtype is d or (isinstance(d, str) and dtype == d) for d in _FLOAT64) or (
            isinstance(dtype, np.dtype) and dtype == np.float64):
        return
    raise located(UnsupportedSyntaxError, f"{name}(..., dtype={getattr(dtype, '__name__', dtype)!s}) "
                  "is not supported", tracer.frame.parsed, node,
                  hint="build float64 arrays (leave dtype out, or dtype=float), and convert "
                  "the arguments you pass instead")


def _array_of(tracer, node, p, name):
    _float_dtype(tracer, node, name, p.get("dtype"))
    value = p["object"] if "object" in p else p["a"]
    if isinstance(value, (tuple, list)) and any(tracer.is_symbolic(v) for v in _flatten(value)):
        if any(isinstance(v, (tuple, list)) for v in value):
            rows = [_array(tracer, node, [row], {}) for row in value]
            return _join("stack")(tracer, node, [rows], {})
        return _join("stack")(tracer, node, [list(value)], {})
    if tracer.is_symbolic(value):
        return _own_copy(tracer, value) if name == "np.array" and tracer.is_array(value) else value
    concrete = np.array(value)
    if p.get("dtype") is None and concrete.dtype.kind in "iub":
        return concrete  # ints and bools stay so, as in numpy (an index: x[np.array([0, 2])])
    return np.array(value, dtype=float)


def _flatten(value):
    for v in value:
        if isinstance(v, (tuple, list)):
            yield from _flatten(v)
        else:
            yield v


# ---- elementwise ----
def _where(tracer, node, p, name):
    cond, a, b = p["condition"], p["x"], p["y"]
    if a is None and b is None:  # the indices of the True entries
        return _nonzero(tracer, node, {"a": cond}, name)
    if a is None or b is None:
        raise located(UnsupportedSyntaxError, "np.where takes one argument (indices) or three",
                      tracer.frame.parsed, node, hint="use np.where(condition, a, b)")
    if not isinstance(cond, sympy.Basic):
        cond = tracer.constant(np.asarray(cond, dtype=bool)) if np.ndim(cond) else bool(cond)
        if isinstance(cond, bool):
            return a if cond else b
        cond = sympy.Ne(cond, 0)
    if isinstance(cond, sympy.Expr):
        cond = sympy.Ne(cond, 0)
    a, b = tracer.as_value(a, node), tracer.as_value(b, node)
    tracer.check_broadcast(node, a, b, cond)
    return tracer.keep_shape(sympy.Piecewise((a, cond), (b, True)), a, b, cond)


def _nonzero(tracer, node, p, name):
    """``np.nonzero(cond)`` / ``np.where(cond)``: numpy's indices of a concrete condition; of a
    traced one, ``MaskIndex`` es (their number is known only when the function runs), which
    index an array of the condition's shape as the condition does."""
    cond = p["a"]
    if not isinstance(cond, sympy.Basic):
        return np.nonzero(np.asarray(cond))
    ndim = len(tracer.shape(cond))
    if not ndim:
        tracer.check_guess(cond)
        raise located(UnsupportedSyntaxError, f"{name} of a condition on a number", tracer.frame.parsed,
                      node, hint="use an if, or np.where(cond, a, b)")
    return tuple(masks.MaskIndex(cond, axis, ndim, node, tracer) for axis in range(ndim))


def _clip(tracer, node, p, name):
    """``np.clip(a, a_min, a_max)``; numpy 2's ``min=``/``max=`` name the same bounds."""
    lo, hi = p["a_min"], p["a_max"]
    for alias, bound in (("min", lo), ("max", hi)):
        if p.get(alias) is not None and bound is not None:
            raise located(SymdiffError, f"np.clip: give a_{alias} or {alias}, not both",
                          tracer.frame.parsed, node, hint=f"pass the bound once (a_{alias}=...)")
    lo = lo if lo is not None else p.get("min")
    hi = hi if hi is not None else p.get("max")
    if lo is None and hi is None:
        raise located(SymdiffError, "np.clip needs a_min or a_max", tracer.frame.parsed, node,
                      hint="pass at least one bound (as numpy requires)")
    x = tracer.as_value(p["a"], node)
    out = x
    if lo is not None:
        out = sympy.Max(out, tracer.as_value(lo, node))
    if hi is not None:
        out = sympy.Min(out, tracer.as_value(hi, node))
    return tracer.keep_shape(out, x, *[v for v in (lo, hi) if v is not None])


# ---- constructors and queries ----
def _like(fill):
    def handler(tracer, node, p, name):
        _float_dtype(tracer, node, name, p["dtype"])
        return np.full(tracer.shape(p["a"]), fill, dtype=float)

    return handler


def _concrete(func):
    def handler(tracer, node, args, kwargs, name):
        if any(tracer.is_symbolic(a) for a in [*args, *kwargs.values()]):
            for a in [*args, *kwargs.values()]:  # an int size not differentiated: known at the call
                if tracer.is_symbolic(a):
                    tracer.check_deferrable(a)
            raise located(UnsupportedSyntaxError, f"{name} of a differentiated value",
                          tracer.frame.parsed, node, hint=f"{name} takes concrete sizes")
        try:
            return func(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise located(SymdiffError, f"{name}: {exc}", tracer.frame.parsed, node,
                          hint="check the arguments") from None

    return handler


def _shape_query(kind):
    def handler(tracer, node, p, name):
        value = p["a"]
        shape = tracer.shape(value) if tracer.is_symbolic(value) else np.shape(value)
        if kind == "size" and p.get("axis") is not None:
            _check_axis(tracer, node, name, p["axis"], shape)
            return int(shape[p["axis"]])
        return {"shape": tuple(shape), "size": int(np.prod(shape)), "ndim": len(shape)}[kind]

    return handler


# ---- the tables ----
_REDUCED = ("a", "axis", "keepdims")
_SPREAD = ("a", "axis", "ddof", "keepdims")
_array = _function(np.array, "np.array", ("object", "dtype"), _array_of)
_reshape = _function(np.reshape, "np.reshape", ("a", "shape"), _reshape_to)
_JOINS = {
    kind: _function(getattr(np, kind), f"np.{kind}", ("arrays", "tup", "axis"), _joined(kind))
    for kind in ("concatenate", "stack", "hstack", "vstack")
}


def _join(kind):
    """The entry for ``np.concatenate`` / ``np.stack`` / ``np.hstack`` / ``np.vstack``."""
    return _JOINS[kind]


# ---- more rearranging, each written with the ones above (as numpy's own Python code does) ----
def _flipped(numpy_func, axis):
    """``np.flipud`` (axis 0) / ``np.fliplr`` (axis 1): ``np.flip`` along that axis."""
    @_rearranging(numpy_func)
    def handler(tracer, node, p, name):
        x = tracer.as_array(p["m"], node)
        _probe(tracer, node, name, x, numpy_func)
        return _flip(tracer, node, {"m": x, "axis": axis}, name)

    return handler


@_rearranging(np.rot90)
def _rot90(tracer, node, p, name):
    """``np.rot90(m, k, axes)``: flips and a transpose, as numpy composes them."""
    x, k, axes = tracer.as_array(p["m"], node), p["k"], p["axes"]
    _probe(tracer, node, name, x, np.rot90, k, axes)
    ndim, k = len(tracer.shape(x)), int(k) % 4
    a, b = (int(v) % ndim for v in axes)
    order = list(range(ndim))
    order[a], order[b] = order[b], order[a]
    if k == 0:
        return x
    if k == 2:
        return _flip(tracer, node, {"m": _flip(tracer, node, {"m": x, "axis": a}, name), "axis": b}, name)
    if k == 1:
        return _permuted(tracer, node, name, _flip(tracer, node, {"m": x, "axis": b}, name), order)
    return _flip(tracer, node, {"m": _permuted(tracer, node, name, x, order), "axis": b}, name)


def _append(tracer, node, p, name):
    """``np.append(arr, values, axis)``: a concatenation (of both flattened for axis=None)."""
    arr, values, axis = p["arr"], p["values"], p["axis"]
    if not tracer.is_symbolic(arr) and not tracer.is_symbolic(values):
        return np.append(arr, values, axis=axis)
    arr, values = tracer.as_array(arr, node), tracer.as_array(values, node)
    if axis is None:
        arr, values, axis = _ravel(tracer, node, {"a": arr}, name), _ravel(tracer, node, {"a": values}, name), 0
    return _joined("concatenate")(tracer, node, {"arrays": (arr, values), "axis": axis}, name)


def _split(numpy_func):
    """``np.split`` / ``np.array_split(ary, indices_or_sections, axis)``: a list of slices."""
    def handler(tracer, node, p, name):
        x, sections, axis = p["ary"], p["indices_or_sections"], p["axis"]
        if not tracer.is_symbolic(x) and not tracer.is_symbolic(sections):
            return numpy_func(x, sections, axis=axis)
        if tracer.is_symbolic(sections):
            raise located(UnsupportedSyntaxError, f"{name} at differentiated positions",
                          tracer.frame.parsed, node, hint="split at int positions or into an int number of parts")
        x = tracer.as_array(x, node)
        axis = _axis_in(tracer, node, name, x, axis)
        shape = tracer.shape(x)
        try:  # numpy's own answer for where the pieces start and end
            pieces = numpy_func(np.arange(shape[axis]), sections)
        except (ValueError, TypeError) as exc:
            tracer.check_guess(x)
            raise located(ShapeError, f"{name} of an array of shape {shape}: {exc}",
                          tracer.frame.parsed, node, hint="as numpy raises it") from None
        out, start = [], 0
        for piece in pieces:
            key = tuple(slice(start, start + len(piece)) if i == axis else slice(None)
                        for i in range(len(shape)))
            out.append(tracer.getitem(x, key, node))
            start += len(piece)
        return out

    return handler


@_rearranging(np.diagonal)
def _diagonal(tracer, node, p, name):
    """``np.diagonal(a, offset, axis1, axis2)``: the two axes moved last, then a gather of the
    diagonal (which numpy puts last)."""
    x, k = tracer.as_array(p["a"], node), int(p["offset"])
    _probe(tracer, node, name, x, np.diagonal, k, p["axis1"], p["axis2"])
    ndim = len(tracer.shape(x))
    a, b = int(p["axis1"]) % ndim, int(p["axis2"]) % ndim
    order = [i for i in range(ndim) if i not in (a, b)] + [a, b]
    if order != list(range(ndim)):
        x = _permuted(tracer, node, name, x, order)
    shape = tracer.shape(x)
    rows, cols = _diagonal_indices(shape[-2], shape[-1], k)
    return tracer.take(x, (slice(None),) * (ndim - 2) + (rows, cols), node)


def _real_part(imaginary):
    """``np.real`` (the value itself) / ``np.imag`` (zeros) / ``np.conj`` of real values."""
    def handler(tracer, node, p, name):
        x = p["val"] if "val" in p else p["x"]
        if not tracer.is_symbolic(x):
            return (np.imag if imaginary else np.real)(x)
        if imaginary:
            return _like(0.0)(tracer, node, {"a": x, "dtype": None}, name)
        return tracer.as_value(x, node)

    return handler


def _linspace(tracer, node, args, kwargs, name):
    """``np.linspace(start, stop, num)`` of differentiated ends: numpy's ``arange(num) * step +
    start`` with the last element ``stop`` itself (as numpy sets it)."""
    if not any(tracer.is_symbolic(a) for a in [*args, *kwargs.values()]):
        return _concrete(np.linspace)(tracer, node, args, kwargs, name)
    p = bind(tracer, node, name, signature_of(np.linspace), args, kwargs, ("start", "stop", "num", "endpoint"))
    start, stop, num, endpoint = p["start"], p["stop"], p["num"], p["endpoint"]
    if tracer.is_symbolic(num) or not isinstance(num, (int, np.integer)) or num < 0 \
            or endpoint not in (True, False) or tracer.is_array(start) or tracer.is_array(stop):
        raise located(UnsupportedSyntaxError, f"{name} of a differentiated value with this num/endpoint",
                      tracer.frame.parsed, node, hint="pass two numbers, an int num and endpoint True or False")
    num = int(num)
    if num == 0:
        return np.zeros(0)
    if num == 1:
        return tracer.as_array([start], node)
    divisions = num - 1 if endpoint else num
    step = (stop - start) / divisions
    body = tracer.as_array(np.arange(num - 1 if endpoint else num, dtype=float), node) * step + start
    if not endpoint:
        return body
    return _joined("concatenate")(tracer, node, {"arrays": (body, tracer.as_array([stop], node)), "axis": 0}, name)


def index_concatenation(tracer, node, columns, index):
    """``np.r_[a, b, ...]`` (``columns``: ``np.c_[...]``) of traced values: numbers and arrays
    joined along the first axis (``np.c_``: 1-D arrays as columns, joined along the last), int
    slices as ``np.arange``, as numpy's index tricks build them."""
    items = index if isinstance(index, tuple) else (index,)
    which = "np.c_" if columns else "np.r_"
    if not any(tracer.is_symbolic(v) for v in items):
        return (np.c_ if columns else np.r_)[index]
    parts = []
    for item in items:
        if isinstance(item, slice):
            bounds = (item.start, item.stop, item.step)
            if not all(b is None or isinstance(b, (int, np.integer)) for b in bounds):
                raise located(UnsupportedSyntaxError, f"{which} with the slice {item} (a linspace or a "
                              "differentiated bound)", tracer.frame.parsed, node,
                              hint="write np.arange or np.linspace yourself")
            item = np.arange(item.start or 0, item.stop, item.step or 1)
        elif isinstance(item, str):
            raise located(UnsupportedSyntaxError, f"{which} with the directive {item!r}",
                          tracer.frame.parsed, node, hint="use np.concatenate or np.stack with axis=")
        part = tracer.as_array(item, node)
        shape = tracer.shape(part)
        if not shape:  # a number: one element (np.c_: a 1 x 1 block)
            part = tracer.as_array([[item]] if columns else [item], node)
        elif columns and len(shape) == 1:  # np.c_: a 1-D array is a column
            part = _reshaped(tracer, node, which, part, (shape[0], 1))
        parts.append(part)
    return _joined("concatenate")(tracer, node, {"arrays": tuple(parts), "axis": -1 if columns else 0}, which)


def _refused(func, what, hint):
    """A numpy function symdiff does not differentiate yet, refused with the rewrite that works."""
    def handler(tracer, node, args, kwargs, name):
        if not any(tracer.is_symbolic(a) for a in [*args, *kwargs.values()]):
            return func(*args, **kwargs)  # of constants: numpy's own answer
        raise located(UnsupportedSyntaxError, f"{name} of a differentiated value ({what})",
                      tracer.frame.parsed, node, hint=hint)

    return handler


_REFUSALS = [
    (np.cumprod, "np.cumprod", "not differentiated yet",
     "for positive x, np.exp(np.cumsum(np.log(x))); else a loop, p = p * x[i]"),
    (np.linalg.eig, "np.linalg.eig", "eigenvalues of a non-symmetric matrix: not differentiated",
     "for a symmetric matrix, np.linalg.eigh"),
    (np.partition, "np.partition", "not differentiated", "np.sort(x) (the adjoint goes back through the permutation)"),
    (np.nan_to_num, "np.nan_to_num", "not differentiated",
     "replace the non-finite values before the call, or pass a mask"),
]


_HANDLERS = [
    (np.sum, _function(np.sum, "np.sum", _REDUCED, _sum)),
    (np.prod, _function(np.prod, "np.prod", _REDUCED, _reduce(arrays.ArrayProd))),
    (np.max, _function(np.max, "np.max", _REDUCED, _reduce(arrays.ArrayMax))),
    (np.amax, _function(np.amax, "np.amax", _REDUCED, _reduce(arrays.ArrayMax))),
    (np.min, _function(np.min, "np.min", _REDUCED, _reduce(arrays.ArrayMin))),
    (np.amin, _function(np.amin, "np.amin", _REDUCED, _reduce(arrays.ArrayMin))),
    (np.mean, _function(np.mean, "np.mean", _REDUCED, _mean)),
    (np.var, _function(np.var, "np.var", _SPREAD, _var)),
    (np.std, _function(np.std, "np.std", _SPREAD, _std)),
    (np.dot, _function(np.dot, "np.dot", ("a", "b"), _dot)),
    (np.matmul, _function(np.matmul, "np.matmul", ("x1", "x2"), _matmul)),
    (np.inner, _function(np.inner, "np.inner", ("a", "b"), _inner)),
    (np.outer, _function(np.outer, "np.outer", ("a", "b"), _outer)),
    (np.linalg.norm, _function(np.linalg.norm, "np.linalg.norm", ("x", "ord", "axis", "keepdims"), _norm)),
    (np.linalg.inv, _function(np.linalg.inv, "np.linalg.inv", ("a",), _linalg(arrays.Inv))),
    (np.linalg.det, _function(np.linalg.det, "np.linalg.det", ("a",), _linalg(arrays.Det))),
    (np.linalg.solve, _function(np.linalg.solve, "np.linalg.solve", ("a", "b"), _solve)),
    (np.linalg.slogdet, _function(np.linalg.slogdet, "np.linalg.slogdet", ("a",), _slogdet)),
    (np.linalg.cholesky, _function(np.linalg.cholesky, "np.linalg.cholesky", ("a",), _cholesky)),
    (np.linalg.pinv, _function(np.linalg.pinv, "np.linalg.pinv", ("a",), _pinv)),
    (np.linalg.svd, _function(np.linalg.svd, "np.linalg.svd", ("a", "full_matrices", "compute_uv"), _svd)),
    (np.linalg.eigh, _function(np.linalg.eigh, "np.linalg.eigh", ("a", "UPLO"), _eigh)),
    (np.transpose, _function(np.transpose, "np.transpose", ("a", "axes"), _transpose)),
    (np.reshape, _reshape),
    (np.ravel, _function(np.ravel, "np.ravel", ("a",), _ravel)),
    *[(getattr(np, kind), entry) for kind, entry in _JOINS.items()],
    (np.array, _array),
    (np.asarray, _function(np.asarray, "np.asarray", ("a", "dtype"), _array_of)),
    (np.where, _function(np.where, "np.where", ("condition", "x", "y"), _where)),
    (np.nonzero, _function(np.nonzero, "np.nonzero", ("a",), _nonzero)),
    (np.clip, _function(np.clip, "np.clip", ("a", "a_min", "a_max", "min", "max"), _clip)),
    (np.zeros_like, _function(np.zeros_like, "np.zeros_like", ("a", "dtype"), _like(0.0))),
    (np.ones_like, _function(np.ones_like, "np.ones_like", ("a", "dtype"), _like(1.0))),
    *[(getattr(np, n), _Entry(f"np.{n}", signature_of(getattr(np, n)),
                              tuple(signature_of(getattr(np, n)).parameters),
                              _concrete(getattr(np, n)), raw=True))
      for n in ("zeros", "ones", "full", "arange", "linspace", "eye")],
    (np.einsum, _Entry("np.einsum", signature_of(np.einsum), tuple(signature_of(np.einsum).parameters),
                       _einsum, raw=True)),
    (np.tensordot, _function(np.tensordot, "np.tensordot", ("a", "b", "axes"), _tensordot)),
    (np.squeeze, _function(np.squeeze, "np.squeeze", ("a", "axis"), _squeeze)),
    (np.expand_dims, _function(np.expand_dims, "np.expand_dims", ("a", "axis"), _expand_dims)),
    *[(getattr(np, f"atleast_{n}d"), _Entry(f"np.atleast_{n}d", signature_of(getattr(np, f"atleast_{n}d")),
                                            tuple(signature_of(getattr(np, f"atleast_{n}d")).parameters),
                                            _at_least(n), raw=True)) for n in (1, 2, 3)],
    (np.flip, _function(np.flip, "np.flip", ("m", "axis"), _flip)),
    (np.diff, _function(np.diff, "np.diff", ("a", "n", "axis"), _diff)),
    (np.swapaxes, _function(np.swapaxes, "np.swapaxes", ("a", "axis1", "axis2"), _swapaxes)),
    (np.moveaxis, _function(np.moveaxis, "np.moveaxis", ("a", "source", "destination"), _moveaxis)),
    (np.diag, _function(np.diag, "np.diag", ("v", "k"), _diag)),
    (np.trace, _function(np.trace, "np.trace", ("a", "offset", "axis1", "axis2"), _trace)),
    (np.tril, _function(np.tril, "np.tril", ("m", "k"), _triangle(True))),
    (np.triu, _function(np.triu, "np.triu", ("m", "k"), _triangle(False))),
    (np.repeat, _function(np.repeat, "np.repeat", ("a", "repeats", "axis"), _repeat)),
    (np.tile, _function(np.tile, "np.tile", ("A", "reps"), _tile)),
    (np.cumsum, _function(np.cumsum, "np.cumsum", ("a", "axis"), _cumsum)),
    (np.take, _function(np.take, "np.take", ("a", "indices", "axis"), _take)),
    (np.copy, _function(np.copy, "np.copy", ("a",), _copied)),
    (np.take_along_axis, _function(np.take_along_axis, "np.take_along_axis", ("arr", "indices", "axis"),
                                   _take_along_axis)),
    (np.argsort, _function(np.argsort, "np.argsort", ("a", "axis"), _argsort)),
    (np.sort, _function(np.sort, "np.sort", ("a", "axis"), _sort)),
    (np.roll, _function(np.roll, "np.roll", ("a", "shift", "axis"), _roll)),
    (np.kron, _function(np.kron, "np.kron", ("a", "b"), _kron)),
    (np.cross, _function(np.cross, "np.cross", ("a", "b"), _cross)),
    (np.pad, _function(np.pad, "np.pad", ("array", "pad_width", "mode"), _pad)),
    (np.shape, _function(np.shape, "np.shape", ("a",), _shape_query("shape"))),
    (np.size, _function(np.size, "np.size", ("a", "axis"), _shape_query("size"))),
    (np.ndim, _function(np.ndim, "np.ndim", ("a",), _shape_query("ndim"))),
    (np.flipud, _function(np.flipud, "np.flipud", ("m",), _flipped(np.flipud, 0))),
    (np.fliplr, _function(np.fliplr, "np.fliplr", ("m",), _flipped(np.fliplr, 1))),
    (np.rot90, _function(np.rot90, "np.rot90", ("m", "k", "axes"), _rot90)),
    (np.append, _function(np.append, "np.append", ("arr", "values", "axis"), _append)),
    (np.split, _function(np.split, "np.split", ("ary", "indices_or_sections", "axis"), _split(np.split))),
    (np.array_split, _function(np.array_split, "np.array_split", ("ary", "indices_or_sections", "axis"),
                               _split(np.array_split))),
    (np.diagonal, _function(np.diagonal, "np.diagonal", ("a", "offset", "axis1", "axis2"), _diagonal)),
    (np.real, _function(np.real, "np.real", ("val",), _real_part(False))),
    (np.imag, _function(np.imag, "np.imag", ("val",), _real_part(True))),
    (np.conj, _function(np.conj, "np.conj", ("x",), _real_part(False))),
    (np.linspace, _Entry("np.linspace", signature_of(np.linspace), tuple(signature_of(np.linspace).parameters),
                         _linspace, raw=True)),
    *[(func, _Entry(name, signature_of(func), tuple(signature_of(func).parameters), _refused(func, what, hint), raw=True))
      for func, name, what, hint in _REFUSALS],
]
# Entries that act elementwise on a number as on an array (the rest are structural: reductions,
# products, shapes, joins; see calls.Calls._note_numbers).
_ELEMENTWISE = ("np.where", "np.clip", "np.zeros_like", "np.ones_like", "np.asarray", "np.array")
for _func, _entry in _HANDLERS:
    registry.add(Primitive(_entry.name, (_func,), library="numpy", kind="array", handler=_entry,
                           elementwise=_entry.name in _ELEMENTWISE),
                 replace=True)  # numpy aliases (np.amax is np.max in some versions): the last names it


# ---- array methods: stubs with numpy's signatures (ndarray methods have none to read) ----
def _m_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """ndarray.sum / ndarray.prod"""


def _m_max(a, axis=None, out=None, keepdims=False, initial=_NO_VALUE, where=True):
    """ndarray.max / ndarray.min"""


def _m_mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """ndarray.mean"""


def _m_var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=True):
    """ndarray.var / ndarray.std"""


def _m_copy(a, order="C"):
    """ndarray.copy"""


def _m_dot(a, b, out=None):
    """ndarray.dot"""


def _m_reshape(a, *shape, order="C", copy=None):
    """ndarray.reshape"""


def _m_ravel(a, order="C"):
    """ndarray.ravel / ndarray.flatten"""


def _m_transpose(a, *axes):
    """ndarray.transpose"""


def _m_squeeze(a, axis=None):
    """ndarray.squeeze"""


def _m_astype(a, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """ndarray.astype"""


def _m_diagonal(a, offset=0, axis1=0, axis2=1):
    """ndarray.diagonal"""


def _m_swapaxes(a, axis1, axis2):
    """ndarray.swapaxes"""


def _m_cumsum(a, axis=None, dtype=None, out=None):
    """ndarray.cumsum"""


def _astype(tracer, node, p, name):
    """``x.astype(float)`` / ``astype('float64')``: a copy of a float64 value; other dtypes change
    the numbers (rounding to float32, truncating to ints) and are refused."""
    x, dtype = p["a"], p["dtype"]
    try:
        same = np.dtype(dtype) == np.float64
    except TypeError:
        same = False
    if not same:
        raise located(UnsupportedSyntaxError, f"{name}({dtype!r}) of a differentiated array: only "
                      "float64 keeps its numbers", tracer.frame.parsed, node,
                      hint="convert outside the differentiated function, or use astype(float)")
    return _copied(tracer, node, {"a": x}, name)


def _method(name, stub, supported, handler):
    return _Entry(f".{name}", method_signature(stub), supported, handler)


# Methods of an array value: the entry is called with the array as first argument.
_METHODS = [
    ("sum", _method("sum", _m_sum, _REDUCED, _sum)),
    ("prod", _method("prod", _m_sum, _REDUCED, _reduce(arrays.ArrayProd))),
    ("max", _method("max", _m_max, _REDUCED, _reduce(arrays.ArrayMax))),
    ("min", _method("min", _m_max, _REDUCED, _reduce(arrays.ArrayMin))),
    ("mean", _method("mean", _m_mean, _REDUCED, _mean)),
    ("var", _method("var", _m_var, _SPREAD, _var)),
    ("std", _method("std", _m_var, _SPREAD, _std)),
    ("dot", _method("dot", _m_dot, ("a", "b"), _dot)),
    ("copy", _method("copy", _m_copy, ("a",), _copied)),
    ("reshape", _method("reshape", _m_reshape, ("a", "shape"), _reshape_method)),
    ("ravel", _method("ravel", _m_ravel, ("a",), _ravel)),
    ("flatten", _method("flatten", _m_ravel, ("a",), _ravel)),
    ("transpose", _method("transpose", _m_transpose, ("a", "axes"), _transpose_method)),
    ("squeeze", _method("squeeze", _m_squeeze, ("a", "axis"), _squeeze)),
    ("astype", _method("astype", _m_astype, ("a", "dtype"), _astype)),
    ("diagonal", _method("diagonal", _m_diagonal, ("a", "offset", "axis1", "axis2"), _diagonal)),
    ("swapaxes", _method("swapaxes", _m_swapaxes, ("a", "axis1", "axis2"), _swapaxes)),
    ("cumsum", _method("cumsum", _m_cumsum, ("a", "axis"), _cumsum)),
]
for _name, _entry in _METHODS:
    registry.add(Primitive(f"ndarray.{_name}", library="numpy", kind="array", handler=_entry,
                           method=("array", _name)))


__all__ = ["unsupported"]
