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

from . import display
from . import explain as explain_stage
from .derive import derive
from .errors import ArgumentError, SymdiffError
from .parse import parse_function
from .python_code import compile_functions, generate
from .schedule import schedule
from .to_sympy import trace


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


def build(parsed, wrt_names, library=None):
    """The core: parse result -> compiled gradient functions (one ``Build``)."""
    program = trace(parsed)
    program.firstlineno = parsed.node.lineno
    params = {p.name: p for p in program.params}
    gradient_program = derive(program, [params[name] for name in wrt_names])
    lowered = schedule(gradient_program)
    if library is None:
        library = "numpy" if "numpy" in program.libraries else "math"
    aliases = {m: program.namer.module_alias(m, program.local_names) for m in ("math", "numpy")}
    code = generate(lowered, gradient_program, library, aliases)
    grad_fn, vg_fn = compile_functions(code)
    return Build(program, gradient_program, lowered, code, grad_fn, vg_fn, library)


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
        self._cache = {}
        self._builds = {}
        self._lock = threading.Lock()
        self._default = self._build("math_or_numpy")  # traced now: errors show at decoration

    # ---- the call path ----
    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self._nargs:
            args = self._bind(args, kwargs)
        entry = self._cache.get(tuple(map(type, args)))
        if entry is None:
            entry = self._prepare(args)
        return entry(*args)

    def _bind(self, args, kwargs):
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.fun.__qualname__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _prepare(self, args):
        """Pick (and compile, once) the specialisation for these argument types."""
        key = tuple(map(type, args))
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                return entry
            kinds = [self._kind(name, value) for name, value in zip(self._signature.parameters, args)]
            arrays = "array" in kinds
            build = self._build("numpy" if arrays else "math_or_numpy")
            if arrays and "math" in build.program.libraries:
                raise ArgumentError(
                    f"{self.fun.__qualname__} uses the math module, which takes single numbers, "
                    "but was called with an array",
                    filename=self._parsed.filename, lineno=self._parsed.firstlineno,
                    hint="call it with one number at a time, or write the function with numpy "
                    "functions (np.sin, np.exp, ...) to differentiate elementwise",
                )
            entry = self._make_entry(build, kinds)
            self._cache[key] = entry
            return entry

    def _kind(self, name, value):
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise self._bad_argument(name, value)
            return "array"
        if isinstance(value, _SCALAR_TYPES):
            if isinstance(value, (bool, int, np.bool_, np.integer)) and name in self.wrt:
                return "int"
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
        elif isinstance(value, numbers.Number):
            what = f"a {type(value).__name__}"
        else:
            what = f"a {type(value).__name__}"
        return ArgumentError(
            f"argument {name!r} of {self.fun.__qualname__} is {what}, not a real number",
            filename=self._parsed.filename, lineno=self._parsed.firstlineno,
            hint="pass a float or an int (or a numpy array of them, for a numpy-written function)",
        )

    def _make_entry(self, build, kinds):
        fn = build.value_and_grad_fn if self._with_value else build.grad_fn
        getters = [_getter(self.fun, e) for e in build.program.externals]
        ints = [i for i, k in enumerate(kinds) if k == "int"]
        shapes = [i for i, k in enumerate(kinds) if k == "array"]
        if not getters and not ints and not shapes:
            return fn
        wrt_positions = [list(self._signature.parameters).index(n) for n in self.wrt]

        def entry(*args):
            if ints:
                args = list(args)
                for i in ints:
                    args[i] = float(args[i])
            if getters:
                result = fn(*args, *[get() for get in getters])
            else:
                result = fn(*args)
            if shapes:
                result = self._shape_result(result, args, wrt_positions)
            return result

        return entry

    def _shape_result(self, result, args, wrt_positions):
        def shaped(gradient, position):
            shape = np.shape(args[position])
            return np.array(np.broadcast_to(np.asarray(gradient, dtype=np.result_type(gradient, np.float64)), shape))

        if self._with_value:
            value, grads = result
        else:
            grads = result
        if self._single:
            grads = shaped(grads, wrt_positions[0])
        else:
            grads = tuple(shaped(g, p) for g, p in zip(grads, wrt_positions))
        return (value, grads) if self._with_value else grads

    # ---- building ----
    def _build(self, library):
        found = self._builds.get(library)
        if found is None:
            found = build(self._parsed, self.wrt, None if library == "math_or_numpy" else library)
            self._builds[library] = found
        return found

    # ---- reading it ----
    @property
    def formulas(self):
        """``{parameter: closed-form derivative}`` as SymPy expressions (bounded in size)."""
        return explain_stage.formulas(self._default.gradient_program)

    @property
    def source(self):
        """The generated Python source of this gradient function (the scalar specialisation)."""
        code = self._default.code
        return code.value_and_grad_source if self._with_value else code.grad_source

    def explain(self):
        """The chain rule, statement by statement, as text."""
        return explain_stage.explanation(self._default.gradient_program)

    def latex(self):
        r"""The formulas as LaTeX, one ``\frac{\partial u}{\partial x} = ...`` line per parameter."""
        return "\n".join(display.latex_lines(self._display_name, self.formulas))

    def _repr_latex_(self):
        return display.latex_block(self._display_name, self.formulas)

    def _repr_markdown_(self):
        kind = "Value and gradient" if self._with_value else "Gradient"
        wrt = ", ".join(f"`{name}`" for name in self.wrt)
        title = f"**{kind} of `{self.fun.__qualname__}` with respect to {wrt}** (symdiff)"
        return display.markdown(self._display_name, self.formulas, self.source, title)

    @property
    def _display_name(self):
        name = self.fun.__name__
        return name if name.isidentifier() else "f"

    def __repr__(self):
        kind = "value_and_grad" if self._with_value else "grad"
        return f"<symdiff {kind} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


def _getter(fun, external):
    if external.where == "closure":
        cell = fun.__closure__[fun.__code__.co_freevars.index(external.name)]
        return lambda: cell.cell_contents
    namespace = fun.__globals__
    name = external.name
    return lambda: namespace[name]


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
