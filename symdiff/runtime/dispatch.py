"""dispatch: a call's arguments -> their kinds -> the specialisation that runs them.

Takes: the arguments of one call of a gradient (and which parameters are differentiated).
Returns: each argument's kind (``Number``, ``Int``, ``Sequence``, ``Array``: what a trace depends
on); ``Dispatch``, one gradient's per-signature caches (a bounded LRU of specialisations) and the
call path through them — bound by a function with the user's own signature, then one dictionary
lookup on the argument types and, for arrays, lists and ints specialised on, one more on their
shapes, lengths and values; and the entry a specialisation runs: its generated function with
around it only what its kinds need (ints as floats, module-level values read at the call, guards
checked, owned arrays). Also ``resolve_wrt``: ``wrt`` -> parameter names.

>>> [kind_of(v, differentiated=True).describe() for v in (2.0, 3, [1.0, 2.0])]
['a number', 'an int, differentiated as a float', 'a sequence of 2 numbers']
>>> kind_of(3, differentiated=False)
Int(value=3)
"""

import dataclasses
import random
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import pytrees
from ..errors import ArgumentError, WrtError
from ..primitives.arrays import BroadcastTo
from .compiled import Anchor, parameters_text, run_source
from ..lower.schedule import walk_lines

SCALAR_TYPES = (float, int, bool, np.floating, np.integer, np.bool_)
INT_TYPES = frozenset({int, bool, np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                       np.uint16, np.uint32, np.uint64})


class Missing:
    """An argument left out of a call (its default applies)."""

    def __repr__(self):
        return "<missing>"


MISSING = Missing()


# ---- argument kinds: what a trace depends on ----
@dataclass(frozen=True)
class Number:
    """A real number (a float, a numpy float, a 0-d array; ``int_given``: an int passed for a
    differentiated parameter, converted to float at the call)."""

    int_given: bool = False
    passed = True  # the generated function takes it
    traced = None  # the frontend traces it as one symbol

    @property
    def fast(self):
        """Whether the generated type guard can check it (then the call skips this dispatch)."""
        return not self.int_given

    def describe(self):
        return "an int, differentiated as a float" if self.int_given else "a number"

    def matches(self, value):
        if type(value) in INT_TYPES:
            return self.int_given
        return not self.int_given and kind_of(value, True) == self

    def convert(self, value, differentiated):
        return float(value) if self.int_given else value


@dataclass(frozen=True)
class Int:
    """An int (or bool) that is not differentiated: the trace is specialised on its value (a loop
    count, a branch decided at trace time), and the generated function does not take it."""

    value: object
    passed = False
    traced = None
    fast = False

    def describe(self):
        return f"the int {self.value!r}"

    def matches(self, value):
        return type(value) in INT_TYPES and value == self.value

    def convert(self, value, differentiated):
        return value


@dataclass(frozen=True)
class Sequence:
    """A list or tuple of ``length`` numbers: traced as that many symbols."""

    length: int
    passed = True
    fast = False

    @property
    def traced(self):
        """The kind the frontend traces it with."""
        return ("sequence", self.length)

    def describe(self):
        return f"a sequence of {self.length} numbers"

    def matches(self, value):
        return isinstance(value, (list, tuple)) and kind_of(value, True) == self

    def convert(self, value, differentiated):
        """The ints of a differentiated list or tuple as floats ([1, 2]: a float64 gradient, as
        for an int array)."""
        if differentiated and any(type(v) is not float for v in value):
            return type(value)(float(v) if isinstance(v, (int, np.integer)) else v for v in value)
        return value


