"""Hypothesis strategies for random programs, one per family: each draws a ``Case``.

Takes: nothing (``FAMILIES[name]`` is a strategy). Returns: ``Case`` objects (cases.py) — the
text of a module defining ``f``, the arguments to call it with, and the checks to run.

The families generate what users write and what found the defects of issue 11:

- ``scalar``: assignments, reassignment, augmented assignment, the operators, math and numpy
  functions, ``if``/``else`` on data, conditional expressions, early returns, small loops (that
  return, break, continue), lists changed in place, helper calls with keyword arguments and
  defaults, min/max/abs of data, numpy calls with keywords on numbers, constants that are negative
  or lead a sum;
- ``odd``: every odd (and even) function over sums whose leading term is negative
  (``math.sin(-0.5 - x)``, ``np.arctan(-(x + 0.3))``), nested, in helpers and loops;
- ``ieee``: decimal constants in divisions (``x / 0.1``, ``x / 3``, ``0.7 / x``) feeding
  ``math.floor``, ``//``, ``%``, comparisons, ``int()``, ``round``; the value must be bit for bit
  the function's own, in Python, in the emitted Python module and in the emitted C;
- ``special``: nan, inf, -inf, -0.0, 0.0, huge and tiny inputs and inputs outside domains; the
  reference is the function's own value (bit for bit) or exception;
- ``arrays``: numpy 1-D arrays of length 1-5 through ufuncs, reductions (np.sum / prod / mean /
  max / min / linalg.norm / dot, methods), slicing and indexing, numpy keywords (np.clip(a_min=,
  a_max=), np.sum(axis=0), np.power, np.maximum, np.round(decimals=)); the gradient, the
  Jacobian of elementwise programs, emitted Python called at another length, emitted C;
- ``second``: grad(grad(f)) and hessian(f) of scalar programs and of array reductions, against
  mpmath's second derivatives (Hessian entries and Hessian-vector products);
- ``while``: ``while`` loops on data that always end (a contraction, growth past a bound with
  an ``if`` on data inside, Newton's method, bisection over a constant bracket, a break on data,
  a ``for`` over ``range(int(...))`` of data, a count carried beside the value) among scalar statements: kept as loops with a tape;
- ``names``: parameter and local names drawn from builtins and C / stdlib identifiers (self,
  float, sum, len, NULL, free, malloc, size_t, EXIT_SUCCESS, _digamma, x_bar, _t0, math, np ...),
  through grad, value_and_grad, emit(language="python") and emit(language="c").
"""

import itertools
import keyword
import math

import numpy as np
from hypothesis import strategies as st

from .cases import Case

# ---- shared pieces ----
HEADER = '''import math

import numpy as np


def helper(t):
    s = t * math.cos(t)
    return s + 0.25 * t


def scaled(t, scale=0.5, shift=-0.25):
    return scale * math.sin(t) + shift * t


def bounded(t, lo=-1.0, hi=1.5):
    return min(max(t, lo), hi) * t


def shifted(t, c=0.5):
    return math.atan(-c - t)
'''

CONSTANTS = ["0.5", "1.5", "0.3", "0.1", "0.7", "2.0", "3", "0.25", "2.5", "1.2", "0.05"]

# A sum whose leading term is negative, or a negated sum: what SymPy's odd functions turn over.
LEAD_SUMS = [
    "-{c} - {x}", "-{x} - {c}", "-({x} + {c})", "-({c} + {x})", "{c} - {x}", "-{c} + {x}",
    "{x} - {c}", "-({x} - {c})", "-{x}", "-({c} - {x})", "-{c} * {x} - {d}", "-{x} - {y}",
    "-({x} + {y})", "-{c} - {x} * {y}", "-{x} * {c} + {d}", "-{c} - {x} / {d}", "-(-{x} - {c})",
]

# Odd and even functions defined on every real number.
ODD = [
    "math.sin", "math.tan", "math.atan", "math.sinh", "math.tanh", "math.erf", "math.asinh",
    "np.sin", "np.tan", "np.arctan", "np.sinh", "np.tanh", "np.arcsinh", "np.cbrt",
    "math.cos", "np.cos", "math.cosh", "math.erfc", "abs", "np.abs", "math.fabs",
]
# Odd functions on (-1, 1): their argument is a leading-negative sum kept inside by a squashing term.
BOUNDED_ODD = ["math.asin", "math.atanh", "np.arcsin", "np.arctanh", "math.acos", "np.arccos"]
BOUNDED_SUMS = ["-{c} - {k} * math.tanh({x})", "-({c} + {k} * math.sin({x}))",
                "-{k} * math.tanh({x}) - {c}", "{c} - {k} * math.cos({x})", "-{k} * np.tanh({x})"]

