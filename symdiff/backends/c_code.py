"""c_code: a schedule -> C99 source of the gradient functions (needs only ``math.h``).

Takes: a ``Schedule``, its ``GradientProgram``, the formulas (for the header) and constants.
Returns: C text: each schedule line becomes ``const double name = ...;``; ``<f>_grad`` returns a
single gradient or stores several through ``double *d_<param>``; ``<f>_value_and_grad`` returns the
value. Names that C reserves get a fresh spelling; a function the registry spells with a ``Helper``
(digamma, logaddexp, the step, the sign, Python's ``//`` and ``%``) is a static function in the file.
Functions of 1-D arrays go through ``c_arrays`` (pointer + length, loops; it builds on the printer
and the scalar writer here).
"""

import itertools
import math
import os
from collections.abc import Mapping

import sympy
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import PRECEDENCE

from ..errors import ExportError
from ..explain.recurrences import recurrence_lines
from ..primitives import registry
from ..primitives.faithful import Raising
from .blocks import BlockPrinter
from .python_code import Spelling, SumsAsDifferences, over_square
from .safe_text import c_comment, printable
from ..lower.schedule import ForBlock, IfBlock, lines_outside_loops, names_read, walk_lines

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



class _Helpers(Mapping):
    """The C definitions of the registry's helpers, by name (``HELPERS["heaviside"]``), each to
    be formatted with its C name (``name``)."""

    def __getitem__(self, name):
        found = registry.helper(name).c
        if found is None:
            raise KeyError(name)
        return found

    def __iter__(self):
        return iter([h.name for h in registry.helpers("c")])

    def __len__(self):
        return len(registry.helpers("c"))


HELPERS = _Helpers()


def helper_names(namer):
    """``{helper name: its C name}`` (``symdiff_digamma``) for every helper with a C source."""
    return {h.name: namer.fresh(f"symdiff_{h.name}") for h in registry.helpers("c")}


def helper_definitions(printer):
    """The C definitions of the helpers ``printer`` called, in order of their names."""
    return [registry.helper(name).c.format(name=printer.helper_names[name]) for name in sorted(printer.helpers)]


class CPrinter(Spelling, SumsAsDifferences, C99CodePrinter):
    """C99 expressions over ``double``: exact literals, no POSIX macros, one-line conditionals."""

    def __init__(self, renames, helper_names):
        super().__init__({"strict": True})
        self.math_macros = {}  # M_PI and friends are POSIX, not C99: print the numbers
        self.renames = renames  # user name -> C name
        self.helper_names = helper_names  # helper kind -> C name
        self.helpers = set()  # helper kinds used so far

    def _print(self, expr, **kwargs):
        """A function whose registry record spells it in C (``cbrt``, a helper such as
        ``symdiff_heaviside``, ``floor(x) + 0.0``): as the record says."""
        spelling = registry.print_as(type(expr), "c")
        if spelling is not None:
            return self.spell(spelling, expr)
        return super()._print(expr, **kwargs)

    # ---- what a record's spelling uses (registry.Primitive.print_as; spell, text: Spelling) ----
    def name(self, what):
        """How C refers to ``what``: a name of math.h as it is, a ``Helper`` by its C name (the
        file will define it)."""
        if isinstance(what, registry.Helper):
            self.helpers.add(what.name)
            return self.helper_names[what.name]
        return what

    def call(self, what, *texts):
        """``what`` (see ``name``) called with the printed arguments ``texts``."""
        return f"{self.name(what)}({', '.join(texts)})"

    def not_supported(self, expr):
        """The printer's error for an ``expr`` it cannot spell."""
        return self._print_not_supported(expr)

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

    def _print_PNormRoot(self, expr):
        return f"pow({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    math_calls = frozenset()  # nodes computed by math/builtin functions (Program.math_calls): the
    # spellings of math.floor & co. read it

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
    for block in for_blocks(schedule.lines):
        names |= {block.index.name, block.tape.name, *(s.name for s in block.saved)}
        names |= {n.name for n, _ in block.carried}
        if block.trip.is_Symbol:
            names.add(block.trip.name)
        if block.checkpoints is not None:
            c = block.checkpoints
            names |= {c.segment.name, c.start.name, c.end.name, c.tape.name}
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


