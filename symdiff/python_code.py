"""python_code: a schedule -> Python source text -> a compiled function.

Takes: a ``Schedule`` and the program it came from. Returns: the source of ``<name>_grad`` and
``<name>_value_and_grad`` (readable, one operation per line, ``# line N: <source>`` comments),
the modules it imports, and compiled functions whose source is registered in ``linecache`` (so
tracebacks and ``inspect.getsource`` show it) and released when the functions are collected.
"""

import itertools
import linecache
import math
import os
import weakref
from dataclasses import dataclass

import numpy
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from .primitives import LogAddExp, LogAddExp2, RealCbrt
from .schedule import IfBlock

# ---------------------------------------------------------------------------------------------
# Printers: SymPy's Python/NumPy printers, with numbers printed exactly and module names aliased.
# ---------------------------------------------------------------------------------------------

DIGAMMA_SOURCE = '''\
def _digamma(x):
    """The digamma function psi(x) = d lgamma(x)/dx (recurrence, then asymptotic series)."""
    if x <= 0 and x == int(x):
        return math.nan
    result = 0.0
    if x < 0.5:  # reflection: psi(1 - x) - psi(x) = pi / tan(pi x)
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    while x < 10.0:
        result -= 1.0 / x
        x += 1.0
    inv = 1.0 / x
    t = inv * inv
    series = t * (1 / 12 - t * (1 / 120 - t * (1 / 252 - t * (1 / 240 - t * (
        1 / 132 - t * (691 / 32760 - t / 12))))))
    return result + math.log(x) - 0.5 * inv - series
'''


class _Printing:
    """Shared printer behaviour: exact floats, aliased modules, helpers it needs."""

    def __init__(self, aliases):
        super().__init__({"fully_qualified_modules": True, "strict": True})
        self.aliases = aliases  # {"math": "math", "numpy": "numpy"} or aliased names
        self.used_modules = set()
        self.helpers = set()

    def _module_format(self, fqn, register=True):
        module, _, rest = fqn.partition(".")
        if module in ("math", "numpy") and rest:
            self.used_modules.add(module)
            return f"{self.aliases[module]}.{rest}"
        return super()._module_format(fqn, register)

    def _print_Float(self, expr):
        value = float(expr)
        if math.isnan(value):
            return self._module_format(f"{self.library}.nan")
        if math.isinf(value):
            return ("-" if value < 0 else "") + self._module_format(f"{self.library}.inf")
        return repr(value)

    def _print_Rational(self, expr):
        value = expr.p / expr.q
        if float(repr(value)) * expr.q == expr.p and len(repr(value)) <= 8:
            return repr(value)
        return f"({expr.p}/{expr.q})"

    def _print_Half(self, expr):
        return "0.5"

    def _print_polygamma(self, expr):
        order, arg = expr.args
        if order != 0:
            return self._print_not_supported(expr)
        self.helpers.add("_digamma")
        self.used_modules.add("math")
        return f"_digamma({self._print(arg)})"

    def _print_LogAddExp(self, expr):
        return f"{self._module_format('numpy.logaddexp')}({', '.join(map(self._print, expr.args))})"

    def _print_LogAddExp2(self, expr):
        return f"{self._module_format('numpy.logaddexp2')}({', '.join(map(self._print, expr.args))})"

    def _print_RealCbrt(self, expr):
        return f"{self._module_format('numpy.cbrt')}({self._print(expr.args[0])})"

    def _print_RegisteredBase(self, expr):
        """A function added with ``symdiff.register``: call it by its name."""
        return f"{expr._label}({', '.join(map(self._print, expr.args))})"

    def _step(self, name, expr):
        """``math.floor`` & co. return an int: wrapped in ``float`` so that no value or gradient
        comes back as an int (Python's ``x // c`` on floats is a float, too)."""
        text = f"{self._module_format(self.library + '.' + name)}({self._print(expr.args[0])})"
        return text if self.library == "numpy" else f"float({text})"

    def _print_Tie(self, expr):
        """1.0 where a max/min argument equals the max/min, else 0.0 (tie-sharing weights)."""
        a, b = (self._print(arg) for arg in expr.args)
        if self.library == "numpy":
            return f"{self._module_format('numpy.where')}({a} == {b}, 1.0, 0.0)"
        return f"(1.0 if {a} == {b} else 0.0)"

    def _print_CopySign(self, expr):
        args = ", ".join(self._print(a) for a in expr.args)
        return f"{self._module_format(self.library + '.copysign')}({args})"

    def _print_Floor(self, expr):
        return self._step("floor", expr)

    def _print_Ceil(self, expr):
        return self._step("ceil", expr)

    def _print_Trunc(self, expr):
        return self._step("trunc", expr)

    def _print_Round(self, expr):
        if self.library == "numpy":
            return f"{self._module_format('numpy.round')}({self._print(expr.args[0])})"
        return f"float(round({self._print(expr.args[0])}))"

    def _print_Heaviside(self, expr):
        """The step: 1/2 at 0 (so a tie of max/min shares the derivative equally)."""
        arg = self._print(expr.args[0])
        if self.library == "numpy":
            return f"{self._module_format('numpy.heaviside')}({arg}, 0.5)"
        return f"(0.5 if {arg} == 0 else (1.0 if {arg} > 0 else 0.0))"


