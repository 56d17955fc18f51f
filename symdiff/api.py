"""api: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian`` (dense, or ``sparse=True``:
``scipy.sparse`` of the exact pattern, ``ad.sparsity``; array code from one structured forward
pass, ``ad.structured``, else one pass per colour of the pattern), ``sparsity``, ``jvp``,
``jacfwd``, ``hvp`` and ``check_grad`` — thin layers over one core.

Takes: a user's Python function (and which parameters to differentiate). Returns: a callable
(``Gradient``, ``Jacobian``, ``Hessian``) that specialises the function on the kinds of its
arguments, builds each specialisation once with ``pipeline.build`` (parse -> frontend.interpreter
-> ad.reverse -> lower.schedule -> backends.python_code -> runtime.compiled), and keeps the call
path to one dict lookup; the kinds, caches and guarded entries of a call are ``runtime.dispatch``'s.
"""

import dataclasses
import functools
import inspect
import linecache
import math
import sys
import types
from dataclasses import dataclass

import numpy as np
import sympy

from . import pipeline, pytrees
from .ad.sparsity import Compression, Pattern, columns_of
from .ad.sparsity import compression as compress
from .ad.vjp import gradient_as_program
from .explain import display
from .explain import chain_rule as explain_stage
from .errors import ShapeError, SymdiffError
from .frontend.parse import parse_function
from .frontend.parse import signature as parse_signature
from .frontend.interpreter import ConditionOnUndifferentiated, NeedsConcrete
from .frontend import loops
from .lower import checkpoints
from .ad.tangent import has_loop, tangent_program
from .ir import Loop, walk
from .primitives import registry
from .pipeline import Spec
from .runtime import dispatch
from .runtime.dispatch import MISSING, converted, resolve_wrt
from .runtime.compiled import compile_entry


def build(parsed, wrt_names, concrete=None, deferrable=(), kinds=None):
    """The gradient of a parsed function (``frontend.parse.parse_function``) as one ``Build``:
    ``pipeline.build`` of that ``Spec``."""
    return pipeline.build(Spec(parsed, tuple(wrt_names), concrete, deferrable, kinds))


FEW_PASSES = 4  # forward passes on column colours this few are taken before the one-pass route
DENSE_GATHER = 2 ** 22  # a sparse result not all picks (ad.structured): from the dense matrix up to this size


def _unset(*args, **kwargs):  # pragma: no cover - replaced before the Gradient is returned
    raise RuntimeError("Gradient is not set up")