def for_blocks(lines, inside=False):
    """Every ``ForBlock`` in ``lines`` (in ``IfBlock`` arms and loop bodies too), in order;
    with ``inside``: ``(block, whether it sits in another loop's body)`` pairs."""
    found = []

    def visit(items, depth):
        for item in items:
            if isinstance(item, IfBlock):
                visit(item.then, depth)
                visit(item.orelse, depth)
            elif isinstance(item, ForBlock):
                found.append((item, depth > 0) if inside else item)
                if item.test is not None:
                    visit(item.test[0], depth + 1)
                visit(item.body, depth + 1)

    visit(lines, 0)
    return found


def _counter_bounds(lines, namer, limit=10**6):
    """``{id(block): its largest trip count}`` for each ``ForBlock`` in ``lines`` whose trip
    count is an expression of the counters of the loops around it (``range(i)``,
    ``range(2*i + 1)``: loops in loops), where those loops have constant trip counts (the count
    evaluated at every combination of their counters, at most ``limit``; 0 for none)."""
    bounds = {}

    def visit(items, around):
        for item in items:
            if isinstance(item, IfBlock):
                visit(item.then, around)
                visit(item.orelse, around)
            elif isinstance(item, ForBlock):
                trip = item.trip
                if not trip.is_Integer and item.test is None:
                    ranges = {block.index: int(block.trip) for block in around
                              if block.test is None and block.trip.is_Integer}
                    size = math.prod(ranges.get(s, 0) for s in trip.free_symbols)
                    if trip.free_symbols <= ranges.keys() and size <= limit:
                        order = sorted(trip.free_symbols, key=str)
                        count = sympy.lambdify(order, trip, "math")
                        values = itertools.product(*(range(ranges[s]) for s in order))
                        bounds[id(item)] = max([0, *(int(count(*v)) for v in values)])
                inner = [*around, item]
                if item.test is not None:
                    visit(item.test[0], inner)
                if item.checkpoints is not None:
                    visit(item.checkpoints.body, inner)
                visit(item.body, inner)

    visit(lines, [])
    return bounds


