"""c_arrays: C99 gradients of functions of 1-D float64 arrays, generic in the array lengths.

Takes: a parsed function, the parameters to differentiate, which parameters are 1-D arrays (and
example lengths) and the baked-in constants. Returns: C text in which an array parameter is
``const double *x, long n_x`` and its gradient goes to a caller-provided ``double *d_x`` of
``n_x`` doubles (a scalar gradient through ``double *d_c``, or returned when it is the only one).

Array lines become ``for`` loops: consecutive lines over the same length share one loop (values
used only inside it stay ``const double`` locals), reductions (sum, prod, max, min, dot) accumulate
in it, slices and constant indices become index arithmetic (``x[1:]`` reads ``x[i + 1]`` over
``n_x - 1`` elements), adjoints of indexing add into a zero-filled buffer. Arrays that must outlive
their loop live in one ``malloc``'d workspace (so array code needs ``<stdlib.h>`` as well as
``<math.h>``); a gradient is written straight into its output buffer where possible.

Generic in the lengths: the trace is made at concrete lengths (over a thousand); the numbers it
baked in that depend on them (``np.mean``'s 1/n, ``x[-1]``'s index) are recognised as expressions
of the parameter lengths, and the function is traced again at other lengths: both C texts must be
identical, else ``ExportError`` (a loop over ``range(len(x))``, say, is not generic). What the
loops assume (slices within bounds, operands of equal length) is checked on entry: lengths that do
not fit give NAN in every result.
"""

import linecache
import re
from collections import ChainMap
from dataclasses import dataclass, field, replace

import numpy as np
import sympy
from sympy.printing.c import C99CodePrinter

from ..primitives import arrays
from .c_code import (CPrinter, _c_names, _comment, _Writer, c_double, header_signatures, header_title,
                     helper_definitions, helper_names, line_label)
from ..errors import ExportError, SymdiffError
from ..ir import Transformer, Visitor
from ..lower.schedule import IfBlock, Line, walk_lines

# Lengths added to the example lengths: a length this big is told apart from the constants in the
# code; each is a multiple of 60, so a length keeps its remainder by any step from 2 to 6 (x[::2]
# and x[1::2] are equally long at even lengths only).
TRACE_LENGTH = 1020
CLASS_STEP = 1020  # more for each further group of arrays whose lengths are tied together
SHIFT = 60  # the second trace: every length this much longer
HINT = ("C export takes numbers and 1-D float arrays (sums, means, products, max/min, dot, "
        "elementwise math, constant indices and slices); for the rest, export Python with "
        "symdiff.emit(f, args=...)")

# Where a construct shows in a source line, for the caret: op class name -> tokens to look for.
_TOKENS = {
    "Outer": ["outer"], "Transpose": ["transpose", ".T"], "Reshape": ["reshape", "ravel", "flatten"],
    "Concatenate": ["concatenate", "hstack", "vstack"], "Stack": ["stack", "array"],
    "MatMul": ["@", "dot", "matmul"], "Piecewise": ["where"], "axis": ["axis"],
}


ZERO = sympy.Integer(0)


class _Ambiguous(Exception):
    """Two lengths that need not be equal had the same value in this trace."""


@dataclass(frozen=True)
class _Array:
    """How C reads an array value: ``root[first + step*i]`` for i below ``length``.

    ``root`` is the symbol whose memory holds it (itself, a parameter, or what a slice reads)."""

    length: sympy.Expr
    size: int  # its length in this trace
    root: sympy.Symbol
    first: sympy.Expr = ZERO
    step: int = 1

    @property
    def identity(self):
        return self.first == 0 and self.step == 1


@dataclass
class _Op:
    """One C statement or loop piece: ``kind`` is scalar, element, map, reduce or scatter."""

    target: sympy.Symbol
    kind: str
    line: Line
    expr: sympy.Expr = None  # scalar/map: the value (map: of element i); reduce: the term
    length: sympy.Expr = None  # map/reduce: the loop length
    reduce: str = None  # sum / prod / max / min
    index: sympy.Expr = None  # element: the index into ``root``
    root: sympy.Symbol = None  # element: the memory read
    parts: list = field(default_factory=list)  # scatter: [(first, step, length or None, value)]


@dataclass
class _Group:
    length: sympy.Expr
    ops: list
    defined: set
    reduced: set


class _IntPrinter(C99CodePrinter):
    """Integer index and length arithmetic (``long``): ``floor(a/k)`` is C's ``a/k``."""

    def _print_floor(self, expr):
        arg = expr.args[0]
        numerator, denominator = sympy.fraction(sympy.together(arg))
        text = self._print(numerator)
        return f"{text if numerator.is_Atom else f'({text})'}/{self._print(denominator)}"


def _int(expr):
    return _IntPrinter().doprint(sympy.sympify(expr))


