"""numpy_calls: the tracer's handling of numpy's structural functions and array methods.

Takes: a call found in the user's code (``np.sum(x, axis=0)``, ``x.reshape(3, 2)``, ``A @ b``) with
its evaluated arguments. Returns: the value — an ``ArrayOp`` result (emitted as its own statement by
the tracer), an elementwise SymPy expression (``np.where``, ``np.clip``, ``np.mean`` as sum/n), or a
concrete numpy array (``np.zeros(3)``). Elementwise ufuncs are in ``functions.py``, not here.
"""

import numpy as np
import sympy

from . import arrays
from .errors import ShapeError, SymdiffError, UnsupportedSyntaxError
from .parse import located


def _axis(kwargs, args, position):
    if "axis" in kwargs:
        return kwargs.pop("axis")
    if len(args) > position:
        return args[position]
    return None


def _check_kwargs(tracer, node, name, kwargs, allowed=()):
    extra = [k for k in kwargs if k not in allowed]
    if extra:
        raise located(UnsupportedSyntaxError, f"{name}(..., {extra[0]}=...) is not supported",
                      tracer.frame.parsed, node, hint=f"call {name} with its basic arguments")


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


def _reduce(op):
    def handler(tracer, node, args, kwargs):
        name = f"np.{op.printed}"
        x = args[0]
        axis = _axis(kwargs, args, 1)
        _check_kwargs(tracer, node, name, kwargs)
        if not tracer.is_array(x):
            if isinstance(x, np.ndarray):  # a concrete array: numpy computes it now
                return getattr(np, op.printed)(x, axis=axis)
            if not isinstance(x, (tuple, list)):
                tracer.require_number(x, node)
                return x
            if axis is not None or any(tracer.shape(v) or isinstance(v, (tuple, list)) for v in x):
                x = tracer.as_array(x, node)  # rows of arrays: reduced as numpy reduces them
            else:  # numbers: one expression
                items = [tracer.as_value(v, node) for v in x]
                return _SCALAR_REDUCTIONS[op](*items)
        shape = tracer.shape(x)
        _check_axis(tracer, node, name, axis, shape)
        axes = arrays._normal_axes(axis, len(shape))
        out_shape = arrays.reduced_shape(shape, axes)
        return tracer.array_op(op.make(tracer.atom(x, "x"), axis=axes, shape=tuple(out_shape)), op.printed)

    return handler


_SCALAR_REDUCTIONS = {
    arrays.ArraySum: sympy.Add, arrays.ArrayProd: sympy.Mul,
    arrays.ArrayMax: sympy.Max, arrays.ArrayMin: sympy.Min,
}


def _mean(tracer, node, args, kwargs):
    x = args[0]
    axis = _axis(kwargs, args, 1)
    _check_kwargs(tracer, node, "np.mean", kwargs)
    if isinstance(x, np.ndarray):  # a concrete array: numpy computes it now
        return np.mean(x, axis=axis)
    if isinstance(x, (tuple, list)):
        if axis is not None or any(tracer.shape(v) or isinstance(v, (tuple, list)) for v in x):
            x = tracer.as_array(x, node)
        else:
            return sympy.Add(*[tracer.as_value(v, node) for v in x]) / len(x)
    if not tracer.is_array(x):
        tracer.require_number(x, node)
        return x
    shape = tracer.shape(x)
    _check_axis(tracer, node, "np.mean", axis, shape)
    axes = arrays._normal_axes(axis, len(shape))
    count = int(np.prod([shape[a] for a in (axes if axes is not None else range(len(shape)))]))
    total = _reduce(arrays.ArraySum)(tracer, node, [x], {} if axis is None else {"axis": axis})
    return total / count


def _dot(tracer, node, args, kwargs):
    _check_kwargs(tracer, node, "np.dot", kwargs)
    return tracer.matmul(args[0], args[1], node)


def _matmul(tracer, node, args, kwargs):
    _check_kwargs(tracer, node, "np.matmul", kwargs)
    return tracer.matmul(args[0], args[1], node, scalars=False)


def _outer(tracer, node, args, kwargs):
    a, b = (tracer.as_array(v, node) for v in args)
    shape = (int(np.prod(tracer.shape(a))), int(np.prod(tracer.shape(b))))
    return tracer.array_op(arrays.Outer.make(tracer.atom(a, "a"), tracer.atom(b, "b"), shape=shape), "outer")


