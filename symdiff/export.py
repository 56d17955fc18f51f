"""export: a function -> the source text of a standalone gradient module (Python or C).

Takes: a Python function (or a ``Gradient``), the parameters to differentiate and a language.
Returns: text that does not import symdiff — Python needing only ``math``/``numpy``, or C99 needing
only ``math.h`` (and ``stdlib.h`` for array temporaries) — with the globals and closure numbers the
function reads baked in as constants. C for functions of 1-D arrays comes from ``c_arrays``.
"""

import inspect
from pathlib import Path

import numpy as np

from .explain import chain_rule as explain
from .explain.recurrences import recurrence_lines
from .ir import Loop, walk
from .api import Gradient
from .backends.c_arrays import c_array_source
from . import pipeline, pytrees
from .pipeline import Spec
from .backends.c_code import c_source
from .errors import ExportError, SymdiffError
from .frontend.parse import parse_function
from .frontend.parse import signature as parse_signature
from .backends.python_code import generate
from .backends.safe_text import printable
from .frontend.interpreter import NeedsConcrete
from .lower import checkpoints
from .runtime.dispatch import resolve_wrt

LANGUAGES = ("python", "c")


def emit(f, wrt=None, language="python", path=None, args=None, checkpoint=None):
    """Source of a standalone module computing the gradient of ``f``; written to ``path`` if given.

    ``wrt`` is as for ``grad`` (a ``Gradient`` passed as ``f`` keeps its own ``wrt`` by default).
    The module defines ``<f>_grad`` and ``<f>_value_and_grad``. ``args``: example arguments, for
    a function whose code depends on them (array shapes, list lengths, int loop counts): the
    module is specialised to arguments of the same kinds. In C, 1-D array arguments become
    ``const double *x, long n_x`` and the code takes any length (``c_arrays``). ``checkpoint``:
    as for ``grad`` (a ``Gradient`` passed as ``f`` keeps its own by default); in C, ``"sqrt"``
    only where the trip count is a constant.

    >>> def f(x, y):
    ...     return x * y + y ** 2
    >>> namespace = {}
    >>> exec(emit(f), namespace)
    >>> namespace["f_grad"](2.0, 3.0)
    (3.0, 8.0)
    """
    if language not in LANGUAGES:
        raise ExportError(f"language must be one of {', '.join(map(repr, LANGUAGES))}, not {language!r}")
    if isinstance(f, Gradient):
        fun, wrt = f.fun, f.wrt if wrt is None else wrt
        checkpoint = f.checkpoint if checkpoint is None else checkpoint
    else:
        fun = f
    checkpoint = checkpoints.checked(checkpoint)
    parsed = parse_function(fun)
    wrt_names, _ = resolve_wrt(wrt, parse_signature(fun).parameters, fun)
    if language == "c" and args is not None and any(_is_array(a) for a in args):
        text = _c_arrays(fun, parsed, wrt_names, tuple(args))
    else:
        text = _emit(fun, parsed, wrt_names, language, args, checkpoint)
    if path is not None:
        _check_not_the_source(path, parsed)
        Path(path).write_text(text, encoding="utf-8")
    return text


def _check_not_the_source(path, parsed):
    """``path`` must not be the file the function is defined in (that would replace the user's
    source with the generated module)."""
    target = Path(path)
    source = Path(parsed.filename)
    if target.exists() and source.is_file() and target.samefile(source):
        raise ExportError(
            f"refusing to write {path}: it is the file {parsed.fun.__qualname__} is defined in",
            filename=parsed.filename, lineno=parsed.firstlineno,
            hint="write the generated module to a file of its own (e.g. path='loss_grad.py')",
        )


