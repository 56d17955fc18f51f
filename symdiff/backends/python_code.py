"""python_code: a schedule -> Python source text.

Takes: a ``Schedule`` and the program it came from. Returns: the source of ``<name>_grad`` and
``<name>_value_and_grad`` (readable, one operation per line, ``# line N: <source>`` comments),
the modules it imports and the guarded entry around it (``GeneratedCode``). Compiling that text
into functions is ``runtime.compiled``'s.
"""

import builtins
import math
import os
import re
from dataclasses import dataclass, field, replace

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pycode import PythonCodePrinter

from ..primitives.arrays import AddInto, ScatterItems, Slot, format_key, shape_of
from ..errors import SymdiffError
from ..primitives import registry
from .. import pytrees
from ..primitives.faithful import FloorDiv, PyMod, Raising, may_raise
from .blocks import BlockPrinter
from .safe_text import python_comment, python_docstring
from ..lower.schedule import ForBlock, IfBlock, Line, inline_single_use, lines_outside_loops, names_read, walk_lines

# ---------------------------------------------------------------------------------------------
# Printers: SymPy's Python/NumPy printers, with numbers printed exactly and module names aliased.
# ---------------------------------------------------------------------------------------------

class SumsAsDifferences:
    """``_print_Add`` for the Python and C printers."""

    def _print_Add(self, expr, order=None):
        """Terms in SymPy's stored order (no re-sorting), the constant last, '-' for negatives;
        ``b - a`` rather than ``-a + b`` (one operation, not two; the same number exactly)."""
        terms = sorted(expr.args, key=lambda t: t.is_Number)
        if len(terms) > 1 and terms[0].could_extract_minus_sign() and not terms[1].could_extract_minus_sign():
            terms[0], terms[1] = terms[1], terms[0]
        text = ""
        for i, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            # a sum inside a sum (kept as grouped, see nodes.substituted) keeps its parentheses
            shown = self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
            if i == 0:
                # a leading negative product prints its own sign (it may negate a sum instead)
                text = (self._print(term) if term.is_Mul else f"-{shown}") if negative else shown
            else:
                text += f" - {shown}" if negative else f" + {shown}"
        return text


class Spelling:
    """A printer mixin (Python and C): ``expr`` spelled as its registry record says. The printer
    defines ``call(what, *argument_texts)`` (and ``name``)."""

    def spell(self, spelling, expr):
        """``expr`` spelled as a record says: a name or a ``Helper`` called with its printed
        arguments, or ``spelling(printer, expr)``."""
        if isinstance(spelling, (str, registry.Helper)):
            return self.call(spelling, *map(self.text, expr.args))
        return spelling(self, expr)

    def text(self, expr):
        """The printed text of ``expr``."""
        return self._print(expr)