@dataclass(frozen=True)
class Array:
    """A numpy array of ``shape`` (at least 1-D) and ``dtype``: one symbol of that shape. One
    trace serves every dtype of a shape."""

    shape: tuple
    dtype: object
    passed = True

    @property
    def traced(self):
        """The kind the frontend traces it with (the shape only)."""
        return ("array", self.shape)

    @property
    def fast(self):
        return self.dtype.kind == "f"

    def describe(self):
        return f"an array of shape {self.shape} and dtype {self.dtype}"

    def matches(self, value):
        return type(value) is np.ndarray and value.shape == self.shape and value.dtype == self.dtype

    def convert(self, value, differentiated):
        """A differentiated int or bool array as float64; float arrays keep their dtype (float32
        in, float32 gradient, as numpy computes it)."""
        if differentiated and value.dtype.kind in "biu":
            return value.astype(np.float64)
        return value


@dataclass(frozen=True)
class Tree:
    """A container — list, tuple, dict, ``NamedTuple``, dataclass, nested in any mix — of numbers
    and arrays (``params = [W1, b1, W2, b2]``, ``{"W": W, "b": b}``): each leaf is a symbol (an
    array's of its shape) and the gradient comes back in the same structure. ``node`` is the
    structure (``pytrees.Node``) whose leaves are ``Number``/``Int``/``Array`` kinds. (A list or
    tuple of numbers alone is a ``Sequence``.)"""

    node: object
    passed = True
    fast = False

    @property
    def traced(self):
        """The kind the frontend traces it with: the structure with each leaf's traced kind
        (``("number",)``, ``("int", value)``, ``("array", shape)``)."""
        return ("tree", _traced_node(self.node))

    def describe(self):
        return self.node.describe()

    def matches(self, value):
        return pytrees.is_container(value) and kind_of(value, True) == self

    def convert(self, value, differentiated):
        """Int leaves of a differentiated container as floats (as for a list of numbers)."""
        if not differentiated:
            return value
        leaves = [kind for _, kind in pytrees.leaves_with_paths(self.node)]
        values = pytrees.leaf_values(value, self.node)
        converted = [kind.convert(v, True) for kind, v in zip(leaves, values)]
        if all(c is v for c, v in zip(converted, values)):
            return value
        return pytrees.unflatten(self.node, converted)


def _traced_node(node):
    children = []
    for child in node.children:
        if isinstance(child, pytrees.Node):
            children.append(_traced_node(child))
        elif isinstance(child, Int):
            children.append(("int", child.value))
        else:
            children.append(child.traced or ("number",))
    return pytrees.Node(node.kind, node.cls, node.keys, tuple(children))


def _leaf_kind(value, differentiated):
    """The kind of a leaf of a container: a number, an int or an array (not a container)."""
    kind = kind_of(value, differentiated)
    return kind if isinstance(kind, (Number, Int, Array)) else None