def _emit(fun, parsed, wrt_names, language, args, checkpoint):
    shapes = None
    if args is not None:
        gradient = Gradient(fun, wrt=wrt_names, checkpoint=checkpoint)
        # a Python module is specialised on the int arguments, as before; C takes an int that
        # only counts range() loops at run time (one C function for every trip count)
        gradient._counts = language == "c"
        args = gradient.bind(*args)
        built = gradient.build_for(*args)
        if language == "python":
            shapes = _shape_check(fun, wrt_names, args, built)
    else:
        try:
            built = pipeline.build(Spec(parsed, tuple(wrt_names), rolled=True, checkpoint=checkpoint))
        except NeedsConcrete as exc:
            raise ExportError(
                f"{fun.__qualname__} cannot be exported without knowing its arguments: "
                f"{', '.join(exc.args[0]) if exc.args else 'a parameter'} is used as a sequence or "
                "array (or as a loop count), and without args= emit traces every parameter as a "
                "number",
                filename=parsed.filename, lineno=parsed.firstlineno,
                hint="pass example arguments: symdiff.emit(f, args=(x0, ...)); the module is "
                "specialised to arguments of the same kinds (shapes, lengths, int values). "
                "C takes 1-D arrays of any length (command line: --lang c --arrays x,...)",
            ) from None
    _check_callables(fun, parsed, built)
    constants = _constants(fun, built.program)
    constants.update({symbol.name: value for symbol, value in built.program.constants.items()})
    try:  # a loop kept as a loop: formulas of its sequences, and their recurrences
        formulas = explain.formulas(built.gradient_program)
    except SymdiffError:  # a loop they cannot describe (nested, carrying arrays): in the code
        loop = next(item for item in walk(built.program.body) if isinstance(item, Loop))
        formulas = {p.name: f"the reverse of the loop at line {loop.lineno}, below"
                    for p in built.gradient_program.wrt}
    if language == "c":
        return c_source(built.schedule, built.gradient_program, formulas, constants)
    if args is None:
        shapes = _NumbersOnly.of(fun, built.program)
    checks, prelude = shapes.lines(built.code.aliases) if shapes else ((), "")
    code = generate(
        built.schedule, built.gradient_program, built.library, built.code.aliases,
        constants=constants, defaults=_defaults(fun, built.program),
        entry_checks=checks, prelude=prelude,
    )
    if shapes and getattr(shapes, "expected", None):
        code.modules.add("numpy")  # the entry check reads numpy.shape, whatever the code prints
    ieee = None
    if not built.program.shapes:  # scalar code: where Python raises in the gradient, IEEE
        ieee = generate(
            built.schedule, built.gradient_program, "numpy", built.code.aliases,
            constants=constants, defaults=_defaults(fun, built.program), ieee=True,
        )
    return code.module_text(_python_header(built.program, formulas, code, shapes), ieee)


# ---- the shapes an exported Python module takes (issue 11: no batch size baked in silently) ----
class _Shapes:
    """What an exported module needs of its array and list arguments, checked on entry.

    ``expected``: ``{parameter: shape}`` where an int is a size the code depends on and a name
    (``"n0"``) a size it does not (any size >= 2, the same wherever the name appears).
    """

    def __init__(self, fun, expected, sequences):
        self.fun = fun
        self.expected = expected  # arrays
        self.sequences = sequences  # lists and tuples: {parameter: length}

    def describe(self):
        parts = [f"{name} of shape {_shown(shape)}" for name, shape in self.expected.items()]
        parts += [f"{name} of length {n}" for name, n in self.sequences.items()]
        names = sorted({d for shape in self.expected.values() for d in shape if isinstance(d, str)})
        text = ", ".join(parts)
        return text + (f" ({', '.join(names)} >= 2: any size)" if names else "")

    def lines(self, aliases):
        """The entry check (source lines of both functions) and the helper it calls, if any."""
        numpy = aliases["numpy"]
        generic = any(isinstance(d, str) for shape in self.expected.values() for d in shape)
        got = [f"{numpy}.shape({name})" for name in self.expected]
        want = [repr(tuple(shape)) for shape in self.expected.values()]
        tests = []
        prelude = ""
        if self.expected and generic:
            tests.append(f"not _shapes_fit({_tuple(got)}, {_tuple(want)})")
            prelude = _SHAPES_FIT
        elif self.expected:
            tests += [f"{g} != {w}" for g, w in zip(got, want)]
        tests += [f"len({name}) != {n}" for name, n in self.sequences.items()]
        if not tests:
            return (), ""
        shown = ", ".join([*[f"{name} {{{g}}}" for name, g in zip(self.expected, got)],
                           *[f"{name} of length {{len({name})}}" for name in self.sequences]])
        message = (f"generated by symdiff for {self.describe()}; got {shown}: export it again with "
                   f"symdiff.emit({self.fun.__name__}, args=...) for these shapes")
        condition = " or ".join(tests)
        return [f"    if {condition}:", f"        raise ValueError(f{message!r})"], prelude


_SHAPES_FIT = '''def _shapes_fit(shapes, expected):
    """Whether the arguments' ``shapes`` are the ``expected`` ones: an int is a size the code
    was generated for; a name stands for any size >= 2, the same wherever it appears."""
    sizes = {}
    for shape, want in zip(shapes, expected):
        if len(shape) != len(want):
            return False
        for n, w in zip(shape, want):
            if isinstance(w, str):
                if n < 2 or sizes.setdefault(w, n) != n:
                    return False
            elif n != w:
                return False
    return True
'''