class _ArrayWriter(_Writer):
    """The C functions of one trace (``function``), and which array parameters' lengths the
    code ties together (``ties``)."""

    def __init__(self, built, constants, strict):
        schedule, gradient_program = _without_product_operands(built.schedule), built.gradient_program
        self.schedule = schedule
        self.gradient_program = gradient_program
        self.program = program = gradient_program.program
        self.strict = strict  # raise on ambiguous lengths (the final traces)
        self.base = program.name if program.name.isidentifier() else "f"
        namer = program.namer
        self.renames = _c_names(schedule, gradient_program, constants)
        self.printer = CPrinter(self.renames, helper_names(namer))
        self.int_printer = _IntPrinter()
        self.index = sympy.Symbol(namer.fresh("i"), integer=True)
        self.work = namer.fresh("work")
        self.fill = namer.fresh("symdiff_fill_nan")
        self.lengths = {}  # array parameter name -> its length symbol
        self.info = {}  # array symbol -> _Array
        self.by_size = {}  # a length in this trace -> the expressions of arrays that long
        self.conditions = []  # what the loops assume: ("ge" | "eq", e) for e >= 0 / e == 0
        self.tie = {}  # a parameter length -> the expression it equals (from the "eq" conditions)
        for p in program.params:
            if p.elements is not None:
                raise ExportError(
                    f"{self.base}: C export takes numpy arrays, not a list or tuple ({p.name})",
                    filename=program.filename, lineno=program.firstlineno, hint=HINT)
            shape = program.shapes.get(p.symbol)
            if shape is None:
                continue
            n = sympy.Symbol(namer.fresh(f"n_{p.name}"), integer=True)
            self.lengths[p.name] = n
            self._array(p.symbol, n, shape[0], p.symbol)
            self._ge(n, 0)
        fixed = {s.name for s in program.constants}
        fixed |= {name for name, value in constants.items() if isinstance(value, np.ndarray)}
        if fixed:
            names = ", ".join(sorted(fixed))
            raise ExportError(
                f"{self.base}: C export of arrays read from module globals ({names}) is not "
                "supported", filename=program.filename, lineno=program.firstlineno,
                hint="pass the array as a parameter, or " + HINT[HINT.index("export Python"):])
        self.shapes = dict(program.shapes)
        self.ops = {}  # line target -> [_Op]
        self.end_names = {}  # name of an x[-k] read in this trace -> its C name
        _Analysis(self).visit_block(schedule.lines, False)
        self._rename_end_reads()
        self.params = [self.name(p.symbol.name) for p in program.params]
        self.outputs = [namer.fresh(f"d_{p.name}") for p in gradient_program.wrt]

    # ---- errors ----
    def _error(self, what, line, token=None):
        filename = line.filename or self.program.filename
        col = None
        if token and line.source:
            text = linecache.getline(filename, line.lineno) if line.lineno else ""
            found = [text.find(t) for t in _TOKENS.get(token, [token]) if t in text]
            col = min(found) if found else None
        return ExportError(f"{self.base}: C export does not support {what}", filename=filename,
                           lineno=line.lineno, col_offset=col, hint=HINT)

    # ---- lengths ----
    def _array(self, symbol, length, size, root, first=ZERO, step=1):
        self.info[symbol] = _Array(sympy.expand(length), int(size), root, sympy.expand(first), step)
        self._register(int(size), sympy.expand(length))

    def _register(self, size, length):
        known = self.by_size.setdefault(size, [])
        if all(sympy.expand(length - k) != 0 for k in known):
            known.append(length)

    def _by_size(self, size):
        """The length expression of an array that has ``size`` elements in this trace."""
        found = self.by_size.get(int(size))
        if not found:
            return None
        if self.strict and any(not self._tied(found[0], other) for other in found[1:]):
            raise _Ambiguous(size)
        return found[0]

    def _tied(self, a, b):
        return sympy.expand(self.canon(a) - self.canon(b)) == 0

    def canon(self, length):
        """``length`` with each tied parameter length written as the one it is tied to."""
        return sympy.expand(length.xreplace(self.tie)) if self.tie else length

    def _ge(self, a, b):
        self.conditions.append(("ge", sympy.expand(a - b)))

    def _length_of_size(self, size, line):
        found = self._by_size(size)
        if found is None:
            raise self._error(f"an array of {size} elements whose length C cannot tell", line)
        return found

    def _same(self, a, b):
        """Record that lengths ``a`` and ``b`` must be equal (checked on entry)."""
        if not self._tied(a, b):
            diff = sympy.expand(self.canon(a) - self.canon(b))
            self.conditions.append(("eq", diff))
            order = [self.lengths[p.name] for p in self.program.params if p.name in self.lengths]
            later = [s for s in order if s in diff.free_symbols]
            if later and not diff.has(sympy.floor):  # the later length, in the earlier ones
                self.tie[later[-1]] = sympy.solve(diff, later[-1])[0]
                self.tie = {k: sympy.expand(v.xreplace(self.tie)) for k, v in self.tie.items()}

    def _index(self, k, size, length):
        """A normalised index ``k`` into an array of ``size`` (now) and ``length`` (in C): from
        the end when it is in the upper half (the user wrote ``x[-1]``, or ``len(x) - 1``)."""
        return length - (size - k) if 2 * k >= size else sympy.Integer(k)

    def _slice(self, key, info, line):
        """(first, step, length) of ``key`` on ``info``, with what that assumes of the length."""
        size, n = info.size, info.length
        step = key.step if key.step is not None else 1
        if step == 0:
            raise self._error("a slice with step 0", line)

        def bound(v):
            return n + v if v < 0 else self._index(v, size, n)

        if step > 0:
            start = sympy.Integer(0) if key.start is None else bound(key.start)
            stop = n if key.stop is None else bound(key.stop)
            self._ge(start, 0), self._ge(stop, start), self._ge(n, stop)
            span = stop - start
        else:
            start = n - 1 if key.start is None else bound(key.start)
            stop = sympy.Integer(-1) if key.stop is None else bound(key.stop)
            self._ge(stop, -1), self._ge(start, stop), self._ge(n - 1, start)
            span = start - stop
        count = span if abs(step) == 1 else sympy.floor((span + abs(step) - 1) / abs(step))
        return start, step, count

    # ---- reading the schedule ----
    def _shape(self, expr):
        return arrays.shape_of(expr, self.shapes)

    def _analyse_line(self, line, nested=False):
        expr = self._split(line.expr, line)
        shape = self._shape(expr)
        self.shapes[line.target] = shape
        if len(shape) > 1:
            raise self._error(f"{len(shape)}-D arrays ({line.target.name} has shape {shape})", line,
                              type(expr).__name__)
        is_array = bool(shape) or any(self._shape(s) for s in expr.free_symbols)
        if nested and (is_array or isinstance(expr, arrays.ArrayOp)):
            raise self._error("an array computed under an `if` on a differentiated value", line)
        self.ops.setdefault(line.target, []).extend(self._ops(line.target, expr, line, shape))

    def _split(self, expr, line):
        """Structural operations nested inside an expression become lines of their own."""
        if isinstance(expr, arrays.ArrayOp) or expr.is_Atom:
            return expr
        nested = [a for a in expr.args if not a.is_Atom]
        if not any(isinstance(a, arrays.ArrayOp) or a.has(arrays.ArrayOp) for a in nested):
            return expr
        args = []
        for arg in expr.args:
            if isinstance(arg, arrays.ArrayOp):
                name = sympy.Symbol(self.program.namer.temporary(), real=True)
                self._analyse_line(Line(name, arg, line.origin, line.reverse))
                args.append(name)
            else:
                args.append(self._split(arg, line))
        return expr.func(*args)

    def _ops(self, target, expr, line, shape):
        def op(kind, **kw):
            return _Op(target, kind, line, **kw)

        if not isinstance(expr, arrays.ArrayOp):
            if not shape:
                return [op("scalar", expr=expr)]
            if expr.has(sympy.Piecewise):
                raise self._error("np.where (or a conditional) on arrays", line, "Piecewise")
            length = self._operand_length(expr, line)
            self._array(target, length, shape[0], target)
            return [op("map", expr=expr, length=length)]
        name = type(expr).__name__
        operands = expr.operands
        if isinstance(expr, arrays.GetItem):
            return self._getitem(target, expr, line)
        if isinstance(expr, (arrays.ArraySum, arrays.ArrayProd, arrays.ArrayMax, arrays.ArrayMin)):
            (x,) = operands
            if shape or len(self._shape(x)) != 1:
                raise self._error(f"np.{expr.printed} with axis= (only whole 1-D arrays)", line, "axis")
            info = self.info[x]
            if isinstance(expr, (arrays.ArrayMax, arrays.ArrayMin)):
                self._ge(info.length, 1)
            return [op("reduce", expr=x, length=info.length, reduce=expr.printed)]
        if isinstance(expr, arrays.ProdOthers):  # d np.prod(x)/dx: products from both ends
            x, _, scale = operands
            if expr.params["axis"] not in (None, (0,)) or len(self._shape(x)) != 1 or self._shape(scale):
                raise self._error("np.prod with axis= (only whole 1-D arrays)", line, "axis")
            info = self.info[x]
            others = target
            if scale != 1:  # the products of the others, then times the scale in a loop
                others = sympy.Symbol(self.program.namer.temporary(), real=True)
                self.shapes[others] = shape
                self._array(others, info.length, info.size, others)
            self._array(target, info.length, info.size, target)
            out = [_Op(others, "others", line, expr=x, length=info.length)]
            if scale != 1:
                out.append(op("map", expr=others * scale, length=info.length))
            return out
        if isinstance(expr, arrays.MatMul):
            a, b = operands
            if len(self._shape(a)) != 1 or len(self._shape(b)) != 1:
                raise self._error("matrix products (only the dot product of two 1-D arrays)", line,
                                  "MatMul")
            self._same(self.info[a].length, self.info[b].length)
            return [op("reduce", expr=sympy.Mul(a, b), length=self.info[a].length, reduce="sum")]
        if isinstance(expr, (arrays.BroadcastTo, arrays.ExpandTo)):
            (x,) = operands
            if len(shape) != 1 or len(self._shape(x)) > 1 or expr.params.get("axis") not in (None, (0,)):
                raise self._error(f"{expr.printed} of shape {shape}", line)
            # x may be an expression of arrays (-x_bar, inlined by the schedule), not only a name
            length = self._operand_length(x, line) if self._shape(x) else self._length_of_size(shape[0], line)
            self._array(target, length, shape[0], target)
            return [op("map", expr=x, length=length)]
        if isinstance(expr, arrays.Unbroadcast):
            (x,) = operands
            source = expr.params["source"]
            if shape or len(source) != 1:
                raise self._error(f"summing a broadcast value of shape {source} down to {shape}", line)
            length = self._operand_length(x, line) if self._shape(x) else self._length_of_size(source[0], line)
            return [op("reduce", expr=x, length=length, reduce="sum")]
        if isinstance(expr, arrays.ExtremeGrad):
            x, best, bar = operands
            if expr.params["axis"] not in (None, (0,)) or self._shape(bar):
                raise self._error("np.max/np.min with axis=", line, "axis")
            info = self.info[x]
            count = sympy.Symbol(self.program.namer.fresh("ties"), real=True)
            hit = sympy.Eq(x, best)
            self.shapes[count] = ()
            value = sympy.Piecewise((bar / count, hit), (0, True))
            self._array(target, info.length, info.size, target)
            return [_Op(count, "reduce", line, expr=sympy.Piecewise((1, hit), (0, True)),
                        length=info.length, reduce="sum"),
                    op("map", expr=value, length=info.length)]
        if isinstance(expr, (arrays.Scatter, arrays.ScatterItems)):
            if len(shape) != 1:
                raise self._error(f"indexing adjoints of shape {shape}", line)
            keys = [expr.params["key"]] if isinstance(expr, arrays.Scatter) else expr.params["keys"]
            length = self._length_of_size(shape[0], line)
            self._array(target, length, shape[0], target)
            whole = _Array(length, shape[0], target)
            parts = []
            for key, value in zip(keys, operands):
                first, step, count = self._key(key, whole, line)
                if count is not None and self._shape(value):
                    self._same(self.info[value].length, count)
                parts.append((first, step, count, value))
            return [op("scatter", length=length, parts=parts)]
        raise self._error({"Outer": "np.outer", "Transpose": "transposes",
                           "Reshape": "reshape/ravel/flatten", "Concatenate": "np.concatenate",
                           "Stack": "np.stack/np.array of values",
                           "SetItem": "in-place array updates (x[i] = v)",
                           "LogSumExp": "scipy.special.logsumexp (softmax, log_softmax)"}.get(name, name), line, name)

    def _key(self, key, info, line):
        """(first, step, count) in ``info``'s root for a 1-D key; count None: one element."""
        if len(key) != 1 or not isinstance(key[0], (int, slice)):
            raise self._error(f"the index [{arrays.format_key(key)}] (only one int or slice)", line)
        (part,) = key
        if isinstance(part, int):
            k = self._index(part, info.size, info.length)
            self._ge(k, 0), self._ge(info.length - 1, k)
            return info.first + info.step * k, 0, None
        first, step, count = self._slice(part, info, line)
        return info.first + info.step * first, info.step * step, count

    def _getitem(self, target, expr, line):
        (x,) = expr.operands
        if len(self._shape(x)) != 1:
            raise self._error(f"indexing an array of shape {self._shape(x)}", line)
        info = self.info[x]
        key = expr.params["key"]
        first, step, count = self._key(key, info, line)
        if count is None:
            if 2 * key[0] >= info.size:
                self.end_names[target.name] = f"{self.name(info.root.name)}_m{info.size - key[0]}"
            return [_Op(target, "element", line, index=first, root=info.root)]
        size = len(np.empty(info.size)[key[0]])
        self._array(target, count, size, info.root, first, step)
        return []

    def _operand_length(self, expr, line):
        lengths = [self.info[s].length for s in sorted(expr.free_symbols, key=str)
                   if self._shape(s)]
        for other in lengths[1:]:
            self._same(lengths[0], other)
        return lengths[0]

    def _rename_end_reads(self):
        """``x_1002`` (``x[-2]`` at this trace's length) -> ``x_m2``, and names made from it."""
        if not self.end_names:
            return
        names = {s.name for line in walk_lines(self.schedule.lines)
                 for s in line.expr.free_symbols | {line.target}}
        for name in sorted(names):
            for old, new in self.end_names.items():
                if name == old or name.startswith(old + "_"):
                    self.renames[name] = new + name[len(old):]

    # ---- numbers that are lengths ----
    def recognise(self, expr):
        """``expr`` with the numbers that are array lengths (``1/1003`` from ``np.mean``) written
        as those lengths."""
        if isinstance(expr, arrays.ArrayOp):
            return expr
        numbers = {n for n in expr.atoms(sympy.Rational) if max(abs(n.p), n.q) >= TRACE_LENGTH // 2}
        if not numbers:
            return expr
        return expr.xreplace({n: self._number(n) for n in numbers})

    def _number(self, number):
        p, q = number.p, number.q
        num, den = sympy.Integer(1), sympy.Integer(1)
        sizes = [size for size in sorted(self.by_size, reverse=True) if size >= TRACE_LENGTH // 2]
        for size in sizes:
            while q % size == 0:
                q, den = q // size, den * self._by_size(size)
            while p and p % size == 0:
                p, num = p // size, num * self._by_size(size)
        numerator = sympy.Integer(p)
        if den != 1 and abs(p) >= TRACE_LENGTH // 2:  # SymPy folds x/n + x into (n + 1)/n*x
            for size in sizes:
                a = round(p / size)
                if a and abs(p - a * size) <= SHIFT:
                    numerator = a * self._by_size(size) + (p - a * size)
                    break
        if num == 1 and den == 1 and numerator == p:
            return number
        value = numerator * num / (q * den)
        return value.xreplace(self._as_double())  # (n + 1)/n must not be C's integer division

    def _as_double(self):
        """Each length symbol -> a symbol printed ``(double)n_x``."""
        out = {}
        for n in self.lengths.values():
            twin = sympy.Symbol(f"{n.name}__as_double", real=True)
            self.renames[twin.name] = f"(double){n.name}"
            out[n] = twin
        return out

    # ---- printing ----
    def expr(self, expr, line=None):
        return super().expr(self.recognise(expr), line)

    def _at(self, symbol, local):
        """C text of element ``i`` of an array (or of a scalar's value)."""
        info = self.info.get(symbol)
        if info is None:
            return self.name(symbol.name)
        if info.root in local:  # a loop-local value (read at i: the grouping made sure)
            return self.name(info.root.name)
        position = self.int_printer.doprint(sympy.expand(info.first + info.step * self.index))
        return f"{self.name(info.root.name)}[{position}]"

    def _element(self, expr, local, line):
        """An element expression: arrays read at ``i``."""
        overrides = {s.name: self._at(s, local) for s in expr.free_symbols if s in self.info}
        saved = self.printer.renames
        self.printer.renames = ChainMap(overrides, saved)
        try:
            return self.expr(expr, line)
        finally:
            self.printer.renames = saved

    def _reads(self, op):
        """Symbols ``op`` reads (for an array: its root), with whether each read is at ``i``."""
        if op.kind == "element":
            return {op.root: False}
        if op.kind == "scatter":
            exprs = [v for *_, v in op.parts]
        else:
            exprs = [op.expr]
        out = {}
        for e in exprs:
            for s in sympy.sympify(e).free_symbols:
                info = self.info.get(s)
                if info is None:
                    out[s] = True
                else:
                    out[info.root] = out.get(info.root, True) and info.identity
        return out

    def _groups(self, items):
        """Consecutive map/reduce ops over the same length -> one loop (a ``_Group``)."""
        out, current = [], None
        for item in items:
            if isinstance(item, _Op) and item.kind == "scatter" and current is not None \
                    and self._joins(item, current):
                current.ops.append(item)
                current.reduced.add(item.target)  # complete only after the loop
                continue
            loop = isinstance(item, _Op) and item.kind in ("map", "reduce")
            if loop and current is not None and self._tied(item.length, current.length):
                reads = self._reads(item)
                clash = any(s in current.reduced or (s in current.defined and not at_i)
                            for s, at_i in reads.items())
                if not clash:
                    current.ops.append(item)
                    (current.reduced if item.kind == "reduce" else current.defined).add(item.target)
                    continue
            if loop:
                current = _Group(item.length, [item], set(), set())
                (current.reduced if item.kind == "reduce" else current.defined).add(item.target)
                out.append(current)
            else:
                current = None
                out.append(item)
        return out

    def _joins(self, scatter, group):
        """Whether the adjoint of indexing ``scatter`` can add inside ``group``'s loop: each slice
        part as long as the loop, reading what the loop has ready at ``i``."""
        for first, step, count, value in scatter.parts:
            for s in sympy.sympify(value).free_symbols:
                info = self.info.get(s)
                if s in group.reduced or (info is not None and count is None):
                    return False
                if info is not None and info.root in group.defined and not info.identity:
                    return False
            if count is not None and not self._tied(count, group.length):
                return False
        return any(count is not None for *_, count, _ in scatter.parts)

    def body(self, returns):
        """``(declarations, statements, workspace length, {gradient: output it is written to})``
        computing ``returns``."""
        items = _Items(self.ops).visit_block(self.schedule.needed(returns))
        blocks = self._groups(items)
        group_of = {}
        for n, block in enumerate(blocks):
            for op in (block.ops if isinstance(block, _Group) else [block]):
                if isinstance(op, _Op):
                    group_of[op.target] = n
        stored = set()
        for n, block in enumerate(blocks):
            for op in (block.ops if isinstance(block, _Group) else [block]):
                if isinstance(op, IfBlock):
                    continue
                for s in self._reads(op):
                    if s in self.info and group_of.get(s, n) != n:
                        stored.add(s)
        gradients = list(self.schedule.gradients)
        array_outputs = {}
        stored |= {g for g in gradients if g in group_of and g in self.info}
        for out, g, p in zip(self.outputs, gradients, self.gradient_program.wrt):
            if p.name in self.lengths and g in group_of and gradients.count(g) == 1 and g in self.info:
                array_outputs[g] = out
        for block in blocks:  # scatter and product-of-others targets are written in place
            if isinstance(block, _Op) and block.kind in ("scatter", "others"):
                stored.add(block.target)
        buffers = [s for s in stored if s in group_of and s not in array_outputs
                   and self.info[s].root == s]
        buffers.sort(key=lambda s: group_of[s])
        declarations = [f"double *const {self.name(g.name)} = {out};" for g, out in array_outputs.items()]
        offset = sympy.Integer(0)
        for s in buffers:
            where = self.work if offset == 0 else f"{self.work} + ({_int(offset)})"
            declarations.append(f"double *const {self.name(s.name)} = {where};")
            offset += self.canon(self.info[s].length)
        self._tag = None
        statements = _Statements(self, stored).visit_block(blocks)
        return declarations, statements, offset, array_outputs

    def _comment_for(self, line, current):
        tag = (line.lineno, line.reverse, line.filename)
        if tag == current or line.lineno is None:
            return [], current
        return [f"/* {_comment(f'{line_label(line)}: {line.source}')} */"], tag

    def _single(self, op):
        name = self.name(op.target.name)
        if op.kind == "scalar":
            return [f"const double {name} = {self.expr(op.expr, op.line)};"]
        if op.kind == "element":
            return [f"const double {name} = {self.name(op.root.name)}[{_int(op.index)}];"]
        i = self.index.name
        if op.kind == "others":
            return self._others(op, name)
        out = self._zero(op)
        for first, step, count, value in op.parts:
            if count is None:
                out.append(f"{name}[{_int(first)}] += {self._element(value, set(), op.line)};")
                continue
            position = self.int_printer.doprint(sympy.expand(first + step * self.index))
            out += [f"for (long {i} = 0; {i} < {_int(self.canon(count))}; ++{i}) {{",
                    f"    {name}[{position}] += {self._element(value, set(), op.line)};", "}"]
        return out

    def _others(self, op, name):
        """``name[i]`` = the product of the elements of ``op.expr`` other than i: the product of
        those before i (a loop up), times the product of those after it (a loop down). No
        division, so it is exact where elements are 0."""
        i, length = self.index.name, self.canon(op.length)
        x = self._element(op.expr, set(), op.line)
        product = self.program.namer.fresh(f"{name}_run")
        return [f"double {product} = 1.0;",
                f"for (long {i} = 0; {i} < {_int(length)}; ++{i}) {{",
                f"    {name}[{i}] = {product};", f"    {product} *= {x};", "}",
                f"{product} = 1.0;",
                f"for (long {i} = {_int(sympy.expand(length - 1))}; {i} >= 0; --{i}) {{",
                f"    {name}[{i}] *= {product};", f"    {product} *= {x};", "}"]

    def _zero(self, op):
        i, name = self.index.name, self.name(op.target.name)
        return [f"for (long {i} = 0; {i} < {_int(self.canon(op.length))}; ++{i}) {{",
                f"    {name}[{i}] = 0.0;", "}"]

    def _loop(self, group, stored):
        i = self.index.name
        before, inside, after, current = [], [], [], self._tag
        local = set()
        for op in group.ops:
            comment, current = self._comment_for(op.line, current)
            if not before and not inside:
                before += comment
            else:
                inside += ["    " + c for c in comment]
            name = self.name(op.target.name)
            if op.kind == "scatter":
                before += self._zero(op)
                for first, step, count, value in op.parts:
                    value = self._element(value, local, op.line)
                    if count is None:
                        after.append(f"{name}[{_int(first)}] += {value};")
                    else:
                        position = _int(sympy.expand(first + step * self.index))
                        inside.append(f"    {name}[{position}] += {value};")
                continue
            value = self._element(op.expr, local, op.line)
            if op.kind == "map":
                if op.target in stored:
                    inside.append(f"    {name}[{i}] = {value};")
                else:
                    inside.append(f"    const double {name} = {value};")
                    local.add(op.target)
            elif op.reduce in ("sum", "prod"):
                before.append(f"double {name} = {'0.0' if op.reduce == 'sum' else '1.0'};")
                inside.append(f"    {name} {'+=' if op.reduce == 'sum' else '*='} {value};")
            else:
                better = ">" if op.reduce == "max" else "<"
                before.append(f"double {name} = {'-' if op.reduce == 'max' else ''}INFINITY;")
                inside.append(f"    if ({value} {better} {name} || isnan({value})) {{")
                inside.append(f"        {name} = {value};")
                inside.append("    }")
        self._tag = current
        loop = f"for (long {i} = 0; {i} < {_int(self.canon(group.length))}; ++{i}) {{"
        return before + [loop, *inside, "}"] + after

    def condition_text(self):
        """What the loops assume of the lengths, as a C condition (``None``: nothing)."""
        bounds, others, seen = {}, [], set()
        order = [self.lengths[p.name] for p in self.program.params if p.name in self.lengths]
        for kind, diff in self.conditions:
            if kind == "eq" and (diff in seen or -diff in seen):
                continue
            seen.add(diff)
            if diff.is_Number:
                if (kind == "eq" and diff != 0) or (kind == "ge" and diff < 0):
                    others.append("0")  # never true: the code cannot run at any length
                continue
            coeff, rest = diff.as_coeff_Add()
            if kind == "ge" and rest.is_Symbol:
                bounds[rest] = max(bounds.get(rest, -coeff), -coeff)
                continue
            if kind == "eq" and diff.has(sympy.floor):
                terms = sympy.Add.make_args(diff)
                plus = sympy.Add(*[t for t in terms if not t.could_extract_minus_sign()])
                minus = -sympy.Add(*[t for t in terms if t.could_extract_minus_sign()])
                text = f"{_int(plus)} == {_int(minus)}"
            elif kind == "eq":
                last = max(rest.free_symbols, key=lambda s: order.index(s) if s in order else -1)
                text = f"{last.name} == {_int(sympy.solve(diff, last)[0])}"
            else:
                text = f"{_int(rest)} >= {_int(-coeff)}"
            if text not in others:
                others.append(text)
        texts = [f"{s.name} >= {b}" for s, b in bounds.items()] + others
        return " && ".join(texts) if texts else None

    def function(self, kind):
        """``grad`` or ``value_and_grad``: (signature, full definition)."""
        gradients = list(self.schedule.gradients)
        with_value = kind == "value_and_grad"
        returns = [self.schedule.value, *gradients] if with_value else gradients
        inputs = []
        for p in self.program.params:
            if p.name in self.program.concrete:
                continue
            if p.name in self.lengths:
                inputs += [f"const double *{self.name(p.symbol.name)}", f"long {self.lengths[p.name].name}"]
            else:
                inputs.append(f"double {self.name(p.symbol.name)}")
        single = self.single = (len(gradients) == 1
                                and self.gradient_program.wrt[0].name not in self.lengths)
        pointers = [] if single and not with_value else [f"double *{o}" for o in self.outputs]
        returns_double = single or with_value
        signature = (f"{'double' if returns_double else 'void'} {self.base}_{kind}"
                     f"({', '.join(inputs + pointers)})")
        declarations, statements, workspace, aliased = self.body(returns)
        condition = self.condition_text()
        failed = []
        for o, p in zip(self.outputs, self.gradient_program.wrt):
            if not pointers:
                continue
            if p.name in self.lengths:
                failed.append(f"{self.fill}({o}, {self.lengths[p.name].name});")
            else:
                failed.append(f"*{o} = NAN;")
        failed.append("return NAN;" if returns_double else "return;")
        out = []
        if workspace != 0:
            size = f"sizeof(double) * (size_t)({_int(workspace + 1)})"  # + 1: never malloc(0)
            allocate = f"malloc({size})"
            if condition:
                allocate = f"({condition}) ? {allocate} : NULL"
            out += [f"double *const {self.work} = {allocate};", f"if ({self.work} == NULL) {{"]
        elif condition:
            out.append(f"if (!({condition})) {{")
        if workspace != 0 or condition:
            out += ["    " + f for f in failed] + ["}"]
        out += declarations + statements
        for o, g, p in zip(self.outputs, gradients, self.gradient_program.wrt):
            if p.name not in self.lengths:
                if pointers:
                    out.append(f"*{o} = {self.expr(g)};")
                continue
            if g in aliased:
                continue
            i = self.index.name
            value = "0.0" if g.is_Number and g == 0 else self._element(g, set(), None)
            out += [f"for (long {i} = 0; {i} < {self.lengths[p.name].name}; ++{i}) {{",
                    f"    {o}[{i}] = {value};", "}"]
        if workspace != 0:
            out.append(f"free({self.work});")
        if with_value:
            out.append(f"return {self.expr(self.schedule.value)};")
        elif single:
            out.append(f"return {self.expr(gradients[0])};")
        text = "\n".join(out)
        unused = [f"(void){name};  /* unused */" for name in self._param_names()
                  if not _mentions(text, name)]
        body = ["    " + t for t in unused + out]
        return signature, "\n".join([signature, "{", *body, "}"]) + "\n"

    def _param_names(self):
        for p in self.program.params:
            if p.name in self.program.concrete:
                continue
            yield self.name(p.symbol.name)
            if p.name in self.lengths:
                yield self.lengths[p.name].name

    def ties(self):
        """Groups of array parameters whose lengths the code ties together."""
        groups = {name: {name} for name in self.lengths}
        by_symbol = {n: name for name, n in self.lengths.items()}
        for kind, diff in self.conditions:
            if kind == "eq":
                names = sorted(by_symbol[s] for s in diff.free_symbols if s in by_symbol)
                merged = set().union(*(groups[n] for n in names)) if names else set()
                for n in merged:
                    groups[n] = merged
        unique = []
        for name in self.lengths:
            if groups[name] not in unique:
                unique.append(groups[name])
        return unique


def _without_product_operands(schedule):
    """``schedule`` with the product operand of each ``ProdOthers`` dropped: the Python helper
    reads it (its fast path), C computes the products of the others from both ends, so the
    gradient function need not compute ``np.prod(x)`` for it."""
    def strip(expr):
        found = {e: e.func(e.operands[0], sympy.Integer(1), *e.operands[2:], e.args[-1])
                 for e in expr.atoms(arrays.ProdOthers)}
        return expr.xreplace(found) if found else expr

    return replace(schedule, lines=_EachLine(strip).visit_block(schedule.lines))


class _EachLine(Transformer):
    """A block with ``change(expr)`` for each line's expression (nested lines included)."""

    stage = "backends.c_arrays"

    def __init__(self, change):
        self.change = change

    def visit_Line(self, line):
        expr = self.change(line.expr)
        return line if expr is line.expr else replace(line, expr=expr)

    def visit_IfBlock(self, block):
        return replace(block, then=tuple(self.visit_block(block.then)), orelse=tuple(self.visit_block(block.orelse)))


class _Analysis(Visitor):
    """Each scheduled line to the writer's ``_analyse_line`` (``nested``: inside an ``if``)."""

    stage = "backends.c_arrays"

    def __init__(self, writer):
        self.writer = writer

    def visit_Line(self, line, nested):
        self.writer._analyse_line(line, nested=nested)

    def visit_IfBlock(self, block, nested):
        self.visit_block(block.then, True)
        self.visit_block(block.orelse, True)


class _Items(Transformer):
    """The needed lines -> what the writer groups into loops: each line's ``_Op`` s (``ops``),
    an ``if`` as it is."""

    stage = "backends.c_arrays"

    def __init__(self, ops):
        self.ops = ops

    def visit_Line(self, line):
        return self.ops.get(line.target, [])

    def visit_IfBlock(self, block):
        return block


class _Statements(Transformer):
    """The writer's blocks (an ``if``, one ``_Op``, a ``_Group`` of ops in one loop) -> C lines."""

    stage = "backends.c_arrays"

    def __init__(self, writer, stored):
        self.writer = writer
        self.stored = stored  # arrays kept in the workspace

    def visit_IfBlock(self, block):
        self.writer._tag = None
        return self.writer._lines([block], "", declared=False)

    def visit__Op(self, op):
        comment, self.writer._tag = self.writer._comment_for(op.line, self.writer._tag)
        return comment + self.writer._single(op)

    def visit__Group(self, group):
        return self.writer._loop(group, self.stored)


def _mentions(text, name):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)  # not in the comments' source lines
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text) is not None


