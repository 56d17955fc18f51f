"""values: what the tracer's values are — numbers, symbolic expressions — and how to name them.

Takes: a value met while executing the user's function (a Python or numpy number, a SymPy
expression, a tuple, a module). Returns: whether it is a number or symbolic, its SymPy form, and a
short description for error messages.
"""

import numbers
import types

import numpy as np
import sympy

from ..primitives import scalar as functions


def is_symbolic(value):
    """True for a SymPy expression or condition that depends on a symbol."""
    return isinstance(value, sympy.Basic) and bool(value.free_symbols)


def is_number(value):
    """True for a real number, concrete (Python/numpy) or SymPy."""
    if isinstance(value, (bool, numbers.Real, np.floating, np.integer, np.bool_)):
        return True
    return isinstance(value, sympy.Expr)


def to_sympy(value):
    """A number as SymPy: Python ints exact, floats at full double precision."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, (bool, np.bool_)):
        return sympy.Integer(int(value))
    if isinstance(value, (int, np.integer)):
        return sympy.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        constant = functions.CONSTANT_VALUES.get(float(value))
        return constant if constant is not None else sympy.Float(float(value))
    raise TypeError(value)


def describe_value(value):
    """A few words for ``value`` in an error message."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} values"
    if isinstance(value, sympy.Basic) and not isinstance(value, sympy.Expr):
        return "a condition"
    if isinstance(value, types.ModuleType):
        return f"the module {value.__name__!r}"
    if isinstance(value, sympy.Expr) or is_number(value):
        return "a number"  # (not SymPy's class name: the user's code has floats)
    return f"a {type(value).__name__}"
