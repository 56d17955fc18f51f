"""recurrences: the loops a gradient keeps as loops -> their formulas, as recurrences.

Takes: a ``GradientProgram`` whose forward pass keeps loops as loops (``ir.Loop`` items, each
reversed by an ``ad.reverse.AdjointLoop``). Returns: ``LoopForms`` — for every loop, its
``Recurrence`` (what ``formulas`` shows instead of an unrolled expression) and the values of the
loop's results in its terms, for ``chain_rule.Closer`` to substitute:

- ``x[k]``: the carried value ``x`` at the start of iteration ``k`` (``x[0]`` its value before the
  loop, ``x[T]`` after it, ``T`` the trip count: a number, an int argument, or for a ``while`` on
  data ``n``, the first ``k`` at which the condition fails);
- ``xbar[k]``: d output / d ``x[k]`` (``xbar[T]`` from the code after the loop, ``xbar[0]`` the
  derivative with respect to the value the loop started from), by the adjoint recurrence
  ``xbar[k] = sum over the carried y of ybar[k + 1] * d y[k + 1] / d x[k]``;
- a value the body reads but does not rebind (a parameter ``s``): its derivative through the loop
  is ``Sum(ybar[k + 1] * d y[k + 1] / d s, (k, 0, T - 1))``.

Each expression is the body's own small statements substituted into each other (a loop body is
short: its closed forms are). A ``break`` on data is its carried flag (``broke[k]``, 1 from the
iteration that broke out), a part of the condition the loop goes on under. A loop these forms
cannot describe — nested in another loop, carrying arrays — is a located ``SymdiffError`` (``explain()`` and
``.source`` describe every loop).
"""

import io
import linecache
import re
import tokenize
from dataclasses import dataclass

import sympy

from ..errors import SymdiffError
from ..ir import Loop, walk

_BIG = 10**6  # a loop body's closed forms are substituted whole (the body is a few statements)


@dataclass(frozen=True)
class Recurrence:
    """One loop kept as a loop, as formulas: ``index`` runs over ``0 .. trip - 1`` (``trip`` the
    trip count; ``stop``: for a ``while`` on data, the condition ``trip`` is the first index to
    fail, in the sequences' terms). ``forward``: ``(first, step)`` equations of each carried
    sequence (``x[0] = ...``, ``x[k + 1] = ...``); ``adjoint``: the same for the adjoints,
    backwards (``xbar[T] = ...``, ``xbar[k] = ...``)."""

    lineno: int
    header: str
    index: sympy.Symbol
    trip: sympy.Expr
    stop: sympy.Basic
    forward: tuple
    adjoint: tuple

    def _range(self):
        last = self.trip - 1
        return f"{self.index} = 0, ..., {last}"

    def lines(self):
        """The recurrence as text: a heading, then one line per sequence."""
        head = f"line {self.lineno} ({self.header}), {self._range()}"
        if self.stop is not None:
            head += (f" ({self.trip}: the first {self.index} where "
                     f"{sympy.sstr(self.stop)} fails)")
        out = [head + ":"]
        for first, step in (*self.forward, *self.adjoint):
            out.append(f"  {sympy.sstr(first.lhs)} = {sympy.sstr(first.rhs)};  "
                       f"{sympy.sstr(step.lhs)} = {sympy.sstr(step.rhs)}")
        return out

    def latex_lines(self):
        """The same as LaTeX lines (the heading as ``\\text``)."""
        k = sympy.latex(self.index)
        head = rf"\text{{line {self.lineno}: }} {k} = 0, \ldots, {sympy.latex(self.trip - 1)}"
        if self.stop is not None:
            head += (rf",\ {sympy.latex(self.trip)} = \min\{{{k} : \neg\left("
                     rf"{sympy.latex(self.stop)}\right)\}}")
        out = [head]
        for first, step in (*self.forward, *self.adjoint):
            out.append(rf"{sympy.latex(first.lhs)} = {sympy.latex(first.rhs)}, \quad "
                       rf"{sympy.latex(step.lhs)} = {sympy.latex(step.rhs)}")
        return out

    def closed(self, close):
        """This recurrence with ``close`` (outer names -> their closed forms) applied to its
        right-hand sides (the values before the loop, the parameters read in it)."""
        def each(pairs):
            return tuple((sympy.Eq(a.lhs, close(a.rhs), evaluate=False),
                          sympy.Eq(b.lhs, close(b.rhs), evaluate=False)) for a, b in pairs)
        stop = None if self.stop is None else close(self.stop)
        return Recurrence(self.lineno, self.header, self.index, self.trip, stop,
                          each(self.forward), each(self.adjoint))


