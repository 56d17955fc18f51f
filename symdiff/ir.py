"""ir: the plain data every stage passes on — SSA statements, branches, loops, whole programs —
and the one way to walk it.

Takes: nothing (definitions only). Returns: ``Statement`` (``target = expr``), ``Branch`` (an ``if``
on a differentiated value: two blocks and the ``Merge`` s that join their results), ``Loop`` (a
block run a trip count of times, ``Carry`` ing values between iterations: ``frontend.loops``),
each with one ``Origin`` (file, line, text); ``Program`` (parameters, body, output); ``Visitor``
(``visit_<Class>`` per node, unknown nodes an error) and ``Transformer``; ``walk`` over nested
blocks. Stages never mutate these.
"""

import types
from dataclasses import dataclass, field

import sympy

from .errors import SymdiffError


@dataclass(frozen=True)
class Param:
    """A parameter of the user's function and the symbol that stands for it.

    A list or tuple argument is unrolled: ``elements`` holds one symbol per item. A container
    argument (``pytrees``: a dict of arrays, a list of a list and a number, ...) also has
    ``tree``, its structure (``pytrees.Node``); ``elements`` then holds one symbol per leaf, in
    order (a concrete int leaf none: ``leaves`` says which paths have symbols).
    """

    name: str
    symbol: sympy.Symbol
    elements: tuple = None
    tree: object = None
    paths: tuple = None  # with ``tree``: the path of each of ``elements``


@dataclass(frozen=True, eq=False)
class External:
    """A module-level or closure number the function reads; passed in at call time."""

    name: str  # as the user wrote it
    symbol: sympy.Symbol
    container: object  # the globals dict it lives in, or the closure cell

    def read(self):
        """Its value now."""
        if isinstance(self.container, dict):
            return self.container[self.name]
        return self.container.cell_contents


@dataclass(frozen=True, eq=False)
class Guard:
    """Something outside the function that a specialisation baked in; it must not change.

    ``kind``: "value" — a module-level or closure int/bool, the same value; "shape" — an array of
    the same shape; "identity" — the very same object: a helper function read from a module or a
    closure (``container`` a dict or a cell), or a function's ``__code__``/``__defaults__``/
    ``__kwdefaults__`` (``container`` the function, ``name`` the attribute).
    """

    name: str
    value: object
    container: object  # the globals dict it lives in, the closure cell, or (attributes) the object
    kind: str = "value"
    # Checked by the guarded entry of every float call too (``changed_text``); a helper's
    # ``__code__`` (reassigned by hand only) is checked where the call path checks guards.
    every_call: bool = True

    def _now(self):
        container = self.container
        if isinstance(container, dict):
            return container[self.name]
        if isinstance(container, types.CellType):
            return container.cell_contents
        return getattr(container, self.name)

    def holds(self):
        """Whether the value is still the one the specialisation was built for."""
        try:
            now = self._now()
        except (KeyError, ValueError, AttributeError):
            return False
        if self.kind == "identity":
            return now is self.value
        if self.kind == "shape":
            return getattr(now, "shape", None) == self.value
        return type(now) is type(self.value) and now == self.value

    def changed_text(self, container, value):
        """A Python expression, true when this "identity" guard no longer holds, given the names
        its ``container`` and ``value`` are bound to in generated code (cheap: one lookup)."""
        if isinstance(self.container, dict):  # a KeyError: see runtime.compiled.compile_entry
            return f"{container}[{self.name!r}] is not {value}"
        if isinstance(self.container, types.CellType):
            return f"{container}.cell_contents is not {value}"
        return f"{container}.{self.name} is not {value}"


@dataclass(frozen=True)
class Origin:
    """Where a statement comes from: line ``lineno`` of ``filename`` (``None``: the differentiated
    function's own file), whose text is ``source``. Every statement type carries one."""

    filename: str
    lineno: int
    source: str

    def __repr__(self):
        return f"<line {self.lineno}{' of ' + self.filename if self.filename else ''}: {self.source}>"


NOWHERE = Origin(None, None, "")  # a line no statement of the user's stands for


def origin_of(lineno, source="", filename=None):
    """``lineno`` if it is an ``Origin`` already, else the ``Origin`` of these three fields."""
    if isinstance(lineno, Origin):
        return lineno
    return Origin(filename, lineno, source)


