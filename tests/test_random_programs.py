"""Property: random programs, written to real files, differentiate to the mpmath reference.

Programs mix assignments, reassignment, augmented assignment, the operators, math and numpy
functions (arguments kept inside their domains), ``if``/``else`` on data, small constant loops and
helper calls. Each one either gives the right gradient or raises a ``SymdiffError``; any other
exception, or a wrong value, fails. CI runs a modest number of examples; for many more:

    SYMDIFF_HYPOTHESIS=thorough python -m pytest tests/test_random_programs.py
"""

import importlib.util
import itertools
import math
import os

import mpmath
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symdiff import SymdiffError, grad

from .reference import mp_grad

settings.register_profile(
    "ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SYMDIFF_HYPOTHESIS", "ci"))

# Unary forms whose argument is any real number (domains are kept by construction).
UNARY = [
    "math.sin({})", "math.cos({})", "math.atan({})", "math.tanh({})", "math.exp(math.tanh({}))",
    "math.log(1 + {0} * {0})", "math.sqrt(1 + {0} * {0})", "math.hypot({}, 0.75)",
    "np.sin({})", "np.arctan({})", "np.log1p({0} * {0})", "math.erf({})", "helper({})",
]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1.5 + {} ** 2)", "0.5 * {} * math.cos({})"]
HEADER = '''import math

import numpy as np


def helper(t):
    s = t * math.cos(t)
    return s + 0.25 * t
'''

_counter = itertools.count()


@st.composite
def programs(draw):
    names = ["a", "b"]
    lines = []
    fresh = itertools.count()

    def operand():
        return draw(st.sampled_from(names))

    def expression():
        kind = draw(st.integers(0, 2))
        if kind == 0:
            return draw(st.sampled_from(UNARY)).format(operand())
        if kind == 1:
            return draw(st.sampled_from(BINARY)).format(operand(), operand())
        inner = draw(st.sampled_from(UNARY)).format(operand())
        return draw(st.sampled_from(BINARY)).format(inner, operand())

    def statement(indent):
        kind = draw(st.integers(0, 15))
        pad = "    " * indent
        if kind <= 4:
            target = f"v{next(fresh)}" if kind <= 2 or len(names) < 3 else operand()
            lines.append(f"{pad}{target} = {expression()}")
            if target not in names:
                names.append(target)
        elif kind == 5:
            target = operand()
            op = draw(st.sampled_from(["+=", "-=", "*="]))
            lines.append(f"{pad}{target} {op} {expression()}")
        elif kind == 6 and indent == 1:
            target = operand()
            lines.append(f"{pad}for k in range({draw(st.integers(1, 3))}):")
            lines.append(f"{pad}    {target} = 0.5 * {target} + math.sin({target}) * 0.25")
        elif kind in (7, 8) and indent == 1:
            cut = draw(st.sampled_from(["0.3", "-0.2", "1.1"]))
            target = operand()
            lines.append(f"{pad}if {operand()} > {cut}:")
            lines.append(f"{pad}    {target} = {expression()}")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    {target} = {expression()}")
        elif kind == 10 and indent == 1:  # an early return on some paths of an arm
            cut, inner = draw(st.sampled_from(["0.3", "-0.2", "1.1"])), draw(st.sampled_from(["0.5", "-0.6"]))
            target = operand()
            lines.append(f"{pad}if {operand()} > {cut}:")
            lines.append(f"{pad}    if {operand()} < {inner}:")
            lines.append(f"{pad}        return {expression()}")
            lines.append(f"{pad}    {target} = {expression()}")
        elif kind == 12 and indent == 1:  # a list built and changed in place
            target = operand()
            lines.append(f"{pad}lst = [{operand()}, {operand()}]")
            lines.append(f"{pad}lst.append({expression()})")
            lines.append(f"{pad}lst[{draw(st.sampled_from(['0', '1', '2', '-1']))}] "
                         f"{draw(st.sampled_from(['=', '+=', '*=']))} {expression()}")
            lines.append(f"{pad}{target} = sum(lst) * 0.25 + lst.pop() * 0.5")
        elif kind == 13 and indent == 1:  # a loop that may return from inside
            target = operand()
            lines.append(f"{pad}for k in range({draw(st.integers(1, 4))}):")
            lines.append(f"{pad}    {target} = 0.5 * {target} + math.sin({target}) * 0.25 + 0.1 * k")
            lines.append(f"{pad}    if {operand()} > {draw(st.sampled_from(['0.2', '-0.3', '0.8']))}:")
            lines.append(f"{pad}        return {expression()}")
        elif kind == 14 and indent == 1:  # a loop that may break out on data
            target = operand()
            lines.append(f"{pad}for k in range({draw(st.integers(1, 4))}):")
            lines.append(f"{pad}    if {operand()} > {draw(st.sampled_from(['0.4', '-0.1', '1.2']))}:")
            lines.append(f"{pad}        {target} = {expression()}")
            lines.append(f"{pad}        break")
            lines.append(f"{pad}    {target} = 0.5 * {target} + math.cos({target}) * 0.25 + 0.1 * k")
        elif kind == 15 and indent == 1:  # a loop that skips the rest of its body on data
            target = operand()
            lines.append(f"{pad}for k in range({draw(st.integers(1, 4))}):")
            lines.append(f"{pad}    {target} = {target} * 0.9 + 0.05 * k")
            lines.append(f"{pad}    if {operand()} < {draw(st.sampled_from(['0.3', '-0.2', '1.0']))}:")
            lines.append(f"{pad}        continue")
            lines.append(f"{pad}    {target} = {expression()}")
        elif kind == 11 and indent == 1:  # a guard clause
            lines.append(f"{pad}if {operand()} < {draw(st.sampled_from(['-0.4', '0.1', '0.9']))}:")
            lines.append(f"{pad}    return {expression()}")
        else:
            target = operand()
            lines.append(f"{pad}{target} = {expression()} if {operand()} < 0.7 else {expression()}")

    for _ in range(draw(st.integers(1, 7))):
        statement(1)
    result = " + ".join(draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)))
    return lines, f"    return {result}"


