"""c_code: a schedule -> C99 source of the gradient functions (needs only ``math.h``).

Takes: a ``Schedule``, its ``GradientProgram``, the formulas (for the header) and constants.
Returns: C text: each schedule line becomes ``const double name = ...;``; ``<f>_grad`` returns a
single gradient or stores several through ``double *d_<param>``; ``<f>_value_and_grad`` returns the
value. Names that C reserves get a fresh spelling; digamma, logaddexp and the step (Heaviside) become
static helpers.
Functions of 1-D arrays go through ``c_arrays`` (pointer + length, loops; it builds on the printer
and the scalar writer here).
"""

import math
import os

import sympy
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import PRECEDENCE

from ..errors import ExportError
from ..primitives import registry
from .blocks import BlockPrinter
from .python_code import SumsAsDifferences, over_square
from .safe_text import c_comment, printable
from ..lower.schedule import names_read, walk_lines

# Identifiers a C name must not take: keywords (SymPy's list) and what <math.h> declares.
_MATH_H_FUNCTIONS = """
acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh erf erfc exp exp2 expm1 fabs
fdim floor fma fmax fmin fmod frexp hypot ilogb ldexp lgamma llrint llround log log10 log1p log2
logb lrint lround modf nan nearbyint nextafter nexttoward pow remainder remquo rint round scalbln
scalbn sin sinh sqrt tan tanh tgamma trunc
""".split()
_MATH_H_OTHER = """
gamma j0 j1 jn y0 y1 yn signgam drem finite scalb significand exp10 pow10 sincos isinf isnan
isfinite isnormal signbit fpclassify isgreater isgreaterequal isless islessequal islessgreater
isunordered INFINITY NAN HUGE_VAL HUGE_VALF HUGE_VALL FP_NAN FP_INFINITE FP_ZERO FP_SUBNORMAL
FP_NORMAL FP_ILOGB0 FP_ILOGBNAN MATH_ERRNO MATH_ERREXCEPT math_errhandling float_t double_t
_Bool _Complex _Imaginary bool true false main errno
""".split()
# <stdlib.h> (array code includes it for its workspace) and <stddef.h>: not C keywords, but a
# parameter named NULL, free or size_t would not compile; and what GNU C predefines (unix, linux).
_STDLIB_H = """
NULL EXIT_SUCCESS EXIT_FAILURE RAND_MAX MB_CUR_MAX size_t wchar_t div_t ldiv_t lldiv_t ptrdiff_t
max_align_t offsetof abort abs atexit at_quick_exit atof atoi atol atoll bsearch calloc div exit
_Exit free getenv labs ldiv llabs lldiv malloc mblen mbstowcs mbtowc qsort quick_exit rand realloc
srand strtod strtof strtol strtold strtoll strtoul strtoull system wcstombs wctomb aligned_alloc
unix linux i386
""".split()
RESERVED = (
    set(C99CodePrinter.reserved_words)
    | {f"{name}{suffix}" for name in _MATH_H_FUNCTIONS for suffix in ("", "f", "l")}
    | set(_MATH_H_OTHER)
    | set(_STDLIB_H)
)