class Located:
    """A node with an ``origin``: its ``lineno``, ``source`` and ``filename`` are the origin's."""

    __slots__ = ()

    @property
    def lineno(self):
        return self.origin.lineno

    @property
    def source(self):
        return self.origin.source

    @property
    def filename(self):
        return self.origin.filename


@dataclass(frozen=True, init=False)
class Statement(Located):
    """``target = expr``, from ``origin``.

    ``Statement(target, expr, origin)`` or ``Statement(target, expr, lineno, source, filename)``.
    """

    target: sympy.Symbol
    expr: sympy.Expr
    origin: Origin

    def __init__(self, target, expr, lineno=None, source="", filename=None, *, origin=None):
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "expr", expr)
        object.__setattr__(self, "origin", origin or origin_of(lineno, source, filename))

    def __repr__(self):
        return f"<line {self.lineno}: {self.target} = {self.expr}>"


@dataclass(frozen=True)
class Merge:
    """After a ``Branch``: ``target = then_value`` if its condition held, else ``else_value``."""

    target: sympy.Symbol
    then_value: sympy.Expr
    else_value: sympy.Expr

    def __repr__(self):
        return f"<merge {self.target} = {self.then_value} | {self.else_value}>"


@dataclass(frozen=True, init=False)
class Branch(Located):
    """``if cond: then else: orelse``, then the ``merges`` that join values assigned in both arms.

    ``Branch(cond, then, orelse, merges, origin)`` or ``..., lineno, source, filename)``.
    """

    cond: sympy.Basic
    then: tuple
    orelse: tuple
    merges: tuple
    origin: Origin

    def __init__(self, cond, then, orelse, merges, lineno=None, source="", filename=None, *,
                 origin=None):
        object.__setattr__(self, "cond", cond)
        object.__setattr__(self, "then", then)
        object.__setattr__(self, "orelse", orelse)
        object.__setattr__(self, "merges", merges)
        object.__setattr__(self, "origin", origin or origin_of(lineno, source, filename))

    def __repr__(self):
        return f"<line {self.lineno}: if {self.cond}: {len(self.then)} | {len(self.orelse)} items>"


@dataclass(frozen=True)
class Carry:
    """A value a ``Loop`` carries from one iteration to the next: the body reads ``inside``
    (``initial`` on the first iteration, ``update`` of the one before on the others); after the
    loop, ``after`` holds the last ``update`` (``initial`` if the loop ran no iteration)."""

    inside: sympy.Symbol
    initial: sympy.Expr
    update: sympy.Expr
    after: sympy.Symbol

    def __repr__(self):
        return f"<carry {self.after} <- {self.inside} = {self.initial}; {self.update}>"


@dataclass(frozen=True)
class Loop(Located):
    """``for counter in range(trip_count): body``, kept as a loop: the body is one block run
    ``trip_count`` times (a number, or an expression of the arguments), the ``carried`` values
    (``Carry``) flowing from one iteration to the next. The body may hold loops of its own
    (nested loops, each traced once).

    Made by ``frontend.loops`` (a long ``for`` over a ``range``, in gradient builds); every stage
    that cannot handle one refuses it with a located error (``Visitor.refuse``), never walking
    past it.
    """

    counter: sympy.Symbol
    trip_count: sympy.Expr
    carried: tuple
    body: tuple
    origin: Origin
    # a ``while`` loop on data: before each iteration (and once after the last) the ``test``
    # statements run over the carried values, and the loop goes on while ``condition`` holds;
    # ``trip_count`` is then a fresh symbol, the number of iterations the forward loop counts
    condition: sympy.Basic = None
    test: tuple = ()
    # a 'break' on data in a while: the carried flag (1 where an iteration broke out), tested
    # before the next iteration's test (which then does not run)
    exit_flag: sympy.Symbol = None

    @property
    def is_while(self):
        return self.condition is not None

    def __repr__(self):
        head = (f"while {self.condition}" if self.is_while
                else f"for {self.counter} in range({self.trip_count})")
        return (f"<line {self.lineno}: {head}: "
                f"{len(self.body)} items, carries {', '.join(str(c.after) for c in self.carried)}>")