def _conditions_read(lines):
    """The names the conditions of the ``IfBlock`` s in ``lines`` read (in loops too)."""
    found = set()
    for item in lines:
        if isinstance(item, IfBlock):
            found |= item.cond.free_symbols | _conditions_read(item.then) | _conditions_read(item.orelse)
        elif isinstance(item, ForBlock):
            found |= _conditions_read(item.body)
    return found


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
        raising = next((line for line in walk_lines(schedule.lines) if isinstance(line.expr, Raising)), None)
        if raising is not None:
            raise ExportError(
                f"{_base(self.program)}: C has no exceptions, and the function raises "
                f"({raising.expr.text}) under a condition on a differentiated value",
                filename=raising.filename or self.program.filename, lineno=raising.lineno,
                hint="check the arguments before calling the C function, or export Python with "
                "symdiff.emit(f), which raises as your function does",
            )
        namer = self.program.namer
        self.renames = _c_names(schedule, gradient_program, constants)
        self.printer = CPrinter(self.renames, helper_names(namer))
        self.printer.math_calls = schedule.math_calls or frozenset()
        self.params = [self.name(p.symbol.name) for p in self.program.params]
        self.outputs = [namer.fresh(f"d_{p.name}") for p in gradient_program.wrt]
        self.base = _base(self.program)
        # int parameters that are only trip counts of loops (range(n)): ``long`` in C
        wrt = {p.symbol for p in gradient_program.wrt}
        trips = {b.trip for b in for_blocks(schedule.lines) if b.trip.is_Symbol}
        self.counts = {p.symbol for p in self.program.params if p.symbol in trips and p.symbol not in wrt}
        self._loops_checked()
        # names a rolled loop assigns again (its carried values): ``double``, not ``const double``
        self.mutable = {n for block in for_blocks(schedule.lines) for n, _ in block.carried}
        self.tapes = {}  # the function being written: its tapes -> their sizes in doubles
        self.workspace = None  # (and the buffer that holds them)
        self.growing = {}  # its while loops' tapes (grown by realloc) -> their capacity's name
        self.failed = []  # the statements that give up (every result NAN) when an allocation fails
        self.allocates = False  # whether a function of the file calls malloc
        self.reallocates = False  # whether one grows a tape with realloc
        self.depth = 0  # how many loops the line being written is inside

    def _loops_checked(self):
        """A located ``ExportError`` for a rolled loop C does not print: a ``while`` on data
        (no trip count known on entry), a trip count that is not a constant, a loop in a loop."""
        counted = {block.trip for block in for_blocks(self.schedule.lines) if block.test is not None}
        self.bounds = _counter_bounds(self.schedule.lines, self.program.namer)
        for block, nested in for_blocks(self.schedule.lines, inside=True):
            where = dict(filename=self.program.filename, lineno=block.lineno)
            if block.checkpoints is not None and block.checkpoints.growing:
                raise ExportError(
                    f"{self.base}: C export takes checkpoint='sqrt' only where the trip count "
                    "is a constant (here it is known only as the loop runs)",
                    hint="pass an int: symdiff.emit(f, language='c', checkpoint=K)", **where)
            if block.trip in counted:
                continue  # a while (or a for over a range of data): counted as it runs
            if not ((block.trip.is_Integer and int(block.trip) >= 0)
                    or (block.trip.is_Symbol and block.trip in self.counts)
                    or id(block) in self.bounds):  # (range(i) of an enclosing loop's counter)
                hint = ("pass example arguments: symdiff.emit(f, language='c', args=(x0, ...)) "
                        "specialises on the int arguments")
                if nested and block.trip.free_symbols - self.counts:  # range(i): the tape's size
                    hint = ("C sizes each loop's tape before the function runs: here the inner "
                            "loop's count must be an int expression of the counters of loops "
                            "around it over constant ranges (range(i), range(2*i + 1)); or "
                            "export Python (symdiff.emit(f)), which keeps both loops")
                raise ExportError(
                    f"{self.base}: C export needs the trip count of the loop to be a constant "
                    f"or an int argument (it is {sympy.sstr(block.trip)})", hint=hint, **where)

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
        # every name a line, a loop or a result reads (a carried value none reads: (void))
        self.reads = set().union(*(r.free_symbols for r in returns),
                                 *(line.symbols for line in walk_lines(lines)), _conditions_read(lines))
        for block in for_blocks(lines):
            self.reads |= set(block.saved) | {s for _, v in block.carried for s in v.free_symbols}
        # a forward line in a loop kept only because it may raise (Python raises there): C has
        # no exceptions, and nothing reads its value (a (void) after it)
        self.unread = {line.target for line in walk_lines(lines) if not line.reverse} - self.reads \
            - used
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
            names = dict.fromkeys(self.name(inner.target.name) for inner in lines_outside_loops([block]))
            out += [f"{indent}double {name} = 0.0;" for name in names]
        out.append(f"{indent}if ({self.expr(block.cond, block)}) {{")
        return out

    def else_line(self, indent):
        return [f"{indent}}} else {{"]

    def closing(self, indent):
        return [f"{indent}}}"]

    def line(self, line, indent, nested):
        text = self.expr(line.expr, line)
        name = self.name(line.target.name)
        unread = [f"{indent}(void){name};"] if line.target in getattr(self, "unread", ()) else []
        if nested:
            return [f"{indent}{name} = {text};"] + unread
        const = "" if line.target in self.mutable else "const "
        return [f"{indent}{const}double {name} = {text};"] + unread

    def visit_ForBlock(self, block, scope, out):
        """A rolled loop (``lower.schedule.ForBlock``) over its constant trip count: the forward
        one stores the values its reverse reads in its tape (a part of the function's one
        ``malloc``'d buffer), the reverse one runs the iterations last first and reads them
        back. The body is a block of its own (its names are declared in it, every iteration).
        A forward ``while`` (``block.test``): ``_while_head``."""
        self._comment(block, scope, out)
        if block.reverse and block.checkpoints is not None:
            self._segments(block, scope, out)
            return
        indent, inner = scope.indent, scope.indent + self.step
        namer = self.program.namer
        k = namer.fresh("_k")
        trip = self.trip(block)
        width = len(block.saved)
        tape = self.name(block.tape.name)
        every = int(block.checkpoints.every) if block.checkpoints is not None else 1
        if block.test is not None:
            if block.counted and self.depth:  # (nested in a loop: counted again each time)
                out.append(f"{indent}{trip} = 0;")
            out += self._while_head(block, indent, inner, every)
            k = trip  # (the iterations so far: where this one's values go on the tape)
        elif not block.reverse:
            out.append(f"{indent}for (long {k} = 0; {k} < {trip}; ++{k}) {{")
        else:
            last = str(int(trip) - 1) if trip.isdigit() else f"{trip} - 1"
            out.append(f"{indent}for (long {k} = {last}; {k} >= 0; --{k}) {{")
        read = names_read(block.body) | {s for _, v in block.carried for s in v.free_symbols}
        if block.index in read:
            out.append(f"{inner}const double {self.name(block.index.name)} = (double){k};")
        slot = k if every == 1 else f"({k} / {every})"  # (checkpoints: every K-th iteration)
        stores = []
        for j, saved in enumerate(block.saved):
            place = f"{tape}[(size_t){slot}*{width} + {j}]" if width > 1 else f"{tape}[{slot}]"
            if block.reverse:
                out.append(f"{inner}const double {self.name(saved.name)} = {place};")
            else:
                stores.append(f"{place} = {self.name(saved.name)};")
        if every == 1 or not stores:
            out += [f"{inner}{line}" for line in stores]
        else:
            out += [f"{inner}if ({k} % {every} == 0) {{",
                    *[f"{inner}{self.step}{line}" for line in stores], f"{inner}}}"]
        self.depth += 1  # (a loop nested in this one: ``depth`` > 0)
        out += self.block(block.body, inner, False, (block.lineno, block.reverse, block.filename))
        self.depth -= 1
        out += self._assigned(block.carried, inner, block)
        if block.test is not None and block.counted:
            out.append(f"{inner}++{trip};")
        out.append(f"{indent}}}")
        unread = [n for n, _ in block.carried if n not in self.reads]
        if unread:  # (the other function returns it: here it is computed and not used)
            out.append(f"{indent}{' '.join(f'(void){self.name(n.name)};' for n in unread)}  /* unused */")
        scope.current = None

    def _assigned(self, carried, indent, block):
        """A loop's carried pairs ``(name, value)`` assigned at once, in C."""
        namer = self.program.namer
        pairs = [(n, v) for n, v in carried if n != v]
        if len(pairs) == 1:
            (n, v), = pairs
            return [f"{indent}{self.name(n.name)} = {self.expr(v, block)};"]
        if pairs and not {n for n, _ in pairs} & {s for _, v in pairs for s in v.free_symbols}:
            return [f"{indent}{self.name(n.name)} = {self.expr(v, block)};" for n, v in pairs]
        temps = [namer.fresh("_next") for _ in pairs]  # at once: every new value from the old ones
        return ([f"{indent}const double {t} = {self.expr(v, block)};" for t, (_, v) in zip(temps, pairs)]
                + [f"{indent}{self.name(n.name)} = {t};" for t, (n, _) in zip(temps, pairs)])

    def _segments(self, block, scope, out):
        """The reverse of a checkpointed loop (``lower.checkpoints``): its segments last first,
        each one's state read from its checkpoint, run forward again (storing what the adjoints
        read on the segment's tape, K iterations of the function's buffer), then backward."""
        checkpoints, step = block.checkpoints, self.step
        indent, inner, innermost = scope.indent, scope.indent + step, scope.indent + 2 * step
        namer = self.program.namer
        every, trip = int(checkpoints.every), self.trip(block)
        state, saved = checkpoints.state, block.saved
        keep, width = self.name(block.tape.name), len(state)
        tape, seg_width = self.name(checkpoints.tape.name), len(saved)
        segment, start, end = (self.name(n.name) for n in
                               (checkpoints.segment, checkpoints.start, checkpoints.end))
        if trip.isdigit():
            count = str(-(-int(trip) // every))
        else:
            count = f"({trip} > 0 ? ({trip} - 1) / {every} + 1 : 0)"
        out.append(f"{indent}for (long {segment} = {count} - 1; {segment} >= 0; --{segment}) {{")
        for j, name in enumerate(state):
            place = f"{keep}[(size_t){segment}*{width} + {j}]" if width > 1 else f"{keep}[{segment}]"
            out.append(f"{inner}double {self.name(name.name)} = {place};")
        out.append(f"{inner}const long {start} = {segment} * {every};")
        out.append(f"{inner}const long {end} = {start} + {every} < {trip} ? {start} + {every} : {trip};")
        forward_read = names_read(checkpoints.body) | {
            s for _, v in checkpoints.carried for s in v.free_symbols}
        reverse_read = names_read(block.body) | {s for _, v in block.carried for s in v.free_symbols}
        for body, carried, read, reverse in ((checkpoints.body, checkpoints.carried, forward_read, False),
                                             (block.body, block.carried, reverse_read, True)):
            k = namer.fresh("_k")
            if reverse:
                out.append(f"{inner}for (long {k} = {end} - 1; {k} >= {start}; --{k}) {{")
            else:
                out.append(f"{inner}for (long {k} = {start}; {k} < {end}; ++{k}) {{")
            if block.index in read:
                out.append(f"{innermost}const double {self.name(block.index.name)} = (double){k};")
            for j, name in enumerate(saved):
                place = (f"{tape}[(size_t)({k} - {start})*{seg_width} + {j}]" if seg_width > 1
                         else f"{tape}[{k} - {start}]")
                out.append(f"{innermost}const double {self.name(name.name)} = {place};" if reverse
                           else f"{innermost}{place} = {self.name(name.name)};")
            self.depth += 1
            out += self.block(body, innermost, False, (block.lineno, reverse, block.filename))
            self.depth -= 1
            if not reverse:  # (the state only: the other carried values are read by nothing)
                out += [f"{innermost}(void){self.expr(v, block)};  /* not part of the state */"
                        for n, v in carried if n not in state and v.is_Symbol]
                carried = [(n, v) for n, v in carried if n in state]
            out += self._assigned(carried, innermost, block)
            out.append(f"{inner}}}")
        out.append(f"{indent}}}")
        unread = [n for n, _ in block.carried if n not in self.reads]
        if unread:
            out.append(f"{indent}{' '.join(f'(void){self.name(n.name)};' for n in unread)}  /* unused */")
        scope.current = None

    def _while_head(self, block, indent, inner, every=1):
        """A forward ``while`` on data: ``for (;;)``, out where the last iteration broke out
        (or returned) or the condition fails; its tape grows by doubling (``realloc``) before
        the iteration's values are stored (``every``: checkpoints, every K-th iteration's),
        and where that fails every result is NAN (every tape freed)."""
        lines, condition, broke = block.test
        where = (block.lineno, block.reverse, block.filename)
        out = [f"{indent}for (;;) {{"]
        if broke is not None:
            out.append(f"{inner}if ({self.name(broke.name)} > 0.5) break;")
        out += self.block(lines, inner, False, where)
        out.append(f"{inner}if (!({self.expr(condition, block)})) break;")
        if not block.saved:
            return out
        namer, step = self.program.namer, self.step
        tape, capacity = self.name(block.tape.name), self.growing[block.tape]
        width = len(block.saved)
        grown, bigger = namer.fresh("_grown"), namer.fresh("_bigger")
        per = f"sizeof(double) * {width}" if width > 1 else "sizeof(double)"
        count = self.trip(block)
        full = (f"(size_t){count} == {capacity}" if every == 1
                else f"{count} % {every} == 0 && (size_t)({count} / {every}) == {capacity}")
        out += [
            f"{inner}if ({full}) {{  /* full: twice the room */",
            f"{inner}{step}const size_t {grown} = {capacity} ? 2 * {capacity} : 64;",
            f"{inner}{step}double *const {bigger} = {grown} <= (size_t)-1 / "
            f"{f'({per})' if width > 1 else per} ? "
            f"realloc({tape}, {per} * {grown}) : NULL;",
            f"{inner}{step}if ({bigger} == NULL) {{",
            *[f"{inner}{step * 2}{line}" for line in self.freed() + self.failed],
            f"{inner}{step}}}",
            f"{inner}{step}{tape} = {bigger};",
            f"{inner}{step}{capacity} = {grown};",
            f"{inner}}}",
        ]
        return out

    def freed(self):
        """``free(...)`` of every buffer the function being written allocates."""
        found = [self.workspace] if self.tapes else []
        return [f"free({name});" for name in found + [self.name(t.name) for t in self.growing]]

    def trip(self, block):
        """A loop's trip count in C: a number, the name of a ``long`` parameter, or ``(long)(e)``
        of an expression of the counters of loops around it (``range(2*i + 1)``)."""
        if block.trip.is_Integer:
            return str(int(block.trip))
        if id(block) not in self.bounds:
            return self.name(block.trip.name)
        return f"(long)({self.expr(block.trip)})"  # (the counters are doubles in C)

    def tape_size(self, block):
        """The doubles a forward loop's tape holds (text): trip count x values per iteration
        (a negative count runs no iteration, as ``range`` does)."""
        width = len(block.saved)
        every = int(block.checkpoints.every) if block.checkpoints is not None else 1
        if block.trip.is_Integer:
            return str(-(-int(block.trip) // every) * width)
        if id(block) in self.bounds:  # (its largest count over the counters' ranges)
            return str(-(-self.bounds[id(block)] // every) * width)
        n = self.trip(block)
        count = (f"(size_t)({n} > 0 ? {n} : 0)" if every == 1
                 else f"(size_t)({n} > 0 ? ({n} - 1) / {every} + 1 : 0)")  # (checkpoints)
        return count if width == 1 else f"{count}*{width}"

    def allocation(self, failed):
        """The lines that allocate the tapes (one buffer) at the top of a function, ``failed``
        the statements that give up when ``malloc`` returns NULL."""
        if not self.tapes:
            return []
        sizes = list(self.tapes.values())
        constant = sum(int(n) for n in sizes if n.isdigit()) + 1  # + 1: never a size of 0
        total = " + ".join([n for n in sizes if not n.isdigit()] + [str(constant)])
        if total.isdigit():
            total = f"(size_t){total}"
        allocate = f"malloc(sizeof(double) * ({total}))"
        counts = {}  # a trip count argument -> the doubles per iteration its tapes hold
        for block in self.taped:
            if not block.trip.is_Integer and id(block) not in self.bounds:
                counts[self.trip(block)] = counts.get(self.trip(block), 0) + len(block.saved)
        if counts:  # a count whose tape would not fit in a size_t: NAN, as malloc failing
            width = sum(counts.values())
            fits = " && ".join(f"({n} <= 0 || (size_t){n} <= ((size_t)-1 / sizeof(double) - {constant}) / {width})"
                               for n in counts)
            allocate = f"({fits}) ? {allocate} : NULL"
        out = [f"    double *const {self.workspace} = {allocate};"
               "  /* + 1: never a size of 0 */",
               f"    if ({self.workspace} == NULL) {{", *[f"        {f}" for f in failed], "    }"]
        offset = []
        for tape, size in self.tapes.items() if len(self.tapes) > 1 else ():
            where = f"{self.workspace} + {' + '.join(offset)}" if offset else self.workspace
            out.append(f"    double *const {self.name(tape.name)} = {where};")
            offset.append(size)
        return out

    def function(self, kind):
        """``grad`` or ``value_and_grad``: (signature, full definition)."""
        gradients = list(self.schedule.gradients)
        with_value = kind == "value_and_grad"
        returns = [self.schedule.value, *gradients] if with_value else gradients
        inputs = [f"{'long' if p.symbol in self.counts else 'double'} {self.name(p.symbol.name)}"
                  for p in self.program.params]
        single = len(gradients) == 1
        pointers = [] if single and not with_value else [f"double *{o}" for o in self.outputs]
        returns_double = single or with_value
        signature = (
            f"{'double' if returns_double else 'void'} {self.base}_{kind}"
            f"({', '.join(inputs + pointers) or 'void'})"
        )
        failed = [f"*{o} = NAN;" for o in self.outputs] if pointers else []
        failed.append("return NAN;" if returns_double else "return;")
        needed = for_blocks(self.schedule.needed(returns))
        self.taped = [block for block in needed
                      if not block.reverse and block.saved and block.test is None]
        whiles = [block for block in needed if not block.reverse and block.test is not None]
        self.growing = {block.tape: self.program.namer.fresh(f"{self.name(block.tape.name)}_capacity")
                        for block in whiles if block.saved}
        self.failed = failed
        self.reallocates |= bool(self.growing)
        self.tapes = {block.tape: self.tape_size(block) for block in self.taped}
        for block in needed:  # checkpoints: each reverse loop's segment tape, K iterations
            if block.reverse and block.checkpoints is not None:
                self.tapes[block.checkpoints.tape] = str(int(block.checkpoints.every) * len(block.saved))
        if len(self.tapes) == 1:  # the buffer is the one tape
            self.workspace = self.name(next(iter(self.tapes)).name)
        else:
            self.workspace = self.program.namer.fresh("_tapes") if self.tapes else None
        self.allocates |= bool(self.tapes) or bool(self.growing)
        counts = [f"    long {self.trip(block)} = 0;  /* iterations of the loop at line {block.lineno} */"
                  for block in whiles if block.counted]
        growing = [line for tape, capacity in self.growing.items()
                   for line in (f"    double *{self.name(tape.name)} = NULL;  /* grown as the loop runs */",
                                f"    size_t {capacity} = 0;")]
        body = self.allocation(failed) + counts + growing + self.body(returns)
        if pointers:
            body += [f"    *{o} = {self.expr(g)};" for o, g in zip(self.outputs, gradients)]
        body += [f"    {line}" for line in self.freed()]
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
        *recurrence_lines(formulas, "       "),
        "",
        *header_signatures((grad_signature, grad_does), (vg_signature, vg_does)),
    ]
    if writer.reallocates:
        header += [
            "   The loops' tapes (a while loop's grown with realloc, doubling) are freed before",
            "   each function returns; where an allocation fails, every result is NAN.",
            "",
            "   C99; needs <math.h> and <stdlib.h> (malloc, realloc, free); link with -lm.",
            "   Standalone: no symdiff at run time.",
        ]
    elif writer.allocates:
        header += [
            "   The loops' tapes live in one malloc'd buffer, freed before each function returns;",
            "   where malloc fails, every result is NAN.",
            "",
            "   C99; needs <math.h> and <stdlib.h> (malloc, free); link with -lm. Standalone: no",
            "   symdiff at run time.",
        ]
    else:
        header.append("   C99; needs only <math.h> (link with -lm). Standalone: no symdiff at run time.")
    if constants:
        names = ", ".join(writer.name(name) for name in constants)
        header += [f"   Baked in below: the values {names} had when this file was generated."]
    includes = "#include <math.h>\n" + ("#include <stdlib.h>\n" if writer.allocates else "")
    parts = ["/* " + _comment("\n".join(header)) + " */\n", includes]
    if constants:
        parts.append("".join(
            f"static const double {writer.name(name)} = {c_double(float(value))};\n"
            for name, value in constants.items()
        ))
    parts += helper_definitions(writer.printer)
    parts.append(f"/* Gradient of {base} with respect to {wrt}. */\n{grad_text}")
    parts.append(f"/* Value of {base} and its gradient with respect to {wrt}. */\n{vg_text}")
    return "\n".join(parts)