def kind_of(value, differentiated):
    """The kind of one argument, or None for what is not a real number (or a sequence or array of
    them, or a container of those)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            return None
        if value.ndim == 0:
            return Number()
        return Array(value.shape, value.dtype)
    if isinstance(value, SCALAR_TYPES):
        if type(value) in INT_TYPES:
            return Number(int_given=True) if differentiated else Int(value)
        return Number()
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple) and all(
            isinstance(v, SCALAR_TYPES) and not isinstance(v, (complex, np.complexfloating))
            for v in value):
        return Sequence(len(value))
    if pytrees.is_container(value):
        found = pytrees.flatten(value, lambda v: _leaf_kind(v, differentiated))
        return None if found is None else Tree(found[0])
    return None


def not_a_number(name, value, qualname, filename, lineno):
    """The located ``ArgumentError`` for an argument ``kind_of`` has no kind for."""
    if isinstance(value, (complex, np.complexfloating)) or (
        isinstance(value, np.ndarray) and value.dtype.kind == "c"
    ):
        what = "a complex number; symdiff differentiates real functions"
    elif isinstance(value, (np.random.Generator, np.random.RandomState, random.Random)):
        return ArgumentError(
            f"argument {name!r} of {qualname} is a random number generator: the generated gradient "
            "cannot draw the numbers the function draws with it at the same call",
            filename=filename, lineno=lineno,
            hint="draw them outside and pass the numbers in (a dropout mask: mask = "
            "rng.random(shape) > p), as an argument left out of wrt")
    elif value is None:
        what = "None"
    elif isinstance(value, str):
        what = f"the string {value!r}"
    elif pytrees.is_container(value):
        what = (f"a {type(value).__name__} that holds something other than real numbers, arrays "
                "and containers of them (or a dict key that is not a str or int)")
    elif isinstance(value, np.ndarray):
        what = f"an array of dtype {value.dtype}"
    else:
        what = f"a {type(value).__name__}"
    return ArgumentError(
        f"argument {name!r} of {qualname} is {what}, not a real number",
        filename=filename, lineno=lineno,
        hint="pass floats or ints, numpy arrays of them, or lists, tuples, dicts, NamedTuples "
        "or dataclasses of them",
    )


def specialisation(names, args, kinds):
    """The build key of these kinds: ``(ints specialised on, shapes and lengths)``, each a tuple
    of ``(parameter, ...)`` pairs."""
    concrete = tuple((names[i], args[i]) for i, k in enumerate(kinds) if not k.passed)
    shaped = tuple((names[i], k.traced) for i, k in enumerate(kinds) if k.traced is not None)
    return concrete, shaped


def converted(args, kinds, wrt_positions):
    """The arguments the generated function takes, as it takes them (see each kind's ``convert``)."""
    return [k.convert(a, i in wrt_positions) for i, (a, k) in enumerate(zip(args, kinds)) if k.passed]


# ---- the per-signature caches ----
CACHE_SIZE = 64  # specialisations kept per gradient (shapes, lengths, int values), by default


class Dispatch:
    """One gradient's call path: a call's arguments -> their kinds -> the entry for them, each
    step one dictionary lookup, never ``inspect.Signature.bind``.

    ``call``: a function with the user's own signature (so Python binds the arguments and raises
    the user's own ``TypeError`` for wrong ones), which passes them in parameter order to
    ``route``; a parameter with a default arrives as ``MISSING`` when left out, and its current
    default is read then (``with_defaults``). ``route``: ``typed``, argument types -> entry, for
    calls of numbers only; arrays, lists and ints specialised on go on to the ``router`` of
    their types, whose key adds shapes, dtypes, lengths and int values, looked up in
    ``specialised``. ``specialised`` and ``builds`` (``(ints, shapes)`` -> ``Build``, see
    ``specialisation``) keep the ``cache_size`` most recently used keys (LRU): a long-running
    process calling with ever new shapes stays bounded; an evicted one is built again on use.

    What runs is the owner's: ``build(concrete, shaped)`` makes a ``Build``, ``entry_for(build,
    kinds, key, args)`` the function calls of those kinds run, and ``arrays_seen(build, kinds,
    args)`` hears of each new array signature. ``parsed`` (the parsed function) locates argument
    errors.
    """

    def __init__(self, fun, signature, wrt, parsed, build, entry_for, arrays_seen,
                 cache_size=CACHE_SIZE):
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"cache_size must be a positive int, not {cache_size!r}")
        self.fun = fun
        self.signature = signature
        self.wrt = wrt
        self.parsed = parsed
        self.build = build
        self.entry_for = entry_for
        self.arrays_seen = arrays_seen
        self.cache_size = cache_size
        names = list(signature.parameters)
        self.names = names
        self.nargs = len(names)
        self.wrt_positions = [names.index(n) for n in wrt]
        self.typed, self.routers = {}, {}
        self.specialised, self.builds = Bounded(cache_size), Bounded(cache_size)
        self.lock = threading.RLock()
        qualname = getattr(fun, "__qualname__", getattr(fun, "__name__", "f"))
        self.call = binder(signature, qualname, self.route, MISSING)
        self._arguments = binder(signature, qualname, None, MISSING)

    # ---- the call path ----
    def route(self, *args):
        """Run the entry for these arguments (in parameter order, ``MISSING`` for one left out)."""
        entry = self.typed.get(tuple(map(type, args)))
        if entry is None:
            entry = self._prepare(args)
        # Where Python raises in the reverse pass (d sqrt(x)/dx at 0), the generated code falls
        # back to IEEE arithmetic itself; an exception of the forward pass is the function's own.
        return entry(*args)

    def _prepare(self, args):
        """The entry for these argument types: defaults filled in, a router (one more lookup,
        for shapes, lengths and int values), or the entry of numbers of these types."""
        key = tuple(map(type, args))
        with self.lock:
            entry = self.typed.get(key)
            if entry is None:
                if Missing in key:
                    entry = self.with_defaults([i for i, t in enumerate(key) if t is Missing])
                elif any(self._shaped_position(i, t) for i, t in enumerate(key)):
                    self.kinds(args)  # a located error for what is not a number, array or list
                    entry = self.router(key)
                else:
                    entry = self.entry_for(*self.spec(args), key)
                self.typed[key] = entry
            return entry

    def _shaped_position(self, i, kind):
        """Whether an argument of type ``kind`` at position ``i`` keys a specialisation by more
        than its type: an array's shape and dtype, a list's length, an int's value."""
        if issubclass(kind, (np.ndarray, list, tuple, dict)) or dataclasses.is_dataclass(kind):
            return True
        return kind in INT_TYPES and i not in self.wrt_positions

    def router(self, types):
        """The function calls of these argument types go through: their key (types, then each
        array's shape and dtype, each list's or container's kind, each int specialised on) looked up in
        ``specialised``; ``specialise`` makes the entry for a new key."""
        found = self.routers.get(types)
        if found is None:
            with self.lock:
                found = self.routers.get(types)
                if found is None:
                    parts = []
                    for i, kind in enumerate(types):
                        if issubclass(kind, np.ndarray):
                            parts += [f"a{i}.shape", f"a{i}.dtype"]
                        elif kind in INT_TYPES and self._shaped_position(i, kind):
                            parts.append(f"a{i}")
                        elif self._shaped_position(i, kind):  # a list, tuple or other container:
                            # its kind (length, or structure and each leaf's kind, shape and dtype)
                            parts.append(f"_kind_of(a{i}, {i in self.wrt_positions})")
                    found = self.routers[types] = compile_router(
                        self.nargs, parts, types, self.specialised, self.specialise,
                        getattr(self.fun, "__name__", "f"))
        return found

    def specialise(self, key, args):
        """A call whose key ``specialised`` does not hold: its entry made (and kept), then run."""
        with self.lock:
            entry = self.specialised.get(key)
            if entry is None:
                build, kinds = self.spec(args)
                entry = self.entry_for(build, kinds, key, args)
                self.specialised[key] = entry
                self.arrays_seen(build, kinds, args)
        return entry(*args)

    def with_defaults(self, missing):
        """The entry of calls that leave out the parameters at positions ``missing``: their
        defaults as the function has them now (``f.__defaults__`` may be rebound), then routed."""
        fun, route, filled = self.fun, self.route, self.filled
        if not hasattr(fun, "__defaults__"):  # grad(grad(f)): the signature's defaults
            return lambda *args: route(*filled(args))
        params = list(self.signature.parameters.values())
        npositional = sum(p.kind is not p.KEYWORD_ONLY for p in params)
        # keyword-only: its name in __kwdefaults__; positional: its place from the end of __defaults__
        plan = [(i, params[i].name if params[i].kind is params[i].KEYWORD_ONLY else i - npositional)
                for i in missing]

        def fill(*args):
            positional, keyword = fun.__defaults__ or (), fun.__kwdefaults__ or {}
            args = list(args)
            for i, where in plan:
                if type(where) is str:
                    value = keyword.get(where, MISSING)
                else:
                    value = positional[where] if -where <= len(positional) else MISSING
                if value is MISSING:  # a default deleted since: filled raises the function's error
                    return route(*filled(args))
                args[i] = value
            return route(*args)

        return fill

    def filled(self, args):
        """``args`` with each ``MISSING`` replaced by the parameter's current default."""
        fun = self.fun
        live = hasattr(fun, "__defaults__")
        positional = (fun.__defaults__ or ()) if live else None
        keyword = (fun.__kwdefaults__ or {}) if live else None
        params = list(self.signature.parameters.values())
        npositional = sum(p.kind is not p.KEYWORD_ONLY for p in params)
        filled, absent = list(args), []
        for i, (value, param) in enumerate(zip(args, params)):
            if value is not MISSING:
                continue
            if not live:
                value = param.default
            elif param.kind is param.KEYWORD_ONLY:
                value = keyword.get(param.name, MISSING)
            elif i >= npositional - len(positional):
                value = positional[i - (npositional - len(positional))]
            if value is MISSING or value is param.empty:
                absent.append(param)
            filled[i] = value
        if absent:  # a default deleted since: the function's own error
            raise missing_arguments(getattr(fun, "__qualname__", "f"), absent)
        return tuple(filled)

    def bind(self, args, kwargs):
        """The arguments in parameter order, defaults applied (as Python now reads them); wrong
        arguments raise the ``TypeError`` the function itself raises."""
        return self.filled(self._arguments(*args, **kwargs))

    # ---- kinds and builds ----
    def spec(self, args, kinds=None):
        """The ``Build`` for these (bound) arguments, and each argument's kind."""
        kinds = kinds or self.kinds(args)
        concrete, shaped = specialisation(self.names, args, kinds)
        if not shaped and ((concrete, None) in self.builds):
            shaped = None  # all numbers: the trace made before any call is this one
        return self.build(concrete, shaped), kinds

    def kinds(self, args):
        return [self.kind(name, value) for name, value in zip(self.names, args)]

    def kind(self, name, value):
        kind = kind_of(value, name in self.wrt)
        if kind is None:
            raise not_a_number(name, value, self.fun.__qualname__, self.parsed.filename,
                               self.parsed.firstlineno)
        return kind

    def clear(self):
        """Every specialisation forgotten (something one baked in has changed)."""
        self.typed.clear()
        self.specialised.clear()
        self.builds.clear()


