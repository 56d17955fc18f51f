"""schedule: forward and adjoint statements -> code lines, one operation per line, CSE'd.

Takes: a ``GradientProgram``. Returns: a ``Schedule``: ``Line`` s (``target = one operation over
names and numbers``), ``IfBlock`` s (for branches on data) and ``ForBlock`` s (a rolled loop and
its reverse, with the tape between them), each tagged with the user's line it
comes from, plus the names that the gradient and value-and-gradient functions return. Every
distinct subexpression is computed once per scope (value numbering, linear in program size); lines a
function does not need are dropped.
"""

from collections import ChainMap
from functools import cached_property
from dataclasses import dataclass, replace

import sympy

from ..primitives.arrays import shape_of
from ..primitives.nodes import real_symbol, rebuilt, substituted
from ..ir import NOWHERE, Located, Origin, Statement, Visitor, walk

from ..primitives.faithful import PyFloat, Raising, may_raise
from . import checkpoints as checkpointing
from .checkpoints import Checkpoints


MAX_OPERANDS = 16  # operands of one printed sum or product; longer ones are split over lines


@dataclass(frozen=True)
class Line(Located):
    """``target = expr`` where ``expr`` is one operation; from the user's line ``origin``."""

    target: sympy.Symbol
    expr: sympy.Expr
    origin: Origin
    reverse: bool  # True for lines of the reverse (adjoint) pass

    @cached_property
    def symbols(self):
        """The names ``expr`` reads (computed once: every dead-code pass asks)."""
        return self.expr.free_symbols

    def __repr__(self):
        return f"{self.target} = {self.expr}  # line {self.lineno}{' (reverse)' if self.reverse else ''}"


@dataclass(frozen=True)
class IfBlock(Located):
    """``if cond:`` ``then`` lines ``else:`` ``orelse`` lines."""

    cond: sympy.Basic
    then: tuple
    orelse: tuple
    origin: Origin
    reverse: bool


@dataclass(frozen=True)
class ForBlock(Located):
    """``for index in range(trip):`` (``reverse``: from ``trip - 1`` down to 0). Each iteration
    first pushes the ``saved`` values onto ``tape`` (forward) or reads them back from it
    (reverse), runs ``body``, then assigns the ``carried`` pairs ``(name, value)`` at once."""

    index: sympy.Symbol
    trip: sympy.Expr
    tape: sympy.Symbol
    saved: tuple
    body: tuple
    carried: tuple
    origin: Origin
    reverse: bool
    # a forward ``while`` (``ir.Loop.condition``): ``(lines, condition)``, the lines run before
    # each iteration and once after the last; the loop counts its iterations into ``trip``
    test: tuple = None
    counted: bool = False  # (a forward while: its count is read by the reverse loop)
    # arrays the forward body computes that the reverse body reads: pushed onto the tape with the
    # state at the end of each forward iteration, read back (not recomputed) in reverse
    body_saved: tuple = ()
    # ``checkpoint=``: the forward loop saves its ``saved`` state every K iterations only, the
    # reverse one recomputes each segment from it (``lower.checkpoints.Checkpoints``)
    checkpoints: Checkpoints = None

    @cached_property
    def reads(self):
        """Every name the loop reads or carries (its body's operands included)."""
        found = names_read(self.body) | set(self.saved) | {name for name, _ in self.carried}
        found -= set(self.body_saved) if self.reverse else set()  # (read from the tape)
        if self.test is not None:
            found |= names_read(self.test[0]) | self.test[1].free_symbols
            if self.test[2] is not None:
                found.add(self.test[2])
        else:
            found |= self.trip.free_symbols
        for _, value in self.carried:
            found |= value.free_symbols
        if self.reverse:
            found.add(self.tape)
            if self.checkpoints is not None:
                found |= names_read(self.checkpoints.body) | self.checkpoints.reads
        return found

    @property
    def outputs(self):
        """The names the loop leaves behind for the code after it."""
        found = {name for name, _ in self.carried}
        if not self.reverse and (self.saved or self.body_saved):  # (a reverse may read only
            found.add(self.tape)  # arrays its forward body computed: tanh(W @ h) wrt h alone)
        if self.test is not None and self.counted:
            found.add(self.trip)  # (the count the reverse loop runs)
        if not self.reverse and self.checkpoints is not None and self.checkpoints.growing:
            found.add(self.checkpoints.every)  # (K, doubled as the loop ran)
        return found

    def __repr__(self):
        return (f"for {self.index} in range({self.trip}){' reversed' if self.reverse else ''}: "
                f"{len(self.body)} lines, carries {', '.join(str(n) for n, _ in self.carried)}")


@dataclass
class Schedule:
    """All lines, and what each generated function returns."""

    lines: list
    value: sympy.Expr  # an atom: the function's value
    gradients: list  # atoms: one per wrt parameter
    math_calls: set = None  # the lines' nodes computed by a ``math`` function (Program.math_calls)
    aux: list = None  # has_aux=True: the auxiliary leaves (atoms and numbers; Program.aux)
    numpy_ufuncs: dict = None  # the lines' nodes computed by a numpy ufunc (Program.numpy_ufuncs)

    def needed(self, returns):
        """The lines needed to compute ``returns``, in order (dead code dropped)."""
        live = set()
        for expr in returns:
            live |= expr.free_symbols
        kept, _ = _prune(self.lines, live)
        return kept


class _Pruner(Visitor):
    """The lines of a block that compute something in ``live`` (a set, updated in place)."""

    stage = "lower.schedule (dead code)"

    def block(self, lines, live):
        kept = []
        for line in reversed(lines):
            self.visit(line, kept, live)
        kept.reverse()
        return kept, live

    def visit_Line(self, line, kept, live):
        if line.target in live:
            kept.append(line)
            live.update(line.symbols)

    def visit_IfBlock(self, block, kept, live):
        then, live_then = self.block(block.then, set(live))
        orelse, live_else = self.block(block.orelse, set(live))
        if then or orelse:
            kept.append(IfBlock(block.cond, tuple(then), tuple(orelse), block.origin, block.reverse))
            live.update(live_then, live_else, block.cond.free_symbols)

    def visit_ForBlock(self, block, kept, live):  # (its body is pruned when it is lowered)
        if block.outputs & live:
            kept.append(block)
            live.update(block.reads)


