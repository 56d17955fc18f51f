"""Reliability: hostile inputs, deep nesting, numbers, threads, hygiene — nothing wrong, nothing crashes."""

import functools
import gc
import linecache
import math
import sys
import threading

import numpy as np
import pytest

import symdiff
from symdiff import SymdiffError, WrtError, grad, value_and_grad

from . import hostile
from .reference import close, mp_grad

# ---- hostile functions and arguments: a located SymdiffError, or TypeError/ValueError -----------


@pytest.mark.parametrize("case", hostile.CASES, ids=[c.name for c in hostile.CASES])
def test_hostile_input_gives_a_clean_error(case):
    with pytest.raises(case.error) as info:
        case.run()
    err = info.value
    if isinstance(err, SymdiffError) and case.located:
        assert err.filename and err.lineno, f"{case.name}: not located: {err}"
        assert err.hint, f"{case.name}: no hint"
    assert case.words in str(err), f"{case.name}: {err}"


def test_hostile_table_is_large_enough():
    assert len(hostile.CASES) >= 25


# ---- deep nesting and long programs ----


def test_thousand_level_nesting_through_a_helper(tmp_path):
    g = grad(hostile.deep_nest)
    with mpmath_dps(30):
        import mpmath

        def ref(x):
            for _ in range(1000):
                x = mpmath.sin(x)
            return x

        want = mpmath.diff(ref, mpmath.mpf(0.5))
    assert close(g(0.5), want, rtol=1e-12)
    assert _max_nesting(g.source) <= 4  # flat code: no deep parentheses, whatever the input nesting


def _max_nesting(source):
    deepest = 0
    for line in source.splitlines():
        code = line.split("#")[0]
        depth = 0
        for char in code:
            depth += {"(": 1, ")": -1}.get(char, 0)
            deepest = max(deepest, depth)
    return deepest


def test_thousand_term_operator_chain(tmp_path):
    terms = " + ".join(f"x * {i}.5" if i % 2 else f"math.cos(x * {i % 7}.0)" for i in range(1000))
    f = hostile.load(tmp_path, "chain_expr", f"import math\n\ndef f(x):\n    return {terms}\n")
    expected = sum(i + 0.5 if i % 2 else -(i % 7) * math.sin(0.3 * (i % 7)) for i in range(1000))
    assert math.isclose(grad(f)(0.3), expected, rel_tol=1e-12)


def test_five_thousand_statements(tmp_path):
    lines = [f"    x = math.sin(x) * 0.5 + x * {1 + i % 3}e-3 + 0.1" for i in range(5000)]
    source = "import math\n\ndef f(x):\n" + "\n".join(lines) + "\n    return x\n"
    f = hostile.load(tmp_path, "long_program", source)
    g = grad(f)
    x, d = 0.3, 1.0
    for i in range(5000):  # the chain rule by hand, in floats
        d *= 0.5 * math.cos(x) + (1 + i % 3) * 1e-3
        x = math.sin(x) * 0.5 + x * (1 + i % 3) * 1e-3 + 0.1
    assert math.isclose(g(0.3), d, rel_tol=1e-9)
    assert "RecursionError" not in g.source


class mpmath_dps:
    def __init__(self, dps):
        self.dps = dps

    def __enter__(self):
        import mpmath

        self.saved = mpmath.mp.dps
        mpmath.mp.dps = self.dps

    def __exit__(self, *exc):
        import mpmath

        mpmath.mp.dps = self.saved


# ---- numbers ----


def test_int_and_bool_arguments_give_float_gradients():
    g = grad(lambda x, y: x * x * y)
    gx, gy = g(3, True)
    assert (type(gx), type(gy)) == (float, float) and (gx, gy) == (6.0, 9.0)
    out = grad(lambda x: np.sum(x * x))(np.arange(3))
    assert out.dtype == np.float64 and list(out) == [0.0, 2.0, 4.0]


def test_float32_arrays_stay_float32_where_numpy_would():
    def f(x):
        return np.sum(np.sin(x) * 2.0)

    x = np.linspace(0, 1, 5, dtype=np.float32)
    out = grad(f)(x)
    assert out.dtype == np.float32
    assert np.allclose(out, 2 * np.cos(x), rtol=1e-6)


def test_nan_and_inf_inputs_propagate_without_exceptions():
    assert math.isnan(grad(lambda x: math.sin(x) * x)(math.nan))
    assert math.isnan(grad(lambda x: x * x)(math.inf) - math.inf)
    out = grad(lambda x: np.sum(np.exp(x)))(np.array([0.0, np.nan, np.inf]))
    assert out[0] == 1.0 and math.isnan(out[1]) and out[2] == math.inf


