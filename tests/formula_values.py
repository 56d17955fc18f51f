"""The numbers a ``formulas`` result stands for: each formula evaluated at given arguments, the
sequences of its loops (``x[k]``, ``xbar[k]``) computed by running their recurrences, one step at a
time, over SymPy numbers at 50 digits, and every ``Sum`` added up term by term (a ``Piecewise``
evaluated in the branch its conditions pick only).

It reads only the SymPy expressions and equations ``formulas`` returned (no generated code): a
test compares what it gives with an independent reference (``reference.mp_grad``), so a wrong
recurrence, a wrong sum or a wrong sequence name is a wrong number.
"""

import sympy

DPS = 50  # (as reference.mp_grad: the loops take the iterations the 50-digit reference takes)


class Unevaluable(Exception):
    """The formulas cannot be evaluated: a name is left in them (past the size cap a formula
    keeps named intermediates), or a recurrence does not stop."""


def evaluate(formulas, values):
    """``{parameter: number}``: the value of each formula at ``values`` ({name: number})."""
    _check_names(formulas, values)
    env = {name: _number(v) for name, v in values.items()}
    sequences = {}
    trips = [_forward(r, env, sequences) for r in formulas.recurrences]
    for recurrence, trip in reversed(list(zip(formulas.recurrences, trips))):
        _reverse(recurrence, trip, env, sequences)  # (the adjoints: from the last loop back)
    return {name: float(_value(expr, env, sequences)) for name, expr in formulas.items()}


def _check_names(formulas, values):
    """``Unevaluable`` where a name that is no argument, no index, no trip count and no sequence
    is left in the formulas or their recurrences (a named intermediate)."""
    known = set(values)
    exprs = list(formulas.values())
    for recurrence in formulas.recurrences:
        known |= {recurrence.index.name, str(recurrence.trip)}
        for pair in (*recurrence.forward, *recurrence.adjoint):
            known |= {eq.lhs.base.name for eq in pair}
            exprs += [eq.rhs for eq in pair]
        if recurrence.stop is not None:
            exprs.append(recurrence.stop)
    left = set()
    for expr in exprs:
        expr = sympy.sympify(expr)
        bases = {item.base.name for item in expr.atoms(sympy.Indexed)}
        left |= {s.name for s in expr.free_symbols if isinstance(s, sympy.Symbol)} - known - bases
        left |= {name for name in bases if name not in known}
    if left:
        raise Unevaluable(f"{', '.join(sorted(left))} left in the formulas")


def _forward(recurrence, env, sequences):
    """Run ``recurrence``'s sequences forward; returns how many steps it took (None where a step
    is undefined: the loop sits on a path these arguments do not take, ``x / 0`` there)."""
    k = recurrence.index
    try:
        for first, _ in recurrence.forward:
            sequences[first.lhs.base] = {0: _value(first.rhs, env, sequences)}
        limit = None if recurrence.stop is not None else int(_value(recurrence.trip, env, sequences))
        step = 0
        while True:
            if limit is not None and step >= limit:
                break
            if limit is None and not _value(recurrence.stop, env, sequences, {k: step}):
                break
            new = [(first.lhs.base, _value(rule.rhs, env, sequences, {k: step}))
                   for first, rule in recurrence.forward]
            for base, value in new:
                sequences[base][step + 1] = value
            step += 1
            if step >= 10**5:
                raise Unevaluable("the recurrence does not stop")
    except Undefined:
        return None
    if recurrence.stop is not None:
        env[recurrence.trip.name] = sympy.Integer(step)
    return step


def _reverse(recurrence, trip, env, sequences):
    """Run ``recurrence``'s adjoint sequences backwards, from step ``trip``."""
    if trip is None:
        return
    k = recurrence.index
    try:
        for first, _ in recurrence.adjoint:
            sequences[first.lhs.base] = {trip: _value(first.rhs, env, sequences)}
        for step in range(trip - 1, -1, -1):
            new = [(first.lhs.base, _value(rule.rhs, env, sequences, {k: step}))
                   for first, rule in recurrence.adjoint]
            for base, value in new:
                sequences[base][step] = value
    except Undefined:
        return


class Undefined(ArithmeticError):
    """A value that is not a finite real number (or an item of a sequence that was not run)."""


def _value(expr, env, sequences, bound=None):
    """``expr`` as a 50-digit SymPy number (a bool for a condition); ``bound``: {index: int}.
    Evaluated node by node: a ``Piecewise`` only in the branch its conditions pick, a ``Sum``
    term by term, an item ``x[i]`` from its sequence."""
    return _node(sympy.sympify(expr), env, sequences, bound or {})


def _node(e, env, sequences, bound):
    if e is sympy.true or e is True:
        return True
    if e is sympy.false or e is False:
        return False
    if isinstance(e, sympy.Indexed):
        index = int(_node(e.indices[0], env, sequences, bound))
        try:
            return sequences[e.base][index]
        except KeyError:
            raise Undefined(f"{e.base}[{index}] was not computed") from None
    if e.is_Symbol:
        if e in bound:
            return sympy.Integer(bound[e])
        if e.name in env:
            return env[e.name]
        raise Unevaluable(f"{e} left in the formulas")
    if e.is_Number:
        return _finite(e if e.is_Integer else sympy.Float(e, DPS))
    if isinstance(e, sympy.Sum):
        (var, low, high), = e.limits
        low, high = (int(_node(x, env, sequences, bound)) for x in (low, high))
        total = sympy.Float(0, DPS)
        for step in range(low, high + 1):
            total += _node(e.function, env, sequences, {**bound, var: step})
        return total
    if isinstance(e, sympy.Piecewise):
        for value, cond in e.args:
            if _node(cond, env, sequences, bound):
                return _node(value, env, sequences, bound)
        raise Undefined("no branch of a Piecewise holds")
    if isinstance(e, sympy.And):
        return all(_node(a, env, sequences, bound) for a in e.args)
    if isinstance(e, sympy.Or):
        return any(_node(a, env, sequences, bound) for a in e.args)
    if isinstance(e, sympy.Not):
        return not _node(e.args[0], env, sequences, bound)
    args = [_node(a, env, sequences, bound) for a in e.args]
    args = [sympy.true if a is True else sympy.false if a is False else a for a in args]
    result = e.func(*args)
    if isinstance(result, sympy.logic.boolalg.Boolean) or result.is_Relational:
        return bool(result)
    return _finite(result.evalf(DPS))


def _finite(value):
    if not (value.is_number and value.is_real and value.is_finite):
        raise Undefined(f"{value}")
    return value


def _number(value):
    return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value, DPS)