class _Printing(Spelling, SumsAsDifferences):
    """Shared printer behaviour: exact floats, aliased modules, helpers it needs."""

    def __init__(self, aliases):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self.aliases = aliases  # {"math": "math", "numpy": "numpy"} or aliased names
        self.used_modules = set()
        self.helpers = set()
        self.printed = {}  # expression -> its text (both generated functions share their lines)
        self.shape_names = {}  # an array parameter's shape -> "x.shape"
        self.callable_names = {}  # a registered function's SymPy class -> its name in the code
        self.shapes = {}  # symbol -> the shape of the array it names (absent: a number)
        self.dtype_name = None  # the name holding the array parameters' dtype (None: float64)
        self.dtype_used = False  # whether the printed code reads it (then it is defined first)

    def _print(self, expr, **kwargs):
        """A function whose registry record spells it for this code (``math.cbrt``, ``numpy.cbrt``,
        a helper, ``float(math.floor(x))``): as the record says; anything else as the printer's own
        rules say."""
        spelling = registry.print_as(type(expr), self.library)
        if spelling is not None:
            return self.spell(spelling, expr)
        return super()._print(expr, **kwargs)

    # ---- what a record's spelling uses (registry.Primitive.print_as; spell, text: Spelling) ----
    def name(self, what):
        """How this code refers to ``what``: a dotted name (``math.floor``, ``numpy.nan``), a builtin
        (``float``) as aliased, or a ``Helper`` (included in the code)."""
        if isinstance(what, registry.Helper):
            return self._helper(what.name)
        return self._module_format(what)

    def call(self, what, *texts):
        """``what`` (see ``name``) called with the printed arguments ``texts``."""
        return f"{self.name(what)}({', '.join(texts)})"

    def not_supported(self, expr):
        """The printer's error for an ``expr`` it cannot spell."""
        return self._print_not_supported(expr)

    def _module_format(self, fqn, register=True):
        module, _, rest = fqn.partition(".")
        if module in ("math", "numpy") and rest:
            self.used_modules.add(module)
            return f"{self.aliases[module]}.{rest}"
        if not rest and fqn in self.aliases:  # a builtin (SymPy prints Min as min): as aliased
            return self.aliases[fqn]
        return super()._module_format(fqn, register)

    def _builtin(self, name):
        """How the generated code calls the builtin ``name`` (``float``, ``round``, ``abs``)."""
        return self.aliases.get(name, name)

    def _print_Float(self, expr):
        value = float(expr)
        if math.isnan(value):
            return self._module_format(f"{self.library}.nan")
        if math.isinf(value):
            return ("-" if value < 0 else "") + self._module_format(f"{self.library}.inf")
        return repr(value)

    def _print_Rational(self, expr):
        value = expr.p / expr.q
        if float(repr(value)) * expr.q == expr.p and len(repr(value)) <= 8:
            return repr(value)
        return f"{expr.p}/{expr.q}"  # SymPy's printers parenthesize it as a quotient

    def _print_Half(self, expr):
        return "0.5"

    numpy_ufuncs = {}  # how the user computed a node: a numpy ufunc's name, or "**" (Python's)
    ieee = False  # see ArrayPrinter

    def _python_pow(self, expr):
        """A power the user wrote with Python's ``**`` (scalar code): ``x**-1`` stays a power
        (an OverflowError where it overflows, as Python's; ``1/x`` gives inf), a fractional
        power of a value that may be negative is ``_pow`` (Python's ``**``, raising ValueError
        where that would be complex). None: any other power."""
        if self.ieee or self.shapes or self.numpy_ufuncs.get(expr) != "**":
            return None
        base, exponent = expr.args
        if exponent.is_Integer and exponent < 0:
            return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=False)}**{exponent}"
        if not _real_power(base, exponent):
            if self.bare:
                return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=False)}**{self._print(exponent)}"
            return f"{self._helper('_pow')}({self._print(base)}, {self._print(exponent)})"
        return None

    bare = False  # printing a line run only for what it raises (see _body)

    def _print_NormRoot(self, expr):
        return self._print(sympy.sqrt(expr.args[0]))

    def _print_NormPower(self, expr):
        return f"{self.parenthesize(expr.args[0], PRECEDENCE['Pow'], strict=True)}**0.5"

    def _print_PNormRoot(self, expr):
        base, root = expr.args
        return f"{self.parenthesize(base, PRECEDENCE['Pow'], strict=True)}**{self._print(root)}"

    def _print_PyFloat(self, expr):
        return self._print_Float(expr.as_float())

    def _binary(self, expr, operator):
        a, b = (self.parenthesize(arg, PRECEDENCE["Mul"]) for arg in expr.args)
        return f"{a} {operator} {b}"

    def _print_FloorDiv(self, expr):
        return self._binary(expr, "//")

    def _print_PyMod(self, expr):
        return self._binary(expr, "%")

    # ---- structural array operations (arrays.py); operands are names after scheduling ----
    def _np(self, name):
        return self._module_format("numpy." + name)

    def _helper(self, name):
        """The name of the registry's helper ``name`` (``_scatter``) in this code, which will
        include it (and the helpers and module its source needs)."""
        helper = registry.helper(name)
        if helper.python is None:
            raise NotImplementedError(f"the helper {helper.name} has no Python source")
        for needed in helper.needs:
            self._helper(needed)
        self.helpers.add(helper.python_name)
        if helper.module:
            self.used_modules.add(helper.module)
        return self.aliases.get(helper.python_name, helper.python_name)

    def _shape(self, shape):
        """A shape in generated code: ``x.shape`` when it is an array parameter's shape (the
        code then does not spell out the array's size), else the literal tuple."""
        shape = tuple(shape)
        return self.shape_names.get(shape, repr(shape))

    # ---- dtypes: arrays built from numbers take the array parameters' (float32 stays float32) ----
    def _is_array(self, expr):
        return bool(shape_of(expr, self.shapes))

    def _dtype(self):
        self.dtype_used = True
        return self.dtype_name

    def _from_numbers(self, expr, text):
        """``text`` (an operand of a structural op) turned into an array of ``expr.shape``: a
        number is made an array of the computation's dtype first (``_full``)."""
        if self.dtype_name is None or self._is_array(expr.operands[0]):
            return f"{self._np('broadcast_to')}({text}, {self._shape(expr.shape)})"
        return f"{self._helper('_full')}({text}, {self._shape(expr.shape)}, {self._dtype()})"

    def _buffer_dtype(self, values, texts):
        """The dtype argument of a zeros buffer the ``values`` are written into: theirs, with the
        computation's dtype when none of them is an array (a number alone would be float64)."""
        if self.dtype_name is None:
            return None
        if any(v.is_Symbol and self._is_array(v) for v in values):
            return f"{self._np('result_type')}({', '.join(texts)})"
        return f"{self._np('result_type')}({', '.join([self._dtype(), *texts])})"

    def _ops(self, expr):
        """The operands of a structural operation; a number as a float literal, so that an array
        built from it (``broadcast_to(1.0, shape)``, ``array([0.0, 2.0])``) is float64, not int."""
        return [repr(float(a)) if a.is_Number else self._print(a) for a in expr.operands]

    def _axis_text(self, axis):
        if axis is None:
            return ""
        return f", axis={axis[0] if len(axis) == 1 else axis}"

    def _reduction(self, name, expr):
        return f"{self._np(name)}({self._ops(expr)[0]}{self._axis_text(expr.params['axis'])})"

    def _print_ArraySum(self, expr):
        return self._reduction("sum", expr)

    def _print_ArrayMax(self, expr):
        return self._reduction("max", expr)

    def _print_ArrayMin(self, expr):
        return self._reduction("min", expr)

    def _print_ArrayProd(self, expr):
        return self._reduction("prod", expr)

    def _print_ProdOthers(self, expr):
        x, prod, scale = self._ops(expr)
        scale = "" if expr.operands[2] == 1 else f", {scale}"
        return f"{self._helper('_prod_others')}({x}, {prod}, {expr.params['axis']}{scale})"

    def _print_ProdOthersJvp(self, expr):
        x, b, prod = self._ops(expr)
        return f"{self._helper('_prod_others_jvp')}({x}, {b}, {prod}, {expr.params['axis']})"

    def _print_MatMul(self, expr):
        a, b = self._ops(expr)
        return f"({a} @ {b})"

    _print_BatchMatMul = _print_MatMul

    def _print_Outer(self, expr):
        a, b = self._ops(expr)
        return f"{self._np('outer')}({a}, {b})"

    def _print_Transpose(self, expr):
        (x,) = self._ops(expr)
        axes = expr.params["axes"]
        return f"{x}.T" if axes is None else f"{self._np('transpose')}({x}, {axes})"

    def _print_Reshape(self, expr):
        (x,) = self._ops(expr)
        return f"{self._np('reshape')}({x}, {self._shape(expr.shape)})"

    def _print_GetItem(self, expr):
        (x,) = self._ops(expr)
        return f"{x}[{format_key(expr.params['key'])}]"

    def _print_Cholesky(self, expr):
        return f"{self._np('linalg.cholesky')}({self._ops(expr)[0]})"

    def _print_EighValues(self, expr):
        return f"{self._np('linalg.eigh')}({self._ops(expr)[0]})[0]"

    def _print_EighVectors(self, expr):
        return f"{self._np('linalg.eigh')}({self._ops(expr)[0]})[1]"

    def _print_EighAdjoint(self, expr):
        return f"{self._helper('_eigh_adjoint')}({', '.join(self._ops(expr))})"

    def _print_LowerGradient(self, expr):
        (s,) = self._ops(expr)
        return f"({self._np('tril')}({s} + {s}.T, -1) + {self._np('diag')}({self._np('diag')}({s})))"

    def _print_LowerGradientAdjoint(self, expr):
        (y,) = self._ops(expr)
        strict = f"{self._np('tril')}({y}, -1)"
        return f"({strict} + {strict}.T + {self._np('diag')}({self._np('diag')}({y})))"

    def _print_HalfDiagonalTril(self, expr):
        (x,) = self._ops(expr)
        return f"({self._np('tril')}({x}) - 0.5*{self._np('diag')}({self._np('diag')}({x})))"

    def _print_Inv(self, expr):
        return f"{self._np('linalg.inv')}({self._ops(expr)[0]})"

    def _print_Solve(self, expr):
        return f"{self._np('linalg.solve')}({', '.join(self._ops(expr))})"

    def _print_Pinv(self, expr):
        return f"{self._np('linalg.pinv')}({self._ops(expr)[0]})"

    def _print_SvdValues(self, expr):
        return f"{self._np('linalg.svd')}({self._ops(expr)[0]}, compute_uv=False)"

    def _print_SvdValuesAdjoint(self, expr):
        return f"{self._helper('_svd_values_adjoint')}({', '.join(self._ops(expr))})"

    def _print_Det(self, expr):
        return f"{self._np('linalg.det')}({self._ops(expr)[0]})"

    def _print_LogAbsDet(self, expr):
        return f"{self._np('linalg.slogdet')}({self._ops(expr)[0]})[1]"

    def _print_SignDet(self, expr):
        return f"{self._np('linalg.slogdet')}({self._ops(expr)[0]})[0]"

    def _print_Einsum(self, expr):
        operands = self._ops(expr)
        via = expr.params["via"]
        if via is not None:  # numpy.tensordot(a, b, axes=...): what the user called
            return f"{self._np('tensordot')}({', '.join(operands)}, axes={via!r})"
        return f"{self._np('einsum')}({expr.params['spec']!r}, {', '.join(operands)})"

    def _print_ArgSort(self, expr):
        return f"{self._np('argsort')}({self._ops(expr)[0]}, axis={expr.params['axis']})"

    def _print_CumSum(self, expr):
        (x,) = self._ops(expr)
        return f"{self._np('cumsum')}({x}, axis={expr.params['axis']})"

    def _print_RevCumSum(self, expr):
        (x,) = self._ops(expr)
        axis = expr.params["axis"]
        flip = self._np("flip")
        return f"{flip}({self._np('cumsum')}({flip}({x}, {axis}), axis={axis}), {axis})"

    def _print_Take(self, expr):
        x, *indices = self._ops(expr)
        return f"{x}[{self._key_text(expr.params['key'], indices)}]"

    def _print_Zeros(self, expr):
        dtype = "" if self.dtype_name is None else f", {self._dtype()}"
        return f"{self._np('zeros')}({self._shape(expr.shape)}{dtype})"

    def _print_AddAt(self, expr):
        value, *indices = self._ops(expr)
        key = self._key_text(expr.params["key"], indices, literal=True)
        key = f"({key},)" if len(expr.params["key"]) == 1 else f"({key})"
        dtype = "" if self.dtype_name is None or self._is_array(expr.operands[0]) else f", {self._dtype()}"
        return f"{self._helper('_add_at')}({value}, {self._shape(expr.shape)}, {key}{dtype})"

    def _print_LogSumExp(self, expr):
        a, *b = self._ops(expr)
        axis = expr.params["axis"]
        args = [a] + ([] if axis is None else [f"axis={axis[0] if len(axis) == 1 else axis}"]) + [f"b={v}" for v in b]
        return f"{self._helper('_logsumexp')}({', '.join(args)})"

    def _print_SetItem(self, expr):
        x, value, *indices = self._ops(expr)
        key = self._key_text(expr.params["key"], indices, literal=True)
        key = f"({key},)" if len(expr.params["key"]) == 1 else f"({key})"
        return f"{self._helper('_set_item')}({x}, {key}, {value})"

    def _key_text(self, key, indices, literal=False):
        """An index with int-array operands (``Slot``s) as Python text: ``x[i, :]``'s inside,
        or (``literal``) the parts of a tuple (``i, slice(None, None, None)``)."""
        parts = []
        for part in key:
            if isinstance(part, Slot):
                parts.append(indices[part.k])
            elif literal:
                parts.append(self._key_literal(part))
            else:
                parts.append(format_key((part,)))
        return ", ".join(parts)

    def _print_Scatter(self, expr):
        (value,) = self._ops(expr)
        key = self._key_literal(expr.params["key"])
        dtype = "" if self.dtype_name is None or self._is_array(expr.operands[0]) else f", {self._dtype()}"
        return f"{self._helper('_scatter')}({value}, {self._shape(expr.shape)}, {key}{dtype})"

    def _print_ScatterItems(self, expr):
        values = self._ops(expr)
        keys = expr.params["keys"]
        if len(expr.shape) == 1 and len(keys) == expr.shape[0] and keys == tuple((i,) for i in range(expr.shape[0])):
            dtype = self._buffer_dtype(expr.operands, values)
            return f"{self._np('array')}([{', '.join(values)}]{'' if dtype is None else ', ' + dtype})"
        dtype = "" if self.dtype_name is None or any(
            v.is_Symbol and self._is_array(v) for v in expr.operands) else f", {self._dtype()}"
        return (f"{self._helper('_scatter_items')}({self._shape(expr.shape)}, "
                f"{self._key_literal(keys)}, ({', '.join(values)},){dtype})")

    def _key_literal(self, key):
        """An index (tuples of ints, slices) as a literal: ``repr``, its ``slice``/``Ellipsis``
        spelled as aliased when a user's name took the builtin's."""
        text = repr(key)
        for name in ("slice", "Ellipsis"):
            alias = self.aliases.get(name, name)
            if alias != name:
                text = re.sub(rf"(?<![\w.]){name}\b", alias, text)
        return text

    def _print_Concatenate(self, expr):
        return f"{self._np('concatenate')}(({', '.join(self._ops(expr))},), axis={expr.params['axis']})"

    def _print_Stack(self, expr):
        parts = self._ops(expr)
        if expr.params["axis"] == 0 and expr.shape == (len(parts),):
            return f"{self._np('array')}([{', '.join(parts)}])"
        return f"{self._np('stack')}(({', '.join(parts)},), axis={expr.params['axis']})"

    def _print_BroadcastTo(self, expr):
        (x,) = self._ops(expr)
        return self._from_numbers(expr, x)

    def _print_Unbroadcast(self, expr):
        (x,) = self._ops(expr)
        shape, source = expr.shape, expr.params["source"]
        lead = len(source) - len(shape)
        kept = tuple(lead + i for i, n in enumerate(shape) if n == 1 and source[lead + i] != 1)
        axes = tuple(range(lead)) + kept
        if self.dtype_name is None or self._is_array(expr.operands[0]):
            full = f"{self._np('broadcast_to')}({x}, {self._shape(source)})"
        else:
            full = f"{self._helper('_full')}({x}, {self._shape(source)}, {self._dtype()})"
        text = f"{self._np('sum')}({full}, axis={axes})"
        return f"{self._np('reshape')}({text}, {self._shape(shape)})" if kept else text

    def _print_ExpandTo(self, expr):
        (x,) = self._ops(expr)
        axis = expr.params["axis"]
        if axis is not None and self._is_array(expr.operands[0]):
            x = f"{self._np('expand_dims')}({x}, {axis})"
        return self._from_numbers(expr, x)

    def _print_ExtremeGrad(self, expr):
        x, best, bar = self._ops(expr)
        return f"{self._helper('_extreme_grad')}({x}, {best}, {bar}, {expr.params['axis']})"

    def _print_Assemble(self, expr):
        """``ad.structured``'s Jacobian from its terms: ``_jacobian(shape, picks=..., outers=...)``."""
        operands = iter(self._ops(expr))
        parts = {"pick": [], "rank1": [], "dense": []}
        for kind, *columns in expr.params["layout"]:
            taken = [next(operands) for _ in range(1 if kind == "dense" else 2)]
            parts[kind].append(f"({', '.join([*map(str, columns), *taken])})")
        args = [repr(tuple(expr.shape))]
        for kind, name in (("pick", "picks"), ("rank1", "outers"), ("dense", "blocks")):
            if parts[kind]:
                args.append(f"{name}=({', '.join(parts[kind])},)")
        return f"{self._helper('_jacobian')}({', '.join(args)})"

    def _print_Entries(self, expr):
        """``ad.structured``'s sparse Jacobian data: ``_entries(size, ((positions, values, written),
        ...), zeros)``, positions a constant or a ``slice``."""
        operands = iter(self._ops(expr))
        parts = []
        for kind, assign, at in expr.params["layout"]:
            where = next(operands) if at is None else f"{self.aliases.get('slice', 'slice')}{at}"
            taken = [where, next(operands), repr(bool(assign))]
            if kind == "some":
                taken.append(next(operands))
            parts.append(f"({', '.join(taken)})")
        picks = f"({', '.join(parts)},)" if parts else "()"
        return f"{self._helper('_entries')}({expr.shape[0]}, {picks}, {expr.params['zeros']!r})"

    def _print_RegisteredBase(self, expr):
        """A function added with ``symdiff.register``: call it by the name the program gave it."""
        name = self.callable_names.get(type(expr), expr._label)
        return f"{name}({', '.join(map(self._print, expr.args))})"


