"""pipeline: what to differentiate (a ``Spec``) -> one ``Build``: every stage's result, compiled.

Takes: a ``Spec`` — a parsed function (traced here) or a traced ``Program``, the parameters to
differentiate, the specialisation (concrete ints, argument kinds) and the mode: ``"grad"`` (one
number out), ``"vjp"`` (the output's adjoint, ``seed``, an argument of the generated functions:
``jacobian``), ``"hessian"`` (the vjp of the gradient). Returns: a ``Build``. The stages, in order:
frontend.interpreter.trace -> ad.reverse.derive -> lower.schedule -> backends.python_code.

>>> import math
>>> from symdiff.frontend.parse import parse_function
>>> def f(x):
...     return math.sin(x) * x
>>> built = build(Spec(parse_function(f), ("x",)))
>>> round(built.grad_fn(1.0), 12)
1.381773290676
"""

import contextlib
import dataclasses
import functools
import gc
import math
import threading
import types
from dataclasses import dataclass, field

import numpy as np
from sympy.core.parameters import distribute

from .ad.reverse import derive
from .ad.sparsity import Compression, Pattern
from .ad.structured import NoRule, jacobian_program
from .ad.tangent import has_loop, tangent_program
from .ad.vjp import gradient_as_program
from .backends.python_code import generate
from .errors import NestingError, ShapeError, SymdiffError
from .frontend.interpreter import trace
from .ir import Origin, Param, Statement, walk
from .primitives.arrays import MatMul
from .lower.schedule import schedule
from .primitives.nodes import real_symbol
from .runtime import stack
from .runtime.compiled import CompiledCode, IEEEFallback, compile_functions

MODES = ("grad", "vjp", "hessian", "jvp", "hvp")


@dataclass(frozen=True)
class Spec:
    """What one build differentiates, and how.

    ``source``: a parsed function (``frontend.parse.parse_function``; traced here with
    ``concrete``, ``deferrable`` and ``kinds``) or a ``Program`` traced already. ``wrt``: parameter
    names. ``mode``: see the module docstring. ``seed``: for ``"grad"`` of a ``Program``, the
    output's adjoint (default 1; ones of the output's shape: the gradient of ``sum(output)``).
    ``rolled``: trace long ``for`` loops over a ``range`` as ``ir.Loop`` s (``frontend.loops``;
    "grad" mode only: the other consumers unroll them).
    """

    source: object
    wrt: tuple
    concrete: dict = None
    deferrable: object = ()
    kinds: dict = None
    mode: str = "grad"
    seed: object = None
    has_aux: bool = False  # the function returns (value, aux); "grad" mode of a parsed function
    rolled: bool = False  # "grad" of a parsed function: long range() loops kept as loops
    counts: tuple = ()  # int parameters traced as symbols: trip counts of rolled loops
    checkpoint: object = None  # rolled loops' tapes: every K-th state only (lower.checkpoints)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"Spec mode must be one of {MODES}, not {self.mode!r}")

    @property
    def traced(self):
        """Whether ``source`` is a traced ``Program`` (not a parsed function)."""
        return hasattr(self.source, "body")


@dataclass
class Build:
    """One specialisation: every stage's result, and the compiled functions."""

    program: object
    gradient_program: object
    schedule: object
    code: object
    compiled: object  # ``CompiledCode``: the functions, compiled on first use
    library: str
    ieee: object  # the same code over numpy float64, for when Python arithmetic raises
    live: object = field(default=None, repr=False)  # see ``differentiable_again``
    output_shape: tuple = ()  # "vjp" and "hessian" builds: the shape of the seed they take
    compression: object = field(default=None, repr=False)  # api: ``ad.sparsity.Compression``
    structured: object = field(default=None, repr=False)  # api: ``structured_jacobian``'s Build
    structured_gather: bool = field(default=False, repr=False)  # api: sparse, from its dense matrix

    @property
    def grad_fn(self):
        return self.compiled.grad

    @property
    def value_and_grad_fn(self):
        return self.compiled.value_and_grad

    def differentiable_again(self):
        """The gradient function for ``grad(grad(f))``: the module-level and closure numbers f
        reads are globals of it, read when it runs (not trailing parameters, as in ``grad_fn``)."""
        externals = {e.symbol.name: e for e in self.program.externals}
        if not externals and not self.code.fallbacks:
            return self.grad_fn
        if self.live is None and not externals:  # the readable text, without the IEEE fallback
            code = dataclasses.replace(self.code, fallbacks={})
            self.live = CompiledCode(code, constants(self.program)).grad
        if self.live is None:
            code = generate(self.schedule, self.gradient_program, self.library, self.code.aliases,
                            constants={name: 0.0 for name in externals})
            self.live = CompiledCode(code, constants(self.program), live=externals).grad
        return self.live


