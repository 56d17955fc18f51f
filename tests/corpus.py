"""The shared corpus: ordinary numerical functions, each with points to differentiate at.

Every function here is checked against ``tests/reference.py`` (its own source over mpmath at 50
digits). Add a function with ``@case(point, point, ...)``; ``wrt=`` limits the differentiated
parameters. Later issues extend this file (control flow, arrays).
"""

import math
from math import exp, pi, sin

import numpy as np

CORPUS = []

SCALE = 1.5  # a module-level constant read by some functions


def case(*points, wrt=None):
    def register(f):
        CORPUS.append((f, points, wrt))
        return f

    return register


# ---- the seed and plain arithmetic ----
@case((2.0,), (-0.7,), (0.3,))
def seed(x):
    y = x ** 2
    z = math.sin(y)
    return math.exp(z)


@case((1.5, -2.0), (0.25, 3.0))
def poly2(x, y):
    return 3 * x ** 3 - 2 * x * y + y ** 2 / 4 - 7


@case((1.3, 0.4),)
def division_and_negation(a, b):
    c = -a / (b + 2)
    d = +c - a / 3
    return c * d - 1 / a


@case((0.8,), (2.5,))
def reassignment(x):
    x = math.sin(x) * x + x ** 2
    x = math.sin(x) * x + x ** 2
    x = math.sin(x) * x + x ** 2
    return x


@case((1.1, 0.6))
def augmented(x, y):
    z = x
    z += y
    z *= x
    z -= y / 2
    z /= 1 + y * y
    z **= 2
    return z


@case((0.4, 1.7))
def tuple_unpacking_and_swap(a, b):
    p, q = a * b, a + b
    p, q = q, p
    (r, s) = [p - q, p * q]
    return r * s + p


@case((0.9,))
def chained_assignment(x):
    a = b = x * 3
    return a * b + a


@case((1.2,))
def annotated(x):
    """A docstring, an annotation and a pass."""
    y: float = x * x
    pass
    return y * x


@case((0.5, 2.0), (1.5, 3.0))
def with_default(x, k=2.0):
    return x ** k + k * x


@case((0.7, 3))
def int_parameter(x, n):
    return x ** n + n * x


@case((2.0,), (0.3,))
def int_literals_become_floats(x):
    return 7 * x + 3


@case((0.6,))
def unused_statements(x):
    waste = math.exp(x) * 100
    waste2 = waste + 1
    return x * x


@case((0.8, 0.3))
def constant_subexpressions(x, y):
    c = math.sqrt(2) * math.cos(0.5) + 3 ** 2
    return c * x + math.sin(c) * y


# ---- the math module ----
@case((0.3,), (-1.2,))
def trig(x):
    return math.sin(x) * math.cos(2 * x) + math.tan(x / 3)


@case((0.3,), (-0.6,))
def inverse_trig(x):
    return math.asin(x) + math.acos(x / 2) + math.atan(3 * x)


@case((1.0, 2.0), (-1.0, 0.5), (0.3, -2.0))
def atan2_both_sides(y, x):
    return math.atan2(y, x)


@case((0.4,), (-1.1,))
def hyperbolic(x):
    return math.sinh(x) + math.cosh(x) * math.tanh(x)


@case((0.4,), (2.5,))
def inverse_hyperbolic(x):
    return math.asinh(x) + math.acosh(x + 2) + math.atanh(x / 3)


@case((0.7,), (3.2,))
def exp_and_logs(x):
    return math.exp(x) + math.expm1(x / 2) + math.log(x) + math.log1p(x)


@case((0.7,), (3.2,))
def log_bases(x):
    return math.log2(x) + math.log10(x) + math.log(x, 3) + math.log(7, x + 1)


@case((2.3, 1.4))
def powers(x, y):
    return math.sqrt(x) + math.pow(x, y) + pow(y, 3) + x ** y + 2 ** x + x ** 0.5


@case((0.3, 0.4, 1.2))
def hypot_forms(x, y, z):
    return math.hypot(x, y) + math.hypot(x, y, z) + math.hypot(z)


@case((0.6,), (-0.6,))
def absolute_values(x):
    return math.fabs(x) * 2 + abs(x) ** 3 + abs(x - 2)


@case((0.5,), (-0.9,))
def error_functions(x):
    return math.erf(x) + math.erfc(2 * x)


@case((2.5,), (0.7,), (4.1,))
def gamma_functions(x):
    return math.gamma(x) + math.lgamma(x) * x


@case((0.3,))
def constants(x):
    return math.pi * x + math.e ** x + math.tau * math.sin(x)


@case((0.9,))
def imported_names(x):
    return exp(sin(x)) * pi


@case((0.8,))
def module_constant(x):
    return SCALE * x ** 2


# ---- numpy on scalars ----
@case((0.4,), (1.9,))
def numpy_elementwise(x):
    return np.exp(np.sin(x ** 2)) + np.arctan(x) + np.sqrt(x) * np.log(x)


@case((0.4, 1.2), (-0.5, 0.3))
def numpy_binary(x, y):
    return np.arctan2(x, y) + np.power(y, 2) + np.hypot(x, y) + np.logaddexp(x, y)


@case((0.6,), (-2.0,))
def numpy_unary_forms(x):
    return np.square(x) + np.reciprocal(x + 3) + np.abs(x) + np.cbrt(x) + np.exp2(x)


@case((0.3,), (0.9,))
def numpy_inverse(x):
    return np.arcsin(x) + np.arccos(x) * np.arcsinh(x) + np.arctanh(x / 2) + np.log1p(x)


@case((1.5,))
def numpy_logs(x):
    return np.log2(x) + np.log10(x) + np.expm1(x) + np.logaddexp2(x, 1.0) + np.arccosh(x)


@case((0.2, 0.5))
def numpy_arithmetic_ufuncs(x, y):
    return np.add(x, y) * np.multiply(x, 2) - np.subtract(y, x) / np.divide(x, y) + np.negative(x)


# ---- partial differentiation ----
@case((0.4, 1.5, 2.0), wrt=("z", "x"))
def three_params_some(x, y, z):
    return x * y * z + math.sin(x * z) - y


@case((1.2, -0.3), wrt=("y",))
def independent_of_x(x, y):
    return x ** 2 + math.exp(y)


@case((0.7,))
def many_paths(x):
    a = x * 2
    b = math.sin(a) + a
    c = a * b
    d = c + b * a + math.cos(c)
    return d * a + b