def over_square(printer, expr):
    """``u/v/v`` for ``u*v**-2`` (the quotient rule's ``-u/v**2``): ``v**2`` underflows to 0
    (v = 1e-170) or overflows where the quotient does not. None: not such a product, or one the
    user wrote (printed as written)."""
    if getattr(printer, "numpy_ufuncs", {}).get(expr) is not None:
        return None
    squares = [f for f in expr.args if f.is_Pow and f.exp == -2 and f.base.is_Symbol]
    if len(squares) != 1:
        return None
    base = printer._print(squares[0].base)
    rest, sign = expr / squares[0], ""
    if rest.could_extract_minus_sign():
        rest, sign = -rest, "-"
    return f"{sign}{printer.parenthesize(rest, PRECEDENCE['Mul'])}/{base}/{base}"


class MathPrinter(_Printing, PythonCodePrinter):
    """Scalar code over the ``math`` module."""

    library = "math"

    def _print_Mul(self, expr):
        """``2.0*x`` rather than ``2*x``: no int-to-float conversion when the code runs; ``x/3``
        for a third (as Python divides; ``(1/3)*x`` rounds twice)."""
        text = over_square(self, expr)
        if text is not None:
            return text
        coeff, rest = expr.as_coeff_Mul()
        quotient = _print_quotient(self, coeff, rest)
        if quotient is not None:
            return quotient
        exact = coeff.is_Rational and not coeff.is_Integer and "/" not in self._print(abs(coeff))
        if (coeff.is_Integer and abs(coeff) > 1 or exact) and not rest.is_Number:
            sign = "-" if coeff < 0 else ""
            text = self._print(rest)
            if precedence(rest) < PRECEDENCE["Mul"]:
                text = f"({text})"
            if rest.is_Pow and rest.exp == -1 and text.startswith("1/"):
                return f"{sign}{float(abs(coeff))!r}{text[1:]}"  # 0.5/f, not 0.5*1/f
            return f"{sign}{float(abs(coeff))!r}*{text}"  # 0.75*x, not (0.75)*x
        return super()._print_Mul(expr)

    def _print_Pow(self, expr, rational=False):
        """A fractional power of a value that may be negative as ``math.pow``: a ValueError
        there (as math.sqrt/math.pow raise), never the complex number ``x ** 0.5`` gives."""
        text = self._python_pow(expr)
        if text is not None:
            return text
        base, exponent = expr.args
        if _real_power(base, exponent):
            return super()._print_Pow(expr, rational=rational)
        return f"{self._module_format('math.pow')}({self._print(base)}, {self._print(exponent)})"