class _NumbersOnly:
    """What a module exported without ``args=`` (traced with every parameter a number) checks on
    entry when its code is right for numbers only: no argument may be an array, list or tuple.

    That is the case when the function called a numpy function that is not elementwise on what
    was traced as a number (``np.sum`` of a number is the number, so the module's code has no
    sum in it), or computed with arrays (a module-level array). Code that is elementwise — numpy
    ufuncs and arithmetic — has no check: called with arrays it gives the derivative at each
    element, as it does today. A float argument costs one ``type(x) is not float`` test.
    """

    def __init__(self, fun, params, reasons):
        self.fun = fun
        self.params = params  # the generated functions' parameter names
        self.reasons = reasons  # ["np.sum (line 8)", ...]

    @classmethod
    def of(cls, fun, program):
        """The check ``program`` (an all-numbers trace) needs, or None."""
        reasons = []
        for name, filename, lineno in program.number_structural:
            where = f"line {lineno}" if filename == program.filename else f"{filename}:{lineno}"
            reason = f"{name} ({where})"
            if reason not in reasons:
                reasons.append(reason)
        if program.shapes:
            lineno = next((item.lineno for item in program.statements
                           if program.shapes.get(item.target)), program.firstlineno)
            reasons.append(f"arrays (line {lineno})")
        if not reasons:
            return None
        params = [p.symbol.name for p in program.params if p.name not in program.concrete]
        return cls(fun, params, reasons[:3])

    def describe(self):
        return (f"{self.fun.__name__} uses {', '.join(self.reasons)}, which is not elementwise: this "
                "code is right for numbers only")

    def lines(self, aliases):
        """The entry check (source lines of both functions) and the helper it calls."""
        type_, float_ = aliases.get("type", "type"), aliases.get("float", "float")
        helper = aliases.get("_array_like", "_array_like")
        out = []
        for name in self.params:
            message = (f"{name} is an array, list or tuple, but this module was generated by "
                       f"symdiff for numbers: {self.describe()}; export it again with "
                       f"symdiff.emit({self.fun.__name__}, args=...) for array arguments")
            out += [f"    if {type_}({name}) is not {float_} and {helper}({name}):",
                    f"        raise ValueError({message!r})"]
        return out, _ARRAY_LIKE.replace("_array_like", helper)


_ARRAY_LIKE = '''def _array_like(value):
    """Whether ``value`` is an array (of one element or more), a list or a tuple: not a number."""
    return isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) != 0
'''


def _tuple(items):
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _shown(shape):
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _shape_check(fun, wrt_names, args, built):
    """The shapes the module built from ``args`` takes: a size is free (any size >= 2) when the
    module traced with it one larger, and with it 2n + 1, is the same text with the same
    constants, else fixed (``np.mean(x[::2])`` is the same code at 5 and 6, not at 4 or 11)."""
    names = list(inspect.signature(fun).parameters)
    arrays = {n: a for n, a in zip(names, args) if isinstance(a, np.ndarray) and a.ndim}
    sequences = {n: len(a) for n, a in zip(names, args) if isinstance(a, (list, tuple))}
    if not arrays and not sequences:
        return None
    reference = _text(built)
    groups = sorted({n for a in arrays.values() for n in a.shape if n >= 2})
    free = {}
    for size in groups:
        same = True
        for other_size in (size + 1, 2 * size + 1):
            bumped = [np.zeros(tuple(other_size if n == size else n for n in a.shape), dtype=a.dtype)
                      if name in arrays else a for name, a in zip(names, args)]
            try:
                gradient = Gradient(fun, wrt=wrt_names)
                gradient._counts = False  # (as the module's own build)
                other = gradient.build_for(*bumped)
                same = _text(other) == reference
            except (SymdiffError, NeedsConcrete, ValueError, IndexError):
                same = False
            if not same:
                break
        if same:
            free[size] = f"n{len(free)}"
    expected = {name: tuple(free.get(n, n) for n in a.shape) for name, a in arrays.items()}
    return _Shapes(fun, expected, sequences)


def _text(built):
    """What decides whether two builds export the same module: the code and its constants."""
    constants = sorted((s.name, v.shape, v.tobytes()) for s, v in built.program.constants.items())
    return built.code.source, constants


