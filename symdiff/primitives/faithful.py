"""faithful: Python arithmetic on traced values, as SymPy expressions that compute what Python
computes — operation for operation, in IEEE double arithmetic.

Takes: an operator (``+ - * / ** // %``) or a function application, its operands (SymPy
expressions) and a way to give a value a name of its own (a statement). Returns: the SymPy
expression of the result, built so that the code printed from it performs the same rounded
operations, in the same grouping, as the user's code.

SymPy canonicalises as it builds: ``x / 0.1`` becomes ``10.0*x`` (a rounded reciprocal: at
x = 0.3, ``x / 0.1`` is 2.9999999999999996 and ``10.0*x`` is 3.0000000000000004, so
``floor`` of them differs), ``(x*0.1)*3`` becomes ``0.3*x``, ``x - x`` becomes ``0``,
``math.sqrt(x)**2`` becomes ``x`` (and loses the ValueError at x < 0), ``math.exp(math.log(x))``
becomes ``x``. Each result here is checked against the one operation it must be; when SymPy
merged or cancelled something, the operands get names of their own (so that SymPy sees atoms),
numbers it folded become ``PyFloat`` atoms (which it does not fold), and a value cancelled against
itself is copied first. Commutativity is free (``a*b`` and ``b*a`` are the same double); only
grouping and folding change results, and those are what the checks catch.

Exact identities are kept: ``x + x`` is ``2*x``, ``x*x`` is ``x**2``, ``x*1``, ``x**1``, ``x**0``
(1.0 for every x in Python, nan included). ``x + 0`` is ``x`` (Python gives 0.0 for -0.0 + 0;
only the sign of a zero sum differs).

Also here: ``FloorDiv`` and ``PyMod``, Python's ``//`` and ``%`` on floats (not ``floor(a/b)``:
``1 // 0.1`` is 9.0 in Python, ``floor(1/0.1)`` is 10), and ``plain``, which turns the atoms back
into SymPy floats for formulas, explanations and derivatives (which need not be bitwise).
"""

import math
import sympy
from sympy import Function
from sympy.core.expr import AtomicExpr
from sympy.printing.precedence import PRECEDENCE


class PyFloat(AtomicExpr):
    """A Python float constant that SymPy must not fold: ``x / 0.1`` stays a division by 0.1.

    An atom with a number's assumptions (real, its sign); no free symbols, so it is a constant
    to every derivative. Printed as the literal itself.
    """

    __slots__ = ("value",)
    is_number = True
    is_real = True
    is_extended_real = True
    is_finite = True
    is_complex = True
    is_comparable = True
    is_commutative = True

    def __new__(cls, value):
        obj = AtomicExpr.__new__(cls)
        obj.value = float(value)
        return obj

    def _hashable_content(self):
        return (self.value, math.copysign(1.0, self.value))  # 0.0 and -0.0 are different constants

    def __getnewargs__(self):
        return (self.value,)

    def __float__(self):
        return self.value

    def _eval_is_positive(self):
        return self.value > 0

    def _eval_is_extended_positive(self):
        return self.value > 0

    def _eval_is_negative(self):
        return self.value < 0

    def _eval_is_extended_negative(self):
        return self.value < 0

    def _eval_is_zero(self):
        return self.value == 0

    def _eval_is_integer(self):
        return self.value.is_integer()

    def _eval_is_rational(self):
        return True

    def _eval_evalf(self, prec):
        return sympy.Float(self.value, prec)

    def as_float(self):
        return sympy.Float(self.value)

    def _sympystr(self, printer):
        return repr(self.value)

    _sympyrepr = _pythoncode = _numpycode = _sympystr

    def _latex(self, printer):
        return printer._print(sympy.Float(self.value))


