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
import sympy

from . import arrays, registry, user_rules
from ..errors import ShapeError
from ..frontend.parse import located

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_done = []


def ensure():
    """Register scipy.special's functions (once, and only if scipy.special is loaded), and
    scipy.stats.norm's methods once scipy.stats is."""
    global special, stats
    if not _done and "scipy.special" in sys.modules:
        _done.append(True)
        special = sys.modules["scipy.special"]  # what the rules below read
        for name, derivatives in _RULES.items():
            func = getattr(special, name, None)
            if func is not None:  # built-in records: symdiff.register replaces, unregister restores
                user_rules.register(func, derivatives, name=name, library="scipy")
        from .numpy_calls import _Entry
        from ..frontend.signatures import signature_of

        for name, (supported, handler) in _REDUCTIONS.items():  # logsumexp, softmax, log_softmax
            func = getattr(special, name, None)
            if func is not None:
                entry = _Entry(f"scipy.special.{name}", signature_of(func), supported, handler)
                registry.add(registry.Primitive(f"scipy.special.{name}", (func,), library="scipy",
                                                kind="array", handler=entry))
    if not _stats_done and "scipy.stats" in sys.modules:
        _stats_done.append(True)
        stats = sys.modules["scipy.stats"]
        for name, (func, derivatives) in _NORM_RULES.items():
            user_rules.register(func, derivatives, name=f"norm_{name}", library="scipy")


def distribution_method(obj, name):
    """``scipy.stats.norm.logpdf`` & co. (read as an attribute of the distribution object): a
    Python function of ``(x, loc=0.0, scale=1.0)`` that symdiff reads and inlines, calling the
    registered ``norm_<name>(x, loc, scale)``; None for anything else."""
    ensure()
    if stats is None or obj is not getattr(stats, "norm", None):
        return None
    return _NORM_METHODS.get(name)


# ---- logsumexp, softmax, log_softmax: reductions, written with arrays.LogSumExp ----
def _logsumexp(tracer, node, p, name):
    """``logsumexp(a, axis=None, b=None, keepdims=False)`` of traced values: a ``LogSumExp``
    (generated code: ``_logsumexp``, shifted by the maximum), kept dims as a reshape."""
    from .numpy_calls import _check_axis, _keepdims, _kept

    a, b, axis = p["a"], p["b"], p["axis"]
    keep = _keepdims(tracer, node, name, p)
    if not tracer.is_symbolic(a) and not tracer.is_symbolic(b) and not isinstance(a, (list, tuple)):
        return special.logsumexp(a, axis=axis, b=b, keepdims=keep)  # concrete: scipy computes it
    a = tracer.as_value(a, node)
    shape = tracer.shape(a)
    if axis is not None and not shape:
        tracer.check_guess(a)  # a parameter assumed a number before the first call
    _check_axis(tracer, node, name, axis, shape)
    axes = arrays._normal_axes(axis, len(shape))
    operands = [tracer.atom(a, "a")]
    if b is not None:
        b = tracer.as_value(b, node)
        try:
            fits = arrays.broadcast(tracer.shape(b), shape) == tuple(shape)
        except ValueError:
            fits = False
        if not fits:
            tracer.check_guess(b)
            raise located(ShapeError, f"{name}: b of shape {tracer.shape(b)} for a of shape {shape} "
                          "(symdiff takes a b that broadcasts to a's shape)", tracer.frame.parsed, node,
                          hint="give b the shape of a (np.broadcast_to)")
        operands.append(tracer.atom(b, "b"))
    out = tuple(arrays.reduced_shape(shape, axes))
    result = tracer.array_op(arrays.LogSumExp.make(*operands, axis=axes, shape=out), "lse")
    return _kept(tracer, result, shape, axes) if keep and shape else result


def _log_softmax(tracer, node, p, name):
    """``log_softmax(x, axis=None)``: ``x - logsumexp(x, axis, keepdims=True)`` (never above 0)."""
    x = p["x"]
    if not tracer.is_symbolic(x) and not isinstance(x, (list, tuple)):
        return getattr(special, name.rpartition(".")[2])(x, axis=p["axis"])
    x = tracer.atom(tracer.as_value(x, node), "x")
    lse = _logsumexp(tracer, node, {"a": x, "b": None, "axis": p["axis"], "keepdims": True}, name)
    return tracer.keep_shape(x - lse, x, lse)


def _softmax(tracer, node, p, name):
    """``softmax(x, axis=None)``: ``exp(x - logsumexp(x, axis, keepdims=True))``."""
    x = p["x"]
    if not tracer.is_symbolic(x) and not isinstance(x, (list, tuple)):
        return special.softmax(x, axis=p["axis"])
    shifted = tracer.atom(_log_softmax(tracer, node, p, name), "shifted")
    return tracer.keep_shape(sympy.exp(shifted), shifted)


_REDUCTIONS = {
    "logsumexp": (("a", "axis", "b", "keepdims"), _logsumexp),
    "log_softmax": (("x", "axis"), _log_softmax),
    "softmax": (("x", "axis"), _softmax),
}



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


def beta_a(a, b):
    return special.beta(a, b) * (special.psi(a) - special.psi(a + b))


def beta_b(a, b):
    return special.beta(a, b) * (special.psi(b) - special.psi(a + b))