class Bounded(OrderedDict):
    """A dict of at most ``size`` keys that forgets the least recently used one: ``get`` and
    setting a key count as uses (the generated routers call ``get`` and ``move_to_end``)."""

    def __init__(self, size):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        found = super().get(key, MISSING)
        if found is MISSING:
            return default
        self.move_to_end(key)
        return found

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


def binder(signature, qualname, route, missing):
    """A function with ``signature``'s parameters (kinds and names; a default is ``missing``)
    that passes its arguments, in order, to ``route`` (``None``: returns them as a tuple). Python
    binds the call, so a wrong one raises what the user's function raises."""
    names = ", ".join(signature.parameters)
    one = "," if len(signature.parameters) == 1 else ""
    body = f"_route({names})" if route is not None else f"({names}{one})"
    source = f"def {BINDER_NAME}({parameters_text(signature, '_missing')}):\n    return {body}\n"
    anchor = Anchor()
    namespace = {"_route": route, "_missing": missing, "__symdiff_anchor__": anchor}
    run_source(source, f"{qualname} arguments", namespace, anchor)
    function = namespace[BINDER_NAME]
    function.__name__ = qualname.rsplit(".", 1)[-1]
    function.__qualname__ = qualname  # what Python's argument errors name
    return function


BINDER_NAME = "_binder"