def undistributed(stage):
    """Run ``stage`` with SymPy's ``2*(a + b) -> 2*a + 2*b`` rewrite off (a number times a sum
    stays one product: fewer operations in the generated code, and the sum is computed once),
    with the cyclic garbage collector paused (see ``_collector_paused``), on a thread whose C
    stack holds the recursion limit it runs under (``stack.deep``).

    SymPy's own constructors are not all safe without that rewrite: ``signs.py`` builds the
    applications that would loop with it on. Should a loop still occur (a ``RecursionError``
    outside the tracer's nesting, or a ``NestingError`` from it), the stage runs once more in
    SymPy's standard context, where they cannot loop; deep input fails there too, as the
    located ``NestingError``.
    """

    @functools.wraps(stage)
    def run(*args, **kwargs):
        try:
            return stack.deep(_in_context, stage, False, args, kwargs)
        except (RecursionError, NestingError):
            pass  # (retried outside the except clause: its traceback holds the whole deep stack)
        try:
            return stack.deep(_in_context, stage, True, args, kwargs)
        except RecursionError:
            pass
        sources = [a.source if isinstance(a, Spec) else a for a in args]
        where = next((a for a in sources if hasattr(a, "firstlineno")), None)
        raise NestingError(
            "the function nests too deeply for symdiff to differentiate (the recursion limit "
            f"of {stack.RECURSION_LIMIT} was reached)",
            filename=getattr(where, "filename", None), lineno=getattr(where, "firstlineno", None),
            hint="split deeply nested expressions into several assignments",
        )

    return run


def _in_context(stage, distributed, args, kwargs):
    with distribute(distributed), _collector_paused():
        return stage(*args, **kwargs)


_collector = {"lock": threading.Lock(), "builds": 0, "was_enabled": False}


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector off while a build runs (reference counting still frees).

    A build allocates some 10^5 short-lived SymPy objects per 100 statements. Past ~300
    statements that triggers full collections, each walking every live object (SymPy's own
    included): the build time per statement stepped up by 20% from N = 200 to N = 400 (section D
    of the benchmarks). Paused, it stays flat. Builds in several threads share one pause.
    """
    state = _collector
    with state["lock"]:
        if state["builds"] == 0:
            state["was_enabled"] = gc.isenabled()
            gc.disable()
        state["builds"] += 1
    try:
        yield
    finally:
        with state["lock"]:
            state["builds"] -= 1
            if state["builds"] == 0 and state["was_enabled"]:
                gc.enable()


@undistributed
def build(spec):
    """The core: a ``Spec`` -> its compiled derivative (one ``Build``)."""
    if spec.mode in ("hessian", "hvp", "jvp") and spec.rolled and not spec.traced:
        forward = _forward_over_loops(spec)  # loops kept as loops: forward mode (ad.tangent)
        if forward is not None:
            return forward
    if spec.mode == "hessian":
        return _compile(_seeded(gradient_as_program(_first_derivative(spec)), spec.wrt))
    if spec.mode == "hvp":  # H v = d/dx (grad f . v): reverse over reverse, one pass
        return _compile(_paired(gradient_as_program(_first_derivative(spec)), spec.wrt))
    if spec.traced:
        program = spec.source
    else:
        program = trace(spec.source, spec.concrete, spec.deferrable, spec.kinds,
                        vector_output=spec.mode in ("vjp", "jvp"),
                        rolled=spec.rolled and spec.mode in ("grad", "vjp"),
                        counts=spec.counts, has_aux=spec.has_aux and spec.mode == "grad")
    if spec.mode == "vjp":
        return _compile(_seeded(program, spec.wrt))
    if spec.mode == "jvp":
        return _compile(_transposed(program, spec.wrt))
    if not spec.traced:
        _check_scalar_output(program)
    return _compile(_Derivative(program, _params(program, spec.wrt), spec.seed, seeded=False,
                                checkpoint=spec.checkpoint))


def _forward_over_loops(spec):
    """The build of a "jvp", "hvp" or "hessian" ``spec`` whose function keeps a loop as a loop
    when traced with loops rolled, by forward mode (``ad.tangent``); None where it keeps none
    (the other routes, unchanged, take it then).

    "jvp": the tangent program itself, J v. "hvp": reverse over forward, the gradient of
    ``grad f . v``, which is H v (H symmetric); "hessian" is that build, its rows the products
    with the unit vectors (one pass each: a loop's pattern is dense). The generated functions
    take the function's arguments, its externals and (for "jvp", the output's adjoint, unused)
    one tangent per differentiated number, array or list item; the ``Build`` 's functions take
    the flat tangent (``output_shape``: its length), as the other routes' do."""
    program = trace(spec.source, spec.concrete, spec.deferrable, spec.kinds,
                    vector_output=spec.mode == "jvp", rolled=True)
    if not has_loop(program):
        return None
    if spec.mode != "jvp":
        _check_scalar_output(program)
        built = reverse_over_forward(program, spec.wrt, spec.wrt)
        if spec.mode == "hessian":  # (a loop makes every entry structurally nonzero)
            size = built.output_shape[0]
            built.compression = Compression(Pattern(size, size, full=True), (size,), symmetric=True)
        return built
    return pushed_forward(program, spec.wrt)


