"""The frontend's parts are collaborators with explicit state (issue 12, the frontend part).

The tracer (``frontend.interpreter.Tracer``: statements and expressions) makes ``scope.Scope``
(names), ``array_values.ArrayValues`` (arrays and lists), ``control.ControlFlow`` (if/for/while,
joins) and ``calls.Calls`` (library calls, helpers inlined) and hands them to each other. Read from
the source: no class uses an attribute of itself it does not define, and each collaborator is used
only through attributes the other one defines. Run: a trace leaves no branch half built, and the
primitives' handlers find on the tracer everything they call.
"""

import ast
import math
import pathlib

import pytest

import symdiff
from symdiff.frontend import array_values, calls, control, interpreter, scope
from symdiff.frontend.parse import parse_function
from symdiff.ir import Branch

FRONTEND = pathlib.Path(interpreter.__file__).parent
PRIMITIVES = FRONTEND.parent / "primitives"
COLLABORATORS = {"tracer": "Tracer", "arrays": "ArrayValues", "control": "ControlFlow",
                 "scope": "Scope", "calls": "Calls"}


def _classes():
    """class name -> (its file, the attributes it defines: methods, class and instance attributes)."""
    found = {}
    for path in sorted(FRONTEND.glob("*.py")):
        for cls in ast.walk(ast.parse(path.read_text())):
            if not isinstance(cls, ast.ClassDef):
                continue
            defined = {b.name for b in cls.body if isinstance(b, ast.FunctionDef)}
            for item in cls.body:
                if isinstance(item, ast.Assign):
                    defined |= {t.id for t in item.targets if isinstance(t, ast.Name)}
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    defined.add(item.target.id)
            for node in ast.walk(cls):
                targets = node.elts if isinstance(node, ast.Tuple) else [node]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.ctx, ast.Store) \
                            and isinstance(target.value, ast.Name) and target.value.id == "self":
                        defined.add(target.attr)
            found[cls.name] = (path, cls, defined)
    return found


CLASSES = _classes()


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_no_class_uses_attributes_it_does_not_define(name):
    path, cls, defined = CLASSES[name]
    used = {node.attr: node.lineno for node in ast.walk(cls)
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name) and node.value.id == "self"}
    missing = {attr: line for attr, line in used.items() if attr not in defined}
    assert not missing, f"{path.name}:{name} uses attributes it never defines: {missing}"


def test_collaborators_are_used_through_what_they_define():
    wrong = []
    for path in sorted(FRONTEND.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and isinstance(node.value.value, ast.Name) and node.value.value.id == "self" \
                    and node.value.attr in COLLABORATORS:
                if node.attr not in CLASSES[COLLABORATORS[node.value.attr]][2]:
                    wrong.append(f"{path.name}:{node.lineno}: self.{node.value.attr}.{node.attr}")
    assert not wrong


def test_the_tracer_is_no_mixin():
    for name in ("Tracer", "ControlFlow", "ArrayValues", "Calls", "Scope"):
        assert not CLASSES[name][1].bases, name


def test_what_the_primitives_call_on_the_tracer_is_the_tracers():
    tracer = _tracer(lambda x: x)
    used = set()
    for path in PRIMITIVES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == "tracer":
                used.add(node.attr)
    assert used and not [attr for attr in used if not hasattr(tracer, attr)]
    # the values' interface is the array collaborator's own methods (no wrapper in between)
    assert tracer.shape == tracer.arrays.shape and tracer.shapes is tracer.arrays.shapes


def _tracer(fun, **kw):
    return interpreter.Tracer(parse_function(fun), **kw)


def branchy(x, y):
    if x > y:
        z = x * y
    else:
        z = x + y
    for _ in range(2):
        z = math.sin(z)
    return z


def test_a_trace_leaves_each_collaborator_in_its_starting_state():
    tracer = _tracer(branchy)
    program = tracer.run()
    assert [type(s) for s in program.body].count(Branch) == 1
    branch = next(s for s in program.body if isinstance(s, Branch))
    assert len(branch.merges) == 1 and branch.merges[0].target.name.startswith("z")
    assert tracer.control.pending is None and tracer.control.path == frozenset()
    assert tracer.control.open_forks == tracer.control.deferrable_forks == 0
    assert tracer.arrays.arm is None and tracer.calls.inlining == [branchy]
    assert tracer.frame.fun is branchy
    text = repr(tracer)
    for part in ("Tracer('branchy'", "Scope(", "ArrayValues(", "ControlFlow(", "Calls("):
        assert part in text


def test_a_pending_branch_has_named_fields():
    pending = control.PendingBranch("test", "stmt", ["a"], ["b"])
    assert (pending.test, pending.stmt, pending.then, pending.orelse, pending.merges) == (
        "test", "stmt", ["a"], ["b"], [])


def test_the_collaborators_share_one_shape_table():
    tracer = _tracer(branchy)
    assert tracer.scope.shapes is tracer.arrays.shapes
    assert tracer.control.arrays is tracer.arrays and tracer.calls.control is tracer.control
    assert tracer.calls.scope is tracer.scope
    assert isinstance(tracer.scope, scope.Scope) and isinstance(tracer.arrays, array_values.ArrayValues)
    assert isinstance(tracer.calls, calls.Calls)


def test_names_and_exceptions_keep_their_old_homes():
    # the public names other stages import from the interpreter
    assert issubclass(interpreter.ConditionOnUndifferentiated, interpreter.NeedsConcrete)
    assert interpreter.trace and interpreter.Tracer


def helper(a, b=2.0):
    return a * b


def test_helpers_and_closures_still_inline_through_calls():
    def f(x):
        g = lambda t, k=3.0: t ** k  # noqa: E731
        return helper(x) + g(x)

    assert symdiff.grad(f)(2.0) == pytest.approx(2.0 + 3 * 2.0 ** 2)
    tracer = _tracer(f)
    tracer.run()
    assert helper in tracer.calls.parsed_helpers
    assert any(key[1] == "__code__" for key in tracer.scope.guards if isinstance(key[1], str))


def test_a_lambda_on_a_line_that_opens_a_compound_statement():
    """``try: print(grad(lambda z: z * z)(3.0))``: the line alone does not parse, and trimming it
    only left a name (``tr``): each lambda is parsed from its own start instead."""
    import symdiff

    results = []
    try: results.append(symdiff.grad(lambda z: z * z)(3.0))  # noqa: E701
    finally:
        pass
    if True: results.append(symdiff.grad(lambda a, b: a * b + 1.0)(2.0, 3.0))  # noqa: E701
    for _ in range(1): results.append(symdiff.grad(lambda w: w ** 3)(2.0))  # noqa: E701
    assert results == [6.0, (3.0, 2.0), 12.0]
