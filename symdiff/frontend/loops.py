"""loops: a ``for i in range(...)`` loop traced once, symbolically -> one ``ir.Loop``.

Takes: the tracer (``interpreter.Tracer``), a ``for`` statement and the concrete ``range`` it
runs over. Returns: True, having appended one ``ir.Loop`` to the tracer's block and bound the
loop-carried names to their values after the loop; or False, with the tracer as it was, where the
loop is short (fewer than ``ROLL_THRESHOLD`` iterations: unrolled code is as fast and
``formulas``/``explain`` show it) or its body needs a concrete counter (a list indexed with it,
an ``if`` on it alone, a ``break``, a list changed in place, a value that is not one number...).
The caller then unrolls the loop, as before: rolling is never required for a right answer.

The body is traced once over fresh symbols: one per carried name (a name the body assigns that
is bound before the loop, or that is read after it), and the counter. A refusal of the tracer
while doing so (its ``SymdiffError`` on a symbolic counter) means "unroll instead". An ``if`` on
data in the body stays in it, a ``Branch`` (with the ``Merge`` s joining its arms), as in the
body of a ``while`` on data (``roll_while``), whose carried values may be arrays too.
"""

import ast
from dataclasses import dataclass

import numpy as np
import sympy

from ..ir import Branch, Carry, Loop, Merge, Origin, Statement, definitions, reads as reads_of, walk
from ..primitives.nodes import real_symbol
from .signals import BREAK, CONTINUE, _MaybeBreak, _MaybeReturn, _Return
from .values import is_number, to_sympy

# Concrete trip counts from this many iterations on are kept as loops. Measured on the Lorenz
# body (6 carried/read values, gradient wrt 6; 2-core AMD EPYC, shared): unrolled, the build took
# 83 / 93 / 429 / 735 ms at 8 / 16 / 32 / 64 iterations and a call 6.1 / 9.5 / 18.2 / 35.9 us;
# rolled, the build took 10-30 ms at every count and a call 7.6 / 10.3 / 17.8 / 32.7 us. From 32
# on the rolled loop is as fast to call and an order of magnitude faster to build; below it,
# unrolled code runs up to 20% faster (and formulas, explain() and C export describe it).
ROLL_THRESHOLD = 32

# list/array methods that change their object in place: a body calling one is unrolled
_MUTATING = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                       "fill", "itemset", "setdefault", "update", "add", "discard", "resize"})


# statements only an unrolled loop runs (exits, scopes of their own, ...)
_BLOCKING = (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom, ast.Global,
             ast.Nonlocal, ast.Try, ast.With, ast.Delete, ast.FunctionDef, ast.AsyncFunctionDef,
             ast.Lambda, ast.ClassDef)


@dataclass
class _BodySyntax:
    """What a loop body's syntax says: the names it stores (in order) and loads, and whether it
    has something only an unrolled loop can run (``blocked``: an exit, a nested function, an
    item stored into a list or array, a method that changes its object)."""

    stored: list
    loaded: set
    blocked: bool

    @classmethod
    def of(cls, body):
        stored, loaded, blocked = [], set(), False
        nodes = [n for stmt in body for n in ast.walk(stmt)]
        # a break/continue of a loop nested in the body exits that loop (which is traced, kept
        # as a loop or unrolled, on its own), not this one
        inner = {id(n) for loop in nodes if isinstance(loop, (ast.For, ast.While))
                 for part in loop.body for n in ast.walk(part)
                 if isinstance(n, (ast.Break, ast.Continue))}
        for node in nodes:
            if isinstance(node, ast.Name):
                if not isinstance(node.ctx, ast.Store):
                    loaded.add(node.id)
                elif node.id not in stored:
                    stored.append(node.id)
            elif ((isinstance(node, _BLOCKING) and id(node) not in inner)
                  or (isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)))
                  or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in _MUTATING)):
                blocked = True
        return cls(stored, loaded, blocked)


def _loads_outside(function, loop):
    """The names read in ``function`` (an ``ast`` function) outside the body of ``loop``."""
    inner = {id(n) for stmt in loop.body for n in ast.walk(stmt)}
    return {n.id for n in ast.walk(function)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in inner}


