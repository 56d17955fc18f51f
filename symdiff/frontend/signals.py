"""signals: what passes between the tracer's statements, shared by the ``frontend`` modules.

Takes: nothing (definitions only). Returns: the signals a block of statements ends with
(``_Return``, ``_MaybeReturn``, ``BREAK``, ``CONTINUE``), ``_Unbound`` (a name assigned on only
some paths), ``_truth``/``_same``: whether a condition is concretely true, whether two traced
values are the same; and the exceptions that say the trace must wait for the call
(``NeedsConcrete``, ``ConditionOnUndifferentiated``).
"""

import ast
from dataclasses import dataclass

import sympy


class NeedsConcrete(Exception):
    """A loop count or index depends on a parameter that is not differentiated: trace at the call,
    when its value is known (an int argument is then specialised on)."""


class ConditionOnUndifferentiated(NeedsConcrete):
    """An ``if`` on parameters that are not differentiated only (``args[0]``: their names).

    At the call an int there is specialised on (the condition is then known); a float is data
    like any other, so the all-floats trace made before any call takes the ``if`` as a branch
    where it can (see ``interpreter._trace``)."""


@dataclass
class _Return:
    value: object
    node: ast.AST


@dataclass
class _MaybeReturn:
    """Some paths of what ran returned: ``flag`` is 1 on those (0 elsewhere) and ``value`` is what
    they returned. ``done``: the rest of the region (the function, or the arm of an 'if' on data
    that the statements are in) ran already, inside the branches; else it runs where flag is 0."""

    flag: object
    value: object
    node: ast.AST
    stmt: ast.AST  # the 'if' whose branches returned
    done: bool
    exit: object = None  # BREAK/CONTINUE: how a loop body ended on the paths that went on


@dataclass
class _MaybeBreak:
    """A loop body left on some paths (``kind``: ``BREAK`` or ``CONTINUE``): ``flag`` is 1 on
    those, 0 elsewhere. ``done``: the rest of the body ran already (inside the branches); else it
    runs where flag is 0. After a ``BREAK`` the later iterations run where it is 0 too."""

    flag: object
    stmt: ast.AST  # the 'if' whose branch broke
    done: bool
    kind: object = None  # BREAK or CONTINUE (set just after the class)


class _Break:
    pass


class _Continue:
    pass


BREAK, CONTINUE = _Break(), _Continue()


class _Unbound:
    """A name assigned in only one arm of an ``if`` on data (or given arrays of different shapes
    in the two arms, ``shapes``): an error only if it is read where it may not be bound.

    ``bindings``: ``(literals, value)`` pairs — the name holds ``value`` on the paths where every
    literal ``(condition, taken)`` holds (the arms it was assigned in). Code that runs under those
    same conditions may read it (a gradient's reverse branch reads what its forward branch under
    the same condition computed): see ``Tracer.lookup`` and ``ControlFlow.path``."""

    def __init__(self, lineno, shapes=None, bindings=()):
        self.lineno = lineno
        self.shapes = shapes
        self.bindings = tuple(bindings)

    def bound_on(self, path):
        """The value the name holds on ``path`` (a frozenset of literals), or ``_UNBOUND_MISSING``."""
        for literals, value in self.bindings:
            if literals <= path:
                return value
        return _UNBOUND_MISSING


_UNBOUND_MISSING = _Unbound(0)


def _truth(value):
    """``True``/``False`` for a concrete condition, None for one that depends on symbols."""
    if isinstance(value, sympy.Basic):
        if value is sympy.true or value == sympy.true:
            return True
        if value is sympy.false or value == sympy.false:
            return False
        if value.free_symbols:
            return None
        if isinstance(value, sympy.Expr) and value.is_number:
            return bool(value != 0)
        return None
    return bool(value)


def _same(a, b):
    try:
        if isinstance(a, sympy.Basic) or isinstance(b, sympy.Basic):
            return a == b
        return bool(a == b) and type(a) is type(b)
    except Exception:  # comparing odd objects (arrays): treat as different
        return False