UNARY = [
    "math.sin({})", "math.cos({})", "math.atan({})", "math.tanh({})", "math.exp(math.tanh({}))",
    "math.log(1 + {0} * {0})", "math.sqrt(1 + {0} * {0})", "math.hypot({}, 0.75)",
    "np.sin({})", "np.arctan({})", "np.log1p({0} * {0})", "math.erf({})", "helper({})",
]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (1.5 + {} ** 2)", "0.5 * {} * math.cos({})"]
HELPER_CALLS = [
    "scaled({x})", "scaled({x}, 1.5)", "scaled({x}, shift=0.3)", "scaled(t={x}, scale=-0.5)",
    "scaled({x}, shift={y})", "scaled({x}, scale={y}, shift=-{c})", "bounded({x})",
    "bounded({x}, hi=0.5)", "bounded({x}, lo=-0.2, hi={c})", "bounded(hi={y}, t={x})",
    "shifted({x})", "shifted({x}, c=-{c})", "shifted({x}, {y})",
]
MIN_MAX_ABS = [
    "max({x}, {y})", "min({x}, 0.3)", "abs({x} - 0.2)", "max(-0.5 - {x}, {y})", "abs(-{x} - 1.5)",
    "min({x}, {y}, 0.5)", "max({x}, -{c})", "abs({x}) * {y}", "min(-{x}, -{c} - {y})",
]
NUMPY_KEYWORDS_SCALAR = [
    "np.clip({x}, a_min=-0.5, a_max=0.8)", "np.clip({x}, -{c}, {d})", "np.power({x}, 2)",
    "np.power({x}, 3)", "np.maximum({x}, 0.0)", "np.minimum({x}, {y})",
    "np.round({x}, decimals=1) * {y}", "np.maximum(-{c} - {x}, {y})", "np.square(-{x} - {c})",
]


def _floats(lo=-2.0, hi=2.0):
    """Finite floats in [lo, hi]: 0.0 itself, but no nonzero number within 1e-8 of it (there the
    50-digit reference's difference step would straddle the kinks at 0 of abs, max, where)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).filter(
        lambda v: v == 0 or abs(v) > 1e-8)


def _module(body_lines, params, ret, header=HEADER, fname="f"):
    return (header + f"\n\ndef {fname}({', '.join(params)}):\n" + "\n".join(body_lines)
            + "\n" + ret + "\n")


class _Draw:
    """The drawing helpers one program's generator shares."""

    def __init__(self, draw, names):
        self.draw = draw
        self.names = list(names)
        self.pending = []  # names being assigned by the statement drawn now: not yet readable
        self.fresh = itertools.count()

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, p):
        return self.draw(st.floats(0, 1)) < p

    def operand(self):
        return self.pick([n for n in self.names if n not in self.pending])

    def flush(self):
        """The statement is drawn: the names it assigned can be read from now on."""
        self.pending.clear()

    def const(self):
        return self.pick(CONSTANTS)

    def lead_sum(self, x=None):
        return self.pick(LEAD_SUMS).format(x=x or self.operand(), y=self.operand(),
                                           c=self.const(), d=self.const())

    def odd(self, x=None):
        if self.chance(0.25):
            inner = self.pick(BOUNDED_SUMS).format(
                x=x or self.operand(), c=self.pick(["0.1", "0.2", "0.3", "0.4"]),
                k=self.pick(["0.3", "0.45", "0.5"]))
            return f"{self.pick(BOUNDED_ODD)}({inner})"
        return f"{self.pick(ODD)}({self.lead_sum(x)})"

    def fill(self, template):
        return template.format(x=self.operand(), y=self.operand(), c=self.const(), d=self.const())

    def new_name(self):
        name = f"v{next(self.fresh)}"
        self.names.append(name)
        self.pending.append(name)
        return name


# ---- scalar programs (the existing kinds, and more) ----
def _scalar_expression(d):
    kind = d.draw(st.integers(0, 9))
    if kind <= 1:
        return d.pick(UNARY).format(d.operand())
    if kind == 2:
        return d.pick(BINARY).format(d.operand(), d.operand())
    if kind == 3:
        inner = d.pick(UNARY).format(d.operand())
        return d.pick(BINARY).format(inner, d.operand())
    if kind == 4:
        return d.odd()
    if kind == 5:
        return d.fill(d.pick(HELPER_CALLS))
    if kind == 6:
        return d.fill(d.pick(MIN_MAX_ABS))
    if kind == 7:
        return d.fill(d.pick(NUMPY_KEYWORDS_SCALAR))
    if kind == 8:
        return f"{d.operand()} {d.pick(['*', '+', '-'])} {d.odd()}"
    return f"{d.lead_sum()} {d.pick(['*', '+'])} {d.pick(UNARY).format(d.operand())}"


