"""Robustness (issue 11, items 1, 2, 18, 23, 24): never a dead process, never a printer traceback,
never inf where Python raises, and refusals that tell the truth.

Anything that once killed the interpreter runs in a forked child (``isolated.in_child``), so a
segmentation fault is a counted failure. References: mpmath at 50 digits on the user's own
source (``reference.mp_grad``/``mp_hessian``), or the user's function run by Python.

    SYMDIFF_SWEEP=thorough python -m pytest tests/test_robustness.py   # every API for every function
"""

import ast
import inspect
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import (
    SymdiffError,
    emit,
    grad,
    hessian,
    jacobian,
    value_and_grad,
)
from symdiff.primitives import scalar as functions
from symdiff.runtime import stack
from symdiff.errors import NestingError

from . import hostile
from .isolated import in_child
from .reference import close, close_array, mp_grad, mp_hessian, mp_value

THOROUGH = os.environ.get("SYMDIFF_SWEEP") == "thorough"

# ---- item 1: odd functions of sums led by a negative term --------------------------------------


def test_sin_of_minus_half_minus_x_in_a_fresh_process(tmp_path):
    """The issue's reproduction, exactly, in a process of its own."""
    code = textwrap.dedent("""
        import math, mpmath, symdiff
        def f(x):
            return math.sin(-0.5 - x)
        got = symdiff.grad(f)(0.3)
        want = mpmath.diff(lambda t: mpmath.sin(-mpmath.mpf(0.5) - t), mpmath.mpf(0.3))
        assert abs(got - float(want)) <= 1e-15, (got, want)
        print("ok")
    """)
    script = tmp_path / "repro.py"
    script.write_text(code)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         check=False)
    assert run.returncode == 0, f"exit status {run.returncode}: {run.stderr[-2000:]}"
    assert run.stdout.strip() == "ok"


# Sums whose leading term is negative: the forms the issue names. Points put each sum on both
# sides of zero (and every rounding function away from its jumps).
FORMS = {"lead": "-0.5 - x", "both": "-x - y", "paren": "-(x + 1)", "scaled": "-2*x - 3"}
POINTS = [(0.3, 0.15), (-0.7, 0.45), (-1.9, 0.35)]
# arguments moved into each function's domain, the negative-led sum still inside the call
DOMAIN = {
    "asin": "0.3 * math.tanh({a})", "acos": "0.3 * math.tanh({a})",
    "atanh": "0.3 * math.tanh({a})", "acosh": "2.0 + ({a}) ** 2", "log": "5.0 + ({a})",
    "log1p": "5.0 + ({a})", "log2": "5.0 + ({a})", "log10": "5.0 + ({a})", "sqrt": "5.0 + ({a})",
    "gamma": "6.0 + ({a})", "lgamma": "6.0 + ({a})", "reciprocal": "5.0 + ({a})",
}
DOMAIN.update({f"arc{k[1:]}": v.replace("math.", "np.") for k, v in DOMAIN.items() if k[0] == "a"
               and k[1:] in ("sin", "cos", "tanh", "cosh")})


def _one_argument(entries):
    return [name for name, build, *rest in entries
            if build is not None and (not rest or 1 in rest[0])]


TABLE = ([("math", n) for n in _one_argument(functions._MATH)]
         + [("np", n) for n in _one_argument(functions._NUMPY)]
         + [("builtins", n) for n in _one_argument(functions._BUILTINS)])


