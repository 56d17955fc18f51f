"""Control flow, composition and custom rules (issue 3).

* every function of ``tests/corpus_control.py`` against the 50-digit mpmath reference of its source,
  and its second and third derivatives (``grad(grad(f))``, ``grad(grad(grad(f)))``: the generated
  gradient read again) against mpmath's partial derivatives;
* ``grad(grad(f, wrt="y"))`` through an ``if`` on a parameter that is not differentiated;
* the conventions at non-differentiable points (the README's conventions table), at the exact points;
* specialisation on int arguments and module-level ints, and its cache;
* ``symdiff.register`` / ``unregister``;
* every error the issue names: class, absolute line and message.
"""

import inspect
import itertools
import math
import sys

import numpy as np
import pytest
import sympy

import symdiff
from symdiff import SymdiffError, UnsupportedSyntaxError, grad, value_and_grad

from . import helpers_module
from .corpus_control import CONTROL_CORPUS
from .helpers_module import taylor_exp
from .markers import marker_line
from .reference import close, mp_function, mp_grad, mp_partial

CASES = [
    pytest.param(f, point, wrt, id=f"{f.__name__}{point}")
    for f, points, wrt in CONTROL_CORPUS
    for point in points
]


def _as_tuple(result):
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_gradient_matches_reference(f, point, wrt):
    result = _as_tuple(grad(f, wrt=wrt)(*point))
    expected = mp_grad(f, point, wrt)
    assert len(result) == len(expected)
    for got, want in zip(result, expected):
        assert isinstance(got, float), type(got)
        assert close(got, want), (got, float(want))


@pytest.mark.parametrize("f, point, wrt", CASES)
def test_value_and_grad_matches_reference(f, point, wrt):
    value, gradient = value_and_grad(f, wrt=wrt)(*point)
    assert isinstance(value, float), type(value)
    assert close(value, mp_function(f)(*point)), (value, float(mp_function(f)(*point)))
    assert close(value, f(*point))  # and the function itself, run by Python
    for got, want in zip(_as_tuple(gradient), mp_grad(f, point, wrt)):
        assert isinstance(got, float), type(got)
        assert close(got, want), (got, float(want))


def test_control_corpus_is_large_enough():
    assert len(CONTROL_CORPUS) >= 45


def _float_names(f, point, wrt):
    """The parameters given floats at ``point`` (of those in ``wrt``, when it names some)."""
    names = [name for name, a in zip(inspect.signature(f).parameters, point) if isinstance(a, float)]
    return [n for n in names if wrt is None or n in wrt]


@pytest.mark.parametrize("f, points, wrt", [pytest.param(f, points, wrt, id=f.__name__)
                                            for f, points, wrt in CONTROL_CORPUS])
def test_second_and_third_derivatives_match_reference(f, points, wrt):
    """grad(grad(f)) and grad(grad(grad(f))) in every order of the float parameters, at the
    corpus points (both sides of every branch): the generated gradient, with its forward and
    reverse 'if's on the same conditions, read again as user code, against mpmath's partials."""
    built = {}

    def derivative(sequence):  # grad(grad(f, wrt=sequence[0]), wrt=sequence[1]) ...
        if sequence not in built:
            inner = f if len(sequence) == 1 else derivative(sequence[:-1])
            built[sequence] = grad(inner, wrt=sequence[-1])
        return built[sequence]

    names = _float_names(f, points[0], wrt)
    failures = []
    for order in (2, 3):
        for sequence in itertools.product(names, repeat=order):
            for point in points:
                got = derivative(sequence)(*point)
                want = mp_partial(f, point, sequence)
                if not isinstance(got, float) or not close(got, want, rtol=1e-8, atol=1e-9):
                    failures.append(f"d/d{' d/d'.join(sequence)} at {point}: {got!r}, want "
                                    f"{float(want)!r}")
    assert not failures, "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# Conventions at non-differentiable points (README: Conventions), at the exact points
# ---------------------------------------------------------------------------------------------


def absolute(x):
    return abs(x)


def fabs_(x):
    return math.fabs(x)


def maximum(x, y):
    return max(x, y)


def minimum(x, y):
    return min(x, y)


def max_with_constant(x):
    return max(x, 1.0)


def maximum3(x, y, z):
    return max(x, y, z)


def minimum3(x, y, z):
    return min(x, y, z)


def square_root(x):
    return math.sqrt(x)


def half_power(x):
    return x ** 0.5


def power_1(x):
    return x ** 1


def power_2(x):
    return x ** 2


def power_3(x):
    return x ** 3


def power_2_float(x):
    return x ** 2.0


def math_pow_3(x):
    return math.pow(x, 3)


def power_xy(x, y):
    return x ** y


def math_pow_xy(x, y):
    return math.pow(x, y)


def guarded_sqrt_ifexp(x):
    return math.sqrt(x) if x > 0 else 0.0


def guarded_sqrt_if(x):
    if x > 0:
        y = math.sqrt(x)
    else:
        y = 0.0
    return y


def guarded_sqrt_early_return(x):
    if x <= 0:
        return 0.0
    return math.sqrt(x) * math.log(x)


def guarded_log_ifexp(x):
    return x * math.log(x) if x > 0 else 0.0


def test_abs_at_zero_is_zero():
    for f in (absolute, fabs_):
        g = grad(f)
        assert g(0.0) == 0.0
        assert g(-0.0) == 0.0
        assert g(2.0) == 1.0 and g(-2.0) == -1.0


def test_max_min_tie_shares_equally():
    assert grad(maximum)(1.0, 1.0) == (0.5, 0.5)
    assert grad(minimum)(1.0, 1.0) == (0.5, 0.5)
    assert grad(maximum)(-2.5, -2.5) == (0.5, 0.5)
    assert grad(max_with_constant)(1.0) == 0.5
    # away from the tie: all to the winner
    assert grad(maximum)(2.0, 1.0) == (1.0, 0.0)
    assert grad(minimum)(2.0, 1.0) == (0.0, 1.0)
    # two tied of three: the loser gets nothing
    assert grad(maximum3)(1.0, 1.0, 0.0) == (0.5, 0.5, 0.0)
    assert grad(minimum3)(0.0, 1.0, 0.0) == (0.5, 0.0, 0.5)


def test_max_min_three_way_tie_shares_one_in_total():
    # max(x, y, z) at x == y == z: the weights must sum to 1 (d/dt max(t, t, t) = 1), each 1/3.
    for f in (maximum3, minimum3):
        weights = grad(f)(1.0, 1.0, 1.0)
        assert weights == pytest.approx((1 / 3, 1 / 3, 1 / 3), rel=1e-15)
    # three tied of four (2x == y == z), then a tie of 2x with the constant 1.0: shares 1/3, 1/2
    assert grad(max_of_four)(1.0, 2.0, 2.0) == pytest.approx((2 / 3 + 3, 1 / 3, 1 / 3), rel=1e-15)
    assert grad(max_of_four)(0.5, 0.2, 0.2) == pytest.approx((1.0, 1.5, 1.5), rel=1e-15)