class UnsupportedNode(SymdiffError, NotImplementedError):
    """A stage met an IR node it has no handler for (a ``Loop`` where loops are not supported yet)."""


class Visitor:
    """One handler per node class: ``visit(node, *args)`` calls ``visit_<Class>(node, *args)``.

    A node type without a handler is an ``UnsupportedNode`` error, never walked past: a stage
    that does not know a node cannot know what it does to a derivative. ``stage`` names the
    visitor in that error. Extra arguments (``reverse``, an output list, ...) are passed through.

    >>> class Targets(Visitor):
    ...     def visit_Statement(self, stmt):
    ...         return [stmt.target]
    >>> Targets().visit(Statement(sympy.Symbol("y"), sympy.Integer(1), 3, "y = 1"))
    [y]
    """

    stage = None  # what the error says could not handle the node (default: the class name)
    _handlers = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._handlers = {}  # node class -> handler, per visitor class

    def visit(self, node, *args):
        handler = self._handlers.get(type(node))
        if handler is None:
            handler = self._handler(type(node))
        return handler(self, node, *args)

    @classmethod
    def _handler(cls, kind):
        handler = getattr(cls, "visit_" + kind.__name__, None)
        if handler is None:
            def handler(self, node, *args):
                raise self.refuse(node)
        cls._handlers[kind] = handler
        return handler

    def visit_block(self, items, *args):
        """``visit`` each item of a block in order (results are dropped)."""
        for item in items:
            self.visit(item, *args)

    def refuse(self, node, *args):
        """The error for a node this stage does not handle (usable as ``visit_Loop = refuse``,
        with ``raise``); located at the node's origin where it has one."""
        stage = self.stage or type(self).__name__
        origin = getattr(node, "origin", NOWHERE)
        what = "a loop kept as a loop" if isinstance(node, Loop) else f"a {type(node).__name__} node"
        return UnsupportedNode(
            f"{stage} does not handle {what} yet",
            filename=origin.filename, lineno=origin.lineno,
            hint="loops kept as loops come with the loops issue; until then loops are unrolled",
        )


class Transformer(Visitor):
    """A ``Visitor`` that rebuilds a block: each ``visit`` returns the node's replacement (a node,
    or a list of nodes), and ``visit_block`` returns the new block as a list.

    The defaults rebuild ``Statement``, ``Merge`` and ``Branch`` unchanged but for what the
    handlers of their parts return; ``Loop`` has no default: a transformer says what it does to
    one (or refuses it).
    """

    def visit_block(self, items, *args):
        out = []
        for item in items:
            result = self.visit(item, *args)
            if isinstance(result, list):
                out.extend(result)
            elif result is not None:
                out.append(result)
        return out

    def visit_Statement(self, stmt, *args):
        return stmt

    def visit_Merge(self, merge, *args):
        return merge

    def visit_Branch(self, branch, *args):
        return Branch(branch.cond, tuple(self.visit_block(branch.then, *args)),
                      tuple(self.visit_block(branch.orelse, *args)),
                      tuple(self.visit_block(branch.merges, *args)), origin=branch.origin)