def _scalar_statement(d, lines, expression):
    d.flush()
    kind = d.draw(st.integers(0, 15))
    pad = "    "
    cuts = ["0.3", "-0.2", "1.1", "-0.5", "0.0"]
    if kind <= 4:
        target = d.new_name() if kind <= 2 or len(d.names) < 3 else d.operand()
        lines.append(f"{pad}{target} = {expression(d)}")
    elif kind == 5:
        target = d.operand()
        lines.append(f"{pad}{target} {d.pick(['+=', '-=', '*='])} {expression(d)}")
    elif kind == 6:
        target = d.operand()
        lines.append(f"{pad}for k in range({d.draw(st.integers(1, 3))}):")
        lines.append(f"{pad}    {target} = 0.5 * {target} + math.sin({d.pick(['-0.5 - ', '', '-'])}{target}) * 0.25")
    elif kind in (7, 8):
        target = d.operand()
        lines.append(f"{pad}if {d.operand()} > {d.pick(cuts)}:")
        lines.append(f"{pad}    {target} = {expression(d)}")
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    {target} = {expression(d)}")
    elif kind == 10:  # an early return on some paths of an arm
        target = d.operand()
        lines.append(f"{pad}if {d.operand()} > {d.pick(cuts)}:")
        lines.append(f"{pad}    if {d.operand()} < {d.pick(['0.5', '-0.6'])}:")
        lines.append(f"{pad}        return {expression(d)}")
        lines.append(f"{pad}    {target} = {expression(d)}")
    elif kind == 12:  # a list built and changed in place
        target = d.operand()
        lines.append(f"{pad}lst = [{d.operand()}, {d.operand()}]")
        lines.append(f"{pad}lst.append({expression(d)})")
        lines.append(f"{pad}lst[{d.pick(['0', '1', '2', '-1'])}] {d.pick(['=', '+=', '*='])} {expression(d)}")
        lines.append(f"{pad}{target} = sum(lst) * 0.25 + lst.pop() * 0.5")
    elif kind == 13:  # a loop that may return from inside
        target = d.operand()
        lines.append(f"{pad}for k in range({d.draw(st.integers(1, 4))}):")
        lines.append(f"{pad}    {target} = 0.5 * {target} + math.sin({target}) * 0.25 + 0.1 * k")
        lines.append(f"{pad}    if {d.operand()} > {d.pick(['0.2', '-0.3', '0.8'])}:")
        lines.append(f"{pad}        return {expression(d)}")
    elif kind == 14:  # a loop that may break out on data
        target = d.operand()
        lines.append(f"{pad}for k in range({d.draw(st.integers(1, 4))}):")
        lines.append(f"{pad}    if {d.operand()} > {d.pick(['0.4', '-0.1', '1.2'])}:")
        lines.append(f"{pad}        {target} = {expression(d)}")
        lines.append(f"{pad}        break")
        lines.append(f"{pad}    {target} = 0.5 * {target} + math.cos({target}) * 0.25 + 0.1 * k")
    elif kind == 15:  # a loop that skips the rest of its body on data
        target = d.operand()
        lines.append(f"{pad}for k in range({d.draw(st.integers(1, 4))}):")
        lines.append(f"{pad}    {target} = {target} * 0.9 + 0.05 * k")
        lines.append(f"{pad}    if {d.operand()} < {d.pick(['0.3', '-0.2', '1.0'])}:")
        lines.append(f"{pad}        continue")
        lines.append(f"{pad}    {target} = {expression(d)}")
    elif kind == 11:  # a guard clause
        lines.append(f"{pad}if {d.operand()} < {d.pick(['-0.4', '0.1', '0.9'])}:")
        lines.append(f"{pad}    return {expression(d)}")
    else:  # a conditional expression
        target = d.operand()
        lines.append(f"{pad}{target} = {expression(d)} if {d.operand()} < {d.pick(['0.7', '-0.5 - ' + d.operand()])} else {expression(d)}")


def _point():
    return st.one_of(_floats(), st.sampled_from([0.3, -0.5, 1.5, -1.5, 0.7, -0.3, 0.1, 1.0]))


@st.composite
def scalar_programs(draw):
    d = _Draw(draw, ["a", "b"])
    lines = []
    for _ in range(draw(st.integers(1, 7))):
        _scalar_statement(d, lines, _scalar_expression)
    d.flush()
    ret = "    return " + " + ".join(draw(st.lists(st.sampled_from(d.names), min_size=1, max_size=3)))
    checks = ("value_and_grad",) + (("grad", "formulas") if d.chance(0.2) else ())
    return Case("scalar", _module(lines, ["a", "b"], ret), (draw(_point()), draw(_point())),
                checks=checks)


# ---- odd functions over leading-negative sums ----
@st.composite
def odd_programs(draw):
    d = _Draw(draw, ["a", "b"])
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        d.flush()
        kind = draw(st.integers(0, 5))
        if kind <= 1:
            lines.append(f"    {d.new_name() if kind == 0 else d.operand()} = {d.odd()}")
        elif kind == 2:
            inner = d.odd()
            lines.append(f"    {d.new_name()} = {d.odd(inner)}")
        elif kind == 3:
            lines.append(f"    {d.new_name()} = {d.operand()} * {d.odd()} {d.pick(['+', '-'])} {d.const()}")
        elif kind == 4:
            target = d.operand()
            lines.append(f"    for k in range({draw(st.integers(1, 3))}):")
            lines.append(f"        {target} = {d.odd(target)}")
        else:
            lines.append(f"    {d.new_name()} = {d.fill(d.pick(['shifted({x})', 'shifted({x}, c=-{c})', 'shifted(-{x} - {c})']))}")
    ret = "    return " + " + ".join(draw(st.lists(st.sampled_from(d.names), min_size=1, max_size=3)))
    checks = ("value_and_grad",) + (("grad",) if d.chance(0.3) else ()) + (("emit_c",) if d.chance(0.1) else ())
    return Case("odd", _module(lines, ["a", "b"], ret), (draw(_point()), draw(_point())), checks=checks)


