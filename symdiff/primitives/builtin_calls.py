"""builtin_calls: the tracer's handling of Python builtins that shape the computation.

Takes: a call to ``range``, ``len``, ``enumerate``, ``zip``, ``reversed``, ``list``, ``tuple``,
``sum``, ``min``, ``max``, ``float`` or ``int`` with its evaluated arguments, or to a method of a
list the function builds (``append``, ``extend``, ``insert``, ``pop``, ``reverse``, ``clear``,
``copy``). Returns: the value — concrete (a range, a length, a list of items to loop over) or
symbolic (``Min``/``Max``, a sum, a truncation). Each handler is ``handler(tracer, node, args,
kwargs)``; each builtin and each list method is one ``registry`` record of kind "structural"
(a method's handler takes the list first).

Lists are the tracer's own Python lists of values: loops are unrolled, so every index is a known
int and a list method does to the traced list exactly what it does in Python.
"""

import numpy as np
import sympy

from ..errors import SymdiffError, UnsupportedSyntaxError
from ..frontend.parse import located
from . import registry
from .faithful import PyMax, PyMin, PySum
from .registry import Primitive
from .sympy_functions import Trunc
from ..frontend.values import describe_value as _describe_value
from ..frontend.values import to_sympy


def _builtin_range(tracer, node, args, kwargs):
    for value, arg_node in zip(args, node.args):
        if isinstance(value, sympy.Basic):
            tracer.check_deferrable(value)
            raise located(
                UnsupportedSyntaxError,
                "range() over a differentiated value: the loop's trip count would depend on it",
                tracer.frame.parsed, arg_node,
                hint="pass the count as an int parameter that is not differentiated "
                "(grad(f, wrt='x')) or use a constant",
            )
    try:
        return range(*args, **kwargs)
    except TypeError as exc:
        raise located(SymdiffError, f"range(): {exc}", tracer.frame.parsed, node,
                      hint="give range() ints") from None


def _builtin_len(tracer, node, args, kwargs):
    if len(args) == 1 and (tracer.is_array(args[0]) or isinstance(args[0], np.ndarray)):
        return tracer.shape(args[0])[0]
    if len(args) == 1:
        tracer.check_guess(args[0])
        if hasattr(args[0], "refusal"):  # x[mask], np.where(cond)[0]: a length known only at run time
            raise args[0].refusal(node)
    if len(args) != 1 or not isinstance(args[0], (tuple, list, range, str)):
        raise located(SymdiffError, f"len() of {_describe_value(args[0] if args else None)}",
                      tracer.frame.parsed, node, hint="take len() of a tuple or list")
    return len(args[0])


def _builtin_passthrough(func):
    def call(tracer, node, args, kwargs):
        try:
            return func(*args, **kwargs)
        except TypeError as exc:
            raise located(SymdiffError, f"{func.__name__}(): {exc}", tracer.frame.parsed, node,
                          hint="check the arguments") from None

    return call


def _builtin_iterating(func, all_positional):
    """``zip``/``enumerate``/``reversed``: their iterables read as the tracer loops over them (a
    list or tuple parameter, an array's rows), the result as a list (``all_positional``: every
    argument is an iterable, else only the first)."""
    def call(tracer, node, args, kwargs):
        args = [tracer._iterate(a, node.args[i] if i < len(node.args) else node)
                if (all_positional or i == 0) else a for i, a in enumerate(args)]
        return list(_builtin_passthrough(func)(tracer, node, args, kwargs))

    return call


def _builtin_sequence(func):
    def call(tracer, node, args, kwargs):
        if len(args) > 1 or kwargs:
            raise located(SymdiffError, f"{func.__name__}() takes one iterable here",
                          tracer.frame.parsed, node, hint="check the call")
        result = func(tracer._iterate(args[0], node.args[0])) if args else func()
        return tracer.own(result) if func is list else result

    return call


def _builtin_sum(tracer, node, args, kwargs):
    if not args or len(args) > 2:
        raise located(SymdiffError, "sum() takes an iterable and an optional start",
                      tracer.frame.parsed, node, hint="check the call")
    items = tracer._iterate(args[0], node.args[0])
    total = args[1] if len(args) == 2 else kwargs.get("start", 0)
    for item in items:
        tracer.require_number(item, node)
    if not any(isinstance(item, sympy.Basic) for item in [*items, total]):
        return sum(items, total)
    if not items:
        return total
    return PySum(to_sympy(total), *[to_sympy(item) for item in items])


def _builtin_minmax(python_func, sympy_func):
    def call(tracer, node, args, kwargs):
        if kwargs:
            raise located(SymdiffError, f"{python_func.__name__}() with keyword arguments",
                          tracer.frame.parsed, node, hint="pass the values only")
        values = tracer._iterate(args[0], node.args[0]) if len(args) == 1 else args
        if not values:
            raise located(SymdiffError, f"{python_func.__name__}() of nothing", tracer.frame.parsed,
                          node, hint="give it at least one value")
        for value in values:
            tracer.require_number(value, node)
        if not any(isinstance(v, sympy.Basic) for v in values):
            return python_func(values)
        if len(values) == 1:
            return values[0]
        return sympy_func(*[to_sympy(v) for v in values])

    return call