def max_of_four(x, y, z):
    return max(x * 2, y, z, 1.0) + min([x, y, z]) * 3


def test_sqrt_at_zero_is_inf():
    assert grad(square_root)(0.0) == math.inf
    assert grad(half_power)(0.0) == math.inf
    assert value_and_grad(square_root)(0.0) == (0.0, math.inf)


def test_integer_power_at_zero():
    assert grad(power_1)(0.0) == 1.0
    assert grad(power_2)(0.0) == 0.0
    assert grad(power_3)(0.0) == 0.0
    assert grad(power_2_float)(0.0) == 0.0
    assert grad(math_pow_3)(0.0) == 0.0


@pytest.mark.parametrize("f", [power_xy, math_pow_xy])
def test_power_wrt_exponent_at_zero_base(f):
    # d(x**y)/dy = x**y * log(x) -> 0 at x = 0, y > 0 (PyTorch's convention; JAX gives nan)
    g = grad(f, wrt="y")
    for y in (0.5, 1.0, 2.0, 3.7):
        assert g(0.0, y) == 0.0, y


@pytest.mark.parametrize("f", [power_xy, math_pow_xy])
def test_power_wrt_base_at_zero_base(f):
    # d(x**y)/dx = y * x**(y - 1) at x = 0: 0 for y > 1, 1 for y = 1, inf for 0 < y < 1
    g = grad(f, wrt="x")
    assert g(0.0, 2.0) == 0.0
    assert g(0.0, 3.0) == 0.0
    assert g(0.0, 1.0) == 1.0
    assert g(0.0, 0.5) == math.inf
    assert grad(f)(0.0, 2.0) == (0.0, 0.0)


EXPONENT = 2.0  # a module-level float: a symbol in the trace, read at each call


def power_of_module_float(x):
    return x ** EXPONENT


def test_power_with_a_symbolic_constant_exponent_at_zero(monkeypatch):
    g = grad(power_of_module_float)
    assert g(0.0) == 0.0 and g(1.5) == 3.0
    monkeypatch.setattr(sys.modules[__name__], "EXPONENT", 1.0)
    assert g(0.0) == 1.0
    monkeypatch.setattr(sys.modules[__name__], "EXPONENT", 0.5)
    assert g(0.0) == math.inf


def power_of_zero_constant(x):
    return 0.0 ** x + x


def test_power_of_a_zero_constant_base():
    # d(0.0**x)/dx = 0 for x > 0 (the zero-base convention); was 'return nan' -> NameError
    assert grad(power_of_zero_constant)(2.0) == 1.0
    assert value_and_grad(power_of_zero_constant)(0.5) == (0.5, 1.0)


def test_power_of_arrays_at_zero_base():
    def f(x, y):
        return np.power(x, y) + x

    with np.errstate(all="ignore"):
        gx, gy = grad(f)(np.array([0.0, 1.0, 2.0]), np.array([2.0, 2.0, 0.5]))
    assert gx.tolist() == [1.0, 3.0, pytest.approx(1 + 0.5 / math.sqrt(2), rel=1e-15)]
    assert gy.tolist() == [0.0, 0.0, pytest.approx(math.sqrt(2) * math.log(2), rel=1e-15)]


@pytest.mark.parametrize("f", [guarded_sqrt_ifexp, guarded_sqrt_if, guarded_sqrt_early_return,
                               guarded_log_ifexp])
def test_untaken_branch_never_leaks(f):
    g = grad(f)
    assert g(0.0) == 0.0
    assert g(-1.0) == 0.0
    assert value_and_grad(f)(0.0) == (0.0, 0.0)
    assert math.isfinite(g(0.25))


# ---------------------------------------------------------------------------------------------
# Specialisation on ints: per value, cached separately; module-level ints are guarded
# ---------------------------------------------------------------------------------------------
def iterate_sin(x, n):
    y = x
    for _ in range(n):
        y = math.sin(y) * 1.5
    return y


def test_int_argument_specialisations_differ_and_are_cached():
    g = grad(iterate_sin, wrt="x")
    g3, g7 = g(0.7, 3), g(0.7, 7)
    assert g3 != g7
    assert close(g3, mp_grad(iterate_sin, (0.7, 3), ("x",))[0])
    assert close(g7, mp_grad(iterate_sin, (0.7, 7), ("x",))[0])
    builds = dict(g._builds)  # keyed by tuples that hold the specialised (name, value) pairs

    def builds_for(n):
        return [build for key, build in builds.items() if (("n", n),) in key]

    assert len(builds_for(3)) == 1 and len(builds_for(7)) == 1
    assert builds_for(3)[0] is not builds_for(7)[0]
    entries = [key for key in g._cache if any(type(v) is int and v in (3, 7) for v in key)]
    assert len(entries) == 2
    # calling again neither traces nor compiles again
    assert g(0.2, 3) == pytest.approx(float(mp_grad(iterate_sin, (0.2, 3), ("x",))[0]), rel=1e-12)
    assert g(0.2, 7) == pytest.approx(float(mp_grad(iterate_sin, (0.2, 7), ("x",))[0]), rel=1e-12)
    assert g._builds == builds
    # the same n as a numpy int is the same specialisation value
    assert g(0.7, np.int64(3)) == g3


LOOP_COUNT = 2
FLOAT_SCALE = 1.5
USE_SINE = False


def uses_module_int(x):
    y = x
    for _ in range(LOOP_COUNT):
        y = y * y + FLOAT_SCALE
    if USE_SINE:
        y = math.sin(y / (1 + y * y))
    return y


def test_changing_a_module_level_int_changes_the_result(monkeypatch):
    g = grad(uses_module_int)
    first = g(0.3)
    assert close(first, mp_grad(uses_module_int, (0.3,))[0])
    monkeypatch.setattr(sys.modules[__name__], "LOOP_COUNT", 4)
    second = g(0.3)
    assert second != first
    assert close(second, mp_grad(uses_module_int, (0.3,))[0])
    monkeypatch.setattr(sys.modules[__name__], "USE_SINE", True)
    third = g(0.3)
    assert close(third, mp_grad(uses_module_int, (0.3,))[0])
    monkeypatch.setattr(sys.modules[__name__], "FLOAT_SCALE", -0.25)
    assert close(g(0.3), mp_grad(uses_module_int, (0.3,))[0])
    monkeypatch.setattr(sys.modules[__name__], "LOOP_COUNT", 2)
    monkeypatch.setattr(sys.modules[__name__], "USE_SINE", False)
    monkeypatch.setattr(sys.modules[__name__], "FLOAT_SCALE", 1.5)
    assert g(0.3) == first