def _scalar(tracer, value):
    return is_number(value) and not tracer.shape(value)


def _carriable(tracer, value):
    """A value a rolled ``for`` carries: a number, or an array of a shape known while tracing
    (traced, or concrete: ``h = np.zeros(64)`` before the loop)."""
    return _scalar(tracer, value) or isinstance(value, np.ndarray) or (
        isinstance(value, sympy.Basic) and bool(tracer.shape(value)))


def _entry(tracer, value):
    """A carried value as the loop's IR holds it: a number, an array's symbol or constant."""
    if isinstance(value, np.ndarray):
        return tracer.arrays.constant(value)
    return to_sympy(value)


@dataclass(frozen=True)
class SymbolicRange:
    """``range(trip)`` with ``trip`` a symbol (an int parameter, known at the call only)."""

    trip: sympy.Expr
    # the trip count is an expression of the counters of loops around it (kept as loops): a
    # loop that cannot be kept makes them unroll (``CounterTrip``), its count known then
    of_counters: bool = False
    start = 0
    step = 1


class CounterTrip(Exception):
    """A ``for`` over ``range`` of an enclosing loop's counter could not be kept as a loop: the
    enclosing loop is unrolled (its counter then a number)."""


def range_counts(function):
    """The names ``range(name)`` is called with in ``function`` (an ``ast`` function): int
    parameters among them may be traced as symbols (``Tracer.counts``)."""
    return {node.args[0].id for node in ast.walk(function)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Name)}


def count_of(tracer, stmt):
    """The ``SymbolicRange`` a ``for`` runs over where it is ``range(n)`` of an int parameter the
    trace keeps symbolic (``Tracer.counts``), or ``range(e)`` inside a loop kept as a loop, ``e``
    an int expression of its counters (``range(i)``, ``range(i + 1)``: a triangular nest), else
    None."""
    node = stmt.iter
    if not (tracer.rolled and isinstance(node, ast.Call) and not node.keywords
            and isinstance(node.func, ast.Name) and node.func.id == "range"
            and len(node.args) == 1 and not isinstance(node.args[0], ast.Starred)):
        return None
    if not (tracer.counts and isinstance(node.args[0], ast.Name)) and not tracer.loop_counters:
        return None
    if tracer.eval(node.func) is not range:
        return None
    trip = tracer.eval(node.args[0])
    if isinstance(trip, sympy.Symbol) and trip in tracer.count_symbols:
        return SymbolicRange(trip)
    if (isinstance(trip, sympy.Expr) and trip.free_symbols
            and trip.free_symbols <= tracer.loop_counters | tracer.count_symbols
            and _int_polynomial(trip)):
        return SymbolicRange(trip, of_counters=True)
    return None


def _int_polynomial(expr):
    """Whether ``expr`` is a polynomial with int coefficients (``2*i + 1``, ``i - 3``): an int
    for int counters, printed as it is in Python."""
    try:
        poly = sympy.Poly(expr, *sorted(expr.free_symbols, key=str))
    except sympy.PolynomialError:
        return False
    return all(c.is_Integer for c in poly.coeffs())


def _rows_of(tracer, value):
    """An array's symbol (a named constant for a concrete one) whose rows a loop can read,
    else None."""
    if isinstance(value, np.ndarray) and value.ndim:
        return tracer.arrays.constant(value)
    if isinstance(value, sympy.Basic) and tracer.shape(value):
        return tracer.arrays.atom(value, "rows")
    return None


def _header(tracer, stmt, iterable):
    """``[(target, array or None)]`` for ``for row in X:``, ``for a, b in zip(X, Y):`` and
    ``for k, row in enumerate(X):`` over arrays (None: the target is the iteration's number),
    else None. ``iterable``: the value of ``stmt.iter`` (unused for ``zip``/``enumerate``, of
    names only: they are read here without evaluating the call)."""
    node, target = stmt.iter, stmt.target
    if isinstance(target, ast.Name):
        rows = _rows_of(tracer, iterable())
        return None if rows is None else [(target, rows)]
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords
            and isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts)
            and all(isinstance(a, ast.Name) for a in node.args)):
        return None
    function = tracer.eval(node.func)
    if function is zip and len(node.args) == len(target.elts) >= 1:
        arrays = [_rows_of(tracer, tracer.eval(a)) for a in node.args]
        if any(a is None for a in arrays):
            return None
        return list(zip(target.elts, arrays))
    if function is enumerate and len(node.args) == 1 and len(target.elts) == 2:
        rows = _rows_of(tracer, tracer.eval(node.args[0]))
        return None if rows is None else [(target.elts[0], None), (target.elts[1], rows)]
    return None