def compile_router(nargs, parts, types, specialised, specialise, name):
    """The router of calls of one type signature (``Dispatch.router``): ``parts`` are the key's
    expressions over the arguments ``a0 .. a{nargs-1}``."""
    params = ", ".join(f"a{i}" for i in range(nargs))
    key = ", ".join(["_types", *parts])
    source = (
        f"def _route({params}):\n"
        f"    key = ({key})\n"
        "    entry = _get(key)\n"
        "    if entry is None:\n"
        f"        return _specialise(key, ({params}{',' if nargs == 1 else ''}))\n"
        "    try:\n"
        "        _used(key)\n"
        "    except KeyError:  # forgotten meanwhile, by another thread's call: it still runs\n"
        "        pass\n"
        f"    return entry({params})\n"
    )
    anchor = Anchor()
    namespace = {"_types": types, "_get": dict.get.__get__(specialised), "_used": specialised.move_to_end,
                 "_specialise": specialise, "_kind_of": kind_of, "__symdiff_anchor__": anchor}
    run_source(source, f"{name} router", namespace, anchor)
    return namespace["_route"]


def missing_arguments(qualname, params):
    """The ``TypeError`` Python raises for a call of ``qualname`` without these parameters."""
    keyword = params[0].kind is params[0].KEYWORD_ONLY
    names = [repr(p.name) for p in params]
    listed = names[0] if len(names) == 1 else (
        " and ".join(names) if len(names) == 2 else ", ".join(names[:-1]) + ", and " + names[-1])
    what = "keyword-only" if keyword else "positional"
    return TypeError(f"{qualname}() missing {len(names)} required {what} argument"
                     f"{'s' if len(names) > 1 else ''}: {listed}")


