#!/usr/bin/env python3
"""Where symdiff's time goes: the build path (section D) and the call path (section A).

    python benchmarks/profile_symdiff.py build [N]     # stage times (cold cache) + a what-if for derive
    python benchmarks/profile_symdiff.py cprofile [N]  # cProfile of grad(chain_N), cold cache
    python benchmarks/profile_symdiff.py call          # per-call cost of each layer + cProfile

A diagnosis tool, not a benchmark: it reaches into symdiff's stages (``symdiff.frontend.parse``,
``frontend.interpreter``, ``ad.reverse``, ``lower.schedule``, ``backends.python_code``), so it follows their interfaces. Run the
build profile in a fresh process: SymPy's cache makes a second build in the same process much
cheaper than the first, which is not what a user sees.
"""

import cProfile
import importlib.util
import io
import os
import pstats
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)
if os.path.isdir(os.path.join(ROOT, "symdiff")) and ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # measure the checkout this script lives in

import bench_functions as bf  # noqa: E402


def _chain_module(n):
    path = os.path.join(tempfile.mkdtemp(prefix="symdiff_profile_"), f"chain_{n}.py")
    with open(path, "w") as fh:
        fh.write(bf.chain_source(n))
    spec = importlib.util.spec_from_file_location(f"chain_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _top(profile, sort, limit):
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return buf.getvalue()


def profile_build(n, cold_stages):
    from sympy.core.parameters import distribute

    import symdiff
    from symdiff.pipeline import _collector_paused

    module = _chain_module(n)
    symdiff.grad(module.warm)(0.5)
    if not cold_stages:
        _profile_build(n, module)
        return
    from symdiff.runtime.stack import deep

    def stages():  # as symdiff's own build runs its stages: on a build thread, undistributed
        with distribute(False), _collector_paused():
            _stage_times(n, module)

    deep(stages)


def _stage_times(n, module):
    import sympy

    from symdiff.ad.reverse import derive
    from symdiff.frontend.parse import parse_function
    from symdiff.backends.python_code import generate
    from symdiff.runtime.compiled import compile_functions
    from symdiff.lower.schedule import schedule
    from symdiff.frontend.interpreter import trace

    times = {}
    t = time.perf_counter()
    parsed = parse_function(module.chain)
    times["parse"] = time.perf_counter() - t
    t = time.perf_counter()
    program = trace(parsed)
    program.firstlineno = parsed.node.lineno
    times["trace (frontend.interpreter)"] = time.perf_counter() - t
    t = time.perf_counter()
    gp = derive(program, list(program.params))
    times["derive"] = time.perf_counter() - t
    t = time.perf_counter()
    lowered = schedule(gp)
    times["schedule"] = time.perf_counter() - t
    t = time.perf_counter()
    aliases = program.namer.generated_aliases(program.local_names)
    code = generate(lowered, gp, "math", aliases)
    times["generate (print)"] = time.perf_counter() - t
    t = time.perf_counter()
    compile_functions(code).grad  # compiled on first use
    times["compile (one function)"] = time.perf_counter() - t
    total = sum(times.values())
    print(f"## build stages, N = {n}, cold SymPy cache: {total:.2f} s = {total / n * 1e3:.2f} ms/statement\n")
    print("| stage | s | ms/statement | share |\n|---|---|---|---|")
    for name, s in times.items():
        print(f"| {name} | {s:.3f} | {s / n * 1e3:.2f} | {100 * s / total:.0f}% |")
    print()
    # what-if: the same local partials by direct rule application instead of sympy.diff
    stmts = program.statements
    sympy.core.cache.clear_cache()
    t = time.perf_counter()
    for st in stmts:
        for s in st.expr.free_symbols:
            sympy.diff(st.expr, s)
    t_diff = time.perf_counter() - t
    sympy.core.cache.clear_cache()
    t = time.perf_counter()
    for st in stmts:
        for s in st.expr.free_symbols:
            _direct_partial(st.expr, s)
    t_direct = time.perf_counter() - t
    print("what-if, the local partials of every statement (SymPy cache cleared before each):")
    print(f"  sympy.diff:                   {t_diff / n * 1e3:.3f} ms/statement")
    print(f"  direct rules (fdiff, no Derivative objects): {t_direct / n * 1e3:.3f} ms/statement\n")




def _profile_build(n, module):
    import symdiff
    from symdiff.runtime.stack import deep

    def profiled():  # on the build thread itself (cProfile sees only the thread it runs in)
        profile = cProfile.Profile()
        profile.enable()
        symdiff.grad(module.chain)
        profile.disable()
        return profile

    profile = deep(profiled)
    print(f"## cProfile of grad(chain_{n}), cold SymPy cache\n")
    print(_top(profile, "cumulative", 35))
    print(_top(profile, "tottime", 20))


def _direct_partial(e, s):
    """d e / d s by the chain rule over SymPy's own local rules (``fdiff``), without ``Derivative``."""
    import sympy

    if e == s:
        return sympy.S.One
    if s not in e.free_symbols:
        return sympy.S.Zero
    if e.is_Add:
        return sympy.Add(*[_direct_partial(a, s) for a in e.args])
    if e.is_Mul:
        a = e.args
        return sympy.Add(*[sympy.Mul(*a[:i], _direct_partial(a[i], s), *a[i + 1:])
                           for i in range(len(a)) if s in a[i].free_symbols])
    if e.is_Pow and s not in e.exp.free_symbols:
        b, p = e.args
        return p * b ** (p - 1) * _direct_partial(b, s)
    if isinstance(e, sympy.Function) and not isinstance(e, sympy.Piecewise):
        return sympy.Add(*[e.fdiff(i + 1) * _direct_partial(a, s) for i, a in enumerate(e.args)
                           if s in a.free_symbols])
    return sympy.diff(e, s)


def profile_call():
    import symdiff

    g = symdiff.grad(bf.u)
    generated = g._default.grad_fn
    x = 2.0

    def empty(v):
        return v

    print("## call path, A (best of 7 x 200k calls)\n")
    print("| layer | ns/call |\n|---|---|")
    for name, fn in [("empty Python function", empty), ("hand-written floor", bf.du_hand),
                     ("generated function", generated), ("end-to-end g(2.0)", g)]:
        best = min(timeit.repeat(lambda: fn(x), number=200_000, repeat=7)) / 200_000 * 1e9
        print(f"| {name} | {best:.0f} |")
    print()
    _call_path_whatif(g, generated, x)
    print("generated source:\n")
    print(g.source)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(200_000):
        g(x)
    profile.disable()
    print("## cProfile of 200k calls of g(2.0)\n")
    print(_top(profile, "tottime", 12))


def _call_path_whatif(g, generated, x):
    """What the call path could cost: three thinner dispatchers around the same generated code."""
    import math

    class MinimalCall:
        def __init__(self, fn):
            self._fn = fn

        def __call__(self, v):
            return self._fn(v)

    def closure_dispatch(fast, slow):
        def dispatch(v):
            if v.__class__ is float:
                return fast(v)
            return slow(v)

        return dispatch

    namespace = {"math": math, "_slow": g}
    # the generated body with a type guard in front (what symdiff could emit per specialisation)
    exec(
        "def guarded(x):\n"
        "    if x.__class__ is not float:\n"
        "        return _slow(x)\n"
        "    _t0 = x*x\n    _t1 = math.sin(_t0)\n    u = math.exp(_t1)\n"
        "    _t2 = math.cos(_t0)\n    x_bar = 2*_t2*u*x\n    return x_bar\n"
        "def float_literal(x):\n"
        "    _t0 = x*x\n    _t1 = math.sin(_t0)\n    u = math.exp(_t1)\n"
        "    _t2 = math.cos(_t0)\n    x_bar = 2.0*_t2*u*x\n    return x_bar\n",
        namespace,
    )
    print("what-if, the same gradient behind thinner call paths:\n")
    print("| call path | ns/call |\n|---|---|")
    for name, fn in [("generated function as emitted (`2*_t2*u*x`)", generated),
                     ("generated with a float literal (`2.0*_t2*u*x`)", namespace["float_literal"]),
                     ("type guard inside the generated function", namespace["guarded"]),
                     ("closure: `if x.__class__ is float: return fast(x)`", closure_dispatch(generated, g)),
                     ("class with a one-line `__call__`", MinimalCall(generated)),
                     ("current `Gradient.__call__`", g)]:
        best = min(timeit.repeat(lambda: fn(x), number=200_000, repeat=7)) / 200_000 * 1e9
        print(f"| {name} | {best:.0f} |")
    print()


def main(argv):
    if not argv or argv[0] not in ("build", "cprofile", "call"):
        print(__doc__)
        return 2
    if argv[0] in ("build", "cprofile"):
        profile_build(int(argv[1]) if len(argv) > 1 else 400, cold_stages=argv[0] == "build")
    else:
        profile_call()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
