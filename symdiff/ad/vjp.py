"""vjp: a gradient program -> that gradient as a ``Program`` of its own, to differentiate again.

Takes: a ``GradientProgram`` (the forward and reverse passes of ``ad.reverse.derive``). Returns:
a ``Program`` whose body is both passes (structural array operations hoisted onto statements of
their own, with named operands) and whose output is the gradient, flat (one vector: a Hessian's
rows are its vector-Jacobian products, ``pipeline`` mode "hessian") or in the parameter's shape
(``grad(grad(f))`` of arrays).
"""

import numpy as np
import sympy

from ..errors import SymdiffError
from ..ir import Branch, Merge, Origin, Program, Statement, Transformer
from ..primitives import arrays
from ..primitives.nodes import real_symbol


def gradient_statements(gradient_program):
    """The forward and reverse passes as statements of one block, and each parameter's gradient
    as a name (an atom) defined there, in the parameter's shape: ``(body, gradients, shapes)``
    (``shapes``: the shape of every array value, new names included). For a ``symdiff.grad``
    called inside a differentiated function, whose gradient joins the outer program."""
    shapes = dict(gradient_program.shapes)
    hoister = _Hoister(gradient_program.program.namer, shapes)
    body = hoister.items(gradient_program.program.body) + hoister.items(gradient_program.reverse)
    atoms = []
    for param, gradient in zip(gradient_program.gradient_params, gradient_program.gradients):
        atom = hoister.atom(gradient, body)
        shape = tuple(shapes.get(param.symbol, ()))
        if shape and arrays.shape_of(atom, shapes) != shape:
            atom = hoister.op(arrays.BroadcastTo.make(atom, shape=shape), body)
        atoms.append(atom)
    return body, atoms, shapes


def gradient_as_program(gradient_program, flat=True):
    """The forward and reverse passes as one ``Program`` whose output is the flat gradient
    (``flat=False``: the gradient of one parameter keeps that parameter's shape)."""
    program = gradient_program.program
    shapes = dict(gradient_program.shapes)
    hoister = _Hoister(program.namer, shapes)
    body = hoister.items(program.body) + hoister.items(gradient_program.reverse)
    if not flat and any(p.tree is not None for p in gradient_program.wrt):
        raise SymdiffError(
            "grad(grad(f)) with respect to a container argument (a list, dict, NamedTuple or "
            "dataclass of arrays): the inner gradient is a container, not one array",
            hint="use symdiff.hessian(f, wrt=...) (its rows and columns are the leaves in order), "
                 "or pass the leaf as an argument of its own")
    parts = []
    for param, gradient in zip(gradient_program.gradient_params, gradient_program.gradients):
        atom = hoister.atom(gradient, body)
        shape = shapes.get(param.symbol, ())
        if param.elements is not None:
            shape = (len(param.elements),)
        if not flat and len(gradient_program.wrt) == 1:
            if shape and arrays.shape_of(atom, shapes) != tuple(shape):
                atom = hoister.op(arrays.BroadcastTo.make(atom, shape=tuple(shape)), body)
            parts.append(atom)
        elif shape:
            size = int(np.prod(shape))
            if len(shape) != 1:
                atom = hoister.op(arrays.Reshape.make(atom, shape=(size,)), body)
            parts.append(atom)
        else:
            parts.append(hoister.op(arrays.Stack.make(atom, axis=0, shape=(1,)), body))
    total = sum(shapes.get(p, (1,))[0] for p in parts)
    output = parts[0] if len(parts) == 1 else hoister.op(
        arrays.Concatenate.make(*parts, axis=0, shape=(total,)), body)
    return Program(
        name=f"{program.name}_grad", filename=program.filename, firstlineno=program.firstlineno,
        params=program.params, body=body, output=output, output_lineno=program.output_lineno,
        externals=program.externals, concrete=program.concrete, shapes=shapes,
        constants=program.constants, guards=program.guards, libraries=program.libraries | {"numpy"},
        helpers=program.helpers, callable_names=program.callable_names, namer=program.namer,
        local_names=program.local_names, math_calls=program.math_calls,
        numpy_ufuncs=program.numpy_ufuncs, flags=program.flags,
    )


class _Hoister(Transformer):
    """Rewrites statements so that structural operations stand alone with named operands."""

    stage = "ad.vjp (the gradient as a program)"

    def __init__(self, namer, shapes):
        self.namer = namer
        self.shapes = shapes
        self.where = None

    def items(self, items):
        return self.visit_block(items)

    def visit_Branch(self, item):
        then, orelse = self.items(item.then), self.items(item.orelse)
        merges = []
        for merge in item.merges:
            a = self.atom(merge.then_value, then)
            b = self.atom(merge.else_value, orelse)
            merges.append(Merge(merge.target, a, b))
        return Branch(item.cond, tuple(then), tuple(orelse), tuple(merges), origin=item.origin)

    def visit_Statement(self, item):
        self.where = item
        out = []
        expr = self.expr(item.expr, out, top=True)
        out.append(Statement(item.target, expr, origin=item.origin))
        return out

    visit_Adjoint = visit_Statement  # the reverse pass's lines become statements of the program

    def visit_Loop(self, loop):
        raise self.refuse(loop)

    def expr(self, expr, out, top=False):
        if expr.is_Atom:
            return expr
        if isinstance(expr, arrays.ArrayOp):
            operands = [self.atom(a, out) for a in expr.operands]
            node = expr.func(*operands, expr.args[-1])
            return node if top else self.op(node, out)
        if not any(isinstance(node, arrays.ArrayOp) for node in sympy.preorder_traversal(expr)):
            return expr
        return expr.func(*[self.expr(a, out) for a in expr.args])

    def atom(self, expr, out):
        expr = self.expr(expr, out)
        if expr.is_Atom:
            return expr
        symbol = real_symbol(self.namer.temporary())
        shape = arrays.shape_of(expr, self.shapes)
        if shape:
            self.shapes[symbol] = shape
        out.append(Statement(symbol, expr, origin=self._origin()))
        return symbol

    def op(self, node, out):
        symbol = real_symbol(self.namer.temporary())
        self.shapes[symbol] = node.shape
        out.append(Statement(symbol, node, origin=self._origin()))
        return symbol

    def _origin(self):
        """The origin of a hoisted statement: that of the statement it comes out of."""
        return self.where.origin if self.where is not None else _UNPLACED


_UNPLACED = Origin(None, 0, "")  # a hoisted statement before any statement (the gradients')


__all__ = ["gradient_as_program", "gradient_statements"]