# ---------------------------------------------------------------------------------------------
# symdiff.register / unregister
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def registered():
    """Register rules for one test and always forget them afterwards."""
    done = []

    def add(func, *args, **kwargs):
        symdiff.register(func, *args, **kwargs)
        done.append(func)

    yield add
    for func in reversed(done):
        symdiff.unregister(func)


try:
    import scipy.special as scipy_special
except ImportError:  # pragma: no cover - scipy is a test dependency
    scipy_special = None


def uses_scipy_erf(x):
    y = 2 * x
    return scipy_special.erf(y) * x


def uses_scipy_zeta(x):  # a C extension symdiff has no rule for
    return scipy_special.zeta(x, 2.0) * x


def test_register_c_extension_with_sympy_function(registered):
    if scipy_special is None:
        pytest.skip("scipy is not installed")
    with pytest.raises(symdiff.UnknownFunctionError):
        grad(uses_scipy_zeta)
    # scipy.special.erf has a built-in rule (symdiff.primitives.scipy_calls): registering one
    # replaces it until it is unregistered
    registered(scipy_special.erf, sympy_function=sympy.erf)
    g = grad(uses_scipy_erf)
    for x in (0.3, -1.1):
        expected = math.erf(2 * x) + x * 4 / math.sqrt(math.pi) * math.exp(-4 * x * x)
        assert g(x) == pytest.approx(expected, rel=1e-14)
    value, _ = value_and_grad(uses_scipy_erf)(0.3)
    assert value == pytest.approx(math.erf(0.6) * 0.3, rel=1e-15)


def opaque_softplus(x):
    try:  # symdiff cannot read a 'try'; its derivative is stated below
        return math.log1p(math.exp(x))
    except OverflowError:
        return x


def opaque_softplus_slope(x):
    return 1 / (1 + math.exp(-x))


def uses_opaque(x, y):
    return opaque_softplus(x * y) + y


def test_register_user_function_with_stated_derivative(registered):
    with pytest.raises(SymdiffError):
        grad(uses_opaque)
    registered(opaque_softplus, opaque_softplus_slope)
    g = grad(uses_opaque)
    x, y = 0.4, -1.3
    s = 1 / (1 + math.exp(-x * y))
    gx, gy = g(x, y)
    assert gx == pytest.approx(s * y, rel=1e-14)
    assert gy == pytest.approx(s * x + 1, rel=1e-14)
    value, _ = value_and_grad(uses_opaque)(x, y)
    assert value == uses_opaque(x, y)


def jax_abs_slope(x):
    return 1.0 if x >= 0 else -1.0


def test_register_overrides_abs_convention_and_unregister_restores():
    try:
        symdiff.register(abs, jax_abs_slope)
        g = grad(absolute)
        assert g(0.0) == 1.0  # JAX's convention
        assert g(-2.0) == -1.0 and g(3.0) == 1.0
        assert value_and_grad(absolute)(-2.0) == (2.0, -1.0)
    finally:
        symdiff.unregister(abs)
    g = grad(absolute)
    assert g(0.0) == 0.0  # the default convention again
    assert g(-2.0) == -1.0


# ---------------------------------------------------------------------------------------------
# Errors: class, absolute line, message
# ---------------------------------------------------------------------------------------------
HERE = __file__


def line_of(marker):
    """The absolute line number of the line in this file that ends with ``# <marker>``."""
    return marker_line(HERE, marker)


def while_on_data(x):  # (a while on data of numbers is kept as a loop: tests/test_while_loops.py)
    y = x
    halves = []
    while y > 1:  # WHILE-DATA
        halves.append(y)
        y = y / 2
    return y + sum(halves)


def range_of_data(x):
    total = 0.0
    for k in range(x):  # RANGE-DATA
        total = total + k
    return total


def range_of_data_expression(x):  # (without reading k after it, kept as a loop: test_while_loops)
    total = x
    for k in range(1, int(x) + 3):  # RANGE-INT-OF-DATA
        total = total * x
    return total + k


def halve_until_small(x):
    if x < 1:
        return x
    return halve_until_small(x / 2) + 1  # RECURSION-DATA


def recursion_on_data(x):
    return halve_until_small(x) * 2


def break_on_data(x):
    total = 0.0
    for k in range(10):
        total = total + x
        if total > 3:  # a break on data (supported: see test_break_on_data)
            break
    return total


def continue_on_data(x):
    total = 0.0
    for k in range(10):
        if x * k > 3:  # CONTINUE-DATA
            continue
        total = total + x
    return total


def assigned_in_one_branch(x):
    if x > 0:  # ONE-BRANCH-IF
        y = x * 2
    return y * 3  # ONE-BRANCH-USE


def assigned_in_one_branch_elif(x):
    if x > 1:  # ONE-BRANCH-ELIF-IF
        z = x
    elif x > 0:
        z = x * x
    return z  # ONE-BRANCH-ELIF-USE


def read_under_the_other_arm(x):
    if x > 0:  # OTHER-ARM-IF
        y = x * 2
    if x > 0:
        return x
    return y * 3  # OTHER-ARM-USE


def read_under_another_condition(x):
    if x > 0:  # OTHER-CONDITION-IF
        y = x * 2
    if x > 1:
        return y * 3  # OTHER-CONDITION-USE
    return x


def read_after_a_reassignment_of_the_condition(x):
    t = x
    if t > 0:  # REASSIGNED-IF
        y = x * 2
    t = t - 1
    if t > 0:
        return y  # REASSIGNED-USE
    return x


def return_under_data_in_loop(x):
    y = x
    for k in range(5):
        y = y * 1.5
        if y > 2:  # a return on some paths inside a loop
            return y
    return y


def comprehension_filter_on_data(x):
    return sum(k * x for k in range(4) if x > k)  # FILTER-DATA


ERROR_CASES = [
    (while_on_data, "WHILE-DATA", UnsupportedSyntaxError,
     "a 'while' loop whose condition depends on a differentiated value: its body changes "
     "'halves', a list"),
    (range_of_data, "RANGE-DATA", UnsupportedSyntaxError,
     "range() over a differentiated value: the loop's trip count would depend on it"),
    (range_of_data_expression, "RANGE-INT-OF-DATA", UnsupportedSyntaxError,
     "range() over a differentiated value (an int of it): the counter 'k' is read after the loop"),
    (recursion_on_data, "RECURSION-DATA", SymdiffError,
     "recursion whose depth depends on a differentiated value cannot be unrolled"),
    (assigned_in_one_branch, "ONE-BRANCH-USE", SymdiffError,
     f"'y' is assigned in only one branch of the 'if' on line {line_of('ONE-BRANCH-IF')}"),
    (assigned_in_one_branch_elif, "ONE-BRANCH-ELIF-USE", SymdiffError,
     f"'z' is assigned in only one branch of the 'if' on line {line_of('ONE-BRANCH-ELIF-IF')}"),
    (comprehension_filter_on_data, "FILTER-DATA", UnsupportedSyntaxError,
     "a comprehension filter on a differentiated value"),
    # read only where the same condition holds, a name assigned in one arm is bound (see the
    # corpus' read_under_the_same_condition); anywhere else it still is not
    (read_under_the_other_arm, "OTHER-ARM-USE", SymdiffError,
     f"'y' is assigned in only one branch of the 'if' on line {line_of('OTHER-ARM-IF')}"),
    (read_under_another_condition, "OTHER-CONDITION-USE", SymdiffError,
     f"'y' is assigned in only one branch of the 'if' on line {line_of('OTHER-CONDITION-IF')}"),
    (read_after_a_reassignment_of_the_condition, "REASSIGNED-USE", SymdiffError,
     f"'y' is assigned in only one branch of the 'if' on line {line_of('REASSIGNED-IF')}"),
]


