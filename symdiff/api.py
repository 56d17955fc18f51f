"""api: ``grad``, ``value_and_grad`` and ``check_grad`` — thin layers over one core.

Takes: a user's Python function (and which parameters to differentiate). Returns: a callable
``Gradient`` that specialises the function on the kinds of its arguments, compiles the generated
code once per kind, and keeps the call path to one dict lookup. The core is ``build``: parse ->
to_sympy -> derive -> schedule -> python_code.
"""

import functools
import inspect
import math
import numbers
import threading
from dataclasses import dataclass

import numpy as np

from . import explain as explain_stage
from .derive import derive
from .errors import ArgumentError, SymdiffError
from .parse import parse_function
from .python_code import compile_functions, generate
from .schedule import schedule
from .to_sympy import NeedsConcrete, trace


class WrtError(SymdiffError, ValueError):
    """``wrt`` names no parameter of the function."""


@dataclass
class Build:
    """One specialisation: every stage's result, and the compiled functions."""

    program: object
    gradient_program: object
    schedule: object
    code: object
    grad_fn: object
    value_and_grad_fn: object
    library: str
    ieee: object  # the same code over numpy float64, for when Python arithmetic raises


def build(parsed, wrt_names, library=None, concrete=None, deferrable=()):
    """The core: parse result -> compiled gradient functions (one ``Build``)."""
    program = trace(parsed, concrete, deferrable)
    params = {p.name: p for p in program.params}
    gradient_program = derive(program, [params[name] for name in wrt_names])
    lowered = schedule(gradient_program)
    if library is None:
        library = "numpy" if "numpy" in program.libraries else "math"
    aliases = {m: program.namer.module_alias(m, program.local_names) for m in ("math", "numpy")}
    code = generate(lowered, gradient_program, library, aliases)
    grad_fn, vg_fn = compile_functions(code)
    ieee = _IEEEFallback(lowered, gradient_program, aliases)
    return Build(program, gradient_program, lowered, code, grad_fn, vg_fn, library, ieee)


class _IEEEFallback:
    """The same schedule printed for numpy and run on float64 scalars: inf/nan, never an exception.

    Compiled on first use only (at a singularity such as d sqrt(x)/dx at 0).
    """

    def __init__(self, lowered, gradient_program, aliases):
        self._args = (lowered, gradient_program, "numpy", aliases)
        self._functions = None

    def _compiled(self):
        if self._functions is None:
            self._functions = compile_functions(generate(*self._args))
        return self._functions

    def grad(self, *args):
        with np.errstate(all="ignore"):
            result = self._compiled()[0](*[np.float64(a) for a in args])
        return _floats(result)

    def value_and_grad(self, *args):
        with np.errstate(all="ignore"):
            value, gradient = self._compiled()[1](*[np.float64(a) for a in args])
        return float(value), _floats(gradient)


def _floats(result):
    return tuple(float(r) for r in result) if isinstance(result, tuple) else float(result)


def _resolve_wrt(wrt, parameters, fun):
    """Parameter names to differentiate, and whether one value (not a tuple) is returned."""
    names = list(parameters)
    if wrt is None:
        return names, len(names) == 1
    single = not isinstance(wrt, (tuple, list))
    items = [wrt] if single else list(wrt)
    if not items:
        raise WrtError(f"wrt=() names no parameter of {fun.__qualname__!r}")
    chosen = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise TypeError(f"wrt must be a parameter name, a position or a tuple of them, not {item!r}")
        if isinstance(item, int):
            if not -len(names) <= item < len(names):
                raise WrtError(
                    f"wrt={item} is out of range: {fun.__qualname__!r} has {len(names)} "
                    f"parameter(s) {tuple(names)}"
                )
            item = names[item]
        elif item not in names:
            raise WrtError(
                f"wrt={item!r} names no parameter of {fun.__qualname__!r}; its parameters are "
                f"{tuple(names)}"
            )
        if item in chosen:
            raise WrtError(f"wrt names {item!r} twice")
        chosen.append(item)
    return chosen, single or len(chosen) == 1