def as_sympy_extrema(expr):
    """``expr`` with Python's ``max``/``min``/``sum`` as SymPy's ``Max``/``Min``/``Add`` (nested
    ones too)."""
    from .sympy_functions import Hypot, NormRoot, PNormRoot

    if not expr.has(PyExtremum, PySum, NormRoot, PNormRoot, Hypot):
        return expr
    return expr.replace(lambda e: isinstance(e, (PyExtremum, PySum, NormRoot, PNormRoot, Hypot)),
                        lambda e: e.as_sympy())


def plain(expr):
    """``expr`` in SymPy's own terms, for formulas: every ``PyFloat`` a ``Float`` again (SymPy
    then folds them), Python's ``max``/``min`` SymPy's ``Max``/``Min``."""
    if not isinstance(expr, sympy.Basic):
        return expr
    expr = as_sympy_extrema(expr)
    if expr.has(PyFloat):
        expr = expr.xreplace({a: a.as_float() for a in expr.atoms(PyFloat)})
    return expr


class _PythonBinary(Function):
    """A binary operator on floats as Python computes it (``_python``), evaluated on numbers."""

    nargs = 2
    precedence = PRECEDENCE["Mul"] - 1  # printed 'a // b', 'a % b': a product parenthesizes it
    _python = None

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and b != 0:
            return sympy.Float(cls._python(float(a), float(b)))
        return None

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None

    def _eval_evalf(self, prec):
        a, b = (arg.evalf(prec) for arg in self.args)
        if a.is_Number and b.is_Number and b != 0:
            return sympy.Float(self._python(float(a), float(b)), prec)
        return None


