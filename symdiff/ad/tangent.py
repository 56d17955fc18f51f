"""tangent: a program -> the same program carrying, beside each value, its tangent along a
direction (forward mode, IR to IR), loops kept as loops.

Takes: a traced ``Program`` and ``{symbol: tangent}`` for the parameters pushed forward (a
tangent is a symbol, a new parameter of the result, or a number: ``grad(grad(f))`` pushes 1).
Returns: a ``Program`` whose output is the directional derivative of the old output, J v. Each
statement ``t = e`` is followed by ``t_dot = sum_s de/ds * s_dot`` (the local partials of
``ad.reverse.local_partial``: the same ``sympy.diff`` of one small expression); a ``Branch``
gets its arms' tangent statements and ``Merge`` s of the tangents; a ``Loop`` carries the
tangent of each carried value it changes, its condition, test and exit flag unchanged (a trip
count is piecewise constant: it has no derivative). The result is an ordinary program, so
``ad.reverse.derive`` differentiates it again: reverse over forward, ``H v = grad_x (J v)``
(``pipeline`` modes "hessian" and "hvp" of loops kept as loops, ``grad(grad(f))``).

Array code: elementwise statements as numbers; the structural operations that are linear in
their operands (sums, indexing, reshapes, stacking, broadcasting; a row read with a loop's
counter in its array operand) and multilinear ones (``@``, ``np.outer``, ``np.einsum``) have
their rule here; any other one with a tangent flowing in is a located
``SymdiffError``, never a wrong number.
"""

import sympy

from ..errors import SymdiffError
from ..ir import Branch, Carry, Loop, Merge, Statement, Visitor, walk
from ..primitives import arrays, signs
from ..primitives.nodes import real_symbol
from .reverse import _reuse, local_partial

# structural operations linear in every operand: the tangent is the same operation of the
# operands' tangents (zeros where an operand has none)
_LINEAR = (arrays.ArraySum, arrays.GetItem, arrays.Reshape, arrays.Transpose, arrays.BroadcastTo,
           arrays.Unbroadcast, arrays.Stack, arrays.Concatenate, arrays.CumSum, arrays.RevCumSum,
           arrays.ExpandTo, arrays.Scatter, arrays.ScatterItems)
# linear in their first operands (how many), the others int indices (no tangent)
_INDEXED = {arrays.Take: 1, arrays.AddAt: 1, arrays.SetItem: 2}
# linear in each operand (the product rule: one term per operand): d(a @ b) = da @ b + a @ db
_MULTILINEAR = (arrays.MatMul, arrays.BatchMatMul, arrays.Outer, arrays.Einsum)


