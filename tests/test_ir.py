"""The IR (symdiff.ir): one Visitor that dispatches per node class and refuses unknown nodes, a
Loop node that the reverse pass and the scheduler handle and every stage not supporting it yet
refuses with a located error, one Origin shared
by every statement type; and the one pipeline every derivative is built by."""

import math

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import SymdiffError, emit, grad, hessian, jacobian, value_and_grad
from symdiff import pipeline
from symdiff.ad.reverse import Adjoint, GradientProgram, derive
from symdiff.ad.vjp import gradient_as_program
from symdiff.api import build
from symdiff.backends.blocks import BlockPrinter
from symdiff.backends.c_code import _Writer
from symdiff.explain.chain_rule import explanation, formulas
from symdiff.frontend.interpreter import trace
from symdiff.frontend.parse import parse_function
from symdiff.ir import (Branch, Carry, Loop, Merge, Origin, Statement, Transformer,
                        UnsupportedNode, Visitor, definitions, walk)
from symdiff.lower.schedule import IfBlock, Line, schedule, walk_lines
from symdiff.pipeline import Spec

from .formula_values import evaluate

X, Y, Z = (sympy.Symbol(n, real=True) for n in "xyz")


def _stmt(target, expr, lineno=3):
    return Statement(target, expr, lineno, f"{target} = {expr}")


# ---- the visitor ----


class _Kinds(Visitor):
    def __init__(self):
        self.seen = []

    def visit_Statement(self, stmt, tag):
        self.seen.append(("statement", stmt.target, tag))

    def visit_Branch(self, branch, tag):
        self.seen.append(("branch", branch.lineno, tag))
        self.visit_block(branch.then, tag + 1)


def test_the_visitor_dispatches_on_the_node_class_and_passes_arguments():
    branch = Branch(X > 0, (_stmt(Y, X),), (), (), 4, "if x > 0:")
    kinds = _Kinds()
    kinds.visit_block([_stmt(Z, X + 1), branch], 0)
    assert kinds.seen == [("statement", Z, 0), ("branch", 4, 0), ("statement", Y, 1)]


def test_the_visitor_refuses_a_node_it_has_no_handler_for():
    with pytest.raises(UnsupportedNode) as info:
        _Kinds().visit(Merge(Z, X, Y), 0)
    assert isinstance(info.value, SymdiffError)
    assert "_Kinds does not handle a Merge node" in info.value.message


def test_handlers_are_looked_up_per_visitor_class():
    class Only(_Kinds):
        def visit_Merge(self, merge, tag):
            self.seen.append(("merge", merge.target, tag))

    only = Only()
    only.visit(Merge(Z, X, Y), 7)
    assert only.seen == [("merge", Z, 7)]
    with pytest.raises(UnsupportedNode):  # the base class has not learned Merge from its subclass
        _Kinds().visit(Merge(Z, X, Y), 0)


def test_a_transformer_rebuilds_blocks_and_may_expand_a_node_into_several():
    class Doubled(Transformer):
        def visit_Statement(self, stmt):
            return [stmt, Statement(stmt.target, 2 * stmt.expr, origin=stmt.origin)]

    branch = Branch(X > 0, (_stmt(Y, X),), (_stmt(Y, -X),), (Merge(Z, Y, Y),), 4, "if x > 0:")
    out = Doubled().visit_block([_stmt(Z, X + 1), branch])
    assert [s.expr for s in out[:2]] == [X + 1, 2 * X + 2]
    assert [s.expr for s in out[2].then] == [X, 2 * X] and out[2].merges == branch.merges
    assert out[2].origin is branch.origin


def test_walk_visits_branches_and_loops_explicitly():
    loop, _ = _loop()
    branch = Branch(X > 0, (_stmt(Y, X),), (), (Merge(Z, Y, X),), 4, "if x > 0:")
    items = walk([branch, loop])
    assert [type(i).__name__ for i in items] == ["Branch", "Statement", "Merge", "Loop", "Carry",
                                                 "Statement"]


# ---- the Loop node: refused clearly where it is not supported yet ----


def _loop(lineno=5):
    """``for i in range(3): s = s * x`` as a Loop, carrying s (x before the loop)."""
    counter = sympy.Symbol("i", integer=True)
    inside, update, after = (sympy.Symbol(n, real=True) for n in ("s_in", "s_next", "s_out"))
    body = (Statement(update, inside * X, lineno + 1, "    s = s * x"),)
    loop = Loop(counter, sympy.Integer(3), (Carry(inside, X, update, after),), body,
                Origin(None, lineno, "for i in range(3):"))
    return loop, after


def f_of_x(x):
    return x * 2.0


def _program_with_a_loop():
    program = trace(parse_function(f_of_x))
    loop, after = _loop(program.firstlineno + 1)
    program.body = [loop, *program.body]
    return program, loop


def _refused(call, loop):
    with pytest.raises(UnsupportedNode) as info:
        call()
    assert "a loop kept as a loop" in info.value.message
    assert info.value.lineno == loop.lineno
    assert info.value.hint
    return info.value.message


def _program_returning_the_loop():
    """``s = x; for i in range(3): s = s * x; return s``: x**4."""
    program = trace(parse_function(f_of_x))
    loop, after = _loop(program.firstlineno + 1)
    program.body = [loop]
    program.output = after
    return program, loop


def test_the_reverse_pass_derives_a_loop_once():
    # (was: refused; the loops issue's first slice derives it: an AdjointLoop of the body)
    from symdiff.ad.reverse import AdjointLoop

    program, loop = _program_returning_the_loop()
    gradient_program = derive(program, program.params)
    (reverse,) = gradient_program.reverse
    assert isinstance(reverse, AdjointLoop) and reverse.forward is loop
    assert reverse.origin == loop.origin