# Static helpers, formatted with their C names (``name``) and what they call (``digamma``).
HELPERS = {
    "digamma": """\
static double {name}(double x)
{{
    /* digamma psi(x) = d lgamma(x)/dx: reflection, recurrence, then the asymptotic series */
    double result = 0.0;
    if (x <= 0.0 && x == floor(x)) {{
        return NAN;
    }}
    if (x < 0.5) {{
        return {name}(1.0 - x) - 3.141592653589793 / tan(3.141592653589793 * x);
    }}
    while (x < 10.0) {{
        result -= 1.0 / x;
        x += 1.0;
    }}
    const double inv = 1.0 / x;
    const double t = inv * inv;
    const double series = t * (1.0 / 12 - t * (1.0 / 120 - t * (1.0 / 252 - t * (1.0 / 240 - t * (
        1.0 / 132 - t * (691.0 / 32760 - t / 12))))));
    return result + log(x) - 0.5 * inv - series;
}}
""",
    "polygamma": """\
static double {name}(int n, double x)
{{
    /* polygamma psi_n(x) = d^(n+1) lgamma(x)/dx^(n+1), n >= 1: recurrence, then the asymptotic
       series with the Bernoulli numbers B2 .. B14 */
    static const double bernoulli[7] = {{1.0 / 6, -1.0 / 30, 1.0 / 42, -1.0 / 30, 5.0 / 66,
                                        -691.0 / 2730, 7.0 / 6}};
    double factorial = 1.0;  /* n! */
    double result = 0.0;
    double series;
    if (x <= 0.0 && x == floor(x)) {{
        return NAN;
    }}
    for (int i = 2; i <= n; ++i) {{
        factorial *= i;
    }}
    while (x < 15.0) {{
        result += factorial / pow(x, n + 1);
        x += 1.0;
    }}
    series = factorial / n / pow(x, n) + factorial / (2.0 * pow(x, n + 1));
    {{
        double ratio = factorial / n;  /* (2k + n - 1)! / (2k)!, from k = 0 */
        for (int k = 1; k <= 7; ++k) {{
            ratio *= (double)(2 * k + n - 2) * (2 * k + n - 1) / ((2.0 * k - 1) * (2.0 * k));
            series += bernoulli[k - 1] * ratio / pow(x, 2 * k + n);
        }}
    }}
    return (n % 2) ? result + series : -(result + series);
}}
""",
    "heaviside": """\
static double {name}(double x)
{{
    /* the step: 1 above 0, 0 below, 1/2 at 0 (a tie of max/min shares the derivative), nan at nan */
    if (x > 0) {{
        return 1.0;
    }}
    if (x < 0) {{
        return 0.0;
    }}
    return (x == 0) ? 0.5 : NAN;
}}
""",
    "floordiv": """\
static double {name}(double a, double b)
{{
    /* Python's a // b on floats (CPython's float_floor_div: from fmod, exact) */
    double mod = fmod(a, b);
    double div;
    double floordiv;
    if (b == 0.0) {{
        return a / b;
    }}
    div = (a - mod) / b;
    if (mod != 0.0 && ((b < 0) != (mod < 0))) {{
        div -= 1.0;
    }}
    if (div != 0.0) {{
        floordiv = floor(div);
        if (div - floordiv > 0.5) {{
            floordiv += 1.0;
        }}
    }}
    else {{
        floordiv = copysign(0.0, a / b);
    }}
    return floordiv;
}}
""",
    "mod": """\
static double {name}(double a, double b)
{{
    /* Python's a % b on floats: the remainder with the sign of b (CPython's float_rem) */
    double mod = fmod(a, b);
    if (mod != 0.0) {{
        if ((b < 0) != (mod < 0)) {{
            mod += b;
        }}
    }}
    else {{
        mod = copysign(0.0, b);
    }}
    return mod;
}}
""",
    "logaddexp": """\
static double {name}(double a, double b)
{{
    /* log(exp(a) + exp(b)) without overflow, as numpy.logaddexp computes it */
    if (a == b) {{
        return a + 0.6931471805599453;
    }}
    const double d = a - b;
    if (d > 0) {{
        return a + log1p(exp(-d));
    }}
    if (d <= 0) {{
        return b + log1p(exp(d));
    }}
    return d;
}}
""",
    "logaddexp2": """\
static double {name}(double a, double b)
{{
    /* log2(2**a + 2**b) without overflow, as numpy.logaddexp2 computes it */
    if (a == b) {{
        return a + 1.0;
    }}
    const double d = a - b;
    if (d > 0) {{
        return a + 1.4426950408889634 * log1p(exp2(-d));
    }}
    if (d <= 0) {{
        return b + 1.4426950408889634 * log1p(exp2(d));
    }}
    return d;
}}
""",
}