FILL_NAN = """\
static void {name}(double *out, long n)
{{
    /* the result for lengths that do not fit: NAN everywhere */
    for (long i = 0; i < n; ++i) {{
        out[i] = NAN;
    }}
}}
"""


def _text(writer, constants):
    """The translation unit for one trace (see the module docstring)."""
    program, gradient_program = writer.program, writer.gradient_program
    grad_signature, grad_text = writer.function("grad")
    vg_signature, vg_text = writer.function("value_and_grad")
    base = writer.base
    wrt = ", ".join(p.name for p in gradient_program.wrt)
    derivs = [f"d{base}/d{p.name}" for p in gradient_program.wrt]
    places = []
    for o, p, d in zip(writer.outputs, gradient_program.wrt, derivs):
        if p.name in writer.lengths:
            places.append(f"{d} in {o}[0 .. {writer.lengths[p.name].name} - 1]")
        else:
            places.append(f"{d} in *{o}")
    if writer.single:
        grad_does = f"returns {derivs[0]}"
    else:
        grad_does = f"stores {', '.join(places)}"
    vg_does = f"returns {base}, stores {', '.join(places)}"
    arrays_text = ", ".join(f"{writer.name(name)}: {n.name} doubles" for name, n in writer.lengths.items())
    condition = writer.condition_text()
    allocates = "malloc(" in grad_text + vg_text
    header = [
        header_title(program, base),
        "",
        *header_signatures((grad_signature, grad_does), (vg_signature, vg_does)),
        f"   Arrays are a pointer and a length ({arrays_text}); the code is generic in the lengths.",
    ]
    if condition:
        header.append(f"   It needs {condition}; other lengths give NAN in every result.")
    header += [
        "   Gradient buffers belong to the caller and must not overlap the inputs.",
        "",
        ("   C99; needs <math.h>" + (" and <stdlib.h> (malloc, free)" if allocates else " only")
         + "; link with -lm. Standalone: no symdiff at run time."),
    ]
    if constants:
        names = ", ".join(writer.name(name) for name in constants)
        header.append(f"   Baked in below: the values {names} had when this file was generated.")
    includes = "#include <math.h>\n" + ("#include <stdlib.h>\n" if allocates else "")
    parts = ["/* " + _comment("\n".join(header)) + " */\n", includes]
    if constants:
        parts.append("".join(f"static const double {writer.name(name)} = {c_double(float(value))};\n"
                             for name, value in constants.items()))
    parts += helper_definitions(writer.printer)
    if writer.fill + "(" in grad_text + vg_text:
        parts.append(FILL_NAN.format(name=writer.fill))
    parts.append(f"/* Gradient of {base} with respect to {wrt}. */\n{grad_text}")
    parts.append(f"/* Value of {base} and its gradient with respect to {wrt}. */\n{vg_text}")
    return "\n".join(parts)