def _sweep_source():
    """One module: for each table entry and form, the function of the sum, directly and through
    a statement of its own (so that later stages substitute it back)."""
    lines = ["import math", "import numpy as np", ""]
    names = {}
    for lib, name in TABLE:
        call = name if lib == "builtins" else f"{lib}.{name}"
        wrap = DOMAIN.get(name, "{a}")
        for form, expr in FORMS.items():
            direct = f"{lib}_{name}_{form}"
            lines += [f"def {direct}(x, y):",
                      f"    return {call}({wrap.format(a=expr)}) * (1.0 + 0.1 * y)", ""]
            through = direct + "_stmt"
            lines += [f"def {through}(x, y):", f"    s = {expr}",
                      f"    return {call}({wrap.format(a='s')}) * (1.0 + 0.1 * y)", ""]
            names.setdefault((lib, name), []).extend([direct, through])
    # odd inverse functions of the raw negative-led sum, inside their domain
    for lib, name in (("math", "asin"), ("math", "atanh"), ("np", "arcsin"), ("np", "arctanh")):
        for form, expr in (("raw_lead", "-0.25 - 0.5 * x"), ("raw_both", "-0.5 * x - y")):
            fname = f"{lib}_{name}_{form}"
            lines += [f"def {fname}(x, y):", f"    return {lib}.{name}({expr})", ""]
            names[(lib, name)].append(fname)
    return "\n".join(lines) + "\n", names


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    source, names = _sweep_source()
    path = tmp_path_factory.mktemp("sweep") / "sign_led_sums.py"
    path.write_text(source)
    import importlib.util

    spec = importlib.util.spec_from_file_location("sign_led_sums", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, names


def _grad_and_value_and_grad(module, names):
    failures = []
    for name in names:
        f = getattr(module, name)
        g, vg = grad(f), value_and_grad(f)
        for point in POINTS:
            want = mp_grad(f, point)
            got = g(*point)
            value, again = vg(*point)
            if not all(close(a, b, rtol=1e-10) for a, b in zip(got, want)):
                failures.append(f"{name} grad at {point}: {got} vs {[float(w) for w in want]}")
            if not close(value, mp_value(f, point), rtol=1e-12) or again != got:
                failures.append(f"{name} value_and_grad at {point}: {value}, {again}")
    return failures


def _builder(entry):
    lib, name = entry
    table = {"math": functions._MATH, "np": functions._NUMPY, "builtins": functions._BUILTINS}[lib]
    build = next(b for n, b, *_ in table if n == name)
    return build if isinstance(build, type) else entry


# the first entry of each SymPy builder: every form; the others (np.sin after math.sin): the
# leading-constant form, directly and through a statement (SYMDIFF_SWEEP=thorough: every form)
FIRST_OF_BUILDER = {}
for _entry in TABLE:
    FIRST_OF_BUILDER.setdefault(_builder(_entry), _entry)


@pytest.mark.parametrize("entry", TABLE, ids=[f"{lib}.{name}" for lib, name in TABLE])
def test_every_table_function_of_a_sign_led_sum(sweep, entry):
    module, names = sweep
    chosen = names[entry]
    if not THOROUGH and FIRST_OF_BUILDER[_builder(entry)] != entry:
        chosen = chosen[:2] + [n for n in chosen if "_raw_" in n]
    failures = in_child(_grad_and_value_and_grad, module, chosen)
    assert not failures, "\n".join(failures)


# one entry per distinct SymPy builder gets every API (SYMDIFF_SWEEP=thorough: every entry)
REPRESENTATIVES = [e for e in TABLE if THOROUGH or FIRST_OF_BUILDER[_builder(e)] == e]


def _every_api(module, names):
    failures = []
    for name in names:
        f = getattr(module, name)
        g, h = grad(f), hessian(f)
        namespace = {}
        exec(emit(f), namespace)  # noqa: S102 - the emitted module, run as a user would
        formulas = g.formulas
        symbols = {s.name: s for e in formulas.values() for s in e.free_symbols}
        if f"d{name}/dx" not in g.explain():
            failures.append(f"{name}: explain() does not state d{name}/dx")
        for point in POINTS:
            want = mp_grad(f, point)
            if not all(close(a, b, rtol=1e-10) for a, b in zip(namespace[f"{name}_grad"](*point), want)):
                failures.append(f"{name} emitted module at {point}")
            got_h, want_h = h(*point), mp_hessian(f, point)
            if not all(close(got_h[r][c], want_h[r][c], rtol=1e-7, atol=1e-9)
                       for r in range(2) for c in range(2)):
                failures.append(f"{name} hessian at {point}: {got_h.tolist()}")
            at = {symbols[n]: sympy.Float(v, 30) for n, v in zip(("x", "y"), point) if n in symbols}
            for (param, formula), w in zip(formulas.items(), want):
                value = formula.xreplace(at).evalf(30)
                if not (value.is_real and close(float(value), w, rtol=1e-10)):
                    failures.append(f"{name} formula d/d{param} at {point}: {value}")
    return failures


@pytest.mark.parametrize("entry", REPRESENTATIVES, ids=[f"{lib}.{n}" for lib, n in REPRESENTATIVES])
def test_every_api_of_a_sign_led_sum(sweep, entry):
    module, names = sweep
    chosen = names[entry] if THOROUGH else names[entry][:2] + [n for n in names[entry] if "_raw_" in n]
    failures = in_child(_every_api, module, chosen)
    assert not failures, "\n".join(failures)


def _c_sources(module, names):
    out = {}
    for name in names:
        try:
            out[name] = emit(getattr(module, name), language="c")
        except symdiff.ExportError as exc:
            assert "cannot write" in exc.message and exc.lineno, exc  # round() has no C form
    return out


def test_c_export_of_sign_led_sums(sweep, tmp_path):
    from .test_c_code import call, compile_library

    module, names = sweep
    chosen = [n for entry in REPRESENTATIVES for n in names[entry][:2]]
    sources = in_child(_c_sources, module, chosen)
    assert len(sources) > len(chosen) // 2
    library = compile_library(tmp_path, sources)
    for name in sources:
        f = getattr(module, name)
        for point in POINTS:
            got, _ = call(library, name, 2, 2, point)
            want = mp_grad(f, point)
            assert all(close(a, b, rtol=1e-10) for a, b in zip(got, want)), (name, point, got)


ARRAY_FUNCTIONS = [n for lib, n in TABLE if lib == "np" and n not in
                   ("floor", "ceil", "trunc", "round", "around", "rint", "sign")]


def _arrays(names, folder):
    failures = []
    x = np.array([0.3, -0.7, -1.9])
    for name in names:
        wrap = DOMAIN.get(name, "{a}").replace("math.", "np.")
        for k, form in enumerate(("-0.5 - x", "-(x + 1)", "-2*x - 3")):
            source = f"import numpy as np\n\ndef f(x):\n    return np.sum(np.{name}({wrap.format(a=form)}) * x)\n"
            f = hostile.load(folder, f"array_{name}_{k}", source)
            problem = close_array(grad(f)(x), mp_grad(f, (x,))[0], rtol=1e-10)
            if problem:
                failures.append(f"np.{name}({form}): {problem}")
    return failures


def test_numpy_ufuncs_of_sign_led_array_sums(tmp_path):
    failures = in_child(_arrays, ARRAY_FUNCTIONS, tmp_path)
    assert not failures, "\n".join(failures)


TWO_ARGUMENT_SOURCE = """\
import math
import numpy as np


def atan2_both(x, y):
    return math.atan2(-0.5 - x, -y - 1.5)


def hypot_both(x, y):
    return math.hypot(-(x + 1), -2 * y - 3)


def copysign_lead(x, y):
    return math.copysign(-0.5 - x, -y - 1.5) * x


def logaddexp_both(x, y):
    return np.logaddexp(-0.5 - x, -y - 1.5)


def power_lead(x, y):
    return np.power(4.0 + (-0.5 - x), 3.0 + (-y - 1.5))


def maximum_both(x, y):
    return np.maximum(-0.5 - x, -y - 0.25) + max(-x - y, -0.3)


def abs_of_sums(x, y):
    return abs(-0.5 - x) + abs(-x - y) ** 1.5 + math.fabs(-(x + 1))


def nested_odd(x, y):
    return math.tan(math.sinh(-0.5 - x) - math.atan(-x - y)) + math.erf(-2 * x - 3)
"""


def _two_argument(module):
    failures = []
    for name in [n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n))
                 and getattr(module, n).__module__ == module.__name__]:
        f = getattr(module, name)
        for point in POINTS:
            got, want = grad(f)(*point), mp_grad(f, point)
            if not all(close(a, b, rtol=1e-10) for a, b in zip(got, want)):
                failures.append(f"{name} at {point}: {got} vs {[float(w) for w in want]}")
            h, wh = hessian(f)(*point), mp_hessian(f, point)
            if not all(close(h[r][c], wh[r][c], rtol=1e-7, atol=1e-9) for r in range(2) for c in range(2)):
                failures.append(f"{name} hessian at {point}")
    return failures