@dataclass
class Program:
    """The function as SSA code over SymPy expressions (straight-line, or with ``Branch`` es)."""

    name: str
    filename: str
    firstlineno: int
    params: list
    body: list
    output: sympy.Expr
    output_lineno: int
    externals: list = field(default_factory=list)
    concrete: dict = field(default_factory=dict)  # parameters specialised on: name -> value
    shapes: dict = field(default_factory=dict)  # symbol -> array shape (absent: a scalar)
    constants: dict = field(default_factory=dict)  # symbol -> concrete numpy array it names
    guards: list = field(default_factory=list)
    libraries: set = field(default_factory=set)  # modules the user's calls came from
    helpers: dict = field(default_factory=dict)  # name in generated code -> Python callable
    callable_names: dict = field(default_factory=dict)  # registered SymPy class -> that name
    namer: object = None
    local_names: set = field(default_factory=set)
    flags: set = field(default_factory=set)  # 1.0/0.0 merges: "a return was taken" (see to_sympy)
    # nodes computed by a ``math`` function: printed with ``math`` even in numpy code, so that
    # they raise (math.sqrt(-1.0)) and return Python floats as the user's calls do
    math_calls: set = field(default_factory=set)
    # nodes computed by numpy's arithmetic ufuncs (np.divide, ...): node -> the ufunc's name,
    # printed as the call so that Python floats get numpy's arithmetic (inf, never an exception)
    numpy_ufuncs: dict = field(default_factory=dict)
    # numpy functions that are not elementwise (np.sum, np.dot, np.shape, ...) called on values
    # traced as numbers: ``(name, filename, lineno)``. Code made of such a trace is right for
    # numbers only (np.sum of a number is the number): an exported module refuses arrays then.
    number_structural: list = field(default_factory=list)
    # has_aux=True: ``(structure or None, leaves)`` the function returns beside its value (numbers
    # and symbols of this program; ``structure`` a ``pytrees.Node`` of list/tuple/dict)
    aux: tuple = None

    @property
    def statements(self):
        """Every ``Statement`` in the body, nested ones included, in source order."""
        return [item for item in walk(self.body) if isinstance(item, Statement)]

    @property
    def has_branches(self):
        return any(isinstance(item, Branch) for item in walk(self.body))

    def __repr__(self):
        body = "\n".join(f"  {s!r}" for s in walk(self.body))
        params = ", ".join(p.name for p in self.params)
        return f"<Program {self.name}({params})\n{body}\n  -> {self.output}>"


class _Walk(Visitor):
    """Every node of a block, depth first, into ``found``."""

    stage = "ir.walk"

    def __init__(self):
        self.found = []

    def visit_Statement(self, stmt):
        self.found.append(stmt)

    visit_Merge = visit_Statement

    def visit_Branch(self, branch):
        self.found.append(branch)
        self.visit_block(branch.then)
        self.visit_block(branch.orelse)
        self.found.extend(branch.merges)

    def visit_Loop(self, loop):  # its carried values, its test (a while's), then its body
        self.found.append(loop)
        self.found.extend(loop.carried)
        self.visit_block(getattr(loop, "test", ()))
        self.visit_block(loop.body)

    def visit_Adjoint(self, adjoint):  # the reverse pass's statements (ad.reverse)
        self.found.append(adjoint)

    visit_AdjointLoop = visit_Loop  # the reverse pass's loops (ad.reverse): carries, then body


def walk(items):
    """Every item of a block, depth first: a ``Branch``, then its arms' items, then its merges;
    a ``Loop``, then its ``Carry`` s, then its body."""
    walker = _Walk()
    walker.visit_block(items)
    return walker.found


def definitions(items):
    """``{symbol: defining item}`` for every statement and merge target in ``items``, and the
    values a ``Loop`` leaves (its carries' ``after``; the names inside its body are its own)."""
    found, inner = {}, set()
    for item in walk(items):
        if id(item) in inner:
            continue
        kind = type(item)
        if kind is Statement or kind is Merge:
            found[item.target] = item
        elif kind is Loop:
            for carry in item.carried:
                found[carry.after] = item
            inner.update(id(part) for part in walk([*item.test, *item.body]))
    return found


def reads(item):
    """The names an item (a ``Statement``, ``Merge``, ``Branch`` or ``Loop``) reads from
    outside itself: a ``Loop``'s trip count, its carries' entry values and what its test and
    body read that they do not define (its counter and carried values are its own)."""
    kind = type(item)
    if kind is Statement:
        return item.expr.free_symbols
    if kind is Merge:
        return item.then_value.free_symbols | item.else_value.free_symbols
    found, own = set(), set()
    if kind is Branch:
        found |= item.cond.free_symbols
        parts = [*item.then, *item.orelse, *item.merges]
    elif kind is Loop:
        own |= {item.counter, *(c.inside for c in item.carried)}
        if not item.is_while:
            found |= item.trip_count.free_symbols
        else:
            found |= item.condition.free_symbols
            own.add(item.trip_count)
        for carry in item.carried:
            found |= carry.initial.free_symbols | carry.update.free_symbols
        parts = [*item.test, *item.body]
    else:
        raise TypeError(f"ir.reads: not an IR item: {item!r}")
    for part in parts:
        found |= reads(part)
    own |= set(definitions(parts))
    return found - own
