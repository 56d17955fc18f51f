"""The numbers a ``formulas`` result stands for: each formula evaluated at given arguments, the
sequences of its loops (``x[k]``, ``xbar[k]``) computed by running their recurrences, one step at a
time, over mpmath numbers at 30 digits, and every ``Sum`` added up term by term.

It reads only the SymPy expressions and equations ``formulas`` returned (no generated code): a
test compares what it gives with an independent reference (``reference.mp_grad``), so a wrong
recurrence, a wrong sum or a wrong sequence name is a wrong number.
"""

import mpmath
import sympy

DPS = 30


def evaluate(formulas, values):
    """``{parameter: number}``: the value of each formula at ``values`` ({name: number})."""
    with mpmath.workdps(DPS):
        env = {name: mpmath.mpf(v) if not isinstance(v, int) else v for name, v in values.items()}
        sequences = {}
        trips = [_forward(r, env, sequences) for r in formulas.recurrences]
        for recurrence, trip in reversed(list(zip(formulas.recurrences, trips))):
            _reverse(recurrence, trip, env, sequences)  # (the adjoints: from the last loop back)
        return {name: float(_value(expr, env, sequences)) for name, expr in formulas.items()}


def _forward(recurrence, env, sequences):
    """Run ``recurrence``'s sequences forward; returns how many steps it took."""
    k = recurrence.index
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
        assert step < 10**6, "the recurrence does not stop"
    if recurrence.stop is not None:
        env[recurrence.trip.name] = step
    return step


def _reverse(recurrence, trip, env, sequences):
    """Run ``recurrence``'s adjoint sequences backwards, from step ``trip``."""
    k = recurrence.index
    for first, _ in recurrence.adjoint:
        sequences[first.lhs.base] = {trip: _value(first.rhs, env, sequences)}
    for step in range(trip - 1, -1, -1):
        new = [(first.lhs.base, _value(rule.rhs, env, sequences, {k: step}))
               for first, rule in recurrence.adjoint]
        for base, value in new:
            sequences[base][step] = value


def _value(expr, env, sequences, bound=None):
    """``expr`` as an mpmath number (a bool for a condition), ``bound``: {index symbol: int}."""
    bound = dict(bound or {})
    expr = sympy.sympify(expr)
    for total in sorted(expr.atoms(sympy.Sum), key=lambda s: -sympy.count_ops(s)):
        (var, low, high), = total.limits
        low = int(_value(low, env, sequences, bound))
        high = int(_value(high, env, sequences, bound))
        number = mpmath.mpf(0)
        for step in range(low, high + 1):
            number += _value(total.function, env, sequences, {**bound, var: step})
        expr = expr.xreplace({total: sympy.Float(number, DPS)})
    items = {}
    for item in expr.atoms(sympy.Indexed):
        index = int(_value(item.indices[0], env, sequences, bound))
        items[item] = sympy.Float(sequences[item.base][index], DPS)
    names = {s: _number(env[s.name]) for s in expr.free_symbols
             if isinstance(s, sympy.Symbol) and s.name in env and s not in bound}
    names.update({s: sympy.Integer(v) for s, v in bound.items()})
    result = expr.xreplace(items).xreplace(names)
    if isinstance(result, sympy.logic.boolalg.Boolean) or result.is_Relational:
        return bool(result)
    result = result.evalf(DPS)
    assert not result.free_symbols, (expr, result)
    return mpmath.mpf(str(result)) if result.is_real else result


def _number(value):
    return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value, DPS)
