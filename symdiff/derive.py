"""derive: an SSA program -> its reverse-mode adjoint statements. The chain rule lives here.

Takes: a ``Program`` (one SymPy expression per statement) and the parameters to differentiate.
Returns: a ``GradientProgram``: each statement's local partial derivatives (``sympy.diff`` of that
one small expression), the adjoint statements ``v_bar = sum(w_bar * dw/dv)`` in reverse order, and
one gradient expression per parameter. Work is linear in the number of statements: no expression
is ever inlined into another.
"""

from dataclasses import dataclass, field

import sympy

from .errors import SymdiffError
from .to_sympy import Statement


@dataclass(frozen=True)
class Adjoint:
    """``target = expr`` where ``target`` is d(output)/d(``of``), from the user's line ``lineno``."""

    target: sympy.Symbol
    of: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str

    def __repr__(self):
        return f"<line {self.lineno} reverse: {self.target} = {self.expr}>"


@dataclass
class GradientProgram:
    """A program with its reverse pass: everything needed to emit and explain the gradient."""

    program: object
    wrt: list  # Params, in the order the user asked for them
    partials: dict = field(default_factory=dict)  # statement target -> [(symbol, d target/d symbol)]
    reused: dict = field(default_factory=dict)  # the same partials, reusing statement values
    adjoints: list = field(default_factory=list)  # Adjoint statements, in execution order
    adjoint_of: dict = field(default_factory=dict)  # symbol -> expression of d output / d symbol
    gradients: list = field(default_factory=list)  # one expression per wrt parameter
    origins: dict = field(default_factory=dict)  # wrt symbol -> statement its gradient line cites

    def __repr__(self):
        lines = [f"<GradientProgram d {self.program.output} / d ({', '.join(p.name for p in self.wrt)})"]
        lines += [f"  {a!r}" for a in self.adjoints]
        lines += [f"  grad {p.name} = {g}" for p, g in zip(self.wrt, self.gradients)]
        return "\n".join(lines) + ">"


def local_partial(stmt, symbol):
    """d(stmt.expr)/d(symbol), as SymPy differentiates it (``DiracDelta`` -> 0 almost everywhere)."""
    partial = sympy.diff(stmt.expr, symbol)
    if partial.has(sympy.DiracDelta):  # derivative of sign(): zero almost everywhere
        partial = partial.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.Integer(0))
    if partial.has(sympy.Derivative, sympy.Subs):
        bad = next(iter(partial.atoms(sympy.Derivative, sympy.Subs)))
        raise SymdiffError(
            f"SymPy cannot differentiate {bad.args[0]} with respect to {symbol}",
            hint="use symdiff-supported functions, or rewrite this expression",
        )
    return partial


def _reuse(stmt):
    """Replacements that let a partial reuse the statement's own value (d exp(z)/dz = u)."""
    expr, target = stmt.expr, stmt.target
    replacements = {expr: target}
    if expr.is_Pow:
        base, exponent = expr.args
        replacements[sympy.Pow(base, -exponent)] = 1 / target
    return replacements


def derive(program, wrt):
    """Reverse-mode gradient of ``program.output`` with respect to the parameters ``wrt``.

    >>> import math
    >>> from symdiff.parse import parse_function
    >>> from symdiff.to_sympy import trace
    >>> def f(x):
    ...     return math.exp(x) * x
    >>> prog = trace(parse_function(f))
    >>> derive(prog, prog.params).gradients
    [f + exp(x)]
    """
    result = GradientProgram(program=program, wrt=list(wrt))
    active = {p.symbol for p in wrt}
    order = {p.symbol: i for i, p in enumerate(program.params)}
    for stmt in program.statements:
        order[stmt.target] = len(order)
        uses = sorted(stmt.expr.free_symbols & active, key=order.__getitem__)
        if uses:
            active.add(stmt.target)
            partials = [(s, local_partial_located(stmt, s, program)) for s in uses]
            reuse = _reuse(stmt)
            result.partials[stmt.target] = partials
            result.reused[stmt.target] = [(s, d.xreplace(reuse)) for s, d in partials]

    namer = program.namer
    terms = {}
    if program.output in active:
        terms[program.output] = [sympy.Integer(1)]
    users = {}  # symbol -> the statements whose local derivatives feed its adjoint
    for stmt in reversed(program.statements):
        contributions = terms.pop(stmt.target, None)
        if not contributions or stmt.target not in result.partials:
            continue
        bar = sympy.Add(*contributions)
        if not bar.is_Atom:
            symbol = sympy.Symbol(namer.adjoint(stmt.target.name), real=True)
            origin = _origin(users.get(stmt.target, []), stmt)
            result.adjoints.append(Adjoint(symbol, stmt.target, bar, origin.lineno, origin.source))
            bar = symbol
        result.adjoint_of[stmt.target] = bar
        for symbol, partial in result.reused[stmt.target]:
            terms.setdefault(symbol, []).append(bar * partial)
            users.setdefault(symbol, []).append(stmt)
    result.origins = {p.symbol: _origin(users.get(p.symbol, []), None) for p in wrt}
    for param in wrt:
        gradient = sympy.Add(*terms.get(param.symbol, []))
        result.adjoint_of[param.symbol] = gradient
        result.gradients.append(gradient)
    return result


def _origin(users, own):
    """The statement a reverse-pass line is labelled with: its one user, else its own definition."""
    if len(users) == 1 or (users and own is None):
        return users[0] if len(users) == 1 else users[-1]
    return own


def local_partial_located(stmt, symbol, program):
    """``local_partial`` with errors pointing at the statement's line."""
    try:
        return local_partial(stmt, symbol)
    except SymdiffError as exc:
        raise SymdiffError(exc.message, filename=program.filename, lineno=stmt.lineno,
                           col_offset=None, hint=exc.hint) from None


__all__ = ["Adjoint", "GradientProgram", "Statement", "derive", "local_partial"]