def _prune(lines, live):
    """The lines that compute something in ``live`` (a set, updated in place)."""
    return _Pruner().block(lines, live)


class _Uses(Visitor):
    """How often each name is read (``counts``): once per line that reads it; a condition's
    names count twice (nothing is inlined into an ``if``)."""

    stage = "lower.schedule (inlining)"

    def __init__(self):
        self.counts = {}

    def add(self, symbols, weight):
        counts = self.counts
        for symbol in symbols:
            counts[symbol] = counts.get(symbol, 0) + weight

    def visit_Line(self, line):
        self.add(line.symbols, 1)

    def visit_IfBlock(self, block):
        self.add(block.cond.free_symbols, 2)
        self.visit_block(block.then)
        self.visit_block(block.orelse)

    def visit_ForBlock(self, block):  # nothing is inlined into or out of a loop
        self.add(block.reads, 2)


def inline_single_use(lines, returns, keep=()):
    """Fold names used exactly once back into their one use (array code only).

    numpy reuses the buffer of a temporary inside one expression (``a*b + c`` allocates once), but
    not across named lines; for large arrays the extra allocations cost more than the arithmetic.
    Operands of structural operations stay names, and nothing moves across an ``if``.
    """
    from ..primitives.arrays import ArrayOp

    uses = _Uses()
    uses.visit_block(lines)
    for expr in returns:
        uses.add(expr.free_symbols, 2)
    uses.add(keep, 2)
    return _Inliner(uses.counts, ArrayOp).block(lines)


class _Inliner(Visitor):
    """A block with its single-use names folded into their one use (see ``inline_single_use``)."""

    stage = "lower.schedule (inlining)"

    def __init__(self, uses, array_op):
        self.uses = uses
        self.array_op = array_op

    def block(self, lines):
        pending = {}  # symbol -> expression, for single-use names defined earlier in this block
        out = _Out()
        for line in lines:
            out = self.visit(line, out, pending)
        return [x for x in out if x is not None]  # (lines inlined into a later one: None)

    def visit_IfBlock(self, block, out, pending):
        out.append(IfBlock(block.cond, tuple(self.block(block.then)), tuple(self.block(block.orelse)),
                           block.origin, block.reverse))
        _unmoved_past(pending, {line.target for line in walk_lines([*block.then, *block.orelse])})
        return out

    def visit_ForBlock(self, block, out, pending):
        """A loop's body folded on its own (nothing moves into or out of the loop): the names
        its carried values, its tape and its test read stay names. A line before the loop
        reading a name the loop rebinds (a reverse loop reads the forward state back into the
        carried names) stays where it is."""
        _unmoved_past(pending, _rebound(block))
        uses = _Uses()
        uses.visit_block(block.body)
        keep = set(block.body_saved) | set(block.saved) | {name for name, _ in block.carried}
        for _, value in block.carried:
            keep |= value.free_symbols
        if block.test is not None:
            keep |= names_read(block.test[0]) | block.test[1].free_symbols
            if block.test[2] is not None:
                keep.add(block.test[2])
        uses.add(keep, 2)
        body = _Inliner(uses.counts, self.array_op).block(block.body)
        checkpoints = block.checkpoints
        if checkpoints is not None and checkpoints.body:  # the forward body, run again per
            # segment: folded as the forward loop's is (the same operations: the same bits),
            # the names the segment's tape stores staying names
            uses = _Uses()
            uses.visit_block(checkpoints.body)
            keep = set(block.saved) | set(block.body_saved) | set(checkpoints.state)
            for name, value in checkpoints.carried:
                keep |= {name} | value.free_symbols
            uses.add(keep, 2)
            checkpoints = replace(checkpoints, body=tuple(
                _Inliner(uses.counts, self.array_op).block(checkpoints.body)))
        out.append(replace(block, body=tuple(body), checkpoints=checkpoints))
        return out

    def visit_Line(self, line, out, pending):
        array_op = self.array_op
        expr = line.expr
        wanted = {s: pending[s] for s in expr.free_symbols if s in pending}
        if wanted and not isinstance(expr, array_op) and not isinstance(expr, sympy.Piecewise):
            candidate = substituted(expr, wanted)  # as grouped: no flattening, no folding
            if candidate is not expr and not any(
                    not a.is_Atom for op in candidate.atoms(array_op) for a in op.operands):
                expr = candidate
                for s in wanted:  # the inlined line goes (O(1): a linear scan made long blocks quadratic)
                    at = out.where.pop(s, None)
                    if at is not None:
                        out[at] = None
        line = Line(line.target, expr, line.origin, line.reverse)
        if self.uses.get(line.target, 0) == 1 and not isinstance(expr, sympy.Piecewise):
            pending[line.target] = expr
        out.where[line.target] = len(out)
        out.append(line)
        return out


def _rebound(block):
    """The names a ``ForBlock`` assigns: its counter, tape, carried and saved names, and the
    targets of its body's, test's and checkpoints' lines."""
    found = {block.index, block.tape, *block.saved, *block.body_saved,
             *(name for name, _ in block.carried)}
    found |= {line.target for line in walk_lines([block])}
    if block.test is not None and block.test[2] is not None:
        found.add(block.test[2])
    if isinstance(block.trip, sympy.Symbol):
        found.add(block.trip)
    if block.checkpoints is not None:
        found |= set(block.checkpoints.state) | {name for name, _ in block.checkpoints.carried}
    return found


def _unmoved_past(pending, rebound):
    """Drop from ``pending`` (single-use lines waiting to be folded into their use) those
    reading a name in ``rebound``: folded past the block that rebinds it, they would read the
    new value (the value after a loop, read after its reverse loop restored the entry state)."""
    for symbol in [s for s, expr in pending.items() if expr.free_symbols & rebound]:
        del pending[symbol]