class CPrinter(SumsAsDifferences, C99CodePrinter):
    """C99 expressions over ``double``: exact literals, no POSIX macros, one-line conditionals."""

    def __init__(self, renames, helper_names):
        super().__init__({"strict": True})
        self.math_macros = {}  # M_PI and friends are POSIX, not C99: print the numbers
        self.renames = renames  # user name -> C name
        self.helper_names = helper_names  # helper kind -> C name
        self.helpers = set()  # helper kinds used so far

    def _print(self, expr, **kwargs):
        """A function whose registry record names it in C (``cbrt``): called by that name."""
        name = registry.printed_name(type(expr), "c")
        if name is not None:
            return f"{name}({', '.join(self._print(a) for a in expr.args)})"
        return super()._print(expr, **kwargs)

    def _print_Symbol(self, expr):
        return self.renames.get(expr.name, expr.name)

    def _print_Float(self, expr):
        return c_double(float(expr))

    def _print_PyFloat(self, expr):
        return c_double(expr.value)

    def _print_NormRoot(self, expr):
        return f"sqrt({self._print(expr.args[0])})"

    def _print_NormPower(self, expr):
        return f"pow({self._print(expr.args[0])}, 0.5)"

    math_calls = frozenset()  # nodes computed by math/builtin functions (Program.math_calls)

    def _step(self, name, expr):
        """``floor(x)`` & co.; Python's math.floor/round/int return ints, which have no -0.0:
        for those, ``+ 0.0`` turns C's -0.0 into 0.0 (numpy's floor keeps -0.0, as C does)."""
        text = f"{name}({self._print(expr.args[0])})"
        return f"({text} + 0.0)" if expr in self.math_calls else text

    def _print_Floor(self, expr):
        return self._step("floor", expr)

    def _fold(self, expr, compare):
        """Python's ``max``/``min``: the first argument, replaced by each later one that
        compares ``compare`` to the best so far (so a nan first stays, a nan later never wins)."""
        text = self._print(expr.args[0])
        for arg in expr.args[1:]:
            arg = self._print(arg)
            text = f"(({arg} {compare} {text}) ? {arg} : {text})"
        return text

    def _print_PySum(self, expr):
        """Left to right, as Python's ``sum`` of floats adds (before Python 3.12)."""
        start, *items = expr.args
        text = self._print(start) if start is not sympy.S.Zero else "0.0"
        for item in items:
            text = f"({text} + {self._print(item)})"
        return text

    def _print_PyMax(self, expr):
        return self._fold(expr, ">")

    def _print_PyMin(self, expr):
        return self._fold(expr, "<")

    def _print__NumpyExtremumBase(self, expr):
        """numpy's choice of two arguments (equal values, nan) as a conditional."""
        a, b = (self._print(arg) for arg in expr.args)
        test = {"maximum": f"{a} > {b} || {a} != {a}", "minimum": f"{a} < {b} || {a} != {a}",
                "fmax": f"{a} >= {b} || {b} != {b}", "fmin": f"{a} <= {b} || {b} != {b}"}
        return f"(({test[expr.numpy_name]}) ? {a} : {b})"

    def _print_sign(self, expr):
        x = self._print(expr.args[0])
        return f"(({x} > 0) ? 1.0 : (({x} < 0) ? -1.0 : (({x} == 0) ? 0.0 : NAN)))"

    def _print_Heaviside(self, expr):
        return self._helper("heaviside", expr.args[:1])

    def _print_Ceil(self, expr):
        return self._step("ceil", expr)

    def _print_Trunc(self, expr):
        return self._step("trunc", expr)

    def _print_Round(self, expr):
        return self._step("nearbyint", expr)  # to even, as Python's round

    def _print_FloorDiv(self, expr):
        return self._helper("floordiv", expr.args)

    def _print_PyMod(self, expr):
        return self._helper("mod", expr.args)

    def _print_Mul(self, expr):
        """``x/3.0`` for ``Rational(1, 3)*x``: one rounding, as Python's ``x / 3``; ``u/v/v`` for
        ``u*v**-2`` (see ``python_code.over_square``)."""
        text = over_square(self, expr)
        if text is not None:
            return text
        coeff, rest = expr.as_coeff_Mul()
        if coeff.is_Rational and not coeff.is_Integer and abs(coeff.p) == 1 and not rest.is_Number:
            text = self.parenthesize(rest, PRECEDENCE["Mul"])
            return f"{'-' if coeff < 0 else ''}{text}/{float(coeff.q)!r}"
        return super()._print_Mul(expr)

    def _print_Integer(self, expr):
        if abs(expr.p) < 2**31:
            return str(expr.p)
        try:
            return c_double(float(expr.p))  # as Python's float arithmetic converts it
        except OverflowError:
            raise BeyondDouble(expr.p) from None

    def _print_Relational(self, expr):
        """Python compares a float with an int exactly; C would round the int to a double
        first (and cannot write one beyond double range): such a comparison is written with the
        doubles on either side of the int, which gives the same truth for every double."""
        op = expr.rel_op
        for side, other, rel in ((expr.rhs, expr.lhs, op), (expr.lhs, expr.rhs, _FLIPPED.get(op))):
            if side.is_Integer and rel is not None and not _is_double(side.p):
                below, above = _doubles_around(side.p)
                value = self._print(other)
                if rel in ("<", "<="):
                    return f"{value} <= {c_double(below)}"
                if rel in (">", ">="):
                    return f"{value} >= {c_double(above)}"
                return f"((void)({value}), {0 if rel == '==' else 1})"  # (no double equals it)
        return super()._print_Relational(expr)

    def _print_NumberSymbol(self, expr):
        return c_double(float(expr))

    _print_Pi = _print_Exp1 = _print_NumberSymbol

    def _print_BooleanTrue(self, expr):
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"

    def _print_Pow(self, expr, rational=False):
        if expr.exp == sympy.Rational(1, 3):  # x**(1/3) is nan for x < 0, as in Python; cbrt is not
            return f"pow({self._print(expr.base)}, 1.0/3.0)"
        return super()._print_Pow(expr)

    def _print_Piecewise(self, expr):
        *branches, (last, last_condition) = expr.args
        text = self._print(last) if last_condition == sympy.true else "NAN"
        if last_condition != sympy.true:
            branches.append((last, last_condition))
        for value, condition in reversed(branches):
            text = f"({self._print(condition)}) ? ({self._print(value)}) : ({text})"
        return f"({text})"

    def _helper(self, kind, args):
        self.helpers.add(kind)
        return f"{self.helper_names[kind]}({', '.join(self._print(a) for a in args)})"

    def _print_polygamma(self, expr):
        order, arg = expr.args
        if order == 0:
            return self._helper("digamma", [arg])
        if order.is_Integer and order > 0:
            self.helpers.add("polygamma")
            return f"{self.helper_names['polygamma']}({int(order)}, {self._print(arg)})"
        return self._print_not_supported(expr)

    def _print_LogAddExp(self, expr):
        return self._helper("logaddexp", expr.args)

    def _print_LogAddExp2(self, expr):
        return self._helper("logaddexp2", expr.args)