class MathPrinter(_Printing, PythonCodePrinter):
    """Scalar code over the ``math`` module."""

    library = "math"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"


class ArrayPrinter(_Printing, NumPyPrinter):
    """Elementwise code over ``numpy`` (works on scalars and arrays alike)."""

    library = "numpy"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.args
        if exponent == -1:
            return f"1/{self.parenthesize(base, sympy.printing.precedence.PRECEDENCE['Pow'])}"
        if exponent == sympy.S.Half:
            return f"{self._module_format('numpy.sqrt')}({self._print(base)})"
        if exponent == -sympy.S.Half:
            return f"1/{self._module_format('numpy.sqrt')}({self._print(base)})"
        if exponent.is_Integer:
            return f"{self.parenthesize(base, sympy.printing.precedence.PRECEDENCE['Pow'])}**{exponent}"
        return super()._print_Pow(expr, rational=rational)

    def _print_Abs(self, expr):
        return f"{self._module_format('numpy.abs')}({self._print(expr.args[0])})"

    def _print_Max(self, expr):
        return self._fold("numpy.maximum", expr.args)

    def _print_Min(self, expr):
        return self._fold("numpy.minimum", expr.args)

    def _fold(self, name, args):
        text = self._print(args[0])
        for arg in args[1:]:
            text = f"{self._module_format(name)}({text}, {self._print(arg)})"
        return text

    def _print_loggamma(self, expr):
        return f"{self._module_format('math.lgamma')}({self._print(expr.args[0])})"

    def _print_gamma(self, expr):
        return f"{self._module_format('math.gamma')}({self._print(expr.args[0])})"

    def _print_erf(self, expr):
        return f"{self._module_format('math.erf')}({self._print(expr.args[0])})"

    def _print_erfc(self, expr):
        return f"{self._module_format('math.erfc')}({self._print(expr.args[0])})"


def make_printer(library, aliases):
    return (ArrayPrinter if library == "numpy" else MathPrinter)(aliases)


# ---------------------------------------------------------------------------------------------
# Source text
# ---------------------------------------------------------------------------------------------


@dataclass
class GeneratedCode:
    """Source of the gradient functions and what they need to run."""

    source: str  # both functions, as one module body (without imports)
    grad_source: str  # the gradient function alone (with any helper it calls)
    value_and_grad_source: str  # the value-and-gradient function alone
    grad_name: str
    value_and_grad_name: str
    modules: set  # "math" / "numpy"
    helpers: set  # names of helper functions included in ``source``
    aliases: dict
    arguments: list  # parameter names, then external names
    callables: dict  # registered functions the code calls: {name: callable}

    def module_text(self, header=""):
        """A standalone module: header docstring, imports, the functions."""
        imports = "".join(
            f"import {m}\n" if self.aliases[m] == m else f"import {m} as {self.aliases[m]}\n"
            for m in sorted(self.modules)
        )
        parts = [header, imports] if header else [imports]
        return "\n".join(p for p in parts if p) + "\n\n" + self.source


def generate(schedule, gradient_program, library, aliases, signature=None):
    """Python source for ``<f>_grad`` and ``<f>_value_and_grad``."""
    program = gradient_program.program
    printer = make_printer(library, aliases)
    names = signature or [
        *[p.symbol.name for p in program.params if p.name not in program.concrete],
        *[e.symbol.name for e in program.externals],
    ]
    base = program.name if program.name.isidentifier() else "f"
    grad_name = f"{base}_grad"
    vg_name = f"{base}_value_and_grad"
    wrt = ", ".join(p.name for p in gradient_program.wrt)

    grad_returns = list(schedule.gradients)
    grad_body = _body(schedule.needed(grad_returns), printer)
    grad_result = ", ".join(_print_result(g, printer) for g in grad_returns)
    if len(grad_returns) == 1:
        grad_return = f"return {grad_result}"
    else:
        grad_return = f"return ({grad_result})"

    vg_returns = [schedule.value, *schedule.gradients]
    vg_body = _body(schedule.needed(vg_returns), printer)
    value_text = _print_result(schedule.value, printer)
    if len(grad_returns) == 1:
        vg_return = f"return {value_text}, {grad_result}"
    else:
        vg_return = f"return {value_text}, ({grad_result})"

    where = f"{program.filename}:{_def_line(program)}"
    signature = ", ".join(names)
    grad_text = _function(
        grad_name, signature,
        f"Gradient of {program.name} with respect to {wrt} (symdiff, from {where}).",
        grad_body, grad_return,
    )
    vg_text = _function(
        vg_name, signature,
        f"Value of {program.name} and its gradient with respect to {wrt} (symdiff, from {where}).",
        vg_body, vg_return,
    )
    helpers = set(printer.helpers)
    prelude = DIGAMMA_SOURCE + "\n\n" if "_digamma" in helpers else ""
    return GeneratedCode(
        source=prelude + grad_text + "\n\n" + vg_text,
        grad_source=prelude + grad_text,
        value_and_grad_source=prelude + vg_text,
        grad_name=grad_name,
        value_and_grad_name=vg_name,
        modules=set(printer.used_modules),
        helpers=helpers,
        aliases=aliases,
        arguments=names,
        callables=dict(program.helpers),
    )


