"""symdiff.primitives.nodes builds SymPy nodes without SymPy's constructors: each must give the very node
SymPy would (equal, same hash, same printed form, same assumptions), for every function class the
table can produce and for the stand-ins symdiff defines."""

import pytest
import sympy

from symdiff.primitives import nodes
from symdiff.primitives import registry
from symdiff.primitives import sympy_functions as primitives
from symdiff.ad.reverse import SharedTies, _PowerOfSymbols


def _function_classes():
    classes = set()
    for rule in registry.records():
        if rule.kind != "function" or not rule.callables or rule.library == "user":  # scalar.py's table
            continue
        build = rule.build
        if isinstance(build, type) and issubclass(build, sympy.Function):
            classes.add(build)
    classes |= {primitives.LogAddExp, primitives.RealCbrt, _PowerOfSymbols, SharedTies}
    return sorted(classes, key=lambda c: c.__name__)


CLASSES = _function_classes()


def _arity(cls):
    nargs = cls.nargs
    return min(nargs) if isinstance(nargs, sympy.FiniteSet) else 3


def _symbols(n, prefix):
    return sympy.symbols(f"{prefix}0:{n}", real=True)


def test_the_table_has_function_classes():
    names = {c.__name__ for c in CLASSES}
    assert {"sin", "exp", "log", "erf", "Floor", "LogAddExp"} <= names


def test_real_symbol_is_sympys_real_symbol():
    made, real = nodes.real_symbol("q_1"), sympy.Symbol("q_1", real=True)
    assert made == real and hash(made) == hash(real) and {made: 1}[real] == 1
    assert made.assumptions0 == real.assumptions0
    assert made.is_real and made.is_finite is real.is_finite and made.is_positive is None
    assert made != sympy.Symbol("q_1") and made != nodes.real_symbol("q_2")
    # assumptions queried on one symbol do not leak into another's answers
    assert (nodes.real_symbol("a") ** 2).is_nonnegative and nodes.real_symbol("b").is_nonnegative is None


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_apply_equals_sympys_unevaluated_node(cls):
    args = _symbols(_arity(cls), "x")
    made, sympys = nodes.apply(cls, *args), cls(*args, evaluate=False)
    assert type(made) is type(sympys) and made == sympys and hash(made) == hash(sympys)
    assert str(made) == str(sympys) and made.is_real == sympys.is_real
    assert getattr(made, "nargs", None) == getattr(sympys, "nargs", None)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_outer_derivative_equals_fdiff(cls):
    n = _arity(cls)
    for prefix in ("a", "z"):  # names sorting before and after the placeholder's
        args = _symbols(n, prefix)
        node = cls(*args)
        if not isinstance(node, cls):
            continue  # SymPy rewrites it (e.g. a function that is a power)
        for index in range(1, n + 1):
            try:
                expected = node.fdiff(index)
            except (sympy.ArgumentIndexError, NotImplementedError, TypeError):
                continue
            made = nodes.outer_derivative(node, index)
            assert made == expected and hash(made) == hash(expected), (cls, index)
            assert str(made) == str(expected)


def test_outer_derivative_keeps_assumptions_apart():
    x, p = sympy.Symbol("x", real=True), sympy.Symbol("p", positive=True)
    for symbol in (x, p, x, p):
        for cls in (sympy.sqrt(symbol).func, sympy.log, sympy.Abs, sympy.atan):
            node = cls(symbol) if cls is not sympy.Pow else sympy.sqrt(symbol)
            if isinstance(node, sympy.Function):
                assert nodes.outer_derivative(node, 1) == node.fdiff(1)


def test_rebuilt_equals_the_node_over_new_names():
    x, y, t = sympy.symbols("x y t", real=True)
    for expr, old, new in [
        (x * y, x, t), (2 * x + y, y, t), (sympy.sin(x), x, t), (x**3, x, t),
        (sympy.atan2(x, y), y, t), (x * y * sympy.exp(x), x, t),
    ]:
        args = [new if a == old else a for a in expr.args]
        assert nodes.rebuilt(expr, args) == expr.func(*args, evaluate=False)