class Formulas(dict):
    """``{parameter: formula}``, as ``formulas`` always returns, and (``recurrences``) the
    ``Recurrence`` of every loop the formulas name sequences of; printed with them."""

    def __init__(self, items=(), recurrences=()):
        super().__init__(items)
        self.recurrences = tuple(recurrences)

    def __repr__(self):
        text = super().__repr__()
        if not self.recurrences:
            return text
        lines = [text, "where"]
        for recurrence in self.recurrences:
            lines += ["  " + line for line in recurrence.lines()]
        return "\n".join(lines)

    __str__ = __repr__

    def _repr_pretty_(self, printer, cycle):  # IPython: the same text
        printer.text(repr(self))


def recurrence_lines(formulas, indent):
    """The "where" lines naming what ``formulas`` (a ``Formulas``, or a plain dict: none) say of
    the loops kept as loops, each line starting with ``indent`` (for module headers)."""
    found = getattr(formulas, "recurrences", ())
    if not found:
        return []
    return [f"{indent}where"] + [f"{indent}  {line}" for r in found for line in r.lines()]


@dataclass
class LoopForms:
    """What ``loop_forms`` found: ``values`` (each loop's results, forward and reverse:
    symbol -> its value in the sequences' terms) and the loops' ``recurrences``."""

    values: dict
    recurrences: list


def loop_forms(gradient_program, closer_class):
    """``LoopForms`` of every loop in ``gradient_program`` (``closer_class``: the ``Closer`` that
    closes each loop body's statements); raises a located ``SymdiffError`` for a loop they cannot
    describe."""
    program = gradient_program.program
    adjoints = {id(item.forward): item for item in walk(gradient_program.reverse)
                if hasattr(item, "forward")}
    taken = set(program.namer.taken)  # (k, n and the adjoints' names: none of the user's)
    values, recurrences, sequences = {}, [], set()
    index = _fresh(taken, "k")  # (every loop's own: a bound index)
    for loop in [item for item in walk(program.body) if isinstance(item, Loop)]:
        _check(loop, program, gradient_program)
        reverse = adjoints.get(id(loop))
        form = _LoopForm(loop, reverse, program, taken, sequences, index, closer_class)
        values.update(form.values)
        recurrences.append(form.recurrence)
    return LoopForms(values, recurrences)


def _refusal(loop, program, why):
    filename = loop.filename or program.filename
    text = linecache.getline(filename, loop.lineno)
    return SymdiffError(
        f"formulas of this loop (kept as a loop, traced once) cannot be shown as a recurrence: {why}",
        filename=filename, lineno=loop.lineno, col_offset=len(text) - len(text.lstrip()),
        hint="explain() shows the loop's local derivatives and the adjoints' recurrence, .source "
        "the code")


def _check(loop, program, gradient_program):
    if any(isinstance(item, Loop) for item in walk([*loop.body, *loop.test])):
        raise _refusal(loop, program, "it holds another loop kept as a loop")
    shapes = {**program.shapes, **gradient_program.shapes}
    for carry in loop.carried:
        if shapes.get(carry.inside) or shapes.get(carry.after):
            raise _refusal(loop, program, f"it carries an array ({carry.after})")


class FlagAt(sympy.Indexed, sympy.logic.boolalg.Boolean):
    """``broke[k]``: an item of a sequence of conditions (a ``break``'s or a ``return``'s flag),
    usable where SymPy wants a condition (``And``, ``Not``, a ``Piecewise`` branch)."""


def _code_of(line):
    """A loop's header line without its comment and its colon (``for _ in range(9)``)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return line.strip().rstrip(":")
    comment = next((t for t in tokens if t.type == tokenize.COMMENT), None)
    text = line.strip() if comment is None else line.strip()[:comment.start[1]]
    return text.rstrip().rstrip(":").rstrip()


def _unused(taken, base):
    """``base``, ``base2``, ...: the first not in ``taken``, which it joins."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    taken.add(name)
    return name


def _fresh(taken, base):
    """A name not in ``taken`` (``_unused``), as an integer symbol."""
    return sympy.Symbol(_unused(taken, base), integer=True, nonnegative=True)


