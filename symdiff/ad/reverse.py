"""reverse: an SSA program -> its reverse-mode adjoint program. The chain rule lives here.

Takes: a ``Program`` and the parameters to differentiate. Returns: a ``GradientProgram``: each
statement's local partial derivatives (``sympy.diff`` of that one small expression), the reverse
pass as ``Adjoint`` statements (``v_bar = sum(w_bar * dw/dv)``), ``Branch`` es mirroring the
forward ones and ``AdjointLoop`` s reversing the forward ``Loop`` s (a loop's body derived once,
in its carried symbols), and one gradient expression per parameter. Work is linear in the number of
statements: no expression is ever inlined into another.
"""

from dataclasses import dataclass, field

import sympy
from sympy.core.function import ArgumentIndexError

from ..primitives import arrays

from ..primitives import signs
from ..errors import SymdiffError
from ..primitives.faithful import PyExtremum, as_sympy_extrema
from ..primitives.nodes import outer_derivative, real_symbol
from ..primitives.sympy_functions import SharedTies
from ..ir import Branch, Carry, Located, Loop, Merge, Origin, Param, Statement, Visitor, definitions, walk


@dataclass(frozen=True)
class Adjoint(Located):
    """``target = expr`` where ``target`` is d(output)/d(``of``), from the user's line ``origin``."""

    target: sympy.Symbol
    of: sympy.Symbol
    expr: sympy.Expr
    origin: Origin

    def __repr__(self):
        return f"<line {self.lineno} reverse: {self.target} = {self.expr}>"


def leaf_params(param):
    """``[param]``, or a container argument's leaves as parameters of their own."""
    if param.tree is None:
        return [param]
    return [Param(leaf.name, leaf) for leaf in param.elements]


@dataclass(frozen=True)
class AdjointLoop(Located):
    """The reverse of the ``Loop`` ``forward``: its iterations from the last to the first, each
    recomputing the body from the state the forward loop saved, then running ``body`` (the
    body's ``Adjoint`` s, derived once). ``carried``: ``Carry`` s of the carried adjoints
    (``inside`` d output / d the carried value at the iteration's start; ``initial``: the
    adjoint of its value after the loop; ``after``: of its entry value) and of the accumulated
    adjoints of the values the body reads but does not rebind (``initial`` 0, ``update``
    the running sum). A ``Loop`` in the forward body has its own ``AdjointLoop`` in ``body``:
    each reverse iteration runs the inner loop forward again, then backward
    (``lower.schedule``)."""

    forward: Loop
    carried: tuple
    body: tuple
    origin: Origin
    # what each carry is the adjoint of: the forward loop's carried values, then (``sums``) the
    # values whose adjoints the last ``len(sums)`` carries accumulate
    carries_of: tuple = ()
    sums: tuple = ()

    def __repr__(self):
        return (f"<line {self.lineno} reverse: for {self.forward.counter} in reversed range("
                f"{self.forward.trip_count}): {len(self.body)} items, carries "
                f"{', '.join(str(c.inside) for c in self.carried)}>")


@dataclass
class GradientProgram:
    """A program with its reverse pass: everything needed to emit and explain the gradient."""

    program: object
    wrt: list  # Params, in the order the user asked for them
    partials: dict = field(default_factory=dict)  # statement target -> [(symbol, d target/d symbol)]
    reused: dict = field(default_factory=dict)  # the same partials, reusing statement values
    reverse: list = field(default_factory=list)  # Adjoint statements and Branches, in run order
    gradients: list = field(default_factory=list)  # one expression per ``gradient_params`` entry
    origins: dict = field(default_factory=dict)  # wrt symbol -> statement its gradient line cites
    shapes: dict = field(default_factory=dict)  # symbol (adjoints too) -> array shape

    @property
    def gradient_params(self):
        """One ``Param`` per entry of ``gradients``: the wrt parameters, with a container
        argument's leaves in its place (``params_W``, ``params_b``: see ``pytrees``)."""
        return [leaf for param in self.wrt for leaf in leaf_params(param)]

    @property
    def adjoints(self):
        """Every ``Adjoint`` of the reverse pass, nested ones included, in run order."""
        return [item for item in walk(self.reverse) if isinstance(item, Adjoint)]

    def __repr__(self):
        lines = [f"<GradientProgram d {self.program.output} / d ({', '.join(p.name for p in self.wrt)})"]
        lines += [f"  {a!r}" for a in walk(self.reverse)]
        lines += [f"  grad {p.name} = {g}" for p, g in zip(self.gradient_params, self.gradients)]
        return "\n".join(lines) + ">"