@undistributed
def pushed_forward(program, along):
    """The "jvp" build of ``program`` (J v, ``v`` a tangent of the parameters named
    ``along``) by forward mode (``ad.tangent``): its functions take the arguments, the
    externals, the output's adjoint (unused: the vjp route's calls) and ``v`` flat."""
    tangents, pieces, signature = _pushed_forward(program, along)
    seed = program.namer.fresh("seed")
    signature.insert(len(signature) - len(pieces), seed)
    base = program.name if program.name.isidentifier() else "f"
    title = (f"{base}_jvp", (f"Derivative of {program.name} along a tangent of "
                             f"{', '.join(along)}, loops kept as loops"))
    built = _compile(_Derivative(tangents, [], None, seeded=False, signature=signature), title=title)
    built.output_shape = tuple(program.shapes.get(program.output, ()))
    return _taking_flat_tangents(built, pieces, value=True)


def _pushed_forward(program, along, name=None):
    """``program`` pushed forward (``ad.tangent``) along a tangent of each number, array or
    list item of the parameters named ``along``, each tangent a new argument: ``(tangent
    program, [(tangent symbol, shape)], signature)`` (the signature: the program's arguments,
    its externals, the tangents)."""
    directions, pieces = {}, []
    for param in _params(program, along):
        for leaf in param.elements if param.elements is not None else (param.symbol,):
            tangent = real_symbol(program.namer.fresh(f"{leaf.name}_tangent"))
            shape = tuple(program.shapes.get(leaf, ()))
            if shape:
                program.shapes[tangent] = shape
            directions[leaf] = tangent
            pieces.append((tangent, shape))
    tangents = tangent_program(program, directions, name=name or program.name)
    signature = [*[p.symbol.name for p in program.params if p.name not in program.concrete],
                 *[e.symbol.name for e in program.externals], *[t.name for t, _ in pieces]]
    return tangents, pieces, signature


@undistributed
def reverse_over_forward(program, along, wrt, name=None):
    """The build of ``grad_wrt (J v)``: the gradient with respect to the parameters named
    ``wrt`` of ``program`` 's (one number out) derivative along a tangent ``v`` of those named
    ``along`` (``_pushed_forward``). Its functions take the arguments, the externals and ``v``
    flat (``output_shape``: its length) and return the gradient: H v where ``along`` is
    ``wrt``, a row block of the Hessian times v otherwise (``jacobian(grad(f))``)."""
    tangents, pieces, signature = _pushed_forward(program, along, name)
    built = _compile(_Derivative(tangents, _params(tangents, wrt), None, seeded=False,
                                 signature=signature))
    built.output_shape = (sum(math.prod(shape) for _, shape in pieces),)
    return _taking_flat_tangents(built, pieces)


