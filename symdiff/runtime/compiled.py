"""compiled: generated source text -> Python functions, registered in ``linecache``.

Takes: a ``GeneratedCode`` (from ``backends.python_code``) and the values its names stand for.
Returns: its ``grad`` / ``value_and_grad`` functions, compiled on first use, whose source
tracebacks and ``inspect.getsource`` show until the functions are collected (``CompiledCode``);
the guarded entry of a build (``compile_entry``); and the same code over numpy float64 for where
Python's arithmetic raises (``IEEEFallback``).
"""

import itertools
import linecache
import math
import threading
import weakref

import numpy

from ..backends.python_code import builtin_aliases, generate

_counter = itertools.count()


def compile_functions(code, extra_globals=None):
    """The namespace ``code`` runs in; each function compiled on first use (``CompiledCode``)."""
    return CompiledCode(code, extra_globals)


class CompiledCode:
    """``code``'s functions, compiled when first asked for: ``grad`` / ``value_and_grad``.

    Compiling a long gradient costs about as much as printing it, and a call often needs only
    the guarded entry (``compile_entry``), so neither function is compiled up front. Each source
    is registered in ``linecache`` under its own file name until the functions are collected.
    """

    def __init__(self, code, extra_globals=None, live=None):
        self.code = code
        namespace = LiveGlobals(live) if live else {}
        namespace.update({"__name__": "symdiff.generated", **code.callables, **(extra_globals or {})})
        for module in code.modules:
            namespace[code.aliases[module]] = {"math": math, "numpy": numpy}[module]
        namespace.update(builtin_aliases(code.aliases))
        namespace.update({k: v for k, v in code.constants.items() if k not in (live or {})})
        # The source stays readable while any function lives (their globals hold the anchor).
        self._anchor = namespace["__symdiff_anchor__"] = Anchor()
        self.namespace = namespace
        if code.prelude:
            self._exec(code.prelude, "helpers")
            for name in code.helpers:  # differentiable again (grad(grad(f))): see registry.lookup
                namespace[code.aliases.get(name, name)].__symdiff_helper__ = name
        self._functions = {}
        self._lock = threading.Lock()

    def _exec(self, source, name):
        run_source(source, name, self.namespace, self._anchor)

    def function(self, kind):
        """The compiled ``"grad"`` or ``"value_and_grad"`` function."""
        found = self._functions.get(kind)
        if found is None:
            with self._lock:
                found = self._functions.get(kind)
                if found is None:
                    code = self.code
                    name = code.grad_name if kind == "grad" else code.value_and_grad_name
                    self._exec(code.internal_source(kind), name)
                    found = self._functions[kind] = self.namespace[name]
        return found

    @property
    def grad(self):
        return self.function("grad")

    @property
    def value_and_grad(self):
        return self.function("value_and_grad")


def compile_entry(build, kind, signature, qualname, wrt, dispatch, reshaped, ieee, missing, arrays=None):
    """The guarded form of ``build``'s ``kind`` function: the user's signature (``signature``,
    ``qualname``; a default is ``missing``, read at the call by ``dispatch``), a type check, and the generated
    body. Floats run the body here, as do ints for the parameters in ``wrt`` (converted to
    float, as their trace has them); anything else (other types, a default left out, a helper
    rebound) goes to ``dispatch``, the arguments in parameter order.

    ``arrays``: ``{parameter: (shape, dtype)}`` of the array arguments this specialisation is
    for; arrays of other shapes or dtypes go to ``reshaped`` (the dispatch's router for these
    types). Where Python arithmetic raises in the reverse pass, ``ieee`` gives the IEEE result.
    """
    compiled = build.compiled
    code = build.code
    namer = build.program.namer
    names = {"dispatch": namer.fresh("_dispatch"), "reshaped": namer.fresh("_reshaped"),
             "ieee": namer.fresh("_ieee"), "missing": namer.fresh("_missing"),
             "ndarray": namer.fresh("_ndarray"), "int": namer.fresh("_int")}
    type_, float_, int_ = code.aliases.get("type", "type"), code.aliases.get("float", "float"), names["int"]
    arrays = arrays or {}
    params = list(signature.parameters)
    typed, shaped, extra = [], [], {}
    for i, (param, (shape, dtype)) in enumerate(arrays.items()):
        dtype_name = namer.fresh(f"_dtype{i}")
        extra[dtype_name] = dtype
        typed.append(f"{type_}({param}) is not {names['ndarray']}")
        shaped.append(f"{param}.shape != {shape!r} or {param}.dtype is not {dtype_name}")
    numbers = [p for p in params if p not in arrays]
    typed += [f"{type_}({p}) is not {float_}" for p in numbers if p not in wrt]
    converted = [p for p in numbers if p in wrt]
    # Named like the user's function, with its signature: a wrong call raises what it raises
    # (unless that name is a global the code uses: a function named 'round' or 'math').
    own = code.grad_name if kind == "grad" else code.value_and_grad_name
    name = build.program.name
    if not name.isidentifier() or name in compiled.namespace or name in code.aliases:
        name = own
    held = {}  # id of a guard's container or value -> its name in the namespace
    for guard in build.program.guards:
        if guard.kind != "identity" or not guard.every_call:
            continue
        bound = []
        for obj in (guard.container, guard.value):
            if id(obj) not in held:
                held[id(obj)] = namer.fresh("_held")
                extra[held[id(obj)]] = obj
            bound.append(held[id(obj)])
        typed.append(guard.changed_text(*bound))
    call = ", ".join(params)
    to_dispatch = f"return {names['dispatch']}({call})"
    lines = [f"def {name}({parameters_text(signature, names['missing'])}):"]
    if typed:
        test = [f"    if {' or '.join(typed)}:", f"        {to_dispatch}"]
        if any(g.kind == "identity" and g.every_call for g in build.program.guards):
            # a helper deleted from its module is a KeyError there: the dispatch traces again
            test = ["    try:", *["    " + line for line in test], "    except KeyError:",
                    f"        {to_dispatch}"]
        lines += test
    for p in converted:  # an int differentiated as a float
        lines += [f"    if {type_}({p}) is not {float_}:", f"        if {type_}({p}) is not {int_}:",
                  f"            {to_dispatch}", f"        {p} = {float_}({p})"]
    if shaped:
        lines += [f"    if {' or '.join(shaped)}:", f"        return {names['reshaped']}({call})"]
    passed = ", ".join(code.arguments)
    lines += code.bodies[kind].with_fallback(f"{names['ieee']}({passed})")
    source = "\n".join(lines) + "\n"
    namespace = dict(compiled.namespace)
    namespace.update({names["dispatch"]: dispatch, names["reshaped"]: reshaped, names["ieee"]: ieee,
                      names["missing"]: missing, names["ndarray"]: numpy.ndarray, names["int"]: int, **extra})
    anchor = namespace["__symdiff_anchor__"] = Anchor()
    run_source(source, name, namespace, anchor)
    function = namespace[name]
    function.__qualname__ = qualname  # what Python's argument errors name
    return function