def c_array_source(parsed, wrt_names, lengths, build, constants_of, first):
    """C text for a function whose parameters named in ``lengths`` (``{name: example length}``)
    are 1-D float arrays; ``build(kinds)`` traces it, ``constants_of(program)`` gives the numbers
    to bake in, ``first`` is its trace at the example lengths. Traced a little longer first (the
    same statements, or a loop unrolls over a length), then at long lengths (arrays whose lengths
    the code ties together kept tied, the others apart), then longer again: the two C texts must
    agree."""
    def kinds(extra):
        return {name: ("array", (n + extra.get(name, 0),)) for name, n in lengths.items()}

    def attempt(extra, strict):
        built = attempt_build(build, parsed, kinds(extra))
        constants = constants_of(built.program)
        writer = _ArrayWriter(built, constants, strict)
        return writer, _text(writer, constants)

    longer = attempt_build(build, parsed, kinds({name: SHIFT for name in lengths}))
    _same_statements(parsed, first, longer)
    common = {name: TRACE_LENGTH for name in lengths}
    writer, _ = attempt(common, strict=False)
    spread = {}
    for k, group in enumerate(writer.ties()):
        for name in group:
            spread[name] = TRACE_LENGTH + CLASS_STEP * k
    try:
        final, text = attempt(spread, strict=True)
        _, again = attempt({name: n + SHIFT for name, n in spread.items()}, strict=True)
    except _Ambiguous:
        raise ExportError(
            f"{parsed.fun.__qualname__}: C export cannot tell which array length a number in the code is",
            filename=parsed.filename, lineno=parsed.firstlineno, hint=HINT) from None
    if text != again:
        raise _not_generic(parsed, text, again)
    _check_example_fits(parsed, final, lengths)
    return text