def differentiate(expr, symbol):
    """d expr / d symbol by the chain rule over SymPy's node types, each function's derivative
    from its own ``fdiff``; anything else is left to ``sympy.diff``.

    The same result as ``sympy.diff`` on the expressions symdiff builds, without its general
    machinery (``Derivative`` objects, assumption queries): the chain rule is a walk of the tree.
    """
    depends = {}

    def dep(e):
        found = depends.get(e)
        if found is None:
            found = depends[e] = e == symbol if e.is_Atom else any(dep(a) for a in e.args)
        return found

    def d(e):
        if e == symbol:
            return sympy.Integer(1)
        if not dep(e):
            return sympy.Integer(0)
        args = e.args
        if e.is_Add:
            return sympy.Add(*[d(a) for a in args if dep(a)])
        if e.is_Mul:
            return sympy.Add(*[sympy.Mul(*args[:i], d(a), *args[i + 1:])
                               for i, a in enumerate(args) if dep(a)])
        if e.is_Pow:
            base, exponent = args
            if not dep(exponent):
                return exponent * base ** (exponent - 1) * d(base)
            if not dep(base):
                return e * sympy.log(base) * d(exponent)
            return e * (d(exponent) * sympy.log(base) + exponent * d(base) / base)
        if isinstance(e, sympy.Piecewise):
            return sympy.Piecewise(*[(d(value), cond) for value, cond in args])
        if isinstance(e, sympy.Function) and not isinstance(e, arrays.ArrayOp):
            if type(e)._eval_derivative is not sympy.Function._eval_derivative:
                return sympy.diff(e, symbol)  # sign, Abs, Max, ...: their own derivative rule
            terms = []
            for i, a in enumerate(args):
                if dep(a):
                    try:
                        outer = outer_derivative(e, i + 1)
                    except (ArgumentIndexError, NotImplementedError, TypeError):
                        return sympy.diff(e, symbol)
                    if outer != 0:
                        terms.append(outer * d(a))
            return sympy.Add(*terms)
        return sympy.diff(e, symbol)

    return d(expr)


class _PowerOfSymbols(sympy.Function):
    """``b**e`` with a symbolic exponent, differentiated with the conventions at ``b = 0``.

    SymPy writes d(b**e) as ``b**e*(e/b*db + log(b)*de)``: 0/0 and 0*log(0) give nan at
    b = 0. Here d/db = ``e*b**(e - 1)`` (0 for e > 1, 1 for e = 1, inf for e < 1) and
    d/de = ``b**e*log(b)``, taken as 0 at b = 0 (the README's conventions; PyTorch does the same).
    """

    nargs = 2

    def fdiff(self, argindex=1):
        base, exponent = self.args
        if argindex == 1:  # 0 where the exponent is 0 (x**0 is 1 for every x), also at b = 0
            return sympy.Piecewise((sympy.Integer(0), sympy.Eq(exponent, 0)),
                                   (exponent * base ** (exponent - 1), True))
        return sympy.Piecewise((sympy.Integer(0), sympy.Eq(base, 0)),
                               (base ** exponent * sympy.log(base), True))