@pytest.mark.parametrize("f, marker, cls, message", ERROR_CASES, ids=[c[1] for c in ERROR_CASES])
def test_control_flow_error(f, marker, cls, message):
    with pytest.raises(SymdiffError) as info:
        grad(f)
    err = info.value
    assert type(err) is cls, type(err)
    assert message in err.message
    assert err.filename == HERE
    assert err.lineno == line_of(marker)
    text = str(err)
    assert f"{HERE}:{line_of(marker)}" in text
    assert err.source_line is not None and err.source_line.strip() in text
    assert err.hint


def test_recursion_on_data_is_never_a_recursion_error():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(150)  # a small Python stack must not turn it into a RecursionError
    try:
        with pytest.raises(SymdiffError) as info:
            grad(recursion_on_data)
    finally:
        sys.setrecursionlimit(limit)
    assert not isinstance(info.value, RecursionError)
    assert info.value.lineno == line_of("RECURSION-DATA")


def test_int_count_errors_at_call_name_the_line():
    # range(n) with n differentiated (wrt includes n): the trip count would depend on it
    def f(x, n):
        acc = x
        for _ in range(n):  # RANGE-N-DIFF
            acc = acc * x
        return acc

    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(f)
    assert info.value.lineno == line_of("RANGE-N-DIFF")
    assert "range() over a differentiated value" in info.value.message


# ---------------------------------------------------------------------------------------------
# Bugs found while writing these tests (minimal reproductions)
# ---------------------------------------------------------------------------------------------
def floor_times_x(x):
    return math.floor(x) * x


def trunc_times_x(x):
    return math.trunc(x) * x + int(x) * x


def round_times_x(x):
    return round(x) * x


def ceil_times_x(x):
    return math.ceil(x) * x


def floordiv_value(x):
    return x // 0.5


@pytest.mark.parametrize("f", [floor_times_x, trunc_times_x, round_times_x, ceil_times_x])
def test_step_functions_give_float_gradients(f):
    for x in (2.3, -1.6):
        result = grad(f)(x)
        assert isinstance(result, float), type(result)
        assert close(result, mp_grad(f, (x,))[0])


def test_floordiv_value_is_a_float_like_python():
    value, gradient = value_and_grad(floordiv_value)(2.3)
    assert value == floordiv_value(2.3) == 4.0
    assert isinstance(value, float), type(value)
    assert gradient == 0.0


def copysign_xy(x, y):
    return math.copysign(x, y)


def copysign_negative_zero(x):
    return math.copysign(x, -0.0)


def copysign_positive_zero(x):
    return math.copysign(x, 0.0)


def test_copysign_at_signed_zero():
    # math.copysign takes the sign bit of y: +0.0 is positive, -0.0 negative
    vg = value_and_grad(copysign_xy)
    assert vg(2.0, 0.0) == (2.0, (1.0, 0.0))
    assert vg(2.0, -0.0) == (-2.0, (-1.0, 0.0))
    assert vg(-2.0, 0.0) == (2.0, (-1.0, 0.0))
    assert value_and_grad(copysign_positive_zero)(-3.0) == (3.0, -1.0)
    assert value_and_grad(copysign_negative_zero)(3.0) == (-3.0, -1.0)


def identity_checks(x):
    y = x * 2
    if y is not None and y is not DEBUG_SENTINEL:
        y = y * x
    return y


DEBUG_SENTINEL = object()
DEBUG = False


def dead_debug_branch_with_import(x):
    y = math.sin(x)
    if DEBUG:
        import pdb

        pdb.set_trace()
    return y * x


def dead_debug_branch_with_try_and_with(x):
    y = math.cos(x)
    if DEBUG:
        try:
            with open("trace.log", "a") as handle:
                handle.write(repr(y))
        except OSError:
            pass
    return y * x


def test_identity_comparison_of_a_number_with_none_is_concrete():
    assert close(grad(identity_checks)(0.7), mp_grad(identity_checks, (0.7,))[0])


@pytest.mark.parametrize("f", [dead_debug_branch_with_import, dead_debug_branch_with_try_and_with])
def test_dead_debug_branch_is_not_translated(f):
    assert close(grad(f)(0.7), mp_grad(f, (0.7,))[0])


def live_import(x):
    if x > 0:
        import os  # LIVE-IMPORT
    return x


def live_concrete_try(x):
    if N_LIVE > 0:
        try:  # LIVE-TRY
            y = x * 2
        except ValueError:
            y = x
    return y


N_LIVE = 1


def global_in_dead_branch(x):
    if DEBUG:
        global N_LIVE  # DEAD-GLOBAL
    return x


@pytest.mark.parametrize("f, marker, message", [
    (live_import, "LIVE-IMPORT", "import statement is not supported in a differentiated function"),
    (live_concrete_try, "LIVE-TRY", "'try' statement is not supported in a differentiated function"),
    (global_in_dead_branch, "DEAD-GLOBAL", "'global' statement is not supported"),
])
def test_a_forbidden_statement_on_a_live_path_is_still_an_error(f, marker, message):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(f)
    assert info.value.lineno == line_of(marker)
    assert info.value.filename == HERE
    assert message in info.value.message
    assert info.value.hint


def power_rec(x, k):
    if k == 0:
        return 1.0
    return x * power_rec(x, k - 1)


def recursion_on_int_argument(x, n):
    return power_rec(x, n) + x


def test_recursion_depth_from_an_int_argument():
    g = grad(recursion_on_int_argument, wrt="x")
    assert g(0.7, 4) == pytest.approx(4 * 0.7 ** 3 + 1, rel=1e-14)
    assert g(0.7, 9) == pytest.approx(9 * 0.7 ** 8 + 1, rel=1e-14)


def count_loop(x, n):
    for _ in range(n):
        x = x * 2
    return x


def test_float_for_an_int_count_is_a_symdiff_error():
    g = grad(count_loop, wrt="x")
    assert g(1.0, 3) == 8.0
    with pytest.raises(SymdiffError):  # Python: TypeError, range() of a float
        g(1.0, 3.0)


def branch_on_float_argument(x, c):
    if c > 0:
        return x * c
    return x