class _LoopForm:
    """One loop's sequences, recurrences and result values (see ``loop_forms``)."""

    def __init__(self, loop, reverse, program, taken, sequences, index, closer_class):
        self.loop, self.taken, self.sequences = loop, taken, sequences
        self.k = index
        if loop.is_while:
            self.trip = _fresh(taken, "n")
        else:
            self.trip = loop.trip_count
        closer = closer_class([loop.test, loop.body], _BIG, program.flags)
        self._forward_close = closer.close
        self.seq = {}  # forward inside symbol -> its IndexedBase
        self.values = {}
        forward = []
        k = self.k
        flags = set(program.flags)  # (a break's or a return's flag: a condition, not a number)
        self.conditions = set()  # the sequences of such flags
        for carry in loop.carried:
            base = sympy.IndexedBase(self._sequence(carry.inside, program))
            self.seq[carry.inside] = base
            if carry.update in flags or carry.inside in flags or carry.inside == loop.exit_flag:
                self.conditions.add(base)
        for carry in loop.carried:
            base = self.seq[carry.inside]
            initial = carry.initial
            if base in self.conditions:
                initial = sympy.true if initial == 1 else sympy.false if initial == 0 else initial
            forward.append((sympy.Eq(self.item(base, 0), initial, evaluate=False),
                            sympy.Eq(self.item(base, k + 1), self.at_k(carry.update),
                                     evaluate=False)))
            self.values[carry.after] = self.item(base, self.trip)
        stop = self.at_k(loop.condition) if loop.is_while else None
        if loop.exit_flag is not None:  # a 'break' on data: its carried flag, 1 once it broke out
            stop = sympy.And(sympy.Not(self.at_k(loop.exit_flag)), stop)
        adjoint = self._adjoint(reverse, closer_class, program) if reverse is not None else ()
        header = _code_of(linecache.getline(loop.filename or program.filename, loop.lineno))
        self.recurrence = Recurrence(loop.lineno, header, k, self.trip, stop,
                                     tuple(forward), tuple(adjoint))

    def _sequence(self, inside, program):
        """The user's name of a carried value (``x`` for ``x_3``), as the sequence's name: once
        per program (a second loop carrying ``x`` names ``x2``)."""
        user = program.namer.user_name(inside.name) or inside.name
        name = _unused(self.sequences, re.sub(r"^_+", "", user) or "v")
        self.taken.add(name)
        return name

    def item(self, base, index):
        """``base[index]``: a ``FlagAt`` for a sequence of conditions."""
        return FlagAt(base, index) if base in self.conditions else base[index]

    def at_k(self, expr):
        """``expr`` (of the body's names) in the sequences' terms at iteration ``k``."""
        closed = self._forward_close(expr, _BIG)
        mapping = {inside: self.item(base, self.k) for inside, base in self.seq.items()}
        mapping[self.loop.counter] = self.k
        return closed.xreplace(mapping)

    def _adjoint(self, reverse, closer_class, program):
        k, trip = self.k, self.trip
        closer = closer_class([reverse.body], _BIG, program.flags)
        bars, mapping = {}, {}
        ordered = list(reverse.carried)
        carried, sums = ordered[:len(reverse.carries_of)], ordered[len(reverse.carries_of):]
        for carry, of in zip(carried, reverse.carries_of):
            base = self.seq[of]
            bar = sympy.IndexedBase(_fresh(self.taken, f"{base.name}bar").name)
            bars[carry] = bar
            mapping[carry.inside] = bar[k + 1]

        def in_terms(expr):
            return self.at_k(closer.close(expr, _BIG).xreplace(mapping))

        adjoint = []
        for carry, bar in bars.items():
            adjoint.append((sympy.Eq(bar[trip], carry.initial, evaluate=False),
                            sympy.Eq(bar[k], in_terms(carry.update), evaluate=False)))
            self.values[carry.after] = bar[0]
        for carry in sums:
            update = carry.update
            if not (update.is_Add and carry.inside in update.args):
                raise _refusal(self.loop, program, f"its sum {carry.after} is not a running sum")
            term = sympy.Add(*[a for a in update.args if a != carry.inside])
            if term.has(carry.inside):
                raise _refusal(self.loop, program, f"its sum {carry.after} is not a running sum")
            total = sympy.Sum(in_terms(term), (k, 0, trip - 1))
            self.values[carry.after] = carry.initial + total if carry.initial != 0 else total
        return adjoint