class FloorDiv(_PythonBinary):
    """Python's ``a // b``: ``floor`` of the exact quotient, as CPython computes it for floats
    (from ``fmod``; ``1 // 0.1`` is 9.0). A step: derivative 0 almost everywhere."""

    _python = staticmethod(lambda a, b: a // b)

    def fdiff(self, argindex=1):
        return sympy.Integer(0)


class PyMod(_PythonBinary):
    """Python's ``a % b`` on floats: the remainder with the sign of ``b`` (from ``fmod``, exact).
    ``a % b == a - b*(a // b)`` away from the steps, so d/da = 1 and d/db = -(a // b)."""

    _python = staticmethod(lambda a, b: a % b)

    def fdiff(self, argindex=1):
        a, b = self.args
        return sympy.Integer(1) if argindex == 1 else -FloorDiv(a, b)


class PyExtremum(Function):
    """Python's builtin ``max``/``min`` of numbers: the first of the largest (smallest), compared
    left to right, so the order of the arguments counts where a nan is among them
    (``max(nan, 0.0)`` is nan, ``max(0.0, nan)`` is 0.0). SymPy's ``Max``/``Min`` sort their
    arguments. Differentiated as ``Max``/``Min`` (ties share, see ``ad.reverse.local_partial``)."""

    _better = None  # (candidate, best) -> the candidate replaces the best so far
    _sympy = None

    @classmethod
    def eval(cls, *args):
        if all(a.is_Number for a in args):
            best = args[0]
            for arg in args[1:]:
                if cls._better(float(arg), float(best)):
                    best = arg
            return best
        return None

    def as_sympy(self):
        return self._sympy(*self.args)

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


class PyMax(PyExtremum):
    """``max(a, b, ...)`` as Python computes it."""

    _better = staticmethod(lambda candidate, best: candidate > best)
    _sympy = sympy.Max


class PyMin(PyExtremum):
    """``min(a, b, ...)`` as Python computes it."""

    _better = staticmethod(lambda candidate, best: candidate < best)
    _sympy = sympy.Min


class _NumpyExtremumBase(PyExtremum):
    """``numpy.maximum(a, b)`` & co. in the user's order: which of two equal values (0.0 and
    -0.0) or of a nan numpy returns depends on it (``maximum`` returns ``b`` of equals and
    propagates nan; ``fmax`` returns ``a`` of equals and ignores nan). Printed as the numpy
    function with the arguments as written (C: the same choice as a conditional)."""

    nargs = 2
    numpy_name = None
    _pick = None  # (a, b) -> True where the result is a

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number:
            return a if cls._pick(float(a), float(b)) else b
        return None


class NpMaximum(_NumpyExtremumBase):
    numpy_name = "maximum"
    _sympy = sympy.Max
    _pick = staticmethod(lambda a, b: a > b or a != a)


class NpMinimum(_NumpyExtremumBase):
    numpy_name = "minimum"
    _sympy = sympy.Min
    _pick = staticmethod(lambda a, b: a < b or a != a)


class NpFmax(_NumpyExtremumBase):
    numpy_name = "fmax"
    _sympy = sympy.Max
    _pick = staticmethod(lambda a, b: a >= b or b != b)


class NpFmin(_NumpyExtremumBase):
    numpy_name = "fmin"
    _sympy = sympy.Min
    _pick = staticmethod(lambda a, b: a <= b or b != b)


class PySum(Function):
    """Python's ``sum(items, start)``: ``args`` are ``start, *items``. Printed as the call itself,
    so that the generated code adds as the builtin does (left to right; compensated from Python
    3.12 on), which no SymPy ``Add`` (its terms sorted) reproduces. Each term has derivative 1."""

    def fdiff(self, argindex=1):
        return sympy.Integer(1)

    def as_sympy(self):
        return sympy.Add(*self.args)

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


# Functions that raise in Python for some float arguments (math domain errors, overflow).
_PARTIAL = {"log", "log1p", "log2", "log10", "acos", "asin", "acosh", "atanh", "gamma", "loggamma",
            "exp", "exp2", "expm1", "sinh", "cosh", "Floor", "Ceil", "Trunc", "Round", "RoundDigits",
            "FloorDiv", "PyMod", "polygamma"}
_AT_INFINITY = {"sin", "cos", "tan"}  # math.sin(inf) raises ValueError


class Raising(Function):
    """``raise ValueError('x must be positive')``, the user's, as the value of a statement in an
    arm of a ``Branch`` (the arm the condition of an ``if`` on data raises in). ``raising(text)``
    makes one (a class per exception text, ``text`` its Python source: a builtin exception and
    constant arguments); it has no symbols and no derivative, and ``may_raise`` it."""

    text = ""
    _classes = {}

    @classmethod
    def raising(cls, text):
        made = cls._classes.get(text)
        if made is None:
            made = cls._classes[text] = type(f"Raising{len(cls._classes)}", (cls,), {"text": text})
        return made()

    def _sympystr(self, printer):
        return f"raise {self.text}"

    _latex = _sympystr


def may_raise(expr, powers=False, infinities=False):
    """Whether evaluating ``expr`` in Python may raise for some values of its symbols: a division
    by a value, a fractional or symbolic power, a function with a restricted domain (``powers``:
    also an integer power of a value, which overflows with an OverflowError; ``infinities``: also
    ``math.sin``/``cos``/``tan``, which raise at an infinite argument only — the user's forward
    lines, where the function itself would raise)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_Atom:
            continue
        if isinstance(node, Raising):
            return True
        if node.is_Pow:
            base, exponent = node.args
            if not exponent.is_Integer:
                return True  # a fractional or symbolic power
            if base.free_symbols and (exponent.is_negative or (powers and exponent > 1)):
                return True
        elif (type(node).__name__ in _PARTIAL or infinities and type(node).__name__ in _AT_INFINITY) \
                and node.free_symbols:
            return True
        stack.extend(node.args)
    return False


# ---- the operations and what each must look like ----
ADD, SUB, MUL, DIV, POW = "+", "-", "*", "/", "**"


def compute(op, left, right):
    """SymPy's result of ``left op right`` (both SymPy)."""
    if op == ADD:
        return left + right
    if op == SUB:
        return left - right
    if op == MUL:
        return left * right
    if op == DIV:
        return left / right
    return left**right


def is_faithful(op, left, right, result):
    """True when ``result`` is the one operation ``left op right`` (up to commutativity and the
    exact identities in the module docstring). Only cheap structural tests: this runs for every
    operation the traced function performs."""
    one, zero = sympy.S.One, sympy.S.Zero
    if op == ADD or op == SUB:
        other = right if op == ADD else -right
        if result.is_Add:
            return _same(result.args, (left, other))
        if left is zero or left.is_Float and not left:
            return result == other
        if right is zero or right.is_Float and not right:
            return result == left
        return op == ADD and left == right and result == 2 * left
    if op == MUL:
        if any(a.is_Pow and a.exp.is_negative for a in (left, right)):
            return False  # x * (1/a) would print as x/a: another rounding (and 1/0.0 raises)
        if result.is_Mul:
            return _same(result.args, (left, right))
        if left is one:
            return result is right or result == right
        if right is one:
            return result is left or result == left
        return left == right and result.is_Pow and result.base == left and result.exp == 2
    if op == DIV:
        if right is one:
            return result is left or result == left
        reciprocal = sympy.Pow(right, -1)
        if not (right.is_Integer or (reciprocal.is_Pow and reciprocal.base == right
                                     and reciprocal.exp is sympy.S.NegativeOne)):
            return False
        if left is one:
            return result == reciprocal
        return result.is_Mul and _same(result.args, (left, reciprocal))
    # POW
    if right is one:
        return result is left or result == left
    if right is zero or left is one:
        return result is one
    return result.is_Pow and result.base == left and result.exp == right


def _same(args, wanted):
    """``args`` (of a flat SymPy Add/Mul) are exactly the two ``wanted`` operands, in any order."""
    if len(args) != 2:
        return False
    a, b = wanted
    return (args[0] == a and args[1] == b) or (args[0] == b and args[1] == a)


def keeps(result, args):
    """True when a function application ``result`` still computes each of its arguments: every
    compound argument appears intact in it, and no differentiated value dropped out
    (``exp(log(x))`` is ``x``: the ValueError of ``log`` at x <= 0 would be lost)."""
    for arg in args:
        if isinstance(arg, sympy.Basic) and not arg.is_Atom and not result.has(arg):
            return False
    wanted = set().union(*(a.free_symbols for a in args if isinstance(a, sympy.Basic)))
    return wanted <= result.free_symbols


def arithmetic(op, left, right, name, copy):
    """``left op right`` as Python computes it. ``name(value)``: a symbol standing for ``value``
    (a statement of its own); ``copy(symbol)``: a fresh symbol equal to ``symbol``."""
    if not left.is_Atom and not right.is_Atom and may_raise(left) and may_raise(right):
        # both may raise (b**3 * log(a)): Python evaluates the left first, so it raises first;
        # a statement of its own keeps that order (SymPy would sort the two)
        left = name(left)
    result = compute(op, left, right)
    if is_faithful(op, left, right, result):
        return result
    # 1. SymPy merged an operand into the result (flattened, regrouped, simplified): name it.
    named = [name(a) if not a.is_Atom else a for a in (left, right)]
    if named != [left, right]:
        left, right = named
        result = compute(op, left, right)
        if is_faithful(op, left, right, result):
            return result
    # 2. SymPy folded a number (x / 0.1 -> 10.0*x, x*0 -> 0): a PyFloat atom is not folded.
    atoms = [PyFloat(float(a)) if a.is_Number and a.is_finite else a for a in (left, right)]
    if atoms != [left, right]:
        left, right = atoms
        result = compute(op, left, right)
        if is_faithful(op, left, right, result):
            return result
    # 3. A value cancelled against itself (x - x, x / x): Python computes it; so does a copy.
    if left == right and left.free_symbols:
        right = copy(right)
        result = compute(op, left, right)
        if is_faithful(op, left, right, result):
            return result
    return result


__all__ = ["FloorDiv", "PyFloat", "PyMax", "PyMin", "PyMod", "PySum", "arithmetic", "as_sympy_extrema", "is_faithful", "keeps", "may_raise", "plain"]
