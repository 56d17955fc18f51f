"""The control-flow corpus: branches, loops, helpers and builtins in ordinary numerical functions.

Like ``tests/corpus.py``: each function is checked against ``tests/reference.py`` (its own source
re-executed over mpmath at 50 digits). Every branch on a differentiated value has evaluation points
on both of its sides, away from the boundary and from kinks. ``wrt=("x",)`` with an int argument
means the int is a loop count / switch that symdiff specialises on (and the reference keeps int).
"""

import math
from math import copysign, floor

from . import helpers_module
from .helpers_module import shifted_sin, smooth_step, taylor_exp

CONTROL_CORPUS = []

DEBUG = False  # a dead branch 'if DEBUG:' must not even be translated
N_TERMS = 4  # a module-level int that counts a loop
WEIGHTS = (0.5, -1.25, 2.0)  # a module-level tuple of constants
RATE = 0.3  # a module-level float


def case(*points, wrt=None):
    def register(f):
        CONTROL_CORPUS.append((f, points, wrt))
        return f

    return register


# ---- if / elif / else on data ----
@case((0.7,), (-0.5,))
def if_else(x):
    if x > 0:
        y = math.sin(x) * x
    else:
        y = x ** 3 + 1
    return y * 2


@case((-1.5,), (0.5,), (2.5,))
def if_elif_else(x):
    if x < 0:
        y = math.exp(x)
    elif x < 1:
        y = 1 + x + x * x / 2
    else:
        y = math.log(x) * 3 + 2.5
    return y + x


@case((0.5, 0.8), (0.5, -0.8), (-0.5, 0.8), (-0.5, -0.8))
def nested_if(x, y):
    if x > 0:
        if y > 0:
            r = x * y
        else:
            r = x - y * y
    else:
        if y > 0:
            r = math.sin(x + y)
        else:
            r = x * x * y
    return r * 1.5


@case((0.3,), (1.7,))
def if_without_else(x):
    y = x * x
    if x > 1:
        y = y * math.cos(x)
    return y + x


@case((0.4,), (1.4,))
def branch_on_intermediate(x):
    s = math.sin(3 * x)
    if s > 0:
        t = s * x
    else:
        t = -s * x * x
    return t + s


@case((0.6,), (2.0,))
def if_on_data_elif_chain_with_return_value(x):
    if x > 1.5:
        scale = 2.0
        shift = x
    elif x > 0.5:
        scale = x
        shift = 1.0
    else:
        scale = -1.0
        shift = x * x
    return scale * math.exp(shift)


# ---- early return ----
@case((-0.5,), (1.2,))
def early_return(x):
    if x < 0:
        return math.exp(x)
    y = x * x + 1
    return math.log(y) + 1


@case((-2.0,), (-0.5,), (0.5,), (3.0,))
def several_early_returns(x):
    if x < -1:
        return -x
    if x < 0:
        return x * x + x
    z = math.sqrt(x)
    if z > 1:
        return z * x
    return z + x


@case((0.4,), (-0.4,))
def early_return_in_else(x):
    y = 2 * x
    if y > 0:
        w = y * y
    else:
        return math.cos(y)
    return w + y


@case((25.0,), (0.5,), (-30.0,))
def stable_softplus(x):
    if x > 20:
        return x
    if x < -20:
        return math.exp(x)
    return math.log1p(math.exp(x))


# ---- different names in each branch ----
@case((1.5,), (0.5,))
def different_names_per_branch(x):
    if x > 1:
        a = x * 2
        b = a * a
        r = a + b
    else:
        c = math.sin(x)
        r = c * c
    return r * x


@case((1.3, 0.5), (-1.3, 0.5))
def swapped_in_branch(x, y):
    a, b = x, y
    if x < 0:
        a, b = b, a
    return a * a * b + b


@case((0.7,), (-0.7,))
def tuple_assigned_in_both_branches(x):
    if x > 0:
        p = (x, 2 * x)
    else:
        p = (-x, x * x)
    return p[0] * p[1] + p[0]