def roll_rows(tracer, stmt, iterable):
    """Trace ``for row in X:`` over the rows of an array (an argument, a value computed
    before the loop, or a concrete one), ``for a, b in zip(X, Y):`` or ``for k, row in
    enumerate(X):`` as one ``ir.Loop`` over ``range(len(X))`` (the shortest, for ``zip``),
    ``row`` read as ``X[k]``; see ``roll``. Returns whether it did (False where the ``for``
    is not over arrays: the caller runs it as before). ``iterable()``: ``stmt.iter``'s value
    (evaluated once, by the caller)."""
    try:
        header = _header(tracer, stmt, iterable)
    except Exception:  # noqa: BLE001 - evaluating the header: the unrolled trace says what
        return False
    if header is None:
        return False
    trip = min(tracer.shape(rows)[0] for _, rows in header if rows is not None)
    return roll(tracer, stmt, range(trip), header)


def roll(tracer, stmt, counts, rows=None):
    """Trace ``for <name> in <counts>:`` (a ``range``, or a ``SymbolicRange``) as one ``ir.Loop``
    if it can be; see the module docstring. ``rows``: ``[(target, array)]`` (``roll_rows``),
    each target bound to its array's row ``array[k]`` in iteration ``k`` (to ``k`` where the
    array is None). Returns whether it did."""
    symbolic = isinstance(counts, SymbolicRange)
    if (not symbolic and len(counts) < ROLL_THRESHOLD) or stmt.orelse \
            or not (rows or isinstance(stmt.target, ast.Name)):
        return False
    control = tracer.control
    if control.open_forks or control.pending is not None:
        return False  # inside an 'if' on data: its arms are traced (and joined) as blocks
    syntax = _BodySyntax.of(stmt.body)
    header = [t.id for t, _ in rows] if rows else [stmt.target.id]
    if syntax.blocked or set(header) & set(syntax.stored):
        return False  # (a counter rebound in the body is what the code after the loop reads)
    env = tracer.frame.env
    if any(isinstance(env.get(name), (list, dict, set)) for name in syntax.stored) or any(
            isinstance(env.get(name), (dict, set)) for name in syntax.loaded):
        return False  # (a list only read, not rebound nor changed: indexed with the counter)
    try:
        _traced(tracer, lambda: _trace_body(tracer, stmt, counts, syntax, rows))
    except Exception:  # noqa: BLE001 - any refusal (a SymdiffError, NeedsConcrete, _Unroll...):
        return False  # the unrolled trace gives the answer, or the user's own error
    return True


def _traced(tracer, trace):
    """Run ``trace`` (-> ``(Loop, {name: value after it}, signal)``) with the tracer's state
    restored after it; then append the loop and bind the names it leaves. Returns the signal
    (None, or the ``_MaybeReturn`` of a loop whose body returns on some paths). Raises what
    ``trace`` raised (the tracer as it was)."""
    control, arrays, env = tracer.control, tracer.arrays, tracer.frame.env
    saved = (dict(env), tracer.block, tracer.current, tracer.frame, dict(arrays.op_memo),
             dict(arrays.own_lists), control.path, set(tracer.loop_counters), tracer.loop_entry,
             dict(tracer.loop_ranges))
    entry, shapes, constants = len(tracer.block), dict(arrays.shapes), dict(arrays.constants)
    try:
        loop, after, signal = trace()
    except BaseException:  # what the body made before the loop (a list made one array) goes
        del saved[1][entry:]
        arrays.shapes.clear()
        arrays.shapes.update(shapes)
        arrays.constants.clear()
        arrays.constants.update(constants)
        raise
    finally:
        tracer.frame = saved[3]
        tracer.frame.env = env  # (an 'if' in the body binds the frame to the joined names' dict)
        env.clear()
        env.update(saved[0])
        tracer.block, tracer.current = saved[1], saved[2]
        arrays.op_memo, arrays.own_lists, control.path = saved[4], saved[5], saved[6]
        tracer.loop_counters, tracer.loop_entry, tracer.loop_ranges = saved[7], saved[8], saved[9]
    env.update(after)
    tracer.block.append(loop)
    return signal