# ---- IEEE-exact programs: decimal constants, floor, //, %, comparisons, int, round ----
DIVISORS = ["0.1", "0.3", "0.7", "3", "0.25", "1.1", "0.2", "10", "0.05", "2.5", "-0.1", "-0.3", "0.6"]
SHIFTS = ["0.3", "0.1", "1.5", "0.7", "0.5", "2", "0.2"]
IEEE_STEPS = [
    "math.floor({x} / {D})", "{x} // {D}", "({x} - {C}) // {D}", "{x} % {D}", "({C} + {x}) % {D}",
    "int({x} / {D})", "round({x} / {D})", "round({x}, 1)", "round({x}, 2)", "math.ceil({x} / {D})",
    "math.trunc({x} / {D})", "np.floor({x} / {D})", "{D} / {x}", "{x} / {D}", "{x} * {D}",
    "-{C} - {x} / {D}", "{x} / {D} - {C}", "math.floor(-{C} - {x})", "np.round({x}, decimals=1)",
    "np.clip({x} / {D}, a_min=-3.0, a_max=3.0)", "math.floor({x} * 10) / 10", "({x} / {D}) % 1.0",
    "{x} // {y}", "{x} % {y}", "-{x} // {D}", "(-{C} - {x}) % {D}", "{x} / 3", "0.7 / {x}",
    "{x} - {x} % {D}", "{D} * math.floor({x} / {D})", "float(int({x} * 100)) / 100",
]
ONE_OPS = ["{x} * {y}", "{x} + {y}", "{x} - {y}", "{x} / {D}", "-{x}", "{x} * {C}", "{x} - {C}"]


def _grid_point():
    return st.one_of(
        st.integers(-30, 30).map(lambda k: k / 10),
        st.integers(-30, 30).map(lambda k: k * 0.1),
        st.integers(-20, 20).map(lambda k: k / 4),
        st.integers(-60, 60).map(lambda k: k * 0.05),
        st.integers(-10, 10).map(lambda k: k * 0.7),
        st.integers(-10, 10).map(lambda k: k * 0.3),
        _floats(-3.0, 3.0),
    )


@st.composite
def ieee_programs(draw):
    d = _Draw(draw, ["a", "b"])
    lines = []

    def step():
        return d.pick(IEEE_STEPS).format(x=d.operand(), y=d.operand(), D=d.pick(DIVISORS), C=d.pick(SHIFTS))

    for _ in range(draw(st.integers(1, 5))):
        d.flush()
        kind = draw(st.integers(0, 9))
        if kind <= 4:
            lines.append(f"    {d.new_name()} = {step()}")
        elif kind <= 6:
            lines.append(f"    {d.new_name()} = " + d.pick(ONE_OPS).format(
                x=d.operand(), y=d.operand(), D=d.pick(DIVISORS), C=d.pick(SHIFTS)))
        elif kind == 7:
            target = d.operand()
            lines.append(f"    if {d.operand()} / {d.pick(DIVISORS)} {d.pick(['>', '<', '>=', '<=', '=='])} {d.pick(['3', '-2', '7', '1.5', '0', '3.0'])}:")
            lines.append(f"        {target} = {d.operand()} * {d.operand()}")
            lines.append("    else:")
            lines.append(f"        {target} = {d.operand()} - {d.pick(SHIFTS)}")
        elif kind == 8:
            lines.append(f"    {d.new_name()} = {d.operand()} * {d.pick(SHIFTS)} if {d.operand()} / {d.pick(DIVISORS)} >= {d.pick(['3', '-2', '7', '1'])} else {d.operand()} / {d.pick(DIVISORS)}")
        else:
            lines.append(f"    {d.new_name()} = {d.operand()} * {step()}")
    d.flush()
    names = d.names
    if d.chance(0.15):  # several terms in one expression
        ret = "    return " + f" {d.pick(['+', '-'])} ".join(
            f"{d.operand()} * {d.operand()}" for _ in range(draw(st.integers(2, 3))))
    else:
        last = names[-1]
        ret = "    return " + d.pick([last, f"{last} * {d.operand()}", f"{d.operand()} + {last}", f"{last} * a"])
    checks = ("value_and_grad",)
    if d.chance(0.3):
        checks += ("grad",)
    if d.chance(0.3):
        checks += ("emit_py",)
    if d.chance(0.15):
        checks += ("emit_c",)
    return Case("ieee", _module(lines, ["a", "b"], ret), (draw(_grid_point()), draw(_grid_point())),
                checks=checks, exact=True)