class _Out(list):
    """The lines of a block being inlined into, with ``where``: each line's place, by target."""

    def __init__(self):
        super().__init__()
        self.where = {}


class _Contents(Visitor):
    """Every ``Line`` of a block, nested ones included, in order (``lines``), and the condition
    of every ``IfBlock`` in it (``conditions``): what ``walk_lines`` and ``names_read`` read. A
    ``ForBlock``'s body lines are among ``lines``; what the loop reads from outside it is
    ``block.reads`` (``loop_reads``), and its body's own lines (``in_loops``) read names the
    loop defines."""

    stage = "lower.schedule.walk_lines"

    def __init__(self):
        self.lines = []
        self.conditions = []
        self.loop_reads = set()
        self.in_loops = set()  # ids of the lines inside ForBlock bodies
        self.depth = 0

    def visit_Line(self, line):
        self.lines.append(line)
        if self.depth:
            self.in_loops.add(id(line))

    def visit_IfBlock(self, block):
        if not self.depth:
            self.conditions.append(block.cond)
        self.visit_block(block.then)
        self.visit_block(block.orelse)

    def visit_ForBlock(self, block):
        if not self.depth:
            self.loop_reads |= block.reads
        self.depth += 1
        if block.test is not None:
            self.visit_block(block.test[0])
        if block.checkpoints is not None:
            self.visit_block(block.checkpoints.body)
        self.visit_block(block.body)
        self.depth -= 1


def _contents(lines):
    contents = _Contents()
    contents.visit_block(lines)
    return contents


def names_read(lines):
    """The names ``lines`` read (operands and conditions, nested lines included), as a set."""
    contents = _contents(lines)
    return set().union(*(line.symbols for line in contents.lines if id(line) not in contents.in_loops),
                       *(cond.free_symbols for cond in contents.conditions), contents.loop_reads)


def lines_outside_loops(lines):
    """The ``Line`` s of ``lines`` at the top level or in the arms of an ``if``, not in a loop's
    body (what an ``if`` declares in C; the forward lines a gradient runs for what they raise)."""
    out = []
    for item in lines:
        if isinstance(item, IfBlock):
            out += lines_outside_loops(item.then) + lines_outside_loops(item.orelse)
        elif not isinstance(item, ForBlock):
            out.append(item)
    return out


def walk_lines(lines):
    """Every ``Line`` in ``lines``, nested ones included."""
    return _contents(lines).lines


