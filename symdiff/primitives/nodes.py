"""nodes: SymPy nodes built directly, where SymPy's canonicalisation cannot change anything.

Takes: a node class (or an existing node) and arguments that are already canonical SymPy objects.
Returns: the very object SymPy's constructor would return (equal, same hash, same assumptions),
without running it. SymPy's constructors sympify, look up a cache, try to evaluate and deduce
assumptions on every call: 5-50 µs a node, most of a long function's build time. Four places
need no such work:

- ``real_symbol(name)``: ``Symbol(name, real=True)``, its assumptions shared with every other
  real symbol (they are the same facts) instead of deduced again;
- ``apply(cls, *symbols)``: a function of symbols, ``sin(x)``: nothing to evaluate;
- ``rebuilt(node, args)``: a node over new names for its operands (lowering to one operation per
  line): the operands were canonical, and a name stands for each;
- ``outer_derivative(node, i)``: ``node.fdiff(i)`` for a function of one symbol, instantiated from
  the derivative of the same function of a placeholder with the same assumptions (computed once
  per function and argument kind). One placeholder renamed consistently keeps every ordering.

Anything else goes through SymPy's own constructors. ``tests/test_nodes.py`` checks each helper
against them for every function in the table.
"""

import sympy
from sympy.core.basic import Basic

_NARGS = {}  # function class -> the ``nargs`` its applications carry
_TEMPLATES = {}
_PLAIN = {}  # function class -> whether ``apply`` may build it  # (class, argument index, assumptions) -> (placeholder, derivative)


def _symbol_maker():
    """A maker of real symbols that copies a prototype's fields; SymPy's constructor if a copy
    would not be the same symbol (checked once, on this SymPy version)."""
    prototype = sympy.Symbol("_prototype", real=True)
    slots = [slot for klass in type(prototype).__mro__ for slot in getattr(klass, "__slots__", ())
             if slot not in ("name", "_mhash", "__weakref__") and hasattr(prototype, slot)]
    values = [(slot, getattr(prototype, slot)) for slot in slots]

    def make(name):
        obj = Basic.__new__(sympy.Symbol)
        for slot, value in values:
            setattr(obj, slot, value)
        obj.name = name
        return obj

    try:
        copy, real = make("_check"), sympy.Symbol("_check", real=True)
        same = (copy == real and hash(copy) == hash(real) and copy.assumptions0 == real.assumptions0
                and copy.is_real and copy.is_finite is real.is_finite)
    except Exception:  # a SymPy whose symbols are not plain slots: build them the slow way
        same = False
    return make if same else (lambda name: sympy.Symbol(name, real=True))


real_symbol = _symbol_maker()
real_symbol.__doc__ = "``sympy.Symbol(name, real=True)``, without deducing its assumptions again."


def apply(cls, *args):
    """``cls(*args)`` without an evaluation attempt: for arguments that are all symbols."""
    if not _plain(cls):
        return cls(*args, evaluate=False)
    nargs = _NARGS.get(cls)
    if nargs is None:
        nargs = _NARGS[cls] = cls(*args, evaluate=False).nargs
    obj = Basic.__new__(cls, *args)
    obj.nargs = nargs
    return obj


def rebuilt(node, args):
    """``node``'s operation over ``args`` (each a name for the canonical operand it replaces)."""
    if node.is_Add or node.is_Mul:
        return type(node)._from_args(args, node.is_commutative)
    if isinstance(node, sympy.Function) and all(a.is_Atom for a in args):
        return apply(type(node), *args)
    try:
        return node.func(*args, evaluate=False)
    except TypeError:
        return node.func(*args)


def substituted(expr, mapping):
    """``expr`` with the subexpressions in ``mapping`` replaced, every node above them rebuilt
    over its new arguments as it is (``rebuilt``): unlike ``xreplace``, no product or sum is
    flattened or folded, so ``3*t`` with ``t = 0.1*x`` stays ``3*(0.1*x)``, Python's grouping."""
    found = mapping.get(expr)
    if found is not None:
        return found
    if expr.is_Atom:
        return expr
    args = [substituted(a, mapping) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    return rebuilt(expr, args)


def outer_derivative(node, index):
    """``node.fdiff(index)`` for a function of one symbol (``d sin(x)/dx = cos(x)``)."""
    cls = type(node)
    if len(node.args) != 1 or not node.args[0].is_Symbol or not _plain(cls):
        return node.fdiff(index)
    (arg,) = node.args
    assumptions = tuple(sorted(arg.assumptions0.items()))
    key = (cls, index, assumptions)
    found = _TEMPLATES.get(key)
    if found is None:
        placeholder = sympy.Dummy("u", **dict(assumptions))
        applied = cls(placeholder)
        found = _TEMPLATES[key] = (
            (placeholder, applied.fdiff(index)) if type(applied) is cls else None)
    if found is None:  # SymPy rewrites this function of a symbol: ask the node itself
        return node.fdiff(index)
    placeholder, derivative = found
    return _renamed(derivative, placeholder, arg)


def _renamed(expr, old, new):
    if expr == old:
        return new
    if expr.is_Atom:
        return expr
    args = [_renamed(a, old, new) for a in expr.args]
    if expr.is_Pow:
        return sympy.Pow(*args, evaluate=False)
    return rebuilt(expr, args) if (expr.is_Add or expr.is_Mul or isinstance(expr, sympy.Function)) \
        else expr.func(*args)


def _plain(cls):
    """A function class whose instances are nothing but their class and arguments."""
    found = _PLAIN.get(cls)
    if found is None:
        found = _PLAIN[cls] = (issubclass(cls, sympy.Function) and "__new__" not in _own(cls)
                               and not issubclass(cls, sympy.core.function.AppliedUndef))
    return found


def _own(cls):
    """Attributes defined by ``cls`` or its bases below SymPy's core function classes."""
    names = set()
    for klass in cls.__mro__:
        if klass.__module__ == "sympy.core.function":
            break
        names.update(vars(klass))
    return names


__all__ = ["apply", "outer_derivative", "real_symbol", "rebuilt", "substituted"]