def _taking_flat_tangents(built, pieces, value=False):
    """``built`` with functions taking one flat vector in place of the tangents ``pieces``
    (``(symbol, shape)`` each: numbers as floats, arrays reshaped); ``value``: ``grad`` is the
    value function (a "jvp" build returns J v as its value)."""
    slices, start = [], 0
    for _, shape in pieces:
        size = math.prod(shape)
        slices.append((start, start + size, shape))
        start += size

    def flat(fn):
        def call(*args):
            vector = np.asarray(args[-1], dtype=np.float64).ravel()
            parts = [vector[a:b].reshape(shape) if shape else float(vector[a])
                     for a, b, shape in slices]
            return fn(*args[:-1], *parts)
        return call

    compiled, ieee = built.compiled, built.ieee
    grad = compiled.value_and_grad if value else compiled.grad
    ieee_grad = ieee.value_and_grad if value else ieee.grad
    built.compiled = types.SimpleNamespace(grad=flat(grad), value_and_grad=flat(compiled.value_and_grad),
                                           namespace=compiled.namespace)
    built.ieee = types.SimpleNamespace(grad=flat(ieee_grad), value_and_grad=flat(ieee.value_and_grad))
    return built


@dataclass
class _Derivative:
    """What ``_compile`` needs: the program, what to differentiate, and the output's adjoint
    (``seeded``: a symbol the generated functions take as their last argument)."""

    program: object
    wrt: list
    seed: object
    seeded: bool
    output_shape: tuple = ()
    signature: list = None  # the generated functions' parameters, where not the program's own
    checkpoint: object = None  # the ``checkpoint=`` option of its rolled loops (lower.checkpoints)


def _params(program, names):
    params = {p.name: p for p in program.params}
    return [params[name] for name in names]


def _first_derivative(spec):
    """The gradient program a Hessian differentiates again: of the parsed function (built
    whole, as ``grad`` builds it: its errors are grad's), or of the traced program."""
    if spec.traced:
        return derive(spec.source, _params(spec.source, spec.wrt))
    first = build(Spec(spec.source, spec.wrt, spec.concrete, spec.deferrable, spec.kinds))
    return first.gradient_program


def _seeded(program, wrt_names):
    """``program``'s vector-Jacobian product: the output's adjoint a new symbol, ``seed``."""
    seed = real_symbol(program.namer.fresh("seed"))
    out_shape = program.shapes.get(program.output, ())
    if out_shape:
        program.shapes[seed] = out_shape
    return _Derivative(program, _params(program, wrt_names), seed, seeded=True,
                       output_shape=out_shape)


def _paired(program, wrt_names, before=()):
    """A program whose output is a flat vector, paired with a new parameter of its length
    (``tangent``): the output becomes ``output @ tangent``, whose gradient with respect to
    ``wrt_names`` is the Jacobian of the old output times the tangent, transposed. The generated
    functions take the program's arguments, its externals, ``before`` and the tangent."""
    tangent = real_symbol(program.namer.fresh("tangent"))
    program.shapes[tangent] = program.shapes.get(program.output, ())
    pairing = real_symbol(program.namer.fresh("pairing"))
    origin = Origin(None, program.output_lineno, "")
    program.body = [*program.body, Statement(pairing, MatMul.make(program.output, tangent, shape=()),
                                             origin=origin)]
    program.output = pairing
    signature = [*[p.symbol.name for p in program.params if p.name not in program.concrete],
                 *[e.symbol.name for e in program.externals], *before, tangent.name]
    return _Derivative(program, _params(program, wrt_names), None, seeded=False, signature=signature)


def _transposed(program, wrt_names):
    """The Jacobian-vector product J v by transposition: the vjp ``J^T u`` is linear in the
    output's adjoint ``u``, so the gradient of ``(J^T u) . v`` with respect to ``u`` is ``J v``
    (whatever ``u`` is: the generated functions take it, and it may be 0). Once the lines that
    only ``u`` needs are pruned, what is left is the forward pass and the tangents pushed
    forward through each line's local derivatives: forward mode, from the reverse rules."""
    seeded = _seeded(program, wrt_names)
    linear = gradient_as_program(derive(program, seeded.wrt, seed=seeded.seed))
    derivative = _paired(linear, (), before=(seeded.seed.name,))
    derivative.wrt = [Param("seed", seeded.seed)]
    linear.params = [*linear.params, *derivative.wrt]  # (after the signature: it is placed there)
    derivative.output_shape = seeded.output_shape
    return derivative