_UNBOUND = object()


class _Unroll(Exception):
    """The body traced, but not as something a rolled loop carries (a Branch, an array, ...)."""


def _trace_body(tracer, stmt, counts, syntax, rows=None):
    """``(Loop, {name: value after the loop})``; raises where the loop must be unrolled."""
    namer, env = tracer.namer, tracer.frame.env
    header = [t.id for t, _ in rows] if rows else [stmt.target.id]
    counter_name = header[0]
    inside = {}  # carried name -> the symbol the body reads it as
    for name in syntax.stored:
        if name in header or name not in env:
            continue
        if not _carriable(tracer, env[name]):
            raise _Unroll(name)
        inside[name] = real_symbol(namer.version(name))
        shape = tracer.shape(env[name])
        if shape:  # an array carried: its symbol stands for an array of that shape
            tracer.shapes[inside[name]] = tuple(shape)
    entry = {name: _entry(tracer, env[name]) for name in inside}
    for name, symbol in inside.items():
        env[name] = symbol
    tracer.loop_entry, tracer.arrays.hoisted = tracer.block, {}  # (lists indexed with the counter)
    tracer.block = []
    tracer.current = stmt
    if rows is not None:  # for row in X: the iteration's number k, and row = X[k]
        index = real_symbol(namer.version(counter_name) if rows[0][1] is None else namer.fresh("_k"))
        tracer.loop_counters.add(index)
        for target, array in rows:
            tracer.assign(target, index if array is None else
                          tracer.arrays.counter_item(array, (index,), stmt.iter, target.id))
    elif counts.start == 0 and counts.step == 1:
        index = real_symbol(namer.version(counter_name))
        env[counter_name] = index
    else:  # the iteration's number k, and the counter start + step*k on a line of its own
        index = real_symbol(namer.fresh("_k"))
        tracer.assign(stmt.target, sympy.Integer(counts.start) + sympy.Integer(counts.step) * index)
    if rows is None:
        tracer.loop_counters |= {index, env[counter_name]}  # (X[t] indexes an array with it)
    if not isinstance(counts, SymbolicRange) and len(counts):  # (X[t + 1] checked in bounds)
        tracer.loop_ranges[index] = (0, len(counts) - 1)
        if rows is None and env[counter_name] != index:
            tracer.loop_ranges[env[counter_name]] = (counts[0], counts[-1])
    signal = tracer.exec_block(stmt.body, cont=[])
    if signal is not None:
        raise _Unroll("exit")
    env = tracer.frame.env  # (a new dict where an 'if' on data joined the body's names)
    body = tuple(tracer.block)
    if any(type(item) not in (Statement, Loop, Branch) for item in body):
        raise _Unroll("block")
    for item in walk(body):  # (an 'if' on data stays a Branch, its arms and Merges in the body)
        if isinstance(item, Branch) and item.cond.free_symbols <= tracer.loop_counters:
            raise _Unroll("an 'if' on the counter")  # (concrete in each unrolled iteration)
    read = set()
    for item in body:
        read |= reads_of(item)
    for name in syntax.stored:  # what the next iteration reads of this one's values
        if isinstance(env.get(name), sympy.Basic):
            read |= env[name].free_symbols
    outside = _loads_outside(tracer.frame.parsed.node, stmt)
    carried, after = [], {}
    for name in syntax.stored:
        if name in header:
            continue
        value = env.get(name)
        if name in inside:
            if inside[name] not in read and name not in outside:
                continue  # neither read by the next iteration nor after the loop: a body local
            if not _carriable(tracer, value) or tracer.shape(value) != tracer.shape(inside[name]):
                raise _Unroll(name)  # (an array whose shape changes: each iteration's differs)
            update = _entry(tracer, value)
            symbol = inside[name]
            initial = entry[name]
        elif name in outside:  # first assigned in the body, read after it (the trip count is >= 1)
            if isinstance(counts, SymbolicRange) or not _scalar(tracer, value):
                raise _Unroll(name)
            update = to_sympy(value)
            symbol = real_symbol(namer.version(name))
            initial = sympy.Integer(0)
        else:
            continue
        if not update.is_Atom:
            raise _Unroll(name)
        final = real_symbol(namer.version(name))
        if tracer.shape(symbol):  # (an array after the loop, as inside it)
            tracer.shapes[final] = tuple(tracer.shape(symbol))
        carried.append(Carry(symbol, initial, update, final))
        after[name] = final
    if not carried:
        raise _Unroll("nothing carried")
    if _concrete_carries(body, carried, index):
        raise _Unroll("a value the unrolled loop knows")
    if isinstance(counts, SymbolicRange):  # (n may be 0: what the body leaves is not known)
        if counter_name in outside:
            raise _Unroll(counter_name)
        trip = counts.trip
    elif rows is not None:
        if set(header) & outside:
            raise _Unroll(counter_name)  # (the last row, read after the loop: unrolled)
        trip = sympy.Integer(len(counts))
    else:
        after[counter_name] = counts[-1]
        trip = sympy.Integer(len(counts))
    loop = Loop(counter=index, trip_count=trip, carried=tuple(carried), body=body,
                origin=_origin(tracer, stmt))
    return loop, after, None