def test_the_scheduler_lowers_a_loop_to_a_forward_and_a_reverse_loop():
    # (was: refused) the gradient of x**4 from the loop, against SymPy's derivative
    program, loop = _program_returning_the_loop()
    built = pipeline.build(Spec(program, ("x",)))
    assert "for i in range(2, -1, -1):" in built.code.grad_source
    for x in (1.5, -0.7):
        assert math.isclose(built.grad_fn(x), float(sympy.diff(X ** 4, X).subs(X, x)),
                            rel_tol=1e-14)


def test_the_gradient_as_a_program_refuses_a_loop():
    program, loop = _program_with_a_loop()
    gradient_program = GradientProgram(program=program, wrt=list(program.params),
                                       gradients=[sympy.Integer(2)])
    assert _refused(lambda: gradient_as_program(gradient_program), loop).startswith("ad.vjp")


def test_formulas_of_a_loop_are_its_recurrence():
    # (was: refused) s_in[k + 1] = s_in[k]*x from s_in[0] = x (this hand-made loop names its
    # carried value s_in), and s_inbar back from s_inbar[3] = 1: the
    # formula run by those recurrences is d(x**4)/dx, SymPy's derivative
    program, loop = _program_returning_the_loop()
    shown = formulas(derive(program, list(program.params)))
    assert [str(eq) for pair in shown.recurrences[0].forward for eq in pair] == [
        "Eq(s_in[0], x)", "Eq(s_in[k + 1], x*s_in[k])"]
    for x in (1.5, -0.7):
        assert math.isclose(evaluate(shown, {"x": x})["x"], float(sympy.diff(X ** 4, X).subs(X, x)),
                            rel_tol=1e-14)


def test_definitions_of_a_loop_are_the_values_it_leaves():
    # (a while loop on data may sit in an arm of a Branch, whose reverse asks what the arm
    # defines: the loop defines its carries' values after it; its body's names are its own)
    loop, after = _loop()
    assert definitions([loop]) == {after: loop}


def test_the_backends_block_walker_refuses_what_is_not_a_line():
    built = build(parse_function(f_of_x), ["x"])
    writer = _Writer(built.schedule, built.gradient_program, {})
    assert isinstance(writer, BlockPrinter)
    loop, _ = _loop()
    _refused(lambda: writer.block([loop], "    "), loop)


# ---- one Origin, shared by every statement type ----


def g_branch(x):
    y = math.sin(x)
    z = y * x + y * y  # y's adjoint: a sum, an Adjoint line of its own
    if x > 0:
        z = z * x
    return z


def test_every_statement_type_carries_one_origin():
    program = trace(parse_function(g_branch))
    gradient_program = derive(program, program.params)
    lowered = schedule(gradient_program)
    nodes = [*walk(program.body), *walk(gradient_program.reverse), *lowered.lines,
             *walk_lines(lowered.lines)]
    kinds = {type(n) for n in nodes if hasattr(n, "origin")}
    assert {Statement, Branch, Adjoint, Line, IfBlock} <= kinds
    for node in nodes:
        if hasattr(node, "origin"):
            assert isinstance(node.origin, Origin)
            assert (node.lineno, node.source, node.filename) == (
                node.origin.lineno, node.origin.source, node.origin.filename)
    # a lowered line shares the very Origin of the statement it comes from
    by_line = {s.lineno: s.origin for s in program.statements}
    assert any(line.origin is by_line.get(line.lineno) for line in walk_lines(lowered.lines))


def test_a_statement_made_from_fields_equals_one_made_from_an_origin():
    a = Statement(Y, X + 1, 3, "y = x + 1")
    b = Statement(Y, X + 1, origin=Origin(None, 3, "y = x + 1"))
    assert a == b and hash(a) == hash(b) and a.origin == b.origin
    assert Branch(X > 0, (), (), (), lineno=4, source="if x:", filename="h.py").origin == \
        Origin("h.py", 4, "if x:")


# ---- one pipeline ----


def h(x, y):
    return x * y + math.sin(x)


def hv(x, y):
    return (x * y, x + y)


def test_grad_jacobian_hessian_and_emit_all_build_through_the_pipeline(monkeypatch):
    modes = []
    real = pipeline.build

    def spying(spec):
        modes.append(spec.mode)
        return real(spec)

    monkeypatch.setattr(pipeline, "build", spying)
    assert math.isclose(grad(h, wrt="y")(2.0, 3.0), 2.0)
    assert value_and_grad(h, wrt="y")(2.0, 3.0)[1] == 2.0
    assert np.allclose(jacobian(hv)(2.0, 3.0), [[3.0, 2.0], [1.0, 1.0]])
    assert np.allclose(hessian(h)(2.0, 3.0), [[-math.sin(2.0), 1.0], [1.0, 0.0]])
    assert "def h_grad" in emit(h)
    # (a Hessian builds the gradient of f first, through the pipeline too)
    assert modes == ["grad", "grad", "vjp", "hessian", "grad", "grad"]


def test_a_spec_names_a_known_mode():
    with pytest.raises(ValueError, match="mode"):
        Spec(parse_function(h), ("x",), mode="forward")


def test_the_pipeline_builds_a_traced_program_as_well():
    program = trace(parse_function(h))
    built = pipeline.build(Spec(program, ("x",)))
    assert math.isclose(built.grad_fn(2.0, 3.0), 3.0 + math.cos(2.0))
    assert built.output_shape == ()
    seeded = pipeline.build(Spec(trace(parse_function(h)), ("x", "y"), mode="vjp"))
    assert seeded.grad_fn(2.0, 3.0, 2.0) == pytest.approx((2 * (3.0 + math.cos(2.0)), 4.0))
    assert symdiff.Jacobian is symdiff.api.Jacobian
