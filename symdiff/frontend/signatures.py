"""signatures: a call's arguments bound the way the real function binds them.

Takes: a call found in the user's code (its positional and keyword arguments, already evaluated)
and the signature of what it calls — a numpy function's own ``inspect.signature``, an array
method's (written out here: ndarray methods have none), or a math/builtin function's. Returns:
``{parameter: value}`` with the defaults filled in (``bind``), or the positional arguments a
SymPy rule takes (``rule_arguments``). Too many arguments, a keyword the function does not have,
and a parameter symdiff does not support given anything but its default value are located
errors, never a traceback from inside symdiff.

This is the one mechanism every numpy/math call goes through (``numpy_calls`` for the structural
functions and array methods, ``interpreter`` for ufuncs, ``math`` and registered functions).
"""

import inspect

import numpy as np

from ..errors import SymdiffError, UnsupportedSyntaxError
from .parse import located

_NO_VALUE = getattr(np, "_NoValue", inspect.Parameter.empty)

# Values of parameters symdiff does not support that mean what leaving them out means.
_HARMLESS = {
    "out": (None,), "keepdims": (False,), "where": (True,), "dtype": (None,), "order": ("C", "K", "A"),
    "casting": ("same_kind",), "subok": (True,), "signature": (None,), "copy": (None, True),
    "initial": (), "ord": (None,), "axis": (None,), "like": (None,), "device": (None, "cpu"),
}

_SIGNATURES = {}


def signature_of(func):
    """``inspect.signature(func)`` (cached), or None when the callable has none (``math.log``)."""
    key = id(func)
    found = _SIGNATURES.get(key)
    if found is None or found[0] is not func:
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            sig = None
        found = _SIGNATURES[key] = (func, sig)
    return found[1]


def method_signature(stub):
    """The signature of an array method, written as a stub function whose first parameter is the
    array (``def sum(a, axis=None, ...)``)."""
    return inspect.signature(stub)


def _is_default(value, param):
    default = param.default
    if value is default:
        return True
    harmless = _HARMLESS.get(param.name, ())
    for ok in (*harmless, default):
        if ok is _NO_VALUE or ok is inspect.Parameter.empty:
            continue
        if type(value) is type(ok) and value == ok:
            return True
    return False


def bind(tracer, node, name, signature, args, kwargs, supported):
    """``{parameter: value}`` for the call ``name(*args, **kwargs)`` bound to ``signature``.

    ``supported``: the parameters symdiff implements; every other one may only be left out or
    given its default value. Parameters left out hold their default (numpy's ``<no value>``
    reads as None).
    """
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise located(SymdiffError, f"{name}(): {exc}", tracer.frame.parsed, node,
                      hint=f"call {name} as numpy/Python accept it: {name}{_shown(signature)}") from None
    for pname, value in bound.arguments.items():
        if pname in supported:
            continue
        param = signature.parameters[pname]
        if param.kind is param.VAR_KEYWORD:
            if not value:
                continue
            pname = next(iter(value))
        elif param.kind is param.VAR_POSITIONAL:
            if not value:
                continue
        elif _is_default(value, param):
            continue
        raise unsupported(tracer, node, name, pname, supported)
    out = {}
    for pname, param in signature.parameters.items():
        if pname in bound.arguments:
            out[pname] = bound.arguments[pname]
        elif param.kind is param.VAR_POSITIONAL:
            out[pname] = ()
        elif param.kind is param.VAR_KEYWORD:
            out[pname] = {}
        else:
            default = param.default
            out[pname] = None if default is _NO_VALUE or default is param.empty else default
    return out


def unsupported(tracer, node, name, pname, supported):
    """The located error for ``name(..., pname=...)``, a parameter symdiff does not implement."""
    shown = ", ".join(p for p in supported if p != "self") or "none"
    return located(UnsupportedSyntaxError, f"{name}(..., {pname}=...) is not supported",
                   tracer.frame.parsed, node,
                   hint=f"symdiff supports {name} with these arguments: {shown}; leave {pname} out "
                   "(or write the computation with operations symdiff supports)")


def _shown(signature):
    text = str(signature)
    return text if len(text) < 120 else text[:117] + "...)"


def rule_arguments(tracer, node, rule, func, args, kwargs):
    """The positional arguments of a call to a function with a SymPy rule (a ufunc, a ``math``
    or builtin function, a registered function), keywords bound by the function's signature.

    The rule takes the leading parameters (as many as its largest argument count); given by
    position or by name, they come back in order, trailing ones left out if the call left them
    out (``np.round(x)`` -> ``[x]``, ``np.round(x, decimals=1)`` -> ``[x, 1]``).
    """
    signature = signature_of(func)
    if signature is None or not kwargs:
        if kwargs:  # no signature to bind keywords by (math.log, math.hypot): positional only
            pname = next(iter(kwargs))
            raise located(UnsupportedSyntaxError,
                          f"keyword arguments in the call to {rule.name}: it takes its arguments "
                          f"by position only (got {pname}=...)",
                          tracer.frame.parsed, node, hint="pass the arguments by position")
        return list(args)
    params = [p for p in signature.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    count = max(rule.nargs) if rule.nargs else len(params)
    supported = [p.name for p in params[:count]]
    values = bind(tracer, node, rule.name, signature, args, kwargs, supported)
    given = [name for name in supported if name in _given(signature, args, kwargs)]
    last = max((supported.index(name) for name in given), default=-1)
    return [values[name] for name in supported[:last + 1]]


def _given(signature, args, kwargs):
    return set(signature.bind_partial(*args, **kwargs).arguments)