def _norm(tracer, node, args, kwargs):
    if len(args) > 1 or kwargs:
        raise located(UnsupportedSyntaxError, "np.linalg.norm with ord or axis is not supported",
                      tracer.frame.parsed, node, hint="write the norm out, e.g. np.sqrt(np.sum(x**2))")
    x = tracer.as_array(args[0], node)
    total = _reduce(arrays.ArraySum)(tracer, node, [x * x], {})
    return sympy.sqrt(total)


def _transpose(tracer, node, args, kwargs):
    x = tracer.as_array(args[0], node)
    axes = args[1] if len(args) > 1 else kwargs.pop("axes", None)
    _check_kwargs(tracer, node, "np.transpose", kwargs)
    result = arrays.transpose(tracer.atom(x, "x"), tracer.shapes, axes)
    return tracer.array_op(result, "transpose") if isinstance(result, arrays.ArrayOp) else result


def _reshape(tracer, node, args, kwargs):
    x = tracer.as_array(args[0], node)
    shape = args[1] if len(args) == 2 else tuple(args[1:])
    if "newshape" in kwargs or "shape" in kwargs:
        shape = kwargs.pop("newshape", None) or kwargs.pop("shape")
    _check_kwargs(tracer, node, "reshape", kwargs)
    if isinstance(shape, int):
        shape = (shape,)
    try:
        new = np.empty(tracer.shape(x)).reshape(shape).shape
    except (ValueError, TypeError) as exc:
        tracer.check_guess(x)  # a parameter assumed a number before the first call
        raise located(ShapeError, f"cannot reshape shape {tracer.shape(x)} to {shape}: {exc}",
                      tracer.frame.parsed, node, hint="keep the number of elements") from None
    return tracer.array_op(arrays.Reshape.make(tracer.atom(x, "x"), shape=tuple(new)), "reshape")


def _ravel(tracer, node, args, kwargs):
    return _reshape(tracer, node, [args[0], -1], {})


def _join(kind):
    def handler(tracer, node, args, kwargs):
        parts = args[0]
        if not isinstance(parts, (tuple, list)) or not parts:
            raise located(SymdiffError, f"np.{kind} needs a tuple or list of arrays",
                          tracer.frame.parsed, node, hint="pass a tuple of arrays")
        axis = kwargs.pop("axis", args[1] if len(args) > 1 else 0)
        _check_kwargs(tracer, node, f"np.{kind}", kwargs)
        if kind in ("hstack", "vstack"):
            ndim = max(len(tracer.shape(p)) for p in parts)
            if kind == "vstack":
                parts = [p if len(tracer.shape(p)) >= 2 else _reshape(tracer, node, [tracer.as_array(p, node), (1, -1)], {}) for p in parts]
                axis, kind_ = 0, "concatenate"
            else:
                axis, kind_ = (0 if ndim == 1 else 1), "concatenate"
        else:
            kind_ = kind
        parts = [tracer.as_array(p, node) for p in parts]
        shapes = [tracer.shape(p) for p in parts]
        probe = np.concatenate if kind_ == "concatenate" else np.stack
        try:
            shape = probe([np.empty(s) for s in shapes], axis=axis).shape
        except ValueError as exc:
            for part in [*args[0], *parts]:  # parameters assumed numbers before the first call
                tracer.check_guess(part)
            raise located(ShapeError, f"np.{kind} of shapes {shapes}: {exc}", tracer.frame.parsed,
                          node, hint="join arrays whose other dimensions agree") from None
        op = arrays.Concatenate if kind_ == "concatenate" else arrays.Stack
        atoms = [tracer.atom(p, "part") for p in parts]
        return tracer.array_op(op.make(*atoms, axis=axis, shape=tuple(shape)), kind_)

    return handler


def _array(tracer, node, args, kwargs):
    kwargs.pop("dtype", None)
    _check_kwargs(tracer, node, "np.array", kwargs)
    value = args[0]
    if isinstance(value, (tuple, list)) and any(tracer.is_symbolic(v) for v in _flatten(value)):
        if any(isinstance(v, (tuple, list)) for v in value):
            rows = [_array(tracer, node, [row], {}) for row in value]
            return _join("stack")(tracer, node, [rows], {})
        return _join("stack")(tracer, node, [list(value)], {})
    if tracer.is_symbolic(value):
        return value
    return np.array(value, dtype=float)


def _flatten(value):
    for v in value:
        if isinstance(v, (tuple, list)):
            yield from _flatten(v)
        else:
            yield v


