"""symdiff.emit(f) without args= traces every parameter as a number. Where f called a numpy
function that is not elementwise on such a value (np.sum of a number is the number), or computed
with arrays, the module's code is right for numbers only: it refuses array, list and tuple
arguments on entry with a ValueError. Elementwise modules (ufuncs, arithmetic) keep working on
arrays. Values are checked against the function's own source over mpmath (``tests/reference.py``).
"""

import math
import subprocess
import sys

import numpy as np
import pytest

import symdiff
from symdiff import emit

from .reference import close, mp_grad

WEIGHTS = np.array([0.5, -1.5, 2.0])


def total_times(x, y):
    return np.sum(x) ** 2 * y + np.sin(x)


def product_of(x, y):
    return np.prod(x) * y + x


def dotted(x, y):
    return np.dot(x, y) + np.exp(x)


def largest(x):
    return np.max(x) * x + np.mean(x)


def normed(x):
    return np.linalg.norm(x) + x ** 2


def sized(x):
    return x * np.size(x) ** 2 + np.exp(x)


def with_weights(x):
    return np.sum(WEIGHTS * x)  # ARRAYS


def _helper(v):
    return np.sum(v) * 2.0  # IN_HELPER


def through_a_helper(x):
    return _helper(x) + np.cos(x)


STRUCTURAL = [  # function, what the message names, a point
    (total_times, "np.sum", (0.7, -1.3)),
    (product_of, "np.prod", (0.7, -1.3)),
    (dotted, "np.dot", (0.7, -1.3)),
    (largest, "np.max", (0.7,)),
    (normed, "np.linalg.norm", (0.7,)),
    (sized, "np.size", (0.7,)),
    (with_weights, "arrays (line", (0.7,)),
    (through_a_helper, "np.sum", (0.7,)),
]


def _module(f):
    namespace = {}
    exec(emit(f), namespace)
    return namespace[f"{f.__name__}_grad"], namespace[f"{f.__name__}_value_and_grad"]


def _agree(got, want, rtol=1e-12):
    got = got if isinstance(got, tuple) else (got,)
    return len(got) == len(want) and all(close(float(g), w, rtol=rtol) for g, w in zip(got, want))


@pytest.mark.parametrize("f, what, point", STRUCTURAL, ids=[s[0].__name__ for s in STRUCTURAL])
def test_numbers_only_module_refuses_arrays(f, what, point):
    grad_fn, vg_fn = _module(f)
    names = f.__code__.co_varnames[:f.__code__.co_argcount]
    for k, name in enumerate(names):
        for bad in (np.array([0.5, 1.5]), np.array([0.5]), [0.5, 1.5], (0.5,), np.ones((2, 2))):
            args = list(point)
            args[k] = bad
            for fn in (grad_fn, vg_fn):
                with pytest.raises(ValueError) as info:
                    fn(*args)
                message = str(info.value)
                assert message.startswith(f"{name} is an array, list or tuple")
                assert what in message and f"symdiff.emit({f.__name__}, args=...)" in message


@pytest.mark.parametrize("f, what, point", STRUCTURAL, ids=[s[0].__name__ for s in STRUCTURAL])
def test_numbers_only_module_still_takes_numbers(f, what, point):
    """Floats, ints, numpy scalars and 0-d arrays are numbers: the gradient, as mpmath gives it."""
    grad_fn, vg_fn = _module(f)
    want = [float(w) for w in mp_grad(f, point)]
    kinds = [lambda v: v, np.float64, np.float32, np.array]
    for kind in kinds:
        args = [kind(v) for v in point]
        rtol = 1e-6 if kind is np.float32 else 1e-12
        assert _agree(grad_fn(*args), want, rtol), (kind, grad_fn(*args), want)
        assert _agree(vg_fn(*args)[1], want, rtol)
    ints = tuple(int(round(v * 10)) for v in point)
    assert _agree(grad_fn(*ints), [float(w) for w in mp_grad(f, ints)])


def test_the_message_and_the_header_name_the_line():
    text = emit(with_weights)
    line = with_weights.__code__.co_firstlineno + 1
    assert f"Generated for numbers (with_weights uses arrays (line {line}), which is not elementwise" in text
    text = emit(through_a_helper)
    helper_line = _helper.__code__.co_firstlineno + 1
    assert f"uses np.sum (line {helper_line})" in text


def elementwise(x, y):
    return np.exp(np.sin(x ** 2)) * y + np.sqrt(y) * np.tanh(x) - x / y


def clipped(x):
    return np.where(x > 0, x, 0.5 * x) + np.clip(x, 0.0, 2.0)


def test_elementwise_modules_have_no_check_and_still_take_arrays():
    """Elementwise code gives the derivative at each element, as before: no check, same text."""
    text = emit(elementwise)
    assert "_array_like" not in text and "raise ValueError" not in text
    grad_fn, _ = _module(elementwise)
    x, y = np.array([0.7, -1.3, 0.25]), np.array([0.5, 1.5, 2.5])
    dx, dy = grad_fn(x, y)
    for i in range(len(x)):
        want = mp_grad(elementwise, (x[i], y[i]))
        assert close(dx[i], want[0]) and close(dy[i], want[1]), i


def test_conditional_modules_still_fail_loudly_on_arrays():
    """np.where and np.clip are elementwise, but for numbers they print as conditional
    expressions: on an array of several elements that is numpy's own ValueError (no wrong
    number, as before); the module has no check of its own."""
    assert "_array_like" not in emit(clipped)
    grad_fn, _ = _module(clipped)
    assert close(grad_fn(0.5), mp_grad(clipped, (0.5,))[0])
    with pytest.raises(ValueError, match="truth value of an array"):
        grad_fn(np.array([0.5, -1.5]))


def test_numbers_only_modules_pass_ruff(tmp_path):
    files = []
    for f, _, _ in STRUCTURAL:
        path = tmp_path / f"{f.__name__}_module.py"
        emit(f, path=path)
        files.append(str(path))
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", *files],
                          capture_output=True, text=True, timeout=60)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_a_parameter_named_like_the_check_helper():
    def f(_array_like, type):  # noqa: A002 - the names generated code uses, on purpose
        return np.sum(_array_like) * type

    grad_fn, _ = _module(f)
    assert grad_fn(2.0, 3.0) == (3.0, 2.0)
    with pytest.raises(ValueError, match="_array_like is an array"):
        grad_fn(np.ones(2), 3.0)


def summed(x, y):
    return np.sum(x) ** 2 * y


def test_emit_with_args_is_unchanged():
    """With example arguments the module is specialised to their shapes (its own shape check)."""
    text = emit(summed, args=(np.ones(3), 2.0))
    assert "_array_like" not in text and "other shapes raise ValueError" in text
    namespace = {}
    exec(text, namespace)
    x = np.array([0.7, -1.3, 0.25])
    dx, dy = namespace["summed_grad"](x, 2.0)
    want_x, want_y = mp_grad(summed, (x, 2.0))
    assert all(close(dx[i], want_x[i]) for i in range(3)) and close(dy, want_y)