def _is_power_of_symbols(expr):
    """``b**e`` with a symbolic exponent and a symbolic (or zero) base."""
    return expr.is_Pow and bool(expr.exp.free_symbols) and (
        bool(expr.base.free_symbols) or expr.base.is_zero is True)


def _is_long_extremum(expr):
    """A ``Max``/``Min`` of three or more values (ties share 1/k, see ``SharedTies``)."""
    return isinstance(expr, (sympy.Max, sympy.Min)) and len(expr.args) > 2


# what a derivative of a real program must never hold (see frontend.calls.Calls._real)
_COMPLEX_PARTS = (sympy.re, sympy.im, sympy.arg, sympy.conjugate, sympy.I)
_COMPLEX_KINDS = {sympy.re, sympy.im, sympy.arg, sympy.conjugate, type(sympy.I)}


def _kinds(expr):
    """The node classes in ``expr`` (one walk of the tree)."""
    found, stack, seen = set(), [expr], set()
    while stack:
        node = stack.pop()
        found.add(type(node))
        for arg in node.args:
            if arg not in seen:
                seen.add(arg)
                stack.append(arg)
    return found


def local_partial(stmt, symbol):
    """d(stmt.expr)/d(symbol) (``DiracDelta`` -> 0: derivatives of steps vanish almost everywhere).

    A power whose base and exponent are both symbolic follows the conventions at a zero base
    (see ``_PowerOfSymbols``); a max/min of three or more shares ties equally (``SharedTies``)."""
    expr = stmt.expr
    stand_ins = False
    extrema = {}
    kinds = _kinds(expr)  # one walk, instead of one per question below
    if any(issubclass(k, PyExtremum) for k in kinds):  # Python's max/min, numpy's maximum & co.:
        # differentiated as SymPy's Max/Min (ties share)
        extrema = {as_sympy_extrema(e): e for e in expr.atoms(PyExtremum)}
        expr = as_sympy_extrema(expr)
        kinds = _kinds(expr)
    if sympy.Pow in kinds and any(_is_power_of_symbols(p) for p in expr.atoms(sympy.Pow)):
        expr = expr.replace(_is_power_of_symbols, lambda p: _PowerOfSymbols(p.base, p.exp))
        stand_ins = True
    if (sympy.Max in kinds or sympy.Min in kinds) and any(
            _is_long_extremum(e) for e in expr.atoms(sympy.Max, sympy.Min)):
        expr = expr.replace(_is_long_extremum, lambda e: SharedTies(e, *e.args))
        stand_ins = True
    partial = differentiate(expr, symbol)
    if stand_ins:
        partial = partial.replace(lambda e: isinstance(e, _PowerOfSymbols), lambda e: sympy.Pow(*e.args))
        partial = partial.replace(lambda e: isinstance(e, SharedTies), lambda e: e.args[0])
    if extrema:
        partial = partial.xreplace(extrema)  # the value itself, as the forward pass computed it
    partial = _whole_numbers(partial, stmt.expr)
    kinds = _kinds(partial)
    if sympy.DiracDelta in kinds:  # derivative of sign(): zero almost everywhere
        partial = partial.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.Integer(0))
    if kinds & _COMPLEX_KINDS:
        bad = next(iter(partial.atoms(*_COMPLEX_PARTS)), sympy.I)
        raise SymdiffError(
            f"SymPy's derivative of this line with respect to {symbol} has complex parts "
            f"({bad}): it could not prove a value real",
            hint="assign the value to a variable of its own (a real name) before applying "
            "abs/sign/copysign to it, or register the derivative with symdiff.register",
        )
    if sympy.Derivative in kinds or sympy.Subs in kinds:
        bad = next(iter(partial.atoms(sympy.Derivative, sympy.Subs)))
        raise SymdiffError(
            f"SymPy cannot differentiate {bad.args[0]} with respect to {symbol}",
            hint="use symdiff-supported functions, or register the derivative with symdiff.register",
        )
    return partial