def test_branch_on_a_non_differentiated_float_argument():
    g = grad(branch_on_float_argument, wrt="x")
    assert g(1.0, 3.0) == 3.0 and g(1.0, -3.0) == 1.0
    assert g(1.0, 2) == 2.0 and g(1.0, -2) == 1.0


def nested_default_binds_early(x):
    c = 2.0

    def g(t, c=c):
        return t * c

    c = 5.0
    return g(x) + (lambda t, s=c: t * s)(x)


def lambdas_in_comprehension_default(x):
    fs = [lambda t, k=k: t * k for k in range(3)]
    return sum(g(x) for g in fs)


def lambdas_in_comprehension_late(x):
    fs = [lambda t: t * k for k in range(3)]
    return sum(g(x) for g in fs)


@pytest.mark.parametrize("f", [nested_default_binds_early, lambdas_in_comprehension_default,
                               lambdas_in_comprehension_late])
def test_defaults_and_closures_bind_like_python(f):
    value, gradient = value_and_grad(f)(1.25)
    assert value == f(1.25)
    assert close(gradient, mp_grad(f, (1.25,))[0])


def tuple_conditional_expression(x):
    a, b = (x, 2.0) if x > 0 else (1.0, x * x)
    c, d = [x, x * 3] if x < 0.5 else [x, math.sin(x)]
    return a * b + c * d


def test_tuple_valued_conditional_expression_on_data():
    for x in (0.7, 0.3, -0.7):
        assert close(grad(tuple_conditional_expression)(x),
                     mp_grad(tuple_conditional_expression, (x,))[0])


def round_to_digits(x):
    return round(x, 2) * x


def test_round_with_ndigits():
    value, gradient = value_and_grad(round_to_digits)(1.234)
    assert value == round_to_digits(1.234)
    assert gradient == round(1.234, 2)


HELPER_SCALE = 3.0


def _scaled_by_default(t, scale=HELPER_SCALE, *, power=2):
    return scale * t ** power


def module_helper_default_binds_at_definition(x):
    return _scaled_by_default(x) + _scaled_by_default(x, power=3)


def data_dependent_default(x):
    def g(t, c=x * x):
        return t * c

    return g(2.0) + g(x, c=1.0)


def comprehension_scopes(x):
    a = 2.0
    rows = [[x * a * i + j for j in range(2)] for i in range(3)]
    fs = [(lambda t: t * i + x) for i in range(3)]
    return sum(sum(r) for r in rows) + sum([f(x) for f in fs])


def test_module_helper_default_is_the_value_at_definition(monkeypatch):
    g = value_and_grad(module_helper_default_binds_at_definition)
    expected = module_helper_default_binds_at_definition(0.7)
    monkeypatch.setattr(sys.modules[__name__], "HELPER_SCALE", 100.0)  # as Python: no effect
    value, gradient = g(0.7)
    assert value == pytest.approx(expected, rel=1e-15)
    assert gradient == pytest.approx(3.0 * 2 * 0.7 + 3.0 * 3 * 0.7 ** 2, rel=1e-15)


@pytest.mark.parametrize("f", [data_dependent_default, comprehension_scopes])
def test_defaults_and_comprehension_scopes_against_reference(f):
    for x in (0.7, -1.2):
        value, gradient = value_and_grad(f)(x)
        assert close(value, f(x))
        assert close(gradient, mp_grad(f, (x,))[0])


def free_variable_before_assignment(x):
    def g(t):
        return t * k  # FREE-BEFORE

    y = g(x)
    k = 2.0
    return y + k


def test_free_variable_used_before_assignment():
    with pytest.raises(SymdiffError) as info:
        grad(free_variable_before_assignment)
    assert info.value.lineno == line_of("FREE-BEFORE")
    assert "'k' is used before it is assigned" in info.value.message


def uses_imported_module_int(x):
    return helpers_module.taylor_exp(x) + taylor_exp(2 * x)


def _make_repeated(times):
    def repeated(x):
        y = x
        for _ in range(times):
            y = math.sin(y) + x
        return y

    return repeated, lambda value: _set_cell(repeated, value)


def _set_cell(fun, value):
    fun.__closure__[0].cell_contents = value


def test_module_int_of_another_module_and_closure_int_are_guarded(monkeypatch):
    g = grad(uses_imported_module_int)
    first = g(0.4)
    assert close(first, mp_grad(uses_imported_module_int, (0.4,))[0])
    monkeypatch.setattr(helpers_module, "ORDER", 6)
    assert g(0.4) != first
    assert close(g(0.4), mp_grad(uses_imported_module_int, (0.4,))[0])

    repeated, set_times = _make_repeated(2)
    g = grad(repeated)
    before = g(0.4)
    assert close(before, mp_grad(repeated, (0.4,))[0])
    set_times(5)
    assert g(0.4) != before
    assert close(g(0.4), mp_grad(repeated, (0.4,))[0])


def six_guarded_stages(x):
    y = x
    if x > 0.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    if x > 1.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    if x > 2.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    if x > 3.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    if x > 4.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    if x > 5.5:
        if y > 30:
            return y
        y = y * 1.5 + x
    return y


def test_partial_early_returns_do_not_duplicate_the_rest():
    g = grad(six_guarded_stages)
    for x in (0.2, 0.7, 3.0, 6.0, 40.0):
        assert close(g(x), mp_grad(six_guarded_stages, (x,))[0])
    lines = g.source.splitlines()
    assert len(lines) < 400  # 1,337 when the rest of the function was traced once per arm
    assert max(len(line) - len(line.lstrip()) for line in lines) <= 4 * 4  # flat: not one level per stage


def long_loop(x, n):
    y = x
    for _ in range(n):
        y = math.sin(y) * 0.5 + x
    return y


def test_long_sums_are_split_over_lines():
    # x's adjoint gathers one term per iteration; printed as one 'a + b + ...' line, 3000
    # iterations made Python's compiler raise RecursionError. Lines now hold <= 16 operands.
    g = grad(long_loop, wrt="x")
    assert close(g(0.3, 60), mp_grad(long_loop, (0.3, 60), ("x",))[0])
    longest = max(line.count(" + ") + line.count("*") for line in g.source.splitlines()
                  if not line.lstrip().startswith("#"))
    assert longest <= 16


def nested_conditional_constant_arms(x, y):
    return ((0.26 if x > -0.42 else y) if x > 0.83 else math.sin(y)) + x


def test_nested_conditional_with_constant_arms_gives_float_gradients():
    for point in ((1.958, 0.052), (0.0, 0.4)):
        value, gradient = value_and_grad(nested_conditional_constant_arms)(*point)
        assert all(isinstance(g, float) for g in gradient), gradient
        for got, want in zip(gradient, mp_grad(nested_conditional_constant_arms, point)):
            assert close(got, want)


def accumulate_with_append(x):
    terms = []
    for k in range(4):
        terms.append(x ** k / (k + 1))
    return sum(terms)


