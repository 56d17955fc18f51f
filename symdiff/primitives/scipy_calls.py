"""scipy_calls: ``scipy.special``'s elementwise functions, known once a function calls one.

Takes: nothing at import — symdiff does not import scipy (a function that calls
``scipy.special.expit`` has imported it already). ``ensure()``, called by the tracer when it meets a
callable it does not know while ``scipy.special`` is loaded, registers each function below
(``user_rules.register``): the generated code calls scipy's own function for values (bit for bit
what the user's code computes), and the derivatives are the closed forms written here as ordinary
Python, which symdiff reads like any differentiated code (so they differentiate again).
Returns: nothing.

C export and emitted modules do not carry scipy: they refuse such a function with a located error.
"""

import math
import sys

import numpy as np

from . import user_rules

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_done = []


def ensure():
    """Register scipy.special's functions (once, and only if scipy.special is loaded)."""
    if _done or "scipy.special" not in sys.modules:
        return
    _done.append(True)
    global special
    special = sys.modules["scipy.special"]  # what the rules below read
    for name, derivatives in _RULES.items():
        func = getattr(special, name, None)
        if func is not None:
            user_rules.register(func, derivatives, name=name)


# ---- the derivatives (each a function of the same arguments) ----
def expit_slope(x):
    e = special.expit(x)
    return e * (1.0 - e)


def logit_slope(p):
    return 1.0 / (p * (1.0 - p))


def erf_slope(x):
    return 2.0 / _SQRT_PI * np.exp(-x * x)


def erfc_slope(x):
    return -2.0 / _SQRT_PI * np.exp(-x * x)


def erfinv_slope(y):
    v = special.erfinv(y)
    return _SQRT_PI / 2.0 * np.exp(v * v)


def erfcinv_slope(y):
    v = special.erfcinv(y)
    return -_SQRT_PI / 2.0 * np.exp(v * v)


def ndtr_slope(x):
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def log_ndtr_slope(x):
    return np.exp(-0.5 * x * x - special.log_ndtr(x)) / _SQRT_2PI


def gammaln_slope(x):
    return special.psi(x)


def gamma_slope(x):
    return special.gamma(x) * special.psi(x)


def psi_slope(x):
    return special.polygamma(1, x)


def polygamma_order(n, x):
    return 0.0 * x  # n is an int: no derivative


def polygamma_slope(n, x):
    return special.polygamma(n + 1, x)


def xlogy_x(x, y):
    return np.log(y)


def xlogy_y(x, y):
    return x / y


def xlog1py_x(x, y):
    return np.log1p(y)


def xlog1py_y(x, y):
    return x / (1.0 + y)


def i0_slope(x):
    return special.i1(x)


def i1_slope(x):
    return np.where(x == 0.0, 0.5, special.i0(x) - special.i1(x) / np.where(x == 0.0, 1.0, x))


special = None  # scipy.special, once ``ensure`` ran

_RULES = {
    "expit": expit_slope, "logit": logit_slope, "erf": erf_slope, "erfc": erfc_slope,
    "erfinv": erfinv_slope, "erfcinv": erfcinv_slope, "ndtr": ndtr_slope,
    "log_ndtr": log_ndtr_slope, "gammaln": gammaln_slope, "gamma": gamma_slope,
    "psi": psi_slope, "digamma": psi_slope, "polygamma": (polygamma_order, polygamma_slope),
    "xlogy": (xlogy_x, xlogy_y), "xlog1py": (xlog1py_x, xlog1py_y), "i0": i0_slope,
    "i1": i1_slope,
}