def header_title(program, base):
    """The first line of a C file's header comment: what it is the gradient of, and from where."""
    params = ", ".join(p.name for p in program.params)
    return f"Gradient of {base}({params}), generated by symdiff from {printable(program.filename)}:{program.firstlineno}."


def header_signatures(*functions):
    """Header lines for ``(signature, what it does)`` pairs, then a blank line."""
    return [line for signature, does in functions for line in (f"   {signature}", f"       {does}")] + [""]


class BeyondDouble(NotImplementedError):
    """An int no double holds, in arithmetic (Python raises OverflowError there)."""


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _is_double(n):
    """Whether the int ``n`` is exactly a double."""
    try:
        return float(n) == n
    except OverflowError:
        return False


def _doubles_around(n):
    """The doubles just below and just above the int ``n`` (not itself a double; may be inf)."""
    try:
        nearest = float(n)
    except OverflowError:
        nearest = math.inf if n > 0 else -math.inf
    if nearest > n:
        return math.nextafter(nearest, -math.inf), nearest
    return nearest, math.nextafter(nearest, math.inf)


def c_double(value):
    """A double as a C99 literal: shortest round-trip digits, ``INFINITY``/``NAN`` from math.h."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    return repr(value)


def line_label(line):
    """``line 7``, ``line 5 of helpers.py`` (a helper's line), `` (reverse)`` after either."""
    where = f"line {line.lineno}"
    if line.filename:
        where += f" of {printable(os.path.basename(line.filename))}"
    return where + (" (reverse)" if line.reverse else "")


def _comment(text):
    """Text safe inside ``/* ... */`` (see ``safe_text.c_comment``)."""
    return c_comment(text)


def _base(program):
    return program.name if program.name.isidentifier() else "f"


def _c_names(schedule, gradient_program, constants):
    """``{name: C name}`` for every name that C or math.h reserves (or that C cannot spell)."""
    program = gradient_program.program
    names = {p.symbol.name for p in program.params} | set(constants)
    for line in walk_lines(schedule.lines):
        names.add(line.target.name)
        names |= {s.name for s in line.expr.free_symbols}
    renames = {}
    for name in sorted(names):
        bad_underscore = name.startswith("__") or (name.startswith("_") and name[1:2].isupper())
        file_scope = name in constants and name.startswith("_")
        if name in RESERVED or not name.isascii() or bad_underscore or file_scope:
            base = name.strip("_") if name.isascii() and name.strip("_") else "v"
            if not base[0].isalpha():  # '_1' (a version of '_') -> 'v1_', never '1_'
                base = "v" + base
            renames[name] = program.namer.fresh(f"{base}_")
    return renames


class _Writer(BlockPrinter):
    """Prints one program's lines and signatures with one ``CPrinter``."""

    def __init__(self, schedule, gradient_program, constants):
        self.schedule = schedule
        self.gradient_program = gradient_program
        self.program = gradient_program.program
        if self.program.shapes:
            raise ExportError(
                f"{_base(self.program)}: C export takes arrays only as 1-D array parameters "
                "(this function builds arrays out of numbers)",
                filename=self.program.filename, lineno=self.program.firstlineno,
                hint="pass the array as a parameter (emit(f, language='c', args=(x0, ...))), or "
                "export Python with symdiff.emit(f)",
            )
        namer = self.program.namer
        self.renames = _c_names(schedule, gradient_program, constants)
        self.printer = CPrinter(self.renames, {k: namer.fresh(f"symdiff_{k}") for k in HELPERS})
        self.printer.math_calls = schedule.math_calls or frozenset()
        self.params = [self.name(p.symbol.name) for p in self.program.params]
        self.outputs = [namer.fresh(f"d_{p.name}") for p in gradient_program.wrt]
        self.base = _base(self.program)

    def name(self, name):
        return self.renames.get(name, name)

    def expr(self, expr, line=None):
        try:
            if expr.is_Pow and expr.exp == 2 and expr.base.is_Symbol:
                name = self.printer.doprint(expr.base)
                return f"{name}*{name}"
            return self.printer.doprint(expr)
        except BeyondDouble as exc:
            raise ExportError(
                f"{self.base}: an int of {len(str(abs(exc.args[0])))} digits is beyond double "
                "range (Python raises OverflowError converting it to float)",
                filename=self.program.filename,
                lineno=line.lineno if line is not None else None,
                hint="use a float within range (about 1.8e308)",
            ) from None
        except NotImplementedError:
            raise ExportError(
                f"{self.base}: cannot write {sympy.sstr(expr)} in C",
                filename=self.program.filename,
                lineno=line.lineno if line is not None else None,
                hint="emit Python instead (language='python'), or avoid this function",
            ) from None

    def body(self, returns):
        """Statements computing ``returns``: ``(void)`` for unused parameters, then the lines."""
        lines = self.schedule.needed(returns)
        used = set().union(*(r.free_symbols for r in returns), names_read(lines))
        out = [f"    (void){self.name(p.symbol.name)};  /* unused */"
               for p in self.program.params if p.symbol not in used]
        return out + self._lines(lines, "    ", declared=False)

    def _lines(self, lines, indent, declared):
        """C statements for ``lines`` (``declared``: inside an ``if``, where the names are
        declared already)."""
        return self.block(lines, indent, nested=declared)

    # ---- backends.blocks: /* line N: ... */ comments, if (...) { } else { } ----
    arm_keeps_comment = False

    def comment_text(self, line):
        return f"/* {_comment(f'{line_label(line)}: {line.source}')} */"

    def opening(self, block, indent, nested):
        out = []
        if not nested:  # names set inside the branches live on after them
            names = dict.fromkeys(self.name(inner.target.name) for inner in walk_lines([block]))
            out += [f"{indent}double {name} = 0.0;" for name in names]
        out.append(f"{indent}if ({self.expr(block.cond, block)}) {{")
        return out

    def else_line(self, indent):
        return [f"{indent}}} else {{"]

    def closing(self, indent):
        return [f"{indent}}}"]

    def line(self, line, indent, nested):
        text = self.expr(line.expr, line)
        if nested:
            return [f"{indent}{self.name(line.target.name)} = {text};"]
        return [f"{indent}const double {self.name(line.target.name)} = {text};"]

    def function(self, kind):
        """``grad`` or ``value_and_grad``: (signature, full definition)."""
        gradients = list(self.schedule.gradients)
        with_value = kind == "value_and_grad"
        returns = [self.schedule.value, *gradients] if with_value else gradients
        inputs = [f"double {p}" for p in self.params]
        single = len(gradients) == 1
        pointers = [] if single and not with_value else [f"double *{o}" for o in self.outputs]
        returns_double = single or with_value
        signature = (
            f"{'double' if returns_double else 'void'} {self.base}_{kind}"
            f"({', '.join(inputs + pointers) or 'void'})"
        )
        body = self.body(returns)
        if pointers:
            body += [f"    *{o} = {self.expr(g)};" for o, g in zip(self.outputs, gradients)]
        if with_value:
            body.append(f"    return {self.expr(self.schedule.value)};")
        elif single:
            body.append(f"    return {self.expr(gradients[0])};")
        return signature, "\n".join([signature, "{", *body, "}"]) + "\n"


def c_source(schedule, gradient_program, formulas, constants):
    """The C99 translation unit for this gradient (see the module docstring)."""
    writer = _Writer(schedule, gradient_program, constants)
    program = writer.program
    grad_signature, grad_text = writer.function("grad")
    vg_signature, vg_text = writer.function("value_and_grad")
    base = writer.base
    derivs = [f"d{base}/d{p.name}" for p in gradient_program.wrt]
    wrt = ", ".join(p.name for p in gradient_program.wrt)
    if len(derivs) == 1:
        grad_does = f"returns {derivs[0]}"
        vg_does = f"returns {base}, stores {derivs[0]} in *{writer.outputs[0]}"
    else:
        stored = ", ".join(f"*{o}" for o in writer.outputs)
        grad_does = f"stores {', '.join(derivs)} in {stored}"
        vg_does = f"returns {base}, stores the gradient in {stored}"
    header = [
        header_title(program, base),
        "",
        *[f"       {d} = {sympy.sstr(f)}" for d, f in zip(derivs, formulas.values())],
        "",
        *header_signatures((grad_signature, grad_does), (vg_signature, vg_does)),
        "   C99; needs only <math.h> (link with -lm). Standalone: no symdiff at run time.",
    ]
    if constants:
        names = ", ".join(writer.name(name) for name in constants)
        header += [f"   Baked in below: the values {names} had when this file was generated."]
    parts = ["/* " + _comment("\n".join(header)) + " */\n", "#include <math.h>\n"]
    if constants:
        parts.append("".join(
            f"static const double {writer.name(name)} = {c_double(float(value))};\n"
            for name, value in constants.items()
        ))
    helpers = writer.printer.helpers
    parts += [HELPERS[kind].format(name=writer.printer.helper_names[kind]) for kind in sorted(helpers)]
    parts.append(f"/* Gradient of {base} with respect to {wrt}. */\n{grad_text}")
    parts.append(f"/* Value of {base} and its gradient with respect to {wrt}. */\n{vg_text}")
    return "\n".join(parts)