class ArrayPrinter(_Printing, NumPyPrinter):
    """Elementwise code over ``numpy`` (works on scalars and arrays alike)."""

    library = "numpy"

    # The IEEE fallback of scalar code takes square roots as |sqrt(x)|: +0.0 where sqrt(-0.0) is
    # -0.0, so d sqrt(x)/dx = 0.5/sqrt(x) is +inf at -0.0 as at 0.0 (the fallback only computes
    # gradients: the value is the forward pass's, in Python).
    ieee = False

    def _print_Pow(self, expr, rational=False):
        """Fractional powers of values that may be negative as ``numpy.power`` (nan there, as
        numpy gives, even for a Python float, whose ``**`` would give a complex number)."""
        text = self._python_pow(expr)
        if text is not None:
            return text
        base, exponent = expr.args
        if exponent == -1:
            return f"1/{self.parenthesize(base, sympy.printing.precedence.PRECEDENCE['Pow'])}"
        if exponent == sympy.S.Half:
            root = f"{self._module_format('numpy.sqrt')}({self._print(base)})"
            return f"{self._module_format('numpy.abs')}({root})" if self.ieee else root
        if exponent == -sympy.S.Half and not self.ieee:
            return f"1/{self._module_format('numpy.sqrt')}({self._print(base)})"
        if exponent.is_Integer:
            return f"{self.parenthesize(base, sympy.printing.precedence.PRECEDENCE['Pow'])}**{exponent}"
        if not _real_power(base, exponent) or self.ieee:
            return f"{self._np('power')}({self._print(base)}, {self._print(exponent)})"
        return super()._print_Pow(expr, rational=rational)

    math_calls = ()  # nodes the user computed with ``math`` (see Program.math_calls)

    numpy_ufuncs = {}  # nodes the user computed with numpy's arithmetic ufuncs: node -> name

    def _print(self, expr, **kwargs):
        if self.math_calls and isinstance(expr, sympy.Basic) and expr in self.math_calls:
            return self._math._print(expr, **kwargs)  # math.sqrt raises where numpy.sqrt gives nan
        if self.numpy_ufuncs and isinstance(expr, sympy.Basic) and self.numpy_ufuncs.get(expr, "**") != "**":
            operands = _ufunc_operands(self.numpy_ufuncs[expr], expr)
            if operands is not None:  # np.divide(x, y): numpy's arithmetic for Python floats too
                name = self.numpy_ufuncs[expr]
                return f"{self._np(name)}({', '.join(self._print(a) for a in operands)})"
        return super()._print(expr, **kwargs)

    def use_math_for(self, nodes):
        """Print ``nodes`` with the ``math`` module (a printer of its own, sharing the imports)."""
        self.math_calls = nodes
        self._math = MathPrinter(self.aliases)
        self._math.used_modules = self.used_modules
        self._math.helpers = self.helpers

    def _print_Piecewise(self, expr):
        if not self.shapes or not shape_of(expr, self.shapes):
            # a number: a conditional expression (numpy.where gives a 0-d array, and computes
            # both arms: 1/(2*n) where n is 0 warns)
            return self._conditional(expr)
        pairs = list(expr.args)
        text = self._print(pairs[-1][0])
        if pairs[-1][1] != sympy.true:
            text = f"{self._np('where')}({self._print(pairs[-1][1])}, {text}, {self._np('nan')})"
        for value, cond in reversed(pairs[:-1]):
            text = f"{self._np('where')}({self._print(cond)}, {self._print(value)}, {text})"
        return text

    def _print_Mul(self, expr):
        """Computed factors first, names next, the number last: ``exp(s)*cos(t)*x*2``.

        numpy reuses a temporary's buffer for the next product (``a*b*c`` allocates once); a
        product that starts with a name (``2*x``) needs a fresh array first.
        """
        text = over_square(self, expr)
        if text is not None:
            return text
        coeff, rest = expr.as_coeff_Mul()
        quotient = _print_quotient(self, coeff, rest)
        if quotient is not None:
            return quotient
        factors = list(rest.args) if rest.is_Mul else [rest]
        if coeff is sympy.S.One and len(factors) < 2 or any(
                f.is_Pow and f.exp.is_negative for f in factors):
            return super()._print_Mul(expr)
        computed = [f for f in factors if not f.is_Atom]
        names = [f for f in factors if f.is_Atom]
        if coeff < 0 and any(f.is_Add for f in computed):
            # -2*(1 - x) as (x - 1)*2: a negated sum costs nothing, a negated array one pass
            first = next(i for i, f in enumerate(computed) if f.is_Add)
            computed[first] = sympy.Add(*[-t for t in computed[first].args], evaluate=False)
            coeff = -coeff
        parts = [self.parenthesize(f, PRECEDENCE["Mul"]) for f in computed + names]
        text = "*".join(parts)
        if coeff == -1:
            return f"-{text}"
        if coeff != 1:
            number = self._print(abs(coeff))
            text = f"{text}*{number}"
            return f"-{text}" if coeff < 0 else text
        return text

    def _conditional(self, expr):
        """A Piecewise of numbers as Python's conditional expression, its conditions with
        Python's comparison operators (as the user wrote them; re-readable by grad(grad(f)))."""
        *pairs, (last, last_cond) = expr.args
        text = self._print(last)
        if last_cond != sympy.true:
            text = f"({text} if {self._condition(last_cond)} else {self._np('nan')})"
        for value, cond in reversed(pairs):
            text = f"(({self._print(value)}) if {self._condition(cond)} else ({text}))"
        return text

    def _condition(self, cond):
        if isinstance(cond, sympy.core.relational.Relational):
            a, b = (self.parenthesize(arg, PRECEDENCE["Add"]) for arg in cond.args)
            return f"({a} {cond.rel_op} {b})"
        if isinstance(cond, (sympy.And, sympy.Or)):
            joiner = " and " if isinstance(cond, sympy.And) else " or "
            return "(" + joiner.join(self._condition(c) for c in cond.args) + ")"
        if isinstance(cond, sympy.Not):
            return f"(not {self._condition(cond.args[0])})"
        return self._print(cond)

    def _print_Max(self, expr):
        return self._fold("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("numpy.minimum", expr.args)

    def _fold(self, name, args):
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{self._module_format(name)}({text}, {self._print(arg)})"
        return text


def _ufunc_operands(name, expr):
    """The operands of numpy's ufunc ``name`` that computed ``expr`` (``divide``: ``a*b**-1`` ->
    ``(a, b)``), or None where ``expr`` does not have the shape the ufunc gives."""
    if name == "add" and expr.is_Add and len(expr.args) == 2:
        return expr.args
    if name == "subtract" and expr.is_Add and len(expr.args) == 2:
        for kept, negated in (expr.args, expr.args[::-1]):
            if negated.is_Mul and negated.args[0] is sympy.S.NegativeOne and len(negated.args) == 2:
                return kept, negated.args[1]
        return None
    if name == "negative" and expr.is_Mul and len(expr.args) == 2 and expr.args[0] is sympy.S.NegativeOne:
        return (expr.args[1],)
    if name == "multiply" and expr.is_Mul and len(expr.args) == 2:
        return expr.args
    if name in ("mod", "remainder", "floor_divide"):
        return expr.args if isinstance(expr, (PyMod, FloorDiv)) else None
    if name in ("divide", "true_divide", "reciprocal"):
        if expr.is_Pow and expr.exp is sympy.S.NegativeOne:
            return (expr.base,) if name == "reciprocal" else (sympy.Float(1.0), expr.base)
        if name == "reciprocal" or not (expr.is_Mul and len(expr.args) == 2):
            return None
        a, b = expr.args
        for top, bottom in ((a, b), (b, a)):
            if bottom.is_Pow and bottom.exp is sympy.S.NegativeOne:
                return top, bottom.base
            if bottom.is_Rational and not bottom.is_Integer and bottom.p == 1:
                return top, sympy.Float(bottom.q)
        return None
    if name == "square" and expr.is_Pow and expr.exp == 2:
        return (expr.base,)
    if name in ("power", "float_power") and expr.is_Pow:
        return expr.args
    return None


def _real_power(base, exponent):
    """Whether Python's ``base ** exponent`` is real whatever the base: an integer exponent
    (also as a float), a square root (printed as ``sqrt``, which raises or gives nan), or a base
    that cannot be negative."""
    if exponent.is_Integer or exponent in (sympy.S.Half, -sympy.S.Half):
        return True
    if exponent.is_Float and float(exponent).is_integer():
        return True
    return bool(base.is_nonnegative)


def _print_quotient(printer, coeff, rest):
    """``x/3`` for ``Rational(1, 3)*x`` (and ``-x/3``) where 1/3 has no exact float: the one
    rounding of Python's ``x / 3``. None for any other product."""
    if not (coeff.is_Rational and not coeff.is_Integer and abs(coeff.p) == 1) or rest.is_Number:
        return None
    if coeff.q & (coeff.q - 1) == 0:  # a power of two: 0.25*x is exact
        return None
    text = printer.parenthesize(rest, PRECEDENCE["Mul"])
    return f"{'-' if coeff < 0 else ''}{text}/{coeff.q}"


def make_printer(library, aliases, ieee=False):
    printer = (ArrayPrinter if library == "numpy" else MathPrinter)(aliases)
    printer.ieee = ieee
    return printer


# ---------------------------------------------------------------------------------------------
# Source text
# ---------------------------------------------------------------------------------------------


@dataclass
class GeneratedCode:
    """Source of the gradient functions and what they need to run."""

    source: str  # both functions, as one module body (without imports)
    grad_source: str  # the gradient function alone (with any helper it calls)
    value_and_grad_source: str  # the value-and-gradient function alone
    grad_name: str
    value_and_grad_name: str
    modules: set  # "math" / "numpy"
    helpers: set  # names of helper functions included in ``source``
    aliases: dict
    arguments: list  # parameter names, then external names not baked in as constants
    callables: dict  # registered functions the code calls: {name: callable}
    constants: dict = field(default_factory=dict)  # external name -> number, read as a global
    bodies: dict = field(default_factory=dict)  # "grad"/"value_and_grad" -> ``Body``
    prelude: str = ""  # the helper functions' source, shared by both functions
    fallbacks: dict = field(default_factory=dict)  # kind -> name of its IEEE fallback (see below)

    def internal_source(self, kind):
        """``kind``'s function as symdiff runs it: the standalone text, except that where Python
        arithmetic raises in the reverse pass (d sqrt(x)/dx at 0), the IEEE fallback named in
        ``fallbacks`` gives inf/nan. An exception of the forward pass is the function's own."""
        standalone = self.grad_source if kind == "grad" else self.value_and_grad_source
        fallback = self.fallbacks.get(kind)
        body = self.bodies[kind]
        if fallback is None or not body.reverse:
            return standalone[len(self.prelude):]
        call = f"{fallback}({', '.join(self.arguments)})"
        return "\n".join([*body.head, *body.with_fallback(call)]) + "\n"

    def module_text(self, header="", ieee=None):
        """A standalone module: header docstring, imports, constants, the functions.

        ``ieee``: the same code printed for IEEE arithmetic (``generate(..., ieee=True)``), for
        scalar code: where Python's float arithmetic raises in the reverse pass (d sqrt(x)/dx at
        0), the module's functions fall back to it, as symdiff's own do (numpy is imported there
        only, at such points)."""
        modules = set(self.modules)
        if any(isinstance(v, np.ndarray) for v in self.constants.values()):
            modules.add("numpy")
        imports = "".join(
            f"import {m}\n" if self.aliases[m] == m else f"import {m} as {self.aliases[m]}\n"
            for m in sorted(modules)
        )
        constants = "".join(f"{name} = {_literal(value, self.aliases['numpy'])}\n"
                            for name, value in self.constants.items())
        renamed = "".join(f"{alias} = {builtin.__name__}\n"
                          for alias, builtin in builtin_aliases(self.aliases).items())
        parts = [header, imports, renamed, constants]
        head = "\n".join(p for p in parts if p) + "\n\n"
        if ieee is None or not any(b.reverse and b.may_raise for b in self.bodies.values()):
            return head + self.source
        fallback = "_" + ieee.grad_name + "_ieee"
        call = f"{fallback}({', '.join(self.arguments)})"
        functions = ["\n".join([*self.bodies[k].head, *self.bodies[k].with_fallback(call, pair=False)])
                     + "\n" for k in ("grad", "value_and_grad")]
        return head + self.prelude + "\n\n".join([*functions, ieee.fallback_source(fallback)])

    def fallback_source(self, name):
        """This (IEEE) code's gradient as the module-level function ``name``: its arguments as
        numpy float64, numpy's warnings off (inf and nan are the answers here)."""
        body = self.bodies["grad"]
        numpy = self.aliases["numpy"]
        doc = ("The gradient where Python's float arithmetic raises (d sqrt(x)/dx at 0): the same "
               "lines over numpy float64, which give inf or nan as IEEE 754 does.")
        lines = [f"def {name}({', '.join(self.arguments)}):", f'    """{doc}"""',
                 "    import numpy" if numpy == "numpy" else f"    import numpy as {numpy}",
                 *[f"    {p} = {numpy}.float64({p})" for p in self.arguments],
                 f"    with {numpy}.errstate(all=\"ignore\"):",
                 *["    " + line for line in body.lines()]]
        return "\n".join(lines) + "\n"


@dataclass
class Body:
    """A generated function's body: the forward pass (the user's operations: what they raise,
    the function raises), the reverse pass, the return statement and the value's text."""

    forward: list
    reverse: list
    ret: str
    value: str = None  # value-and-gradient functions: the value's name
    head: list = None  # the ``def`` line and the docstring
    may_raise: bool = True  # whether Python arithmetic may raise in the reverse pass

    def lines(self):
        return [*self.forward, *self.reverse, "    " + self.ret]

    def with_fallback(self, call, pair=True):
        """The body with the reverse pass under ``try``: where Python raises there, ``call``
        (an IEEE evaluation of the same arguments) gives the gradient instead (``pair``: for a
        value-and-gradient function, ``call`` returns both, and its gradient is taken)."""
        if not self.reverse:
            return self.lines()
        result = call if self.value is None else f"{self.value}, {call}{'[1]' if pair else ''}"
        return [
            *self.forward,
            "    try:",
            *["    " + line for line in self.reverse],
            "    except (ZeroDivisionError, OverflowError, ValueError):",
            f"        return {result}",
            "    " + self.ret,
        ]


def _split(lines):
    """``lines`` as (forward pass, reverse pass): the schedule lists the forward lines first."""
    for i, line in enumerate(lines):
        if line.reverse:
            return lines[:i], lines[i:]
    return lines, []


def _literal(value, numpy_name="numpy"):
    """A number (or array) as Python source (``float('inf')`` for infinities)."""
    if isinstance(value, np.ndarray):
        return f"{numpy_name}.array({value.tolist()!r})"
    if isinstance(value, int):
        return repr(value)
    return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"


def generate(schedule, gradient_program, library, aliases, signature=None, constants=None,
             defaults=None, fallbacks=None, ieee=False, entry_checks=(), prelude="", title=None):
    """Python source for ``<f>_grad`` and ``<f>_value_and_grad``.

    ``entry_checks``: source lines both functions run first (an exported module's shape check),
    ``prelude``: module-level source they need (a helper), put before them. ``title``: ``(name,
    docstring)`` of the value function where it computes something else than a value and a
    gradient (``ad.structured``'s Jacobian; with nothing differentiated it returns the value only).

    Externals (globals/closure numbers the function reads) are trailing parameters, except those
    named in ``constants`` (``{symbol name: int or float}``): those are read as module globals.
    """
    program = gradient_program.program
    printer = make_printer(library, aliases, ieee)
    printer.callable_names = program.callable_names
    if library == "numpy" and schedule.math_calls and not ieee:
        printer.use_math_for(schedule.math_calls)
    if schedule.numpy_ufuncs:
        printer.numpy_ufuncs = schedule.numpy_ufuncs
    arrays_in = []  # the array parameters: arrays built from numbers take their dtype
    for p in program.params:
        shape = program.shapes.get(p.symbol)
        if shape and p.elements is None and p.name not in program.concrete:
            printer.shape_names.setdefault(tuple(shape), f"{p.symbol.name}.shape")
            arrays_in.append(p.symbol.name)
        for leaf in (p.elements or ()) if p.tree is not None else ():
            shape = program.shapes.get(leaf)
            if shape:
                printer.shape_names.setdefault(tuple(shape), f"{leaf.name}.shape")
                arrays_in.append(leaf.name)
    printer.shapes = dict(gradient_program.shapes)
    if arrays_in and library == "numpy":
        if "dtype" not in aliases:  # one name per build, however often it is printed
            aliases["dtype"] = program.namer.fresh("_dtype")
        printer.dtype_name = aliases["dtype"]
    constants = dict(constants or {})
    names = signature or [
        *[p.symbol.name for p in program.params if p.name not in program.concrete],
        *[e.symbol.name for e in program.externals if e.symbol.name not in constants],
    ]
    base = program.name if program.name.isidentifier() else "f"
    grad_name = f"{base}_grad"
    vg_name = f"{base}_value_and_grad"
    wrt = ", ".join(p.name for p in gradient_program.wrt)

    prologue = [*entry_checks] + [
        f"    {', '.join(e.name for e in p.elements)}{',' if len(p.elements) == 1 else ''} = {p.symbol.name}"
        for p in program.params if p.elements and p.tree is None
    ] + [  # a container argument: each leaf read by its path (params['W'], p.b, ...)
        f"    {e.name} = {pytrees.path_text(p.symbol.name, path)}"
        for p in program.params if p.tree is not None for e, path in zip(p.elements, p.paths)
    ]
    arrays = bool(program.shapes)

    def needed(returns):
        lines = schedule.needed(returns)
        return inline_single_use(lines, returns) if arrays else lines

    # every forward line that may raise runs, even one whose value nothing uses: what it
    # raises, the function raises (log(x) at x = -1: no gradient, the function's ValueError)
    checks = _forward_checks(schedule.lines, printer)
    # has_aux=True: the auxiliary values are returned too
    aux_live = [a for a in (schedule.aux or ()) if isinstance(a, sympy.Basic) and a.free_symbols]
    grad_returns = list(schedule.gradients)
    printer.source_file = program.filename  # for the location of an error (see _printed)
    printer.unused_name = program.namer.fresh("_unused")  # what a line run only to raise assigns
    grad_live = grad_returns + aux_live
    grad_lines = needed(grad_live + checks) if checks else needed(grad_live)
    grad_forward, grad_reverse = _split(grad_lines)
    grad_texts = _packed(gradient_program.wrt, [_print_result(g, printer) for g in grad_returns])
    grad_result = ", ".join(grad_texts)
    grad_part = grad_result if len(grad_texts) == 1 else f"({grad_result})"
    aux_text = None if schedule.aux is None else _aux_text(program.aux[0], schedule.aux, printer)
    grad_return = f"return {grad_part}" if aux_text is None else f"return {grad_part}, {aux_text}"
    grad_body = Body(prologue + _body(grad_forward, printer, bare=_unread(grad_lines, grad_live),
                                      raise_only=_raise_only(grad_lines, grad_live)),
                     _body(grad_reverse, printer), grad_return,
                     may_raise=any(may_raise(line.expr, powers=True) for line in walk_lines(grad_reverse)))

    vg_returns = [schedule.value, *schedule.gradients, *aux_live]
    vg_lines = needed(vg_returns + checks) if checks else needed(vg_returns)
    vg_forward, vg_reverse = _split(vg_lines)
    unread = _unread(vg_lines, vg_returns)
    value_text = _print_result(schedule.value, printer)
    if aux_text is not None:  # as JAX: ((value, aux), gradient)
        value_text = f"({value_text}, {aux_text})"
    vg_return = f"return {value_text}, {grad_part}"
    if title is not None and not gradient_program.wrt:  # a value only (ad.structured's Jacobian)
        vg_return = f"return {value_text}"
    vg_body = Body(prologue + _body(vg_forward, printer, bare=unread,
                                    raise_only=_raise_only(vg_lines, vg_returns)),
                   _body(vg_reverse, printer),
                   vg_return, value_text,
                   may_raise=any(may_raise(line.expr, powers=True) for line in walk_lines(vg_reverse)))

    if printer.dtype_used:  # numpy's dtype for the parameters' arrays (and Python floats)
        dtype_line = (f"    {printer.dtype_name} = {printer._np('result_type')}"
                      f"({', '.join(arrays_in)}, 1.0)")
        grad_body.forward.insert(len(prologue), dtype_line)
        vg_body.forward.insert(len(prologue), dtype_line)

    where = f"{program.filename}:{_def_line(program)}"
    signature = _signature(names, defaults or {})
    grad_text = _function(
        grad_name, signature,
        f"Gradient of {program.name} with respect to {wrt} (symdiff, from {where}).",
        grad_body,
    )
    vg_doc = f"Value of {program.name} and its gradient with respect to {wrt} (symdiff, from {where})."
    if title is not None:
        vg_name, vg_doc = title[0], f"{title[1]} (symdiff, from {where})."
    vg_text = _function(vg_name, signature, vg_doc, vg_body)
    helpers = set(printer.helpers)
    prelude = (prelude + "\n\n" if prelude else "") + "".join(
        helper_source(name, aliases) + "\n\n" for name in sorted(helpers))
    return GeneratedCode(
        source=prelude + grad_text + "\n\n" + vg_text,
        grad_source=prelude + grad_text,
        value_and_grad_source=prelude + vg_text,
        grad_name=grad_name,
        value_and_grad_name=vg_name,
        modules=set(printer.used_modules),
        helpers=helpers,
        aliases=aliases,
        arguments=names,
        callables=dict(program.helpers),
        constants=constants,
        bodies={"grad": grad_body, "value_and_grad": vg_body},
        prelude=prelude,
        fallbacks=dict(fallbacks or {}),
    )


def _aux_text(structure, leaves, printer):
    """The auxiliary value (has_aux=True) as Python: its leaves printed, in its structure."""
    texts = [_print_result(leaf, printer) if isinstance(leaf, sympy.Basic) else repr(leaf) for leaf in leaves]
    return texts[0] if structure is None else pytrees.pack_text(structure, "", texts)


def _packed(wrt, texts):
    """The printed gradients, one per differentiated parameter: a container argument's leaf
    gradients (``texts`` holds one per leaf symbol) packed in its structure, 0.0 for its int
    leaves (``{'W': params_W_bar, 'b': params_b_bar}``)."""
    texts, out = iter(texts), []
    for param in wrt:
        if param.tree is None:
            out.append(next(texts))
            continue
        have = {path: next(texts) for path in param.paths}
        leaves = [have.get(path, "0.0") for path, _ in pytrees.leaves_with_paths(param.tree)]
        out.append(pytrees.pack_text(param.tree, param.symbol.name, leaves))
    return out


def _forward_checks(lines, printer):
    """Forward lines that may raise in Python, at the top level or in the arms of an ``if``: they
    run in the gradient functions even where nothing uses their value, as the user's statements
    do (``math.cosh`` of a value whose derivative needs only ``sinh``; a square the user wrote as
    ``x ** 2`` too: Python's ``**`` raises OverflowError where it overflows)."""
    found = [line.target for line in lines_outside_loops(lines) if not line.reverse
             and (may_raise(line.expr, infinities=True) or _user_square(line.expr, printer))]
    return found + _raising_loops(lines)


def _raising_loops(lines):
    """A carried name of each forward loop (at the top level or in an ``if``'s arms) whose body
    holds the user's ``raise`` under an ``if`` on data, or a line that may raise (``math.log``
    of a negative): the loop runs even where the gradient reads nothing it computes (a linear
    recurrence), so that it raises where the user's does."""
    found = []
    for item in lines:
        if isinstance(item, IfBlock):
            found += _raising_loops(item.then) + _raising_loops(item.orelse)
        elif (isinstance(item, ForBlock) and not item.reverse and item.carried
              and any(isinstance(line.expr, Raising) or may_raise(line.expr, infinities=True)
                      for line in walk_lines(item.body))):
            found.append(item.carried[0][0])
    return found


def _user_square(expr, printer):
    """Whether ``expr`` is a power ``x ** n`` (n > 1) the user wrote with Python's ``**`` in
    scalar code, which raises OverflowError where it overflows: printed ``x**n``, or for a square
    in ``math`` code ``x*x`` and ``overflow_guard`` (``_guarded_square``), not a bare ``x*x`` (inf)."""
    return (expr.is_Pow and not printer.ieee and not printer.shapes and expr.exp.is_Integer
            and expr.exp > 1 and bool(expr.base.free_symbols)
            and printer.numpy_ufuncs.get(expr) == "**")


def _raise_only(lines, returns):
    """The targets of ``lines`` (top level or in an ``if``'s arms) whose values no return depends
    on (through any chain of lines): they run only for what they raise."""
    needed = set().union(*(expr.free_symbols for expr in returns))
    _needed_by(lines, needed)
    return {line.target for line in lines_outside_loops(lines) if line.target not in needed}


def _needed_by(lines, needed):
    """``needed`` (a set, updated in place) with what ``lines`` read to compute it."""
    for line in reversed(lines):
        if isinstance(line, Line):
            if line.target in needed:
                needed |= line.symbols
        elif isinstance(line, IfBlock):
            needed |= line.cond.free_symbols
            _needed_by(line.then, needed)
            _needed_by(line.orelse, needed)
        else:
            needed |= names_read([line])


def _unread(lines, returns):
    """The targets of ``lines`` (top level or in an ``if``'s arms) that no line or return reads
    (assigned to the printer's ``unused_name``: they are computed for what they raise)."""
    read = names_read(lines)
    for expr in returns:
        read |= expr.free_symbols
    return {line.target for line in lines_outside_loops(lines) if line.target not in read}


def helper_source(name, aliases):
    """The source of the registry's helper ``name`` (``_digamma``), with the names it uses spelled
    as ``aliases`` says (``_digamma_1``, ``_math``) where a user's name took the plain one."""
    helper_names = {h.python_name for h in registry.helpers("math")}
    renames = {k: v for k, v in aliases.items() if k != v and (k in helper_names or k in ("math", "numpy"))}
    text = registry.helper(name).python
    if not renames:
        return text
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, renames)) + r")\b")
    return pattern.sub(lambda m: renames[m.group(1)], text)


