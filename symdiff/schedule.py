"""schedule: forward and adjoint statements -> straight-line code, one operation per line, CSE'd.

Takes: a ``GradientProgram``. Returns: a ``Schedule``: ``Line`` s (``target = one operation over
names and numbers``), each tagged with the user's line it comes from, plus the names that the
gradient function and the value-and-gradient function return. Every distinct subexpression is
computed once (value numbering, linear in program size); lines a function does not need are dropped.
"""

from dataclasses import dataclass

import sympy


@dataclass(frozen=True)
class Line:
    """``target = expr`` where ``expr`` is one operation; from the user's ``lineno``."""

    target: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str
    reverse: bool  # True for lines of the reverse (adjoint) pass

    def __repr__(self):
        return f"{self.target} = {self.expr}  # line {self.lineno}{' (reverse)' if self.reverse else ''}"


@dataclass
class Schedule:
    """All lines, and what each generated function returns."""

    lines: list
    value: sympy.Expr  # an atom: the function's value
    gradients: list  # atoms: one per wrt parameter

    def needed(self, returns):
        """The lines needed to compute ``returns``, in order (dead code dropped)."""
        live = set()
        for expr in returns:
            live |= expr.free_symbols
        kept = []
        for line in reversed(self.lines):
            if line.target in live:
                kept.append(line)
                live |= line.expr.free_symbols
        kept.reverse()
        return kept


class _Lowerer:
    def __init__(self, namer):
        self.namer = namer
        self.lines = []
        self.memo = {}  # expression -> the name that holds its value
        self.alias = {}  # symbol -> the atom it equals (copies are not emitted)
        self.lineno = None
        self.source = ""
        self.reverse = False

    def assign(self, target, expr):
        if expr.is_Atom:
            self.alias[target] = self.atom(expr)
            return
        if expr in self.memo:
            self.alias[target] = self.memo[expr]
            return
        node = self.rebuild(expr)
        self.lines.append(Line(target, node, self.lineno, self.source, self.reverse))
        self.memo[expr] = target

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
        target = sympy.Symbol(self.namer.temporary(), real=True)
        self.lines.append(Line(target, node, self.lineno, self.source, self.reverse))
        self.memo[expr] = target
        return target

    def rebuild(self, expr):
        if isinstance(expr, sympy.Piecewise):
            # Branches stay whole: only the taken branch may be evaluated.
            pairs = [(self._substitute(e), self._substitute(c)) for e, c in expr.args]
            return sympy.Piecewise(*pairs)
        args = [self.operand(arg, expr) for arg in expr.args]
        return expr.func(*args)

    def _substitute(self, expr):
        if not self.alias:
            return expr
        return expr.xreplace(self.alias)

    def operand(self, arg, parent):
        if arg.is_Atom:
            return self.atom(arg)
        if _inline_in(arg, parent):
            return arg.func(*[self.atom(a) for a in arg.args])
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
    lowerer = _Lowerer(program.namer)
    for stmt in program.statements:
        lowerer.lineno, lowerer.source, lowerer.reverse = stmt.lineno, stmt.source, False
        lowerer.assign(stmt.target, stmt.expr)
    for adjoint in gradient_program.adjoints:
        lowerer.lineno, lowerer.source, lowerer.reverse = adjoint.lineno, adjoint.source, True
        lowerer.assign(adjoint.target, adjoint.expr)
    gradients = []
    for param, expr in zip(gradient_program.wrt, gradient_program.gradients):
        lowerer.lineno, lowerer.source, lowerer.reverse = None, "", True
        if expr.is_Atom:
            gradients.append(lowerer.atom(expr))
            continue
        target = sympy.Symbol(program.namer.adjoint(param.name), real=True)
        origin = gradient_program.origins.get(param.symbol)
        lowerer.lineno = origin.lineno if origin else None
        lowerer.source = origin.source if origin else ""
        lowerer.assign(target, expr)
        gradients.append(lowerer.atom(target))
    value = lowerer.value(program.output) if not program.output.is_Atom else lowerer.atom(program.output)
    return Schedule(lines=lowerer.lines, value=value, gradients=gradients)