# what a 'while' loop on data cannot have in its body yet (scopes of their own, ...)
_WHILE_BLOCKING = tuple(kind for kind in _BLOCKING if kind not in (ast.Break, ast.Continue, ast.Return))


def _has_blocking(nodes):
    """Whether a while-kind loop's body (its ``ast`` nodes) has what only an unrolled loop runs:
    a scope of its own, an item stored into a list or array, a method changing its object."""
    return any(isinstance(node, _WHILE_BLOCKING)
               or (isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)))
               or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                   and node.func.attr in _MUTATING) for node in nodes)


def roll_while(tracer, stmt):
    """Trace ``while <test>: <body>``, its test on a differentiated value, as one ``ir.Loop``
    with a ``condition``: the body and the test traced once over the carried values (``if`` s
    on data inside the body are ``Branch`` es). Where it did (the loop appended, the carried
    names bound to their values after it), returns the signal the loop ends with: None, or a
    ``_MaybeReturn`` where its body returns on some paths (a ``return`` under an ``if`` on
    data: the loop stops there, and the code after it runs where nothing returned). Else
    returns why it could not, a ``str`` (words that follow "a 'while' loop whose condition
    depends on a differentiated value: "); such a loop cannot be unrolled, so the caller
    refuses it."""
    if not tracer.rolled:
        return ("this build unrolls loops (C export of array code does; every derivative "
                "keeps them), and this one's trip count is only known when it runs")
    if stmt.orelse:
        return "its 'else' block is not supported"
    if tracer.control.pending is not None:
        return "it is inside an 'if' on a differentiated value being joined"
    nodes = [n for part in stmt.body for n in ast.walk(part)]
    syntax = _BodySyntax.of(stmt.body)
    env = tracer.frame.env
    why = _containers(env, syntax, stmt.body)
    if why:
        return why
    if _has_blocking(nodes):
        return ("its body has something only an unrolled loop runs (a nested function, an item "
                "stored into a list or array, a method changing its object, try/with/del)")
    try:
        return _traced(tracer, lambda: _trace_while(tracer, stmt, syntax))
    except _Unroll as exc:
        return str(exc)