def builtin_aliases(aliases):
    """``{alias: builtin}`` for the builtins generated code calls by another name."""
    return {v: getattr(builtins, k) for k, v in aliases.items() if k != v and hasattr(builtins, k)}


def _signature(names, defaults):
    """``x, delta=1.0``: the defaults of the trailing parameters that have one (``defaults``:
    name -> number), as the user's function has them."""
    keep = len(names)
    while keep and names[keep - 1] in defaults:
        keep -= 1
    return ", ".join([*names[:keep], *(f"{n}={_literal(defaults[n])}" for n in names[keep:])])


def _function(name, signature, doc, body):
    """The text of one function; ``doc`` (it names the user's file) through ``python_docstring``."""
    body.head = [f"def {name}({signature}):", f"    {python_docstring(doc)}"]
    return "\n".join([*body.head, *body.lines()]) + "\n"


def _print_line(expr, printer):
    """One line's operation; a lone square is a product (``x*x``: faster than ``x**2``; where
    the user wrote ``x ** 2`` in scalar code, ``overflow_guard`` raises as Python's ``**`` does)
    unless the line runs only for what it raises."""
    if _lone_square(expr) and (not _user_square(expr, printer) or _guarded_square(expr, printer)):
        name = printer._print(expr.base)
        return f"{name}*{name}"
    return _print_result(expr, printer)