def fill_by_index(x):
    v = [0.0, 0.0, 0.0]
    for k in range(3):
        v[k] = math.sin(k * x)
    return v[0] + v[1] * v[2]


def list_methods_and_items(x):
    v = [x] * 3
    for k in range(3):
        v[k] *= k + x
    v.insert(0, x)
    w = v.copy()
    w.reverse()
    last = w.pop()
    v.extend((x, 2.0))
    v[1:3] = [x * x, math.sin(x)]
    v[-1] = v[-1] / x
    return sum(v) + last * w[0]


def nested_lists(x):
    m = [[0.0] * 2 for _ in range(2)]
    for i in range(2):
        for j in range(2):
            m[i][j] = math.cos(x * (i + 1)) ** (j + 1)
    m[1].append(x)
    return m[0][0] * m[1][1] + m[0][1] - m[1][2] * m[1][0]


def list_built_and_changed_in_one_branch(x):
    if x > 0.5:
        v = [x]
        v.append(x * x)
    else:
        v = [math.exp(x), 1.0]
    return v[0] * v[1]


def list_copied_from_a_list_argument(v):
    w = list(v)
    w[0] = w[0] * w[1]
    w.append(3.0)
    return sum(w) * w[1]


@pytest.mark.parametrize("f", [accumulate_with_append, fill_by_index, list_methods_and_items,
                               nested_lists, list_built_and_changed_in_one_branch])
def test_list_mutation_in_loops(f):
    for x in (0.4, 0.9, -1.1):
        value, gradient = value_and_grad(f)(x)
        assert value == pytest.approx(f(x), rel=1e-14)
        assert close(gradient, mp_grad(f, (x,))[0])


def test_a_copy_of_a_list_argument_may_change():
    # f = (a*b + b + 3) * b for v = [a, b]: df/da = b**2, df/db = (a + 1)*b + a*b + b + 3
    g = grad(list_copied_from_a_list_argument)
    v = [1.5, 2.0]
    assert np.allclose(g(v), [2.0**2, 2.5 * 2.0 + 1.5 * 2.0 + 2.0 + 3.0], rtol=1e-15)
    assert v == [1.5, 2.0]  # the caller's list is unchanged, as in Python


def change_argument(v):
    v[0] = 1.0
    return v[0] * v[1]


def append_to_argument(v):
    v.append(1.0)
    return v[0]


GLOBAL_LIST = []


def append_to_global(x):
    GLOBAL_LIST.append(x)
    return x


def append_in_branch(x):
    v = [x]
    if x > 0:
        v.append(x)
    return sum(v)


def index_with_value(x):
    v = [0.0, 1.0]
    v[int(x)] = x
    return v[0]


@pytest.mark.parametrize("f, args, message", [
    (change_argument, ([1.0, 2.0],), "changing a list passed as an argument"),
    (append_to_argument, ([1.0, 2.0],), "changing a list passed as an argument"),
    (append_to_global, (1.0,), "changing a list the function did not build"),
    (append_in_branch, (1.0,), "changing a list inside an 'if' on a differentiated value"),
    (index_with_value, (1.0,), "indexing with a differentiated value"),
])
def test_list_changes_symdiff_refuses_are_located_errors(f, args, message):
    with pytest.raises(SymdiffError) as info:
        grad(f)(*args)
    assert message in str(info.value)
    assert info.value.lineno is not None and info.value.filename == __file__
    assert GLOBAL_LIST == []  # the user's list was not touched


def taylor_terms(x, n):
    powers = []
    for k in range(n):
        powers.append(x ** k / math.factorial(k) * math.comb(n, k) / math.perm(n, k) ** 0)
    powers[0] = math.exp(-x) * math.gcd(12, 18) / math.lcm(2, 3) / math.isqrt(1)
    return sum(powers)


def factorial_of_value(x):
    return math.factorial(x)


def test_int_only_math_functions_of_known_ints():
    g = grad(taylor_terms, wrt="x")
    for x in (0.5, -0.3):
        assert close(g(x, 4), mp_grad(taylor_terms, (x, 4), ("x",))[0])
    with pytest.raises(UnsupportedSyntaxError, match="math.factorial of a differentiated value"):
        grad(factorial_of_value)(3.0)


def factorial_of_negative(x):
    return x * math.factorial(-1)


def test_a_concrete_call_that_raises_is_a_located_error():
    with pytest.raises(SymdiffError, match=r"math.factorial\(-1,\) raises ValueError") as info:
        grad(factorial_of_negative)(1.0)
    assert info.value.filename == __file__


# ---- returns on some paths of an arm: the rest of the function runs once, after a join ----


def partial_return_with_names_from_one_arm(x, y):
    if x > 0.5:
        if y > 1.0:
            return x * y
        z = math.sin(x) * y      # z, w exist only where the arm went on
        w = (z, x * x)
    else:
        z = math.cos(y)
        w = (y, 2.0)
    t = z * w[0] + w[1]
    if t < -0.5:
        return t * t
    return t + x


def partial_return_in_a_helper(x):
    def clipped(v):
        if v > 2.0:
            if v > 3.0:
                return 3.0
            v = v * 0.5 + 1.0
        return v * v
    return clipped(x) + clipped(x * x)


def partial_return_through_elif(x):
    y = x
    if x < -1.0:
        return -x
    elif x < 0.5:
        if x < 0.0:
            return x * x
        y = math.exp(x)
    else:
        y = y + 1.0
    return y * x


def partial_return_of_arrays(x):
    s = np.sum(x)
    if s > 1.0:
        if s > 5.0:
            return s * s
        y = x * 2.0
    else:
        y = np.sin(x)
    return np.sum(y * y)


@pytest.mark.parametrize("f, points", [
    (partial_return_with_names_from_one_arm, [(0.8, 1.5), (0.8, 0.3), (0.8, -2.0), (0.2, 0.4),
                                              (0.2, 3.0), (-3.0, 0.1)]),
    (partial_return_in_a_helper, [(0.5,), (1.6,), (2.5,), (3.5,)]),
    (partial_return_through_elif, [(-2.0,), (-0.5,), (0.25,), (1.5,)]),
])
def test_returns_on_some_paths_of_an_arm(f, points):
    g = value_and_grad(f)
    for point in points:
        value, gradient = g(*point)
        assert value == pytest.approx(f(*point), rel=1e-14)
        want = mp_grad(f, point)
        got = gradient if isinstance(gradient, tuple) else (gradient,)
        assert all(close(a, b) for a, b in zip(got, want)), (point, got, want)


def test_returns_on_some_paths_with_arrays():
    g = grad(partial_return_of_arrays)
    for x in ([0.1, 0.2], [0.5, 0.9], [2.0, 4.0]):
        x = np.array(x)
        want = [float(w) for w in mp_grad(partial_return_of_arrays, (x,))[0]]
        assert np.allclose(g(x), want, rtol=1e-12), (x, g(x), want)