# ---- conditional expressions, and/or/not, chained comparisons ----
@case((0.8,), (-0.8,))
def conditional_expression(x):
    y = x ** 2 if x > 0 else -x
    return y * x + (math.exp(x) if y > 0.5 else y)


@case((0.3,), (1.3,), (-0.3,))
def nested_conditional_expression(x):
    return x * x if x > 1 else (math.sin(x) if x > 0 else x ** 3)


@case((0.5, 0.5), (0.5, -0.5), (-0.5, 0.5), (-0.5, -0.5))
def and_condition(x, y):
    if x > 0 and y > 0:
        return x * y
    return x + y * y


@case((0.5, 0.5), (0.5, -0.5), (-0.5, 0.5), (-0.5, -0.5))
def or_condition(x, y):
    if x > 0 or y > 0:
        r = math.exp(x * y)
    else:
        r = x * y
    return r


@case((0.5,), (-0.5,))
def not_condition(x):
    if not x > 0:
        return x * x
    return math.sin(x)


@case((0.5,), (-0.5,), (1.5,))
def chained_comparison(x):
    if 0 < x < 1:
        return x * (1 - x)
    return x * x * 0.25


@case((0.2, 0.6), (0.6, 0.2), (-2.0, 0.5), (0.5, 3.0))
def chained_comparison_three(x, y):
    return x * y if -1 < x <= y < 2 else x - y