class _Lowerer(Visitor):
    """SSA statements (forward and reverse) -> ``Line`` s and ``IfBlock`` s, value-numbered."""

    stage = "lower.schedule"

    def __init__(self, namer, math_calls=(), numpy_ufuncs=None, shapes=None, checkpoint=None):
        self.namer = namer
        self.checkpoint = checkpoint  # the ``checkpoint=`` option (``lower.checkpoints.checked``)
        self.shapes = shapes or {}  # symbol -> array shape (absent: a scalar)
        self.math_calls = set(math_calls)  # grows by the lowered forms of these nodes
        self.numpy_ufuncs = dict(numpy_ufuncs or {})  # likewise
        self.lines = []
        self.memo = ChainMap()  # expression -> the name that holds its value (scoped per arm)
        # symbol -> the atom it equals (copies are not emitted). Not scoped: an SSA name defined in
        # an arm is only ever read on paths where that arm ran.
        self.alias = {}
        self.where = (NOWHERE, False)  # origin, reverse
        self.loops = {}  # id of an ir.Loop -> the tape of its forward ForBlock
        self.loop_bodies = {}  # a forward ForBlock's tape -> its body lines
        self.forward_blocks = {}  # a forward ForBlock's tape -> the block (checkpoints recompute it)
        self.tapes = {}  # a forward ForBlock's tape -> (saved, counted, body_saved, checkpoints),
        # as its reverse reads them
        self.last_block = (None, None, None)  # the last IfBlock made, and its arms' value numbering
        self.merged = set()  # names both arms of an if assign, each standing for a merge's value
        # condition -> (the value numbering around its last IfBlock, and each arm's): a later
        # ``if`` on the same condition where that one ran reads what its arms computed
        self.arm_memos = {}
        self.indicators = {}  # a flag set 1.0 in the then arm of an if and 0.0 in its else -> its condition

    def at(self, item, reverse):
        self.where = (item.origin, reverse)

    def emit(self, target, node):
        self.lines.append(Line(target, node, *self.where))

    # ---- statements ----
    def items(self, items, reverse):
        self.visit_block(items, reverse)

    def visit_Statement(self, stmt, reverse):
        self.at(stmt, reverse)
        self.assign(stmt.target, stmt.expr)

    visit_Adjoint = visit_Statement  # (ad.reverse) target = the adjoint's sum

    def visit_Branch(self, branch, reverse):
        self.branch(branch, reverse)

    def visit_Loop(self, loop, reverse):
        """The forward loop: entry values, then the loop pushing its carried values onto the
        tape (which of them the reverse loop reads is known once that is lowered)."""
        self.at(loop, reverse)
        for carry in loop.carried:
            self.emit(carry.inside, self.operand_value(carry.initial))
        test = None
        if loop.is_while:  # its test: lines of their own, run before each iteration
            where, lines, memo = self.where, self.lines, self.memo
            self.lines, self.memo = [], self.memo.new_child()
            self.items(loop.test, reverse)
            self.where = where
            condition = self.condition(loop.condition)
            test_lines, self.lines, self.memo = self.lines, lines, memo
            test_lines, _ = _prune(test_lines, set(condition.free_symbols))
            test = (tuple(test_lines), condition, loop.exit_flag)
        body, carried = self._loop_body([loop.body], loop.carried, reverse,
                                        _invariant_room(loop, {c.inside for c in loop.carried}))
        tape = real_symbol(self.namer.fresh("_checkpoints" if self.checkpoint else "_tape"))
        # nothing is saved until the reverse loop says what it reads (``visit_AdjointLoop``):
        # a loop whose reverse is pruned (no carried value reaches the output's derivative)
        # keeps no tape
        # (a forward loop even where it is recomputed in the reverse pass: a loop nested in a
        # loop runs again, forward, in each reverse iteration of the outer one, then backward)
        block = ForBlock(loop.counter, loop.trip_count, tape, (), body, carried, self.where[0],
                         False, test=test)
        self.lines.append(block)
        self.loops[id(loop)] = tape
        self.loop_bodies[tape] = body
        self.forward_blocks[tape] = block
        for carry in loop.carried:
            self.emit(carry.after, carry.inside)

    def visit_AdjointLoop(self, item, reverse):
        """The reverse loop (``ad.reverse.AdjointLoop``): each iteration reads the forward
        loop's state back from its tape, recomputes the body's values its adjoint needs, and
        applies it."""
        self.at(item, reverse)
        forward = item.forward
        # A loop nested in the forward body runs forward again here (its ``visit_Loop``, a new
        # tape), then backward (its own ``AdjointLoop``, in ``item.body``): each outer reverse
        # iteration recomputes the inner loop from the outer state on the outer tape. Measured
        # (100 x 100 steps of x + 1e-4*sin(x), hand-written both ways): 1.4x the time of an
        # outer tape holding every inner tape (the inner forward runs twice, not once), for 7.4 KB
        # of peak memory instead of 322 KB -- memory that grows with the product of the trip
        # counts, where this grows with their sum; and ``checkpoint=`` then applies at each level.
        entry = len(self.lines)  # (the carries' entry lines: a sum added in place starts at zeros)
        for carry in item.carried:
            self.emit(carry.inside, self.operand_value(carry.initial))
        bound = {c.inside for c in item.carried} | {c.inside for c in forward.carried}
        body, carried = self._loop_body([forward.body, item.body], item.carried, reverse,
                                        _invariant_room(forward, bound))
        tape = self.loops[id(forward)]
        body, body_saved = self._taped_arrays(body, carried, item.carried, self.loop_bodies[tape])
        body, carried = self._sums_in_place(body, carried, item, entry)
        read = names_read(body)
        saved = tuple(c.inside for c in forward.carried if c.inside in read)
        checkpoints = (self.checkpoints(self.forward_blocks[tape], forward, saved)
                       if saved or body_saved else None)
        self.tapes[tape] = (saved, True, body_saved, checkpoints)  # (set on the forward block
        # once all is lowered: it may sit in an arm of an IfBlock made already, a loop after an
        # early return)
        self.lines.append(ForBlock(forward.counter, forward.trip_count, tape, saved, body,
                                   carried, *self.where, body_saved=body_saved,
                                   checkpoints=checkpoints))
        for carry in item.carried:
            self.emit(carry.after, carry.inside)

    def checkpoints(self, forward_block, forward, saved):
        """The ``Checkpoints`` of a loop under the ``checkpoint=`` option (None without it): the
        state stored is every carried value the forward body (or what it carries) reads, and
        those its reverse reads (``saved``)."""
        if self.checkpoint is None:
            return None
        needed = names_read(forward_block.body) | set(saved)
        for _, value in forward_block.carried:
            needed |= value.free_symbols
        state = tuple(c.inside for c in forward.carried if c.inside in needed)
        k = checkpointing.every(self.checkpoint, forward.trip_count)
        fresh = self.namer.fresh
        return Checkpoints(sympy.Integer(k) if k is not None else real_symbol(fresh("_K")), state,
                           real_symbol(fresh("_c")), real_symbol(fresh("_start")),
                           real_symbol(fresh("_end")), real_symbol(fresh("_segment")),
                           forward_block.body, forward_block.carried)

    def _taped_arrays(self, body, carried, carries, forward_body):
        """``(body, names)``: the reverse ``body`` without its recomputation of the arrays the
        forward body computed (``names``, top-level lines of both), which the adjoint reads: the
        forward loop pushes them onto its tape instead. numbers are recomputed (cheap, and the
        tape stays small); arrays are saved by reference (the forward loop does not change one
        in place), so the tape costs a tuple per iteration."""
        computed = {line.target for line in forward_body if isinstance(line, Line)}
        for block in forward_body:  # a loop nested in the body rebinds what it carries: at the
            if isinstance(block, ForBlock):  # iteration's end, not the value its reverse reads
                computed -= {name for name, _ in block.carried}
        shapes, arrays_of = ChainMap({}, self.shapes), set()
        for line in body:  # (the lines' own temporaries have shapes too: found in order)
            if isinstance(line, Line):
                shape = shape_of(line.expr, shapes)
                if shape:
                    shapes[line.target] = shape
                    if line.target in computed:
                        arrays_of.add(line.target)
        if not arrays_of:
            return body, ()
        kept = [line for line in body if not (isinstance(line, Line) and line.target in arrays_of)]
        live = {c.inside for c in carries}
        for _, value in carried:
            live |= value.free_symbols
        kept, _ = _prune(kept, live)
        wanted = (names_read(kept) | live) & arrays_of  # (what the adjoint's lines read of them)
        if not wanted:
            return body, ()
        names = tuple(line.target for line in body if isinstance(line, Line) and line.target in wanted)
        return tuple(kept), names

    def _sums_in_place(self, body, carried, item, entry):
        """``(body, carried)`` with each array's running sum over the reverse loop (the
        ``AdjointLoop.sums``: ``W_bar_1 = W_bar + W_bar_1`` as the carried value) added in place,
        ``W_bar_1 += W_bar`` (``x_bar_1[t] += g`` where the contribution is one row: the adjoint
        of ``X[t]``), into fresh zeros made before the loop: no array allocated per iteration.
        ``entry``: where the carries' entry lines start in ``self.lines``."""
        from ..primitives.arrays import AddInto, Zeros

        sums = {}  # running sum -> the shape of the value whose adjoint it sums
        if item.sums:
            for carry, of in zip(item.carried[len(item.carried) - len(item.sums):], item.sums):
                if self.shapes.get(of):
                    sums[carry.inside] = self.shapes[of]
        if not sums:
            return body, carried
        lines = list(body)
        where = {line.target: k for k, line in enumerate(lines) if isinstance(line, Line)}
        reads = {}
        for line in lines:
            for symbol in (line.symbols if isinstance(line, Line) else names_read([line])):
                reads[symbol] = reads.get(symbol, 0) + 1
        starts = {line.target: j for j, line in enumerate(self.lines[entry:], entry)
                  if isinstance(line, Line) and line.target in sums}
        pairs = list(carried)
        for k, (running, value) in enumerate(pairs):
            shape = sums.get(running)
            if not shape or running not in starts or value not in where or reads.get(running) != 1 \
                    or reads.get(value, 0) or sum(v == value for _, v in pairs) != 1:
                continue
            line = lines[where[value]]
            if not (line.expr.is_Add and len(line.expr.args) == 2 and running in line.expr.args):
                continue
            (other,) = [a for a in line.expr.args if a != running]
            if not other.is_Symbol:
                continue
            parts = [other]  # a sum of rows (x[t] and x[t + 1] read): one += per row
            if other in where and lines[where[other]].expr.is_Add and reads.get(other) == 1:
                parts = list(lines[where[other]].expr.args)
            if not all(self._one_row(p, lines, where, reads) for p in parts):
                parts = [other]
            elif parts != [other]:
                lines[where[other]] = None
            added = []
            for part in parts:
                source = self._one_row(part, lines, where, reads)
                if source is None:
                    added.append(replace(line, target=running, expr=AddInto.make(
                        running, part, key=None, shape=tuple(shape))))
                    continue
                value_in, *indices = source.expr.operands  # one row (X[t]'s adjoint): += into it
                added.append(replace(line, target=running, expr=AddInto.make(
                    running, value_in, *indices, key=source.expr.params["key"], shape=tuple(shape))))
                lines[where[part]] = None
            lines[where[value]] = added
            pairs[k] = (running, running)  # (its own zeros: no other name holds them)
            self.lines[starts[running]] = replace(self.lines[starts[running]],
                                                  expr=Zeros.make(shape=tuple(shape)))
        flat = []
        for line in lines:
            if isinstance(line, list):
                flat += line
            elif line is not None:
                flat.append(line)
        return tuple(flat), tuple(pairs)

    def _one_row(self, symbol, lines, where, reads):
        """The line ``symbol = AddAt(value, i, ...)`` of a loop body, its indices numbers (one
        row of an array: ``x[t]``'s adjoint) and ``symbol`` read once, else None."""
        from ..primitives.arrays import AddAt

        line = lines[where[symbol]] if symbol.is_Symbol and symbol in where else None
        if (line is None or not isinstance(line, Line) or not isinstance(line.expr, AddAt)
                or reads.get(symbol) != 1
                or any(shape_of(i, self.shapes) for i in line.expr.operands[1:])):
            return None
        return line

    def _loop_body(self, blocks, carries, reverse, hoist=None):
        """A loop's body lines (own value numbering, dropped after it) and its carried pairs.
        ``hoist``: the names the loop binds, where its invariant array lines may go before it
        (``_hoisted``)."""
        where = self.where
        saved = self.lines, self.memo
        # the aliases the body makes are its own too: lowered again (the reverse loop recomputes
        # the forward body), an 'if' whose arms were merged in place (the else arm's name made
        # to stand for the then arm's) starts afresh, not from the renaming of the last time
        aliases, merged = dict(self.alias), set(self.merged)
        self.lines, self.memo = [], self.memo.new_child()
        for block in blocks:
            self.items(block, reverse)
        self.where = where
        carried = tuple((c.inside, self.operand_value(c.update)) for c in carries)
        body, self.lines, self.memo = self.lines, *saved
        self.alias.clear()
        self.alias.update(aliases)
        self.merged.clear()
        self.merged.update(merged)
        live = {c.inside for c in carries}
        for _, value in carried:
            live |= value.free_symbols
        if not reverse:  # the forward loop raises where the user's loop does: its 'raise', and
            # its lines of numbers that may raise (math.log of a negative, a division by 0...),
            # kept where nothing reads them, as the gradient's forward checks are (python_code)
            live |= {line.target for line in walk_lines(body) if isinstance(line.expr, Raising)
                     or (not self.shapes.get(line.target) and not line.reverse
                         and may_raise(line.expr, infinities=True))}
        if self.tapes:  # a loop nested in this one, run forward then backward in its body:
            body = _with_tapes(body, self.tapes)  # its forward half fills the tape (kept)
        body, _ = _prune(body, live)
        if hoist is not None:
            body = self._hoisted(body, hoist)
        return tuple(body), carried

    def _hoisted(self, body, inside):
        """``body`` without its loop-invariant array lines (``W.T``, ``np.sum(w)``: an array
        operation reading no name the loop defines; ``inside``: the names the loop itself
        binds), which go before the loop, computed once. Only for a loop known to run (a trip
        count of at least 1): a line moved out of a loop that runs no iteration would run."""
        from ..primitives.arrays import ArrayOp

        defined, kept = set(inside), []
        shapes = ChainMap({}, self.shapes)
        # names a loop nested in the body assigns (its carried values, a sum it adds into in
        # place: zeros made for it in this body are made again in each iteration)
        rebound = {t.target for item in body if isinstance(item, ForBlock) for t in walk_lines([item])}
        for line in body:
            if not isinstance(line, Line):
                defined |= {t.target for t in walk_lines([line])}
                kept.append(line)
                continue
            if line.target in rebound:
                defined.add(line.target)
                kept.append(line)
                continue
            shape = shape_of(line.expr, shapes)
            if shape:
                shapes[line.target] = shape
            if (isinstance(line.expr, ArrayOp) or shape) and not line.symbols & defined:
                self.lines.append(line)  # (before the loop: the caller appends it next)
            else:
                defined.add(line.target)
                kept.append(line)
        return kept

    def assign(self, target, expr):
        expr = self.unit_dropped(expr)
        if expr.is_Atom:
            self.alias[target] = self.atom(expr)
            return
        if expr in self.memo:
            self.alias[target] = self.memo[expr]
            return
        self.emit(target, self.rebuild(expr))
        self.memo[expr] = target

    def branch(self, branch, reverse):
        """An ``IfBlock`` of the branch's arms. Right after an ``IfBlock`` on the same condition
        (a branch's forward arms, then at once its reverse ones: the branch ended the function),
        the arms continue that block's: the condition is tested once, and a value the forward arm
        computed is not computed again (the arm's value numbering goes on). Later, away from it,
        they start from what that block's arms computed. ``if returned < 0.5:`` of a flag an
        ``if c:`` set 1.0 or 0.0 is written ``if c:`` with its arms the other way round."""
        self.at(branch, reverse)
        cond = self.condition(branch.cond)
        where = self.where
        sides = [(branch.then, [m.then_value for m in branch.merges]),
                 (branch.orelse, [m.else_value for m in branch.merges])]
        flipped = self.indicated(cond)
        if flipped is not None:
            cond = flipped
            sides.reverse()
        joined = self.last_block if self.lines and self.last_block[0] is self.lines[-1] \
            and self.lines[-1].cond == cond else None
        earlier = None if joined else self.earlier_arms(cond)
        enclosing = self.memo
        arms, memos = [], []
        for k, (block, values) in enumerate(sides):
            saved = self.lines, self.memo
            if joined:
                self.lines, self.memo = list(joined[0].then if k == 0 else joined[0].orelse), joined[1 + k]
            elif earlier:
                self.lines, self.memo = [], self.memo.new_child().new_child()
                self.memo.maps[1] = earlier[k]
            else:
                self.lines, self.memo = [], self.memo.new_child()
            self.items(block, reverse)
            self.where = where
            for merge, value in zip(branch.merges, values):
                node = self.atom(value) if value.is_Atom else self.rebuild(value)
                self.emit(merge.target, node)
            arms.append(tuple(self.lines))
            memos.append(self.memo)
            self.lines, self.memo = saved
        arms = self.merged_in_place(branch.merges, arms, memos)
        for merge, then_value, else_value in zip(branch.merges, sides[0][1], sides[1][1]):
            if (then_value, else_value) == (1, 0):  # a flag: 1.0 where the condition held, 0.0 where not
                self.indicators[merge.target] = cond
        if joined:
            block = replace(joined[0], then=arms[0], orelse=arms[1])
            self.lines[-1] = block
        else:
            block = IfBlock(cond, arms[0], arms[1], *where)
            self.lines.append(block)
        self.last_block = (block, *memos)
        self.arm_memos[cond] = (enclosing, *memos)

    def indicated(self, cond):
        """The condition ``c`` where ``cond`` is ``flag < 0.5`` of a flag set 1.0 where ``c``
        held and 0.0 where not (so ``cond`` holds exactly where ``c`` does not), else None."""
        if isinstance(cond, sympy.StrictLessThan) and cond.rhs == sympy.Float(0.5):
            return self.indicators.get(cond.lhs)
        return None

    def earlier_arms(self, cond):
        """What each arm of the last ``if`` on ``cond`` computed, where the code being lowered
        runs after that ``if`` (it was made in this scope or one around it), else None: the same
        SSA condition takes the same arm again (a ``returned`` flag tested in the forward code
        and again in the reverse), so its values are not computed twice."""
        found = self.arm_memos.get(cond)
        if found is None:
            return None
        enclosing, then, orelse = found
        around = {id(scope) for scope in self.memo.maps}
        if not all(id(scope) in around for scope in enclosing.maps):
            return None
        return tuple(dict(ChainMap(*memo.maps[:len(memo.maps) - len(enclosing.maps)]))
                     for memo in (then, orelse))  # (each arm's own scopes, not those around it)

    def merged_in_place(self, merges, arms, memos):
        """The arms with ``m = a`` (then) and ``m = b`` (else) dropped where ``a`` and ``b`` are
        names each arm defines for this merge alone: ``b``'s line assigns ``a``, and ``m`` and
        ``b`` stand for ``a`` from here on (``x_bar = ...`` in both arms, not ``x_bar_2 = x_bar``).
        Where only one arm defines its name so (the other copies a number or a name from before
        the ``if``), that arm's line assigns ``m`` itself. Arrays keep their copy."""
        then, orelse = list(arms[0]), list(arms[1])
        for merge in merges:
            a, b = (_copy_of(merge.target, lines) for lines in (then, orelse))
            if a is not None and b is not None and a != b and self.both_in_place(merge.target, a, b, then, orelse):
                then = _without_copy(then, merge.target)
                orelse = _renamed(_without_copy(orelse, merge.target), b, a)
                self.stands_for(b, a, memos)
                self.alias[merge.target] = a
                self.merged.add(a)
                continue
            for k, name in enumerate((a, b)):
                arm, other = (then, orelse) if k == 0 else (orelse, then)
                if name is not None and self.assigned_in_place(merge.target, name, arm, other):
                    arm[:] = _renamed(_without_copy(arm, merge.target), name, merge.target)
                    self.stands_for(name, merge.target, [memos[k]])
                    self.merged.add(merge.target)
                    break
        return tuple(then), tuple(orelse)

    def stands_for(self, name, target, memos):
        """``target`` stands for ``name`` from here on: in the aliases and in the value numbering
        of the arms ``memos``, whose lines now assign ``target`` where they assigned ``name``."""
        for key, value in list(self.alias.items()):
            if value == name:
                self.alias[key] = target
        self.alias[name] = target
        for memo in memos:
            for key, value in list(memo.maps[0].items()):
                if value == name:
                    memo.maps[0][key] = target

    def both_in_place(self, target, a, b, then, orelse):
        """Whether ``a`` (then) and ``b`` (else) are each defined by their arm for the copy
        ``target = a`` / ``target = b`` alone."""
        if any(s in self.shapes for s in (a, b, target)) or a in self.merged or b in self.merged:
            return False  # (merged: already standing for another merge's value)
        return (_defined_once_and_unread(a, target, then) and _defined_once_and_unread(b, target, orelse)
                and not _defines(orelse, a) and not _defines(then, b))

    def assigned_in_place(self, target, name, lines, other):
        """Whether the arm ``lines`` may compute ``target`` where it computes ``name`` (which it
        defines for the copy ``target = name`` alone, ``x_bar_1 = x_bar``), the ``other`` arm
        setting ``target`` its own way."""
        if name in self.merged or target in self.merged or name in self.shapes or target in self.shapes:
            return False
        # (a merge's own name, set in both arms, is no arm's alone)
        return _defined_once_and_unread(name, target, lines) and not _defines(other, name)

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
        expr = self.unit_dropped(expr)
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

    def unit_dropped(self, expr):
        """``v`` for ``1.0*v`` (``0.5*2.0*v`` folds to it) where ``v`` is a float whatever the
        arguments' types (a ``math`` call, a sum or product with a float): the same double,
        nan, infinities and signed zeros included. Kept where it may turn an int into a float
        (``1.0*x``: an exported module may be called with an int) and for arrays (``1.0*a`` is a
        new float array, not ``a`` itself)."""
        if not (expr.is_Mul and len(expr.args) == 2):
            return expr
        one, other = expr.args
        if not _is_float_one(one) or other.is_number:
            return expr
        if self.shapes and any(s in self.shapes for s in other.free_symbols):
            return expr
        if other in self.math_calls or ((other.is_Add or other.is_Mul) and any(
                a.is_Float or isinstance(a, PyFloat) for a in other.args)):
            return other  # a float whatever the arguments' types
        return expr

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
        if parent.is_Add and arg.is_Mul and arg.args[0] == -1:
            # -a*b in a sum: a*b gets a name (the one a*b has elsewhere), the sum subtracts it
            # ('c - t', not 't2 = -a*b; c + t2': one negation fewer, the same number exactly)
            return rebuilt(arg, [arg.args[0], self.value(arg.func._from_args(arg.args[1:]))])
        return self.value(arg)