def _where(tracer, node, args, kwargs):
    if len(args) != 3:
        raise located(UnsupportedSyntaxError, "np.where with one argument (indices) is not supported",
                      tracer.frame.parsed, node, hint="use np.where(condition, a, b)")
    cond, a, b = args
    if not isinstance(cond, sympy.Basic):
        cond = tracer.constant(np.asarray(cond, dtype=bool)) if np.ndim(cond) else bool(cond)
        if isinstance(cond, bool):
            return a if cond else b
        cond = sympy.Ne(cond, 0)
    if isinstance(cond, sympy.Expr):
        cond = sympy.Ne(cond, 0)
    a, b = tracer.as_value(a, node), tracer.as_value(b, node)
    tracer.check_broadcast(node, a, b, cond)
    return sympy.Piecewise((a, cond), (b, True))


def _clip(tracer, node, args, kwargs):
    x, lo, hi = args
    _check_kwargs(tracer, node, "np.clip", kwargs)
    x = tracer.as_value(x, node)
    if lo is not None:
        x = sympy.Max(x, tracer.as_value(lo, node))
    if hi is not None:
        x = sympy.Min(x, tracer.as_value(hi, node))
    return x


def _like(fill):
    def handler(tracer, node, args, kwargs):
        kwargs.pop("dtype", None)
        _check_kwargs(tracer, node, "np.zeros_like", kwargs)
        return np.full(tracer.shape(args[0]), fill, dtype=float)

    return handler


def _concrete(func, name):
    def handler(tracer, node, args, kwargs):
        if any(tracer.is_symbolic(a) for a in [*args, *kwargs.values()]):
            raise located(UnsupportedSyntaxError, f"np.{name} of a differentiated value",
                          tracer.frame.parsed, node, hint=f"np.{name} takes concrete sizes")
        try:
            return func(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise located(SymdiffError, f"np.{name}: {exc}", tracer.frame.parsed, node,
                          hint="check the arguments") from None

    return handler


def _shape_query(kind):
    def handler(tracer, node, args, kwargs):
        shape = tracer.shape(args[0]) if tracer.is_symbolic(args[0]) else np.shape(args[0])
        return {"shape": tuple(shape), "size": int(np.prod(shape)), "ndim": len(shape)}[kind]

    return handler


HANDLERS = {
    id(f): (f, h)
    for f, h in [
        (np.sum, _reduce(arrays.ArraySum)),
        (np.prod, _reduce(arrays.ArrayProd)),
        (np.max, _reduce(arrays.ArrayMax)),
        (np.amax, _reduce(arrays.ArrayMax)),
        (np.min, _reduce(arrays.ArrayMin)),
        (np.amin, _reduce(arrays.ArrayMin)),
        (np.mean, _mean),
        (np.dot, _dot),
        (np.matmul, _matmul),
        (np.inner, _dot),
        (np.outer, _outer),
        (np.linalg.norm, _norm),
        (np.transpose, _transpose),
        (np.reshape, _reshape),
        (np.ravel, _ravel),
        (np.concatenate, _join("concatenate")),
        (np.stack, _join("stack")),
        (np.hstack, _join("hstack")),
        (np.vstack, _join("vstack")),
        (np.array, _array),
        (np.asarray, _array),
        (np.where, _where),
        (np.clip, _clip),
        (np.zeros_like, _like(0.0)),
        (np.ones_like, _like(1.0)),
        (np.zeros, _concrete(np.zeros, "zeros")),
        (np.ones, _concrete(np.ones, "ones")),
        (np.full, _concrete(np.full, "full")),
        (np.arange, _concrete(np.arange, "arange")),
        (np.linspace, _concrete(np.linspace, "linspace")),
        (np.eye, _concrete(np.eye, "eye")),
        (np.shape, _shape_query("shape")),
        (np.size, _shape_query("size")),
        (np.ndim, _shape_query("ndim")),
    ]
}

# Methods of an array value: name -> the handler, called with the array as first argument.
METHODS = {
    "sum": _reduce(arrays.ArraySum), "prod": _reduce(arrays.ArrayProd),
    "max": _reduce(arrays.ArrayMax), "min": _reduce(arrays.ArrayMin), "mean": _mean,
    "dot": _dot, "reshape": _reshape, "ravel": _ravel, "flatten": _ravel,
    "transpose": _transpose,
}


def handler_for(func):
    entry = HANDLERS.get(id(func))
    if entry is None or entry[0] is not func:
        return None
    return entry[1]
