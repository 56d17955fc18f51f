"""chain_rule: a gradient program -> closed-form formulas and the chain rule in words.

Takes: a ``GradientProgram``. Returns: ``formulas`` (one SymPy expression per parameter, built by
substituting statements back in; a branch on data becomes ``Piecewise``; bounded in size: past
``MAX_FORMULA_SIZE`` nodes a formula keeps the named intermediates instead of growing) and
``explanation`` (text: each statement's local derivatives, then the adjoints accumulated from the
output back to the inputs, then the result; a loop kept as a loop: its body once, then the
recurrence of its adjoints). A loop kept as a loop has no closed form: its formulas name the
loop's sequences, defined by recurrences (``explain.recurrences``).
"""


import sympy

from ..primitives import signs
from ..primitives.faithful import Raising, plain
from ..primitives.arrays import ArrayOp
from ..ad.reverse import Adjoint, AdjointLoop
from ..ir import Branch, Loop, Statement, Visitor, walk
from . import recurrences

MAX_FORMULA_SIZE = 400  # expression-tree nodes; beyond this, intermediates stay named
MAX_CHAIN_SIZE = 60  # the same for each step shown by explain()


def tree_size(expr, limit):
    """Nodes in ``expr`` counted as a tree (shared parts counted each time), stopping past ``limit``."""
    count = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return count
        stack.extend(node.args)
    return count


def _expanded_size(expr, sizes, limit):
    """The tree size ``expr`` would have with the symbols in ``sizes`` substituted, stopping past
    ``limit``: walks ``expr`` only, so sizing a whole program stays linear."""
    total = 0
    stack = [expr]
    while stack:
        node = stack.pop()
        size = sizes.get(node) if node.is_Symbol else None
        if size is not None:
            total += size
        else:
            total += 1
            stack.extend(node.args)
        if total > limit:
            return total
    return total


class Closer(Visitor):
    """Closed forms of a program's names (statements and merges substituted back in), built only
    for the names a formula needs and only while they stay small: linear in the program."""

    def __init__(self, blocks, cap, flags=(), loops=None):
        self.flags = set(flags)  # returned-flags: defined as conditions, not numbers
        self.loops = loops  # a loop's result -> its value in its sequences (None: loops refused)
        self.definitions = {}  # symbol -> its expression (a merge as Piecewise)
        self.order = {}  # symbol -> position in the program
        self.sizes = {}  # symbol -> size of its closed form (capped past ``cap``)
        self.cap = cap
        for items in blocks:
            self._collect(items)

    def _define(self, symbol, expr):
        self.definitions[symbol] = expr
        self.order[symbol] = len(self.order)
        self.sizes[symbol] = _expanded_size(expr, self.sizes, self.cap)

    def _collect(self, items):
        self.visit_block(items)

    def visit_Statement(self, item):
        self._define(item.target, item.expr)

    visit_Adjoint = visit_Statement

    def visit_Branch(self, item):
        self.visit_block(item.then)
        self.visit_block(item.orelse)
        cond = self._condition(item.cond)
        for merge in item.merges:
            a, b = merge.then_value, merge.else_value
            if merge.target in self.flags:  # "a return was taken", as a condition
                flag = sympy.Or(sympy.And(cond, self._truth(a)),
                                sympy.And(sympy.Not(cond), self._truth(b)))
                self._define(merge.target, flag)
                continue
            self._define(merge.target, a if a == b else sympy.Piecewise((a, cond), (b, True)))

    def visit_Loop(self, loop):
        """A loop's results as ``recurrences`` named them (``x[n]``, ``xbar[0]``, a ``Sum``)."""
        if self.loops is None:
            raise self.refuse(loop)
        for carry in loop.carried:
            self._define(carry.after, self.loops[carry.after])

    visit_AdjointLoop = visit_Loop

    def _condition(self, cond):
        """``returned < 0.5`` (the rest of a function after a partial return) as ``~returned``."""
        if isinstance(cond, sympy.StrictLessThan) and cond.lhs in self.flags:
            return sympy.Not(cond.lhs)
        return cond

    def _truth(self, value):
        return value if value in self.flags else sympy.true if value == 1 else sympy.false

    def close(self, expr, limit, only=None):
        """``expr`` with every name whose closed form has at most ``limit`` nodes substituted
        (``only``: just these names)."""
        needed, stack = set(), list(expr.free_symbols)
        while stack:
            symbol = stack.pop()
            if symbol in needed or symbol not in self.definitions or self.sizes[symbol] > limit:
                continue
            if only is not None and symbol not in only:
                continue
            needed.add(symbol)
            stack.extend(self.definitions[symbol].free_symbols)
        closed = {}
        for symbol in sorted(needed, key=self.order.__getitem__):
            closed[symbol] = signs.xreplace(self.definitions[symbol], closed)
        return signs.xreplace(expr, closed)  # (also inside builds: symdiff.register's rules)


