"""dispatch: a call's arguments -> their kinds -> the specialisation that runs them.

Takes: the arguments of one call of a gradient (and which parameters are differentiated).
Returns: each argument's kind (``Number``, ``Int``, ``Sequence``, ``Array``: what a trace depends
on); ``Dispatch``, one gradient's per-signature caches and the call path through them; and the
entry a specialisation runs: its generated function with around it only what its kinds need
(ints as floats, module-level values read at the call, guards checked, owned arrays). Also
``resolve_wrt``: ``wrt`` -> parameter names.

>>> [kind_of(v, differentiated=True).describe() for v in (2.0, 3, [1.0, 2.0])]
['a number', 'an int, differentiated as a float', 'a sequence of 2 numbers']
>>> kind_of(3, differentiated=False)
Int(value=3)
"""

import random
import threading
from dataclasses import dataclass

import numpy as np

from .. import pytrees
from ..errors import ArgumentError, WrtError
from ..frontend.parse import signature as parse_signature
from ..primitives.arrays import BroadcastTo
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


def shape_key(value):
    """What a specialisation depends on, for one argument of an array/list call."""
    kind = type(value)
    if kind is np.ndarray:
        return (value.shape, value.dtype)
    if kind is list or kind is tuple:
        return (kind, len(value))
    if kind in INT_TYPES:
        return (kind, value)
    return kind


def converted(args, kinds, wrt_positions):
    """The arguments the generated function takes, as it takes them (see each kind's ``convert``)."""
    return [k.convert(a, i in wrt_positions) for i, (a, k) in enumerate(zip(args, kinds)) if k.passed]


# ---- the per-signature caches ----
class Dispatch:
    """One gradient's call path: a call's arguments -> their kinds -> the entry for them, each
    step cached.

    ``entries``: argument types (and the ints specialised on) -> entry (for arrays and lists,
    ``by_shape``: one more lookup); ``shaped``: their shapes and lengths -> entry; ``builds``:
    ``(ints, shapes)`` (see ``specialisation``) -> ``Build``. What runs is the owner's:
    ``build(concrete, shaped)`` makes a ``Build``, ``entry_for(build, kinds, key, args)`` the
    function calls of those kinds run, and ``arrays_seen(build, kinds, args)`` hears of each new
    array signature. ``parsed`` (the parsed function) locates argument errors.
    """

    def __init__(self, fun, signature, wrt, parsed, build, entry_for, arrays_seen, defaults_read=None):
        self.fun = fun
        self.signature = signature
        self.wrt = wrt
        self.parsed = parsed
        self.build = build
        self.entry_for = entry_for
        self.arrays_seen = arrays_seen
        self.defaults_read = defaults_read  # fun's defaults, as ``signature`` has them
        names = list(signature.parameters)
        self.nargs = len(names)
        self.wrt_positions = [names.index(n) for n in wrt]
        self.may_specialise = tuple(i for i, n in enumerate(names) if n not in wrt)
        self.entries, self.shaped, self.builds = {}, {}, {}
        self.lock = threading.Lock()

    def call(self, /, *args, **kwargs):
        if kwargs or len(args) != self.nargs:
            args = self.bind(args, kwargs)
        key = tuple(map(type, args))
        if self.may_specialise:
            key += tuple(args[i] for i in self.may_specialise if type(args[i]) in INT_TYPES)
        entry = self.entries.get(key)
        if entry is None:
            entry = self._prepare(key, args)
        # Where Python raises in the reverse pass (d sqrt(x)/dx at 0), the generated code falls
        # back to IEEE arithmetic itself; an exception of the forward pass is the function's own.
        return entry(*args)

    def bind(self, args, kwargs):
        """The arguments in parameter order, defaults applied (as Python now reads them)."""
        fun = self.fun
        if fun.__defaults__ is not self.defaults_read[0] or \
                fun.__kwdefaults__ is not self.defaults_read[1]:  # rebound: as Python now does
            self.signature = parse_signature(fun)
            self.defaults_read = (fun.__defaults__, fun.__kwdefaults__)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{fun.__qualname__}(): {exc}") from None
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def _prepare(self, key, args):
        """The entry for these argument types: compiled now (once), or a shape dispatcher."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                kinds = self.kinds(args)
                if any(k.traced is not None for k in kinds):
                    entry = self.by_shape  # arrays and lists: one more lookup, by shape
                else:
                    entry = self.entry_for(*self.spec(args, kinds), key)
                self.entries[key] = entry
            return entry

    def by_shape(self, *args):
        key = tuple(map(shape_key, args))
        entry = self.shaped.get(key)
        if entry is None:
            with self.lock:
                entry = self.shaped.get(key)
                if entry is None:
                    build, kinds = self.spec(args)
                    entry = self.shaped[key] = self.entry_for(build, kinds, key, args)
                    self.arrays_seen(build, kinds, args)
        return entry(*args)

    def spec(self, args, kinds=None):
        """The ``Build`` for these (bound) arguments, and each argument's kind."""
        kinds = kinds or self.kinds(args)
        concrete, shaped = specialisation(list(self.signature.parameters), args, kinds)
        if not shaped and ((concrete, None) in self.builds):
            shaped = None  # all numbers: the trace made before any call is this one
        return self.build(concrete, shaped), kinds

    def kinds(self, args):
        return [self.kind(name, value) for name, value in zip(self.signature.parameters, args)]

    def kind(self, name, value):
        kind = kind_of(value, name in self.wrt)
        if kind is None:
            raise not_a_number(name, value, self.fun.__qualname__, self.parsed.filename,
                               self.parsed.firstlineno)
        return kind

    def clear(self):
        """Every specialisation forgotten (something one baked in has changed)."""
        self.entries.clear()
        self.shaped.clear()
        self.builds.clear()


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
    array results."""
    externals = build.program.externals
    guards = build.program.guards
    wrt = set(wrt_positions)
    convert = any(not k.passed or isinstance(k, Number) and k.int_given for k in kinds) or any(
        i in wrt and isinstance(a, np.ndarray) and a.dtype.kind in "biu" for i, a in enumerate(args)) \
        or any(i in wrt and isinstance(k, (Sequence, Tree)) for i, k in enumerate(kinds))
    arrays = any(k.traced is not None for k in kinds)
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


__all__ = ["INT_TYPES", "MISSING", "SCALAR_TYPES", "Array", "Dispatch", "Int", "Number", "Sequence", "Tree", "converted",
           "entry", "guardable", "kind_of", "may_return_views", "not_a_number", "resolve_wrt",
           "shape_key", "specialisation"]
