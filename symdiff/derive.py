"""derive: an SSA program -> its reverse-mode adjoint program. The chain rule lives here.

Takes: a ``Program`` and the parameters to differentiate. Returns: a ``GradientProgram``: each
statement's local partial derivatives (``sympy.diff`` of that one small expression), the reverse
pass as ``Adjoint`` statements (``v_bar = sum(w_bar * dw/dv)``) and ``Branch`` es mirroring the
forward ones, and one gradient expression per parameter. Work is linear in the number of
statements: no expression is ever inlined into another.
"""

from dataclasses import dataclass, field

import sympy

from .errors import SymdiffError
from .primitives import SharedTies
from .program import Branch, Merge, Statement


@dataclass(frozen=True)
class Adjoint:
    """``target = expr`` where ``target`` is d(output)/d(``of``), from the user's line ``lineno``."""

    target: sympy.Symbol
    of: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str
    filename: str = None

    def __repr__(self):
        return f"<line {self.lineno} reverse: {self.target} = {self.expr}>"


@dataclass
class GradientProgram:
    """A program with its reverse pass: everything needed to emit and explain the gradient."""

    program: object
    wrt: list  # Params, in the order the user asked for them
    partials: dict = field(default_factory=dict)  # statement target -> [(symbol, d target/d symbol)]
    reused: dict = field(default_factory=dict)  # the same partials, reusing statement values
    reverse: list = field(default_factory=list)  # Adjoint statements and Branches, in run order
    gradients: list = field(default_factory=list)  # one expression per wrt parameter
    origins: dict = field(default_factory=dict)  # wrt symbol -> statement its gradient line cites

    @property
    def adjoints(self):
        """Every ``Adjoint`` of the reverse pass, nested ones included, in run order."""
        from .program import walk

        return [item for item in walk(self.reverse) if isinstance(item, Adjoint)]

    def __repr__(self):
        from .program import walk

        lines = [f"<GradientProgram d {self.program.output} / d ({', '.join(p.name for p in self.wrt)})"]
        lines += [f"  {a!r}" for a in walk(self.reverse)]
        lines += [f"  grad {p.name} = {g}" for p, g in zip(self.wrt, self.gradients)]
        return "\n".join(lines) + ">"


class _PowerOfSymbols(sympy.Function):
    """``b**e`` with a symbolic exponent, differentiated with the conventions at ``b = 0``.

    SymPy writes d(b**e) as ``b**e*(e/b*db + log(b)*de)``: 0/0 and 0*log(0) give nan at
    b = 0. Here d/db = ``e*b**(e - 1)`` (0 for e > 1, 1 for e = 1, inf for e < 1) and
    d/de = ``b**e*log(b)``, taken as 0 at b = 0 (DESIGN.md conventions; PyTorch does the same).
    """

    nargs = 2

    def fdiff(self, argindex=1):
        base, exponent = self.args
        if argindex == 1:
            return exponent * base ** (exponent - 1)
        return sympy.Piecewise((sympy.Integer(0), sympy.Eq(base, 0)),
                               (base ** exponent * sympy.log(base), True))


def _is_power_of_symbols(expr):
    """``b**e`` with a symbolic exponent and a symbolic (or zero) base."""
    return expr.is_Pow and bool(expr.exp.free_symbols) and (
        bool(expr.base.free_symbols) or expr.base.is_zero is True)


def _is_long_extremum(expr):
    """A ``Max``/``Min`` of three or more values (ties share 1/k, see ``SharedTies``)."""
    return isinstance(expr, (sympy.Max, sympy.Min)) and len(expr.args) > 2