def test_returns_on_some_paths_stay_linear_in_size():
    # ten stages, each returning on some paths: 22k generated lines before (the rest of the
    # function was traced once per arm), now each stage adds a constant number of lines
    source = "def stages(x):\n    y = x\n" + "".join(
        f"    if x > {k}.5:\n        if y > 30:\n            return y\n        y = y * 1.5 + x\n"
        for k in range(10)) + "    return y\n"
    namespace = {}
    exec(compile(source, "<stages>", "exec"), namespace)
    import linecache
    linecache.cache["<stages>"] = (len(source), None, source.splitlines(True), "<stages>")
    g = grad(namespace["stages"])
    assert len(g.source.splitlines()) < 700


def test_sixty_stages_that_return_on_some_paths_compile():
    # each stage's rest is guarded at the function's level, so Python's limit of 100
    # indentation levels is never reached
    source = "def stages(x):\n    y = x\n" + "".join(
        f"    if x > {k}.5:\n        if y > 300:\n            return y\n        y = y * 1.05 + x\n"
        for k in range(60)) + "    return y\n"
    namespace = {}
    exec(compile(source, "<sixty>", "exec"), namespace)
    import linecache
    linecache.cache["<sixty>"] = (len(source), None, source.splitlines(True), "<sixty>")
    g = grad(namespace["stages"])
    for x in (0.2, 7.7, 30.0, 59.9, 400.0):
        assert close(g(x), mp_grad(namespace["stages"], (x,))[0])
    for x in (0.2, 3.7, 9.9, 40.0):
        assert close(g(x), mp_grad(namespace["stages"], (x,))[0])


def falls_off_on_some_path(x):
    if x > 0.0:
        if x > 1.0:
            return x
        y = x * 2.0
    else:
        return -x


def test_a_path_without_return_is_still_an_error():
    with pytest.raises(SymdiffError, match="reaches its end without 'return'"):
        grad(falls_off_on_some_path)(0.5)


def returns_only_on_paths_not_taken(a):
    v0 = a - a
    if a > 0.3:
        if v0 < -0.6:  # concrete: False
            return math.sin(a)
        a = math.sin(a)
    return a * a


def test_returns_only_on_paths_not_taken():
    # found by the random programs: an arm whose only return sits under a false concrete 'if'
    for x in (1.0, 0.1):
        assert close(grad(returns_only_on_paths_not_taken)(x),
                     mp_grad(returns_only_on_paths_not_taken, (x,))[0])


def round_arrays(x, k):
    return np.sum(np.round(x * 3.0, k) * x) + round(float(x[0]), 1) * x[1]


def round_digits_from_value(x):
    return round(x, x)


def test_round_with_ndigits_on_arrays_and_errors():
    x = np.array([0.123, 1.777, -2.5])
    g = grad(round_arrays, wrt="x")
    # d/dx_i: round(3 x_i, k) (the rounding is a step: derivative 0), plus round(x0, 1) for x1
    want = np.round(x * 3.0, 2)
    want[1] += round(0.123, 1)
    assert np.array_equal(g(x, 2), want)
    with pytest.raises(UnsupportedSyntaxError, match="round's argument 2 must be an int"):
        grad(round_digits_from_value)(2.0)
    with pytest.raises(symdiff.ExportError):
        symdiff.emit(round_to_digits, language="c")


def test_formulas_after_partial_returns_are_closed_and_right():
    g = grad(partial_return_with_names_from_one_arm)
    formulas = g.formulas
    x, y = sympy.symbols("x y", real=True)
    for name, formula in formulas.items():
        assert formula.free_symbols <= {x, y}, (name, formula)  # no named intermediates left
    for point in [(0.8, 1.5), (0.8, 0.3), (0.8, -2.0), (0.2, 0.4), (0.2, 3.0)]:
        want = mp_grad(partial_return_with_names_from_one_arm, point)
        for (name, formula), w in zip(formulas.items(), want):
            got = float(formula.subs({x: point[0], y: point[1]}))
            assert close(got, w), (name, point, got, float(w))


# ---- returns inside loops: each later iteration, and the code after the loop, run where no
# return was taken (one 'if returned < 0.5:' each, at the loop's level) ----


def piecewise_tax(income, rate_hi):
    brackets = [(10000.0, 0.1), (40000.0, 0.2)]
    tax = 0.0
    rest = income
    lower = 0.0
    for upper, rate in brackets:
        if rest <= 0:
            return tax
        band = min(rest, upper - lower)
        tax += band * rate
        rest -= band
        lower = upper
    if rest > 0:
        tax += rest * rate_hi
    return tax


def newton_sqrt(a, steps):
    x = a
    k = 0
    while k < steps:
        if abs(x * x - a) < 1e-9:
            return x
        x = 0.5 * (x + a / x)
        k += 1
    return x


def first_crossing(x):
    acc = []
    for k in range(6):
        acc.append(math.sin(x * (k + 1)))
        if acc[-1] < -0.5:
            return sum(acc) * x
        if k == 3:
            break  # concrete
    else:
        return -x
    return acc[0] * acc[-1]


@pytest.mark.parametrize("f, points, wrt", [
    (return_under_data_in_loop, [(0.3,), (0.5,), (1.0,), (3.0,)], None),
    (piecewise_tax, [(-5.0, 0.4), (5000.0, 0.4), (30000.0, 0.4), (90000.0, 0.45)], None),
    (newton_sqrt, [(2.0, 8), (9.0, 3), (1.0, 4)], "a"),
    (first_crossing, [(0.2,), (1.1,), (2.0,), (4.4,)], None),
])
def test_returns_inside_loops(f, points, wrt):
    g = value_and_grad(f, wrt=wrt)
    for point in points:
        value, gradient = g(*point)
        assert value == pytest.approx(f(*point), rel=1e-14)
        names = (wrt,) if wrt else None
        want = mp_grad(f, point, names) if names else mp_grad(f, point)
        got = gradient if isinstance(gradient, tuple) else (gradient,)
        assert all(close(a, b) for a, b in zip(got, want)), (point, got, want)


def test_returns_inside_a_long_loop_stay_flat():
    # 300 iterations that may each return: one guard per iteration, not 300 nested levels
    def leaky(x):
        y = x
        for k in range(300):
            if y > 50.0:
                return y
            y = y * 1.01 + 0.1
        return -y

    g = grad(leaky)
    depth = max(len(line) - len(line.lstrip()) for line in g.source.splitlines())
    assert depth <= 4 * 6
    for x in (0.5, 20.0, 60.0):
        assert close(g(x), mp_grad(leaky, (x,))[0])


# ---- 'break' on data: a broken-flag; the rest of the body, later iterations and the loop's
# 'else' run where it is 0; the paths that broke go on after the loop with their values ----


def fixed_point(x):
    y = 1.0
    for k in range(60):
        y_new = math.cos(x * y)
        if abs(y_new - y) < 1e-6:
            break
        y = y_new
    return y * x