class _Tangents(Visitor):
    """Rebuilds a block with tangent statements; ``dots``: symbol -> its tangent (absent: 0)."""

    stage = "ad.tangent"

    def __init__(self, program, dots):
        self.program = program
        self.namer = program.namer
        self.shapes = program.shapes
        self.dots = dict(dots)

    def block(self, items):
        out = []
        for item in items:
            self.visit(item, out)
        return out

    def fresh(self, of, shape=None):
        """A new name for the tangent of ``of`` (a symbol), of ``of`` 's shape (or ``shape``)."""
        target = real_symbol(self.namer.fresh(f"{of.name}_dot"))
        shape = self.shapes.get(of, ()) if shape is None else shape
        if shape:
            self.shapes[target] = tuple(shape)
        return target

    def named(self, expr, of, out, origin, shape=None):
        """``expr`` (a tangent of ``of`` 's shape, or ``shape``) as an atom: a new statement
        unless it is one."""
        if expr.is_Atom:
            return expr
        target = self.fresh(of, shape)
        out.append(Statement(target, expr, origin=origin))
        return target

    def exact(self, expr, of, out, origin):
        """``expr`` (a tangent of ``of``) as an atom holding exactly ``of`` 's shape (a number's
        tangent where an array's is due is broadcast to it: a loop carries one shape)."""
        shape = tuple(self.shapes.get(of, ()))
        if shape and arrays.shape_of(expr, self.shapes) != shape:
            small = self.named(expr, of, out, origin, arrays.shape_of(expr, self.shapes))
            expr = arrays.BroadcastTo.make(small, shape=shape)
        return self.named(expr, of, out, origin)

    # ---- statements ----
    def visit_Statement(self, stmt, out):
        out.append(stmt)
        tangent = self.of_statement(stmt, out)
        if tangent is not None and tangent != 0:
            self.dots[stmt.target] = self.exact(tangent, stmt.target, out, stmt.origin)

    def of_statement(self, stmt, out):
        """The tangent of ``stmt.target`` as an expression (None: no tangent flows in); the
        lines it needs first (a structural operation's parts) are appended to ``out``."""
        expr = stmt.expr
        uses = sorted((s for s in expr.free_symbols if s in self.dots), key=lambda s: s.name)
        if not uses:
            return None
        if isinstance(expr, arrays.ArrayOp):
            return self.of_array_op(stmt, out)
        reuse = _reuse(stmt)
        terms = []
        for symbol in uses:
            try:
                partial = local_partial(stmt, symbol)
            except SymdiffError as exc:
                raise SymdiffError(exc.message, filename=stmt.filename or self.program.filename,
                                   lineno=stmt.lineno, hint=exc.hint) from None
            if partial != 0:
                terms.append(signs.xreplace(partial, reuse) * self.dots[symbol])
        return sympy.Add(*terms)

    def of_array_op(self, stmt, out):
        """A structural operation's tangent: the operation of its operands' tangents (linear),
        or the sum of the products with one operand's tangent each (multilinear), each
        operation on a line of its own with named operands (as ``ad.reverse`` reads them)."""
        expr = stmt.expr
        operands, params = expr.operands, expr.params

        def part(operand):
            shape = arrays.shape_of(operand, self.shapes) if isinstance(operand, sympy.Basic) else ()
            return self.named(self.operand_tangent(operand), stmt.target, out, stmt.origin, shape)

        if isinstance(expr, _LINEAR):
            if isinstance(expr, arrays.BroadcastTo) and not expr.operands[0].free_symbols:
                return None
            if not any(self.moves(a) for a in operands):
                return None
            return type(expr).make(*[part(a) for a in operands], **params)
        if type(expr) in _INDEXED:
            count = _INDEXED[type(expr)]
            if not any(self.moves(a) for a in operands[:count]):
                return None
            return type(expr).make(*[part(a) for a in operands[:count]], *operands[count:], **params)
        if isinstance(expr, _MULTILINEAR):
            terms = []
            for i, operand in enumerate(operands):
                if self.moves(operand):
                    moved = list(operands)
                    moved[i] = part(operand)
                    terms.append(self.named(type(expr).make(*moved, **params), stmt.target, out,
                                            stmt.origin))
            return sympy.Add(*terms)
        raise SymdiffError(
            f"no forward (tangent) rule for {type(expr).__name__} yet: a second derivative "
            "through a loop kept as a loop pushes tangents through every line",
            filename=stmt.filename or self.program.filename, lineno=stmt.lineno,
            hint="loop fewer than 32 times (the loop is then unrolled), or differentiate once "
            "(grad, jacobian)")

    def moves(self, operand):
        """Whether ``operand`` has a tangent (one of its symbols has)."""
        return isinstance(operand, sympy.Basic) and bool(operand.free_symbols & self.dots.keys())

    def operand_tangent(self, operand):
        """The tangent of an operand of a structural operation: of its shape (zeros if none)."""
        if not isinstance(operand, sympy.Basic) or not operand.free_symbols:
            tangent = sympy.Integer(0)
        elif isinstance(operand, sympy.Symbol):
            tangent = self.dots.get(operand, sympy.Integer(0))
        else:
            tangent = self.of_expression(operand)
        if tangent == 0:
            shape = arrays.shape_of(operand, self.shapes) if isinstance(operand, sympy.Basic) else ()
            if shape:
                return arrays.Zeros.make(shape=tuple(shape))
        return tangent

    def of_expression(self, expr):
        """The tangent of a small expression (a merge's value, an operand): its partials."""
        if not isinstance(expr, sympy.Basic) or not expr.free_symbols:
            return sympy.Integer(0)
        if isinstance(expr, sympy.Symbol):
            return self.dots.get(expr, sympy.Integer(0))
        if isinstance(expr, arrays.ArrayOp):
            raise SymdiffError("ad.tangent: a structural operation nested in an expression")
        return sympy.Add(*[sympy.diff(expr, s) * self.dots[s]
                           for s in sorted(expr.free_symbols & self.dots.keys(), key=lambda s: s.name)])

    # ---- branches ----
    def visit_Branch(self, branch, out):
        before = dict(self.dots)
        then = self.block(branch.then)
        then_dots, self.dots = self.dots, dict(before)
        orelse = self.block(branch.orelse)
        else_dots = self.dots
        merges = list(branch.merges)
        for merge in branch.merges:
            self.dots = then_dots
            a = self.of_expression(merge.then_value)
            self.dots = else_dots
            b = self.of_expression(merge.else_value)
            if a == 0 and b == 0:
                continue
            a = self.named(a, merge.target, then, branch.origin)
            b = self.named(b, merge.target, orelse, branch.origin)
            target = self.fresh(merge.target)
            merges.append(Merge(target, a, b))
            then_dots[merge.target] = target
        self.dots = {**else_dots, **then_dots}  # (an arm's own values keep their tangents)
        out.append(Branch(branch.cond, tuple(then), tuple(orelse), tuple(merges), origin=branch.origin))

    def visit_Merge(self, merge, out):  # (inside a Branch's merges only)
        raise self.refuse(merge)

    # ---- loops ----
    def visit_Loop(self, loop, out):
        moving = self.moving(loop)
        if not moving:
            out.append(loop)
            return
        entry = {}
        for carry in loop.carried:
            if carry.inside in moving:
                initial = self.of_expression(carry.initial)
                if initial == 0 and self.shapes.get(carry.inside):
                    initial = arrays.Zeros.make(shape=tuple(self.shapes[carry.inside]))
                entry[carry] = self.exact(initial, carry.inside, out, loop.origin)
        for carry in entry:
            self.dots[carry.inside] = self.fresh(carry.inside)
        body = []
        for stmt in loop.test:  # (a test's value the body reads: its tangent recomputed there)
            tangent = self.of_statement(stmt, body)
            if tangent is not None and tangent != 0:
                target = self.fresh(stmt.target)
                body.append(Statement(target, tangent, origin=stmt.origin))
                self.dots[stmt.target] = target
        body += self.block(loop.body)
        carried = list(loop.carried)
        for carry, initial in entry.items():
            update = self.of_expression(carry.update)
            if update == 0 and self.shapes.get(carry.inside):
                update = arrays.Zeros.make(shape=tuple(self.shapes[carry.inside]))
            update = self.exact(update, carry.inside, body, loop.origin)
            after = self.fresh(carry.after, self.shapes.get(carry.inside, ()))
            carried.append(Carry(self.dots[carry.inside], initial, update, after))
            self.dots[carry.after] = after
        out.append(Loop(loop.counter, loop.trip_count, tuple(carried), tuple(body), loop.origin,
                        condition=loop.condition, test=loop.test, exit_flag=loop.exit_flag))

    def moving(self, loop):
        """The carried values (``inside``) whose tangents are not 0: a fixpoint over the
        iterations, as ``ad.reverse`` finds the active ones (a loop nested in the body moves
        the values it carries where its entry values or its body move them)."""
        moving = {c.inside for c in loop.carried if self.of_expression(c.initial) != 0}
        reached = set(self.dots) | moving
        while True:
            count = len(reached)
            for item in walk(list(loop.test) + list(loop.body)):
                if isinstance(item, Statement):
                    reads, made = item.expr.free_symbols, {item.target}
                elif isinstance(item, Merge):
                    reads, made = item.then_value.free_symbols | item.else_value.free_symbols, {item.target}
                elif isinstance(item, Carry):  # (of a nested loop)
                    reads, made = item.initial.free_symbols | item.update.free_symbols, {item.inside, item.after}
                else:
                    continue
                if reads & reached:
                    reached |= made
            moving |= {c.inside for c in loop.carried if c.update.free_symbols & reached}
            reached |= moving
            if len(reached) == count:
                return moving


def tangent_program(program, directions, name=None):
    """A copy of ``program`` whose output is the derivative of its output along
    ``directions`` (``{parameter symbol or element symbol: its tangent}``, see the module
    docstring). The copy shares ``program``'s namer; its shapes are a copy (tangents added)."""
    from copy import copy
    new = copy(program)
    new.shapes = dict(program.shapes)
    walker = _Tangents(new, {s: t for s, t in directions.items() if t != 0})
    body = walker.block(program.body)
    output = walker.of_expression(program.output)
    if not isinstance(output, sympy.Symbol):  # (0: the output does not move)
        target = walker.fresh(program.output) if isinstance(program.output, sympy.Symbol) \
            else real_symbol(program.namer.fresh("output_dot"))
        body.append(Statement(target, output, lineno=program.output_lineno))
        output = target
    new.body = body
    new.output = output
    if name is not None:
        new.name = name
    return new


def has_loop(program):
    """Whether ``program`` keeps a loop as a loop."""
    return any(isinstance(item, Loop) for item in walk(program.body))


__all__ = ["has_loop", "tangent_program"]
