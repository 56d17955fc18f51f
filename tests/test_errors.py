"""Every error: the right class, the file and absolute line, the source line with a caret, a hint."""

import math

import numpy as np
import pytest

import symdiff
from symdiff import (
    ArgumentError,
    NoSourceError,
    ShapeError,
    SymdiffError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
    WrtError,
    grad,
)

from .markers import marker_line

HERE = __file__


def line_of(marker):
    """The absolute line number of the line in this file that ends with ``# <marker>``."""
    return marker_line(HERE, marker)


def helper(x):
    return x * 2


COUNTER = 0


def uses_try(x):
    try:  # TRY
        y = x * 2
    except ValueError:
        y = x
    return y


def uses_with(x):
    with open(__file__):  # WITH
        y = x
    return y


def uses_global(x):
    global COUNTER  # GLOBAL
    return x


def is_generator(x):
    yield x * 2  # YIELD


def defines_class(x):
    class Box:  # CLASS
        pass

    return x


def assigns_attribute(x):
    x.value = 3  # ATTRIBUTE
    return x


def while_on_data(x):
    while x > 1:  # WHILE
        x = x / 2
    return x


def calls_unknown(x):
    return math.remainder(x, 2.0) + 1  # UNKNOWN


def calls_print(x):
    print(x)  # PRINT
    return x


def returns_tuple(x):
    return x, 2 * x  # TUPLE


def returns_none(x):
    y = x * 2  # NONE
    y = y + 1


def uses_undefined(x):
    return x * not_defined_anywhere  # UNDEFINED


def calls_with_keyword(x):
    return math.log(x, base=2)  # KEYWORD


def imports_inside(x):
    import os  # IMPORT

    return x


def uses_string(x):
    return x * "a"  # STRING


def uses_dict(x):  # (a dict display is read: tests/test_has_aux.py; a comprehension is not)
    return {k: x for k in ("a",)}["a"]  # DICT


SYNTAX_CASES = [
    (uses_try, "TRY", UnsupportedSyntaxError, "'try' statement"),
    (uses_with, "WITH", UnsupportedSyntaxError, "'with' statement"),
    (uses_global, "GLOBAL", UnsupportedSyntaxError, "'global' statement"),
    (defines_class, "CLASS", UnsupportedSyntaxError, "class definition"),
    (assigns_attribute, "ATTRIBUTE", UnsupportedSyntaxError, "assignment to x.value"),
    (while_on_data, "WHILE", UnsupportedSyntaxError, "'while' loop"),
    (calls_unknown, "UNKNOWN", UnknownFunctionError, "call to math.remainder, a function symdiff does not know"),
    (calls_print, "PRINT", UnsupportedSyntaxError, "expression statement"),
    (returns_tuple, "TUPLE", ShapeError, "returns a tuple of 2 values"),
    (returns_none, None, SymdiffError, "reaches its end without 'return'"),
    (uses_undefined, "UNDEFINED", SymdiffError, "name 'not_defined_anywhere' is not defined"),
    (calls_with_keyword, "KEYWORD", UnsupportedSyntaxError, "keyword arguments in the call to math.log"),
    (imports_inside, "IMPORT", UnsupportedSyntaxError, "import statement"),
    (uses_string, "STRING", SymdiffError, "expected a number here, got the string 'a'"),
    (uses_dict, "DICT", UnsupportedSyntaxError, "a dict comprehension is not supported"),
]


@pytest.mark.parametrize("f, marker, cls, message", SYNTAX_CASES, ids=[c[0].__name__ for c in SYNTAX_CASES])
def test_located_error(f, marker, cls, message):
    with pytest.raises(cls) as info:
        grad(f)
    err = info.value
    assert isinstance(err, SymdiffError)
    assert message in str(err)
    assert err.filename == HERE
    expected_line = line_of(marker) if marker else f.__code__.co_firstlineno
    assert err.lineno == expected_line
    text = str(err)
    assert f"{HERE}:{expected_line}" in text
    assert err.source_line is not None and err.source_line.strip() in text
    if err.col_offset is not None:
        caret_line = text.splitlines()[2]
        assert caret_line.strip() == "^"
        assert caret_line.index("^") - 4 == err.col_offset
    assert err.hint, "every located error says what to do instead"


def test_caret_points_at_the_construct():
    with pytest.raises(UnknownFunctionError) as info:
        grad(calls_unknown)
    err = info.value
    source_line = err.source_line
    assert source_line[err.col_offset:].startswith("math.remainder(x, 2.0)")


def test_generator_function():
    with pytest.raises(UnsupportedSyntaxError, match="generator function"):
        grad(is_generator)


def test_async_function():
    async def coro(x):
        return x

    with pytest.raises(UnsupportedSyntaxError, match="async function"):
        grad(coro)


def test_no_source_builtin():
    # (math.sin and np.sin are known: grad(math.sin) is their derivative, tests/test_nested_grad.py)
    with pytest.raises(NoSourceError, match="not a Python function"):
        grad(math.remainder)
    with pytest.raises(NoSourceError):
        grad(np.frexp)


def test_no_source_exec_defined():
    namespace = {}
    exec("def f(x):\n    return x * x\n", namespace)
    with pytest.raises(NoSourceError, match="cannot read the source") as info:
        grad(namespace["f"])
    assert "exec()" in info.value.hint


def test_wrt_naming_no_parameter():
    def f(x, y):
        return x * y

    with pytest.raises(WrtError, match=r"wrt='z' names no parameter of .*\('x', 'y'\)"):
        grad(f, wrt="z")
    with pytest.raises(WrtError, match="out of range"):
        grad(f, wrt=5)
    with pytest.raises(ValueError):
        grad(f, wrt=("x", "x"))
    with pytest.raises(TypeError):
        grad(f, wrt=1.5)


def test_non_numeric_arguments():
    def f(x):
        return x * 2

    g = grad(f)
    for bad, words in [("a", "the string 'a'"), (None, "None"), (1 + 2j, "complex"),
                       ({"a": "b"}, "dict"), (np.array(["a"]), "dtype"), ([1.0, "b"], "list")]:
        with pytest.raises(ArgumentError, match="argument 'x' of .*f") as info:
            g(bad)
        assert words in str(info.value)
        assert isinstance(info.value, TypeError)
    # a dict of numbers is a container argument (tests/test_containers.py): used as a number,
    # the located error is at the arithmetic, as Python's TypeError would be
    with pytest.raises(SymdiffError, match="expected a number here, got a dict") as info:
        g({"a": 1.0})
    assert info.value.lineno == f.__code__.co_firstlineno + 1


def test_math_function_called_with_array():
    def f(x):
        return math.sin(x)

    with pytest.raises(ShapeError, match=r"math.sin takes a single number, but this is an array of shape \(3,\)") as info:
        grad(f)(np.ones(3))
    assert info.value.lineno == f.__code__.co_firstlineno + 1 and "np.sin" in info.value.hint


def test_not_a_function():
    with pytest.raises(TypeError):
        grad(3)
    import functools

    with pytest.raises(TypeError, match="functools.partial"):
        grad(functools.partial(math.pow, 2.0))


def test_errors_are_one_hierarchy():
    for cls in (UnsupportedSyntaxError, UnknownFunctionError, NoSourceError, ShapeError,
                ArgumentError, WrtError):
        assert issubclass(cls, SymdiffError)
    assert symdiff.SymdiffError is SymdiffError