def _check_example_fits(parsed, writer, lengths):
    """The loops' assumptions (slices within bounds, operands of equal length) must hold at the
    example lengths: other lengths give NaN, but a C function that is NaN at the very lengths it
    was exported for (``x[1:3]`` of 2 elements, which numpy clips) is refused here instead."""
    at = {writer.lengths[name]: n for name, n in lengths.items() if name in writer.lengths}
    for kind, diff in writer.conditions:
        value = sympy.sympify(sympy.sympify(diff).xreplace(at))
        if not value.is_number:
            continue
        if (kind == "ge" and value < 0) or (kind == "eq" and value != 0):
            shown = ", ".join(f"{name} of length {n}" for name, n in lengths.items())
            raise ExportError(
                f"{parsed.fun.__qualname__}: the C loops assume lengths that the example "
                f"arguments ({shown}) do not have (a slice past the end, which numpy shortens, or "
                "operands of different lengths)",
                filename=parsed.filename, lineno=parsed.firstlineno,
                hint="export with example arrays long enough for every slice, or emit Python "
                "(language='python')")


def attempt_build(build, parsed, kinds):
    """``build(kinds)``; failing there means the code works at some lengths only."""
    try:
        return build(kinds)
    except SymdiffError as exc:
        raise ExportError(
            f"{parsed.fun.__qualname__}: C export needs code that works at every array length, "
            f"but traced with {_describe(kinds)} it fails: {exc.message}",
            filename=exc.filename or parsed.filename, lineno=exc.lineno or parsed.firstlineno,
            hint=HINT) from None


