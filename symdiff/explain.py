"""explain: a gradient program -> closed-form formulas and the chain rule in words.

Takes: a ``GradientProgram``. Returns: ``formulas`` (one SymPy expression per parameter, built by
substituting statements back in, bounded in size: past ``MAX_FORMULA_SIZE`` nodes a formula keeps
the named intermediates instead of growing) and ``explanation`` (text: each statement's local
derivatives, then the adjoints accumulated from the output back to the inputs).
"""

import sympy

MAX_FORMULA_SIZE = 400  # expression-tree nodes; beyond this, intermediates stay named


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


def _expand_all(pairs, limit):
    """``{symbol: closed form}`` for ``(symbol, expr)`` pairs in definition order, each bounded."""
    expanded = {}
    for symbol, expr in pairs:
        closed = expr.xreplace(expanded)
        if tree_size(closed, limit) <= limit:
            expanded[symbol] = closed
    return expanded


def formulas(gradient_program, limit=MAX_FORMULA_SIZE):
    """``{parameter name: closed-form derivative}``; large ones keep named intermediates."""
    program = gradient_program.program
    forward = _expand_all(((s.target, s.expr) for s in program.statements), limit)
    adjoints = _expand_all(((a.target, a.expr) for a in gradient_program.adjoints), 10 * limit)
    result = {}
    for param, gradient in zip(gradient_program.wrt, gradient_program.gradients):
        in_forward_terms = gradient.xreplace(adjoints)
        closed = in_forward_terms.xreplace(forward)
        if tree_size(closed, limit) > limit:
            closed = in_forward_terms if tree_size(in_forward_terms, limit) <= limit else gradient
        result[param.name] = closed
    return result


def intermediates(gradient_program, formula):
    """The statements a bounded formula still names, as ``{symbol: expression}``."""
    program = gradient_program.program
    defined = {s.target: s.expr for s in program.statements}
    defined.update({a.target: a.expr for a in gradient_program.adjoints})
    wanted, found = set(formula.free_symbols), {}
    for symbol in list(defined)[::-1]:
        if symbol in wanted:
            found[symbol] = defined[symbol]
            wanted |= defined[symbol].free_symbols
    return dict(reversed(list(found.items())))


def _d(num, den):
    return f"d{num}/d{den}"


def explanation(gradient_program, limit=MAX_FORMULA_SIZE):
    """The chain rule for this program, statement by statement, as text."""
    program = gradient_program.program
    out = program.output
    out_name = str(out)
    params = ", ".join(p.name for p in program.params)
    lines = [f"Chain rule for {program.name}({params}), from {program.filename}", ""]

    if not gradient_program.partials:
        lines.append(f"{out_name} does not depend on {', '.join(p.name for p in gradient_program.wrt)}: "
                     "every derivative is 0.")
        return "\n".join(lines)

    lines.append("1. Each statement and its local derivatives (source order):")
    rows = []
    for stmt in program.statements:
        partials = gradient_program.partials.get(stmt.target)
        if partials is None:
            continue
        derivs = ", ".join(f"{_d(stmt.target, s)} = {sympy.sstr(d)}" for s, d in partials)
        rows.append((f"line {stmt.lineno}:", f"{stmt.target} = {sympy.sstr(stmt.expr)}", derivs))
    lines += _columns(rows)
    lines.append("")

    lines.append(f"2. Accumulate {_d(out_name, '·')} from the output back to the inputs:")
    shown = {out: sympy.Integer(1)}  # symbol -> d out / d symbol, in terms of forward names
    uses = {}
    for stmt in program.statements:
        for s, _ in gradient_program.partials.get(stmt.target, []):
            uses.setdefault(s, []).append(stmt)
    rows = [(f"{_d(out_name, out_name)}", "", "1")]
    order = [s.target for s in reversed(program.statements) if s.target in gradient_program.partials]
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
    lines += [f"   {a} = {b} = {c}" if b else f"   {a} = {c}" for a, b, c in rows]
    lines.append("")

    lines.append("3. Result:")
    closed = formulas(gradient_program, limit)
    for param in gradient_program.wrt:
        chained = shown.get(param.symbol, sympy.Integer(0))
        final = closed[param.name]
        if sympy.sstr(chained) == sympy.sstr(final):
            lines.append(f"   {_d(out_name, param.name)} = {sympy.sstr(final)}")
        else:
            lines.append(f"   {_d(out_name, param.name)} = {sympy.sstr(chained)} = {sympy.sstr(final)}")
    return "\n".join(lines)


def _columns(rows):
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    return [f"   {a:<{widths[0]}}  {b:<{widths[1]}}   {c}" for a, b, c in rows]
