"""scope: where the traced function's names live — frames, globals, closure cells, guards.

Takes: a name read in the frame being executed (and the branch path it is read on). Returns: its
value — a local, an enclosing function's, a closure cell's, a global or a builtin — with globals
and cells that hold numbers turned into ``External`` symbols (read when the gradient runs) and
``Guard`` s recorded for what the trace specialised on (ints, array shapes, the identity of
functions and other objects). ``Frame`` is one function being executed; ``LocalFunction`` a
``def``/``lambda`` made inside the traced function.
"""

import ast
import builtins
import numbers
import types
from dataclasses import dataclass, field

import numpy as np

from ..errors import ShapeError, SymdiffError
from ..ir import External, Guard
from ..primitives import scalar as functions
from ..primitives.nodes import real_symbol
from .parse import located
from .signals import _UNBOUND_MISSING, _Unbound


@dataclass
class LocalFunction:
    """A ``def`` or ``lambda`` inside the traced function: its AST and the frame it closes over."""

    node: ast.AST
    frame: object
    name: str
    defaults: tuple = ()  # values of the positional defaults, evaluated at the definition
    kw_defaults: dict = field(default_factory=dict)  # keyword-only defaults, likewise


@dataclass
class Frame:
    """One function being executed: its parsed source, its locals and where its globals live."""

    parsed: object
    env: dict
    local_names: set
    fun: object  # the Python function (for globals and closure cells), or None for a LocalFunction
    parent: object = None  # the enclosing Frame of a LocalFunction
    depth: int = 0
    closure: dict = field(default_factory=dict)

    @property
    def filename(self):
        return self.parsed.filename


def frame_for(parsed, fun, parent, depth):
    """A fresh ``Frame`` for running the Python function ``fun`` (read as ``parsed``)."""
    code = fun.__code__
    closure = {}
    if fun.__closure__:
        closure = dict(zip(code.co_freevars, fun.__closure__))
    local_names = set(code.co_varnames) | set(code.co_cellvars)
    return Frame(parsed, {}, local_names, fun, parent, depth, closure)


def local_frame(parsed, fnode, parent, depth):
    """A fresh ``Frame`` for running the nested ``def``/``lambda`` ``fnode`` inside ``parent``."""
    return Frame(parsed, {}, assigned_names(fnode), None, parent, depth)


def assigned_names(fnode):
    """Names a nested ``def``/``lambda`` assigns: its parameters and assignment targets."""
    names = {a.arg for a in ast.walk(fnode.args) if isinstance(a, ast.arg)}
    body = fnode.body if isinstance(fnode.body, list) else [fnode.body]
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


class Scope:
    """Name lookup for one trace, and what it read from outside the function.

    Receives the trace's ``namer`` (names of the ``External`` symbols) and ``shapes`` (symbol ->
    array shape, shared with ``array_values``). Holds ``externals`` ((id(container), name) ->
    ``External``) and ``guards`` (key -> ``Guard``), which the ``Program`` carries.
    """

    def __init__(self, namer, shapes):
        self.namer = namer
        self.shapes = shapes
        self.externals = {}
        self.guards = {}

    def __repr__(self):
        return f"Scope({len(self.externals)} externals, {len(self.guards)} guards)"

    def lookup(self, current, name, node, path):
        """The value of ``name`` read in the frame ``current`` (a local, an enclosing function's,
        a closure cell's, a global or a builtin). ``path``: the (condition, taken) literals of the
        arms of 'if's on data being traced, under which a name assigned in one arm may be read."""
        frame = current
        while frame is not None:
            if name in frame.env:
                value = frame.env[name]
                if isinstance(value, _Unbound) and value.bound_on(path) is not _UNBOUND_MISSING:
                    return value.bound_on(path)  # assigned on this path (see ``_Unbound``)
                if isinstance(value, _Unbound) and value.shapes:
                    raise located(
                        ShapeError,
                        f"{name!r} has shape {value.shapes[0]} in one branch of the 'if' on line "
                        f"{value.lineno} and {value.shapes[1]} in the other: its shape would depend "
                        "on a differentiated value",
                        current.parsed, node,
                        hint="give it the same shape in both branches (np.where selects elementwise)",
                    )
                if isinstance(value, _Unbound):
                    raise located(
                        SymdiffError,
                        f"{name!r} is assigned in only one branch of the 'if' on line "
                        f"{value.lineno}, which depends on a differentiated value",
                        current.parsed, node,
                        hint=f"assign {name!r} in both branches (or before the 'if'), or read "
                        "it only in the same branch of an 'if' on the same condition",
                    )
                return value
            if name in frame.local_names and frame.fun is not None:
                raise located(
                    SymdiffError, f"local variable {name!r} is used before it is assigned",
                    current.parsed, node, hint=f"assign {name!r} before this line",
                )
            if frame.fun is not None:
                return self._lookup_outside(current, frame, name, node)
            frame = frame.parent
        raise located(SymdiffError, f"name {name!r} is not defined", current.parsed, node,
                      hint="define it (or import it) at module level before the first call")

    def _lookup_outside(self, current, frame, name, node):
        fun = frame.fun
        if name in frame.closure:
            cell = frame.closure[name]
            try:
                value = cell.cell_contents
            except ValueError:
                raise located(SymdiffError, f"free variable {name!r} is not bound yet",
                              current.parsed, node,
                              hint=f"assign {name!r} in the enclosing function first") from None
            return self.external(name, value, cell)
        globals_ = fun.__globals__
        if name in globals_:
            return self.external(name, globals_[name], globals_)
        if hasattr(builtins, name):
            return getattr(builtins, name)
        raise located(SymdiffError, f"name {name!r} is not defined", current.parsed, node,
                      hint="define it (or import it) at module level before the first call")

    def external(self, name, value, container):
        """A module-level or closure value (``container``: the globals dict or the cell)."""
        key = (id(container), name)
        if isinstance(value, (bool, np.bool_, int, np.integer)):
            # Concrete (it may count loops or pick branches); the specialisation is guarded.
            self.guards[key] = Guard(name, value, container)
            return value
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            if key not in self.externals:
                symbol = real_symbol(self.namer.version(name))
                self.externals[key] = External(name, symbol, container)
                self.guards[(key, "shape")] = Guard(name, value.shape, container, "shape")
            symbol = self.externals[key].symbol
            if value.ndim:
                self.shapes[symbol] = value.shape
            return symbol
        if not isinstance(value, (numbers.Real, np.floating)):
            if not isinstance(value, types.ModuleType):
                # What the trace made of it (a helper inlined, a rule, a string compared) holds
                # while it is this very object; rebound, the function is traced again.
                self.guards[(key, "identity")] = Guard(name, value, container, "identity")
            return value
        constant = functions.CONSTANT_VALUES.get(float(value))
        if constant is not None:
            return constant
        if key not in self.externals:
            symbol = real_symbol(self.namer.version(name))
            self.externals[key] = External(name, symbol, container)
        return self.externals[key].symbol

    def guard_function(self, func):
        """The trace read ``func``'s code and defaults: guard that they stay the same objects."""
        for attr in ("__code__", "__defaults__", "__kwdefaults__"):
            value = getattr(func, attr)
            if value is not None or attr == "__code__":
                self.guards[(id(func), attr)] = Guard(attr, value, func, "identity",
                                                      every_call=attr != "__code__")