def formulas(gradient_program, limit=MAX_FORMULA_SIZE):
    """``{parameter name: closed-form derivative}`` (a ``recurrences.Formulas``); large ones keep
    named intermediates. A loop kept as a loop: the formulas name its sequences (``x[k]``, the
    adjoints ``xbar[k]``, sums over ``k``) and carry their ``recurrences``."""
    program = gradient_program.program
    forms = None
    if any(isinstance(item, Loop) for item in walk(program.body)):
        forms = recurrences.loop_forms(gradient_program, Closer)
    closer = Closer([program.body, gradient_program.reverse], 10 * limit, program.flags,
                    forms and forms.values)
    adjoints = {item.target for item in walk(gradient_program.reverse)
                if isinstance(item, Adjoint)}
    adjoints |= {m.target for item in walk(gradient_program.reverse)
                 if isinstance(item, Branch) for m in item.merges}
    result = {}
    for param, gradient in zip(gradient_program.gradient_params, gradient_program.gradients):
        closed = closer.close(gradient, limit)
        if program.has_branches and any(s in closer.definitions for s in closed.free_symbols):
            # Branch conditions simplify what is inside them (assuming): a form that looked too
            # big to substitute may come out small (returned-flags, merges of merges)
            whole = assuming(closer.close(gradient, 10 * limit), {})
            if tree_size(whole, limit) <= limit:
                closed = whole
        if tree_size(closed, limit) > limit:
            in_forward_names = closer.close(gradient, 10 * limit, only=adjoints)
            closed = in_forward_names if tree_size(in_forward_names, limit) <= limit else gradient
        result[param.name] = plain(assuming(closed, {}))  # PyFloat atoms as SymPy floats
    if forms is None:
        return recurrences.Formulas(result)
    shown = [r.closed(lambda e: plain(assuming(closer.close(e, limit), {})))
             for r in forms.recurrences]
    return recurrences.Formulas(result, shown)


