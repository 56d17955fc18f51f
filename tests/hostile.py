"""Hostile functions and arguments for tests/test_reliability.py, each with the error it must give."""

import asyncio
import functools
import importlib.util
import math
from dataclasses import dataclass

import numpy as np

from symdiff import (
    ArgumentError,
    NoSourceError,
    ShapeError,
    SymdiffError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
    grad,
)

SCALE = 2.0
COUNT = 0


def load(tmp_path, name, source):
    """A module written to ``tmp_path`` and imported (symdiff needs real source files)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def nest(x, n):
    if n == 0:
        return x
    return math.sin(nest(x, n - 1))


def deep_nest(x):
    return nest(x, 1000)


def sqrt_if_positive(x):
    if x > 0:
        return math.sqrt(x)
    return 0.0


def uses_globals(x):
    return SCALE * math.sin(x)


def colliding_names(x, x_bar):
    _t0 = x * x_bar
    math_ = math.sin(_t0)
    np_ = math_ * x
    grad_ = np_ + _t0
    y_bar = grad_ * 2
    return y_bar + x_bar


def two_params(x, y):
    return x * y


# ---- the hostile ones ----
def with_try(x):
    try:
        return x * 2
    except ValueError:
        return x


def with_with(x):
    with open(__file__):
        return x


def with_global(x):
    global COUNT
    return x


def with_class(x):
    class Box:
        pass

    return x


def with_del(x):
    y = x * 2
    del y
    return x


def with_import(x):
    import os

    return x + len(os.sep)


def generator(x):
    yield x


async def coroutine(x):
    await asyncio.sleep(0)
    return x


def while_on_data(x):  # (a while on data without 'else' is kept as a loop)
    while x > 1.0:
        if x < 1.5:
            return x
        x = x / 2
    else:
        x = x + 1.0
    return x


def range_of_data(x):  # (a break inside is kept: tests/test_for_exits.py; not the counter after it)
    total = 0.0
    for k in range(int(x)):
        total += k * x
    return total + k


def recursion_on_data(x):
    if x < 0.1:
        return x
    return recursion_on_data(x / 2) * 2


def break_or_continue_on_data(x):
    for k in range(5):
        if x > 2.0:
            continue
        else:
            break
    return x


def one_branch_only(x):
    if x > 0:
        y = x * 2
    return y


def list_changed_in_a_branch(x):
    acc = [x]
    if x > 1:
        acc.append(x * 2)
    return sum(acc)


def unknown_call(x):
    return math.remainder(x, 2.0)


def calls_print(x):
    print(x)
    return x


def attribute_store(x):
    x.value = 1
    return x


def returns_tuple(x):
    return x, x


def returns_string(x):
    return "x"


def returns_none(x):
    x = x * 2


def complex_literal(x):
    return x * 2j


def string_math(x):
    return x + "1"


def calls_method(x):
    return x.conjugate()


def varargs(*xs):
    return xs[0]


def array_if(x):
    if x > 0:
        return np.sum(x)
    return 0.0


def mismatched_shapes(x, y):
    return np.sum(x + y)


def changes_its_argument(x):
    x[0] = 0.0
    return np.sum(x)


def changes_an_alias(x):
    y = x.copy()
    view = y[1:]
    y[1] = 2.0 * x[0]
    return np.sum(view)


def masked_max(x):
    return np.max(x[x > 0])


class Model:
    def loss(self, x):
        return x * x


_exec_namespace = {}
exec("def from_exec(x):\n    return x * x\n", _exec_namespace)


@dataclass
class Case:
    name: str
    run: object
    error: object
    words: str
    located: bool = True


def _grad(f, *args, **kwargs):
    def run():
        g = grad(f, **kwargs)
        return g(*args) if args else g

    return run


CASES = [
    Case("try", _grad(with_try), UnsupportedSyntaxError, "'try' statement"),
    Case("with", _grad(with_with), UnsupportedSyntaxError, "'with' statement"),
    Case("global", _grad(with_global), UnsupportedSyntaxError, "'global' statement"),
    Case("class", _grad(with_class), UnsupportedSyntaxError, "class definition"),
    Case("del", _grad(with_del), UnsupportedSyntaxError, "'del' statement"),
    Case("import", _grad(with_import), UnsupportedSyntaxError, "import statement"),
    Case("generator", _grad(generator), UnsupportedSyntaxError, "generator function"),
    Case("async", _grad(coroutine), UnsupportedSyntaxError, "async function"),
    Case("while on data", _grad(while_on_data), UnsupportedSyntaxError,
         "'while' loop whose condition depends on a differentiated value: its 'else' block"),
    Case("range of data", _grad(range_of_data, 2.5), SymdiffError,
         "range() over a differentiated value (an int of it): the counter 'k' is read after the loop"),
    Case("recursion on data", _grad(recursion_on_data, 3.0), SymdiffError, "recursion"),
    Case("break or continue on data", _grad(break_or_continue_on_data), UnsupportedSyntaxError,
         "'break' and 'continue'"),
    Case("one branch only", _grad(one_branch_only), SymdiffError, "assigned in only one branch"),
    Case("list changed in a branch", _grad(list_changed_in_a_branch), UnsupportedSyntaxError,
         "changing a list inside an 'if'"),
    Case("unknown call", _grad(unknown_call), UnknownFunctionError, "math.remainder"),
    Case("print", _grad(calls_print), UnsupportedSyntaxError, "expression statement"),
    Case("attribute store", _grad(attribute_store), UnsupportedSyntaxError, "x.value"),
    Case("returns tuple", _grad(returns_tuple), ShapeError, "jacobian"),
    Case("returns string", _grad(returns_string), ShapeError, "not a number"),
    Case("returns None", _grad(returns_none), SymdiffError, "without 'return'"),
    Case("complex literal", _grad(complex_literal), UnsupportedSyntaxError, "complex"),
    Case("string arithmetic", _grad(string_math), SymdiffError, "the string '1'"),
    Case("method on number", _grad(calls_method, 1.0), UnsupportedSyntaxError, ".conjugate"),
    Case("varargs", _grad(varargs), UnsupportedSyntaxError, "'*xs'"),
    Case("if on array", _grad(array_if, np.ones(3)), ShapeError, "truth value"),
    Case("mismatched shapes", _grad(mismatched_shapes, np.ones(3), np.ones(4)), ShapeError,
         "(3,) and (4,)"),
    Case("array argument changed in place", _grad(changes_its_argument, np.ones(3)),
         UnsupportedSyntaxError, "changes an argument (x)"),
    Case("array changed under a view", _grad(changes_an_alias, np.ones(3)), UnsupportedSyntaxError,
         "view holds the same array"),
    Case("max of a masked array", _grad(masked_max, np.ones(3)), UnsupportedSyntaxError,
         "number of True entries"),
    # (a builtin or ufunc symdiff knows, grad(math.sin) or grad(np.exp), is differentiated:
    # tests/test_nested_grad.py::test_grad_of_a_known_primitive)
    Case("unknown builtin", _grad(math.remainder), NoSourceError, "not a Python function", located=False),
    Case("unknown numpy ufunc", _grad(np.nextafter), NoSourceError, "not a Python function", located=False),
    Case("exec-defined", _grad(_exec_namespace["from_exec"]), NoSourceError, "cannot read the source",
         located=False),
    # (a bound method of a Python class is differentiated: tests/test_methods.py)
    Case("builtin bound method", _grad((2.0).__mul__), TypeError, "not a Python function", located=False),
    Case("partial", _grad(functools.partial(two_params, 1.0)), TypeError, "functools.partial",
         located=False),
    Case("not callable", _grad(42), TypeError, "needs a function", located=False),
    Case("string argument", _grad(two_params, "a", 1.0), ArgumentError, "the string 'a'"),
    Case("None argument", _grad(two_params, None, 1.0), ArgumentError, "None"),
    Case("complex argument", _grad(two_params, 1j, 1.0), ArgumentError, "complex"),
    Case("dict argument", _grad(two_params, {"k": "v"}, 1.0), ArgumentError, "dict"),
    Case("too few arguments", _grad(two_params, 1.0), TypeError, "missing", located=False),
    Case("too many arguments", _grad(two_params, 1.0, 2.0, 3.0), TypeError, "two_params() takes",
         located=False),
    Case("bad wrt", _grad(two_params, wrt="z"), ValueError, "names no parameter", located=False),
    Case("bad wrt type", _grad(two_params, wrt=2.5), TypeError, "wrt must be", located=False),
]
