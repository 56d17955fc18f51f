"""The package's layout: public names across package boundaries, no module named like the stdlib.

A boundary is a subpackage (``frontend``, ``primitives``, ``ad``, ``lower``, ``backends``,
``runtime``, ``explain``) or a top-level module (``api``, ``export``, ``ir``, ...): a module may
use the private names (``_x``) of its own subpackage's modules, never those of another one.
"""

import ast
import pathlib
import sys

import numpy as np
import pytest

import symdiff
from symdiff.runtime import dispatch

ROOT = pathlib.Path(symdiff.__file__).parent


def _modules():
    """``{dotted module name: path}`` for every module of the package."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def boundary(module):
    """The unit a module belongs to: its subpackage (``symdiff.frontend``), or the top-level
    module itself (``symdiff.api``; the package's ``__init__`` is ``symdiff``)."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _package_of(module):
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _source_module(node, module):
    """The absolute module an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module
    base = _package_of(module).split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def private_crossings(module, tree):
    """``(line, text)`` of every private name ``module`` takes from another boundary's module:
    ``from X import _name`` and ``X._name`` where ``X`` names a module of the package."""
    crossings = []
    aliases = {}  # local name -> the package module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source_module(node, module)
            if not source or source.split(".")[0] != "symdiff":
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if full in MODULES:
                    aliases[alias.asname or alias.name] = full
                    if _private(alias.name) and boundary(full) != boundary(module):
                        crossings.append((node.lineno, f"from {source} import {alias.name}"))
                elif _private(alias.name) and boundary(source) != boundary(module):
                    crossings.append((node.lineno, f"from {source} import {alias.name}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "symdiff" and alias.asname:
                    aliases[alias.asname] = alias.name
                    if any(map(_private, alias.name.split("."))) and \
                            boundary(alias.name) != boundary(module):
                        crossings.append((node.lineno, f"import {alias.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in aliases and _private(node.attr) \
                and boundary(aliases[node.value.id]) != boundary(module):
            crossings.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return crossings


def test_the_walk_sees_every_subpackage():
    units = {boundary(m) for m in MODULES}
    for sub in ("frontend", "primitives", "ad", "lower", "backends", "runtime", "explain"):
        assert f"symdiff.{sub}" in units
    assert {"symdiff.api", "symdiff.export", "symdiff.ir"} <= units


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_package_boundary(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    crossings = private_crossings(module, tree)
    assert not crossings, f"{module} uses private names of other packages: " + "; ".join(
        f"line {line}: {text}" for line, text in crossings)


@pytest.mark.parametrize("source, expected", [
    ("from ..api import _as_float", ["from symdiff.api import _as_float"]),
    ("from ..primitives import numpy_calls\nnumpy_calls._array(1)", ["numpy_calls._array"]),
    ("from ..frontend.signals import _Return", ["from symdiff.frontend.signals import _Return"]),
    ("from .dispatch import _private_helper", []),  # the module's own subpackage
    ("from ..api import resolve_wrt", []),
    ("from ..primitives import numpy_calls\nnumpy_calls.handler_for(1)", []),
    ("from ..api import __doc__", []),
])
def test_the_check_finds_what_it_should(source, expected):
    found = [text for _, text in private_crossings("symdiff.runtime.compiled", ast.parse(source))]
    assert found == expected


def test_the_check_finds_absolute_imports_of_private_names():
    """``from symdiff.x import _name`` (absolute) is found as the relative form is."""
    source = ("from symdiff.backends.c_code import _Writer\n"
              "from symdiff.runtime.dispatch import _fine\n"
              "import symdiff.api as api\napi._resolve_wrt\n")
    found = [text for _, text in private_crossings("symdiff.export", ast.parse(source))]
    assert found == ["from symdiff.backends.c_code import _Writer",
                     "from symdiff.runtime.dispatch import _fine", "api._resolve_wrt"]
    inside = [text for _, text in private_crossings("symdiff.backends.c_arrays", ast.parse(source))]
    assert inside == ["from symdiff.runtime.dispatch import _fine", "api._resolve_wrt"]


def test_a_top_level_module_is_a_boundary_of_its_own():
    found = private_crossings("symdiff.export", ast.parse("from .api import _resolve_wrt"))
    assert [text for _, text in found] == ["from symdiff.api import _resolve_wrt"]


def test_no_module_is_named_like_a_stdlib_module():
    clashes = sorted(m for m in MODULES if m.rsplit(".", 1)[-1] in sys.stdlib_module_names)
    assert not clashes


def test_every_module_says_what_it_takes_and_returns():
    missing = [m for m, path in MODULES.items()
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not missing


# ---- runtime.dispatch: argument kinds ----
@pytest.mark.parametrize("value, differentiated, kind", [
    (2.0, True, dispatch.Number()),
    (np.float32(2.0), True, dispatch.Number()),
    (np.int64(3), False, dispatch.Int(3)),
    (3, True, dispatch.Number(int_given=True)),
    (3, False, dispatch.Int(3)),
    (True, False, dispatch.Int(True)),
    ([1.0, 2], True, dispatch.Sequence(2)),
    ((1.0,), False, dispatch.Sequence(1)),
])
def test_kinds_of_numbers_and_sequences(value, differentiated, kind):
    found = dispatch.kind_of(value, differentiated)
    assert found == kind and hash(found) == hash(kind)
    assert found.matches(value)


def test_kinds_of_arrays():
    x = np.zeros((2, 3))
    kind = dispatch.kind_of(x, True)
    assert kind == dispatch.Array((2, 3), np.dtype(np.float64))
    assert kind.traced == ("array", (2, 3)) and kind.passed and kind.fast
    assert kind.matches(np.ones((2, 3))) and not kind.matches(np.ones((3, 2)))
    assert not kind.matches(np.ones((2, 3), dtype=np.float32))
    assert kind.describe() == "an array of shape (2, 3) and dtype float64"
    ints = dispatch.kind_of(np.arange(3), True)
    assert not ints.fast and ints.convert(np.arange(3), True).dtype == np.float64
    assert ints.convert(np.arange(3), False).dtype.kind == "i"
    assert dispatch.kind_of(np.array(2.0), True) == dispatch.Number()  # 0-d: a number
    assert dispatch.kind_of(np.zeros(2, dtype=complex), True) is None


def test_kinds_say_what_the_trace_and_the_call_need():
    number, given, count, seq = (dispatch.Number(), dispatch.Number(int_given=True),
                                 dispatch.Int(4), dispatch.Sequence(3))
    assert [k.passed for k in (number, given, count, seq)] == [True, True, False, True]
    assert [k.fast for k in (number, given, count, seq)] == [True, False, False, False]
    assert [k.traced for k in (number, given, count, seq)] == [None, None, None, ("sequence", 3)]
    assert type(given.convert(3, True)) is float
    assert seq.convert([1, 2.0, 3], True) == [1.0, 2.0, 3.0]
    assert type(seq.convert([1, 2.0], True)[0]) is float
    assert type(seq.convert((1, 2.0), False)[0]) is int
    assert count.describe() == "the int 4" and not count.matches(5) and count.matches(4)
    assert dispatch.kind_of(None, True) is None and dispatch.kind_of("x", True) is None
    assert dispatch.kind_of([1.0, "a"], True) is None


def test_the_build_key_of_a_call():
    kinds = [dispatch.Number(), dispatch.Int(3), dispatch.Sequence(2)]
    concrete, shaped = dispatch.specialisation(["x", "n", "p"], (1.0, 3, [1.0, 2.0]), kinds)
    assert concrete == (("n", 3),)
    assert shaped == (("p", ("sequence", 2)),)
    assert dispatch.converted((1.0, 3, [1, 2]), kinds, {2}) == [1.0, [1.0, 2.0]]


def test_a_gradient_builds_for_given_arguments_and_binds_them():
    def f(x, n=2):
        return np.sum(x ** n)

    g = symdiff.grad(f, wrt="x")
    x = np.ones(3)
    bound = g.bind(x)
    assert len(bound) == 2 and bound[0] is x and bound[1] == 2
    assert g.bind(x=x, n=3)[1] == 3
    built = g.build_for(np.ones(3))
    assert built.program.shapes and g.build_for(np.zeros(3)) is built
    assert g.build_for(np.ones(3), 3) is not built
    assert np.allclose(g(np.ones(3) * 2.0), 4.0)