@case((0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (-0.5, 0.5, -0.5), (0.5, 0.5, -2.0))
def mixed_boolean(x, y, z):
    if (x > 0 and not y < 0) or z < -1:
        return x * y * z
    return x + y + z


# ---- conditions concrete at trace time ----
@case((0.9,))
def concrete_conditions(x):
    if 2 > 1:
        y = x * 3
    else:
        y = undefined_name_never_read  # noqa: F821 (dead branch)
    if 0:
        y = y + 100
    if N_TERMS == 4 and y is not None:
        y = y * x
    return y


@case((0.6,), (-0.6,))
def debug_dead_branch(x):
    y = math.sin(x)
    if DEBUG:
        print("y =", y)
        with open("log.txt", "w") as handle:
            handle.write(str(y))
    return y * x


@case((0.5, 1), (0.5, 3), (-0.5, 3), wrt=("x",))
def int_parameter_condition(x, n):
    if n > 2:
        y = x ** n
    else:
        y = math.sin(x) * n
    if x > 0:
        return y + x
    return y


@case((0.8,),)
def len_of_tuple(x):
    coeffs = (1.0, -2.0, 0.5, 3.0)
    total = 0.0
    if len(coeffs) > 3:
        for i in range(len(coeffs)):
            total = total + coeffs[i] * x ** i
    return total


# ---- loops ----
@case((0.7,), (-1.3,))
def for_range_constant(x):
    acc = 0.0
    for k in range(1, 6):
        acc = acc + math.sin(k * x) / k
    return acc


@case((0.7, 3), (0.7, 7), (-0.4, 0), (1.1, 5), wrt=("x",))
def for_range_int_param(x, n):
    y = x
    for k in range(n):
        y = math.sin(y) + x * k / 10
    return y


@case((0.7, 3, 8), (0.3, 0, 5), wrt=("x",))
def for_range_start_stop_step(x, a, b):
    total = 0.0
    for k in range(a, b, 2):
        total = total + x ** k
    return total


@case((0.5,), (2.0,))
def for_over_tuple_of_constants(x):
    total = 0.0
    for c in (0.5, 1.5, -2.0):
        total = total + math.exp(c * x)
    for w in WEIGHTS:
        total = total * w + x
    return total


@case((0.5,), (-1.5,))
def for_over_list(x):
    values = [x, x * x, math.sin(x)]
    total = 1.0
    for v in values:
        total = total * (1 + v)
    return total


@case((0.3,), (1.2,))
def enumerate_loop(x):
    total = 0.0
    for i, c in enumerate((3.0, -1.0, 0.5, 2.0)):
        total = total + c * x ** i
    return total


@case((0.3, 0.9), (1.2, -0.4))
def zip_loop(x, y):
    total = 0.0
    for a, b in zip((x, y, x * y), (1.0, 2.0, 3.0)):
        total = total + a * b + a * a
    return total


@case((0.4,), (1.6,))
def while_concrete(x):
    k = 0
    y = x
    while k < 5:
        y = y - (y * y - 2.0) / (2 * y) * 0.5 + x / 10
        k += 1
    return y


@case((0.4,), (-0.6,))
def break_concrete(x):
    total = 0.0
    for k in range(100):
        if k == 4:
            break
        total = total + x ** (k + 1)
    return total


@case((0.4,), (-0.6,))
def continue_concrete(x):
    total = 0.0
    for k in range(7):
        if k % 2 == 1:
            continue
        total = total + math.cos(k * x)
    return total


@case((0.4,))
def while_true_with_break(x):
    k = 0
    y = x
    while True:
        y = y * x + 1
        k += 1
        if k >= 3:
            break
    return y


@case((0.4,), (1.1,))
def for_else(x):
    y = x
    for k in range(3):
        y = y * y - x
    else:
        y = y + 1
    return y


@case((0.4, 0.2), (-0.4, 1.3))
def nested_loops(x, y):
    total = 0.0
    for i in range(3):
        for j in range(i, 3):
            total = total + x ** i * y ** j
    return total


@case((0.4,), (1.4,), (2.6,))
def data_branch_inside_loop(x):
    acc = 0.0
    for k in range(4):
        if x > k * 0.8:
            acc = acc + x * k
        else:
            acc = acc - x * x
    return acc


@case((0.5,), (2.5,))
def module_int_loop_count(x):
    y = 1.0
    for _ in range(N_TERMS):
        y = y * x + RATE
    return y


# ---- helpers ----
def _cube(t):
    return t * t * t


def _piecewise_helper(t):
    if t > 0:
        return t * t
    return -t


def _helper_with_defaults(t, scale=2.0, *, power=2):
    return scale * t ** power


@case((0.6,), (-0.6,))
def module_level_helpers(x):
    return _cube(x) + _piecewise_helper(x) + _piecewise_helper(x - 1)


@case((0.6,))
def helper_keyword_arguments(x):
    return _helper_with_defaults(x) + _helper_with_defaults(x, 0.5, power=3) + _helper_with_defaults(t=x, scale=x)


@case((-0.5,), (0.5,), (1.5,))
def imported_helpers(x):
    return smooth_step(x) * 2 + shifted_sin(x) + taylor_exp(x) + helpers_module.smooth_step(x / 2)


@case((0.7,), (-0.3,))
def nested_def(x):
    def inner(t):
        u = t * x
        return math.sin(u) + t

    return inner(x) + inner(2 * x)


@case((0.7,), (-0.3,))
def lambda_helper(x):
    square = lambda t: t * t  # noqa: E731
    shift = lambda t, c=1.0: t + c  # noqa: E731
    return square(shift(x)) + (lambda t: t * x)(3.0)


def _make_scaled(scale, offset):
    def scaled(x):
        return scale * math.sin(x) + offset * x

    return scaled


closure = case((0.7,), (-1.1,))(_make_scaled(2.5, 0.75))


@case((0.7,), (-1.1,))
def closure_over_local(x):
    k = x * x

    def add_k(t):
        return t + k

    return add_k(x) * add_k(1.0)


def _power_rec(x, k):
    if k == 0:
        return 1.0
    return x * _power_rec(x, k - 1)


def _fib_poly(x, n):
    if n < 2:
        return x if n == 1 else 1.0
    return x * _fib_poly(x, n - 1) + _fib_poly(x, n - 2)


@case((0.7,), (-1.1,))
def recursion_concrete_depth(x):
    return _power_rec(x, 5) + _fib_poly(x, 6)


@case((0.7, 4), (0.7, 9), wrt=("x",))
def recursion_int_param(x, n):
    return _power_rec(x, n)


@case((0.2,), (-0.8,))
def helper_with_data_branch_called_twice(x):
    return _piecewise_helper(x) * _piecewise_helper(x + 0.5)


# ---- builtins ----
@case((0.5, 1.5), (1.5, 0.5))
def min_max_two(x, y):
    return max(x, y) * 2 + min(x, y) ** 2


@case((0.1, 0.5, 0.9), (0.9, 0.1, 0.5), (0.5, 0.9, 0.1))
def min_max_many(x, y, z):
    return max(x, y, z) + min(x, y, z, 0.7) * 3 + max([x * y, y * z, x * z])


@case((2.0,), (0.5,), (-0.5,))
def clip_with_min_max(x):
    return min(max(x, 0.0), 1.0) * x


@case((0.3,), (-0.7,))
def sum_generator(x):
    return sum(x ** k / (k + 1) for k in range(5))


@case((0.3,), (-0.7,))
def sum_list_comprehension(x):
    terms = [math.sin(k * x) for k in range(1, 4)]
    return sum(terms) + sum([t * t for t in terms], 1.0) + sum(c * x for c in WEIGHTS if c > 0)


@case((0.3,))
def float_call(x):
    return float(x) * float(3) + float(x * x)


@case((2.3,), (-1.6,))
def floor_ceil_round(x):
    return math.floor(x) * x + math.ceil(x) * x * x + round(x) * math.sin(x) + floor(x / 2)


@case((2.3,), (-1.6,), (7.9,))
def floordiv_and_mod(x):
    return (x // 1.5) * x + x % 1.5 + (x * x) % 2.0 + 7.0 % (x + 10)


@case((2.0, 0.5), (2.0, -0.5), (-2.0, 0.5), (-2.0, -0.5))
def copysign_cases(x, y):
    return math.copysign(x, y) * x + copysign(x * x, -1.0)


@case((0.6,), (-0.6,))
def huber(x):
    delta = 0.5
    a = abs(x)
    if a <= delta:
        return 0.5 * x * x
    return delta * (a - 0.5 * delta)


# ---- combinations: what ordinary numerical code looks like ----
KNOTS = (-1.0, 0.0, 0.5, 1.5)
KNOT_WEIGHTS = (0.5, -1.0, 2.0, -0.75)


@case((-1.5,), (-0.5,), (0.25,), (1.0,), (2.0,))
def truncated_power_spline(x):
    acc = x
    for i, k in enumerate(KNOTS):
        if x > k:
            acc = acc + KNOT_WEIGHTS[i] * (x - k) ** 3
    return acc


@case((0.5,), (3.0,))
def bisection_sqrt_is_piecewise_constant(x):
    lo, hi = 0.0, 4.0
    for _ in range(20):
        mid = (lo + hi) / 2
        if mid * mid > x:
            hi = mid
        else:
            lo = mid
    return lo + x


@case((0.8, 0.5), (2.0, -0.3))
def euler_steps(y0, a):
    y = y0
    h = 0.1
    for _ in range(10):
        slope = a * y - y * y * y
        if slope > 1:
            slope = 1 + math.log(slope)
        y = y + h * slope
    return y


@case((0.3,), (2.0,), (-3.0,))
def safeguarded_newton(x):
    # a fixed number of Newton steps for t**3 + t = x, clamped to a bracket
    t = 0.0
    for _ in range(8):
        step = (t * t * t + t - x) / (3 * t * t + 1)
        t = min(max(t - step, -5.0), 5.0)
    return t * t


@case((0.4, 1.3), (1.3, 0.4), (-0.6, -0.2))
def helper_with_branch_in_loop(x, y):
    total = 0.0
    for k in range(3):
        total = total + _piecewise_helper(x - k * y) * smooth_step(y + k / 4)
    return total


@case((0.7,), (-0.7,))
def branch_reuses_common_subexpression(x):
    e = math.exp(x)
    s = e * x
    if x > 0:
        r = s * e + math.sin(s)
    else:
        r = s - e * e
    return r * s + e


@case((0.7, 3), (0.7, 0), (-1.2, 12), wrt=("x",))
def break_on_int_parameter(x, n):
    total = 0.0
    for k in range(10):
        if k >= n:
            break
        total = total + x ** (k + 1)
    return total


@case((0.7, 3), (0.7, 11), wrt=("x",))
def return_on_int_parameter_in_loop(x, n):
    y = x
    for k in range(10):
        if k == n:
            return y * k
        y = y * math.cos(y)
    return y


@case((0.7, 2, 1.5), (0.7, 5, -0.5), wrt=("x", "c"))
def int_and_float_parameters(x, n, c):
    y = x
    for _ in range(n):
        y = y * c + math.sin(y)
    if n > 3 and c > 0:
        y = y * 2
    return y


@case((0.5,), (-1.3,))
def reversed_loops(x):
    coeffs = [1.0, -0.5, 0.25, 2.0]
    acc = 0.0
    for c in reversed(coeffs):  # Horner from the highest power
        acc = acc * x + c
    for k in reversed(range(1, 4)):
        acc = acc + math.sin(k * x)
    for v in reversed((x, x * x)):
        acc = acc * v
    return acc


@case((1.958, 0.052), (0.3, 1.2), (-0.5, -0.4))
def min_max_of_related_values(x, y):
    # SymPy simplifies min(y - c, y) to y - c and max(y, y + 1) to y + 1: they must stay right
    t = 0.9 if x > 0.71 else 0.0
    a = max(min(y - 0.126, y), t)
    b = max(a, a + 1, x * x) + min(x, x + 2, y * y)
    return a * b + max(y, y + 1)


# ---- differentiated again: grad(grad(f)) re-reads generated code whose forward 'if' computes
# values that only the reverse 'if' on the same condition reads (test_control_flow checks second
# and third derivatives of every function here; these are the shapes that were refused) ----
@case((0.5,), (0.1,), (1.6,))
def acos_above_threshold(x):
    if x > 0.3:
        return math.acos(0.5 * x)
    return x * x


@case((0.7,), (0.2,))
def early_return_on_intermediate(x):
    a = x * 2
    if a > 1:
        return math.sin(a) * x
    b = math.exp(a)
    return b * a


@case((2.0,), (0.5,), (-1.0,))
def nested_if_three_ways(x):
    if x > 0:
        if x > 1:
            y = math.log(x)
        else:
            y = x ** 3
    else:
        y = math.cos(x)
    return y * x


@case((1.0,), (0.0,), (-0.7,))
def conditional_expression_squared(x):
    y = math.sin(x) if x > 0.5 else math.exp(x)
    return y * y + (x * y if y > 0.6 else math.atan(y))


@case((0.5,), (-0.5,), (2.0,))
def max_min_abs_mixed(x):
    return max(x * x, math.sin(x)) + abs(x - 0.2) * x + min(x, 0.5 * math.cos(x)) * x


@case((1.0, 0.3), (0.2, 0.3), (1.0, -0.4), (0.2, -0.4))
def read_under_the_same_condition(x, y):
    if x > 0.5:
        b = math.exp(x * y)
    c = x * y
    if x > 0.5:
        return b * c
    return c * c + y


@case((1.3,), (0.7,), (-0.3,))
def branch_in_unrolled_loop(x):
    y = x
    for k in range(3):
        if x > 0.5 * k:
            y = y * x
        else:
            y = y + math.sin(x)
    return y


@case((1.0,), (0.1,), (2.5,))
def compound_condition(x):
    if x > 0.3 and x < 2:
        r = math.exp(-x) * x
    else:
        r = math.cos(x) + x * x
    return r * x


@case((0.5,), (-0.5,))
def log_and_sqrt_behind_conditions(x):
    # the untaken arms would raise (log, sqrt of a negative number): no derivative may run them
    if x > 0:
        return x * math.log(x) + math.sqrt(x)
    return x ** 3 - x


@case((0.5,), (-0.5,))
def relu_cubed(x):
    return max(x, 0.0) ** 3 + x


@case((0.6, 0.7), (0.1, 0.3), (-0.6, 0.7))
def hypot_or_atan(x, y):
    if x * y > 0.2:
        r = math.hypot(x, y)
    else:
        r = math.atan(x - y)
    return r * y + x


@case((1.5,), (0.5,), (-0.5,), (-2.0,))
def several_returns_then_tail(x):
    if x > 1:
        return math.sqrt(x) * x
    s = math.sin(x)
    if x < -1:
        return s * x * x
    t = s + x * x
    if t > 0:
        return t * math.exp(x)
    return t - x
