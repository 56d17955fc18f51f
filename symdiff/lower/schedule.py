"""schedule: forward and adjoint statements -> code lines, one operation per line, CSE'd.

Takes: a ``GradientProgram``. Returns: a ``Schedule``: ``Line`` s (``target = one operation over
names and numbers``) and ``IfBlock`` s (for branches on data), each tagged with the user's line it
comes from, plus the names that the gradient and value-and-gradient functions return. Every
distinct subexpression is computed once per scope (value numbering, linear in program size); lines a
function does not need are dropped.
"""

from collections import ChainMap
from functools import cached_property
from dataclasses import dataclass

import sympy

from ..primitives import signs
from ..primitives.nodes import real_symbol, rebuilt, substituted
from ..ir import Branch, Statement


MAX_OPERANDS = 16  # operands of one printed sum or product; longer ones are split over lines


@dataclass(frozen=True)
class Line:
    """``target = expr`` where ``expr`` is one operation; from the user's ``lineno``."""

    target: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str
    reverse: bool  # True for lines of the reverse (adjoint) pass
    filename: str = None  # None: the differentiated function's own file

    @cached_property
    def symbols(self):
        """The names ``expr`` reads (computed once: every dead-code pass asks)."""
        return self.expr.free_symbols

    def __repr__(self):
        return f"{self.target} = {self.expr}  # line {self.lineno}{' (reverse)' if self.reverse else ''}"


@dataclass(frozen=True)
class IfBlock:
    """``if cond:`` ``then`` lines ``else:`` ``orelse`` lines."""

    cond: sympy.Basic
    then: tuple
    orelse: tuple
    lineno: int
    source: str
    reverse: bool
    filename: str = None


@dataclass
class Schedule:
    """All lines, and what each generated function returns."""

    lines: list
    value: sympy.Expr  # an atom: the function's value
    gradients: list  # atoms: one per wrt parameter
    math_calls: set = None  # the lines' nodes computed by a ``math`` function (Program.math_calls)
    numpy_ufuncs: dict = None  # the lines' nodes computed by a numpy ufunc (Program.numpy_ufuncs)

    def needed(self, returns):
        """The lines needed to compute ``returns``, in order (dead code dropped)."""
        live = set()
        for expr in returns:
            live |= expr.free_symbols
        kept, _ = _prune(self.lines, live)
        return kept


def _prune(lines, live):
    """The lines that compute something in ``live`` (a set, updated in place)."""
    kept = []
    for line in reversed(lines):
        if isinstance(line, Line):
            if line.target in live:
                kept.append(line)
                live.update(line.symbols)
        else:
            then, live_then = _prune(line.then, set(live))
            orelse, live_else = _prune(line.orelse, set(live))
            if then or orelse:
                kept.append(IfBlock(line.cond, tuple(then), tuple(orelse), line.lineno, line.source,
                                    line.reverse, line.filename))
                live.update(live_then, live_else, line.cond.free_symbols)
    kept.reverse()
    return kept, live


def inline_single_use(lines, returns, keep=()):
    """Fold names used exactly once back into their one use (array code only).

    numpy reuses the buffer of a temporary inside one expression (``a*b + c`` allocates once), but
    not across named lines; for large arrays the extra allocations cost more than the arithmetic.
    Operands of structural operations stay names, and nothing moves across an ``if``.
    """
    from ..primitives.arrays import ArrayOp

    uses = {}
    for line in walk_lines(lines):
        for symbol in line.symbols:
            uses[symbol] = uses.get(symbol, 0) + 1
    for block in _blocks(lines):
        for line in block:
            if isinstance(line, IfBlock):
                for symbol in line.cond.free_symbols:
                    uses[symbol] = uses.get(symbol, 0) + 2
    for expr in returns:
        for symbol in expr.free_symbols:
            uses[symbol] = uses.get(symbol, 0) + 2
    for symbol in keep:
        uses[symbol] = uses.get(symbol, 0) + 2
    return _inline_block(lines, uses, ArrayOp)