def _builtin_number(python_type, symbolic):
    """``float(x)``/``int(x)``: Python's conversion of a number, ``symbolic(x)`` of an expression."""
    name = python_type.__name__

    def call(tracer, node, args, kwargs):
        if len(args) != 1:
            raise located(SymdiffError, f"{name}() of one number", tracer.frame.parsed, node,
                          hint="convert one number")
        (value,) = args
        tracer.require_number(value, node)
        if isinstance(value, sympy.Basic):
            result = symbolic(value)
            if result is not value:  # int(x): Python's truncation (int(nan) raises), in numpy code too
                tracer.math_calls.add(result)
                if python_type is int:
                    tracer.int_results.add(result)
            return result
        return python_type(value)

    return call


def _builtin_dict(tracer, node, args, kwargs):
    """``dict(a=x, b=y)``, ``dict(pairs)``, ``dict(mapping, **more)``: a dict of traced values
    (read-only, as a dict display is), keys as Python computes them (never differentiated)."""
    if len(args) > 1:
        raise located(SymdiffError, "dict() takes at most one positional argument", tracer.frame.parsed,
                      node, hint="pass a mapping or pairs, and keywords")
    items = []
    if args:
        source = args[0]
        items = list(source.items()) if isinstance(source, dict) else [
            tuple(pair) if isinstance(pair, (tuple, list)) else pair
            for pair in tracer._iterate(source, node.args[0])]
        if not all(isinstance(p, tuple) and len(p) == 2 for p in items):
            raise located(SymdiffError, "dict() of something other than a mapping or (key, value) pairs",
                          tracer.frame.parsed, node, hint="pass pairs: dict(zip(keys, values))")
    for key, _ in items:
        if tracer.is_symbolic(key):
            raise located(UnsupportedSyntaxError, "a dict key computed from a differentiated value",
                          tracer.frame.parsed, node, hint="use str or int keys")
    out = dict(items)
    out.update(kwargs)
    return out


_STRUCTURAL = [
    (range, _builtin_range),
    (dict, _builtin_dict),
    (len, _builtin_len),
    (enumerate, _builtin_iterating(enumerate, all_positional=False)),
    (zip, _builtin_iterating(zip, all_positional=True)),
    (reversed, _builtin_iterating(reversed, all_positional=False)),
    (list, _builtin_sequence(list)),
    (tuple, _builtin_sequence(tuple)),
    (sum, _builtin_sum),
    (min, _builtin_minmax(min, PyMin)),
    (max, _builtin_minmax(max, PyMax)),
    (float, _builtin_number(float, lambda value: value)),
    (int, _builtin_number(int, Trunc)),
]
for _func, _handler in _STRUCTURAL:
    registry.add(Primitive(_func.__name__, (_func,), kind="structural", handler=_handler))


# ---- methods of the lists the function builds ----


def _list_method(name, indices=(), iterable=False):
    """``list.<name>``, run on the traced list once the list may change here (``tracer.mutable``).

    ``indices``: positions of arguments that must be ints; ``iterable``: the argument is
    iterated first (``extend`` takes a tuple, a list parameter, an array's rows)."""
    def call(tracer, node, args, kwargs):
        target, *rest = args
        if kwargs:
            raise located(SymdiffError, f"list.{name}() takes no keyword arguments",
                          tracer.frame.parsed, node, hint="pass the arguments by position")
        for i in indices:
            if i < len(rest) and not isinstance(rest[i], (int, np.integer)):
                raise located(
                    UnsupportedSyntaxError,
                    f"list.{name}() at a position that is not an int ({_describe_value(rest[i])})",
                    tracer.frame.parsed, node.args[i] if i < len(node.args) else node,
                    hint="give the position as an int (a loop counter, a constant)",
                )
        if name == "copy":
            return tracer.own(list(target))
        tracer.mutable(target, node)
        if iterable and rest:
            rest[0] = tracer._iterate(rest[0], node.args[0])
        try:
            return getattr(target, name)(*rest)
        except (IndexError, TypeError) as exc:
            raise located(SymdiffError, f"list.{name}(): {exc}", tracer.frame.parsed, node,
                          hint="check the call against the list's length") from None

    return call


_LIST_METHODS = [
    ("append", _list_method("append")),
    ("extend", _list_method("extend", iterable=True)),
    ("insert", _list_method("insert", indices=(0,))),
    ("pop", _list_method("pop", indices=(0,))),
    ("reverse", _list_method("reverse")),
    ("clear", _list_method("clear")),
    ("copy", _list_method("copy")),
]
for _name, _handler in _LIST_METHODS:
    registry.add(Primitive(f"list.{_name}", kind="structural", handler=_handler, method=("list", _name)))