def _copy_of(target, lines):
    """``a`` where ``lines`` has ``target = a`` at their top level for a name ``a``, else None."""
    for line in lines:
        if isinstance(line, Line) and line.target == target:
            return line.expr if line.expr.is_Symbol else None
    return None


def _without_copy(lines, target):
    """``lines`` without their top-level line assigning ``target``."""
    return [line for line in lines if not (isinstance(line, Line) and line.target == target)]


def _renamed(lines, name, target):
    """``lines`` with the top-level line assigning ``name`` assigning ``target`` instead."""
    return [replace(line, target=target) if isinstance(line, Line) and line.target == name else line
            for line in lines]


def _defines(lines, name):
    """Whether a line of ``lines``, at any depth, assigns ``name``."""
    return any(line.target == name for line in _contents(lines).lines)


def _defined_once_and_unread(name, merge_target, lines):
    """Whether ``name`` is the target of exactly one top-level line of ``lines`` (none nested) and
    no line but the copy ``merge_target = name`` reads it."""
    contents = _contents(lines)
    defined = [line for line in contents.lines if line.target == name]
    if len(defined) != 1 or defined[0] not in lines:
        return False
    reads = [line for line in contents.lines if name in line.symbols]
    if any(name in cond.free_symbols for cond in contents.conditions):
        return False
    return len(reads) == 1 and reads[0].target == merge_target and reads[0] in lines