def betaln_a(a, b):
    return special.psi(a) - special.psi(a + b)


def betaln_b(a, b):
    return special.psi(b) - special.psi(a + b)


special = None  # scipy.special, once ``ensure`` ran
stats = None  # scipy.stats, once ``ensure`` ran after it was imported
_stats_done = []


# ---- scipy.stats.norm: values from scipy, derivatives in the standardised z = (x - loc) / scale ----
def norm_logpdf(x, loc, scale):
    return stats.norm.logpdf(x, loc, scale)


def norm_pdf(x, loc, scale):
    return stats.norm.pdf(x, loc, scale)


def norm_cdf(x, loc, scale):
    return stats.norm.cdf(x, loc, scale)


def norm_logcdf(x, loc, scale):
    return stats.norm.logcdf(x, loc, scale)


def norm_sf(x, loc, scale):
    return stats.norm.sf(x, loc, scale)


def norm_logsf(x, loc, scale):
    return stats.norm.logsf(x, loc, scale)


def logpdf_x(x, loc, scale):
    return -(x - loc) / (scale * scale)


def logpdf_loc(x, loc, scale):
    return (x - loc) / (scale * scale)


def logpdf_scale(x, loc, scale):
    z = (x - loc) / scale
    return (z * z - 1.0) / scale


def pdf_x(x, loc, scale):
    return -(x - loc) / (scale * scale) * stats.norm.pdf(x, loc, scale)


def pdf_loc(x, loc, scale):
    return (x - loc) / (scale * scale) * stats.norm.pdf(x, loc, scale)


def pdf_scale(x, loc, scale):
    z = (x - loc) / scale
    return (z * z - 1.0) / scale * stats.norm.pdf(x, loc, scale)


def cdf_x(x, loc, scale):
    return stats.norm.pdf(x, loc, scale)


def cdf_loc(x, loc, scale):
    return -stats.norm.pdf(x, loc, scale)


def cdf_scale(x, loc, scale):
    return -(x - loc) / scale * stats.norm.pdf(x, loc, scale)


def logcdf_x(x, loc, scale):
    return np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logcdf(x, loc, scale))


def logcdf_loc(x, loc, scale):
    return -np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logcdf(x, loc, scale))


def logcdf_scale(x, loc, scale):
    return -(x - loc) / scale * np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logcdf(x, loc, scale))


def sf_x(x, loc, scale):
    return -stats.norm.pdf(x, loc, scale)


def sf_loc(x, loc, scale):
    return stats.norm.pdf(x, loc, scale)


def sf_scale(x, loc, scale):
    return (x - loc) / scale * stats.norm.pdf(x, loc, scale)


def logsf_x(x, loc, scale):
    return -np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logsf(x, loc, scale))


def logsf_loc(x, loc, scale):
    return np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logsf(x, loc, scale))


def logsf_scale(x, loc, scale):
    return (x - loc) / scale * np.exp(stats.norm.logpdf(x, loc, scale) - stats.norm.logsf(x, loc, scale))


_NORM_RULES = {
    "logpdf": (norm_logpdf, (logpdf_x, logpdf_loc, logpdf_scale)),
    "pdf": (norm_pdf, (pdf_x, pdf_loc, pdf_scale)),
    "cdf": (norm_cdf, (cdf_x, cdf_loc, cdf_scale)),
    "logcdf": (norm_logcdf, (logcdf_x, logcdf_loc, logcdf_scale)),
    "sf": (norm_sf, (sf_x, sf_loc, sf_scale)),
    "logsf": (norm_logsf, (logsf_x, logsf_loc, logsf_scale)),
}

_RULES = {
    "expit": expit_slope, "logit": logit_slope, "erf": erf_slope, "erfc": erfc_slope,
    "erfinv": erfinv_slope, "erfcinv": erfcinv_slope, "ndtr": ndtr_slope,
    "log_ndtr": log_ndtr_slope, "gammaln": gammaln_slope, "gamma": gamma_slope,
    "psi": psi_slope, "digamma": psi_slope, "polygamma": (polygamma_order, polygamma_slope),
    "xlogy": (xlogy_x, xlogy_y), "xlog1py": (xlog1py_x, xlog1py_y), "i0": i0_slope,
    "i1": i1_slope, "beta": (beta_a, beta_b), "betaln": (betaln_a, betaln_b),
}


# what ``scipy.stats.norm.<name>`` reads as in a differentiated function: numpy's defaults of
# loc and scale, keywords bound by name, then the registered function of three arguments
def logpdf(x, loc=0.0, scale=1.0):
    return norm_logpdf(x, loc, scale)


def pdf(x, loc=0.0, scale=1.0):
    return norm_pdf(x, loc, scale)


def cdf(x, loc=0.0, scale=1.0):
    return norm_cdf(x, loc, scale)


def logcdf(x, loc=0.0, scale=1.0):
    return norm_logcdf(x, loc, scale)


def sf(x, loc=0.0, scale=1.0):
    return norm_sf(x, loc, scale)


def logsf(x, loc=0.0, scale=1.0):
    return norm_logsf(x, loc, scale)


_NORM_METHODS = {"logpdf": logpdf, "pdf": pdf, "cdf": cdf, "logcdf": logcdf, "sf": sf, "logsf": logsf}