def test_no_nan_from_an_untaken_branch():
    g = grad(hostile.sqrt_if_positive)
    assert g(0.0) == 0.0 and g(-1.0) == 0.0 and g(4.0) == 0.25

    def elementwise(x):
        return np.sum(np.where(x > 0, np.sqrt(x), 0.0))

    with np.errstate(all="ignore"):  # np.sqrt(-1.0) is evaluated by the function itself, too
        out = grad(elementwise)(np.array([0.0, 4.0, -1.0]))
    assert list(out) == [0.0, 0.25, 0.0]


# ---- the garbage collector during a build ----


def test_a_build_pauses_the_collector_and_restores_it(monkeypatch):
    import symdiff.pipeline as api

    seen = []
    real = api.derive

    def spying(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "derive", spying)

    def f(x):
        return math.sin(x) * x

    assert gc.isenabled()
    g = grad(f)
    assert seen == [False]  # off during the build
    assert gc.isenabled()  # on again after it
    assert math.isclose(g(3.0), math.cos(3.0) * 3.0 + math.sin(3.0))
    gc.disable()
    try:
        grad(f)
        assert not gc.isenabled()  # a collector the user turned off stays off
    finally:
        gc.enable()
    with api._collector_paused():
        with api._collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # nested pauses: on again only when the outer one ends
    assert gc.isenabled()


# ---- concurrency ----


def test_eight_threads_first_call_compile_once(monkeypatch):
    import symdiff.pipeline as api

    compiled = []
    real = api.compile_functions

    def counting(*args, **kwargs):
        compiled.append(args[0].grad_name)
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "compile_functions", counting)

    def f(x, w):
        return np.sum(np.tanh(x * w) ** 2)

    g = grad(f, wrt="x")
    before = len(compiled)
    x, w = np.linspace(-1, 1, 7), 0.7
    barrier = threading.Barrier(8)
    results = [None] * 8

    def work(i):
        barrier.wait()
        results[i] = g(x, w)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(compiled) - before == 1  # one compilation for the (7,)-array signature
    expected = 2 * np.tanh(x * w) * (1 - np.tanh(x * w) ** 2) * w
    for r in results:
        assert np.array_equal(r, results[0]) and np.allclose(r, expected, rtol=1e-13)


# ---- hygiene ----


def test_the_users_function_ast_and_globals_are_not_touched():
    f = hostile.uses_globals
    code, defaults = f.__code__, f.__defaults__
    keys = dict(hostile.__dict__)
    g = grad(f)
    g(0.3)
    assert f.__code__ is code and f.__defaults__ == defaults
    assert set(hostile.__dict__) == set(keys)
    assert all(hostile.__dict__[k] is v for k, v in keys.items())
    assert f(0.3) == pytest.approx(hostile.SCALE * math.sin(0.3))


def test_names_that_collide_with_generated_ones():
    f = hostile.colliding_names
    point = (0.4, 1.3)
    got = grad(f)(*point)
    want = mp_grad(f, point)
    assert all(close(a, b) for a, b in zip(got, want))


def test_generated_source_is_released_when_collected():
    def f(x):
        return x ** 3

    g = value_and_grad(f)
    filename = g._shown.grad_fn.__code__.co_filename
    assert filename in linecache.cache
    del g
    gc.collect()
    assert filename not in linecache.cache


def test_recursion_limit_restored():
    limit = sys.getrecursionlimit()
    grad(hostile.deep_nest)(0.1)
    assert sys.getrecursionlimit() == limit


def test_wrt_errors_are_value_or_type_errors():
    with pytest.raises(ValueError):
        grad(hostile.two_params, wrt="nope")
    with pytest.raises(WrtError):
        grad(hostile.two_params, wrt=7)
    with pytest.raises(TypeError):
        grad(hostile.two_params, wrt=None.__class__)
    with pytest.raises(TypeError):
        grad(functools.partial(hostile.two_params, 1.0))
    assert symdiff.SymdiffError


def test_formulas_of_a_long_chain_stay_bounded(tmp_path):
    from symdiff.explain.chain_rule import MAX_FORMULA_SIZE, tree_size

    source = "import math\n\ndef f(x):\n" + "    x = math.sin(x) * x + x ** 2\n" * 1000 + "    return x\n"
    g = grad(hostile.load(tmp_path, "chain1000", source))
    formula = g.formulas["x"]
    assert tree_size(formula, MAX_FORMULA_SIZE) <= MAX_FORMULA_SIZE
    assert any(s.name.endswith("_bar") for s in formula.free_symbols)  # named intermediates kept
    text = g.explain()
    assert text.count("\n") > 2000 and max(len(line) for line in text.splitlines()) < 2000