def _containers(env, syntax, body):
    """Why a ``while`` body (or a ``for`` over a range of data) with this ``syntax`` cannot be
    kept as a loop for the containers it uses, else None: a list it only reads (``w[0]``,
    ``len(w)``) is read as the tracer reads it; a list rebound or changed in place (an item
    stored, a method such as ``append``), a dict or a set is not carried."""
    changed = {node.value.id for stmt in body for node in ast.walk(stmt)
               if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del))
               and isinstance(node.value, ast.Name)}
    changed |= {node.func.value.id for stmt in body for node in ast.walk(stmt)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATING and isinstance(node.func.value, ast.Name)}
    for name in sorted(syntax.loaded | set(syntax.stored)):
        value = env.get(name)
        if not isinstance(value, (list, dict, set)):
            continue
        what = ("rebinds" if name in syntax.stored else "changes" if name in changed
                else None if isinstance(value, list) else "reads")
        if what:
            return (f"its body {what} '{name}', a {type(value).__name__} (numbers and arrays "
                    "only are carried, and lists only read)")
    return None


def data_range(tracer, stmt):
    """``(start, stop)`` where ``stmt`` is ``for <name> in range([start,] stop):`` and an
    argument is an int computed from a differentiated value (``int(x)``, ``math.floor(x)``,
    ``round(x)``, or a name bound to one), else None (a range of known ints, or of a float:
    ``range()``'s own refusal, as Python's TypeError)."""
    node = stmt.iter
    if not (tracer.rolled and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and 1 <= len(node.args) <= 2 and not node.keywords
            and not any(isinstance(a, ast.Starred) for a in node.args)
            and isinstance(stmt.target, ast.Name)):
        return None
    if tracer.eval(node.func) is not range:
        return None
    values = [tracer.eval(a) for a in node.args]
    if not any(isinstance(v, sympy.Basic) and v.free_symbols for v in values):
        return None
    for value in values:
        if isinstance(value, sympy.Basic) and value.free_symbols:
            tracer.check_deferrable(value)
            if not _integer_valued(tracer, value):
                return None
        elif not isinstance(value, (int, sympy.Integer)) or isinstance(value, bool):
            return None
    values = [sympy.Integer(v) if isinstance(v, int) else v for v in values]
    return (sympy.Integer(0), values[0]) if len(values) == 1 else tuple(values)


def _integer_valued(tracer, value):
    if value.is_integer:
        return True
    if isinstance(value, sympy.Symbol):  # a name bound to int(x): its statement says so
        for item in reversed(tracer.block):
            if isinstance(item, Statement) and item.target == value:
                return bool(item.expr.is_integer)
    return False


def roll_range_on_data(tracer, stmt, start, stop):
    """``for k in range(start, stop):`` with ``stop`` (or ``start``) an int of data, or a long
    range of known ints whose body has a ``break``, ``continue`` or ``return`` on data
    (``roll_range_with_exits``): kept as a while-kind ``ir.Loop`` carrying the counter (``k <
    stop`` tested before each iteration; a ``break`` on data carried as a flag, as in a
    ``while``). Returns what ``roll_while`` does: the signal the loop ends with (None, or a
    ``_MaybeReturn``), else why not (a str)."""
    if stmt.orelse:
        return "its 'else' block is not supported"
    if tracer.control.pending is not None:
        return "it is inside an 'if' on a differentiated value being joined"
    counter = stmt.target.id
    nodes = [n for part in stmt.body for n in ast.walk(part)]
    syntax = _BodySyntax.of(stmt.body)
    if counter in syntax.stored:
        return f"its body rebinds the counter '{counter}'"
    if counter in _loads_outside(tracer.frame.parsed.node, stmt):
        return f"the counter '{counter}' is read after the loop (the loop may run no iteration)"
    env = tracer.frame.env
    why = _containers(env, syntax, stmt.body)
    if why:
        return why
    if _has_blocking(nodes):
        return ("its body has something only an unrolled loop runs (a nested function, an item "
                "stored into a list or array, a method changing its object, try/with/del)")
    syntax.stored.insert(0, counter)
    try:
        return _traced(tracer, lambda: _trace_while(tracer, stmt, syntax, (counter, start, stop)))
    except _Unroll as exc:
        return str(exc)