def _whole_numbers(partial, forward):
    """``partial`` with whole-number floats as integers (0.5 * 2 gives 1.0: print r, not 1.0*r),
    except inside the values the forward expression ``forward`` computes: ``x + 1.0`` stays the
    forward pass's ``x + 1.0`` (one line for one value), not a new ``x + 1``."""
    whole = {f: sympy.Integer(int(f)) for f in partial.atoms(sympy.Float)
             if float(f).is_integer() and abs(float(f)) < 2**53}
    if not whole:
        return partial
    kept = {}
    for node in sympy.preorder_traversal(forward):
        if (isinstance(node, sympy.Expr) and not node.is_Atom and node not in kept
                and node.has(sympy.Float)):  # (values: not a Piecewise's pairs or a condition)
            kept[node] = sympy.Dummy()
    if kept:
        partial = signs.xreplace(partial, kept)
        whole = {f: n for f, n in whole.items() if partial.has(f)}
    partial = signs.xreplace(partial, whole)  # rebuilds functions: see signs.py
    if kept:
        partial = signs.xreplace(partial, {d: node for node, d in kept.items()})
    return partial


def _reuse(stmt):
    """Replacements that let a partial reuse the statement's own value (d exp(z)/dz = u)."""
    expr, target = stmt.expr, stmt.target
    replacements = {expr: target}
    if expr.is_Pow:
        base, exponent = expr.args
        replacements[sympy.Pow(base, -exponent)] = 1 / target
    elif expr.is_Mul:
        # d(u/v)/dv = -(u/v)/v, not -u/v**2: v**2 underflows (v = 1e-160) or overflows where the
        # quotient does not (as PyTorch's div backward)
        for factor in expr.args:
            if factor.is_Pow and factor.exp == -1 and factor.base.is_Symbol:
                replacements[-expr / factor.base] = -target / factor.base
    return replacements