# ---- special inputs: nan, inf, signed zeros, outside domains ----
SPECIAL_ATOMS = [
    "math.sqrt({x})", "math.log({x})", "np.sqrt({x})", "np.log({x})", "1.0 / np.sqrt({x})",
    "math.asin({x})", "math.acos({x})", "np.arccos({x})", "np.arcsin({x})", "math.pow({x}, 0.5)",
    "math.pow({x}, {y})", "{x} ** 0.5", "{x} ** 1.5", "{x} ** 3", "{x} ** {y}", "{x} / {y}",
    "{x} % {y}", "{x} % 0.0", "{x} / {x}", "math.sqrt({x}) ** 2", "math.exp(math.log({x}))",
    "max({x}, 0.0)", "min({x}, {y})", "abs({x}) * 3", "np.maximum({x}, 0.0)", "np.minimum({x}, {y})",
    "math.atan2({x}, {y})", "math.hypot({x}, {y})", "np.log1p({x})", "math.log1p({x})",
    "math.acosh({x})", "math.atanh({x})", "np.arctanh({x})", "math.floor({x})", "int({x})",
    "round({x})", "math.copysign(1.0, {x}) * {y}", "math.exp({x})", "np.exp({x})", "{x} * {x}",
    "{x} - {y}", "{x} * {y}", "math.sin({x})", "math.tanh({x})", "np.cbrt({x})", "math.log2({x})",
    "math.log10({x})", "math.gamma({x})", "math.lgamma({x})", "math.erf({x})", "np.sign({x}) * {y}",
    "np.abs({x})", "math.fabs({x})", "{x} * 10**400", "{x} * 1e300 * 1e10", "np.power({x}, {y})",
    "np.power({x}, 0.5)", "np.float_power({x}, 2.5)", "math.expm1({x})", "math.sqrt(-{x})",
    "math.log(-0.5 - {x})", "np.sqrt(-{x} - 0.5)", "abs({x})", "{x} ** 2", "np.arctan({x})",
    "math.cos({x}) * {y}", "{x} / 0.1", "{x} // 0.5", "1.0 / {x}", "np.reciprocal({x})",
    "np.clip({x}, a_min=-1.0, a_max=1.0)", "{x} ** -1", "{x} ** 0.0", "0.0 ** {x}", "np.tan({x})",
]
SPECIAL_VALUES = [
    math.nan, math.inf, -math.inf, -0.0, 0.0, -1.0, -4.0, 4.0, 2.0, 0.5, -0.5, 1.0, 1e308,
    -1e308, 5e-324, -5e-324, 1e-300, 3.0, 1.5, 710.0, -2.0,
]


def _special_point():
    return st.one_of(st.sampled_from(SPECIAL_VALUES), st.sampled_from(SPECIAL_VALUES),
                     st.floats(allow_nan=True, allow_infinity=True), _floats())


@st.composite
def special_programs(draw):
    d = _Draw(draw, ["a", "b"])
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        d.flush()
        atom = d.fill(d.pick(SPECIAL_ATOMS))
        if d.chance(0.3):
            atom = f"{atom} {d.pick(['+', '*', '-'])} {d.fill(d.pick(SPECIAL_ATOMS))}"
        lines.append(f"    {d.new_name()} = {atom}")
    d.flush()
    ret = "    return " + d.pick([d.names[-1], f"{d.names[-1]} + {d.operand()}", f"{d.names[-1]} * {d.operand()}"])
    checks = ("value_and_grad",)
    if d.chance(0.4):
        checks += ("grad",)
    if d.chance(0.15):
        checks += ("emit_py",)
    return Case("special", _module(lines, ["a", "b"], ret), (draw(_special_point()), draw(_special_point())),
                checks=checks, exact=True)


# ---- arrays ----
ELEMENTWISE = [
    "np.sin({X})", "np.exp(-{X})", "np.tanh({X} - 0.3)", "np.log1p({X} * {X})", "np.sqrt(1.0 + {X} ** 2)",
    "np.abs({X})", "np.maximum({X}, 0.0)", "np.minimum({X}, {Y})", "np.clip({X}, a_min=-0.5, a_max=0.8)",
    "np.clip({X}, -1.0, 1.0)", "np.clip({X}, a_min=None, a_max=0.5)", "np.power({X}, 2)",
    "np.power({X}, 3)", "np.square({X})", "np.where({X} > 0.2, {X}, 0.5 * {X})",
    "np.round({X}, decimals=1) * {X}", "np.arctan(-0.5 - {X})", "{X} * {s}", "{X} / 0.1",
    "{X} + {Y}", "{X} * {Y}", "np.cos({X}) * {X}", "np.sin(-{X} - 1.5)", "np.multiply({X}, {Y})",
    "np.maximum({X}, {Y})", "-{X}", "0.5 - {X}", "{X} ** 2", "np.exp(np.tanh({X}))",
    "np.where({X} < {s}, {Y}, {X})", "np.arcsinh(-(0.3 + {X}))", "np.tanh(-{X} - {s})",
    "np.add({X}, 1.5)", "np.subtract({X}, {Y})", "np.divide({X}, 1.5 + {Y} * {Y})",
    "{X} * np.float64(0.5)", "np.sin({X}) * {X}[0]", "np.negative({X})", "np.abs({X} - {s})",
    # rearrangements of one length (the ported suites' calls)
    "np.flip({X})", "np.roll({X}, 1) * {Y}", "np.cumsum({X})", "np.append({X}[1:], {s})",
    "np.r_[{X}[:1], {X}[1:] * 2.0]", "np.concatenate(np.split({X}, [1])) * {s}",
    "np.diagonal(np.outer({X}, {Y}))", "np.flipud({X}) - {Y}",
]
REDUCTIONS = [
    "np.sum({X})", "np.sum({X}, axis=0)", "np.prod({X})", "np.mean({X})", "np.max({X})",
    "np.min({X})", "np.linalg.norm({X})", "np.dot({X}, {Y})", "{X} @ {Y}", "{X}.sum()",
    "{X}.mean()", "np.sum({X}[1:])", "np.sum({X}[:-1] * {X}[1:])", "{X}[0]", "{X}[-1]",
    "np.sum({X}[::-1] * {Y})", "np.amax({X})", "np.inner({X}, {Y})", "{X}.max()",
    "np.sum({X}[1:3])", "np.mean({X}[::2])", "np.prod({X}, axis=0)", "np.sum({X} ** 2) ** 0.5",
    "np.linalg.norm({X} - {Y})", "np.max(np.abs({X}))", "len({X}) * np.mean({X})",
    "np.linalg.norm({X}, ord=3)", "np.linalg.norm({X}, ord=1.5)", "np.sum(np.diff({X}))",
    "np.sum(np.r_[{X}, {s}])", "np.sum(np.array_split({X}, 2)[0])",
]