def parameters_text(signature, default):
    """``signature``'s parameter list as source: names and kinds (``/``, ``*``) as the user wrote
    them, every default the name ``default``."""
    params = list(signature.parameters.values())
    parts = []
    for i, param in enumerate(params):
        if param.kind is param.KEYWORD_ONLY and (i == 0 or params[i - 1].kind is not param.KEYWORD_ONLY):
            parts.append("*")
        parts.append(param.name if param.default is param.empty else f"{param.name}={default}")
        if param.kind is param.POSITIONAL_ONLY and (
                i + 1 == len(params) or params[i + 1].kind is not param.POSITIONAL_ONLY):
            parts.append("/")
    return ", ".join(parts)


def run_source(source, name, namespace, anchor):
    """Compile ``source`` and run it in ``namespace``; the text stays in ``linecache`` (for
    tracebacks and ``inspect.getsource``) while ``anchor`` lives."""
    filename = f"<symdiff-{next(_counter)} {name}>"
    compiled = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    weakref.finalize(anchor, linecache.cache.pop, filename, None)
    exec(compiled, namespace)


class LiveGlobals(dict):
    """Globals of generated code that read the user's module-level numbers (``live``: name ->
    ``External``) as they are at each read, like the user's own function: for ``grad(grad(f))``,
    whose trace meets them as globals of the generated function."""

    def __init__(self, live):
        super().__init__()
        self.live = live

    def __missing__(self, name):
        if name in self.live:
            return self.live[name].read()
        raise KeyError(name)

    def __contains__(self, name):
        return dict.__contains__(self, name) or name in self.live


class Anchor:
    """Lives exactly as long as the generated functions (their globals hold it)."""


class IEEEFallback:
    """The same schedule printed for numpy and run on float64 scalars: inf/nan, never an exception.

    Compiled on first use only (at a singularity such as d sqrt(x)/dx at 0).
    """

    def __init__(self, lowered, gradient_program, aliases, names, signature=None):
        self._args = (lowered, gradient_program, "numpy", aliases, signature)
        self._names = names
        self._functions = None

    def _compiled(self):
        if self._functions is None:
            compiled = compile_functions(generate(*self._args, ieee=True), self._names)
            self._functions = compiled.grad, compiled.value_and_grad
        return self._functions

    def grad(self, *args):
        with numpy.errstate(all="ignore"):
            result = self._compiled()[0](*[numpy.float64(a) for a in args])
        return _floats(result)

    def value_and_grad(self, *args):
        with numpy.errstate(all="ignore"):
            value, gradient = self._compiled()[1](*[numpy.float64(a) for a in args])
        return _floats(value), _floats(gradient)


def _floats(result):
    """Numbers as floats, in the structure they come in (gradients; has_aux's pairs)."""
    if isinstance(result, (tuple, list)):
        return type(result)(_floats(r) for r in result)
    if isinstance(result, dict):
        return {k: _floats(v) for k, v in result.items()}
    return float(result)


__all__ = ["Anchor", "CompiledCode", "IEEEFallback", "LiveGlobals", "compile_entry", "compile_functions",
           "parameters_text", "run_source"]
