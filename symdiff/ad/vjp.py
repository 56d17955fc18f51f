"""vjp: vector-Jacobian products of a program -> ``jacobian`` and ``hessian``.

Takes: a function with one or several outputs (a tuple, list or array), or the gradient program of
a scalar function. Returns: compiled code for ``seed · J`` (the reverse pass run from an output
adjoint ``seed`` given at call time), and the ``Jacobian`` callable that runs it once per output to
assemble the matrix: rows are outputs (or first derivatives, for the Hessian), columns the
differentiated parameters, array and list parameters flattened in order.
"""

import math

import numpy as np
import sympy

from ..primitives import arrays
from ..api import Build, Gradient, compile_with_fallback, undistributed
from .reverse import Adjoint, derive
from ..errors import ShapeError, SymdiffError
from ..primitives.nodes import real_symbol
from ..ir import Branch, Merge, Origin, Program, Statement, Transformer

from ..lower.schedule import schedule
from ..frontend.interpreter import trace


@undistributed
def compile_vjp(program, wrt_names):
    """A ``Build`` whose functions take one more argument, ``seed``: the output's adjoint."""
    params = {p.name: p for p in program.params}
    seed = real_symbol(program.namer.fresh("seed"))
    out_shape = program.shapes.get(program.output, ())
    if out_shape:
        program.shapes[seed] = out_shape
    try:
        gradient_program = derive(program, [params[name] for name in wrt_names], seed=seed)
    except NotImplementedError as exc:
        raise SymdiffError(
            f"the derivative of {exc.args[0] if exc.args else 'an operation'} is not available "
            "for this higher derivative",
            filename=program.filename, lineno=program.firstlineno,
            hint="write that step with operations symdiff can differentiate twice",
        ) from None
    lowered = schedule(gradient_program)
    aliases = program.namer.generated_aliases(program.local_names)
    names = [
        *[p.symbol.name for p in program.params if p.name not in program.concrete],
        *[e.symbol.name for e in program.externals],
        seed.name,
    ]
    library = "numpy" if "numpy" in program.libraries or program.shapes else "math"
    code, compiled, ieee = compile_with_fallback(program, lowered, gradient_program, library, aliases,
                                                 signature=names)
    build = Build(program, gradient_program, lowered, code, compiled, library, ieee)
    build.output_shape = out_shape
    return build


@undistributed
def jacobian_build(parsed, wrt_names, concrete=None, deferrable=(), kinds=None, with_value=False):
    """The vjp build of a function that may return several numbers."""
    program = trace(parsed, concrete, deferrable, kinds, vector_output=True)
    return compile_vjp(program, wrt_names)


def hessian_build(parsed, wrt_names, concrete=None, deferrable=(), kinds=None, with_value=False):
    """The vjp build of the gradient of a scalar function: its rows are the Hessian's."""
    from ..api import build

    first = build(parsed, wrt_names, concrete, deferrable, kinds)
    return compile_vjp(gradient_as_program(first.gradient_program), wrt_names)


# ---- the gradient, as a program of its own ----
def gradient_as_program(gradient_program, flat=True):
    """The forward and reverse passes as one ``Program`` whose output is the flat gradient
    (``flat=False``: the gradient of one parameter keeps that parameter's shape)."""
    program = gradient_program.program
    shapes = dict(gradient_program.shapes)
    hoister = _Hoister(program.namer, shapes)
    body = hoister.items(program.body) + hoister.items(gradient_program.reverse)
    parts = []
    for param, gradient in zip(gradient_program.wrt, gradient_program.gradients):
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


# ---- the callables ----
class Jacobian(Gradient):
    """``jacobian(f)``: the matrix of derivatives of every output of ``f``.

    >>> def f(x, y):
    ...     return (x * y, x + y ** 2)
    >>> jacobian(f)(2.0, 3.0)
    array([[3., 2.],
           [1., 6.]])
    """

    _builder = staticmethod(jacobian_build)
    _kind_name = "jacobian"
    _again_builder = staticmethod(lambda program, wrt: compile_vjp(program, wrt))

    def _make_entry(self, build, kinds, key, args=()):
        fn = build.grad_fn
        externals = build.program.externals
        guards = build.program.guards
        shape = build.output_shape
        count = math.prod(shape) if shape else 1
        single = len(self.wrt) == 1
        wrt = set(self._wrt_positions)
        from ..api import _as_float

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            args = [_as_float(a, k, i in wrt) for i, (a, k) in enumerate(zip(args, kinds))
                    if k != "concrete"]
            args += [e.read() for e in externals]
            rows = []
            for i in range(count):
                if shape:
                    seed = np.zeros(shape)
                    seed.flat[i] = 1.0
                else:
                    seed = 1.0
                result = fn(*args, seed)
                parts = (result,) if single else result
                rows.append(np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts]))
            return np.array(rows)

        return entry

    def _ieee(self, args):
        raise  # noqa: PLE0704 - re-raise the ZeroDivisionError being handled


class Hessian(Jacobian):
    """``hessian(f)``: the matrix of second derivatives of a scalar function.

    >>> def f(x, y):
    ...     return x ** 2 * y + y ** 3
    >>> hessian(f)(1.0, 2.0)
    array([[ 4.,  2.],
           [ 2., 12.]])
    """

    _builder = staticmethod(hessian_build)
    _kind_name = "hessian"

    @staticmethod
    @undistributed
    def _again_builder(program, wrt):
        """``hessian(grad(f))`` from ``grad(f)`` as a program (``f`` traced at the call): the
        vjp build of that program's own gradient, as ``hessian_build`` makes for a function."""
        if program.shapes.get(program.output, ()):
            raise ShapeError(
                "hessian(grad(f)) with array arguments: grad(f) returns an array, and a Hessian "
                "is of a function with one number out",
                filename=program.filename, lineno=program.firstlineno,
                hint="use symdiff.hessian(f) for the second derivatives, or jacobian(grad(f))",
            )
        params = {p.name: p for p in program.params}
        first = derive(program, [params[name] for name in wrt])
        return compile_vjp(gradient_as_program(first), wrt)


def jacobian(f=None, wrt=None):
    """The Jacobian of ``f`` (outputs: a number, a tuple/list of numbers or an array) as an array
    of shape (number of outputs, number of differentiated inputs)."""
    if f is None:
        return lambda g: Jacobian(g, wrt=wrt)
    return Jacobian(f, wrt=wrt)


def hessian(f=None, wrt=None):
    """The Hessian of a scalar ``f``: shape (n, n) for n differentiated inputs (arrays flattened)."""
    if f is None:
        return lambda g: Hessian(g, wrt=wrt)
    return Hessian(f, wrt=wrt)


__all__ = ["Adjoint", "Hessian", "Jacobian", "ShapeError", "hessian", "jacobian"]