def _is_float_one(number):
    """Whether ``number`` is the float 1.0 (a SymPy ``Float`` or a ``PyFloat`` atom)."""
    if isinstance(number, PyFloat):
        return number.value == 1.0
    return number.is_Float and float(number) == 1.0


def _inline_in(arg, parent):
    """Small operands printed inside their parent's line: ``-x``, ``2*x`` in a sum, ``/x`` in a product."""
    if not all(a.is_Atom for a in arg.args):
        return False
    if arg.is_Mul and len(arg.args) == 2 and arg.args[0].is_Number:
        return parent.is_Add or arg.args[0] == -1
    if arg.is_Pow and arg.exp.is_Number and arg.exp.is_negative:
        return parent.is_Mul
    return False


def schedule(gradient_program, checkpoint=None):
    """Lower forward statements, adjoints and gradients to one-operation lines (``checkpoint``:
    the option of ``lower.checkpoints``, for the rolled loops)."""
    program = gradient_program.program
    lowerer = _Lowerer(program.namer, program.math_calls, program.numpy_ufuncs, program.shapes,
                       checkpoint)
    lowerer.items(program.body, reverse=False)
    lowerer.items(gradient_program.reverse, reverse=True)
    gradients = []
    for param, expr in zip(gradient_program.gradient_params, gradient_program.gradients):
        origin = gradient_program.origins.get(param.symbol)
        lowerer.where = (origin.origin if origin else NOWHERE, True)
        if expr.is_Atom:
            gradients.append(lowerer.atom(expr))
            continue
        target = real_symbol(program.namer.adjoint(param.name))
        lowerer.assign(target, expr)
        gradients.append(lowerer.atom(target))
    value = lowerer.value(program.output)
    aux = None
    if program.aux is not None:
        aux = [lowerer.value(leaf) if isinstance(leaf, sympy.Basic) and leaf.free_symbols else leaf
               for leaf in program.aux[1]]
    lines, math_calls, numpy_ufuncs = lowerer.lines, lowerer.math_calls, lowerer.numpy_ufuncs
    if lowerer.tapes:
        lines = _with_tapes(lines, lowerer.tapes)
    renames = _gradient_names(lines, gradient_program.gradient_params, gradients, program.namer)
    renames.update(_adjoint_names(lines, gradient_program.reverse, renames, program.namer))
    if renames:
        shapes = gradient_program.shapes
        shapes.update({new: shapes[old] for old, new in renames.items() if old in shapes})
        lines = _Renamer(renames).block(lines)
        gradients = [renames.get(g, g) for g in gradients]
        value = renames.get(value, value)
        aux = None if aux is None else [renames.get(a, a) if isinstance(a, sympy.Basic) else a for a in aux]
        math_calls = math_calls | {substituted(n, renames) for n in math_calls
                                   if n.free_symbols & renames.keys()}
        numpy_ufuncs.update({substituted(n, renames): u for n, u in numpy_ufuncs.items()
                             if n.free_symbols & renames.keys()})
    return Schedule(lines=lines, value=value, gradients=gradients,
                    math_calls=math_calls, numpy_ufuncs=numpy_ufuncs, aux=aux)