class Gradient(functools.partial):
    """The gradient of a Python function, compiled from its source.

    It is a ``functools.partial`` of the generated code (plus a type check): calling it costs what
    calling the generated function costs. Other argument kinds go through its dispatch
    (``runtime.dispatch.Dispatch``), which picks (and compiles, once) the specialisation for them.

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

    _mode = "grad"  # the pipeline.Spec mode of a build of the user's function
    _bound = {}  # a bound method's first parameter -> its object (see _setup)
    _has_aux = False  # f returns (value, aux): grad gives (gradient, aux) (see grad)
    _checkpoint = None  # rolled loops' tapes: every K-th state (lower.checkpoints; see grad)
    _rolled = True  # long range() loops kept as loops (pipeline.Spec.rolled; "grad" mode only)
    _counts = True  # int arguments of range(n) traced as symbols: one build for every n
    _kind_name = "grad"

    def __new__(cls, fun, wrt=None, with_value=False, has_aux=False, cache_size=dispatch.CACHE_SIZE,
                checkpoint=None):
        self = super().__new__(cls, _unset)
        self._has_aux = bool(has_aux)
        self._checkpoint = checkpoints.checked(checkpoint)
        self._cache_size = cache_size
        self._setup(fun, wrt, with_value)
        functools.partial.__setstate__(self, (self._entry(), (), None, self.__dict__))
        return self

    @property
    def checkpoint(self):
        """The ``checkpoint=`` setting of the loops this gradient keeps as loops (None: a tape
        entry per iteration; see ``grad``)."""
        return self._checkpoint

    @property
    def returns_value(self):
        """True for ``value_and_grad``: calls return ``(value, gradient)``."""
        return self._with_value

    def _setup(self, fun, wrt, with_value):
        self._inner = None  # grad(grad(f)): the inner gradient, built again for array arguments
        if isinstance(fun, Gradient):
            self._inner = fun
            generated = fun._generated_function("value_and_grad" if with_value else self._kind_name)
            if generated is None:  # f is only traced at a call (arrays, int counts): so is this;
                self._setup_again(fun, wrt, with_value)  # or it keeps a loop as a loop
                if fun._default is not None:
                    self._trace_default()
                return
            fun = generated
        if not callable(fun):
            raise TypeError(f"grad needs a function, not {type(fun).__name__}")
        fun = _primitive_as_function(fun)
        if isinstance(fun, functools.partial):
            raise TypeError(
                "grad needs a plain function, not a functools.partial; define a function "
                "with 'def' that calls it with the fixed arguments"
            )
        self._bound = {}  # a bound method's first parameter -> its object (read, not differentiated)
        function = fun
        if inspect.ismethod(fun):
            function = fun.__func__
            first = next(iter(parse_signature(function).parameters), None)
            if first is None:
                raise TypeError(f"{fun.__qualname__} is a method without a parameter for its object")
            self._bound = {first: fun.__self__}
        functools.update_wrapper(self, fun)
        self.fun = fun
        self._with_value = with_value
        parsed = parse_function(function)
        signature = parse_signature(fun)
        self.wrt, self._single = resolve_wrt(wrt, signature.parameters, fun)
        self._dispatch = self._dispatcher(fun, parsed, signature)
        self._call = self._dispatch.call
        self._last = None
        self._trace_default()

    def _dispatcher(self, fun, parsed, signature):
        """The per-signature caches and the call path through them (``dispatch.Dispatch``)."""
        return dispatch.Dispatch(fun, signature, self.wrt, parsed, self._build, self._make_entry,
                                 self._install_fast_entry, self._cache_size)

    def _trace_default(self):
        """The all-floats trace, made before any call (over symbols: errors show at decoration)."""
        self._deferred = None
        try:
            self._default = self._build((), None)
        except NeedsConcrete as exc:
            self._default = None  # it depends on an int argument's value: traced at the call
            self._deferred = exc

    def _setup_again(self, inner, wrt, with_value):
        """``grad(inner)`` where ``inner``'s function has no all-numbers trace (it indexes an
        array, loops an int count): every call builds from ``inner``'s build for the same
        argument kinds (``_again``); ``fun`` is ``inner`` itself, the function differentiated."""
        functools.update_wrapper(self, inner, updated=())  # not inner's __dict__: its state
        self._inner = inner
        self.fun = inner
        self._with_value = with_value
        self.wrt, self._single = resolve_wrt(wrt, inner._signature.parameters, inner.fun)
        self._dispatch = self._dispatcher(inner, inner._parsed, inner._signature)
        self._call = self._dispatch.call
        self._last = None
        self._default = None
        self._deferred = inner._deferred

    # ---- the call path ----
    def _entry(self, build=None, arrays=None):
        """The function a call runs: the guarded generated code where it can be, else ``_call``.

        ``build``/``arrays``: a specialisation for float arrays of these shapes (the first one a
        function of arrays is called with), instead of the all-floats trace made up front.
        """
        build = build or self._default
        if type(self) is not Gradient or build is None or not dispatch.guardable(build, arrays):
            return self._call
        calls = self._dispatch
        reshaped = None
        if arrays:  # arrays of other shapes: straight to the router of these argument types
            reshaped = calls.router(tuple(np.ndarray if n in arrays else float for n in calls.names))

        def ieee(*args):
            return self._ieee(args)

        kind = "value_and_grad" if self._with_value else "grad"
        return compile_entry(build, kind, self._signature, self.fun.__qualname__, self.wrt,
                             calls.route, reshaped, ieee, MISSING, arrays)

    def _ieee(self, args):
        build, kinds = self._dispatch.spec(args)
        args = [k.convert(a, False) for a, k in zip(args, kinds) if k.passed]
        args += [e.read() for e in build.program.externals]
        if self._with_value:
            return build.ieee.value_and_grad(*args)
        return build.ieee.grad(*args)

    def bind(self, *args, **kwargs):
        """A call's arguments in parameter order, defaults applied, as the gradient receives them.

        >>> grad(lambda x, y=2.0: x * y).bind(3.0)
        (3.0, 2.0)
        """
        return self._dispatch.bind(args, kwargs)

    def build_for(self, *args, **kwargs):
        """The ``Build`` a call with these arguments runs (every stage's result): traced and
        compiled on first use, once per kind of arguments (types, shapes, lengths, int values)."""
        return self._dispatch.spec(self._dispatch.bind(args, kwargs))[0]

    def _install_fast_entry(self, build, kinds, args):
        """The first array signature: calls with the same shapes skip the dispatch from now on."""
        if self.func != self._call or not all(k.fast for k in kinds):
            return
        if any(isinstance(a, np.ndarray) and a.dtype.kind != "f" for a in args):
            return
        names = list(self._signature.parameters)
        arrays = {names[i]: (a.shape, a.dtype) for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        entry = self._entry(build, arrays)
        if entry != self._call:
            functools.partial.__setstate__(self, (entry, (), None, self.__dict__))

    # ---- what the dispatch holds ----
    @property
    def _parsed(self):
        return self._dispatch.parsed

    @property
    def _signature(self):
        return self._dispatch.signature

    @property
    def _wrt_positions(self):
        return self._dispatch.wrt_positions

    @property
    def _builds(self):
        """``(ints specialised on, shapes and lengths)`` -> ``Build``."""
        return self._dispatch.builds

    @property
    def _cache(self):
        """The specialisations' entries, most recently used last: ``(argument types, shapes,
        lengths and ints specialised on)`` -> entry (at most ``cache_size``)."""
        return self._dispatch.specialised

    @property
    def cache_size(self):
        """How many specialisations (array shapes, list lengths, int values) are kept: the least
        recently used beyond it is forgotten, and built again if called again."""
        return self._dispatch.cache_size

    def _make_entry(self, build, kinds, key, args=()):
        """The function calls with these argument kinds run (``dispatch.entry``)."""
        fn = build.value_and_grad_fn if self._with_value else build.grad_fn
        return dispatch.entry(fn, build, kinds, args, self._wrt_positions,
                              lambda args: self._rebuild(key, build, args), self._shape_result)

    def _rebuild(self, key, stale, args):
        """Something the specialisation baked in has changed (a module-level int/bool, a helper
        function rebound, its defaults): trace again — every specialisation, the all-floats one
        the fast call path runs included; the function itself re-read if its code changed."""
        with self._dispatch.lock:
            self._dispatch.clear()
            self._last = None
            if self._parsed.code is not self.fun.__code__:
                self._dispatch.parsed = parse_function(getattr(self.fun, "__func__", self.fun))
            self._trace_default()
            functools.partial.__setstate__(self, (self._entry(), (), None, self.__dict__))
        return self(*args)

    def _shape_result(self, result):
        """Gradients as arrays the caller owns (not read-only broadcast views)."""
        def owned(gradient):
            if isinstance(gradient, np.ndarray) and not gradient.flags.writeable:
                return np.array(gradient)
            return gradient

        if self._has_aux:  # ((value, aux), gradient) or (gradient, aux)
            if self._with_value:
                (value, aux), grads = result
            else:
                grads, aux = result
            grads = owned(grads) if self._single else tuple(owned(g) for g in grads)
            return ((value, aux), grads) if self._with_value else (grads, aux)
        value, grads = result if self._with_value else (None, result)
        grads = owned(grads) if self._single else tuple(owned(g) for g in grads)
        return (value, grads) if self._with_value else grads

    # ---- building ----
    def _build(self, concrete, shaped):
        """The build for these specialised ints and array shapes (``shaped=None``: not known yet).

        Before any call, a parameter that is not differentiated may turn out to be an int count:
        using one as a count defers the trace to the call. At a call every int is concrete, so
        a float used as a count is then a located error, as in Python.
        """
        key = (concrete, shaped)
        found = self._builds.get(key)
        if found is None and self._inner is not None and (shaped or self.fun is self._inner):
            found = self._builds[key] = self._again(concrete, shaped)
            self._last = found
        if found is None and concrete and self._rolled and self._counts and self._mode == "grad":
            found = self._counted(concrete, shaped)
            if found is not None:
                self._builds[key] = found
        if found is None:
            kinds = None if shaped is None else dict(shaped)
            deferrable = self._deferrable(concrete) if shaped is None and not self._builds else ()
            found = pipeline.build(Spec(self._parsed, tuple(self.wrt), {**dict(concrete), **self._bound},
                                        deferrable, kinds, mode=self._mode, rolled=self._rolled,
                                        has_aux=self._has_aux, checkpoint=self._checkpoint))
            self._builds[key] = found
        self._last = found
        return found

    def _counted(self, concrete, shaped):
        """The build for these ints where the ones that count ``range(n)`` loops are traced as
        symbols (``pipeline.Spec.counts``): one trace for every value of them, each call's value
        passed to the generated code (``_with_counts``). None where no loop stays rolled that
        way, or the trace needs their values (then the build specialises on them, as before)."""
        names = loops.range_counts(self._parsed.node)
        counts = tuple(n for n, v in concrete if n in names and type(v) is int)
        if not counts:
            return None
        rest = tuple((n, v) for n, v in concrete if n not in counts)
        generic_key = ("counts", counts, rest, shaped)  # (cleared with the other builds)
        if generic_key not in self._builds:
            try:
                built = pipeline.build(Spec(self._parsed, tuple(self.wrt), {**dict(rest), **self._bound}, (),
                                            None if shaped is None else dict(shaped),
                                            mode=self._mode, rolled=True, counts=counts,
                                            has_aux=self._has_aux, checkpoint=self._checkpoint))
            except Exception:  # noqa: BLE001 - the specialised build gives the answer or the error
                built = None
            rolled = built is not None and any(  # (a loop in a loop too: range(n) inside)
                isinstance(item, Loop) and item.trip_count.free_symbols for item in walk(built.program.body))
            self._builds[generic_key] = built if rolled else None
        generic = self._builds[generic_key]
        return None if generic is None else _with_counts(generic, dict(concrete))

    def _again(self, concrete, shaped):
        """The build of ``grad(g)`` for ``g = grad(f)`` called with arrays or lists (or with
        numbers, where ``f`` is only traced at the call: its loop counts, recursion on an int).

        The generated code ``g`` was traced with every parameter a number (it is what runs for
        numbers, and what is read again for them); for arrays it would not mean what ``f``
        means (``np.sum`` of a number is the number). So ``f``'s gradient program for these
        shapes is differentiated directly, as one program (``vjp.gradient_as_program``): the
        result is the gradient of ``sum(g(x))`` — the Hessian's row sums, H·1 — in x's shape.
        """
        inner = self._inner
        if list(self._signature.parameters) != list(inner._signature.parameters):
            raise SymdiffError(
                f"{self.fun.__qualname__}: the gradient's parameters differ from those of "
                f"{inner.fun.__qualname__} (an int parameter was specialised away), so it cannot "
                "be differentiated again for array arguments",
                filename=inner._parsed.filename, lineno=inner._parsed.firstlineno,
                hint="use symdiff.hessian(f), or make the int a constant of the function",
            )
        try:
            first = inner._build(concrete, shaped)
        except NeedsConcrete as exc:
            raise SymdiffError(
                f"{self.fun.__qualname__} {_why_deferred(exc)}, so it cannot be differentiated "
                "again before that",
                filename=inner._parsed.filename, lineno=inner._parsed.firstlineno,
                hint="differentiate the gradient with respect to the other parameters: "
                "grad(grad(f, wrt='x'), wrt='x')",
            ) from None
        if type(self) in (Gradient, Jacobian, Hessian, _HessianVector, _Pushforward) \
                and has_loop(first.program):
            program = first.program
            if any(p.name in dict(concrete) and p.name not in program.concrete for p in program.params):
                # (traced with its int counts as symbols: traced again with their values)
                program = pipeline.undistributed(pipeline.trace)(
                    inner._parsed, {**dict(concrete), **inner._bound}, (),
                    None if shaped is None else dict(shaped), rolled=True)
            if type(self) is Gradient:
                return pipeline.build(Spec(self._along_ones(program), tuple(self.wrt)))
            if type(self) is Jacobian:
                return self._jacobian_over_loops(program)
            return self._second_over_loops(program)
        if any(isinstance(item, Loop) for item in walk(first.program.body)):  # a loop kept as a
            first = pipeline.build(Spec(  # loop: differentiated again unrolled (ad.vjp)
                inner._parsed, tuple(inner.wrt), dict(concrete), (),
                None if shaped is None else dict(shaped), mode=inner._mode))
        program = gradient_as_program(first.gradient_program, flat=False)
        if not program.shapes:  # all numbers (f traced at the call for an int): code as f's own
            program.libraries = set(first.program.libraries)
        return self._again_builder(program, self.wrt)

    def _along_ones(self, program):
        """``grad(f)`` (this one's inner gradient) as a program, where ``f``'s trace
        (``program``) keeps a loop as a loop: the derivative of ``f`` along ones in the inner
        ``wrt`` parameter (the sum of the inner gradient's entries: the number itself for a
        number), pushed forward through the loops (``ad.tangent``). ``grad(grad(f))`` is its
        gradient: reverse over forward."""
        from .primitives.arrays import BroadcastTo

        (name,) = self._inner.wrt
        param = next(p for p in program.params if p.name == name)
        if param.tree is not None:
            raise SymdiffError(
                "grad(grad(f)) with respect to a container argument (a list, dict, NamedTuple "
                "or dataclass of arrays): the inner gradient is a container, not one array",
                filename=program.filename, lineno=program.firstlineno,
                hint="use symdiff.hessian(f, wrt=...) (its rows and columns are the leaves in order)")
        directions = {}
        for leaf in param.elements if param.elements is not None else (param.symbol,):
            shape = tuple(program.shapes.get(leaf, ()))
            directions[leaf] = BroadcastTo.make(sympy.Integer(1), shape=shape) if shape else sympy.Integer(1)
        base = program.name if program.name.isidentifier() else "f"
        return pipeline.undistributed(tangent_program)(program, directions, name=f"{base}_grad")

    def _second_over_loops(self, program):
        """``hessian(grad(f))``, ``hvp(grad(f))`` and ``jvp(grad(f))`` of a number ``x`` (the
        inner ``wrt``) where ``f``'s trace (``program``) keeps a loop as a loop: the second
        derivatives of ``grad(f)`` as a program (``_along_ones``), reverse over forward again
        (``jvp``: its first derivative, forward over forward)."""
        if len(self._inner.wrt) != 1:
            raise TypeError(
                f"{self._kind_name}(grad(f)): grad(f) with respect to {len(self._inner.wrt)} "
                f"parameters returns a tuple, and a {self._kind_name} is of a function with one "
                "number out; use jacobian(grad(f)) for the matrix of second derivatives")
        (name,) = self._inner.wrt
        param = next(p for p in program.params if p.name == name)
        if param.elements is not None or program.shapes.get(param.symbol):
            raise ShapeError(
                f"{self._kind_name}(grad(f)) with array arguments: grad(f) returns an array, and "
                f"a {self._kind_name} is of a function with one number out",
                filename=program.filename, lineno=program.firstlineno,
                hint="use symdiff.hessian(f) for the second derivatives, or jacobian(grad(f))")
        if type(self) is _Pushforward:
            return pipeline.pushed_forward(self._along_ones(program), tuple(self.wrt))
        built = pipeline.reverse_over_forward(self._along_ones(program), tuple(self.wrt), tuple(self.wrt))
        if type(self) is Hessian:  # (a loop makes every entry structurally nonzero)
            size = built.output_shape[0]
            built.compression = Compression(Pattern(size, size, full=True), (size,), symmetric=True)
        return built

    def _jacobian_over_loops(self, program):
        """``jacobian(grad(f))`` where ``f``'s trace (``program``) keeps a loop as a loop: row
        ``i`` is the gradient (with respect to this ``wrt``) of the derivative of ``f`` along
        the ``i`` -th unit vector of the inner ``wrt`` (``pipeline.reverse_over_forward``)."""
        built = pipeline.reverse_over_forward(program, tuple(self._inner.wrt), tuple(self.wrt))
        _, ncols = columns_of(program, tuple(self.wrt))
        nrows = built.output_shape[0]
        built.compression = Compression(Pattern(nrows, ncols, full=True), (nrows,))
        return built

    @staticmethod
    def _again_builder(program, wrt):
        """grad of a gradient program: of the sum of its output (ones as the output's adjoint)."""
        from .primitives.arrays import BroadcastTo

        shape = program.shapes.get(program.output, ())
        seed = BroadcastTo.make(sympy.Integer(1), shape=tuple(shape)) if shape else None
        return pipeline.build(Spec(program, tuple(wrt), seed=seed))

    def _deferrable(self, concrete):
        """Non-differentiated parameters still symbolic: a loop over one means 'trace at the call'."""
        done = {name for name, _ in concrete}
        return {name for name in self._signature.parameters if name not in self.wrt and name not in done}

    @property
    def _shown(self):
        """The specialisation ``formulas``/``source``/``explain`` describe: the latest one built."""
        shown = self._last or self._default
        if shown is None:
            raise SymdiffError(
                f"{self.fun.__qualname__} {_why_deferred(self._deferred)}: its formulas exist "
                "once it has been called",
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

    def _generated_function(self, outer):
        """The generated gradient function, to differentiate again (``grad(grad(f))``,
        ``hessian(grad(f))``, ``jacobian(grad(f))``); ``outer`` names the derivative made of it.

        A gradient with respect to several parameters returns a tuple: a Jacobian of it (the
        Hessian) is defined, a gradient is not. Jacobians, Hessians and value_and_grad are
        assembled outside the generated code (one reverse pass per output; a value beside the
        gradient), so they are refused as the inner derivative, saying what to write instead.
        """
        inner = f"{self._kind_name if not self._with_value else 'value_and_grad'}(f)"
        what = f"{outer}({inner})"
        if self._with_value:
            raise TypeError(
                f"{what}: value_and_grad(f) returns (value, gradient), which symdiff does not "
                "differentiate again; differentiate grad(f) instead"
            )
        if type(self) is not Gradient:
            raise TypeError(
                f"{what}: a {self._kind_name} is assembled from one reverse pass per output, "
                "outside the generated code, so symdiff cannot differentiate it again; nest grad "
                "instead: hessian(f) or jacobian(grad(f)) for second derivatives, "
                "grad(grad(grad(f))) and jacobian(grad(grad(f))) beyond, and for a function "
                "with several outputs, the derivatives of each output's gradient"
            )
        if len(self.wrt) != 1 and outer in ("grad", "value_and_grad"):
            raise TypeError(
                f"{what}: grad(f) with respect to {len(self.wrt)} parameters returns a tuple, and "
                "grad needs a single number; use symdiff.hessian(f) or jacobian(grad(f)) for "
                "the matrix of second derivatives"
            )
        if self._default is None:  # traced at each call only: see ``_setup_again``
            return None
        if outer in ("grad", "value_and_grad", "jacobian", "hessian", "hvp", "jvp") \
                and has_loop(self._default.program):
            return None  # differentiated as a program, forward over its loops (``_again``)
        if any(isinstance(item, Loop) and item.is_while for item in walk(self._default.program.body)):
            _refuse_while(self._default.program, what)
        return self._default.differentiable_again()

    def __repr__(self):
        kind = "value_and_grad" if self._with_value else self._kind_name
        return f"<symdiff {kind} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


_PRIMITIVES = {}  # grad(np.tanh): the Python function made for a primitive, once per primitive


def _primitive_as_function(fun):
    """``fun`` itself, or for a callable symdiff knows but cannot read (``np.tanh``,
    ``math.sin``, ``scipy.special.expit``: no Python source) a one-line Python function calling
    it (``def tanh(x): return numpy.tanh(x)``), whose source is registered with ``linecache``."""
    if isinstance(fun, (types.FunctionType, types.MethodType)) or registry.lookup(fun) is None:
        return fun
    if fun in _PRIMITIVES:
        return _PRIMITIVES[fun]
    name = getattr(fun, "__name__", "f")
    name = name if name.isidentifier() else "f"
    if isinstance(getattr(fun, "nin", None), int):
        params = [f"x{i}" if fun.nin > 1 else "x" for i in range(fun.nin)]
    else:
        try:
            params = [p.name for p in inspect.signature(fun).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
        except (TypeError, ValueError):
            return fun
    module_name = getattr(fun, "__module__", None) or "builtins"
    module = sys.modules.get(module_name)
    alias = module_name.rpartition(".")[2]
    called = f"{alias}.{name}" if getattr(module, name, None) is fun and alias.isidentifier() else "_f"
    filename = f"<symdiff: {module_name}.{name}>"
    source = f"def {name}({', '.join(params)}):\n    return {called}({', '.join(params)})\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"_f": fun, alias: module}
    exec(compile(source, filename, "exec"), scope)
    made = _PRIMITIVES[fun] = scope[name]
    made.__qualname__ = made.__name__ = name
    return made


def _with_counts(build, values):
    """``build`` (traced with int parameters as symbols) for these values of them: its
    functions take the other arguments, as a build specialised on the ints does."""
    names = [p.name for p in build.program.params if p.name not in build.program.concrete]
    slots = sorted((names.index(n), v) for n, v in values.items() if n in names)

    def bound(fn):
        def call(*args):
            args = list(args)
            for position, value in slots:
                args.insert(position, value)
            return fn(*args)
        return call

    compiled = types.SimpleNamespace(grad=bound(build.compiled.grad),
                                     value_and_grad=bound(build.compiled.value_and_grad),
                                     namespace=build.compiled.namespace)
    ieee = types.SimpleNamespace(grad=bound(build.ieee.grad),
                                 value_and_grad=bound(build.ieee.value_and_grad))
    return dataclasses.replace(build, compiled=compiled, ieee=ieee)


def _refuse_while(program, what):
    """``what`` (``grad(grad(f))``, ...) of a gradient whose ``while`` on data is kept as a loop:
    a located error (its generated code cannot be unrolled, having no trip count)."""
    loop = next(item for item in walk(program.body) if isinstance(item, Loop) and item.is_while)
    filename = loop.filename or program.filename
    text = linecache.getline(filename, loop.lineno)
    raise SymdiffError(
        f"{what}: the gradient keeps this 'while' loop on a differentiated value as a loop, and "
        f"{what} differentiates the gradient's generated code again, which cannot hold one (its "
        "trip count is only known when it runs, so it cannot be unrolled)",
        filename=filename, lineno=loop.lineno, col_offset=len(text) - len(text.lstrip()),
        hint="hessian(f), hvp(f), jacobian(grad(f)) and grad(grad(f)) keep the loop (forward "
        "over it, then reverse): third derivatives as grad(grad(grad(f))); or loop a fixed "
        "number of times (for k in range(n))")


def _why_deferred(exc):
    """Why a function is only traced when it is called (``exc``: the ``NeedsConcrete`` raised
    before any call), as words following its name."""
    names = ", ".join(exc.args[0]) if exc is not None and exc.args and exc.args[0] else None
    if isinstance(exc, ConditionOnUndifferentiated):
        return (f"is traced at the call: it has an 'if' on {names}, which is not differentiated, "
                "that is only decided there (an int argument is specialised on)")
    return (f"depends on what it is called with ({'here ' + names + ': ' if names else ''}an "
            "array's shape, a list's length or an int loop count)")


def _made(kind, f, **options):
    """``kind(f, **options)``, or (``f`` None: ``@grad(wrt="x")``) the decorator that makes it."""
    if f is None:
        return lambda g: kind(g, **options)
    return kind(f, **options)


def grad(f=None, wrt=None, has_aux=False, cache_size=dispatch.CACHE_SIZE, checkpoint=None):
    """The gradient of ``f``: ``grad(f)``, ``@grad`` or ``@grad(wrt="x")``.

    ``wrt`` is a parameter name, a position, or a tuple of them; ``None`` means every parameter.
    The result returns one value when one parameter is differentiated, else a tuple in ``wrt``
    order. ``has_aux=True``: ``f`` returns ``(value, aux)`` (aux: numbers and arrays, alone or in
    a tuple, list or dict) and the gradient returns ``(gradient, aux)``, as JAX's does.
    ``cache_size`` (default 64): how many specialisations — array shapes, list lengths, values of
    ints that are not differentiated — are kept; beyond it the least recently used is forgotten
    (and built again if called again). ``checkpoint`` (a loop kept as a loop only): an int K
    stores the loop's state every K iterations instead of every one, and the reverse sweep
    recomputes each segment of K iterations from its checkpoint (memory T/K + K states for T
    iterations, for one more forward sweep); ``"sqrt"``: K about the square root of T
    (``lower.checkpoints``). Each gradient object builds with its own setting.

    >>> def f(x, y):
    ...     return x * y + y ** 2
    >>> grad(f)(2.0, 3.0)
    (3.0, 8.0)
    >>> grad(f, wrt="y")(2.0, 3.0)
    8.0
    """
    return _made(Gradient, f, wrt=wrt, has_aux=has_aux, cache_size=cache_size, checkpoint=checkpoint)


def value_and_grad(f=None, wrt=None, has_aux=False, cache_size=dispatch.CACHE_SIZE, checkpoint=None):
    """Like ``grad``, but returns ``(f(...), gradient)`` from one pass (``has_aux=True``:
    ``((value, aux), gradient)``; ``checkpoint``: as for ``grad``).

    >>> def f(x):
    ...     return x ** 3
    >>> value_and_grad(f)(2.0)
    (8.0, 12.0)
    """
    return _made(Gradient, f, wrt=wrt, with_value=True, has_aux=has_aux, cache_size=cache_size,
                 checkpoint=checkpoint)


class Jacobian(Gradient):
    """``jacobian(f)``: the matrix of derivatives of every output of ``f``.

    Each specialisation knows the Jacobian's exact structural sparsity pattern (``sparsity``,
    from ``ad.sparsity``). The routes, in order: forward passes (``jvp``) on the colours of the
    columns where they are few (``FEW_PASSES``) and fewer than the rows' (a dense column);
    one forward pass for all rows (``ad.structured``) for array code with a rule for every line;
    else the rows are coloured so that rows of one colour share no column, and one reverse pass
    per colour gives them all (a bidiagonal Jacobian: 2 passes, whatever its size), the forward
    passes on the columns where those are fewer. ``sparse=True`` returns a
    ``scipy.sparse.csr_matrix`` holding the pattern's entries; the dense result takes the same
    route (the same numbers), or one pass per row where colouring saves none.

    >>> def f(x, y):
    ...     return (x * y, x + y ** 2)
    >>> jacobian(f)(2.0, 3.0)
    array([[3., 2.],
           [1., 6.]])
    """

    _mode = "vjp"
    _kind_name = "jacobian"
    _sparse = False  # results as scipy.sparse matrices (set by ``__new__``)
    _forward = None  # the jvp build's object, for forward passes on column colours

    def __new__(cls, fun, wrt=None, cache_size=dispatch.CACHE_SIZE, sparse=False):
        if sparse:
            _scipy_sparse(f"{cls._kind_name}(f, sparse=True)")
        self = super().__new__(cls, fun, wrt=wrt, cache_size=cache_size)
        self._sparse = bool(sparse)  # (entries are made at calls, after this)
        return self

    @staticmethod
    def _again_builder(program, wrt):
        """``jacobian(grad(f))`` from ``grad(f)`` as a program: that program's vjp build."""
        return pipeline.build(Spec(program, tuple(wrt), mode="vjp"))

    def _compression(self, build):
        """The build's ``ad.sparsity.Compression`` (made once per specialisation)."""
        if build.compression is None:
            build.compression = compress(build.program, self.wrt,
                                                     hessian=self._mode == "hessian")
        return build.compression

    def sparsity(self, *args, **kwargs):
        """The exact structural sparsity pattern of the matrix a call with these arguments
        returns, as a boolean ``scipy.sparse.csr_matrix`` (rows: the outputs flattened, columns:
        the differentiated numbers). It comes from the program's structure, not from values: an
        entry outside it is zero at every point; one inside may still be zero at some points.
        A function of numbers only may be called without arguments."""
        sp = _scipy_sparse(f"{self._kind_name}(f).sparsity()")
        if args or kwargs:
            build = self.build_for(*args, **kwargs)
        else:
            build = self._default
            if build is None:
                raise TypeError(f"{self._kind_name}(f).sparsity() of {self.fun.__qualname__} needs "
                                "example arguments (array shapes, list lengths, int values): "
                                "pass them as to a call")
        plan = self._compression(build)
        data = np.ones(plan.indices.size, dtype=bool)
        return sp.csr_matrix((data, plan.indices, plan.indptr), shape=(plan.nrows, plan.ncols))

    def source_for(self, *args, **kwargs):
        """The generated Python source a call with these arguments runs: the one-pass function
        (``ad.structured``) where the call takes that route, else the vector-Jacobian product
        that its passes call (a Hessian: of the gradient)."""
        self(*args, **kwargs)  # (the route is chosen at the first call of these kinds)
        build = self.build_for(*args, **kwargs)
        if build.structured:
            return build.structured.code.value_and_grad_source
        return build.code.grad_source

    def _make_entry(self, build, kinds, key, args=()):
        fn = build.grad_fn
        externals = build.program.externals
        guards = build.program.guards
        shape = build.output_shape
        count = math.prod(shape) if shape else 1
        single = len(self.wrt) == 1
        wrt = set(self._wrt_positions)
        plan = self._compression(build) if (self._sparse or count > 2) else None
        if (self._sparse or count > 1) and not self._few_forward_passes(plan):
            # one pass for all rows, where it has rules for the code
            one_pass = self._structured_entry(build, kinds, key, plan)
            if one_pass is not None:
                return one_pass
        if plan is not None:
            forward = self._forward_entry(build, kinds, key, plan, args)
            if forward is not None:
                return forward
        if self._sparse or (plan is not None and plan.useful):
            return self._compressed_entry(build, kinds, key, plan)

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            args = converted(args, kinds, wrt)
            args += [e.read() for e in externals]
            rows = []
            for i in range(count):
                if shape:
                    seed = np.zeros(shape)
                    seed.flat[i] = 1.0
                else:
                    seed = 1.0
                result = fn(*args, seed)
                parts = (result,) if single else result
                rows.append(np.concatenate([_flat(p) for p in parts]))
            return np.array(rows)

        return entry

    def _few_forward_passes(self, plan):
        """Whether the forward passes on the colours of the columns are few (``FEW_PASSES``) and
        fewer than the reverse ones (``_forward_entry``): a dense column, ``x * x[0]``."""
        if plan is None or type(self) is not Jacobian or self._inner is not None or plan.pattern.full:
            return False
        columns = plan.columns()[1]
        return columns < plan.count and columns <= FEW_PASSES

    def _structured_entry(self, build, kinds, key, plan):
        """The Jacobian (a Hessian: of the gradient) of array code from one generated function
        (``pipeline.structured_jacobian``: one forward pass, its tangents structured), dense or
        (``sparse=True``) the data of ``plan``'s CSR matrix; None for numbers only, a
        ``jacobian(grad(f))``, or a construct without a structured rule."""
        if type(self) not in (Jacobian, Hessian) or self._inner is not None:
            return None
        gather = None  # sparse: the entries picked from the dense matrix (not all picks)
        if build.structured is None:
            listing = plan.flat if self._sparse else None
            build.structured = pipeline.structured_jacobian(build.program, self.wrt, listing) or False
            if self._sparse and not build.structured and plan.nrows * plan.ncols <= DENSE_GATHER:
                build.structured = pipeline.structured_jacobian(build.program, self.wrt) or False
                build.structured_gather = bool(build.structured)
        if build.structured is False:
            return None
        if build.structured_gather:
            gather = plan.flat
        fn = build.structured.value_and_grad_fn
        externals = build.program.externals
        guards = build.program.guards
        wrt = set(self._wrt_positions)
        if self._sparse:
            matrix = _scipy_sparse("sparse=True").csr_matrix
            indices, indptr, shape = plan.indices, plan.indptr, (plan.nrows, plan.ncols)

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            args = converted(args, kinds, wrt)
            args += [e.read() for e in externals]
            if not self._sparse:
                return fn(*args)
            data = fn(*args)
            if gather is not None:
                data = data.ravel().take(gather)
            return matrix((data, indices, indptr), shape=shape)

        return entry

    def _forward_entry(self, build, kinds, key, plan, args):
        """Forward passes (``jvp``'s generated code) on the colours of the columns, where they
        are fewer than the reverse passes on the colours of the rows (a dense column: ``x *
        x[0]`` takes 2, not n); None where they are not, or the function has no forward build."""
        if type(self) is not Jacobian or self._inner is not None or not args or plan.pattern.full:
            return None
        colours, ncolours, gather = plan.columns()
        if ncolours >= min(plan.count, plan.nrows if not self._sparse else plan.count):
            return None
        if self._forward is None:
            self._forward = _Pushforward(self.fun, wrt=self.wrt, cache_size=self._cache_size)
        route = self._forward._dispatch.route
        try:
            route(*args)  # its build, made now (a function it cannot push forward: rows)
        except Exception:  # noqa: BLE001 - the reverse passes give the same matrix
            return None
        nrows, ncols = plan.nrows, plan.ncols
        tangents = [(colours == c).astype(np.float64) for c in range(ncolours)]
        if self._sparse:
            matrix = _scipy_sparse("sparse=True").csr_matrix
            indices, indptr = plan.indices, plan.indptr
        else:
            flat = plan.flat

        guards = build.program.guards

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            apply = route(*args)
            compressed = np.empty((ncolours, nrows))
            for c in range(ncolours):
                compressed[c] = np.ravel(apply(tangents[c]))
            data = compressed.ravel().take(gather)
            if self._sparse:
                return matrix((data, indices, indptr), shape=(nrows, ncols))
            out = np.zeros((nrows, ncols))
            out.ravel()[flat] = data
            return out

        return entry

    def _compressed_entry(self, build, kinds, key, plan):
        """One reverse pass per colour of the rows (``plan``), the entries picked from them."""
        fn = build.grad_fn
        externals = build.program.externals
        guards = build.program.guards
        single = len(self.wrt) == 1
        wrt = set(self._wrt_positions)
        seeds, gather, nrows, ncols = plan.seeds, plan.gather, plan.nrows, plan.ncols
        ncolours = plan.count
        plain = single and isinstance(kinds[self._wrt_positions[0]], dispatch.Array)
        if self._sparse:
            matrix = _scipy_sparse("sparse=True").csr_matrix
            indices, indptr = plan.indices, plan.indptr
            shape = (nrows, ncols)
        else:
            flat = plan.flat

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            args = converted(args, kinds, wrt)
            args += [e.read() for e in externals]
            compressed = np.empty((ncolours, ncols))
            for c in range(ncolours):
                result = fn(*args, seeds[c])
                if plain:  # one array parameter: its gradient is an array of its shape
                    compressed[c] = result.ravel()
                elif single:
                    compressed[c] = _flat(result)
                else:
                    compressed[c] = np.concatenate([_flat(p) for p in result])
            data = compressed.ravel().take(gather)
            if self._sparse:
                return matrix((data, indices, indptr), shape=shape)
            out = np.zeros((nrows, ncols))
            out.ravel()[flat] = data
            return out

        return entry

    def _ieee(self, args):
        raise  # noqa: PLE0704 - re-raise the ZeroDivisionError being handled


def _scipy_sparse(what):
    """``scipy.sparse``, or an ImportError saying how to get it (scipy is an optional extra)."""
    try:
        import scipy.sparse
    except ImportError:
        raise ImportError(f"{what} returns scipy.sparse matrices, and scipy is not installed: "
                          "pip install 'symdiff[sparse]' (or pip install scipy)") from None
    return scipy.sparse


def _flat(gradient):
    """One gradient as a vector of float64: a number, an array raveled, a container's leaves in
    order (``pytrees``), each raveled and concatenated (the columns of a Jacobian with respect
    to a container argument)."""
    if pytrees.is_container(gradient):
        node, _ = pytrees.flatten(gradient, lambda v: "leaf")
        leaves = pytrees.leaf_values(gradient, node)
        return np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in leaves] or [np.zeros(0)])
    return np.ravel(np.asarray(gradient, dtype=np.float64))


class Hessian(Jacobian):
    """``hessian(f)``: the matrix of second derivatives of a scalar function.

    >>> def f(x, y):
    ...     return x ** 2 * y + y ** 3
    >>> hessian(f)(1.0, 2.0)
    array([[ 4.,  2.],
           [ 2., 12.]])
    """

    _mode = "hessian"
    _kind_name = "hessian"

    @staticmethod
    def _again_builder(program, wrt):
        """``hessian(grad(f))`` from ``grad(f)`` as a program (``f`` traced at the call): the
        vjp build of that program's own gradient, as the "hessian" mode makes for a function."""
        if program.shapes.get(program.output, ()):
            raise ShapeError(
                "hessian(grad(f)) with array arguments: grad(f) returns an array, and a Hessian "
                "is of a function with one number out",
                filename=program.filename, lineno=program.firstlineno,
                hint="use symdiff.hessian(f) for the second derivatives, or jacobian(grad(f))",
            )
        return pipeline.build(Spec(program, tuple(wrt), mode="hessian"))


def jacobian(f=None, wrt=None, cache_size=dispatch.CACHE_SIZE, sparse=False):
    """The Jacobian of ``f`` (outputs: a number, a tuple/list of numbers or an array) as an array
    of shape (number of outputs, number of differentiated inputs); ``sparse=True``: as a
    ``scipy.sparse.csr_matrix`` of its exact sparsity pattern (see ``Jacobian``)."""
    return _made(Jacobian, f, wrt=wrt, cache_size=cache_size, sparse=sparse)


def hessian(f=None, wrt=None, cache_size=dispatch.CACHE_SIZE, sparse=False):
    """The Hessian of a scalar ``f``: shape (n, n) for n differentiated inputs (arrays flattened);
    ``sparse=True``: a ``scipy.sparse.csr_matrix`` of its exact (symmetric) sparsity pattern.
    Array code: one forward pass over the gradient (``ad.structured``); else one reverse pass of
    the gradient per colour of its rows (Rosenbrock's: 3, any n)."""
    return _made(Hessian, f, wrt=wrt, cache_size=cache_size, sparse=sparse)


def sparsity(f, *args, wrt=None, hessian=False, **kwargs):
    """The exact structural sparsity pattern of ``jacobian(f, wrt)`` (``hessian=True``: of
    ``hessian(f, wrt)``) at arguments like ``args`` (their shapes, lengths and int values
    matter, not their values), as a boolean ``scipy.sparse.csr_matrix``. ``f`` may also be a
    ``Jacobian`` or ``Hessian`` already made (then ``wrt`` and ``hessian`` are its own).

    >>> import numpy as np
    >>> def steps(x):
    ...     return x[1:] - x[:-1] ** 2
    >>> sparsity(steps, np.zeros(4)).toarray().astype(int)
    array([[1, 1, 0, 0],
           [0, 1, 1, 0],
           [0, 0, 1, 1]])
    """
    if not isinstance(f, Jacobian):
        f = (Hessian if hessian else Jacobian)(f, wrt=wrt)
    return f.sparsity(*args, **kwargs)


class _Pushforward(Gradient):
    """The build behind ``jvp``: called with ``f``'s arguments (dispatched as any gradient), it
    returns the function of the flat tangent that computes J v (``pipeline`` mode "jvp": the
    vjp transposed, one generated function; the seed it takes is 0)."""

    _mode = "jvp"
    _kind_name = "jvp"

    def _make_entry(self, build, kinds, key, args=()):
        fn = build.grad_fn
        externals = build.program.externals
        guards = build.program.guards
        wrt = set(self._wrt_positions)
        before = self._before(build)

        def entry(*args):
            if guards and not all(g.holds() for g in guards):
                return self._rebuild(key, build, args)
            full = converted(args, kinds, wrt) + [e.read() for e in externals] + before
            return lambda tangent: fn(*full, tangent)

        return entry

    @staticmethod
    def _before(build):
        """The arguments between the externals and the tangent: the output's adjoint, 0."""
        return [np.zeros(build.output_shape) if build.output_shape else 0.0]

    def _ieee(self, args):
        raise  # noqa: PLE0704 - re-raise the ZeroDivisionError being handled


class _HessianVector(_Pushforward):
    """The build behind ``hvp``: the gradient of ``grad f(x) . v`` (``pipeline`` mode "hvp")."""

    _mode = "hvp"
    _kind_name = "hvp"

    @staticmethod
    def _before(build):
        return []


class JVP:
    """``jvp(f)``: the directional derivative of ``f`` — its Jacobian times a tangent, J(x)·v.

    Called with ``f``'s arguments and then the tangent as the last positional argument: for one
    differentiated parameter a number or array of that parameter's shape, for several a tuple of
    them in ``wrt`` order. Returns a float for a function with one number out, else an array of
    the output's shape. One generated function computes it: the forward pass and the tangents
    pushed through each line's local derivatives (the vjp transposed; ``pipeline`` mode "jvp"),
    at about the cost of two evaluations of ``f``, whatever the number of outputs.

    >>> def f(x, y):
    ...     return (x * y, x + y ** 2)
    >>> jvp(f)(2.0, 3.0, (1.0, 0.5))
    array([4., 4.])
    """

    _builder = _Pushforward
    _what = "jvp"

    def __init__(self, fun, wrt=None, cache_size=dispatch.CACHE_SIZE):
        self._push = self._builder(fun, wrt=wrt, cache_size=cache_size)
        functools.update_wrapper(self, fun, updated=())
        self.fun = self._push.fun
        self.wrt = self._push.wrt

    def __call__(self, *args, **kwargs):
        name = self.fun.__qualname__
        if not args:
            raise TypeError(f"{self._what} of {name} takes {name}'s arguments, then the tangent (one "
                            "positional argument more)")
        *args, tangent = args
        calls = self._push._dispatch
        bound = calls.bind(args, kwargs)
        apply = calls.route(*bound)
        parts = (tangent,) if len(self.wrt) == 1 else tangent
        if len(self.wrt) != 1 and (not isinstance(parts, (tuple, list)) or len(parts) != len(self.wrt)):
            raise TypeError(f"{self._what} of {name} with respect to {', '.join(self.wrt)}: the tangent "
                            f"is a tuple of {len(self.wrt)} (one per parameter, in that order), not {tangent!r}")
        flat = []
        for param, position, part in zip(self.wrt, self._push._wrt_positions, parts):
            if isinstance(dispatch.kind_of(bound[position], True), dispatch.Tree):  # a container:
                # its tangent is the same container (a list or tuple of numbers is a Sequence)
                leaves, expected = _flat(part) if pytrees.is_container(part) else None, _flat(bound[position])
                if leaves is None or type(part) is not type(bound[position]) or leaves.size != expected.size:
                    raise ValueError(f"{self._what} of {name}: the tangent of {param!r} is a "
                                     f"{type(bound[position]).__name__} like {param!r} itself, leaf for leaf")
                flat.append(leaves)
                continue
            shape = np.shape(bound[position])
            part = np.asarray(part, dtype=np.float64)
            if part.shape != shape:
                raise ValueError(f"{self._what} of {name}: the tangent of {param!r} has shape "
                                 f"{part.shape}, but {param!r} has shape {shape}")
            flat.append(part.ravel())
        return self._shaped(apply(np.concatenate(flat)))

    @staticmethod
    def _shaped(result):
        return float(result) if np.ndim(result) == 0 else np.asarray(result, dtype=np.float64)

    def __repr__(self):
        return f"<symdiff {self._what} of {self.fun.__qualname__} wrt {', '.join(self.wrt)}>"


class HVP(JVP):
    """``hvp(f)``: the Hessian of a scalar ``f`` times a vector, H(x)·v, without the Hessian.

    Called as ``jvp`` is (``f``'s arguments, then ``v``); returns the product in the shape of
    the parameters (a tuple for several), as ``grad`` does: one generated function, the
    gradient of ``grad f(x) · v`` (about the cost of two gradients). For Newton-CG:
    ``scipy.optimize.minimize(f, x0, jac=grad(f), hessp=hvp(f), method="Newton-CG")``.

    >>> def f(x, y):
    ...     return x ** 2 * y + y ** 3
    >>> hvp(f)(1.0, 2.0, (1.0, 0.0))
    (4.0, 2.0)
    """

    _builder = _HessianVector
    _what = "hvp"

    def _shaped(self, result):
        if len(self.wrt) == 1:
            return JVP._shaped(result)
        return tuple(JVP._shaped(r) for r in result)


def jvp(f=None, wrt=None, cache_size=dispatch.CACHE_SIZE):
    """The directional derivative of ``f``: ``jvp(f)(x, v)`` is J(x)·v, the derivative of
    ``f(x + t·v)`` at t = 0 (forward mode's product; see ``JVP``).

    >>> def cube(x):
    ...     return x ** 3
    >>> jvp(cube)(2.0, 0.5)
    6.0
    """
    return _made(JVP, f, wrt=wrt, cache_size=cache_size)


class JacFwd(JVP):
    """``jacfwd(f)``: the Jacobian by forward mode. With an array among the differentiated
    arguments it takes ``jacobian``'s routes, which are forward ones where they are cheaper: one
    forward pass for all columns (``ad.structured``), else one ``jvp`` per colour of the columns
    where they need fewer than the rows (else one reverse pass per colour of the rows). With
    numbers only, one forward pass (``jvp``) per differentiated number. Same layout as
    ``jacobian``: rows the outputs flattened, columns the differentiated numbers in order.

    >>> def f(x):
    ...     return (x * x, 3.0 * x, x ** 3)
    >>> jacfwd(f)(2.0)
    array([[ 4.],
           [ 3.],
           [12.]])
    """

    _what = "jacfwd"
    _jacobian = None  # the ``Jacobian`` of the same function, for array arguments

    def __call__(self, *args, **kwargs):
        calls = self._push._dispatch
        bound = calls.bind(args, kwargs)
        if any(isinstance(bound[p], np.ndarray) for p in self._push._wrt_positions):
            if self._jacobian is None:
                self._jacobian = Jacobian(self.fun, wrt=self.wrt, cache_size=self._push._cache_size)
            return self._jacobian(*args, **kwargs)
        apply = calls.route(*bound)
        sizes = [_flat(bound[position]).size for position in self._push._wrt_positions]
        columns = []
        for j in range(sum(sizes)):
            tangent = np.zeros(sum(sizes))
            tangent[j] = 1.0
            columns.append(np.ravel(np.asarray(apply(tangent), dtype=np.float64)))
        return np.stack(columns, axis=1)


def jacfwd(f=None, wrt=None, cache_size=dispatch.CACHE_SIZE):
    """The Jacobian by forward passes, one per input (see ``JacFwd``)."""
    return _made(JacFwd, f, wrt=wrt, cache_size=cache_size)


def hvp(f=None, wrt=None, cache_size=dispatch.CACHE_SIZE):
    """The Hessian-vector product of a scalar ``f``: ``hvp(f)(x, v)`` is H(x)·v (see ``HVP``).

    >>> def cube(x):
    ...     return x ** 3
    >>> hvp(cube)(2.0, 0.5)
    6.0
    """
    return _made(HVP, f, wrt=wrt, cache_size=cache_size)


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


def _central_differences(fun, args, i, step):
    """d fun / d args[i] for a list, tuple or array argument: one central difference per number."""
    value = args[i]
    base = np.array(value, dtype=np.float64)
    out = np.empty(base.shape)
    for index in np.ndindex(base.shape):
        x = float(base[index])
        h = step or (np.finfo(float).eps ** (1 / 3)) * max(1.0, abs(x))
        values = []
        for moved in (x + h, x - h):
            arg = base.copy()
            arg[index] = moved
            if isinstance(value, (list, tuple)):
                arg = type(value)(arg.tolist())
            call = list(args)
            call[i] = arg
            values.append(fun(*call))
        out[index] = (values[0] - values[1]) / (2 * h)
    return out


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
    params = list(parse_signature(fun).parameters)
    args = g.bind(*args)
    analytic = g(*args)
    analytic = (analytic,) if g._single else tuple(analytic)
    numeric = []
    for name in g.wrt:
        i = params.index(name)
        if isinstance(args[i], (list, tuple, np.ndarray)) and np.ndim(args[i]):
            numeric.append(_central_differences(fun, args, i, step))
            continue
        x = float(args[i])
        h = step or (np.finfo(float).eps ** (1 / 3)) * max(1.0, abs(x))
        plus, minus = list(args), list(args)
        plus[i], minus[i] = x + h, x - h
        numeric.append((fun(*plus) - fun(*minus)) / (2 * h))
    # arrays are compared component by component
    pairs = [(np.asarray(a, dtype=float), np.asarray(n, dtype=float)) for a, n in zip(analytic, numeric)]
    errors = [float(np.max(np.abs(a - n) / np.maximum(np.abs(n), atol / rtol), initial=0.0))
              for a, n in pairs]
    max_error = max(errors) if errors else 0.0
    ok = all(bool(np.all(np.abs(a - n) <= atol + rtol * np.abs(n))) for a, n in pairs) and not any(
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
