"""symdiff: source-to-source symbolic differentiation of Python functions.

``@grad`` reads a function's source, turns each statement into a SymPy expression, applies the
chain rule symbolically (reverse mode, statement by statement) and compiles readable Python code
for the gradient. See ``grad``, ``value_and_grad``, ``check_grad``, ``emit`` (standalone Python or
C source) and ``SymdiffError``.
"""

from .api import Gradient, GradCheck, check_grad, grad, value_and_grad
from .primitives.user_rules import register, unregister
from .errors import (
    ArgumentError,
    ExportError,
    NoSourceError,
    ShapeError,
    StaleSourceError,
    SymdiffError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
    WrtError,
)
from .export import emit
from .api import HVP, JVP, Hessian, JacFwd, Jacobian, hessian, hvp, jacfwd, jacobian, jvp, sparsity

__version__ = "0.1.0"

__all__ = [
    "ArgumentError", "ExportError", "GradCheck", "Gradient", "NoSourceError", "ShapeError",
    "StaleSourceError", "SymdiffError", "UnknownFunctionError", "UnsupportedSyntaxError",
    "WrtError", "check_grad",
    "HVP", "Hessian", "JVP", "JacFwd", "Jacobian", "emit", "grad", "hessian", "hvp", "jacfwd", "jacobian",
    "jvp", "register", "sparsity",
    "unregister",
    "value_and_grad",
]