class _Deriver:
    def __init__(self, program, wrt):
        self.program = program
        self.result = GradientProgram(program=program, wrt=list(wrt))
        self.active = {p.symbol for p in wrt}
        self.order = {p.symbol: i for i, p in enumerate(program.params)}
        self.users = {}  # symbol -> statements whose local derivatives feed its adjoint
        self.shapes = self.result.shapes = dict(program.shapes)  # the shape each value stands for
        self.actual = dict(program.shapes)  # the shape each value really has (adjoints may be smaller)
        self.forward_pass = _Forward(self)
        self.reverse_pass = _Reverse(self)

    # ---- forward: which values depend on the parameters, and their local partials ----
    def forward(self, items):
        self.forward_pass.visit_block(items)

    def forward_statement(self, item):
        self.order[item.target] = len(self.order)
        uses = sorted(item.expr.free_symbols & self.active, key=self.order.__getitem__)
        if uses and isinstance(item.expr, arrays.ArrayOp):
            self.active.add(item.target)
            self.result.partials[item.target] = [(s, item.expr) for s in uses]
        elif uses:
            self.active.add(item.target)
            partials = [(s, self._partial(item, s)) for s in uses]
            reuse = _reuse(item)
            self.result.partials[item.target] = partials
            self.result.reused[item.target] = [(s, signs.xreplace(d, reuse)) for s, d in partials]

    def forward_branch(self, item):
        self.forward(item.then)
        self.forward(item.orelse)
        for merge in item.merges:
            self.order[merge.target] = len(self.order)
            values = merge.then_value.free_symbols | merge.else_value.free_symbols
            if values & self.active:
                self.active.add(merge.target)

    def forward_loop(self, loop):
        """Which carried values depend on the parameters (a fixpoint over the iterations), and
        the body's local partials in the carried symbols, derived once."""
        active = self.active
        carried = _carried_reached(loop, active)
        self.order[loop.counter] = len(self.order)
        for carry in loop.carried:
            self.order[carry.inside] = len(self.order)
        active |= carried
        self.forward(loop.body)
        for carry in loop.carried:
            self.order[carry.after] = len(self.order)
            if carry.inside in carried:
                active.add(carry.after)

    def _partial(self, stmt, symbol):
        try:
            return local_partial(stmt, symbol)
        except SymdiffError as exc:
            raise SymdiffError(exc.message, filename=stmt.filename or self.program.filename,
                               lineno=stmt.lineno, hint=exc.hint) from None

    # ---- reverse: adjoints from the output back to the inputs ----
    def reverse(self, items, terms):
        out = []
        visit = self.reverse_pass.visit
        for item in reversed(items):
            visit(item, terms, out)
        return out

    def _reverse_statement(self, stmt, terms, out):
        contributions = terms.pop(stmt.target, None)
        if not contributions or stmt.target not in self.result.partials:
            return
        bar = self._materialize(stmt.target, contributions, stmt, out)
        if isinstance(stmt.expr, arrays.ArrayOp):
            if not _accepts_smaller_adjoint(stmt.expr):
                bar = arrays.full(bar, self.shapes.get(stmt.target, ()), self.actual)
            pairs = [(s, c) for s, c in stmt.expr.vjp(bar, self.shapes) if s in self.active]
        else:
            pairs = [(s, self._unbroadcast(bar * partial, s, stmt.target))
                     for s, partial in self.result.reused[stmt.target]]
        for symbol, contribution in pairs:
            terms.setdefault(symbol, []).append(contribution)
            self.users.setdefault(symbol, []).append(stmt)

    def _unbroadcast(self, contribution, symbol, target):
        """``contribution`` to ``symbol``'s adjoint from the elementwise statement ``target``,
        summed down to ``symbol``'s shape over the axes ``target`` broadcast it along.

        The contribution stands for an array of ``target``'s shape even when its expression is
        smaller (the adjoint of a full ``np.sum`` is the scalar that broadcasts over it): its own
        shape cannot tell how many copies of ``symbol`` it covers, so the sum is made here.
        """
        shape = self.shapes.get(symbol, ())
        source = self.shapes.get(target, ())
        if not source or tuple(shape) == tuple(source):
            return contribution
        return arrays.Unbroadcast.make(contribution, shape=tuple(shape), source=tuple(source))

    def _materialize(self, symbol, contributions, own, out, origin=None):
        """``sum(contributions)`` as a name (a new ``Adjoint`` line unless it is one already)."""
        bar = self.total(symbol, contributions)
        if bar.is_Atom:
            return bar
        target = real_symbol(self.program.namer.adjoint(symbol.name))
        if self.shapes.get(symbol):
            self.shapes[target] = self.shapes[symbol]
            self.actual[target] = arrays.shape_of(bar, self.actual)
        origin = origin or _origin(self.users.get(symbol, []), own)
        out.append(Adjoint(target, symbol, bar, origin.origin))
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
        # A value defined in one arm may also be read after the 'if' by code that runs under the
        # same condition (a gradient program's mirrored reverse branch, differentiated again for
        # a Hessian): what flows back to it joins that arm's reverse pass.
        for arm_terms, block in zip(arms, (branch.then, branch.orelse)):
            for symbol in definitions(block):
                if symbol in terms:
                    arm_terms.setdefault(symbol, []).extend(terms.pop(symbol))
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
            target = real_symbol(self.program.namer.adjoint(symbol.name))
            shape = self.shapes.get(symbol, ())
            if shape:  # the joined adjoint stands for the array's shape (an arm may give 0)
                self.shapes[target] = shape
                arms = {arrays.shape_of(v, self.actual) for v in (then_value, else_value)}
                self.actual[target] = shape if arms == {tuple(shape)} else ()
            merges.append(Merge(target, then_value, else_value))
            terms.setdefault(symbol, []).append(target)
            self.users.setdefault(symbol, []).append(branch)
        if then_rev or else_rev or merges:
            out.append(Branch(branch.cond, tuple(then_rev), tuple(else_rev), tuple(merges),
                              origin=branch.origin))


    def _reverse_loop(self, loop, terms, out):
        """The ``AdjointLoop`` of ``loop``: the carried adjoints flow back through the body's
        adjoint once per iteration; the adjoints of the values the body reads but does not
        rebind (parameters, values before the loop) accumulate over the iterations."""
        namer = self.program.namer
        active = [c for c in loop.carried if c.after in self.active]
        seeds = {}
        for carry in active:
            contributions = terms.pop(carry.after, None)
            seeds[carry] = (self._materialize(carry.after, contributions, loop, out)
                            if contributions else sympy.Integer(0))
        if all(seed == 0 for seed in seeds.values()):
            return
        bars = {c: real_symbol(namer.adjoint(c.inside.name)) for c in active}
        for carry in active:  # an array's adjoint is carried as an array of its shape
            shape = self.shapes.get(carry.inside, ())
            if shape:
                seeds[carry] = arrays.full(seeds[carry], shape, self.actual)
                self.shapes[bars[carry]] = self.actual[bars[carry]] = shape
        body_terms = {}
        for carry in active:
            if carry.update in self.active:
                body_terms.setdefault(carry.update, []).append(bars[carry])
        body = self.reverse(list(loop.body), body_terms)
        carries = []
        for carry in active:
            contributions = body_terms.pop(carry.inside, None)
            update = (self._materialize(carry.inside, contributions, loop, body)
                      if contributions else sympy.Integer(0))
            final = real_symbol(namer.adjoint(carry.inside.name))
            shape = self.shapes.get(carry.inside, ())
            if shape:
                update = self._carried_array(update, shape, carry.inside, loop, body)
                self.shapes[final] = self.actual[final] = shape
            carries.append(Carry(bars[carry], seeds[carry], update, final))
            if carry.initial in self.active:
                terms.setdefault(carry.initial, []).append(final)
                self.users.setdefault(carry.initial, []).append(loop)
        sums = tuple(sorted(body_terms, key=self.order.__getitem__))  # read, not rebound
        for symbol in sums:
            contribution = self._materialize(symbol, body_terms[symbol], loop, body)
            running = real_symbol(namer.adjoint(symbol.name))
            final = real_symbol(namer.adjoint(symbol.name))
            start, shape = sympy.Integer(0), self.shapes.get(symbol, ())
            if shape:  # an array's running sum: zeros of its shape, a contribution of it added
                start = arrays.Zeros.make(shape=tuple(shape))
                contribution = self._carried_array(contribution, shape, symbol, loop, body)
                for name in (running, final):
                    self.shapes[name] = self.actual[name] = shape
            carries.append(Carry(running, start, running + contribution, final))
            terms.setdefault(symbol, []).append(final)
            self.users.setdefault(symbol, []).append(loop)
        out.append(AdjointLoop(loop, tuple(carries), tuple(body), loop.origin,
                               tuple(c.inside for c in active), sums))

    def _carried_array(self, value, shape, of, loop, out):
        """``value`` (an adjoint of ``of``) as a name holding an array of exactly ``shape``:
        what a loop carries keeps one shape over the iterations (``W.T @ h_bar`` needs an
        array, not a 0)."""
        value = arrays.full(value, shape, self.actual)
        if value.is_Atom:
            return value
        target = real_symbol(self.program.namer.adjoint(of.name))
        self.shapes[target] = self.actual[target] = tuple(shape)
        out.append(Adjoint(target, of, value, loop.origin))
        return target

    def total(self, symbol, contributions):
        """The adjoint of ``symbol``: its contributions, each made exactly the symbol's shape."""
        if not self.shapes:
            return sympy.Add(*contributions)
        shape = self.shapes.get(symbol, ())
        items, rest = [], []
        for c in contributions:
            if isinstance(c, arrays.Scatter):
                items.append(c)
            else:
                rest.append(arrays.fit(c, shape, self.shapes))
        if len(items) > 1:  # what indexing sends back to one array: added in place, in one pass
            by_key = {}  # repr(key) -> (key, values): slices are not hashable before Python 3.12
            for c in items:
                key = c.params["key"]
                by_key.setdefault(repr(key), (key, []))[1].append(c.operands[0])
            keys = tuple(key for key, _ in by_key.values())
            values = [sympy.Add(*v) for _, v in by_key.values()]
            rest.append(arrays.ScatterItems.make(*values, keys=keys, shape=shape))
        elif items:
            rest.append(items[0])
        return sympy.Add(*rest)

    def _arm_sum(self, symbol, arm_terms, arm_reverse, origin):
        """What one arm contributes to ``symbol``'s adjoint, as a name computed in that arm."""
        contributions = arm_terms.get(symbol, [])
        if not contributions:
            return sympy.Integer(0)
        return self._materialize(symbol, contributions, origin, arm_reverse, origin)