@undistributed
def structured_jacobian(program, wrt, listing=None):
    """The Jacobian of a traced ``program`` (its output a number or an array) with respect to
    the parameters named ``wrt``, from one forward pass (``ad.structured``) as one ``Build``
    whose ``value_and_grad_fn`` returns the Jacobian (``listing``: the raveled places of a CSR
    matrix's entries: the ``data`` of that matrix); None where a construct has no
    structured rule (the caller runs one pass per colour instead)."""
    try:
        jacobian = jacobian_program(program, tuple(wrt), listing)
        base = program.name if program.name.isidentifier() else "f"
        title = (f"{base}_jacobian", f"Jacobian of {program.name} with respect to {', '.join(wrt)}, "
                 "from one forward pass")
        return _compile(_Derivative(jacobian, [], None, seeded=False), title=title)
    except NoRule:
        return None


def _compile(derivative, title=None):
    """derive -> schedule -> generate and compile: the ``Build`` (``title``: see ``generate``)."""
    program = derivative.program
    try:
        gradient_program = derive(program, derivative.wrt, seed=derivative.seed)
    except NotImplementedError as exc:
        if not derivative.seeded:
            raise
        raise SymdiffError(
            f"the derivative of {exc.args[0] if exc.args else 'an operation'} is not available "
            "for this higher derivative",
            filename=program.filename, lineno=program.firstlineno,
            hint="write that step with operations symdiff can differentiate twice",
        ) from None
    lowered = schedule(gradient_program, derivative.checkpoint)
    library = "numpy" if "numpy" in program.libraries or program.shapes else "math"
    aliases = program.namer.generated_aliases(program.local_names)
    signature = derivative.signature
    if derivative.seeded:
        signature = [
            *[p.symbol.name for p in program.params if p.name not in program.concrete],
            *[e.symbol.name for e in program.externals],
            derivative.seed.name,
        ]
    code, compiled, ieee = compile_with_fallback(program, lowered, gradient_program, library, aliases,
                                                 signature=signature, title=title)
    return Build(program, gradient_program, lowered, code, compiled, library, ieee,
                 output_shape=derivative.output_shape)


def compile_with_fallback(program, lowered, gradient_program, library, aliases, signature=None,
                          title=None):
    """Generated code, its compiled functions and their IEEE fallback (scalar code: where Python
    raises in the reverse pass, the same lines over numpy float64 give inf/nan)."""
    fallbacks = None if program.shapes else {
        kind: program.namer.fresh(f"_ieee_{kind}") for kind in ("grad", "value_and_grad")}
    code = generate(lowered, gradient_program, library, aliases, signature=signature,
                    fallbacks=fallbacks, title=title)
    compiled = compile_functions(code, constants(program))
    ieee = IEEEFallback(lowered, gradient_program, aliases, constants(program), signature)
    if fallbacks:
        compiled.namespace[fallbacks["grad"]] = ieee.grad
        compiled.namespace[fallbacks["value_and_grad"]] = ieee.value_and_grad
    return code, compiled, ieee


def constants(program):
    """The concrete arrays the generated code names, as ``{name: array}``."""
    return {symbol.name: value for symbol, value in program.constants.items()}


def _check_scalar_output(program):
    """``grad`` needs one number out; an elementwise function of arrays is differentiated elementwise."""
    shape = program.shapes.get(program.output, ())
    if not shape:
        return
    from .primitives.arrays import ArrayOp, BroadcastTo

    def structural(expr):  # a constant given its shape (0*x folded to 0) is still elementwise
        return isinstance(expr, ArrayOp) and not (
            isinstance(expr, BroadcastTo) and not expr.operands[0].free_symbols)

    elementwise = not any(structural(getattr(i, "expr", None)) for i in walk(program.body))
    if elementwise:
        return  # d/dx of sum(f(x)): for an elementwise f, the elementwise derivative
    raise ShapeError(
        f"{program.name!r} returns an array of shape {shape}; grad needs a single number",
        filename=program.filename, lineno=program.output_lineno,
        hint="use symdiff.jacobian(f) for the derivative of every output, or return a number "
        "(e.g. np.sum(...))",
    )


__all__ = ["Build", "Spec", "build", "compile_with_fallback", "constants",
           "undistributed"]