_SCALAR_TYPES = (float, int, bool, np.floating, np.integer, np.bool_)
_INT_TYPES = frozenset({int, bool, np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                        np.uint16, np.uint32, np.uint64})


class Gradient:
    """The gradient of a Python function, compiled from its source.

    >>> import math
    >>> @grad
    ... def u(x):
    ...     y = x ** 2
    ...     z = math.sin(y)
    ...     return math.exp(z)
    >>> round(u(2.0), 12)
    -1.226664708937
    >>> u.formulas
    {'x': 2*x*exp(sin(x**2))*cos(x**2)}
    """

    def __init__(self, fun, wrt=None, with_value=False):
        if not callable(fun):
            raise TypeError(f"grad needs a function, not {type(fun).__name__}")
        if isinstance(fun, functools.partial):
            raise TypeError(
                "grad needs a plain function, not a functools.partial; define a function "
                "with 'def' that calls it with the fixed arguments"
            )
        if inspect.ismethod(fun):
            raise TypeError(
                f"grad needs a plain function, not the bound method {fun.__qualname__}; "
                "differentiate a module-level function of the numbers instead"
            )
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._with_value = with_value
        self._parsed = parse_function(fun)
        self._signature = inspect.signature(fun)
        self.wrt, self._single = _resolve_wrt(wrt, self._signature.parameters, fun)
        self._nargs = len(self._signature.parameters)
        names = list(self._signature.parameters)
        self._positions = {name: i for i, name in enumerate(names)}
        self._wrt_positions = [self._positions[n] for n in self.wrt]
        self._may_specialise = tuple(i for i, n in enumerate(names) if n not in self.wrt)
        self._cache = {}
        self._builds = {}
        self._lock = threading.Lock()
        self._last = None
        try:  # traced now, over symbols: errors show at decoration
            self._default = self._build("math_or_numpy", ())
        except NeedsConcrete:
            self._default = None  # it depends on an int argument's value: traced at the call

    # ---- the call path ----
    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._nargs:
            args = self._bind(args, kwargs)
        key = tuple(map(type, args))
        if self._may_specialise:
            key += tuple(args[i] for i in self._may_specialise if type(args[i]) in _INT_TYPES)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._prepare(key, args)
        try:
            return entry(*args)
        except (ZeroDivisionError, OverflowError):
            # Python raises where IEEE arithmetic gives inf/nan (d sqrt(x)/dx at 0): do as numpy.
            return self._ieee(key, args)

    def _ieee(self, key, args):
        build, kinds = self._specs[key]
        if "array" in kinds:
            raise  # numpy code does not raise these; re-raise the original error
        args = [float(a) if k == "int" else a for a, k in zip(args, kinds) if k != "concrete"]
        args += [e.read() for e in build.program.externals]
        if self._with_value:
            return build.ieee.value_and_grad(*args)
        return build.ieee.grad(*args)

    def _bind(self, args, kwargs):
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.fun.__qualname__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _prepare(self, key, args):
        """Pick (and compile, once) the specialisation for these argument types."""
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                return entry
            names = list(self._signature.parameters)
            kinds = [self._kind(name, value) for name, value in zip(names, args)]
            arrays = "array" in kinds
            concrete = tuple((names[i], args[i]) for i, k in enumerate(kinds) if k == "concrete")
            # Every int argument not differentiated is concrete now: nothing left to defer (a
            # float where an int count is expected is then a located error, as in Python).
            build = self._build("numpy" if arrays else "math_or_numpy", concrete, deferrable=())
            if arrays:
                self._check_elementwise(build)
            entry = self._make_entry(build, kinds, key)
            self._cache[key] = entry
            self._specs = getattr(self, "_specs", {})
            self._specs[key] = (build, kinds)
            return entry

    def _check_elementwise(self, build):
        program = build.program
        if "math" in program.libraries:
            raise ArgumentError(
                f"{self.fun.__qualname__} uses the math module, which takes single numbers, "
                "but was called with an array",
                filename=self._parsed.filename, lineno=self._parsed.firstlineno,
                hint="call it with one number at a time, or write the function with numpy "
                "functions (np.sin, np.exp, ...) to differentiate elementwise",
            )
        if program.has_branches:
            raise ArgumentError(
                f"{self.fun.__qualname__} branches ('if') on a value it was given as an array",
                filename=self._parsed.filename, lineno=self._parsed.firstlineno,
                hint="call it with one number at a time, or select elementwise with np.where",
            )

    def _kind(self, name, value):
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise self._bad_argument(name, value)
            return "array"
        if isinstance(value, _SCALAR_TYPES):
            if type(value) in _INT_TYPES:
                return "int" if name in self.wrt else "concrete"
            return "scalar"
        raise self._bad_argument(name, value)

    def _bad_argument(self, name, value):
        if isinstance(value, (complex, np.complexfloating)) or (
            isinstance(value, np.ndarray) and value.dtype.kind == "c"
        ):
            what = "a complex number; symdiff differentiates real functions"
        elif value is None:
            what = "None"
        elif isinstance(value, str):
            what = f"the string {value!r}"
        else:
            what = f"a {type(value).__name__}"
        return ArgumentError(
            f"argument {name!r} of {self.fun.__qualname__} is {what}, not a real number",
            filename=self._parsed.filename, lineno=self._parsed.firstlineno,
            hint="pass a float or an int (or a numpy array of them, for a numpy-written function)",
        )

    def _make_entry(self, build, kinds, key):
        fn = build.value_and_grad_fn if self._with_value else build.grad_fn
        externals = build.program.externals
        guards = build.program.guards
        ints = [i for i, k in enumerate(kinds) if k == "int"]
        dropped = [i for i, k in enumerate(kinds) if k == "concrete"]
        arrays = "array" in kinds
        if not externals and not ints and not dropped and not arrays and not guards:
            return fn

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            if ints or dropped:
                args = [float(a) if k == "int" else a for a, k in zip(args, kinds) if k != "concrete"]
            if externals:
                result = fn(*args, *[e.read() for e in externals])
            else:
                result = fn(*args)
            if arrays:
                result = self._shape_result(result, args, kinds)
            return result

        return entry

    def _rebuild(self, key, stale, args):
        """A module-level int/bool the specialisation baked in has changed: trace again."""
        with self._lock:
            self._cache.pop(key, None)
            for build_key, build_value in list(self._builds.items()):
                if build_value is stale:
                    del self._builds[build_key]
        return self(*args)

    def _shape_result(self, result, args, kinds):
        kept = [i for i, k in enumerate(kinds) if k != "concrete"]
        positions = [kept.index(p) for p in self._wrt_positions]

        def shaped(gradient, position):
            shape = np.shape(args[position])
            dtype = np.result_type(gradient, np.float64)
            return np.array(np.broadcast_to(np.asarray(gradient, dtype=dtype), shape))

        value, grads = result if self._with_value else (None, result)
        if self._single:
            grads = shaped(grads, positions[0])
        else:
            grads = tuple(shaped(g, p) for g, p in zip(grads, positions))
        return (value, grads) if self._with_value else grads

    # ---- building ----
    def _build(self, library, concrete, deferrable=None):
        found = self._builds.get((library, concrete))
        if found is None:
            if deferrable is None:
                deferrable = self._deferrable(concrete)
            found = build(self._parsed, self.wrt, None if library == "math_or_numpy" else library,
                          dict(concrete), deferrable=deferrable)
            self._builds[(library, concrete)] = found
        self._last = found
        return found

    def _deferrable(self, concrete):
        """Non-differentiated parameters still symbolic: a loop over one means 'trace at the call'."""
        done = {name for name, _ in concrete}
        return {name for name in self._signature.parameters if name not in self.wrt and name not in done}

    @property
    def _shown(self):
        """The specialisation ``formulas``/``source``/``explain`` describe."""
        shown = self._default or self._last
        if shown is None:
            raise SymdiffError(
                f"{self.fun.__qualname__} depends on the value of an int argument (a loop count): "
                "its formulas exist once it has been called",
                filename=self._parsed.filename, lineno=self._parsed.firstlineno,
                hint="call the gradient once (e.g. g(1.0, 3)); then formulas, source and explain() "
                "describe that call",
            )
        return shown

    # ---- reading it ----
    @property
    def formulas(self):
        """``{parameter: closed-form derivative}`` as SymPy expressions (bounded in size)."""
        return explain_stage.formulas(self._shown.gradient_program)

    @property
    def source(self):
        """The generated Python source of this gradient function (the scalar specialisation)."""
        code = self._shown.code
        return code.value_and_grad_source if self._with_value else code.grad_source

    def explain(self):
        """The chain rule, statement by statement, as text."""
        return explain_stage.explanation(self._shown.gradient_program)

    def __repr__(self):
        kind = "value_and_grad" if self._with_value else "grad"
        return f"<symdiff {kind} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