def local_partial(stmt, symbol):
    """d(stmt.expr)/d(symbol), as SymPy differentiates it (``DiracDelta`` -> 0 almost everywhere).

    A power whose base and exponent are both symbolic follows the conventions at a zero base
    (see ``_PowerOfSymbols``)."""
    expr = stmt.expr
    stand_ins = False
    if expr.has(sympy.Pow) and any(_is_power_of_symbols(p) for p in expr.atoms(sympy.Pow)):
        expr = expr.replace(_is_power_of_symbols, lambda p: _PowerOfSymbols(p.base, p.exp))
        stand_ins = True
    if expr.has(sympy.Max, sympy.Min) and any(_is_long_extremum(e) for e in expr.atoms(sympy.Max, sympy.Min)):
        expr = expr.replace(_is_long_extremum, lambda e: SharedTies(e, *e.args))
        stand_ins = True
    partial = sympy.diff(expr, symbol)
    if stand_ins:
        partial = partial.replace(lambda e: isinstance(e, _PowerOfSymbols), lambda e: sympy.Pow(*e.args))
        partial = partial.replace(lambda e: isinstance(e, SharedTies), lambda e: e.args[0])
    if partial.has(sympy.DiracDelta):  # derivative of sign(): zero almost everywhere
        partial = partial.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.Integer(0))
    if partial.has(sympy.Derivative, sympy.Subs):
        bad = next(iter(partial.atoms(sympy.Derivative, sympy.Subs)))
        raise SymdiffError(
            f"SymPy cannot differentiate {bad.args[0]} with respect to {symbol}",
            hint="use symdiff-supported functions, or register the derivative with symdiff.register",
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


class _Deriver:
    def __init__(self, program, wrt):
        self.program = program
        self.result = GradientProgram(program=program, wrt=list(wrt))
        self.active = {p.symbol for p in wrt}
        self.order = {p.symbol: i for i, p in enumerate(program.params)}
        self.users = {}  # symbol -> statements whose local derivatives feed its adjoint

    # ---- forward: which values depend on the parameters, and their local partials ----
    def forward(self, items):
        for item in items:
            if isinstance(item, Statement):
                self.order[item.target] = len(self.order)
                uses = sorted(item.expr.free_symbols & self.active, key=self.order.__getitem__)
                if uses:
                    self.active.add(item.target)
                    partials = [(s, self._partial(item, s)) for s in uses]
                    reuse = _reuse(item)
                    self.result.partials[item.target] = partials
                    self.result.reused[item.target] = [(s, d.xreplace(reuse)) for s, d in partials]
            elif isinstance(item, Branch):
                self.forward(item.then)
                self.forward(item.orelse)
                for merge in item.merges:
                    self.order[merge.target] = len(self.order)
                    values = merge.then_value.free_symbols | merge.else_value.free_symbols
                    if values & self.active:
                        self.active.add(merge.target)

    def _partial(self, stmt, symbol):
        try:
            return local_partial(stmt, symbol)
        except SymdiffError as exc:
            raise SymdiffError(exc.message, filename=stmt.filename or self.program.filename,
                               lineno=stmt.lineno, hint=exc.hint) from None

    # ---- reverse: adjoints from the output back to the inputs ----
    def reverse(self, items, terms):
        out = []
        for item in reversed(items):
            if isinstance(item, Statement):
                self._reverse_statement(item, terms, out)
            elif isinstance(item, Branch):
                self._reverse_branch(item, terms, out)
        return out

    def _reverse_statement(self, stmt, terms, out):
        contributions = terms.pop(stmt.target, None)
        if not contributions or stmt.target not in self.result.partials:
            return
        bar = self._materialize(stmt.target, contributions, stmt, out)
        for symbol, partial in self.result.reused[stmt.target]:
            terms.setdefault(symbol, []).append(bar * partial)
            self.users.setdefault(symbol, []).append(stmt)

    def _materialize(self, symbol, contributions, own, out, origin=None):
        """``sum(contributions)`` as a name (a new ``Adjoint`` line unless it is one already)."""
        bar = sympy.Add(*contributions)
        if bar.is_Atom:
            return bar
        target = sympy.Symbol(self.program.namer.adjoint(symbol.name), real=True)
        origin = origin or _origin(self.users.get(symbol, []), own)
        out.append(Adjoint(target, symbol, bar, origin.lineno, origin.source, origin.filename))
        return target

    def _reverse_branch(self, branch, terms, out):
        arms = ({}, {})
        for merge in branch.merges:
            contributions = terms.pop(merge.target, None)
            if not contributions or merge.target not in self.active:
                continue
            bar = self._materialize(merge.target, contributions, branch, out)
            for arm_terms, value in zip(arms, (merge.then_value, merge.else_value)):
                for symbol in sorted(value.free_symbols & self.active, key=self.order.__getitem__):
                    arm_terms.setdefault(symbol, []).append(bar * sympy.diff(value, symbol))
        then_terms, else_terms = arms
        then_rev = self.reverse(branch.then, then_terms)
        then_users = {s: self.users[s][-1] for s in then_terms if self.users.get(s)}
        else_rev = self.reverse(branch.orelse, else_terms)
        else_users = {s: self.users[s][-1] for s in else_terms if self.users.get(s)}
        # What is left flows to values defined before the 'if': join it after the reverse branch.
        outer = sorted(set(then_terms) | set(else_terms), key=self.order.__getitem__)
        merges = []
        for symbol in outer:
            then_value = self._arm_sum(symbol, then_terms, then_rev, then_users.get(symbol, branch))
            else_value = self._arm_sum(symbol, else_terms, else_rev, else_users.get(symbol, branch))
            target = sympy.Symbol(self.program.namer.adjoint(symbol.name), real=True)
            merges.append(Merge(target, then_value, else_value))
            terms.setdefault(symbol, []).append(target)
            self.users.setdefault(symbol, []).append(branch)
        if then_rev or else_rev or merges:
            out.append(Branch(branch.cond, tuple(then_rev), tuple(else_rev), tuple(merges),
                              branch.lineno, branch.source, branch.filename))


    def _arm_sum(self, symbol, arm_terms, arm_reverse, origin):
        """What one arm contributes to ``symbol``'s adjoint, as a name computed in that arm."""
        contributions = arm_terms.get(symbol, [])
        if not contributions:
            return sympy.Integer(0)
        return self._materialize(symbol, contributions, origin, arm_reverse, origin)


def _origin(users, own):
    """The statement a reverse-pass line is labelled with: its one user, else its own definition."""
    if len(users) == 1 or (users and own is None):
        return users[0] if len(users) == 1 else users[-1]
    return own


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
    deriver = _Deriver(program, wrt)
    deriver.forward(program.body)
    terms = {}
    if program.output in deriver.active:
        terms[program.output] = [sympy.Integer(1)]
    result = deriver.result
    result.reverse = deriver.reverse(program.body, terms)
    for param in wrt:
        result.gradients.append(sympy.Add(*terms.get(param.symbol, [])))
        users = deriver.users.get(param.symbol, [])
        result.origins[param.symbol] = _origin(users, None) if users else None
    return result


__all__ = ["Adjoint", "GradientProgram", "derive", "local_partial"]