def _function(name, signature, doc, body, ret):
    return "\n".join([f"def {name}({signature}):", f'    """{doc}"""', *body, "    " + ret]) + "\n"


def _print_line(expr, printer):
    """One line's operation; a lone square is a product (``x*x``: faster than ``x**2``)."""
    if expr.is_Pow and expr.exp == 2 and expr.base.is_Symbol:
        name = printer.doprint(expr.base)
        return f"{name}*{name}"
    return _print_result(expr, printer)


def _print_result(expr, printer):
    """A value: numbers as float literals, so an int never comes back as a gradient."""
    if expr.is_Number:
        value = float(expr)
        if math.isfinite(value):
            return repr(value)
        return printer.doprint(sympy.Float(value))  # math.nan / math.inf, never a bare 'nan'
    return printer.doprint(_float_arms(expr))


def _float_arms(expr):
    """A conditional's number arms as floats, nested conditionals included (never an int 0)."""
    if not isinstance(expr, sympy.Piecewise):
        return expr
    return sympy.Piecewise(*[
        (sympy.Float(float(e)) if e.is_Number else _float_arms(e), c) for e, c in expr.args
    ])


def _def_line(program):
    return getattr(program, "firstlineno", None) or "?"


def _body(lines, printer, indent="    ", current=None):
    """Source lines for ``lines`` (``Line`` s and ``IfBlock`` s), each group under a ``# line N`` comment."""
    out = []
    for line in lines:
        tag = (line.lineno, line.reverse, line.filename)
        if tag != current and line.lineno is not None:
            out.append(f"{indent}# {_label(line)}: {line.source}")
            current = tag
        if isinstance(line, IfBlock):
            out.append(f"{indent}if {_unwrap(printer.doprint(line.cond))}:")
            out += _body(line.then, printer, indent + "    ", tag) or [f"{indent}    pass"]
            if line.orelse:
                out.append(f"{indent}else:")
                out += _body(line.orelse, printer, indent + "    ", tag)
            current = None
            continue
        out.append(f"{indent}{line.target.name} = {_print_line(line.expr, printer)}")
    return out


def _unwrap(text):
    """``(x > 0)`` -> ``x > 0`` when the parentheses enclose the whole text."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def _label(line):
    where = f"line {line.lineno}"
    if line.filename:
        where = f"{os.path.basename(line.filename)} {where}"
    return where + (" (reverse)" if line.reverse else "")


# ---------------------------------------------------------------------------------------------
# Compilation
# ---------------------------------------------------------------------------------------------

_counter = itertools.count()


def compile_functions(code, extra_globals=None):
    """Compile ``code``; returns ``(grad_function, value_and_grad_function)``."""
    filename = f"<symdiff-{next(_counter)} {code.grad_name}>"
    namespace = {"__name__": "symdiff.generated", **code.callables, **(extra_globals or {})}
    for module in code.modules | ({"math"} if code.helpers else set()):
        namespace[code.aliases[module]] = {"math": math, "numpy": numpy}[module]
    compiled = compile(code.source, filename, "exec")
    lines = code.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(code.source), None, lines, filename)
    exec(compiled, namespace)
    grad_fn = namespace[code.grad_name]
    vg_fn = namespace[code.value_and_grad_name]
    # The source stays readable while either function lives (their globals hold the anchor).
    anchor = namespace["__symdiff_anchor__"] = _Anchor()
    weakref.finalize(anchor, linecache.cache.pop, filename, None)
    return grad_fn, vg_fn


class _Anchor:
    """Lives exactly as long as the generated functions (their globals hold it)."""


__all__ = ["GeneratedCode", "LogAddExp", "LogAddExp2", "RealCbrt", "compile_functions", "generate"]