def roll_range_with_exits(tracer, stmt, counts):
    """``for k in range(a, b):`` over known ints, at least ``ROLL_THRESHOLD`` of them, whose body
    has a ``break``, ``continue`` or ``return`` (which ``roll`` leaves to unrolling): kept as a
    while-kind loop (``roll_range_on_data``) where those exits are on data. Returns the signal
    the loop ends with (None, or a ``_MaybeReturn``), or False where it was not kept (the caller
    unrolls it: the same result, as before)."""
    if not (tracer.rolled and isinstance(counts, range) and counts.step == 1
            and len(counts) >= ROLL_THRESHOLD and isinstance(stmt.target, ast.Name)
            and not stmt.orelse):
        return False
    nodes = [n for part in stmt.body for n in ast.walk(part)]
    if not any(isinstance(n, (ast.Return, ast.Break, ast.Continue)) for n in nodes):
        return False
    control = tracer.control
    if control.open_forks or control.pending is not None:
        return False
    try:
        kept = roll_range_on_data(tracer, stmt, sympy.Integer(counts.start), sympy.Integer(counts.stop))
    except Exception:  # noqa: BLE001 - any refusal of the symbolic trace: unrolled instead
        return False
    return False if isinstance(kept, str) else kept


def _trace_while(tracer, stmt, syntax, counting=None):
    """``(Loop, {name: value after the loop}, signal)`` of a ``while`` on data (``signal``: see
    ``roll_while``); raises ``_Unroll`` (why, in words), or the tracer's own error, where it
    cannot be kept as a loop."""
    namer, env = tracer.namer, tracer.frame.env
    inside = {}  # carried name -> the symbol the test and the body read it as
    saved_counter = None
    if counting is not None:  # a range of data: the counter is carried from 'start'
        counter, start, stop = counting
        saved_counter = env.get(counter, _UNBOUND)
        env[counter] = start
    for name in syntax.stored:
        if name not in env:
            continue
        if not _carriable(tracer, env[name]):
            raise _Unroll(f"'{name}', assigned in its body, is neither a number nor an array "
                          "(numbers and arrays only are carried from one iteration to the next)")
        inside[name] = real_symbol(namer.version(name))
        shape = tracer.shape(env[name])
        if shape:  # an array carried: its symbol stands for an array of that shape
            tracer.shapes[inside[name]] = tuple(shape)
    entry = {name: _entry(tracer, env[name]) for name in inside}
    for name, symbol in inside.items():
        env[name] = symbol
    tracer.block = []
    tracer.current = stmt
    if counting is not None:
        condition = sympy.StrictLessThan(env[counter], stop)
    else:
        condition = tracer.condition(stmt.test)
    if not isinstance(condition, sympy.Basic) or any(
            tracer.shape(s) for s in condition.free_symbols):
        raise _Unroll("its condition is not a comparison of numbers")
    test = tuple(tracer.block)
    tracer.block = []
    signal = tracer.exec_block(stmt.body, cont=[])
    if counting is not None and not isinstance(signal, _Return) and signal is not BREAK:
        # the next iteration's counter (also after a 'continue', or a 'break' on some paths:
        # the loop stops there, and the counter is not read after it)
        tracer.current = stmt
        following = real_symbol(namer.version(counter))
        tracer.emit(following, env[counter] + 1, stmt)
        tracer.frame.env[counter] = following
    broke = None  # the flag that is 1 where an iteration broke out ('break' on data)
    returned = None  # the _MaybeReturn of a body that returns on some paths
    if isinstance(signal, _MaybeReturn) and signal.exit is None:
        returned, broke = signal, signal.flag  # (the loop stops where it returned, as at a break)
        if not _scalar(tracer, signal.value):
            raise _Unroll("the value it returns inside is not one number (numbers only are "
                          "carried out of it yet)")
    elif isinstance(signal, _Return):
        raise _Unroll("its body returns on every path (write it as an 'if')")
    elif isinstance(signal, _MaybeBreak) and signal.kind is BREAK:
        broke = signal.flag
    elif isinstance(signal, _MaybeBreak) and signal.kind is CONTINUE:
        pass  # the rest of the iteration ran where it was not skipped: the next one runs
    elif signal is BREAK:
        raise _Unroll("its body breaks out on every path (write it as an 'if')")
    elif signal is not None and signal is not CONTINUE:
        raise _Unroll("an exit from its body is not supported yet")
    final = tracer.frame.env  # (a new dict where an 'if' on data joined the body's names)
    body = tuple(tracer.block)
    read = set(condition.free_symbols)
    for item in walk(test) + walk(body):
        if isinstance(item, Statement):
            read |= item.expr.free_symbols
        elif isinstance(item, Branch):
            read |= item.cond.free_symbols
        elif isinstance(item, Merge):
            read |= item.then_value.free_symbols | item.else_value.free_symbols
    if any(not isinstance(item, Statement) for item in test):
        raise _Unroll("its condition has a conditional expression on data")
    for name in syntax.stored:
        if isinstance(final.get(name), sympy.Basic):
            read |= final[name].free_symbols
    outside = _loads_outside(tracer.frame.parsed.node, stmt)
    carried, after = [], {}
    for name in syntax.stored:
        value = final.get(name)
        if name in inside:
            if inside[name] not in read and name not in outside:
                continue  # neither read by the test, the next iteration nor after the loop
            if (not _carriable(tracer, value) or tracer.shape(value) != tracer.shape(inside[name])
                    or not _entry(tracer, value).is_Atom):
                raise _Unroll(f"'{name}' is not a number, nor an array of the shape it had "
                              "before the loop, after its body")
            symbol = real_symbol(namer.version(name))
            if tracer.shape(inside[name]):  # (an array after the loop, as inside it)
                tracer.shapes[symbol] = tuple(tracer.shape(inside[name]))
            carried.append(Carry(inside[name], entry[name], _entry(tracer, value), symbol))
            after[name] = symbol
        elif name in outside:
            raise _Unroll(f"'{name}' is first assigned in its body and read after it (the loop "
                          "may run no iteration): assign it before the loop")
    if not carried:
        raise _Unroll("it changes no value its condition or the code after it reads")
    exit_flag = None
    if broke is not None:  # carried too: the next iteration does not start where it is 1
        exit_flag = real_symbol(namer.fresh("_returned" if returned else "_broke"))
        flag_after = real_symbol(namer.fresh("_returned" if returned else "_broke"))
        carried.append(Carry(exit_flag, sympy.Integer(0), broke, flag_after))
    if returned is not None:  # the value returned, carried out (read where the flag is 1)
        value_after = real_symbol(tracer.result_name())
        carried.append(Carry(real_symbol(namer.fresh("_returning")), sympy.Integer(0),
                             to_sympy(returned.value), value_after))
        tracer.control.flags.add(flag_after)
        returned = _MaybeReturn(flag_after, value_after, returned.node, stmt, False)
    loop = Loop(counter=real_symbol(namer.fresh("_i")), trip_count=real_symbol(namer.fresh("_n")),
                carried=tuple(carried), body=body, origin=_origin(tracer, stmt),
                condition=condition, test=test, exit_flag=exit_flag)
    if counting is not None:  # the counter after the loop: as before it (not read after it)
        after.pop(counter, None)
        if saved_counter is not _UNBOUND:
            after[counter] = saved_counter
    return loop, after, returned


def _concrete_carries(body, carried, index):
    """The carries whose values the unrolled loop would know while tracing (a count ``k += 1``
    from a concrete start, on the counter and such counts only): code after the loop may use
    them as Python ints (an index, a condition), so such a loop is unrolled."""
    depends = {}

    for item in body:
        found = set()
        for symbol in reads_of(item):
            found |= depends.get(symbol, {symbol})
        for target in definitions([item]):  # (a loop inside: the values it leaves; an 'if'
            depends[target] = found  # on data: what its arms and merges define)
    known = {c.inside for c in carried if not c.initial.free_symbols}
    while True:
        keep = set()
        for carry in carried:
            if carry.inside in known:
                uses = set()
                for symbol in carry.update.free_symbols:
                    uses |= depends.get(symbol, {symbol})
                if uses <= known | {index}:
                    keep.add(carry.inside)
        if keep == known:
            return known
        known = keep


def _origin(tracer, stmt):
    return Origin(tracer.filename_tag(), stmt.lineno, tracer.source_line(stmt.lineno))


__all__ = ["ROLL_THRESHOLD", "CounterTrip", "SymbolicRange", "count_of", "data_range", "range_counts",
           "roll", "roll_range_on_data", "roll_rows", "roll_while"]