def grad(f=None, wrt=None):
    """The gradient of ``f``: ``grad(f)``, ``@grad`` or ``@grad(wrt="x")``.

    ``wrt`` is a parameter name, a position, or a tuple of them; ``None`` means every parameter.
    The result returns one value when one parameter is differentiated, else a tuple in ``wrt``
    order.

    >>> def f(x, y):
    ...     return x * y + y ** 2
    >>> grad(f)(2.0, 3.0)
    (3.0, 8.0)
    >>> grad(f, wrt="y")(2.0, 3.0)
    8.0
    """
    if f is None:
        return lambda g: Gradient(g, wrt=wrt)
    return Gradient(f, wrt=wrt)


def value_and_grad(f=None, wrt=None):
    """Like ``grad``, but returns ``(f(...), gradient)`` from one pass.

    >>> def f(x):
    ...     return x ** 3
    >>> value_and_grad(f)(2.0)
    (8.0, 12.0)
    """
    if f is None:
        return lambda g: Gradient(g, wrt=wrt, with_value=True)
    return Gradient(f, wrt=wrt, with_value=True)


@dataclass
class GradCheck:
    """Result of ``check_grad``: symdiff's gradient beside central finite differences."""

    analytic: tuple
    numeric: tuple
    max_error: float
    ok: bool

    def __repr__(self):
        status = "ok" if self.ok else "MISMATCH"
        return f"<GradCheck {status}: max relative error {self.max_error:.2e}>"