def _defaults(fun, program):
    """``{name in the generated signature: default}`` for parameters whose default is a number."""
    given = parse_signature(fun).parameters
    found = {}
    for param in program.params:
        default = given[param.name].default if param.name in given else inspect.Parameter.empty
        if isinstance(default, (int, float)) and param.elements is None:
            found[param.symbol.name] = default
    return found


def _is_array(value):
    return pytrees.is_container(value) or (isinstance(value, np.ndarray) and value.ndim > 0)


def _c_arrays(fun, parsed, wrt_names, args):
    """C for a function of 1-D arrays (``c_arrays``): generic in the lengths of ``args``' arrays."""
    names = list(parse_signature(fun).parameters)
    lengths, concrete = {}, {}
    for name, value in zip(names, args):
        if pytrees.is_container(value) or (isinstance(value, np.ndarray) and value.ndim != 1):
            what = (f"a {value.ndim}-D array" if isinstance(value, np.ndarray)
                    else f"a {type(value).__name__}")
            raise ExportError(
                f"{fun.__qualname__}: C export does not support {what} as an argument ({name})",
                filename=parsed.filename, lineno=parsed.firstlineno,
                hint="C takes numbers and 1-D float arrays (pointer + length); export Python "
                "with symdiff.emit(f, args=...) for the rest")
        if isinstance(value, np.ndarray):
            lengths[name] = len(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool) and name not in wrt_names:
            concrete[name] = int(value)

    def build_at(kinds):
        return pipeline.build(Spec(parsed, tuple(wrt_names), dict(concrete), (), kinds))

    def constants_of(program):
        found = _constants(fun, program)
        found.update({symbol.name: value for symbol, value in program.constants.items()})
        return found

    first = build_at({name: ("array", (n,)) for name, n in lengths.items()})  # the user's errors
    _check_callables(fun, parsed, first)
    return c_array_source(parsed, wrt_names, lengths, build_at, constants_of, first)


def _check_callables(fun, parsed, built):
    if built.code.callables:
        names = ", ".join(sorted(built.code.callables))
        raise ExportError(
            f"{fun.__qualname__} calls {names}, given to symdiff with symdiff.register: a "
            "standalone module cannot include it",
            filename=parsed.filename, lineno=parsed.firstlineno,
            hint="export a function that only uses math/numpy, or import the registered "
            "function next to the generated module by hand",
        )


def _constants(fun, program):
    """``{symbol name: current value}`` of the numbers the function reads from outside."""
    constants = {}
    for external in program.externals:
        value = external.read()  # a real number or array: the tracer only makes externals of those
        if isinstance(value, np.ndarray):
            constants[external.symbol.name] = value
        else:
            constants[external.symbol.name] = int(value) if isinstance(value, (int, np.integer)) else float(value)
    return constants


def _python_header(program, formulas, code, shapes=None):
    base = code.grad_name[: -len("_grad")]
    params = ", ".join(p.name for p in program.params)
    derivs = [f"d{base}/d{name}" for name in formulas]
    result = derivs[0] if len(derivs) == 1 else f"({', '.join(derivs)})"
    args = ", ".join(code.arguments)
    where = f"{printable(program.filename)}:{program.firstlineno}"
    lines = [
        f'"""Gradient of {base}({params}), generated by symdiff from {where}.',
        "",
        *[f"    {d} = {formula}" for d, formula in zip(derivs, formulas.values())],
        *recurrence_lines(formulas, "    "),
        "",
        f"{code.grad_name}({args}) -> {result}",
        f"{code.value_and_grad_name}({args}) -> ({base}, {result})",
    ]
    if code.constants:
        names = ", ".join(code.constants)
        lines += ["", f"Baked in below: the values {names} had when this module was generated."]
    if isinstance(shapes, _NumbersOnly):
        lines += ["", f"Generated for numbers ({shapes.describe()}): array, list and tuple "
                  "arguments raise ValueError."]
    elif shapes is not None:
        lines += ["", f"Generated for {shapes.describe()}: other shapes raise ValueError."]
    lines += ["", "Standalone: this module does not import symdiff.", '"""']
    return _docstring_safe("\n".join(lines)) + "\n"


def _docstring_safe(text):
    """The docstring ``text`` (delimiters included) with every backslash and quote inside escaped:
    nothing in it (a file path with a backslash-U or triple quotes) can end it or be an escape."""
    inner = text[3:-3].replace("\\", "\\\\").replace('"', '\\"')
    return text[:3] + inner + text[-3:]