def _same_statements(parsed, one, two):
    """The same lines at two lengths, or an ``ExportError`` at the first user line that differs."""
    a = [line.lineno for line in walk_lines(one.schedule.lines)]
    b = [line.lineno for line in walk_lines(two.schedule.lines)]
    if a == b:
        return
    lineno = next((x for x, y in zip(a, b) if x != y), (a + b)[min(len(a), len(b))])
    raise _not_generic(parsed, "", "", lineno)


def _describe(kinds):
    return ", ".join(f"len({name}) = {kind[1][0]}" for name, kind in kinds.items())


def _not_generic(parsed, text, again, lineno=None):
    """ExportError at the user's line where the two traces' C texts first differ."""
    first = None
    one, two = text.splitlines(), again.splitlines()
    for a, b in zip(one + [""] * len(two), two + [""] * len(one)):
        stripped = a.strip()
        if stripped.startswith("/* line "):
            lineno = int(stripped[len("/* line "):].split(":")[0].split(" ")[0])
        if a != b:
            first = first or lineno or parsed.firstlineno
            if lineno is not None:  # a difference in the body, past the length checks
                break
    lineno = lineno or first or parsed.firstlineno
    return ExportError(
        f"{parsed.fun.__qualname__}: the code depends on the array lengths (it is not the same C at two "
        "lengths): a loop over range(len(x)), a length used as a number, or an index computed "
        "from one", filename=parsed.filename, lineno=lineno,
        hint="write it with whole-array operations (np.sum, slices, np.mean), or " +
        HINT[HINT.index("export Python"):])


__all__ = ["c_array_source"]
