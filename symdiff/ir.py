"""ir: the plain data every stage passes on — SSA statements, branches, whole programs.

Takes: nothing (definitions only). Returns: ``Statement`` (``target = expr``), ``Branch`` (an ``if``
on a differentiated value: two blocks and the ``Merge`` s that join their results), ``Program``
(parameters, body, output) and ``walk`` over nested blocks. Stages never mutate these.
"""

import types
from dataclasses import dataclass, field

import sympy


@dataclass(frozen=True)
class Param:
    """A parameter of the user's function and the symbol that stands for it.

    A list or tuple argument is unrolled: ``elements`` holds one symbol per item.
    """

    name: str
    symbol: sympy.Symbol
    elements: tuple = None


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
        if isinstance(self.container, dict):  # a KeyError: see GeneratedCode.guarded_source
            return f"{container}[{self.name!r}] is not {value}"
        if isinstance(self.container, types.CellType):
            return f"{container}.cell_contents is not {value}"
        return f"{container}.{self.name} is not {value}"


@dataclass(frozen=True)
class Statement:
    """``target = expr``, from line ``lineno`` of ``filename`` (``source`` is that line's text)."""

    target: sympy.Symbol
    expr: sympy.Expr
    lineno: int
    source: str
    filename: str = None  # None: the differentiated function's own file

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


@dataclass(frozen=True)
class Branch:
    """``if cond: then else: orelse``, then the ``merges`` that join values assigned in both arms."""

    cond: sympy.Basic
    then: tuple
    orelse: tuple
    merges: tuple
    lineno: int
    source: str
    filename: str = None

    def __repr__(self):
        return f"<line {self.lineno}: if {self.cond}: {len(self.then)} | {len(self.orelse)} items>"


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


def walk(items):
    """Every item of a block, depth first: a ``Branch``, then its arms' items, then its merges."""
    for item in items:
        yield item
        if isinstance(item, Branch):
            yield from walk(item.then)
            yield from walk(item.orelse)
            yield from item.merges


def definitions(items):
    """``{symbol: defining item}`` for every statement and merge target in ``items``."""
    found = {}
    for item in walk(items):
        if isinstance(item, (Statement, Merge)):
            found[item.target] = item
    return found