def _reached(items, reached):
    """``reached`` (a set of names depending on the parameters) with the names ``items``
    compute from them added, in place: a loop nested in them through its carried values."""
    for item in items:
        kind = type(item)
        if kind is Statement:
            if item.expr.free_symbols & reached:
                reached.add(item.target)
        elif kind is Merge:
            if (item.then_value.free_symbols | item.else_value.free_symbols) & reached:
                reached.add(item.target)
        elif kind is Branch:  # (a while's body may hold Branches and their Merges)
            _reached(item.then, reached)
            _reached(item.orelse, reached)
            _reached(item.merges, reached)
        elif kind is Loop:
            inner = _carried_reached(item, reached)
            reached |= inner
            _reached([*item.test, *item.body], reached)
            reached.update(c.after for c in item.carried if c.inside in inner)
        else:
            raise TypeError(f"ad.reverse: not an IR item: {item!r}")
    return reached


def _carried_reached(loop, active):
    """The ``inside`` symbols of ``loop``'s carried values that depend on ``active`` names
    (a fixpoint over the iterations: one reached from another through the body)."""
    carried = {c.inside for c in loop.carried if c.initial.free_symbols & active}
    while True:
        reached = _reached([*loop.test, *loop.body], set(active) | carried)
        more = {c.inside for c in loop.carried if c.update.free_symbols & reached}
        if more <= carried:
            return carried
        carried |= more