def _blocks(lines):
    yield lines
    for line in lines:
        if isinstance(line, IfBlock):
            yield from _blocks(line.then)
            yield from _blocks(line.orelse)


def _inline_block(lines, uses, array_op):
    pending = {}  # symbol -> expression, for single-use names defined earlier in this block
    out = []
    for line in lines:
        if isinstance(line, IfBlock):
            out.append(IfBlock(line.cond, tuple(_inline_block(line.then, uses, array_op)),
                               tuple(_inline_block(line.orelse, uses, array_op)), line.lineno,
                               line.source, line.reverse, line.filename))
            continue
        expr = line.expr
        wanted = {s: pending[s] for s in expr.free_symbols if s in pending}
        if wanted and not isinstance(expr, array_op) and not isinstance(expr, sympy.Piecewise):
            candidate = substituted(expr, wanted)  # as grouped: no flattening, no folding
            if candidate is not expr and not any(
                    not a.is_Atom for op in candidate.atoms(array_op) for a in op.operands):
                expr = candidate
                for s in wanted:
                    out = [x for x in out if not (isinstance(x, Line) and x.target == s)]
        line = Line(line.target, expr, line.lineno, line.source, line.reverse, line.filename)
        if uses.get(line.target, 0) == 1 and not isinstance(expr, sympy.Piecewise):
            pending[line.target] = expr
        out.append(line)
    return out


def walk_lines(lines):
    """Every ``Line`` in ``lines``, nested ones included."""
    for line in lines:
        if isinstance(line, Line):
            yield line
        else:
            yield from walk_lines(line.then)
            yield from walk_lines(line.orelse)


class _Lowerer:
    def __init__(self, namer, math_calls=(), numpy_ufuncs=None):
        self.namer = namer
        self.math_calls = set(math_calls)  # grows by the lowered forms of these nodes
        self.numpy_ufuncs = dict(numpy_ufuncs or {})  # likewise
        self.lines = []
        self.memo = ChainMap()  # expression -> the name that holds its value (scoped per arm)
        # symbol -> the atom it equals (copies are not emitted). Not scoped: an SSA name defined in
        # an arm is only ever read on paths where that arm ran.
        self.alias = {}
        self.where = (None, "", False, None)  # lineno, source, reverse, filename

    def at(self, item, reverse):
        self.where = (item.lineno, item.source, reverse, item.filename)

    def emit(self, target, node):
        self.lines.append(Line(target, node, *self.where))

    # ---- statements ----
    def items(self, items, reverse):
        for item in items:
            if isinstance(item, Branch):
                self.branch(item, reverse)
            else:
                self.at(item, reverse)
                self.assign(item.target, item.expr)

    def assign(self, target, expr):
        if expr.is_Atom:
            self.alias[target] = self.atom(expr)
            return
        if expr in self.memo:
            self.alias[target] = self.memo[expr]
            return
        self.emit(target, self.rebuild(expr))
        self.memo[expr] = target

    def branch(self, branch, reverse):
        self.at(branch, reverse)
        cond = self.condition(branch.cond)
        where = self.where
        arms = []
        for block, values in ((branch.then, [m.then_value for m in branch.merges]),
                              (branch.orelse, [m.else_value for m in branch.merges])):
            saved = self.lines, self.memo
            self.lines, self.memo = [], self.memo.new_child()
            self.items(block, reverse)
            self.where = where
            for merge, value in zip(branch.merges, values):
                node = self.atom(value) if value.is_Atom else self.rebuild(value)
                self.emit(merge.target, node)
            arms.append(tuple(self.lines))
            self.lines, self.memo = saved
        self.lines.append(IfBlock(cond, arms[0], arms[1], *where))

    def condition(self, cond):
        if isinstance(cond, sympy.core.relational.Relational):
            return cond.func(self.operand_value(cond.lhs), self.operand_value(cond.rhs))
        if isinstance(cond, (sympy.And, sympy.Or, sympy.Not)):
            return cond.func(*[self.condition(arg) for arg in cond.args])
        return cond

    def operand_value(self, expr):
        return self.atom(expr) if expr.is_Atom else self.value(expr)

    # ---- expressions ----
    def atom(self, expr):
        return self.alias.get(expr, expr)

    def value(self, expr):
        """A name or number holding ``expr``'s value, emitting lines as needed."""
        if expr.is_Atom:
            return self.atom(expr)
        found = self.memo.get(expr)
        if found is not None:
            return found
        node = self.rebuild(expr)
        if node.is_Atom:
            return node
        target = real_symbol(self.namer.temporary())
        self.emit(target, node)
        self.memo[expr] = target
        return target

    def rebuild(self, expr):
        if isinstance(expr, sympy.Piecewise):
            # Branches stay whole: only the taken branch may be evaluated.
            pairs = [(self._substitute(e), self._substitute(c)) for e, c in expr.args]
            return sympy.Piecewise(*pairs)
        args = [self.operand(arg, expr) for arg in expr.args]
        if (expr.is_Add or expr.is_Mul) and len(args) > MAX_OPERANDS:
            # A long sum (an adjoint gathering a loop's contributions, sum() over many terms):
            # partial sums on lines of their own, so no line nests too deep for Python's compiler.
            while len(args) > MAX_OPERANDS:
                chunk, args = args[:MAX_OPERANDS], args[MAX_OPERANDS:]
                target = real_symbol(self.namer.temporary())
                self.emit(target, expr.func(*chunk, evaluate=False))
                args.insert(0, target)
            return expr.func(*args, evaluate=False)
        if all(a is b for a, b in zip(args, expr.args)):
            return expr
        node = rebuilt(expr, args)  # the arguments are canonical: skip SymPy's canonicalisation
        if expr in self.math_calls:
            self.math_calls.add(node)
        ufunc = self.numpy_ufuncs.get(expr)
        if ufunc is not None:
            self.numpy_ufuncs[node] = ufunc
        return node

    def _substitute(self, expr):
        if not self.alias:
            return expr
        return expr.xreplace(self.alias)

    def operand(self, arg, parent):
        if arg.is_Atom:
            return self.atom(arg)
        if _inline_in(arg, parent):
            return arg.func(*[self.atom(a) for a in arg.args])
        if parent.is_Add and arg.is_Mul and len(arg.args) == 2 and arg.args[0] == -1:
            # -f(y) in a sum: f(y) gets a name, the sum subtracts it ('a - t', not 't2 = -t')
            return rebuilt(arg, [arg.args[0], self.operand_value(arg.args[1])])
        return self.value(arg)