def check_grad(f, *args, wrt=None, step=None, rtol=1e-6, atol=1e-9):
    """Compare ``grad(f)`` at ``args`` with central finite differences of ``f``.

    Returns a ``GradCheck``; raises ``AssertionError`` (with both gradients) when they differ by
    more than ``rtol`` relative / ``atol`` absolute.

    >>> import math
    >>> check_grad(lambda x: math.sin(x) * x, 1.3).ok
    True
    """
    g = f if isinstance(f, Gradient) else Gradient(f, wrt=wrt)
    fun = g.fun
    params = list(inspect.signature(fun).parameters)
    args = g._bind(args, {})
    analytic = g(*args)
    analytic = (analytic,) if g._single else tuple(analytic)
    numeric = []
    for name in g.wrt:
        i = params.index(name)
        x = float(args[i])
        h = step or (np.finfo(float).eps ** (1 / 3)) * max(1.0, abs(x))
        plus, minus = list(args), list(args)
        plus[i], minus[i] = x + h, x - h
        numeric.append((fun(*plus) - fun(*minus)) / (2 * h))
    errors = [
        abs(a - n) / max(abs(n), atol / rtol) for a, n in zip(analytic, numeric)
    ]
    max_error = max(errors) if errors else 0.0
    ok = all(abs(a - n) <= atol + rtol * abs(n) for a, n in zip(analytic, numeric)) and not any(
        math.isnan(e) for e in errors
    )
    result = GradCheck(tuple(analytic), tuple(numeric), max_error, ok)
    if not ok:
        rows = "\n".join(
            f"  {name}: symdiff {a!r}, finite differences {n!r}"
            for name, a, n in zip(g.wrt, analytic, numeric)
        )
        raise AssertionError(f"gradient check failed for {fun.__qualname__}:\n{rows}")
    return result