class _Forward(Visitor):
    """The forward pass of ``_Deriver``: which values depend on the parameters, their partials."""

    stage = "ad.reverse (forward pass)"

    def __init__(self, deriver):
        self.deriver = deriver

    def visit_Statement(self, stmt):
        self.deriver.forward_statement(stmt)

    def visit_Branch(self, branch):
        self.deriver.forward_branch(branch)

    def visit_Loop(self, loop):
        self.deriver.forward_loop(loop)


class _Reverse(Visitor):
    """The reverse pass of ``_Deriver``: one item, its adjoints appended to ``out``."""

    stage = "ad.reverse"

    def __init__(self, deriver):
        self.deriver = deriver

    def visit_Statement(self, stmt, terms, out):
        self.deriver._reverse_statement(stmt, terms, out)

    def visit_Branch(self, branch, terms, out):
        self.deriver._reverse_branch(branch, terms, out)

    def visit_Loop(self, loop, terms, out):
        self.deriver._reverse_loop(loop, terms, out)


# Structural operations whose adjoint rule accepts an adjoint smaller than their value.
_BROADCASTING_VJPS = (arrays.ArraySum, arrays.GetItem, arrays.Scatter, arrays.ScatterItems)


def _accepts_smaller_adjoint(op):
    """Whether ``op``'s vjp works with an adjoint that is smaller than its value (a scalar that
    stands for an array): a sum over some axes spreads its adjoint back along them, so it needs
    the adjoint's full shape; a full sum's adjoint is a number anyway."""
    if isinstance(op, arrays.ArraySum):
        return op.params["axis"] is None
    return isinstance(op, _BROADCASTING_VJPS)


