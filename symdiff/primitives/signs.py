"""signs: SymPy function applications that terminate when numbers do not distribute over sums.

Takes: a builder (a SymPy function class, or a function that builds one) and its SymPy
arguments; or an expression and a substitution. Returns: what SymPy builds, equal to it.

Why: a build runs with SymPy's ``distribute(False)`` (``pipeline.undistributed``: ``2*(a + b)`` stays
one product, so the generated code computes the sum once). There, a sum with more negative terms
than positive ones, such as ``-x - 0.5``, and its negation ``-(-x - 0.5)`` (a product by -1 that
is no longer distributed) *both* answer ``could_extract_minus_sign()``. The odd and even
functions that rewrite ``f(-a)`` as ``-f(a)`` or ``f(a)`` (sin, tan, asin, atan, sinh, tanh,
asinh, atanh, erf, cos, cosh, Abs, ...) then flip between the two forms forever: a
``RecursionError`` at best, a dead process when the recursion limit is raised. With distribution
on (SymPy's standard context) exactly one of ``a``, ``-a`` extracts the sign, so such an
application is built that way: ``sin(-x - 0.5)`` becomes ``-sin(x + 0.5)``. Every application
without such a sum (nearly all) is built as before, in the caller's context.
"""

import sympy
from sympy.core.parameters import distribute


def flips(expr):
    """Whether ``expr`` holds a sum that both it and its negation would extract a sign from."""
    if not isinstance(expr, sympy.Basic) or expr.is_Atom:
        return False
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.is_Add and node.could_extract_minus_sign() and (-node).could_extract_minus_sign():
            return True
        stack.extend(a for a in node.args if not a.is_Atom)
    return False


def call(build, *args):
    """``build(*args)``, with distribution on when an argument holds a sum that ``flips``."""
    if any(flips(a) for a in args):
        with distribute(True):
            return build(*args)
    return build(*args)


def xreplace(expr, mapping):
    """``expr.xreplace(mapping)``, each rebuilt function application built by ``call``."""
    if not mapping or not expr.has(sympy.Function):
        return expr.xreplace(mapping)
    return _replaced(expr, mapping, {})


def _replaced(expr, mapping, memo):
    found = mapping.get(expr)
    if found is not None:
        return found
    if expr.is_Atom or not expr.args:
        return expr
    done = memo.get(expr)
    if done is not None:
        return done
    args = [_replaced(a, mapping, memo) for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args)):
        result = expr
    elif isinstance(expr, sympy.Function):
        result = call(expr.func, *args)
    else:
        result = expr.func(*args)
    memo[expr] = result
    return result


__all__ = ["call", "flips", "xreplace"]