def test_two_argument_functions_of_sign_led_sums(tmp_path):
    path = tmp_path / "two_arguments.py"
    path.write_text(TWO_ARGUMENT_SOURCE)
    import importlib.util

    spec = importlib.util.spec_from_file_location("two_arguments", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failures = in_child(_two_argument, module)
    assert not failures, "\n".join(failures)


def shifted(x):
    return math.sinh(x) * 2.0


def shifted_slope(x):
    u = -x - 1.0
    return math.cosh(-u - 1.0) * 2.0 + 0.0 * math.sin(u)


def registered_of_sign_led_sum(x, y):
    return shifted(-0.5 - x) * y


def _registered():
    symdiff.register(shifted, shifted_slope)
    try:
        point = (0.3, 0.45)
        return grad(registered_of_sign_led_sum)(*point), hessian(registered_of_sign_led_sum)(*point)
    finally:
        symdiff.unregister(shifted)


def test_registered_rule_of_a_sign_led_sum():
    """The rule's closed form, substituted with the sum, holds sums that flip signs too."""
    got, got_h = in_child(_registered)
    want = mp_grad(registered_of_sign_led_sum, (0.3, 0.45))
    assert all(close(a, b) for a, b in zip(got, want))
    want_h = mp_hessian(registered_of_sign_led_sum, (0.3, 0.45))
    assert all(close(got_h[r][c], want_h[r][c], rtol=1e-8) for r in range(2) for c in range(2))


# ---- item 1: the recursion limit never exceeds what the C stack holds ----------------------


def _getattr_chain():
    class Chain:  # the C-heaviest recursion measured per level (see stack.py)
        def __getattr__(self, name):
            return getattr(Chain(), name)

    try:
        stack.deep(lambda: Chain().anything)
    except RecursionError:
        return "RecursionError"
    return "no error"


def test_runaway_recursion_on_a_build_thread_is_a_recursion_error_not_a_crash():
    assert in_child(_getattr_chain) == "RecursionError"


def test_build_threads_restore_the_callers_recursion_limit():
    limit = sys.getrecursionlimit()
    assert stack.deep(sys.getrecursionlimit) == stack.RECURSION_LIMIT
    assert sys.getrecursionlimit() == limit
    assert stack.deep(lambda: stack.deep(stack.on_deep_stack)) is True  # nested: inline


def test_nesting_past_the_recursion_limit_is_a_located_error(monkeypatch):
    monkeypatch.setattr(stack, "RECURSION_LIMIT", 3000)  # ~200 nested calls' worth
    with pytest.raises(NestingError) as info:
        grad(hostile.deep_nest)
    err = info.value
    assert "nests too deeply" in err.message and err.hint
    assert err.filename == hostile.__file__ and "nest(x, n - 1)" in err.source_line


# ---- item 2: values SymPy cannot prove real ----------------------------------------------------

REAL_SOURCE = """\
import math
import numpy as np


def hypot_acos_in_branch(x, y):
    if x > 0:
        z = math.hypot(math.acos(0.9 * math.cos(y)), 0.5)
    else:
        z = x * y
    return z * (1.0 + x)


def abs_acos(x, y):
    return abs(math.acos(0.9 * math.cos(y))) * x


def abs_asin_and_acos(x, y):
    return abs(math.asin(0.5 * x)) + abs(math.acos(0.5 * y))


def copysign_acos(x, y):
    return math.copysign(math.acos(0.5 * x), -1.0) * y


def abs_sqrt(x, y):
    return abs(math.sqrt(2.0 - math.cos(y))) * x


def abs_power(x, y):
    return abs((2.0 + x) ** 0.5) * abs(math.log(0.5 + y * y))


def abs_acosh_atanh(x, y):
    return abs(math.acosh(2.0 + y * y)) * abs(math.atanh(0.5 * math.tanh(x)))


def numpy_abs_arccos(x, y):
    return np.abs(np.arccos(0.5 * x)) * np.hypot(np.arccos(0.9 * np.cos(y)), 0.5)


def abs_acos_in_condition(x, y):
    a = abs(math.acos(0.5 * x))
    if a > 1.0:
        return a * y
    return math.hypot(a, y)
"""
REAL_POINTS = [(0.4, 0.7), (-0.4, 0.7), (0.9, -1.2), (-0.9, 1.5)]


def _real(module):
    failures = []
    for name in [n for n in vars(module) if callable(getattr(module, n))
                 and getattr(getattr(module, n), "__module__", "") == module.__name__]:
        f = getattr(module, name)
        g, h = grad(f), hessian(f)
        gg = grad(grad(f, wrt="y"), wrt="y")  # branches on data too (abs_acos_in_condition)
        g.formulas, g.explain(), emit(f, language="c")
        for point in REAL_POINTS:
            want, want_h = mp_grad(f, point), mp_hessian(f, point)
            got = g(*point)
            if not all(close(a, b, rtol=1e-10) for a, b in zip(got, want)):
                failures.append(f"{name} grad at {point}: {got} vs {[float(w) for w in want]}")
            got_h = h(*point)
            if not all(close(got_h[r][c], want_h[r][c], rtol=1e-7, atol=1e-9)
                       for r in range(2) for c in range(2)):
                failures.append(f"{name} hessian at {point}: {got_h.tolist()}")
            if not close(gg(*point), want_h[1][1], rtol=1e-7, atol=1e-9):
                failures.append(f"{name} grad(grad) at {point}")
    return failures


def test_values_sympy_cannot_prove_real_differentiate_without_re_or_im(tmp_path):
    path = tmp_path / "not_provably_real.py"
    path.write_text(REAL_SOURCE)
    import importlib.util

    spec = importlib.util.spec_from_file_location("not_provably_real", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failures = in_child(_real, module)
    assert not failures, "\n".join(failures)


def test_a_derivative_with_complex_parts_is_a_located_error():
    from symdiff.ad.reverse import local_partial
    from symdiff.ir import Statement

    u = sympy.Symbol("u")  # not real: what the tracer never makes, to reach the safety net
    stmt = Statement(sympy.Symbol("v", real=True), sympy.Abs(u), 3, "v = abs(u)")
    with pytest.raises(SymdiffError) as info:
        local_partial(stmt, u)
    assert "complex parts" in info.value.message and info.value.hint


# ---- item 18: ints beyond float range ----------------------------------------------------------


def times_huge(x):
    return x * 10**400


def power_of_two_huge(x):
    return x * 2**1100  # HUGE-INT


def huge_exponent(x):
    return x ** 10**400


def math_pow_huge(x):
    return math.pow(x, 10**400)


def float_power_overflows(x):
    return x * 2.0**1100


def huge_int_that_cancels(x):
    return x * (10**400 // 10**399) + (10**400 - 10**400 + 1)


def log_with_huge_base(x):
    return math.log(x, 10**400)


def compares_with_huge(x):
    return x * 2.0 if x < 10**400 else x * 3.0


@pytest.mark.parametrize("f", [times_huge, power_of_two_huge, huge_exponent, math_pow_huge,
                               float_power_overflows])
def test_int_too_large_for_a_float_is_the_error_python_raises(f):
    with pytest.raises(OverflowError):
        f(0.3)  # the user's own function
    for make in (grad, value_and_grad):
        with pytest.raises(SymdiffError) as info:
            make(f)(0.3)
        err = info.value
        assert "OverflowError" in err.message and err.lineno and err.hint, err
        assert "inf" not in err.message
    with pytest.raises(SymdiffError):
        emit(f, language="c")


def test_huge_int_error_points_at_its_line():
    with pytest.raises(SymdiffError) as info:
        grad(power_of_two_huge)
    assert info.value.source_line.rstrip().endswith("# HUGE-INT")


@pytest.mark.parametrize("f", [huge_int_that_cancels, log_with_huge_base, compares_with_huge])
def test_huge_ints_python_handles_give_its_numbers(f, tmp_path):
    from .test_c_code import call, compile_library

    library = compile_library(tmp_path, {f.__name__: emit(f, language="c")})
    for x in (0.3, 2.5, 7.0):
        want = mp_grad(f, (x,))[0]
        value, gradient = value_and_grad(f)(x)
        assert value == f(x) and close(gradient, want), (x, value, gradient)
        c_gradient, (c_value, _) = call(library, f.__name__, 1, 1, (x,))
        assert close(c_value, f(x)) and close(c_gradient, want), (x, c_value, c_gradient)


def exactly_beyond_doubles(x):
    return x * 2.0 if x > 2**53 + 1 else x * 3.0


def equal_to_a_non_double(x):
    return x * 2.0 if x == 2**53 + 1 else x * 3.0


def below_huge_negative(x):
    return x * 2.0 if x <= -10**400 else x * 3.0


@pytest.mark.parametrize("f", [exactly_beyond_doubles, equal_to_a_non_double, below_huge_negative,
                               compares_with_huge])
def test_c_compares_ints_no_double_equals_as_python_does(f, tmp_path):
    from .test_c_code import call, compile_library

    library = compile_library(tmp_path, {f.__name__: emit(f, language="c")})
    for x in (0.3, 2.0**53, 2.0**53 + 2, 1.7976931348623157e308, -1.7976931348623157e308,
              math.inf, -math.inf):
        slope = 2.0 if _takes_first_branch(f, x) else 3.0  # Python's own comparison
        c_gradient, _ = call(library, f.__name__, 1, 1, (x,))
        assert c_gradient == slope, (x, c_gradient, slope)


def _takes_first_branch(f, x):
    """The condition of ``f``'s conditional expression, run by Python at ``x``."""
    test = ast.parse(textwrap.dedent(inspect.getsource(f))).body[0].body[0].value.test
    return eval(compile(ast.Expression(test), "<test>", "eval"), {"x": x})


# ---- item 23: unpacking list and tuple arguments -----------------------------------------------


def unpack_pair(params):
    a, b = params
    return a * math.sin(b)


def unpack_beside_a_number(x, params):
    a, b = params
    return x * a + b * b


def loop_length_and_star(params):
    total = 0.0
    for p in params:
        total = total + p * p
    return total * len(params) + math.atan2(*params[:2])


def unpack_in_a_helper(params):
    return _first_times_second(params)


def _first_times_second(pair):
    first, second = pair
    return first * second


@pytest.mark.parametrize("f, args", [
    (unpack_pair, ([0.5, 0.3],)), (unpack_pair, ((0.5, 0.3),)), (unpack_pair, (np.array([0.5, 0.3]),)),
    (unpack_beside_a_number, (2.0, [0.5, 0.3])), (loop_length_and_star, ([0.5, 0.3, -1.2],)),
    (unpack_in_a_helper, ((1.5, -0.25),)),
])
def test_unpacking_a_list_or_tuple_argument(f, args):
    got = grad(f)(*args)
    want = mp_grad(f, args)
    got = got if isinstance(got, tuple) else (got,)
    for g, w in zip(got, want):
        assert not close_array(g, w) if isinstance(w, np.ndarray) else close(g, w)


def test_unpacking_the_wrong_kind_says_what_python_would():
    with pytest.raises(SymdiffError) as info:
        grad(unpack_pair)(1.0)
    assert "cannot unpack a number into 2 names" in info.value.message
    with pytest.raises(SymdiffError) as info:
        grad(unpack_pair)([1.0, 2.0, 3.0])
    assert "cannot unpack 3 values into 2 names" in info.value.message


# ---- item 24: deep concrete recursion, and derivatives of derivatives -------------------------


def _chain_rec(n, x):
    if n == 0:
        return x
    inner = _chain_rec(n - 1, x)
    return math.sin(inner) * 0.5 + x * 0.01


def recursion_2000_deep(x):
    return _chain_rec(2000, x)


def recursion_beyond_the_limit(x):
    return _chain_rec(6000, x)  # TOO-DEEP


def test_concrete_recursion_deeper_than_1500_is_unrolled():
    got = grad(recursion_2000_deep)(0.3)

    def forward(x):  # the chain rule by hand, in floats: the recursion is a loop
        value, slope = x, 1.0
        for _ in range(2000):
            value, slope = math.sin(value) * 0.5 + x * 0.01, math.cos(value) * 0.5 * slope + 0.01
        return slope

    assert math.isclose(got, forward(0.3), rel_tol=1e-12)


def test_concrete_recursion_past_the_limit_says_its_depth_is_known():
    with pytest.raises(NestingError) as info:
        grad(recursion_beyond_the_limit)
    message = info.value.message
    assert "does not depend on a differentiated value" in message and "5000" in message
    assert "differentiated value cannot be unrolled" not in message
    assert info.value.lineno and info.value.hint


def test_recursion_that_stops_on_data_is_still_named_as_such():
    with pytest.raises(SymdiffError) as info:
        grad(hostile.recursion_on_data)
    assert "recursion whose depth depends on a differentiated value" in info.value.message


def poly_two(x, y):
    return x ** 3 * y + math.sin(x * y)


def two_outputs(x, y):
    return (x * y, x + y ** 2)


def test_jacobian_of_a_gradient_of_several_parameters_is_the_hessian():
    point = (0.7, -1.3)
    got = jacobian(grad(poly_two))(*point)
    want = mp_hessian(poly_two, point)
    assert got.shape == (2, 2)
    assert all(close(got[r][c], want[r][c], rtol=1e-10) for r in range(2) for c in range(2))


@pytest.mark.parametrize("make, words", [
    (lambda: jacobian(jacobian(two_outputs)), "jacobian(jacobian(f))"),
    (lambda: grad(jacobian(two_outputs)), "grad(jacobian(f))"),
    (lambda: grad(hessian(poly_two)), "grad(hessian(f))"),
    (lambda: grad(value_and_grad(poly_two, wrt="x")), "grad(value_and_grad(f))"),
    (lambda: grad(grad(poly_two)), "grad(grad(f)): grad(f) with respect to 2 parameters"),
])
def test_derivatives_of_derivatives_that_are_refused_say_what_was_written(make, words):
    with pytest.raises(TypeError) as info:
        make()
    assert str(info.value).startswith(words), str(info.value)