def _check_indices(program, wrt):
    """An array argument used as integer indices (``logp[np.arange(n), y]``) cannot be
    differentiated: its values are ints (as floats they would not index)."""
    differentiated = {p.symbol for p in wrt} | {e for p in wrt for e in (p.elements or ())}
    for stmt in walk(program.body):
        if isinstance(stmt, Statement) and isinstance(stmt.expr, (arrays.Take, arrays.AddAt)):
            for index in stmt.expr.operands[1:]:
                if index in differentiated:
                    name = next(p.name for p in wrt if index == p.symbol or index in (p.elements or ()))
                    raise SymdiffError(
                        f"{name} indexes an array here (integer-array indexing), and it is "
                        "differentiated: indices are ints, they have no derivative",
                        filename=stmt.filename or program.filename, lineno=stmt.lineno,
                        hint=f"leave {name} out of wrt: grad(f, wrt=...) naming the parameters")


def _origin(users, own):
    """The statement a reverse-pass line is labelled with: its one user, else its own definition."""
    if len(users) == 1 or (users and own is None):
        return users[0] if len(users) == 1 else users[-1]
    return own


def derive(program, wrt, seed=None):
    """Reverse-mode gradient of ``program.output`` with respect to the parameters ``wrt``.

    ``seed`` is the adjoint of the output (default 1: the gradient; a symbol: a vector-Jacobian
    product). A list or tuple parameter's gradient is a tuple, one expression per element.

    >>> import math
    >>> from symdiff.frontend.parse import parse_function
    >>> from symdiff.frontend.interpreter import trace
    >>> def f(x):
    ...     return math.exp(x) * x
    >>> prog = trace(parse_function(f))
    >>> derive(prog, prog.params).gradients
    [f + exp(x)]
    """
    _check_indices(program, wrt)
    deriver = _Deriver(program, wrt)
    for param in wrt:
        for element in param.elements or ():
            deriver.active.add(element)
            deriver.order[element] = len(deriver.order)
    deriver.forward(program.body)
    terms = {}
    if program.output in deriver.active:
        terms[program.output] = [sympy.Integer(1) if seed is None else seed]
    result = deriver.result
    result.reverse = deriver.reverse(program.body, terms)
    for param in wrt:
        if param.tree is not None:  # a container: one gradient per leaf (packed when printed)
            for leaf in param.elements:
                gradient = deriver.total(leaf, terms[leaf]) if leaf in terms else sympy.Integer(0)
                shape = deriver.shapes.get(leaf, ())
                if shape:
                    gradient = arrays.full(gradient, shape, deriver.actual)
                result.gradients.append(gradient)
                users = deriver.users.get(leaf, [])
                result.origins[leaf] = _origin(users, None) if users else None
            continue
        if param.elements is not None:
            parts = [deriver.total(e, terms[e]) if e in terms else sympy.Integer(0) for e in param.elements]
            result.gradients.append(arrays.Stack.make(*parts, axis=0, shape=(len(parts),)))
            continue
        contributions = terms.get(param.symbol, [])
        gradient = deriver.total(param.symbol, contributions) if contributions else sympy.Integer(0)
        shape = deriver.shapes.get(param.symbol, ())
        if shape:
            gradient = arrays.full(gradient, shape, deriver.actual)
        result.gradients.append(gradient)
        users = deriver.users.get(param.symbol, [])
        result.origins[param.symbol] = _origin(users, None) if users else None
    return result


__all__ = ["Adjoint", "AdjointLoop", "GradientProgram", "derive", "local_partial"]
