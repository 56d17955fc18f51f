#!/usr/bin/env python3
"""What-if for the build path: how fast would section D be with the fixes proposed in RESULTS.md?

    python benchmarks/whatif.py N [derive,schedule,print,order] [--show]

Each named fix is applied as a monkeypatch inside this process only (nothing under ``symdiff/``
changes), then ``grad(chain_N)`` is built once with a cold SymPy cache and its decorate + first
call is timed. ``--show`` prints the generated source, so a fix can be checked to emit the same
code. The patches follow the internals of symdiff at the commit the diagnosis was made on; they
are an experiment to size the fixes, not the fixes.

- derive:   local partials by the chain rule over SymPy's own ``fdiff`` rules, instead of
            ``sympy.diff`` (whose ``Derivative`` objects ask the assumption system ``is_zero``).
- schedule: ``_Lowerer.rebuild`` constructs with ``evaluate=False`` (its operands are already
            names), and returns the expression itself when nothing was renamed.
- print:    each line printed once (both generated functions share it) through ``_print``,
            skipping ``doprint``'s per-line ``replace`` walk.
- order:    printer setting ``order="none"``: no term sorting per ``Add`` (changes term order).
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
if os.path.isdir(os.path.join(ROOT, "symdiff")) and ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # measure the checkout this script lives in

import profile_symdiff as ps  # noqa: E402


def apply(fixes):
    import sympy

    import symdiff.derive as derive_stage
    import symdiff.python_code as python_code
    import symdiff.schedule as schedule_stage

    if "derive" in fixes:
        derive_stage.local_partial = lambda stmt, symbol: ps._direct_partial(stmt.expr, symbol)
    if "schedule" in fixes:
        def rebuild(self, expr):
            if isinstance(expr, sympy.Piecewise):
                return sympy.Piecewise(*[(self._substitute(e), self._substitute(c)) for e, c in expr.args])
            args = [self.operand(arg, expr) for arg in expr.args]
            if args == list(expr.args):
                return expr
            return expr.func(*args, evaluate=False)

        schedule_stage._Lowerer.rebuild = rebuild
    if "order" in fixes:
        original_init = python_code._Printing.__init__

        def __init__(self, aliases):
            original_init(self, aliases)
            self._settings["order"] = "none"

        python_code._Printing.__init__ = __init__
    if "print" in fixes:
        memo = {}

        def _print_line(expr, printer):
            key = (id(printer), expr)
            text = memo.get(key)
            if text is None:
                if expr.is_Pow and expr.exp == 2 and expr.base.is_Symbol:
                    name = printer._print(expr.base)
                    text = f"{name}*{name}"
                else:
                    text = printer._print(expr)
                memo[key] = text
            return text

        python_code._print_line = _print_line


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    n = int(argv[0])
    fixes = set(argv[1].split(",")) if len(argv) > 1 and not argv[1].startswith("-") else set()
    import symdiff

    module = ps._chain_module(n)
    symdiff.grad(module.warm)(0.5)
    apply(fixes)
    start = time.perf_counter()
    g = symdiff.grad(module.chain)
    value = g(0.5)
    seconds = time.perf_counter() - start
    label = ",".join(sorted(fixes)) or "none"
    print(f"N = {n}, fixes: {label}: {seconds:.2f} s = {seconds / n * 1e3:.2f} ms/statement (gradient {value!r})")
    if "--show" in argv:
        print(g.source)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