def _array(n):
    return st.lists(_floats(), min_size=n, max_size=n).map(lambda v: np.array(v, dtype=np.float64))


@st.composite
def array_programs(draw):
    n = draw(st.integers(1, 5))
    params = ["x"] + (["y"] if draw(st.booleans()) else []) + (["s"] if draw(st.booleans()) else [])
    arrays = [p for p in params if p != "s"]
    scalars = ["s"] if "s" in params else []
    d = _Draw(draw, params)
    lines = []
    arrays_now, scalars_now = list(arrays), list(scalars)
    fresh = itertools.count()

    def fill(template):
        return template.format(X=d.pick(arrays_now), Y=d.pick(arrays_now),
                               s=d.pick(scalars_now) if scalars_now and d.chance(0.6) else d.const())

    for _ in range(draw(st.integers(0, 4))):
        if d.chance(0.6):
            name = f"u{next(fresh)}"
            lines.append(f"    {name} = {fill(d.pick(ELEMENTWISE))}")
            arrays_now.append(name)
        else:
            name = f"t{next(fresh)}"
            lines.append(f"    {name} = {fill(d.pick(REDUCTIONS))}")
            scalars_now.append(name)
    args = tuple(draw(_array(n)) if p != "s" else draw(_floats()) for p in params)
    other_n = draw(st.integers(1, 6).filter(lambda m: m != n))
    elementwise_out = draw(st.integers(0, 5)) == 0
    if elementwise_out:  # an array out: the Jacobian (0 * x, x - x ... keep their shape)
        out = fill(d.pick(ELEMENTWISE + ["0 * {X}", "{X} * 0.0", "{X} - {X}", "np.zeros_like({X}) + {X}",
                                         "{X} * {s}", "0.0 * {X} + {s}"]))
        ret = f"    return {out}"
        return Case("arrays", _module(lines, params, ret), args, checks=("jacobian",))
    red = fill(d.pick(REDUCTIONS))
    extra = f" {d.pick(['+', '*', '-'])} {d.pick(scalars_now)}" if scalars_now and d.chance(0.6) else ""
    ret = f"    return {red}{extra}"
    checks = ("value_and_grad",)
    if d.chance(0.3):
        checks += ("grad",)
    other = None
    if d.chance(0.25):
        checks += ("emit_py",)
        other = tuple(draw(_array(other_n)) if p != "s" else a for p, a in zip(params, args))
    if d.chance(0.1):
        checks += ("emit_c",)
    return Case("arrays", _module(lines, params, ret), args, checks=checks, other_args=other)


# ---- second derivatives ----
SMOOTH = [
    "math.sin({x})", "math.cos({x})", "math.atan({x})", "math.tanh({x})", "math.exp(math.tanh({x}))",
    "math.log(1 + {x} * {x})", "math.sqrt(1 + {x} * {x})", "np.sin({x})", "np.arctan({x})",
    "math.erf({x})", "helper({x})", "{x} * {y}", "{x} + {y}", "{x} - {y}", "{x} / (1.5 + {y} ** 2)",
    "{x} ** 3", "{x} ** 2 * {y}", "scaled({x}, shift={y})", "math.exp(-{x} * {x})",
    "np.power({x}, 2) * {y}", "{x} / 0.1", "-{c} - {x} * {y}",
]
SECOND_REDUCTIONS = [
    "np.prod({X})", "np.linalg.norm({X})", "np.sum({X}) ** 3", "np.sum(np.sin({X}) * {X})",
    "np.mean({X} ** 2) * np.sum({X})", "np.dot({X}, {X})", "np.sum({X}[1:] * {X}[:-1]) + np.sum({X} ** 2)",
    "np.max({X}) * np.sum({X})", "np.sum(np.exp(-{X}) * {X})", "{X} @ np.cos({X})", "np.sum({X} ** 3)",
    "np.prod(np.tanh({X}))", "np.mean(np.sin(-0.5 - {X}))", "np.sum({X}) * np.prod({X})",
    "np.linalg.norm({X}) ** 3", "np.sum(np.power({X}, 3))", "np.mean({X}) ** 2",
    "np.sum({X} * {X}[0])", "np.sum(np.square(-{X} - 0.3)) * np.mean({X})",
]
SECOND_ELEMENTWISE = ["np.sin({X})", "np.tanh({X} - 0.3)", "{X} ** 2", "np.exp(-{X})", "{X} * 1.5 - 0.2",
                      "np.arctan(-0.5 - {X})", "np.log1p({X} * {X})", "np.cos({X}) * {X}"]