def _inline_in(arg, parent):
    """Small operands printed inside their parent's line: ``-x``, ``2*x`` in a sum, ``/x`` in a product."""
    if not all(a.is_Atom for a in arg.args):
        return False
    if arg.is_Mul and len(arg.args) == 2 and arg.args[0].is_Number:
        return parent.is_Add or arg.args[0] == -1
    if arg.is_Pow and arg.exp.is_Number and arg.exp.is_negative:
        return parent.is_Mul
    return False


def schedule(gradient_program):
    """Lower forward statements, adjoints and gradients to one-operation lines."""
    program = gradient_program.program
    lowerer = _Lowerer(program.namer, program.math_calls, program.numpy_ufuncs)
    lowerer.items(program.body, reverse=False)
    lowerer.items(gradient_program.reverse, reverse=True)
    gradients = []
    for param, expr in zip(gradient_program.wrt, gradient_program.gradients):
        origin = gradient_program.origins.get(param.symbol)
        lowerer.where = (origin.lineno, origin.source, True, origin.filename) if origin else (None, "", True, None)
        if expr.is_Atom:
            gradients.append(lowerer.atom(expr))
            continue
        target = real_symbol(program.namer.adjoint(param.name))
        lowerer.assign(target, expr)
        gradients.append(lowerer.atom(target))
    value = lowerer.value(program.output)
    return Schedule(lines=lowerer.lines, value=value, gradients=gradients,
                    math_calls=lowerer.math_calls, numpy_ufuncs=lowerer.numpy_ufuncs)


__all__ = ["IfBlock", "Line", "Schedule", "Statement", "schedule", "walk_lines"]