def _invariant_room(loop, bound):
    """The names a loop binds (``bound`` and its counter) where lines invariant over it may be
    computed once before it (``_Lowerer._hoisted``): a ``for`` with a constant trip count of at
    least 1, in array code; else None."""
    if loop.is_while or not loop.trip_count.is_Integer or int(loop.trip_count) < 1:
        return None
    return set(bound) | {loop.counter}


def _with_tapes(lines, tapes):
    """``lines`` with each forward ``ForBlock`` saving (and counting) what its reverse loop
    reads (``tapes``: tape -> (saved, counted)), nested ones included."""
    out = []
    for line in lines:
        if isinstance(line, IfBlock):
            line = replace(line, then=tuple(_with_tapes(line.then, tapes)),
                           orelse=tuple(_with_tapes(line.orelse, tapes)))
        elif isinstance(line, ForBlock):
            if not line.reverse and line.tape in tapes:
                saved, counted, body_saved, checkpoints = tapes[line.tape]
                if checkpoints is not None:  # (the forward loop stores the state, every K)
                    saved, body_saved = checkpoints.state, ()
                    checkpoints = replace(checkpoints, body=(), carried=())
                line = replace(line, saved=saved, counted=counted, body_saved=body_saved,
                               checkpoints=checkpoints)
            line = replace(line, body=tuple(_with_tapes(line.body, tapes)))
        out.append(line)
    return out