def _print_result(expr, printer):
    """A value: numbers as float literals, so an int never comes back as a gradient."""
    if expr.is_Number:
        value = float(expr)
        if math.isfinite(value):
            return repr(value)
        return printer._print(sympy.Float(value))  # math.nan / math.inf, never a bare 'nan'
    return printer._print(_float_arms(expr))


def _float_arms(expr):
    """A conditional's number arms as floats, nested conditionals included (never an int 0)."""
    if not isinstance(expr, sympy.Piecewise):
        return expr
    return sympy.Piecewise(*[
        (sympy.Float(float(e)) if e.is_Number else _float_arms(e), c) for e, c in expr.args
    ])


def _def_line(program):
    return getattr(program, "firstlineno", None) or "?"


def _body(lines, printer, bare=(), raise_only=()):
    """Source lines for ``lines`` (``Line`` s and ``IfBlock`` s), each group under a ``# line N``
    comment; the top-level targets in ``bare`` are assigned to ``printer.unused_name``, those
    in ``raise_only`` (run only for what they raise) print Python's own ``**``."""
    return _PythonBlocks(printer, bare, raise_only).block(lines, "    ")


def _updated_in_place(body, carried):
    """A loop body's lines and its carried pairs ``(name, value)``, each update line ``value =
    ...`` assigning ``name`` itself where that is the same program: ``x_bar = x_bar + t``, not
    ``x_bar_1 = x_bar + t`` and, at the end, ``x_bar = x_bar_1``. So where ``value`` is the
    target of a top-level line read by nothing after it but its pair, and ``name`` is read by
    nothing after that line (nor by another pair's value) and assigned by no other line.
    (Numbers only: the Python printer of scalar code calls it; one store and load fewer per
    carried value and iteration.)"""
    body, kept = list(body), []
    values = [v for _, v in carried]
    for name, value in carried:
        position = next((i for i, item in enumerate(body)
                         if isinstance(item, Line) and item.target == value), None)
        later = names_read(body[position + 1:]) if position is not None else set()
        others = set().union(*(sympy.sympify(v).free_symbols for n, v in carried if n != name))
        if (position is None or values.count(value) != 1 or value in later or name in later
                or name in others or value in others
                or any(isinstance(item, Line) and item.target == name for item in body)):
            kept.append((name, value))
            continue
        body[position] = replace(body[position], target=name)
    return tuple(body), tuple(kept)