def _load(source, tmp_path):
    name = f"random_program_{next(_counter)}"
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


@given(
    program=programs(),
    a=st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
    b=st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
)
def test_random_program_matches_reference(program, a, b, tmp_path_factory):
    body, ret = program
    source = HEADER + "\n\ndef f(a, b):\n" + "\n".join(body) + "\n" + ret + "\n"
    f = _load(source, tmp_path_factory.mktemp("prog"))
    try:
        value = f(a, b)
    except (ValueError, OverflowError, ZeroDivisionError):
        return  # the function itself is undefined here
    if not math.isfinite(value):
        return
    try:
        g = grad(f)
        got = g(a, b)
    except SymdiffError:
        return  # a located refusal is an allowed outcome
    want = mp_grad(f, (a, b))
    for got_i, want_i in zip(got, want):
        want_i = float(want_i)
        if not math.isfinite(want_i) or abs(want_i) > 1e12:
            continue
        assert math.isclose(got_i, want_i, rel_tol=1e-7, abs_tol=1e-9), (source, a, b, got, [float(w) for w in want])


def test_reference_sees_helpers_at_full_precision():
    """The reference shims module-level helpers too: d/da of helper(a) at 50 digits."""
    source = HEADER + "\n\ndef f(a, b):\n    return helper(a) * b\n"
    import tempfile
    from pathlib import Path

    f = _load(source, Path(tempfile.mkdtemp()))
    want = mp_grad(f, (0.7, 2.0))[0]
    with mpmath.workdps(50):
        exact = 2 * (mpmath.cos(mpmath.mpf(0.7)) - mpmath.mpf(0.7) * mpmath.sin(mpmath.mpf(0.7)) + mpmath.mpf(0.25))
        assert abs(want - exact) < mpmath.mpf(10) ** -30