def assuming(expr, facts):
    """``expr`` with what each branch of a ``Piecewise`` knows put in: inside ``(value, cond)``,
    ``cond`` holds and the earlier conditions failed (``facts``: condition -> True/False)."""
    if not expr.args or isinstance(expr, sympy.logic.boolalg.Boolean):
        return expr.xreplace(facts) if facts and isinstance(expr, sympy.logic.boolalg.Boolean) else expr
    if isinstance(expr, sympy.Piecewise):
        pairs, known = [], dict(facts)
        for value, cond in expr.args:
            cond = _simpler(cond.xreplace(known) if known else cond)
            if cond == sympy.false:
                continue
            pairs.append((assuming(value, {**known, **_outcomes(cond, True)}), cond))
            if cond == sympy.true:
                break
            known.update(_outcomes(cond, False))
        return sympy.Piecewise(*pairs) if pairs else expr
    args = [assuming(a, facts) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        return expr
    try:
        return expr.func(*args)
    except (TypeError, ValueError):  # Max(0.25*Trunc(0.25/-0.3)/0.7, ...): "not comparable"
        return expr


def _simpler(cond):
    """A compound condition of a few relations in its simplest form (``a & (a | b)`` -> ``a``)."""
    if isinstance(cond, (sympy.core.relational.Relational, sympy.logic.boolalg.BooleanAtom)):
        return cond
    relations = cond.atoms(sympy.core.relational.Relational)
    if not 1 <= len(relations) <= 4:
        return cond
    return sympy.simplify_logic(cond)


def _outcomes(cond, holds):
    """What ``cond`` being ``holds`` tells about its parts (relations, their negations)."""
    found = {cond: sympy.true if holds else sympy.false}
    parts = cond.args if isinstance(cond, sympy.And if holds else sympy.Or) else (cond,)
    for part in parts:
        if isinstance(part, sympy.Not):
            part, value = part.args[0], not holds
        else:
            value = holds
        found[part] = sympy.true if value else sympy.false
        if isinstance(part, sympy.core.relational.Relational):
            found[part.negated] = sympy.false if value else sympy.true
    return found


def _d(num, den):
    return f"d{num}/d{den}"


def explanation(gradient_program, limit=MAX_FORMULA_SIZE):
    """The chain rule for this program, statement by statement, as text."""
    program = gradient_program.program
    out_name = str(program.output)
    params = ", ".join(p.name for p in program.params)
    lines = [f"Chain rule for {program.name}({params}), from {program.filename}", ""]
    wrt_symbols = {p.symbol for p in gradient_program.wrt}
    if not gradient_program.partials and program.output not in wrt_symbols:
        names = ", ".join(p.name for p in gradient_program.wrt)
        lines.append(f"{out_name} does not depend on {names}: every derivative is 0.")
        return "\n".join(lines)

    lines.append("1. Each statement and its local derivatives (source order):")
    rows = []
    _forward_rows(program.body, gradient_program, rows, "")
    lines += _columns(rows)
    lines.append("")

    lines.append(f"2. Accumulate {_d(out_name, '·')} from the output back to the inputs:")
    loops = any(isinstance(item, Loop) for item in walk(program.body))
    if loops:  # kept as loops: the recurrence of the adjoints, and the results in its names
        reverse = _reverse_rows(gradient_program, out_name)
        lines += reverse[:-len(gradient_program.wrt)]
        lines += ["", "3. Result (after the reverse loop):"]
        return "\n".join(lines + reverse[-len(gradient_program.wrt):])
    if program.has_branches or _has_structural(gradient_program):
        lines += _reverse_rows(gradient_program, out_name)
        chained = {}
    else:
        rows, chained = _chain_rows(gradient_program, out_name, min(limit, MAX_CHAIN_SIZE))
        lines += [f"   {a} = {b} = {c}" if b else f"   {a} = {c}" for a, b, c in rows]
    lines.append("")

    lines.append("3. Result:")
    closed = formulas(gradient_program, limit)
    for param in gradient_program.wrt:
        final = sympy.sstr(closed[param.name])
        middle = chained.get(param.symbol)
        if middle is not None and sympy.sstr(middle) != final:
            lines.append(f"   {_d(out_name, param.name)} = {sympy.sstr(middle)} = {final}")
        else:
            lines.append(f"   {_d(out_name, param.name)} = {final}")
    return "\n".join(lines)


def _forward_rows(items, gradient_program, rows, indent):
    _ForwardRows(gradient_program, rows).visit_block(items, indent)


class _ForwardRows(Visitor):
    """Step 1 of ``explanation``: each statement's local derivatives, as rows."""

    stage = "explain"

    def __init__(self, gradient_program, rows):
        self.gradient_program = gradient_program
        self.rows = rows

    def visit_Branch(self, item, indent):
        rows = self.rows
        rows.append((f"{indent}line {item.lineno}:", f"if {sympy.sstr(item.cond)}:", ""))
        self.visit_block(item.then, indent + "  ")
        for merge in item.merges:
            rows.append((indent + "  ", f"{merge.target} = {sympy.sstr(merge.then_value)}", ""))
        rows.append((indent, "else:", ""))
        self.visit_block(item.orelse, indent + "  ")
        for merge in item.merges:
            rows.append((indent + "  ", f"{merge.target} = {sympy.sstr(merge.else_value)}", ""))

    def visit_Statement(self, item, indent):
        if isinstance(item.expr, Raising):  # the user's check: no derivative
            self.rows.append((f"{indent}line {item.lineno}:", sympy.sstr(item.expr), "(the function raises)"))
            return
        partials = self.gradient_program.partials.get(item.target)
        if partials is None:
            return
        if isinstance(item.expr, ArrayOp):  # no local derivative: its adjoint rule (vjp) applies
            names = ", ".join(str(s) for s, _ in partials)
            derivs = f"adjoint of {names} by the {item.expr.printed} rule (step 2)"
        else:
            derivs = ", ".join(f"{_d(item.target, s)} = {sympy.sstr(d)}" for s, d in partials)
        self.rows.append((f"{indent}line {item.lineno}:", f"{item.target} = {sympy.sstr(item.expr)}", derivs))

    def visit_Loop(self, loop, indent):
        rows = self.rows
        carried = ", ".join(f"{c.inside} = {sympy.sstr(c.initial)}" for c in loop.carried)
        if loop.is_while:  # its condition as one expression of the carried values
            condition = loop.condition
            for stmt in reversed(loop.test):
                condition = condition.xreplace({stmt.target: stmt.expr})
            rows.append((f"{indent}line {loop.lineno}:", f"while {sympy.sstr(condition)}:",
                         f"(kept as a loop, traced once; no derivative of the condition; "
                         f"first {carried})"))
        else:
            rows.append((f"{indent}line {loop.lineno}:", f"for {loop.counter} in range({loop.trip_count}):",
                         f"(kept as a loop, traced once; first {carried})"))
        self.visit_block(loop.body, indent + "  ")
        rows.append((indent + "  ", "then " + ", ".join(f"{c.inside} = {c.update}" for c in loop.carried),
                     ""))
        rows.append((indent, "after it " + ", ".join(f"{c.after} = {c.inside}" for c in loop.carried),
                     ""))


def _has_structural(gradient_program):
    """Whether a statement is a structural array operation (its adjoint is a vjp, not a product
    with a local derivative, so the reverse pass is shown as written)."""
    return any(isinstance(s.expr, ArrayOp) for s in gradient_program.program.statements
               if s.target in gradient_program.partials)


def _chain_rows(gradient_program, out_name, limit):
    """Straight-line programs: d out/d v = sum over v's users w of (d out/d w)*(d w/d v)."""
    program = gradient_program.program
    out = program.output
    statements = program.statements
    shown = {out: sympy.Integer(1)}  # symbol -> d out / d symbol, in terms of forward names
    uses = {}
    for stmt in statements:
        for s, _ in gradient_program.partials.get(stmt.target, []):
            uses.setdefault(s, []).append(stmt)
    rows = [(_d(out_name, out_name), "", "1")]
    order = [s.target for s in reversed(statements) if s.target in gradient_program.partials]
    order += [p.symbol for p in gradient_program.wrt]
    for symbol in order:
        if symbol == out:
            continue
        users = [u for u in uses.get(symbol, []) if u.target in shown]
        if not users:
            continue
        chain = " + ".join(f"{_d(out_name, u.target)}*{_d(u.target, symbol)}" for u in users)
        value = sympy.Add(*[
            shown[u.target] * dict(gradient_program.partials[u.target])[symbol] for u in users
        ])
        if tree_size(value, limit) > limit:
            value = sympy.Symbol(f"{symbol}_bar")
        shown[symbol] = value
        rows.append((_d(out_name, symbol), chain, sympy.sstr(value)))
    return rows, shown


def _reverse_rows(gradient_program, out_name):
    """Programs with branches: the reverse pass as written, adjoints named d out/d v."""
    names = {}
    for item in walk(gradient_program.reverse):
        if isinstance(item, Adjoint):
            names[item.target] = sympy.Symbol(_d(out_name, item.of))
        elif isinstance(item, AdjointLoop):  # the carried adjoints, then the running sums
            # a carried adjoint enters an iteration as that of the value the body leaves
            # (x_2), and leaves it as that of the value the body read (x_1)
            update = {c.inside: c.update for c in item.forward.carried}
            labels = ([_d(out_name, update[v]) for v in item.carries_of]
                      + [f"sum {_d(out_name, v)}" for v in item.sums])
            for carry, label in zip(item.carried, labels):
                names[carry.inside] = sympy.Symbol(label)
                names[carry.after] = sympy.Symbol(label if label.startswith("sum ")
                                                  else f"({label} after the loop)")
    text = []
    _ReverseRows(names, text).visit_block(gradient_program.reverse, "   ")
    for param, gradient in zip(gradient_program.gradient_params, gradient_program.gradients):
        text.append(f"   {_d(out_name, param.name)} = {sympy.sstr(gradient.xreplace(names))}")
    return text


class _ReverseRows(Visitor):
    """Step 2 of ``explanation`` for programs with branches: the reverse pass as written."""

    stage = "explain"

    def __init__(self, names, text):
        self.names = names  # adjoint -> d out/d v, as a symbol
        self.text = text

    def visit_Branch(self, item, indent):
        text, names = self.text, self.names
        text.append(f"{indent}if {sympy.sstr(item.cond)}:   (line {item.lineno})")
        self.visit_block(item.then, indent + "  ")
        for merge in item.merges:
            text.append(f"{indent}  {merge.target} = {sympy.sstr(merge.then_value.xreplace(names))}")
        text.append(f"{indent}else:")
        self.visit_block(item.orelse, indent + "  ")
        for merge in item.merges:
            text.append(f"{indent}  {merge.target} = {sympy.sstr(merge.else_value.xreplace(names))}")

    def visit_Adjoint(self, item, indent):
        names = self.names
        self.text.append(f"{indent}{names[item.target]} = {sympy.sstr(item.expr.xreplace(names))}")

    def visit_AdjointLoop(self, item, indent):
        text, names = self.text, self.names
        loop = item.forward
        for carry in item.carried:
            text.append(f"{indent}{names[carry.inside]} = {sympy.sstr(carry.initial.xreplace(names))}")
        # (the values the adjoints are of: a break's or a return's flag is carried, not read back)
        saved = ", ".join(str(s) for s in item.carries_of) or ", ".join(
            str(c.inside) for c in loop.carried if c.inside != loop.exit_flag)
        if loop.is_while:
            text.append(f"{indent}for each of its {loop.trip_count} iterations, the last first:   "
                        f"(line {loop.lineno}; {saved} read back from the tape; {loop.trip_count} "
                        "counted by the forward loop)")
        else:
            text.append(f"{indent}for {loop.counter} from {loop.trip_count - 1} down to 0:   (line "
                        f"{loop.lineno}; {saved} read back from the tape)")
        self.visit_block(item.body, indent + "  ")
        for carry in item.carried:
            text.append(f"{indent}  {names[carry.inside]} <- "
                        f"{sympy.sstr(carry.update.xreplace(names))}")


def _columns(rows):
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return [f"   {a:<{widths[0]}}  {b:<{widths[1]}}   {c}".rstrip() for a, b, c in rows]


__all__ = ["Statement", "explanation", "formulas", "tree_size"]