def _gradient_names(lines, wrt, gradients, namer):
    """``{adjoint line's name: the parameter's adjoint name}`` for each gradient that value
    numbering gave an intermediate's name (an MLP's bias gradient is the adjoint of ``W @ x + b``,
    named ``matmul_bar`` after the first value it was found for): returned as ``b_bar``."""
    found = walk_lines(lines)
    reverse_targets = {line.target for line in found if line.reverse}
    used = {s.name for s in names_read(lines)} | {line.target.name for line in found}
    renames = {}
    for param, gradient in zip(wrt, gradients):
        if (gradient in reverse_targets and gradient not in renames
                and not gradient.name.startswith(f"{param.name}_bar")):
            name = f"{param.name}_bar"  # handed out for an adjoint that value numbering merged
            if not namer.generated(name) or name in used:
                name = namer.adjoint(param.name)
            used.add(name)
            renames[gradient] = real_symbol(name)
    return renames


def _adjoint_names(lines, reverse, renames, namer):
    """``{x_11_bar: x_bar}`` where ``x_11_bar`` is the only adjoint of a version of the user's
    ``x`` that value numbering kept (the others merged or pruned) and no line uses ``x_bar``."""
    version_of = {item.target: item.of for item in walk(reverse) if hasattr(item, "of")}  # Adjoints
    found = walk_lines(lines)
    used = {s.name for s in names_read(lines)} | {line.target.name for line in found}
    used |= {new.name for new in renames.values()}
    by_user = {}  # the user's variable -> the adjoints of its versions that lines define
    for line in found:
        symbol = version_of.get(line.target)
        if line.reverse and symbol is not None and line.target not in renames:
            user = namer.user_name(symbol.name) or symbol.name
            by_user.setdefault(user, set()).add((line.target, symbol))
    out = {}
    for user, adjoints in by_user.items():
        if len(adjoints) != 1:
            continue
        ((target, symbol),) = adjoints
        name = f"{user}_bar"
        if (symbol.name == user or target.name != f"{symbol.name}_bar" or name in used
                or (name in namer.taken and not namer.generated(name))):
            continue
        if name not in namer.taken:
            namer.fresh(name)
        used.add(name)
        out[target] = real_symbol(name)
    return out


class _Renamer(Visitor):
    """A block with the names in ``renames`` (symbol -> symbol) replaced, targets included."""

    stage = "lower.schedule (gradient names)"

    def __init__(self, renames):
        self.renames = renames

    def block(self, lines):
        return [self.visit(line) for line in lines]

    def visit_Line(self, line):
        renames = self.renames
        return Line(renames.get(line.target, line.target), substituted(line.expr, renames),
                    line.origin, line.reverse)

    def visit_IfBlock(self, block):
        return IfBlock(substituted(block.cond, self.renames), tuple(self.block(block.then)),
                       tuple(self.block(block.orelse)), block.origin, block.reverse)

    def visit_ForBlock(self, block):
        renames = self.renames
        test = block.test and (tuple(self.block(block.test[0])), substituted(block.test[1], renames),
                               block.test[2] and renames.get(block.test[2], block.test[2]))
        checkpoints = block.checkpoints and replace(
            block.checkpoints, state=tuple(renames.get(s, s) for s in block.checkpoints.state),
            body=tuple(self.block(block.checkpoints.body)),
            carried=tuple((renames.get(n, n), substituted(v, renames))
                          for n, v in block.checkpoints.carried))
        return ForBlock(block.index, block.trip, block.tape,
                        tuple(renames.get(s, s) for s in block.saved), tuple(self.block(block.body)),
                        tuple((renames.get(n, n), substituted(v, renames)) for n, v in block.carried),
                        block.origin, block.reverse, test, block.counted,
                        body_saved=tuple(renames.get(s, s) for s in block.body_saved),
                        checkpoints=checkpoints)


__all__ = ["ForBlock", "IfBlock", "Line", "Schedule", "Statement", "names_read", "schedule", "walk_lines"]