@st.composite
def second_programs(draw):
    if draw(st.booleans()):  # scalar: grad(grad(f, wrt=...), wrt=...) and hessian
        d = _Draw(draw, ["a", "b"])
        lines = []
        for _ in range(draw(st.integers(1, 4))):
            d.flush()
            expr = d.fill(d.pick(SMOOTH)) if d.chance(0.75) else d.odd()
            if expr.startswith(("abs", "np.abs", "math.fabs")) or "acos" in expr or "arccos" in expr \
                    or "asin" in expr or "arcsin" in expr or "atanh" in expr or "arctanh" in expr or "cbrt" in expr:
                expr = d.fill(d.pick(SMOOTH))  # keep second derivatives defined and the domain whole
            lines.append(f"    {d.new_name()} = {expr}")
        d.flush()
        ret = "    return " + " * ".join(draw(st.lists(st.sampled_from(d.names), min_size=1, max_size=2)))
        second = (d.pick([("grad2", "a", "a"), ("grad2", "a", "b"), ("grad2", "b", "a"), ("grad2", "b", "b")]),)
        if d.chance(0.3):
            second += (("hessian",),)
        return Case("second", _module(lines, ["a", "b"], ret), (draw(_point()), draw(_point())),
                    checks=(), second=second)
    n = draw(st.integers(1, 5))
    d = _Draw(draw, ["x"])
    lines, arrays = [], ["x"]
    for k in range(draw(st.integers(0, 2))):
        lines.append(f"    w{k} = {d.pick(SECOND_ELEMENTWISE).format(X=d.pick(arrays))}")
        arrays.append(f"w{k}")
    ret = f"    return {d.pick(SECOND_REDUCTIONS).format(X=d.pick(arrays))}"
    second = (("hvp",),) + ((("hessian",),) if d.chance(0.4) else ())
    x = draw(st.lists(_floats().filter(lambda v: abs(v) > 1e-3), min_size=n, max_size=n).filter(
        lambda v: len(set(v)) == len(v)))  # no ties for np.max
    return Case("second", _module(lines, ["x"], ret), (np.array(x, dtype=np.float64),),
                checks=(), second=second)


# ---- names from builtins and C ----
HOSTILE_NAMES = [
    "self", "float", "sum", "len", "max", "min", "abs", "NULL", "free", "malloc", "size_t",
    "EXIT_SUCCESS", "EXIT_FAILURE", "_digamma", "_polygamma", "x_bar", "y_bar", "_t0", "_t1", "math",
    "np", "numpy", "int", "double", "exp", "sin", "cos", "log", "sqrt", "pow", "main", "printf",
    "auto", "register", "restrict", "inline", "errno", "stdin", "EOF", "isnan", "INFINITY", "NAN",
    "M_PI", "HUGE_VAL", "seed", "list", "range", "print", "d_x", "value", "grad", "result", "signed",
    "unsigned", "char", "long", "short", "static", "volatile", "struct", "union", "enum", "typedef",
    "goto", "sizeof", "default", "switch", "case", "do", "extern", "void", "bool", "true", "false",
    "_Bool", "n", "n_x", "i", "k", "out", "tmp", "ret", "helper", "f", "fabs", "calloc", "realloc",
    "memcpy", "exit", "abort", "NDEBUG", "__func__", "_Complex", "complex", "I", "signbit",
    "fmax", "isinf", "x", "y", "z", "self_bar", "float_bar", "a0", "l", "O", "_", "__", "f_grad",
    "f_value_and_grad", "builtins", "type", "object", "str", "dict", "tuple", "iter", "next",
]
HOSTILE_NAMES = [n for n in HOSTILE_NAMES if not keyword.iskeyword(n)]
FUNCTION_NAMES = ["f", "f", "f", "free", "main", "sum", "sin", "exp", "malloc", "value", "grad",
                  "double", "printf", "_t0", "abs", "size_t", "loss"]