# ---- the entries calls run ----
def guardable(build, arrays=None):
    """Whether the generated type guard can serve calls of ``build`` on its own (``arrays``: the
    shapes it is for, if any): no module-level values to pass, no guard but identity checks, no
    int specialised on, no read-only broadcast view to copy."""
    program = build.program
    return not (program.externals or any(g.kind != "identity" for g in program.guards)
                or program.concrete or (program.shapes and not arrays) or may_return_views(build))


def may_return_views(build):
    """Whether a gradient may come back as a read-only broadcast view (then it is copied)."""
    wanted = {g for g in build.schedule.gradients if g.is_Symbol}
    for line in walk_lines(build.schedule.lines):
        if line.target in wanted and line.expr.atoms(BroadcastTo):
            return True
    return False


def entry(fn, build, kinds, args, wrt_positions, stale, owned):
    """The function calls with these argument kinds run: ``fn`` (the generated code), and around
    it only what these kinds need: ints as floats, module-level values read at the call,
    ``build``'s guards checked (``stale(args)`` runs when one fails), ``owned(result)`` for
    array results that may be read-only broadcast views (``may_return_views``)."""
    externals = build.program.externals
    guards = build.program.guards
    wrt = set(wrt_positions)
    convert = any(not k.passed or isinstance(k, Number) and k.int_given for k in kinds) or any(
        i in wrt and isinstance(a, np.ndarray) and a.dtype.kind in "biu" for i, a in enumerate(args)) \
        or any(i in wrt and isinstance(k, (Sequence, Tree)) for i, k in enumerate(kinds))
    arrays = any(k.traced is not None for k in kinds) and may_return_views(build)
    if not externals and not convert and not guards:
        if not arrays:
            return fn
        return lambda *args: owned(fn(*args))

    def run(*args):
        if guards and not all(g.holds() for g in guards):
            return stale(args)
        if convert:
            args = converted(args, kinds, wrt)
        if externals:
            result = fn(*args, *[e.read() for e in externals])
        else:
            result = fn(*args)
        if arrays:
            result = owned(result)
        return result

    return run


def resolve_wrt(wrt, parameters, fun):
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


__all__ = ["CACHE_SIZE", "INT_TYPES", "MISSING", "SCALAR_TYPES", "Array", "Bounded", "Dispatch", "Int",
           "Number", "Sequence", "Tree", "binder", "compile_router", "converted", "entry", "guardable",
           "kind_of", "may_return_views", "missing_arguments", "not_a_number", "resolve_wrt",
           "specialisation"]