def first_big(x):
    total = 0.0
    for k in range(8):
        term = math.exp(x * k) * 0.1
        if term > 2.0:
            total += 100.0 * term
            break
        total += term
    else:
        total = -total
    return total


def nested_break(x):
    s = 0.0
    for i in range(4):
        for j in range(4):
            if x * (i + j) > 2.5:
                break
            s += math.sin(x * i * j + x)
        s *= 1.1
    return s


@pytest.mark.parametrize("f, points", [
    (fixed_point, [0.3, 0.9, 1.4]),
    (first_big, [0.05, 0.3, 1.0]),
    (nested_break, [0.1, 0.55, 0.9, 2.0]),
    (break_on_data, [0.2, 0.7, 1.6, 5.0]),
])
def test_break_on_data(f, points):
    g = value_and_grad(f)
    for x in points:
        value, gradient = g(x)
        assert value == pytest.approx(f(x), rel=1e-14)
        assert close(gradient, mp_grad(f, (x,))[0]), (x, gradient)


def break_and_return(x):
    for k in range(3):
        if x > k:
            break
        if x < -k:
            return x
    return 2.0 * x


def break_or_continue(x):
    s = 0.0
    for k in range(3):
        if x > k:
            break
        else:
            continue
    return s + x


def list_grown_until_break(x):
    acc = []
    for k in range(5):
        if x * k > 2.0:
            break
        acc.append(x * k)
    return sum(acc)


@pytest.mark.parametrize("f, message", [
    (break_and_return, "'return' and 'break'"),
    (break_or_continue, "'break' and 'continue'"),
    (list_grown_until_break, "changing a list inside an 'if' on a differentiated value"),
])
def test_ways_out_of_loops_symdiff_refuses(f, message):
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(f)(0.5)
    assert all(word in str(info.value) for word in message.split(" and ")), str(info.value)


def skip_small(x):
    s = 0.0
    for k in range(6):
        term = math.sin(x * (k + 1))
        if term < 0.2:
            continue
        s += term * term
        if k == 4:
            continue  # concrete
        s += 0.1 * x
    return s


def break_after_skips(x):
    s = 0.0
    for k in range(8):
        if x * k < 1.0:
            continue
        s += math.log(x * k)
        if s > 1.5:
            break
    return s * x


@pytest.mark.parametrize("f, points", [
    (skip_small, [0.3, 1.0, 2.2, -0.7]),
    (continue_on_data, [0.2, 1.4, 2.5, 9.0]),
    (break_after_skips, [0.3, 0.9, 2.5]),
])
def test_continue_on_data(f, points):
    g = value_and_grad(f)
    for x in points:
        value, gradient = g(x)
        assert value == pytest.approx(f(x), rel=1e-14)
        assert close(gradient, mp_grad(f, (x,))[0]), (x, gradient)


# ---------------------------------------------------------------------------------------------
# A branch on a float parameter that is not differentiated, differentiated again
# ---------------------------------------------------------------------------------------------


def branch_on_undifferentiated(x, y):
    if x > 0:
        return math.sin(x * y) * y
    return math.exp(y) * x


def _branching_helper(x, y):
    if x > 0.5:
        return math.cos(y) * x * x
    return y ** 3


def helper_branching_on_undifferentiated(x, y):
    return _branching_helper(x, y) * y + x * y


UNDIFFERENTIATED_POINTS = [(1.0, 0.5), (-1.0, 0.5), (0.7, -1.2), (-2.0, -0.7), (0.2, 1.3)]


@pytest.mark.parametrize("f", [branch_on_undifferentiated, helper_branching_on_undifferentiated])
def test_grad_of_grad_through_a_branch_on_a_parameter_not_differentiated(f):
    # 'if x > 0' with x not differentiated: an int x is specialised on at the call, but the
    # all-floats trace (made before any call) keeps it as a branch, so grad(f, wrt="y") has
    # generated code to differentiate again, read at once
    g = grad(f, wrt="y")
    assert "if x > 0" in g.source
    for outer in ("y", "x"):
        gg = grad(g, wrt=outer)
        assert "if x > 0" in gg.source
        for inner in ("y", "x"):
            ggg = grad(gg, wrt=inner)
            for point in UNDIFFERENTIATED_POINTS:
                want = mp_partial(f, point, ("y", outer, inner))
                got = ggg(*point)
                assert isinstance(got, float) and close(got, want, rtol=1e-9, atol=1e-10), \
                    (outer, inner, point, got, float(want))
        for point in UNDIFFERENTIATED_POINTS:
            got = gg(*point)
            assert type(got) is float, type(got)
            assert close(got, mp_partial(f, point, ("y", outer)), rtol=1e-10, atol=1e-12), \
                (outer, point, got)
    both = grad(g)  # with respect to x and y: the row of f's Hessian for y
    hess = symdiff.hessian(g)  # the third derivatives d^3 f / dy da db
    for point in UNDIFFERENTIATED_POINTS:
        for got, outer in zip(both(*point), ("x", "y")):
            assert type(got) is float and close(got, mp_partial(f, point, ("y", outer)),
                                                 rtol=1e-10, atol=1e-12)
        got = hess(*point)
        for r, a in enumerate("xy"):
            for c, b in enumerate("xy"):
                want = mp_partial(f, point, ("y", a, b))
                assert close(got[r, c], want, rtol=1e-9, atol=1e-10), (point, a, b)
    # an int x: specialised on (the 'if' decided when traced), the same derivatives
    gg = grad(g, wrt="y")
    for x in (2, -1):
        assert close(gg(x, 0.5), mp_partial(f, (x, 0.5), ("y", "y")), rtol=1e-10, atol=1e-12)


def power_by_recursion(x, k):
    if k <= 0:
        return math.sin(x)
    return x * power_by_recursion(x, k - 1) + 0.5


def test_recursion_on_an_int_count_waits_for_the_call_and_says_why():
    # the 'if' on k drives a recursion: as a branch it would fork at every level, so the trace
    # waits for the call (k an int); before it, what the gradient is says so, truthfully
    g = grad(power_by_recursion, wrt="x")
    with pytest.raises(SymdiffError) as info:
        _ = g.source
    assert "an 'if' on k, which is not differentiated" in info.value.message
    assert "loop count" not in info.value.message and "array" not in info.value.message
    gg = grad(g, wrt="x")
    hess = symdiff.hessian(g, wrt="x")  # of the gradient: d^3/dx^3, here as a 1x1 matrix
    for point in [(0.7, 3), (-1.3, 2), (0.4, 0)]:
        assert close(g(*point), mp_partial(power_by_recursion, point, ("x",)))
        got = gg(*point)
        assert type(got) is float, type(got)
        assert close(got, mp_partial(power_by_recursion, point, ("x", "x")), rtol=1e-10)
        assert close(hess(*point)[0, 0], mp_partial(power_by_recursion, point, ("x", "x", "x")),
                     rtol=1e-9, atol=1e-10)