@st.composite
def name_programs(draw):
    params = draw(st.lists(st.sampled_from(HOSTILE_NAMES), min_size=1, max_size=3, unique=True))
    array_param = draw(st.integers(0, 3)) == 0
    n_locals = draw(st.integers(0, 3))
    local_names = draw(st.lists(st.sampled_from([n for n in HOSTILE_NAMES if n not in params]),
                                min_size=n_locals, max_size=n_locals, unique=True))
    used = set(params) | set(local_names)
    if array_param and ("np" in used or "len" in used):
        array_param = False
    fname = draw(st.sampled_from([n for n in FUNCTION_NAMES if n not in used]))
    used.add(fname)
    has_math, has_np = "math" not in used, "np" not in used
    builtins_ok = {b for b in ("abs", "max", "min") if b not in used}
    d = _Draw(draw, params[1:] if array_param else params)

    def scalar_expression():
        options = ["{x} * {y}", "{x} + {c}", "{x} / (1.5 + {y} * {y})", "-{c} - {x}", "{x} ** 2",
                   "{x} - {y} * {c}", "{x} * {x} * {y}"]
        if has_math:
            options += ["math.sin({x})", "math.exp(-{x} * {x})", "math.log(1.0 + {x} * {x})",
                        "math.atan(-{c} - {x})", "math.cos({x}) * {y}"]
        if has_np:
            options += ["np.tanh({x})", "np.arctan({x}) * {y}", "np.sin(-{x} - {c})"]
        options += [f"{b}({{x}}, {{y}})" if b != "abs" else "abs({x} - 0.2)" for b in sorted(builtins_ok)]
        return d.fill(d.pick(options))

    lines = []
    if array_param:
        X = params[0]
        reduction = d.pick([f"np.sum(np.sin({X}))", f"np.dot({X}, {X})", f"np.sum({X} ** 2)",
                            f"np.prod({X})", f"np.mean(np.tanh({X}))", f"np.sum({X} * 1.5)",
                            f"np.max({X})", f"{X}[0] * np.sum({X})"])
        name = local_names[0] if local_names else "r"
        lines.append(f"    {name} = {reduction}")
        d.names.append(name)
        local_names = local_names[1:]
    if not d.names:
        d.names.append(params[0])
    for name in local_names:
        lines.append(f"    {name} = {scalar_expression()}")
        d.names.append(name)
    if d.chance(0.3):
        target = d.operand()
        lines.append(f"    if {d.operand()} > 0.3:")
        lines.append(f"        {target} = {scalar_expression()}")
    ret = f"    return {scalar_expression()}"
    header = "import math\n\nimport numpy as np\n"
    args = []
    n = draw(st.integers(1, 5))
    for i, p in enumerate(params):
        args.append(draw(_array(n)) if (array_param and i == 0) else draw(_point()))
    checks = ("value_and_grad", "grad", "emit_py", "emit_c")
    return Case("names", _module(lines, params, ret, header=header, fname=fname), tuple(args),
                fname=fname, checks=checks)


# ---- while loops on data (kept as loops: issue 13) that always end ----
WHILE_LOOPS = [
    # shrinking to below 1.0: a contraction whose fixed point lies below it
    ["{y} = abs({x}) + {c}",
     "while {y} > 1.0:",
     "    {y} = {y} * {r} + 0.1 + 0.05 * math.sin({z} * {y})"],
    # growing past a bound: each step adds at least 0.2
    ["{y} = abs({x}) * 0.5",
     "while {y} < {t}:",
     "    if {y} > abs({z}):",
     "        {y} = {y} * 1.3 + 0.2",
     "    else:",
     "        {y} = {y} + 0.7 + 0.1 * math.cos({z} + {y})"],
    # Newton's method for the square root of 1 + |x|
    ["{y} = abs({x}) + 1.0",
     "while abs({y} * {y} - (abs({x}) + 1.0)) > 1e-10:",
     "    {y} = 0.5 * ({y} + (abs({x}) + 1.0) / {y})"],
    # bisection over a constant bracket (a step function: gradient 0)
    ["lo = 0.0",
     "{y} = 2.0",
     "while {y} - lo > 1e-9:",
     "    mid = 0.5 * (lo + {y})",
     "    if mid * mid > min(abs({x}) + 0.5, 3.5):",
     "        {y} = mid",
     "    else:",
     "        lo = mid"],
    # a contraction that breaks out on data
    ["{y} = abs({x}) + {c}",
     "while {y} > 0.5:",
     "    {y} = {y} * {r} + 0.05 * math.sin({z})",
     "    if {y} < abs({z}) + 0.6:",
     "        break"],
    # a for over a range of an int of data
    ["{y} = {x} * 0.5",
     "for {y}_k in range(int(abs({x}) * 3.0) + 1):",
     "    {y} = {y} * 0.8 + 0.1 * math.sin({z} + {y}_k)"],
    # a count carried beside the value
    ["n = 0.0",
     "{y} = abs({x}) + 0.5",
     "while {y} < {t}:",
     "    {y} = {y} * 1.5 + 0.1 * {z} * {z}",
     "    n += 1.0",
     "{y} = {y} + n * {z}"],
]


@st.composite
def while_programs(draw):
    d = _Draw(draw, ["a", "b"])
    lines = []
    for _ in range(draw(st.integers(0, 2))):
        _scalar_statement(d, lines, _scalar_expression)
    d.flush()
    for _ in range(draw(st.integers(1, 2))):
        y = d.new_name()
        fill = {"y": y, "x": d.pick(["a", "b"]), "z": d.pick(["a", "b"]),
                "c": d.pick(["0.5", "1.5", "3.0", "40.0"]), "r": d.pick(["0.3", "0.5", "0.7"]),
                "t": d.pick(["2.0", "5.0", "30.0"])}
        lines += ["    " + line.format(**fill) for line in d.pick(WHILE_LOOPS)]
        d.flush()
    for _ in range(draw(st.integers(0, 2))):
        _scalar_statement(d, lines, _scalar_expression)
    d.flush()
    ret = "    return " + " + ".join(draw(st.lists(st.sampled_from(d.names), min_size=1, max_size=3)))
    checks = ("value_and_grad", "formulas") + (("grad",) if d.chance(0.3) else ())
    return Case("while", _module(lines, ["a", "b"], ret), (draw(_point()), draw(_point())),
                checks=checks)


FAMILIES = {
    "scalar": scalar_programs(),
    "odd": odd_programs(),
    "ieee": ieee_programs(),
    "special": special_programs(),
    "arrays": array_programs(),
    "second": second_programs(),
    "names": name_programs(),
    "while": while_programs(),
}