class _PythonBlocks(BlockPrinter):
    """``backends.blocks`` for Python: ``# line N: ...`` comments, ``if ...:`` / ``else:``."""

    def __init__(self, printer, bare, raise_only=()):
        self.printer = printer
        self.bare = bare
        self.raise_only = raise_only
        self.loops = 0  # how many rolled loops the lines being printed are inside

    def comment_text(self, line):
        return f"# {python_comment(f'{_label(line)}: {line.source}')}"

    def opening(self, block, indent, nested):
        return [f"{indent}if {self._test(block.cond)}:"]

    def _test(self, cond):
        """The condition of an ``if`` (always one truth value). Inside a rolled loop, array code
        spells its comparisons with Python's operators, as scalar code does: ``a > 0``, not
        ``numpy.greater(a, 0)`` (the same truth value for a number or a numpy scalar, and 3x
        less time per iteration of a loop with an ``if`` on a number)."""
        condition = getattr(self.printer, "_condition", None)
        if self.loops and condition is not None:
            return _unwrap(condition(cond))
        return _unwrap(self.printer.doprint(cond))

    def empty_arm(self, indent):
        return [f"{indent}pass"]

    def else_line(self, indent):
        return [f"{indent}else:"]

    def visit_ForBlock(self, block, scope, out):
        """A rolled loop (``lower.schedule.ForBlock``): the forward one pushes its state onto a
        list preallocated for the trip count, the reverse one reads it back (``checkpoints``:
        the forward one keeps every K-th state, the reverse one runs segments, ``_segments``)."""
        self.loops += 1
        try:
            self._loop(block, scope, out)
        finally:
            self.loops -= 1

    def _loop(self, block, scope, out):
        self._comment(block, scope, out)
        if block.reverse and block.checkpoints is not None:
            self._segments(block, scope, out)
            return
        indent, inner = scope.indent, scope.indent + self.step
        trip, index, tape = self._trip(block), block.index.name, block.tape.name
        state = _tuple_text(block.saved)
        range_ = self.printer._builtin("range")
        checkpoints = block.checkpoints
        if block.test is not None:  # a while on data: tested before each iteration, counted
            lines, condition, broke = block.test
            if block.saved or block.body_saved:
                out.append(f"{indent}{tape} = []")
            if checkpoints is not None and checkpoints.growing:
                out.append(f"{indent}{checkpoints.every.name} = 1")
            if block.counted:
                out.append(f"{indent}{trip} = 0")
            out.append(f"{indent}while True:")
            if broke is not None:  # the last iteration broke out: no test of the condition
                out.append(f"{inner}if {broke.name} > 0.5:")
                out.append(f"{inner}{self.step}break")
            out += self.block(lines, inner, True, (block.lineno, block.reverse, block.filename))
            out.append(f"{inner}if not ({self._test(condition)}):")
            out.append(f"{inner}{self.step}break")
            if checkpoints is not None:
                out += self._checkpoint_store(block, trip, inner, appended=True)
            elif block.saved and not block.body_saved:
                out.append(f"{inner}{tape}.append({state if len(block.saved) == 1 else f'({state})'})")
        elif not block.reverse:
            if checkpoints is not None:
                growing = checkpoints.growing
                if growing:
                    out.append(f"{indent}{tape} = []")
                    out.append(f"{indent}{checkpoints.every.name} = 1")
                else:
                    k = int(checkpoints.every)
                    count = (str(-(-int(block.trip) // k)) if block.trip.is_Integer
                             else trip if k == 1 else f"-(-{_operand(trip)} // {k})")
                    out.append(f"{indent}{tape} = [None] * {count}")
                out.append(f"{indent}for {index} in {range_}({trip}):")
                out += self._checkpoint_store(block, index, inner, appended=growing)
            else:
                if block.saved or block.body_saved:
                    out.append(f"{indent}{tape} = [None] * {_operand(trip)}")
                out.append(f"{indent}for {index} in {range_}({trip}):")
                if block.saved and not block.body_saved:
                    out.append(f"{inner}{tape}[{index}] = {state}")
        else:
            last = str(int(block.trip) - 1) if block.trip.is_Integer else f"{trip} - 1"
            out.append(f"{indent}for {index} in {range_}({last}, -1, -1):")
            if block.saved or block.body_saved:
                out.append(f"{inner}{', '.join(s.name for s in block.saved + block.body_saved)} = "
                           f"{tape}[{index}]")
        lines, carried = block.body, block.carried
        if checkpoints is None and not block.body_saved and isinstance(self.printer, MathPrinter):
            lines, carried = _updated_in_place(lines, carried)
        body = self.block(lines, inner, True, (block.lineno, block.reverse, block.filename))
        out += body
        if block.body_saved and not block.reverse:  # the state and the body's arrays, at its end
            taped = ', '.join(s.name for s in block.saved + block.body_saved)
            out.append(f"{inner}{tape}.append(({taped}))" if block.test is not None
                       else f"{inner}{tape}[{index}] = {taped}")
        out += self._carried(carried, inner)
        if not body and not block.saved and block.test is None and not any(
                n != v for n, v in block.carried):
            out.append(f"{inner}pass")
        if block.test is not None and block.counted:
            out.append(f"{inner}{trip} += 1")
        scope.current = None

    def _trip(self, block):
        if not (block.trip.is_Integer or block.trip.is_Symbol):  # range(2*i + 1): int arithmetic
            names = {s: sympy.Symbol(_print_result(s, self.printer)) for s in block.trip.free_symbols}
            return sympy.sstr(block.trip.xreplace(names))
        trip = _print_result(block.trip, self.printer)
        return trip[:-2] if trip.endswith(".0") else trip  # (an int count)

    def _carried(self, carried, indent):
        """``a, b = a_next, b_next``: a loop's carried values assigned at once; more than three
        (which CPython assigns through a tuple it builds and unpacks, each iteration) one per
        line where no value assigned is one read (then the order does not matter)."""
        pairs = [(n, v) for n, v in carried if n != v]
        if not pairs:
            return []
        if len(pairs) > 3 and not {n for n, _ in pairs} & set().union(*(
                sympy.sympify(v).free_symbols for _, v in pairs)):
            return [f"{indent}{n.name} = {_print_result(v, self.printer)}" for n, v in pairs]
        return [f"{indent}{', '.join(n.name for n, _ in pairs)} = "
                f"{', '.join(_print_result(v, self.printer) for _, v in pairs)}"]

    def _checkpoint_store(self, block, count, indent, appended):
        """A checkpointed forward loop's store, at the top of an iteration (``count``: the
        iterations before it): the state every K-th iteration; where K grows (``"sqrt"`` of an
        unknown trip count), every other checkpoint dropped and K doubled once there are more
        than K (``lower.checkpoints``)."""
        checkpoints, tape, step = block.checkpoints, block.tape.name, self.step
        state = _tuple_text(checkpoints.state)
        k = checkpoints.every.name if checkpoints.growing else str(int(checkpoints.every))
        if appended:
            store = [f"{tape}.append({state if len(checkpoints.state) == 1 else f'({state})'})"]
        else:
            store = [f"{tape}[{count if k == '1' else f'{count} // {k}'}] = {state}"]
        if checkpoints.growing:
            store += [f"if len({tape}) > {k}:", f"{step}del {tape}[1::2]", f"{step}{k} *= 2"]
        if k == "1":
            return [f"{indent}{line}" for line in store]
        return [f"{indent}if {count} % {k} == 0:", *[f"{indent}{step}{line}" for line in store]]

    def _segments(self, block, scope, out):
        """The reverse of a checkpointed loop: its segments last first, each one run forward
        again from its checkpoint (pushing what the adjoints read onto the segment's tape), then
        backward over that tape."""
        checkpoints, step = block.checkpoints, self.step
        indent, inner, innermost = scope.indent, scope.indent + step, scope.indent + 2 * step
        range_, min_, len_ = (self.printer._builtin(name) for name in ("range", "min", "len"))
        trip, index = self._trip(block), block.index.name
        k = checkpoints.every.name if checkpoints.growing else str(int(checkpoints.every))
        segment, start, end = checkpoints.segment.name, checkpoints.start.name, checkpoints.end.name
        tape, saved = checkpoints.tape.name, _tuple_text(block.saved + block.body_saved)
        at = "0" if k == "1" else f"{index} - {start}"
        where = (block.lineno, block.reverse, block.filename)
        if block.trip.is_Integer and not checkpoints.growing:
            size = str(max(0, min(int(k), int(block.trip))))
        else:
            size = f"{min_}({k}, {trip})"
        out.append(f"{indent}{tape} = [None] * {size}")
        out.append(f"{indent}for {segment} in {range_}({len_}({block.tape.name}) - 1, -1, -1):")
        out.append(f"{inner}{_tuple_text(checkpoints.state)} = {block.tape.name}[{segment}]")
        out.append(f"{inner}{start} = {segment if k == '1' else f'{segment} * {k}'}")
        out.append(f"{inner}{end} = {f'{start} + 1' if k == '1' else f'{min_}({start} + {k}, {trip})'}")
        out.append(f"{inner}for {index} in {range_}({start}, {end}):")
        if not block.body_saved:  # (else at the iteration's end, with the body's arrays)
            out.append(f"{innermost}{tape}[{at}] = {saved}")
        out += self.block(checkpoints.body, innermost, True, (block.lineno, False, block.filename))
        if block.body_saved:
            out.append(f"{innermost}{tape}[{at}] = {saved}")
        out += self._carried(checkpoints.carried, innermost)
        out.append(f"{inner}for {index} in {range_}({end} - 1, {start} - 1, -1):")
        out.append(f"{innermost}{saved} = {tape}[{at}]")
        out += self.block(block.body, innermost, True, where)
        out += self._carried(block.carried, innermost)
        scope.current = None

    def line(self, line, indent, nested):
        printer = self.printer
        if printer.shapes and line.target not in printer.shapes:  # (scalar code: none)
            shape = shape_of(line.expr, printer.shapes)
            if shape:
                printer.shapes[line.target] = shape
        if isinstance(line.expr, ScatterItems) and printer.library == "numpy":
            return _scatter_statements(line, printer, indent)
        if isinstance(line.expr, Raising):  # the user's raise under a condition on data
            return [f"{indent}raise {line.expr.text}"]
        if isinstance(line.expr, AddInto):  # a reverse loop's running sum, added in place
            x, value, *indices = printer._ops(line.expr)
            key = line.expr.params["key"]
            where = x if key is None else f"{x}[{printer._key_text(key, indices)}]"
            return [f"{indent}{where} += {value}"]
        target = printer.unused_name if line.target in self.bare else line.target.name
        if line.target in self.raise_only:  # run for what it raises: Python's own
            printer.bare = True  # ** (a complex number no result depends on is no error)
            try:
                return [f"{indent}{target} = {_printed(line, printer)}"]
            finally:
                printer.bare = False
        text = printer.printed.get(line.expr)
        if text is None:
            text = printer.printed[line.expr] = _printed(line, printer)
        return [f"{indent}{target} = {text}", *overflow_guard(line, target, printer, indent)]


def _lone_square(expr):
    """``x**2`` of a name."""
    return expr.is_Pow and expr.exp == 2 and expr.base.is_Symbol


def _guarded_square(expr, printer):
    """The user's ``x ** 2`` in ``math`` code on a line of its own (not one run only for what it
    raises): printed ``x*x``, then ``overflow_guard``."""
    return printer.library == "math" and not printer.bare and _lone_square(expr) and _user_square(expr, printer)


def overflow_guard(line, target, printer, indent):
    """After ``t = x*x`` for the user's ``x ** 2`` in ``math`` code: Python's OverflowError where
    the square of a finite ``x`` overflows (``x*x`` is inf there), one comparison where it does
    not (``x**2`` costs a ``pow()`` call: 1.2× the hand-written seed gradient). numpy code keeps
    ``x**2``: an exported module of it takes arrays, where ``**`` does not raise."""
    if not _guarded_square(line.expr, printer):
        return []
    base = printer._print(line.expr.base)
    return [f"{indent}if {target} > 1.7976931348623157e+308 and {base} - {base} == 0.0:  # {base} ** 2 overflows: Python raises",
            f"{indent}    raise OverflowError(34, 'Numerical result out of range')"]


def _printed(line, printer):
    """``_print_line``; an expression no printer method writes is a located error (never a
    printer traceback): it names the user's line it comes from."""
    try:
        return _print_line(line.expr, printer)
    except NotImplementedError as exc:
        raise SymdiffError(
            f"cannot write {sympy.sstr(line.expr)} as Python code ({exc})",
            filename=line.filename or getattr(printer, "source_file", None), lineno=line.lineno,
            hint="rewrite this line with math/numpy functions of real numbers, or register the "
            "function with symdiff.register",
        ) from None


def _scatter_statements(line, printer, indent):
    """``out = zeros; out[key] += value`` for each part: what indexing sends back to one array,
    added in place (no helper call, no temporary per part)."""
    target = line.target.name
    expr = line.expr
    keys = expr.params["keys"]
    if len(expr.shape) == 1 and len(keys) == expr.shape[0] and keys == tuple((i,) for i in range(expr.shape[0])):
        return [f"{indent}{target} = {printer._print(expr)}"]
    values = printer._ops(expr)
    dtype = printer._buffer_dtype(expr.operands, values)
    dtype = "" if dtype is None else f", {dtype}"
    lines = [f"{indent}{target} = {printer._np('zeros')}({printer._shape(expr.shape)}{dtype})"]
    for key, value in zip(keys, values):
        lines.append(f"{indent}{target}[{format_key(key)}] += {value}")
    return lines


def _operand(text):
    """A trip count's text as an operand of ``*`` or ``//``: ``(2*i + 1)``, ``n``, ``40``."""
    return text if text.isidentifier() or text.isdigit() else f"({text})"


def _tuple_text(names):
    """``a, b, c``: names to assign or store together."""
    return ", ".join(name.name for name in names)


def _unwrap(text):
    """``(x > 0)`` -> ``x > 0`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def _label(line):
    where = f"line {line.lineno}"
    if line.filename:
        where = f"{os.path.basename(line.filename)} {where}"
    return where + (" (reverse)" if line.reverse else "")


__all__ = ["GeneratedCode", "builtin_aliases", "generate"]
